"""Voice activity: where the speech is, and windows of bounded length cut in its pauses.

:func:`speech_spans` runs Silero VAD (the ``silero-vad`` package: its wheel ships
the TorchScript model, so it needs only torch and never the network) over 16 kHz
mono audio and returns the sample ranges that hold speech.

:func:`plan_windows` is a pure function of those spans (and of the audio that
must be heard though the detector found no speech in it): it covers all of it
with windows of at most ``max_seconds``, cut preferably in the middle of a
pause, hard-cut with an overlap only when one stretch has no pause at all, and
leaves long silences out so that no model spends time (or invents words) on them.
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
# Where speech has no pause within the limit, the next window starts this much before the hard cut:
# both hear every word near it with a second or two of context (see media/windows.py).
HARD_CUT_OVERLAP_S = 4.0
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
                 sample_rate: int = SAMPLE_RATE, min_gap_to_skip_s: float = MIN_GAP_TO_SKIP_S,
                 keep: Sequence[tuple[int, int]] = (),
                 overlap_s: float = HARD_CUT_OVERLAP_S) -> list[tuple[int, int]]:
    """``[start, end)`` windows of at most ``max_seconds`` that cover every sample of ``spans``
    (speech found by the detector) and of ``keep`` (audio that may hold speech it missed), in order.

    Speech and kept audio separated by less than ``min_gap_to_skip_s`` form one block that
    windows cover without a gap; longer gaps (and the audio before the first and after the last
    block) are left out. A block longer than ``max_seconds`` is cut in the middle of the longest
    pause between ``spans`` before the limit (pauses in the window's second half preferred, so
    windows stay long); with no pause there, it is cut hard at the limit and the next window
    starts ``overlap_s`` earlier (at most a quarter of the window), so both hear the words
    around the cut and :mod:`..merge` keeps each once. Windows overlap only there.
    """
    max_len = int(max_seconds * sample_rate)
    if max_len < 1:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    skip = max(0, int(round(min_gap_to_skip_s * sample_rate)))
    overlap = min(int(overlap_s * sample_rate), max_len // 4)
    spans = _normalised(spans, audio_len)
    pauses = [(a_end, b_start) for (_, a_end), (b_start, _) in zip(spans, spans[1:])]
    windows: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(_normalised([*spans, *keep], audio_len), skip):
        windows += _cover_block(block_start, block_end, pauses, max_len, overlap)
    return windows


def _blocks(regions: list[tuple[int, int]], skip: int) -> list[tuple[int, int]]:
    """Sorted regions joined across gaps shorter than ``skip``: stretches to cover without a break."""
    blocks: list[tuple[int, int]] = []
    for start, end in regions:
        if blocks and start - blocks[-1][1] < skip:
            blocks[-1] = (blocks[-1][0], max(blocks[-1][1], end))
        else:
            blocks.append((start, end))
    return blocks


def _cover_block(block_start: int, block_end: int, pauses: list[tuple[int, int]], max_len: int,
                 overlap: int) -> list[tuple[int, int]]:
    """Windows of at most ``max_len`` from ``block_start`` to ``block_end``: cut in pauses, else hard."""
    windows, start = [], block_start
    while block_end - start > max_len:
        limit = start + max_len
        # Pauses that begin inside this window (not the one it starts in), cut off at the limit.
        usable = [(a, min(b, limit)) for a, b in pauses if start < a <= limit]
        if usable:
            late = [p for p in usable if (p[0] + p[1]) // 2 >= start + _PREFERRED_FRACTION * max_len]
            gap_start, gap_end = max(late or usable, key=lambda p: (p[1] - p[0], p[0]))
            cut = (gap_start + gap_end) // 2
            windows.append((start, cut))
            start = cut
        else:  # one stretch of speech longer than the limit: cut it hard, the next window overlapping
            windows.append((start, limit))
            start = limit - overlap
    windows.append((start, block_end))
    return windows
