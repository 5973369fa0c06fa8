"""Every setting, each overridable by an environment variable and a flag.

Precedence: command-line flag > environment variable > default. The app's own
settings are the fields below; each model's own (its file, repository, pinned
commit, limits) are declared in its spec (``ModelSpec.options``) and read the
same way, as ``settings.<name>``, so adding a model never touches this file.

The Hugging Face variables (``HF_HOME``, ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``,
``HF_TOKEN``, ``HF_ENDPOINT``) are not re-read here: huggingface_hub reads them
itself when it is imported, and we ask it for the resolved values, so they mean
exactly what huggingface_hub documents.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR_FLAG = "--output-dir"  # named in every message about a folder it chooses

SETUP_COMMAND = "python setup_local_models.py"

def _hf_constants():
    # Imported lazily: huggingface_hub reads HF_* variables at import time.
    from huggingface_hub import constants

    return constants


def _model_options() -> dict:
    """Every registered model's options by name (importing the models registers the built-in ones)."""
    from . import models

    return {option.name: option for option in models.spec.options()}


@dataclass(frozen=True, init=False)
class Settings:
    device: str = field(default="auto", metadata={"env": "STUDIO_DEVICE", "flag": "--device",
                                                  "help": "auto, cuda, cuda:N or cpu"})
    batch_size: int = field(default=4, metadata={"env": "STUDIO_BATCH_SIZE", "flag": "--batch-size",
                                                 "help": "audio windows per model call"})
    output_dir: Path = field(default=PROJECT_ROOT / "outputs",
                             metadata={"env": "STUDIO_OUTPUT_DIR", "flag": OUTPUT_DIR_FLAG,
                                       "help": "folder for transcripts and subtitles"})
    max_file_mb: float = field(default=4096.0, metadata={"env": "STUDIO_MAX_FILE_MB", "flag": "--max-file-mb",
                                                         "help": "largest input file accepted, in MB"})
    max_upload_mb: float = field(default=16384.0, metadata={
        "env": "STUDIO_MAX_UPLOAD_MB", "flag": "--max-upload-mb",
        "help": "most one upload (the files dropped at once) may hold together, in MB; never less than --max-file-mb"})
    vocabulary_weight: float = field(
        default=1.0, metadata={"env": "STUDIO_VOCABULARY_WEIGHT", "flag": "--vocabulary-weight",
                               "help": "how strongly a model with phrase boosting favours the names and terms "
                                       "given (--vocabulary); 0 = not at all, higher = more (and more false hits)"})
    gpu_memory_gb: float = field(
        default=0.0, metadata={"env": "STUDIO_GPU_MEMORY_GB", "flag": "--gpu-memory-gb",
                               "help": "most GPU memory the app may use, in GB, for a card shared with other "
                                       "programs; 0 = whatever is free"})
    keep_audio_mb: float = field(
        default=200.0, metadata={"env": "STUDIO_KEEP_AUDIO_MB", "flag": "--keep-audio-mb",
                                 "help": "History keeps a copy of each input up to this size, to replay its "
                                         "segments; 0 = keep no audio copies"})
    idle_unload_minutes: float = field(
        default=0.0, metadata={"env": "STUDIO_IDLE_UNLOAD_MINUTES", "flag": "--idle-unload-minutes",
                               "help": "unload a model after this many idle minutes (0 = keep loaded)"})
    subtitle_line_chars: int = field(
        default=42, metadata={"env": "STUDIO_SUBTITLE_LINE_CHARS", "flag": "--subtitle-line-chars",
                              "help": "longest subtitle line (SRT, VTT), in characters; 2 lines a cue at most"})
    subtitle_cue_seconds: float = field(
        default=7.0, metadata={"env": "STUDIO_SUBTITLE_CUE_SECONDS", "flag": "--subtitle-cue-seconds",
                               "help": "longest time one subtitle cue stays on screen, in seconds"})
    # The reading rules' defaults are broadcasters' (see outputs/writers.py): 17 characters a second, cues of
    # 5/6 s at least and 2 frames at 24 fps between them.
    subtitle_max_cps: float = field(
        default=17.0, metadata={"env": "STUDIO_SUBTITLE_MAX_CPS", "flag": "--subtitle-max-cps",
                                "help": "fastest a subtitle cue may be read, in characters a second (the speaker's "
                                        "name included); cues of faster speech are kept up as long as the next "
                                        "cue allows, and listed"})
    subtitle_min_seconds: float = field(
        default=5 / 6, metadata={"env": "STUDIO_SUBTITLE_MIN_SECONDS", "flag": "--subtitle-min-seconds",
                                 "help": "shortest time a subtitle cue stays on screen, in seconds, where the next "
                                         "cue and the end of the audio leave time"})
    subtitle_min_gap: float = field(
        default=2 / 24, metadata={"env": "STUDIO_SUBTITLE_MIN_GAP", "flag": "--subtitle-min-gap",
                                  "help": "shortest gap between two subtitle cues, in seconds (2 frames at 24 fps)"})
    hf_cache_dir: Path | None = field(default=None, metadata={"help": "None: huggingface_hub's HF_HUB_CACHE"})
    # each model's own settings by name (its spec's options): read as settings.<name>
    model_values: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __init__(self, **values):
        """``Settings(device="cpu", <model option>=...)``: unnamed settings take their defaults."""
        options = _model_options()
        own = {f.name for f in fields(self)}
        unknown = set(values) - own - set(options)
        if unknown:
            raise TypeError(f"Settings has no setting {', '.join(sorted(unknown))}")
        for f in fields(self):
            if f.name != "model_values":
                default = f.default_factory() if callable(f.default_factory) else f.default
                object.__setattr__(self, f.name, values.get(f.name, default))
        chosen = {name: option.default for name, option in options.items()}
        chosen.update(values.get("model_values", {}))
        chosen.update({name: value for name, value in values.items() if name in options})
        object.__setattr__(self, "model_values", chosen)

    def __getattr__(self, name: str):
        # only called for names that are not fields: a model's own setting
        try:
            return self.__dict__["model_values"][name]
        except KeyError:
            raise AttributeError(f"Settings has no setting {name!r}") from None

    def validate(self) -> "Settings":
        for option in _model_options().values():
            if option.check is not None:
                option.check(getattr(self, option.name))
        if (self.batch_size < 1 or self.max_file_mb <= 0 or self.max_upload_mb <= 0 or self.idle_unload_minutes < 0
                or self.gpu_memory_gb < 0 or self.keep_audio_mb < 0 or self.vocabulary_weight < 0):
            raise ConfigurationError("The batch size and the file and upload size limits must be positive; the GPU "
                                     "memory limit, the vocabulary weight, the audio copies' size and the idle "
                                     "minutes zero (automatic/off) or positive.")
        if not 20 <= self.subtitle_line_chars <= 200 or not 1.0 <= self.subtitle_cue_seconds <= 60.0:
            raise ConfigurationError(
                f"Subtitle lines must be 20 to 200 characters (not {self.subtitle_line_chars}) and cues 1 to 60 "
                f"seconds long (not {self.subtitle_cue_seconds}): shorter cannot hold a word and a speaker's name, "
                "longer no one can read.",
                next_steps="Unset STUDIO_SUBTITLE_LINE_CHARS and STUDIO_SUBTITLE_CUE_SECONDS (or their flags) for "
                "the usual 42 characters and 7 seconds, or choose a value in range.")
        self._check_reading_rules()
        return self

    def _check_reading_rules(self) -> None:
        cps, shortest, gap, longest = (self.subtitle_max_cps, self.subtitle_min_seconds, self.subtitle_min_gap,
                                       self.subtitle_cue_seconds)
        wrong = []
        if not 5.0 <= cps <= 100.0:  # not NaN either
            wrong.append(f"reading speed must be 5 to 100 characters a second (not {_shown(cps)}): slower, "
                         "almost every cue would be too fast")
        if not 0.0 <= shortest <= longest:
            wrong.append(f"shortest cue must last 0 to {_shown(longest)} seconds, the longest cue's time "
                         f"(not {_shown(shortest)})")
        if not 0.0 <= gap <= 1.0:
            wrong.append(f"gap between cues must be 0 to 1 second (not {_shown(gap)})")
        if wrong:
            raise ConfigurationError(
                "The subtitles' " + "; the ".join(wrong) + ".",
                next_steps="Unset STUDIO_SUBTITLE_MAX_CPS, STUDIO_SUBTITLE_MIN_SECONDS and STUDIO_SUBTITLE_MIN_GAP "
                "(or --subtitle-max-cps, --subtitle-min-seconds and --subtitle-min-gap) for the broadcasters' 17 "
                "characters a second, 5/6 second and 2 frames, or choose a value in range.")

    @property
    def hub_cache(self) -> Path:
        return Path(self.hf_cache_dir or _hf_constants().HF_HUB_CACHE)

    @property
    def offline(self) -> bool:
        return bool(_hf_constants().HF_HUB_OFFLINE)

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        environ = os.environ if environ is None else environ
        return cls(**_typed({s.name: environ[s.env] for s in _declared() if s.env and environ.get(s.env)}))

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, setup_only: bool = False) -> None:
        """A flag per setting; ``setup_only``: only the models' settings that say where they come from."""
        group = parser.add_argument_group("model settings (each also read from the environment variable shown)")
        for s in _declared():
            if s.flag and (s.setup or not setup_only):
                group.add_argument(s.flag, dest=s.name, default=None,
                                   help=f"{s.help} [env {s.env}; default: {_shown(s.default)}]")

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ=None) -> "Settings":
        settings = cls.from_env(environ)
        overrides = {s.name: getattr(args, s.name) for s in _declared() if getattr(args, s.name, None) is not None}
        return replace(settings, **_typed(overrides))


