"""What a job's work costs before it runs: each stage's seconds of work per second of audio.

From the models' measured speeds (their specs' ``speed``) and the app's own stages', so a file's progress
moves with the work (decoding, the model's passes, the word-timing pass, the speakers, each by its cost)
and the page can say how long a job will take before any of it is measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..media import voice
from ..models import ModelCache, diarizers, get
from ..models.device import resolve_device

if TYPE_CHECKING:  # the engine asks this module for the voice detection's share: no import at run time
    from .engine import Options

# Decoding to 16 kHz mono on the CPU: 0.09 s for a minute of audio (docs/PERFORMANCE.md, figure 5).
DECODE_SPEED = 650.0
# A model whose speed on this device is not known is taken as this slow (audio seconds a second).
UNKNOWN_SPEED = 10.0


@dataclass(frozen=True)
class Costs:
    per_second: dict[str, float]  # stage -> seconds of work per second of audio, in the order they run

    def shares(self) -> dict[str, float]:
        """Each stage's share of a file's work (adding up to 1)."""
        total = sum(self.per_second.values())
        return {stage: cost / total for stage, cost in self.per_second.items()}

    def seconds(self, audio_seconds: float) -> float:
        """The expected seconds of work for ``audio_seconds`` of audio."""
        return audio_seconds * sum(self.per_second.values())


def job_costs(cache: ModelCache, key: str, options: Options | None = None) -> Costs:
    """The stages a file goes through with the model ``key`` and ``options``, and what each costs."""
    spec, device = get(key), _device_kind(cache, key)
    stages = {"decode": 1 / DECODE_SPEED, "passes": 1 / spec.speed.get(device, UNKNOWN_SPEED)}
    if spec.word_timings_from and (options is None or options.word_timings):
        stages["timing"] = 1 / get(spec.word_timings_from).speed.get(device, UNKNOWN_SPEED)
    if options is not None and options.speakers and diarizers():
        stages["speakers"] = 1 / diarizers()[0].speed.get(device, UNKNOWN_SPEED)
    return Costs(stages)


def _device_kind(cache: ModelCache, key: str) -> str:
    """Where the model runs ("cuda", "cpu"): where it is loaded, else where it would load."""
    loaded = cache.status(key).device
    if loaded:
        return loaded.split(":")[0]
    try:
        return resolve_device(cache.settings.device).type
    except Exception:  # noqa: BLE001 - a device that cannot be used says so at the load, not here
        return "cpu"


def voice_share(cache: ModelCache, key: str) -> float:
    """The share of the "passes" stage that voice detection takes when a recording is longer than one model call
    (it then runs first, on the CPU, to find the pauses to cut at)."""
    voice_cost, model_cost = 1 / voice.SPEED, 1 / get(key).speed.get(_device_kind(cache, key), UNKNOWN_SPEED)
    return voice_cost / (voice_cost + model_cost)
