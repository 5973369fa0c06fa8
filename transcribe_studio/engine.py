"""16 kHz mono audio in, :class:`Transcript` out, with the model from the cache.

The model's spec says how long a piece of audio one model call takes; the
audio is cut into such windows at pauses (:mod:`.media.windows`), and the
spec's ``transcribe`` runs the plain NeMo call (``ASRModel.transcribe`` or
``SALM.generate``) on the in-memory windows, so nothing is re-read from disk.
"""

from __future__ import annotations

import numpy as np

from .media.windows import plan
from .models import ModelCache, get
from .progress import Progress, no_progress
from .transcript import Transcript


def transcribe(cache: ModelCache, key: str, audio: np.ndarray, progress: Progress | None = None) -> Transcript:
    """Transcribe ``audio`` with the model ``key``; ``progress`` may raise Cancelled between windows."""
    progress = progress or no_progress
    spec = get(key)
    with cache.use(key) as model:
        seconds = spec.window_seconds(cache.settings, model)
        spans = plan(audio, seconds, progress)
        transcript = spec.transcribe(model, audio, spans, cache.settings,
                                     lambda fraction, note: progress(fraction, f"{spec.label}: {note}"))
    transcript.model = spec.label
    return transcript
