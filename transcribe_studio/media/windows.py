"""Where long audio is cut into the windows a model takes, and which silent stretches are left out.

Each model's spec says how long a piece of audio one model call takes now
(``ModelSpec.window_seconds``; why each model has its limit is in its own
module under ``models/``). Here: where to cut within that limit, using voice
activity (:mod:`.voice`) and the level check (:mod:`.loudness`).

**Voice detection chooses where to cut; it never decides alone what is heard.**
Silero finds clear speech down to about -42 dBFS and under noise at -5 dB SNR,
but whispering, speech under a music bed or in a far, echoing room can score
below its threshold. So a stretch is skipped only when it is silent both to the
detector and by level: every 32 ms frame in it is below ``QUIET_DBFS``
(-55 dBFS RMS, above a quiet room's -60 to -70 and well below the -42 where the
detector stops hearing speech) and at least ``QUIET_BELOW_FILE_DB`` (30 dB)
below the file's own loud frames (so a recording made very quietly keeps its
quiet speech). Audible stretches the detector calls non-speech are covered like
speech; short audible blips (under ``voice.MIN_SPEECH_MS``, clicks) are not.
Silent gaps shorter than :data:`MIN_GAP_TO_SKIP_S` (2 s) stay inside the
windows, as pauses between words do. Each skipped stretch is listed in the
transcript (``Transcript.skipped``, the JSON's ``skipped``) with the reason.
Audio that fits in one window is taken whole, with no detection at all.

**Cuts.** A window ends in the middle of the longest pause the detector found
before the limit (preferring its second half, so windows stay long). Where one
stretch has no pause at all within the limit, it is cut hard, and the next
window starts :data:`HARD_CUT_OVERLAP_S` (4 s, at most a quarter of a window)
before the cut: both windows hear the words around it, each with at least 2 s
of context on its own side of the overlap's middle. The transcription's merge
(``transcription/merge.py``) then keeps each word once: by word times where the
model gives them, else by the longest common run of normalised words. A pass
that runs out of GPU memory is halved the same way (at pauses, else hard with
an overlap), and nothing in it is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..progress import Progress, no_progress
from . import voice
from .decode import SAMPLE_RATE
from .loudness import audible_spans, quiet_threshold_dbfs

# A silence between spans at least this long is left out of every window (the spans keep their padding).
MIN_GAP_TO_SKIP_S = 2.0
# Where speech has no pause within the limit, the next window starts this much before the hard cut:
# both hear every word near it with a second or two of context (see the module docstring).
HARD_CUT_OVERLAP_S = 4.0
# Windows prefer a pause in their second half, so they are not cut needlessly short.
_PREFERRED_FRACTION = 0.5
SKIPPED_WHY = "silence: no speech detected and the level stayed below {threshold:.0f} dBFS"


@dataclass(frozen=True)
class Plan:
    """Where each window lies (samples) and which stretches no model hears, with why."""
    windows: list[tuple[int, int]]
    skipped: list[tuple[int, int]]
    why: str = ""


def plan(audio: np.ndarray, max_seconds: float, progress: Progress = no_progress) -> list[tuple[int, int]]:
    """[start, end) sample windows of at most ``max_seconds`` covering the speech in ``audio``."""
    return plan_cuts(audio, max_seconds, progress).windows


@dataclass(frozen=True)
class Listening:
    """What voice detection found in a recording, whatever the window length: its speech, the audible
    stretches that may hold speech the detector missed, and the level below which it is silence. Found once
    (where the audio is decoded), it plans windows of any length (where the model is)."""
    spans: list[tuple[int, int]]
    keep: list[tuple[int, int]]
    threshold: float


def listen(audio: np.ndarray, progress: Progress = no_progress) -> Listening:
    """Voice detection over ``audio``; ``progress`` hears how far (0 to 1), and may raise Cancelled."""
    spans = voice.speech_spans(audio, SAMPLE_RATE,
                               progress=lambda percent: progress(percent / 100, f"detecting speech ({percent:.0f}%)"))
    threshold = quiet_threshold_dbfs(audio)
    return Listening([tuple(span) for span in spans], audible_spans(audio, threshold), threshold)


def plan_cuts(audio: np.ndarray, max_seconds: float, progress: Progress = no_progress,
              listening: Listening | None = None) -> Plan:
    """The windows of :func:`plan` and the stretches they leave out.

    Audio that fits in one window is taken whole, with no voice detection (the
    cheap, common case). Longer audio is cut inside pauses, found by ``listening``
    or, without it, by :func:`listen` now (``progress`` hears how far).
    """
    if len(audio) <= max_seconds * SAMPLE_RATE:
        return Plan([(0, len(audio))] if len(audio) else [], [])
    listening = listening or listen(audio, progress)
    windows = plan_windows(len(audio), listening.spans, max_seconds=max_seconds, sample_rate=SAMPLE_RATE,
                           keep=listening.keep)
    return Plan(windows, _uncovered(len(audio), windows), SKIPPED_WHY.format(threshold=listening.threshold))


def _uncovered(audio_len: int, windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches of ``[0, audio_len)`` that no window covers."""
    gaps, reached = [], 0
    for start, end in windows:
        if start > reached:
            gaps.append((reached, start))
        reached = max(reached, end)
    if reached < audio_len:
        gaps.append((reached, audio_len))
    return gaps


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
    around the cut and the transcription's merge keeps each once. Windows overlap only there.
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