@dataclass(frozen=True)
class _Declared:
    """A setting as the command line and the environment see it: the app's own, or a model's."""
    name: str
    default: Any
    env: str | None
    flag: str | None
    help: str
    setup: bool = False


def _declared() -> list[_Declared]:
    own = [_Declared(f.name, f.default, f.metadata.get("env"), f.metadata.get("flag"), f.metadata.get("help", ""))
           for f in fields(Settings) if "help" in f.metadata]
    return own + [_Declared(o.name, o.default, o.env, o.flag, o.help, o.setup) for o in _model_options().values()]


def _shown(default: Any) -> str:
    """A default as help shows it: a float to 3 decimals at most (5/6 s as 0.833), no ".0" on whole ones."""
    return f"{round(default, 3):g}" if isinstance(default, float) else str(default)


def _typed(values: dict) -> dict:
    """Strings from the environment or the command line to each setting's type."""
    declared = {s.name: s for s in _declared()}
    typed = {}
    for name, value in values.items():
        kind = type(declared[name].default)
        try:
            typed[name] = Path(value).expanduser() if issubclass(kind, Path) else kind(value)
        except ValueError:
            raise ConfigurationError(f"{declared[name].env or name} must be a {kind.__name__}, "
                                     f"not {value!r}.") from None
    return typed
