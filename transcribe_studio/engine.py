"""16 kHz mono audio in, :class:`Transcript` out, with the model from the cache.

The model's spec says how long a piece of audio one model call takes; the
audio is cut into such windows at pauses (:mod:`.media.windows`; stretches
silent to the detector and by level are left out, and listed in the
transcript's ``skipped``), and the
spec's ``transcribe`` runs the plain NeMo call (``ASRModel.transcribe`` or
``SALM.generate``) on the in-memory windows, so nothing is re-read from disk.
"""

from __future__ import annotations

import numpy as np

from .media.decode import SAMPLE_RATE
from .media.windows import plan_cuts
from .models import ModelCache, get
from .progress import Progress, no_progress
from .transcript import Skipped, Transcript


def transcribe(cache: ModelCache, key: str, audio: np.ndarray, progress: Progress | None = None) -> Transcript:
    """Transcribe ``audio`` with the model ``key``; ``progress`` may raise Cancelled between windows."""
    progress = progress or no_progress
    spec = get(key)
    with cache.use(key) as model:
        seconds = spec.window_seconds(cache.settings, model)
        cuts = plan_cuts(audio, seconds, progress)
        transcript = spec.transcribe(model, audio, cuts.windows, cache.settings,
                                     lambda fraction, note: progress(fraction, f"{spec.label}: {note}"))
    transcript.model = spec.label
    transcript.skipped = [Skipped(round(start / SAMPLE_RATE, 3), round(end / SAMPLE_RATE, 3), cuts.why)
                          for start, end in cuts.skipped]
    return transcript
