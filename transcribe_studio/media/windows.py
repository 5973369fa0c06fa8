"""How audio of any length is cut into what each model can take, and why.

Each model's limit lives in its spec (``models/nemo_asr.py``'s ``PASS_SECONDS``,
``models/canary.py``'s ``MAX_WINDOW_SECONDS``); where to cut lives here and in
:mod:`.voice`.

* **Parakeet-TDT** was trained with full attention, whose memory grows with the
  square of the length: the model card quotes up to 24 minutes in one pass on
  a large GPU, users with 8 GB cards run out well before, and on a CPU a pass of
  20 minutes needs several GB per attention matrix. NVIDIA's alternative, local
  attention, is linear but "will degrade" accuracy (model card, NeMo blog) and
  still spikes memory on hour-long files. So we keep full attention and instead
  give Parakeet passes of bounded length, cut inside pauses found by voice
  activity detection, with timestamps shifted back onto the original time axis.
  Memory then stays bounded whatever the length of the file.
* **Canary-Qwen** was trained on audio of at most 40 s and silently drops what
  lies beyond, so it always gets windows of at most 40 s, again cut in pauses,
  several per ``generate`` call.

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
Silent gaps shorter than ``voice.MIN_GAP_TO_SKIP_S`` (2 s) stay inside the
windows, as pauses between words do. Each skipped stretch is listed in the
transcript (``Transcript.skipped``, the JSON's ``skipped``) with the reason.
Audio that fits in one window is taken whole, with no detection at all.

**Cuts.** A window ends in the middle of the longest pause the detector found
before the limit (preferring its second half, so windows stay long). Where one
stretch has no pause at all within the limit, it is cut hard, and the next
window starts ``voice.HARD_CUT_OVERLAP_S`` (4 s, at most a quarter of a window)
before the cut: both windows hear the words around it, each with at least 2 s
of context on its own side of the overlap's middle. :mod:`..merge` then keeps
each word once: Parakeet's by their times (from the side where the word lies
farther from that side's edge), Canary-Qwen's by the longest common run of
normalised words. A Parakeet pass that runs out of GPU memory is halved the
same way (at pauses, else hard with an overlap), and nothing in it is skipped.

**Short pieces.** NeMo pads in-memory clips shorter than 1 s with silence on
both sides (``pad_min_duration``, ``pad_direction='both'`` in
``asr/parts/mixins/transcription.py``), which would put their word times late by
up to half the missing length. Parakeet passes under 1 s are therefore padded
to 1 s at their end here, so NeMo pads nothing and times start at the clip's
first sample (``models/nemo_asr.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..progress import Progress, no_progress
from .decode import SAMPLE_RATE

# A 32 ms frame at or below this RMS level is quiet (see the module docstring for why -55).
QUIET_DBFS = -55.0
# ...and it must also lie this far below the file's loud frames (its 95th percentile).
QUIET_BELOW_FILE_DB = 30.0
_FRAME = 512  # samples: 32 ms at 16 kHz, Silero's own frame
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


def plan_cuts(audio: np.ndarray, max_seconds: float, progress: Progress = no_progress) -> Plan:
    """The windows of :func:`plan` and the stretches they leave out.

    Audio that fits in one window is taken whole, with no voice detection (the
    cheap, common case). Longer audio is cut inside pauses; ``progress`` hears
    how far voice detection is, and may raise Cancelled to stop it.
    """
    if len(audio) <= max_seconds * SAMPLE_RATE:
        return Plan([(0, len(audio))] if len(audio) else [], [])
    from . import voice

    spans = voice.speech_spans(audio, SAMPLE_RATE,
                               progress=lambda percent: progress(0.0, f"detecting speech ({percent:.0f}%)"))
    threshold = quiet_threshold_dbfs(audio)
    windows = voice.plan_windows(len(audio), spans, max_seconds=max_seconds, sample_rate=SAMPLE_RATE,
                                 keep=audible_spans(audio, threshold))
    return Plan(windows, _uncovered(len(audio), windows), SKIPPED_WHY.format(threshold=threshold))


def _frame_levels_dbfs(audio: np.ndarray) -> np.ndarray:
    """RMS level of each 32 ms frame, in dBFS (the last frame zero-padded)."""
    frames = np.zeros(-(-len(audio) // _FRAME) * _FRAME, np.float32)
    frames[:len(audio)] = audio
    power = np.mean(np.square(frames.reshape(-1, _FRAME), dtype=np.float64), axis=1)
    return 10 * np.log10(np.maximum(power, 1e-20))


def quiet_threshold_dbfs(audio: np.ndarray) -> float:
    """The level at or below which a frame of ``audio`` is quiet (see the module docstring)."""
    levels = _frame_levels_dbfs(audio)
    if not levels.size:
        return QUIET_DBFS
    return float(min(QUIET_DBFS, np.percentile(levels, 95) - QUIET_BELOW_FILE_DB))


def audible_spans(audio: np.ndarray, threshold_dbfs: float) -> list[tuple[int, int]]:
    """Sample ranges louder than ``threshold_dbfs``, treated like speech the detector found.

    Frames above the threshold are joined across dips shorter than Silero's minimum silence,
    blips shorter than its minimum speech are dropped (clicks), and each range keeps Silero's
    padding, so they are shaped like its spans.
    """
    from . import voice

    loud = np.concatenate([[False], _frame_levels_dbfs(audio) > threshold_dbfs, [False]])
    edges = np.flatnonzero(np.diff(loud.astype(np.int8)))
    runs = [(int(a) * _FRAME, int(b) * _FRAME) for a, b in zip(edges[::2], edges[1::2])]
    ms = SAMPLE_RATE // 1000
    joined: list[tuple[int, int]] = []
    for start, end in runs:
        if joined and start - joined[-1][1] < voice.MIN_SILENCE_MS * ms:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    pad = voice.SPEECH_PAD_MS * ms
    return [(max(0, a - pad), min(len(audio), b + pad)) for a, b in joined
            if b - a >= voice.MIN_SPEECH_MS * ms]


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
