"""One spec per model: everything the rest of the app needs to know about it, in one place.

Settings (each model's own flags and environment variables: :class:`ModelOption`),
setup, the transcription, the CLI's choices, startup, error advice, the Models
tab and the page's help read a model's spec; nothing outside ``models/`` names a
model. A new model (another NeMo ``.nemo`` ASR model, a diarizer, a file
downloaded once at a pinned commit: :mod:`.pinned`) is one module with one spec
and its :func:`register` call.

What a model hears is handed up as plain data (:class:`Heard`), so the models
need nothing of the transcription built on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

if TYPE_CHECKING:
    from ..progress import Progress
    from ..settings import Settings


@dataclass(frozen=True)
class ModelOption:
    """One setting of one model, read like every setting: flag > environment variable > default.

    Its value is ``settings.<name>``; ``setup``: it says where the model comes from, so
    ``setup_local_models.py`` takes it too; ``check`` raises a ConfigurationError for a value that cannot work.
    """
    name: str
    default: Any
    env: str
    flag: str
    help: str
    setup: bool = False
    check: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class LanguageModel:
    """A model's text-in, text-out mode (a speech-LLM's language model), for questions about a transcript."""
    name: str                                   # what people ask: "Ask Canary-Qwen"
    generate: Callable[[Any, str, int], str]    # model, one user message, most new tokens -> the answer alone
    count_tokens: Callable[[Any, str], int]     # model, text -> its length in tokens
    prompt_tokens: Callable[[Any, str], int]    # model, one user message -> the whole prompt's length in tokens
    message: Callable[[str, str], str]          # instruction, text -> one user message
    clean: Callable[[str], str]                 # text -> the same without the tokenizer's control tokens
    input_budget_tokens: int                    # the most one call reads (longer transcripts go in parts)
    note: str                                   # said under every answer: what made it and what it cannot know


@dataclass(frozen=True)
class LanguagePrompt:
    """How a model is told which language it hears and which it writes (Canary-1B-v2's prompt): it must be told
    the first; a model without one finds the language itself and writes what it hears."""
    # the recording's language -> the languages the model can write it in, the recording's own first
    writes: Callable[[str], tuple[str, ...]]
    # model, the recording's language, the text's -> a context manager inside which the model hears and writes them
    speaking: Callable[[Any, str, str], Any]


@dataclass(frozen=True)
class Timed:
    """A word or a segment a model heard, on the recording's clock (seconds)."""
    start: float
    end: float
    text: str
    confidence: float | None = None  # a word's, in [0, 1], where the model gives one (nemo_asr.WORD_CONFIDENCE)


@dataclass(frozen=True)
class Heard:
    """What a model heard in one stretch of the recording (a window, or a pass), on the recording's clock.

    Plain data, so the models need nothing of the transcription above them: it merges the stretches
    (they overlap only at a hard cut) into one transcript. A model with word times gives ``words`` and
    the ``segments`` they make up (runs of consecutive words); a model without gives its ``text`` only.
    """
    start: float
    end: float
    text: str
    words: tuple[Timed, ...] = ()
    segments: tuple[Timed, ...] = ()
    note: str = ""  # what a person should know about how this stretch was heard (an out-of-memory retry)

    def shifted(self, offset: float) -> "Heard":
        """The same, ``offset`` seconds later: a piece's stretch on its recording's clock."""
        def moved(items: tuple[Timed, ...]) -> tuple[Timed, ...]:
            return tuple(Timed(item.start + offset, item.end + offset, item.text, item.confidence) for item in items)

        return Heard(self.start + offset, self.end + offset, self.text, words=moved(self.words),
                     segments=moved(self.segments), note=self.note)


def windows_in_batches(hear: Callable[[Any, list[np.ndarray], "Settings"], list[Heard]]):
    """A spec's ``transcribe`` from its ``transcribe_batch`` (``hear``): the windows ``--batch-size`` at a time, each
    yielded as heard, on the recording's clock (the models that take windows of a fixed length: the Canaries)."""
    def transcribe(model, audio: np.ndarray, spans: list[tuple[int, int]], settings: "Settings",
                   progress: "Progress") -> Iterator[Heard]:
        from ..media.decode import SAMPLE_RATE

        size = settings.batch_size
        for first in range(0, len(spans), size):
            batch = spans[first:first + size]
            for (start, _), heard in zip(batch, hear(model, [audio[a:b] for a, b in batch], settings)):
                yield heard.shifted(start / SAMPLE_RATE)
            done = min(first + size, len(spans))
            progress(done / len(spans), f"window {done} of {len(spans)}")

    return transcribe


@dataclass(frozen=True)
class SpeakerTurn:
    """One stretch of speech by one of a diarizer's speaker slots (0, 1, ...), in seconds."""
    start: float
    end: float
    slot: int


@dataclass(frozen=True)
class ModelSpec:
    key: str                 # what --model, the API and History say: "parakeet"
    label: str               # what people read: "Parakeet-TDT-0.6B-v2"
    summary: str             # one line for choices and --help: "fast, English, word timestamps"
    # settings, torch device -> the model, ready for inference (NeMo imported inside)
    load: Callable[["Settings", Any], Any]
    # model, 16 kHz mono audio, [start, end) sample windows, settings, progress -> what it heard, stretch by
    # stretch in time order, as each is done; None for a model that does not transcribe (the diarizer)
    transcribe: Callable[[Any, np.ndarray, list[tuple[int, int]], "Settings", "Progress"], Iterator[Heard]] | None
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
    # the languages it hears (ISO 639-1 codes): one, and that is every transcript's; several, and a transcript's is
    # identified from its text among them (transcription/language.py)
    languages: tuple[str, ...] = ("en",)
    # how it is told the languages (and translates); None: it finds the language itself, from ``languages``
    prompt: LanguagePrompt | None = None
    # whether a plain ``setup_local_models.py`` sets it up; False: only when asked (``--with-<key>``)
    setup_by_default: bool = True
    # settings -> raises a StudioError when the app must not start without it
    required_at_startup: Callable[["Settings"], None] | None = None
    # model, phrases, weight -> a context manager inside which the model favours those phrases; None: no vocabulary
    vocabulary: Callable[[Any, list[str], float], Any] | None = None
    # the key of a model whose pass over the same windows gives this one's words their times (Canary-Qwen: Parakeet)
    word_timings_from: str | None = None
    # settings -> what the app prints about it at startup; by default its label and source
    startup_line: Callable[["Settings"], str] | None = None
    # a diarizer's: model, 16 kHz mono audio, settings, progress -> who spoke when
    diarize: Callable[[Any, np.ndarray, "Settings", "Progress"], list[SpeakerTurn]] | None = None
    # the extra the README and the page say about it
    notes: list[str] = field(default_factory=list)
    # settings -> what the page's Help tab says about it (markdown, a paragraph or more)
    description: Callable[["Settings"], str] | None = None
    # settings -> why the model cannot load now (a file missing, not cached and offline), or None; cheap: it
    # never loads the model, as the page asks at every refresh
    why_unavailable: Callable[["Settings"], str | None] | None = None
    # its own settings (file, repository, pinned commit, limits), each with a flag and an environment variable
    options: tuple[ModelOption, ...] = ()
    # what to do about an error of a kind (errors.py's ``kind``) when this model meets it: the next steps
    # that name this model's own settings and figures ("gpu_oom": shorter passes with its flag)
    advice: dict[str, str] = field(default_factory=dict)
    # a model that also answers questions about a text (a speech-LLM in its LLM mode)
    language_model: LanguageModel | None = None
    # a diarizer's: how many speakers it tells apart at most
    max_speakers: int = 0
    # what it needs to load, for people: "about 5 GB of RAM on the CPU, 5 GB of GPU memory for its load"
    memory: str = ""
    # seconds of audio it handles a second, by device kind ("cuda", "cpu"), as measured (docs/PERFORMANCE.md):
    # its share of a job's progress and of the estimate shown before anything is measured
    speed: dict[str, float] = field(default_factory=dict)
    # model, pieces of 16 kHz audio (each at most a window), settings -> what it heard in each, on each piece's own
    # clock, in one model call: how many files' windows go through together (transcription/batched.py)
    transcribe_batch: Callable[[Any, list[np.ndarray], "Settings"], list[Heard]] | None = None
    # settings, the loaded model, the longest piece in seconds -> how many such pieces one call may take now
    batch_items: Callable[["Settings", Any, float], int] | None = None
    # whether NeMo's buffered RNNT/TDT streaming pipeline captions with it live (transcribe_studio/live)
    live: bool = False
    # whether its words carry NeMo's word confidence (nemo_asr.WORD_CONFIDENCE set at load)
    word_confidence: bool = False

    def availability(self, settings: "Settings") -> str | None:
        """Why this model cannot load now, for people ("file missing: ..."); None when it can (or may)."""
        if self.why_unavailable is None:
            return None
        try:
            return self.why_unavailable(settings)
        except OSError as exc:  # an unreadable folder: say so rather than fail the page
            return f"cannot be checked ({exc.strerror or exc})"

    def advised(self, error):
        """``error`` with this model's own next steps for its kind, where the spec has some."""
        if error.kind in self.advice:
            error.next_steps = self.advice[error.kind]
        return error

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


def live_captioners() -> list[ModelSpec]:
    """The models that caption live (NeMo's streaming pipeline runs them)."""
    return [spec for spec in _SPECS.values() if spec.live]


def answerers() -> list[ModelSpec]:
    """The models that answer questions about a transcript (their language model)."""
    return [spec for spec in _SPECS.values() if spec.language_model is not None]


def diarizers() -> list[ModelSpec]:
    """The models that tell who spoke when (not offered as transcribers)."""
    return [spec for spec in _SPECS.values() if spec.diarize is not None]


def options() -> list[ModelOption]:
    """Every registered model's own settings, model by model."""
    return [option for spec in _SPECS.values() for option in spec.options]


def label(key: str) -> str:
    return _SPECS[key].label if key in _SPECS else key
