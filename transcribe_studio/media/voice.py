"""Voice activity: where the speech is.

:func:`speech_spans` runs Silero VAD (the ``silero-vad`` package: its wheel ships
the TorchScript model, so it needs only torch and never the network) over 16 kHz
mono audio and returns the sample ranges that hold speech.

"""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np

from . import SAMPLE_RATE

# Probability above which a 32 ms frame is speech: Silero's own default, "pretty good for most datasets".
SPEECH_THRESHOLD = 0.5
# Seconds of audio it listens through a second, on the CPU (0.35 s for a minute: docs/PERFORMANCE.md): next to a
# model on a GPU it is most of the work, so progress gives it its share (transcription/costs.py).
SPEED = 170.0
# A pause must last this long to end a span: shorter ones (stops, breaths inside a phrase) stay inside.
MIN_SILENCE_MS = 300
# Padding kept around each span so soft word onsets and final consonants are not clipped.
SPEECH_PAD_MS = 200
# Shorter detections are clicks or coughs, not words (Silero's default).
MIN_SPEECH_MS = 250
# Torch threads while Silero runs: it is built for one, and more make it 6-8x slower when it is
# called from a worker thread (the UI's), where every tiny op pays to start an OpenMP/MKL team.
# Restored right after, so the ASR models keep theirs.
_VAD_THREADS = 1

_load_lock = threading.Lock()
_run_lock = threading.Lock()  # the model keeps recurrent state between frames: one caller at a time
_model = None


def _silero_package():
    """``import silero_vad``, undoing the ``torch.set_num_threads(1)`` it runs on import.

    That call would slow every later torch operation in the process (the ASR models).
    """
    import torch

    threads = torch.get_num_threads()
    try:
        import silero_vad
    finally:
        torch.set_num_threads(threads)
    return silero_vad


def _silero():
    """The Silero VAD TorchScript model, loaded once per process (thread-safe, offline)."""
    global _model
    if _model is None:
        with _load_lock:
            if _model is None:
                _model = _silero_package().load_silero_vad(onnx=False)  # the .jit file in the wheel
    return _model


def speech_spans(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, threshold: float = SPEECH_THRESHOLD,
                 min_silence_ms: int = MIN_SILENCE_MS, speech_pad_ms: int = SPEECH_PAD_MS,
                 min_speech_ms: int = MIN_SPEECH_MS,
                 progress: Callable[[float], None] | None = None) -> list[tuple[int, int]]:
    """Sorted, non-overlapping ``[start, end)`` sample ranges of speech in mono ``audio``.

    ``sample_rate`` must be 8000, 16000 or a multiple of 16000 (Silero's models).
    ``progress(percent)`` is called as the audio is scanned (about 200x real time
    on two CPU cores). Tones, hum and noise are not speech.
    """
    import torch

    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"speech_spans needs mono audio (one dimension), got shape {audio.shape}")
    if sample_rate not in (8000, 16000) and sample_rate % 16000:
        raise ValueError(f"Silero VAD works at 8000 or 16000 Hz (or multiples of 16000), not {sample_rate}")
    if audio.size == 0:
        return []
    tensor = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))  # no copy for float32 input
    model = _silero()
    with _run_lock, torch.inference_mode():
        threads = torch.get_num_threads()
        torch.set_num_threads(_VAD_THREADS)
        try:
            stamps = _silero_package().get_speech_timestamps(
                tensor, model, threshold=threshold, sampling_rate=sample_rate,
                min_speech_duration_ms=min_speech_ms, min_silence_duration_ms=min_silence_ms,
                speech_pad_ms=speech_pad_ms, progress_tracking_callback=progress)
        finally:
            torch.set_num_threads(threads)
    return [(int(s["start"]), int(s["end"])) for s in stamps]
