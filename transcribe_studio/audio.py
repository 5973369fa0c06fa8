"""Any media file in, 16 kHz mono float32 out.

We decode with PyAV, whose wheels bundle FFmpeg's libraries, so MP3, M4A, MP4,
WebM, Opus... all work without the user installing FFmpeg. (NeMo's own path
loaders use soundfile/lhotse, which cannot open most video or AAC files, and do
not downmix multi-channel audio for SALM.) The steps are small generators, as
in faster-whisper's ``audio.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import BadAudioError

SAMPLE_RATE = 16_000


def _audio_frames(container) -> Iterator:
    stream = container.streams.audio[0]
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except Exception:  # noqa: BLE001 - a damaged packet mid-file: skip it, keep the rest
            continue


def _resampled(frames: Iterable, resampler) -> Iterator[np.ndarray]:
    for frame in frames:
        for out in resampler.resample(frame):
            yield out.to_ndarray().reshape(-1)
    for out in resampler.resample(None):  # flush what the resampler buffered
        yield out.to_ndarray().reshape(-1)


def decode_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode the first audio track of ``path`` to mono float32 at ``sample_rate``.

    Raises :class:`BadAudioError` with a reason a user can act on.
    """
    import av
    from av.audio.resampler import AudioResampler

    path = Path(path)
    name = path.name
    if not path.is_file():
        raise BadAudioError(f"'{name}' does not exist or is not a file.",
                            next_steps="Choose the file again.")
    if path.stat().st_size == 0:
        raise BadAudioError(f"'{name}' is empty (0 bytes).",
                            next_steps="The copy or download may have failed; get the file again.")
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise BadAudioError(f"'{name}' has no audio track.",
                                    next_steps="Choose a file that contains sound (a video needs an audio track).")
            resampler = AudioResampler(format="flt", layout="mono", rate=sample_rate)
            chunks = list(_resampled(_audio_frames(container), resampler))
    except BadAudioError:
        raise
    except Exception as exc:  # noqa: BLE001 - av raises many FFmpeg error types
        raise BadAudioError(f"'{name}' could not be read as audio or video ({exc}).") from exc
    audio = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    if audio.size == 0:
        raise BadAudioError(f"'{name}' contains no decodable audio; it may be truncated or damaged.")
    return audio
