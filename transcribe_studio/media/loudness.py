"""How loud each stretch of a recording is: the level check that decides, with voice detection, what may be skipped.

Voice detection alone never decides that a stretch holds no speech (see
:mod:`.windows`): a stretch is left out only when it is also quiet by level,
below :data:`QUIET_DBFS` and far below the file's own loud frames.
"""

from __future__ import annotations

import numpy as np

from . import voice
from .decode import SAMPLE_RATE

# A 32 ms frame at or below this RMS level is quiet (see the module docstring for why -55).
QUIET_DBFS = -55.0
# ...and it must also lie this far below the file's loud frames (its 95th percentile).
QUIET_BELOW_FILE_DB = 30.0
_FRAME = 512  # samples: 32 ms at 16 kHz, Silero's own frame


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
