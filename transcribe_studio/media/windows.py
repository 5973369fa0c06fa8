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

Long silences between speech are skipped for both models.
"""

from __future__ import annotations

import numpy as np

from ..progress import Progress, no_progress
from .decode import SAMPLE_RATE


def plan(audio: np.ndarray, max_seconds: float, progress: Progress = no_progress) -> list[tuple[int, int]]:
    """[start, end) sample windows of at most ``max_seconds`` covering the speech in ``audio``.

    Audio that fits in one window is taken whole, with no voice detection (the
    cheap, common case). Longer audio is cut inside pauses; ``progress`` hears
    how far voice detection is, and may raise Cancelled to stop it.
    """
    if len(audio) <= max_seconds * SAMPLE_RATE:
        return [(0, len(audio))] if len(audio) else []
    from . import voice

    spans = voice.speech_spans(audio, SAMPLE_RATE,
                               progress=lambda percent: progress(0.0, f"detecting speech ({percent:.0f}%)"))
    # The detector can miss speech under music or heavy noise. The audio is known not
    # to be silent (decode.py checks), so let the model hear all of it rather than nothing.
    spans = spans or [(0, len(audio))]
    return voice.plan_windows(len(audio), spans, max_seconds=max_seconds, sample_rate=SAMPLE_RATE)
