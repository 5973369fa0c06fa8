"""16 kHz mono audio in, :class:`Transcript` out, with the model from the cache.

Both calls are the plain NeMo ones (``ASRModel.transcribe`` and
``SALM.generate``) on in-memory audio, so nothing is re-read from disk and
NeMo's own loaders never see a format they cannot open.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .audio import SAMPLE_RATE
from .long_audio import parakeet_pass_seconds, plan
from .models import CANARY, LABELS, PARAKEET, ModelCache
from .transcript import Segment, Transcript, Word

# 40 s of fast speech is ~150 words, ~200 tokens; leave headroom, but bound it.
CANARY_MAX_NEW_TOKENS = 320
CANARY_PROMPT = "Transcribe the following: {tag}"

# progress(fraction done, what is happening)
Progress = Callable[[float, str], None]


def transcribe(cache: ModelCache, model_name: str, audio: np.ndarray, progress: Progress | None = None) -> Transcript:
    progress = progress or (lambda fraction, note: None)
    settings = cache.settings
    with cache.use(model_name) as model:
        if model_name == PARAKEET:
            pass_seconds = parakeet_pass_seconds(settings.parakeet_pass_seconds, model.device.type)
            return transcribe_parakeet(model, audio, plan(audio, pass_seconds), progress)
        return transcribe_canary(model, audio, plan(audio, settings.canary_window_seconds),
                                 settings.batch_size, progress)


def _words_and_segments(hypothesis, duration: float) -> tuple[list[Word], list[Segment]]:
    stamps = hypothesis.timestamp if isinstance(hypothesis.timestamp, dict) else {}

    # NeMo pads clips to whole frames (and to 1 s), so the last stamp can end past the audio.
    def clamp(t) -> float:
        return min(max(float(t), 0.0), duration)

    words = [Word(clamp(w["start"]), clamp(w["end"]), w["word"]) for w in stamps.get("word", [])]
    segments = [Segment(clamp(s["start"]), clamp(s["end"]), s["segment"]) for s in stamps.get("segment", [])]
    return words, segments


def _shift(items, offset: float):
    return [type(item)(item.start + offset, item.end + offset, item.text) for item in items]


def transcribe_parakeet(model, audio: np.ndarray, spans: list[tuple[int, int]], progress: Progress) -> Transcript:
    import torch

    words: list[Word] = []
    segments: list[Segment] = []
    for done, (start, end) in enumerate(spans, 1):
        with torch.inference_mode():
            # num_workers=0: Windows spawns DataLoader workers, which breaks in apps.
            # timestamps=True is sticky on the model (rnnt_models.py), which suits us.
            hypothesis = model.transcribe([audio[start:end]], batch_size=1, timestamps=True, num_workers=0,
                                          verbose=False)[0]
        window_words, window_segments = _words_and_segments(hypothesis, (end - start) / SAMPLE_RATE)
        text = hypothesis.text.strip()
        if text and not window_segments:
            window_segments = [Segment(0.0, (end - start) / SAMPLE_RATE, text)]
        words += _shift(window_words, start / SAMPLE_RATE)
        segments += _shift(window_segments, start / SAMPLE_RATE)
        progress(done / len(spans), f"Parakeet: part {done} of {len(spans)}")
    return Transcript(text=" ".join(s.text for s in segments), segments=segments, words=words,
                      model=LABELS[PARAKEET], duration=len(audio) / SAMPLE_RATE)


def transcribe_canary(model, audio: np.ndarray, spans: list[tuple[int, int]], batch_size: int,
                      progress: Progress) -> Transcript:
    import torch

    prompt = [{"role": "user", "content": CANARY_PROMPT.format(tag=model.audio_locator_tag)}]
    segments: list[Segment] = []
    for first in range(0, len(spans), batch_size):
        batch = spans[first:first + batch_size]
        longest = max(end - start for start, end in batch)
        audios = torch.zeros(len(batch), longest, dtype=torch.float32)
        for row, (start, end) in enumerate(batch):
            audios[row, : end - start] = torch.from_numpy(audio[start:end])
        lens = torch.tensor([end - start for start, end in batch], dtype=torch.int64)
        with torch.inference_mode():
            ids = model.generate(prompts=[prompt] * len(batch), audios=audios.to(model.device),
                                 audio_lens=lens.to(model.device), max_new_tokens=CANARY_MAX_NEW_TOKENS)
        for (start, end), row in zip(batch, ids):
            text = model.tokenizer.ids_to_text(row.cpu()).strip()
            if text:
                segments.append(Segment(start / SAMPLE_RATE, end / SAMPLE_RATE, text))
        done = min(first + batch_size, len(spans))
        progress(done / len(spans), f"Canary-Qwen: window {done} of {len(spans)}")
    return Transcript(text=" ".join(s.text for s in segments), segments=segments,
                      model=LABELS[CANARY], duration=len(audio) / SAMPLE_RATE)
