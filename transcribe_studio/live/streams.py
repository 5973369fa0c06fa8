"""Live captions for several streams at once (a browser tab each, or a file played as if live).

Each stream's 16 kHz audio is kept whole (its recording, saved when it stops) and cut into the pipeline's chunks;
whenever any stream has a chunk ready, every stream that has one goes through one ``transcribe_step`` together
(NeMo's multi-stream framing: ``Frame`` requests with their stream ids; its own request streamer reads files only).
A stream that stops sends its last, padded chunk marked last, which ends its utterance; one that goes away (a tab
closed) is freed with ``delete_state`` and its audio buffer dropped, as NeMo does only for a request marked last.

What a stream shows (:class:`Caption`): the settled words, which never change afterwards (NeMo's stateful
pipeline decodes each chunk once; its words are final once the next chunk has been heard), and the words still
being decided (the newest chunk's, and a word it may still extend), shown apart.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import StudioError
from ..media import SAMPLE_RATE
from ..models.shared_decoding import taken_for
from .pipeline import LiveOptions, build_pipeline

LIVE = "live"


@dataclass(frozen=True)
class Caption:
    """What a stream's captions show now, on its recording's clock."""
    settled: str = ""   # final: never changes afterwards
    pending: str = ""   # still being decided: shown lighter
    seconds: float = 0.0  # audio heard so far

    @property
    def text(self) -> str:
        return " ".join(part for part in (self.settled, self.pending) if part)


@dataclass
class _Stream:
    id: int
    waiting: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    pieces: list[np.ndarray] = field(default_factory=list)  # the whole recording, as it came
    sent: int = 0            # chunks sent to the pipeline
    finals: str = ""         # utterances ended so far
    partial: str = ""        # the utterance under way, as heard so far
    newest: str = ""         # what the latest step added to it
    closing: bool = False

    def caption(self) -> Caption:
        heard = self.finals + self.partial
        head = heard[:len(heard) - len(self.newest)] if self.newest and heard.endswith(self.newest) else heard
        if head and not head[-1].isspace():  # a word the next chunk may still extend is not settled yet
            head = head[:head.rfind(" ") + 1] if " " in head else ""
        return Caption(head.strip(), heard[len(head):].strip(), self.seconds)

    @property
    def seconds(self) -> float:
        return sum(len(piece) for piece in self.pieces) / SAMPLE_RATE

    def ready(self, size: int) -> bool:
        """Whether it has a chunk for the pipeline: a whole one, or its last when it stops."""
        return len(self.waiting) >= size or (self.closing and bool(self.waiting.size or self.sent))

    def frame(self, size: int):
        """Its next chunk as NeMo's request, zero-padded; the last one marked last (a stop that leaves nothing
        waiting sends a chunk of silence, so the utterance under way still ends)."""
        from nemo.collections.asr.inference.streaming.framing.request import Frame
        from nemo.collections.asr.inference.streaming.framing.request_options import ASRRequestOptions

        piece, self.waiting = self.waiting[:size], self.waiting[size:]
        last = self.closing and not self.waiting.size
        samples = np.zeros(size, np.float32)
        samples[:len(piece)] = piece
        first = self.sent == 0
        self.sent += 1
        if last:
            self.closing = False  # nothing more to send
        return Frame(samples=_tensor(samples), stream_id=self.id, is_first=first, is_last=last,
                     length=len(piece) or size, options=ASRRequestOptions() if first else None)


class LiveStreams:
    """Captions for many streams through one pipeline over the cache's model ``key``."""

    def __init__(self, cache, key: str, options: LiveOptions = LiveOptions()):
        self.cache, self.key, self.options = cache, key, options
        self._streams: dict[int, _Stream] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._pipeline = self._for_model = None
        self.step_seconds: list[float] = []  # how long each pipeline step took (all streams' chunks together)

    def open(self) -> int:
        """A new stream's id."""
        with self._lock:
            stream = _Stream(next(self._ids))
            self._streams[stream.id] = stream
            return stream.id

    def feed(self, stream_id: int, audio: np.ndarray) -> Caption:
        """Add 16 kHz mono float32 audio to a stream; its captions now (every stream with a chunk ready moves on)."""
        with self._lock:
            self.add(stream_id, audio)
            self.advance()
            return self.caption(stream_id)

    def add(self, stream_id: int, audio: np.ndarray) -> None:
        """Add audio to a stream without hearing it yet (:meth:`advance` hears every stream's chunks together);
        a StudioError past :attr:`LiveOptions.max_seconds` (what came before stays, for Stop to save)."""
        with self._lock:
            stream = self._stream(stream_id)
            if stream.seconds + len(audio) / SAMPLE_RATE > self.options.max_seconds:
                raise StudioError(f"A live recording can be at most {self.options.max_seconds / 3600:g} hours long; "
                                  "this one has reached it.",
                                  next_steps="Press Stop to save it (it is transcribed for History), then Record "
                                             "again to go on.")
            stream.pieces.append(audio)
            stream.waiting = np.concatenate([stream.waiting, audio.astype(np.float32, copy=False)])

    def advance(self) -> None:
        """Every stream with a chunk ready (or stopping) through the pipeline together, until none has one."""
        with self._lock:
            self._step()

    def close(self, stream_id: int) -> tuple[np.ndarray, Caption]:
        """End a stream: its last audio heard, its whole recording and its final captions (the stream is gone)."""
        with self._lock:
            stream = self._stream(stream_id)
            stream.closing = True
            self._step()
            del self._streams[stream_id]
            recording = np.concatenate(stream.pieces) if stream.pieces else np.zeros(0, np.float32)
            return recording, Caption(stream.caption().text, "", len(recording) / SAMPLE_RATE)

    def drop(self, stream_id: int) -> None:
        """Forget a stream that went away (a tab closed): its state and buffer in the pipeline are freed too."""
        with self._lock:
            stream = self._streams.pop(stream_id, None)
            if stream is not None and stream.sent and self._pipeline is not None:
                self._pipeline.delete_state(stream_id)
                self._pipeline.bufferer.rm_bufferer(stream_id)

    def caption(self, stream_id: int) -> Caption:
        with self._lock:
            return self._stream(stream_id).caption()

    @property
    def open_streams(self) -> list[int]:
        with self._lock:
            return list(self._streams)

    def _stream(self, stream_id: int) -> _Stream:
        try:
            return self._streams[stream_id]
        except KeyError:
            raise KeyError(f"no live stream {stream_id}") from None

    def _step(self) -> None:
        """Every stream with a chunk ready (or stopping) through the pipeline together, until none has one."""
        size = self.options.chunk_samples
        while ready := [stream for stream in self._streams.values() if stream.ready(size)]:
            frames = [stream.frame(size) for stream in ready]
            for stream, output in zip(ready, self._transcribe(frames)):
                stream.finals += output.final_transcript
                stream.partial = output.partial_transcript
                stream.newest = output.current_step_transcript

    def _transcribe(self, frames: list) -> list:
        with self.cache.use(self.key) as model, taken_for(model, LIVE):
            pipeline = self._pipeline_for(model)
            started = time.perf_counter()
            outputs = pipeline.transcribe_step(frames)
            self.step_seconds.append(time.perf_counter() - started)
            return outputs

    def run_whole(self, path) -> str:
        """NeMo's own run of this pipeline over a file in one go (its request streamer reading the file): the text
        the captions of that file end with. Only with no stream open: NeMo's run starts and ends a session."""
        with self._lock:
            if self._streams:
                raise RuntimeError("NeMo's own run would end the open live streams")
            with self.cache.use(self.key) as model, taken_for(model, LIVE):
                return next(iter(self._pipeline_for(model).run([str(path)]).values()))["text"]

    def _pipeline_for(self, model):
        if self._for_model is not model:  # first use, or the model was reloaded
            self._pipeline, self._for_model = build_pipeline(model, self.options), model
            self._pipeline.open_session()
        return self._pipeline


def _tensor(samples: np.ndarray):
    import torch

    return torch.from_numpy(samples)


def to_16k(rate: int, samples: np.ndarray) -> np.ndarray:
    """A browser's microphone piece (int16 or float, mono or not, any rate) as 16 kHz mono float32."""
    from scipy.signal import resample_poly

    audio = np.asarray(samples)
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if audio.dtype.kind in "iu":
        audio = audio.astype(np.float32) / float(np.iinfo(samples.dtype).max + 1)
    audio = audio.astype(np.float32, copy=False)
    if rate == SAMPLE_RATE:
        return audio
    from math import gcd

    common = gcd(int(rate), SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // common, int(rate) // common).astype(np.float32)
