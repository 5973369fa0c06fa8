"""How audio of any length is cut into what each model can take, and why.

All the thresholds live here.

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

from .audio import SAMPLE_RATE

# Parakeet pass length by device, in seconds. GPU: under the card's 24 minutes with
# margin for 8-12 GB cards. CPU: "a few minutes" keeps attention matrices under ~1 GB.
PARAKEET_PASS_SECONDS = {"cuda": 20 * 60.0, "cpu": 5 * 60.0}

# Canary-Qwen's training limit (model card, "Input length").
CANARY_MAX_WINDOW_SECONDS = 40.0


def parakeet_pass_seconds(configured: float, device_type: str) -> float:
    """The configured pass length, or the device's default when it is 0."""
    return configured or PARAKEET_PASS_SECONDS.get(device_type, PARAKEET_PASS_SECONDS["cpu"])


def plan(audio: np.ndarray, max_seconds: float) -> list[tuple[int, int]]:
    """[start, end) sample windows of at most ``max_seconds`` covering the speech in ``audio``.

    Audio that fits in one window is taken whole, with no voice detection (the
    cheap, common case). Longer audio is cut inside pauses.
    """
    if len(audio) <= max_seconds * SAMPLE_RATE:
        return [(0, len(audio))] if len(audio) else []
    from . import vad

    spans = vad.speech_spans(audio, SAMPLE_RATE)
    # The detector can miss speech under music or heavy noise. The audio is known not
    # to be silent (audio.py checks), so let the model hear all of it rather than nothing.
    spans = spans or [(0, len(audio))]
    return vad.plan_windows(len(audio), spans, max_seconds=max_seconds, sample_rate=SAMPLE_RATE)
