"""Voice activity: where the speech is, and windows of bounded length cut in its pauses.

:func:`speech_spans` runs Silero VAD (the ``silero-vad`` package: its wheel ships
the TorchScript model, so it needs only torch and never the network) over 16 kHz
mono audio and returns the sample ranges that hold speech.

:func:`plan_windows` is a pure function of those spans: it covers all speech with
windows of at most ``max_seconds``, cut preferably in the middle of a pause,
hard-cut only when one stretch of speech has no pause at all, and leaves long
silences out so that no model spends time (or invents words) on them.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

import numpy as np

from . import SAMPLE_RATE

# Probability above which a 32 ms frame is speech: Silero's own default, "pretty good for most datasets".
SPEECH_THRESHOLD = 0.5
# A pause must last this long to end a span: shorter ones (stops, breaths inside a phrase) stay inside.
MIN_SILENCE_MS = 300
# Padding kept around each span so soft word onsets and final consonants are not clipped.
SPEECH_PAD_MS = 200
# Shorter detections are clicks or coughs, not words (Silero's default).
MIN_SPEECH_MS = 250
# A silence between spans at least this long is left out of every window (the spans keep their padding).
MIN_GAP_TO_SKIP_S = 2.0
# Torch threads while Silero runs: it is built for one, and more make it 6-8x slower when it is
# called from a worker thread (the UI's), where every tiny op pays to start an OpenMP/MKL team.
# Restored right after, so the ASR models keep theirs.
_VAD_THREADS = 1
# Windows prefer a pause in their second half, so they are not cut needlessly short.
_PREFERRED_FRACTION = 0.5

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


def _normalised(spans: Sequence[tuple[int, int]], audio_len: int) -> list[tuple[int, int]]:
    """Clipped to the audio, sorted, overlaps merged; touching spans stay apart (their meeting point is a pause)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted((max(0, int(s)), min(audio_len, int(e))) for s, e in spans):
        if end <= start:
            continue
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def plan_windows(audio_len: int, spans: Sequence[tuple[int, int]], max_seconds: float = 40.0,
                 sample_rate: int = SAMPLE_RATE,
                 min_gap_to_skip_s: float = MIN_GAP_TO_SKIP_S) -> list[tuple[int, int]]:
    """``[start, end)`` windows of at most ``max_seconds`` that cover every speech sample, in order.

    Each window starts where speech (or the previous window) starts and ends:
    at the last span if all remaining speech fits; else before a silence of at
    least ``min_gap_to_skip_s`` that starts within the limit (the silence is
    skipped); else in the middle of the longest pause available before the limit
    (pauses in the window's second half preferred, so windows stay long); else,
    for one stretch of speech longer than ``max_seconds``, with a hard cut at the
    limit. Windows are sorted and never overlap; with no speech there are none.
    """
    max_len = int(max_seconds * sample_rate)
    if max_len < 1:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    skip = max(0, int(round(min_gap_to_skip_s * sample_rate)))
    spans = _normalised(spans, audio_len)
    windows: list[tuple[int, int]] = []
    if not spans:
        return windows
    start, i = spans[0][0], 0  # spans[i] is the first span not yet fully covered
    while i < len(spans):
        limit = start + max_len
        pauses: list[tuple[int, int, int]] = []  # (pause start, usable end <= limit, index of span before it)
        k, end_here = i, None
        while k < len(spans) and spans[k][1] <= limit:
            if k + 1 == len(spans):
                end_here = (spans[k][1], None)  # the rest of the speech fits
                break
            gap_start, gap_end = spans[k][1], spans[k + 1][0]
            if gap_end - gap_start >= skip:
                end_here = (gap_start, gap_end)  # a long silence: stop here, resume after it
                break
            pauses.append((gap_start, min(gap_end, limit), k))
            k += 1
        if end_here is not None:
            windows.append((start, end_here[0]))
            if end_here[1] is None:
                break
            start, i = end_here[1], k + 1
        elif pauses:
            late = [p for p in pauses if (p[0] + p[1]) // 2 >= start + _PREFERRED_FRACTION * max_len]
            gap_start, usable_end, k = max(late or pauses, key=lambda p: (p[1] - p[0], p[0]))
            cut = (gap_start + usable_end) // 2
            windows.append((start, cut))
            start, i = cut, k + 1
        else:  # one stretch of speech longer than the limit: cut it hard
            windows.append((start, limit))
            start = limit
    return windows
