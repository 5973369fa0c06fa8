"""One spec per model: everything the rest of the app needs to know about it, in one place.

Engine, batch, CLI choices, startup, setup, the Models tab and the page read a
model's spec; nothing outside ``models/`` asks which model it is by name. A new
model (another NeMo ``.nemo`` ASR model, a diarizer) is one spec and one
:func:`register` call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from ..progress import Progress
    from ..settings import Settings
    from ..transcript import Transcript


@dataclass(frozen=True)
class ModelSpec:
    key: str                 # what --model, the API and History say: "parakeet"
    label: str               # what people read: "Parakeet-TDT-0.6B-v2"
    summary: str             # one line for choices and --help: "fast, English, word timestamps"
    # settings, torch device -> the model, ready for inference (NeMo imported inside)
    load: Callable[["Settings", Any], Any]
    # model, 16 kHz mono audio, [start, end) sample windows, settings, progress -> transcript;
    # None for a model that does not transcribe (the diarizer)
    transcribe: Callable[[Any, np.ndarray, list[tuple[int, int]], "Settings", "Progress"], "Transcript"] | None
    # settings, the loaded model -> the longest audio one model call takes now, in seconds
    window_seconds: Callable[["Settings", Any], float]
    source: Callable[["Settings"], str]           # where it loads from, for people
    on_disk: Callable[["Settings"], str]          # what is on disk now, for people
    provenance: Callable[["Settings"], dict]      # what produced a transcript, saved beside it
    gpu_bytes: int                                # GPU memory it needs once loaded, with working room
    # settings -> a line saying the model is ready (downloading it first if needed); raises if not
    setup: Callable[["Settings"], str] | None = None
    # settings -> a line saying the model is ready, downloading nothing; raises if not
    check: Callable[["Settings"], str] | None = None
    # settings -> raises a StudioError when the app must not start without it
    required_at_startup: Callable[["Settings"], None] | None = None
    # model, phrases, weight -> a context manager inside which the model favours those phrases; None: no vocabulary
    vocabulary: Callable[[Any, list[str], float], Any] | None = None
    # the key of a model whose pass over the same windows gives this one's words their times (Canary-Qwen: Parakeet)
    word_timings_from: str | None = None
    # settings -> what the app prints about it at startup; by default its label and source
    startup_line: Callable[["Settings"], str] | None = None
    # a diarizer's: model, 16 kHz mono audio, settings, progress -> who spoke when (see speakers.py)
    diarize: Callable[[Any, np.ndarray, "Settings", "Progress"], list] | None = None
    # the extra the README and the page say about it
    notes: list[str] = field(default_factory=list)
    # settings -> what the page's Help tab says about it (markdown, a paragraph or more)
    description: Callable[["Settings"], str] | None = None
    # settings -> why the model cannot load now (a file missing, not cached and offline), or None; cheap: it
    # never loads the model, as the page asks at every refresh
    why_unavailable: Callable[["Settings"], str | None] | None = None

    def availability(self, settings: "Settings") -> str | None:
        """Why this model cannot load now, for people ("file missing: ..."); None when it can (or may)."""
        if self.why_unavailable is None:
            return None
        try:
            return self.why_unavailable(settings)
        except OSError as exc:  # an unreadable folder: say so rather than fail the page
            return f"cannot be checked ({exc.strerror or exc})"

    def describe_at_startup(self, settings: "Settings") -> str:
        if self.startup_line is not None:
            return self.startup_line(settings)
        return f"{self.label}: {self.source(settings)}"


_SPECS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Make a model known to the whole app (a later spec with the same key replaces the earlier)."""
    _SPECS[spec.key] = spec
    return spec


def unregister(key: str) -> None:
    _SPECS.pop(key, None)


def get(key: str) -> ModelSpec:
    from ..errors import ConfigurationError

    try:
        return _SPECS[key]
    except KeyError:
        raise ConfigurationError(f"There is no model called {key!r}; choose one of {', '.join(_SPECS)}.") from None


def all_specs() -> list[ModelSpec]:
    """Every registered model, in the order they were registered."""
    return list(_SPECS.values())


def transcribers() -> list[ModelSpec]:
    """The models that turn speech into text, in the order the page and the CLI offer them."""
    return [spec for spec in _SPECS.values() if spec.transcribe is not None]


def diarizers() -> list[ModelSpec]:
    """The models that tell who spoke when (not offered as transcribers)."""
    return [spec for spec in _SPECS.values() if spec.diarize is not None]


def label(key: str) -> str:
    return _SPECS[key].label if key in _SPECS else key
