"""Every default in one place, each overridable by an environment variable and a flag.

Precedence: command-line flag > environment variable > default below.

The Hugging Face variables (``HF_HOME``, ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``,
``HF_TOKEN``, ``HF_ENDPOINT``) are not re-read here: huggingface_hub reads them
itself when it is imported, and we ask it for the resolved values, so they mean
exactly what huggingface_hub documents.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import ConfigurationError, InvalidRevisionError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR_FLAG = "--output-dir"  # named in every message about a folder it chooses

PARAKEET_REPO = "nvidia/parakeet-tdt-0.6b-v2"
PARAKEET_REVISION = "ae9ad07059c7c739ffaf932226a8fe64ae2620b0"
PARAKEET_FILENAME = "parakeet-tdt-0.6b-v2.nemo"
PARAKEET_SIZE = 2_472_222_720
PARAKEET_SHA256 = "d99e39955c9d3d0350d8fb7c75e40c64a2b2eaeb003883d7c941fd2e8747b28c"

# The commit public projects pin with NeMo 3.0.0. Canary-Qwen ships no .nemo file:
# it is a Hugging Face-style SALM checkpoint (config.json + model.safetensors).
CANARY_REPO = "nvidia/canary-qwen-2.5b"
CANARY_REVISION = "b1469e1bba1cfe140205529c79c434ca47180960"

# SALM builds its tokenizer and LLM skeleton from Qwen/Qwen3-1.7B and, left alone,
# asks the Hub for Qwen's `main`. We pin it so Qwen's `main` moving never changes us.
QWEN_REPO = "Qwen/Qwen3-1.7B"
QWEN_REVISION = "70d244cc86ccca08cf5af4e1e306ecf908b1ad5e"

# Streaming Sortformer, the speaker diarizer (``--speakers``). v2, not the newer v2.1: v2 is
# CC-BY-4.0 (v2.1 is under NVIDIA's Open Model License) and its published DIHARD III 1-4 speaker
# DER is better (13.24 vs 15.09). Its size and SHA-256 are not pinned here: setup takes them from
# the Hub's metadata for this commit at the first download and records them beside the file.
DIARIZER_REPO = "nvidia/diar_streaming_sortformer_4spk-v2"
DIARIZER_REVISION = "579ffc4ec4dda621161097cf264503d76747d1f9"
DIARIZER_FILENAME = "diar_streaming_sortformer_4spk-v2.nemo"

SETUP_COMMAND = "python setup_local_models.py"

_COMMIT = re.compile(r"[0-9a-f]{40}")


def validate_revision(revision: str, what: str) -> str:
    """Accept only a full 40-hex Hub commit; explain the common mix-up otherwise."""
    if _COMMIT.fullmatch(revision or ""):
        return revision
    hint = ""
    if re.fullmatch(r"[0-9a-f]{32}", revision or ""):
        hint = (
            " It has 32 hex characters, the shape of the md5 folder name NeMo gives its own download "
            "cache (for example ~/.cache/torch/NeMo/.../hf_hub_cache/nvidia/canary-qwen-2.5b/"
            f"{revision}); that name is not a Hub commit and the Hub does not know it."
        )
    raise InvalidRevisionError(
        f"The {what} revision '{revision}' is not a Hugging Face commit.{hint} "
        "A commit is exactly 40 hexadecimal characters, as shown in the repository's 'Files and "
        "versions' history.",
        next_steps="Unset the variable or flag that sets it to use the tested default, or give a full "
        "40-character commit.",
    )


def _hf_constants():
    # Imported lazily: huggingface_hub reads HF_* variables at import time.
    from huggingface_hub import constants

    return constants


@dataclass(frozen=True)
class Settings:
    parakeet_path: Path = field(default=PROJECT_ROOT / "local_models" / "parakeet.nemo",
                                metadata={"env": "PARAKEET_NEMO", "setup": True, "flag": "--parakeet-nemo",
                                          "help": "Parakeet .nemo file"})
    parakeet_repo: str = field(default=PARAKEET_REPO,
                               metadata={"env": "PARAKEET_REPO", "setup": True, "flag": "--parakeet-repo",
                                         "help": "Hub repository setup downloads Parakeet from"})
    parakeet_revision: str = field(default=PARAKEET_REVISION,
                                   metadata={"env": "PARAKEET_REVISION", "setup": True, "flag": "--parakeet-revision",
                                             "help": "Parakeet commit (40 hex characters)"})
    parakeet_filename: str = field(default=PARAKEET_FILENAME,
                                   metadata={"env": "PARAKEET_FILENAME", "setup": True, "flag": "--parakeet-filename",
                                             "help": ".nemo file name in that repository"})
    parakeet_sha256: str = field(default=PARAKEET_SHA256,
                                 metadata={"env": "PARAKEET_SHA256", "setup": True, "flag": "--parakeet-sha256",
                                           "help": "expected SHA-256 of the .nemo file"})
    parakeet_size: int = field(default=PARAKEET_SIZE,
                               metadata={"env": "PARAKEET_SIZE", "setup": True, "flag": "--parakeet-size",
                                         "help": "expected size of the .nemo file in bytes"})
    canary_repo: str = field(default=CANARY_REPO,
                             metadata={"env": "CANARY_REPO", "setup": True, "flag": "--canary-repo",
                                       "help": "Canary-Qwen Hub repository"})
    canary_revision: str = field(default=CANARY_REVISION,
                                 metadata={"env": "CANARY_REVISION", "setup": True, "flag": "--canary-revision",
                                           "help": "Canary-Qwen commit (40 hex characters)"})
    qwen_repo: str = field(default=QWEN_REPO, metadata={"env": "QWEN_REPO", "setup": True, "flag": "--qwen-repo",
                                                        "help": "repository of Canary's tokenizer and LLM config"})
    qwen_revision: str = field(default=QWEN_REVISION,
                               metadata={"env": "QWEN_REVISION", "setup": True, "flag": "--qwen-revision",
                                         "help": "Qwen commit (40 hex characters)"})
    diarizer_path: Path = field(default=PROJECT_ROOT / "local_models" / "diarizer.nemo",
                                metadata={"env": "DIARIZER_NEMO", "setup": True, "flag": "--diarizer-nemo",
                                          "help": "speaker diarizer (Streaming Sortformer) .nemo file"})
    diarizer_repo: str = field(default=DIARIZER_REPO,
                               metadata={"env": "DIARIZER_REPO", "setup": True, "flag": "--diarizer-repo",
                                         "help": "Hub repository setup downloads the diarizer from"})
    diarizer_revision: str = field(default=DIARIZER_REVISION,
                                   metadata={"env": "DIARIZER_REVISION", "setup": True, "flag": "--diarizer-revision",
                                             "help": "diarizer commit (40 hex characters)"})
    diarizer_filename: str = field(default=DIARIZER_FILENAME,
                                   metadata={"env": "DIARIZER_FILENAME", "setup": True, "flag": "--diarizer-filename",
                                             "help": "diarizer .nemo file name in that repository"})
    device: str = field(default="auto", metadata={"env": "STUDIO_DEVICE", "flag": "--device",
                                                  "help": "auto, cuda, cuda:N or cpu"})
    batch_size: int = field(default=4, metadata={"env": "STUDIO_BATCH_SIZE", "flag": "--batch-size",
                                                 "help": "audio windows per model call"})
    output_dir: Path = field(default=PROJECT_ROOT / "outputs",
                             metadata={"env": "STUDIO_OUTPUT_DIR", "flag": OUTPUT_DIR_FLAG,
                                       "help": "folder for transcripts and subtitles"})
    max_file_mb: float = field(default=4096.0, metadata={"env": "STUDIO_MAX_FILE_MB", "flag": "--max-file-mb",
                                                         "help": "largest input file accepted, in MB"})
    parakeet_pass_seconds: float = field(
        default=0.0, metadata={"env": "PARAKEET_PASS_SECONDS", "flag": "--parakeet-pass-seconds",
                               "help": "longest audio Parakeet takes in one pass, in seconds; 0 = as long as the "
                                       "GPU's memory allows (at most 20 minutes; 5 minutes on the CPU)"})
    canary_window_seconds: float = field(
        default=40.0, metadata={"env": "CANARY_WINDOW_SECONDS", "flag": "--canary-window-seconds",
                                "help": "longest window Canary-Qwen gets (40 s at most: its training limit)"})
    vocabulary_weight: float = field(
        default=1.0, metadata={"env": "STUDIO_VOCABULARY_WEIGHT", "flag": "--vocabulary-weight",
                               "help": "how strongly Parakeet favours the names and terms given (--vocabulary); "
                                       "0 = not at all, higher = more (and more false hits)"})
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
    hf_cache_dir: Path | None = field(default=None, metadata={"help": "None: huggingface_hub's HF_HUB_CACHE"})

    def validate(self) -> "Settings":
        validate_revision(self.parakeet_revision, "Parakeet")
        validate_revision(self.canary_revision, "Canary")
        validate_revision(self.qwen_revision, "Qwen")
        validate_revision(self.diarizer_revision, "diarizer")
        if not 1.0 <= self.canary_window_seconds <= 40.0:
            raise ConfigurationError(f"CANARY_WINDOW_SECONDS must be between 1 and 40, not {self.canary_window_seconds}: "
                                     "Canary-Qwen was trained on audio of at most 40 s and drops what lies beyond.")
        if (self.batch_size < 1 or self.max_file_mb <= 0 or self.parakeet_pass_seconds < 0
                or self.idle_unload_minutes < 0 or self.gpu_memory_gb < 0 or self.keep_audio_mb < 0
                or self.vocabulary_weight < 0):
            raise ConfigurationError("The batch size and the file size limit must be positive; the Parakeet pass "
                                     "length, the GPU memory limit, the vocabulary weight and the idle minutes zero "
                                     "(automatic/off) or "
                                     "positive.")
        if not 20 <= self.subtitle_line_chars <= 200 or not 1.0 <= self.subtitle_cue_seconds <= 60.0:
            raise ConfigurationError(
                f"Subtitle lines must be 20 to 200 characters (not {self.subtitle_line_chars}) and cues 1 to 60 "
                f"seconds long (not {self.subtitle_cue_seconds}): shorter cannot hold a word and a speaker's name, "
                "longer no one can read.", next_steps="Unset STUDIO_SUBTITLE_LINE_CHARS and STUDIO_SUBTITLE_CUE_SECONDS "
                "(or their flags) for the usual 42 characters and 7 seconds, or choose a value in range.")
        return self

    @property
    def hub_cache(self) -> Path:
        return Path(self.hf_cache_dir or _hf_constants().HF_HUB_CACHE)

    @property
    def offline(self) -> bool:
        return bool(_hf_constants().HF_HUB_OFFLINE)

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            env = f.metadata.get("env")
            if env and environ.get(env):
                values[f.name] = environ[env]
        return cls(**_typed(values))

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, setup_only: bool = False) -> None:
        """A flag per setting; ``setup_only``: only those tagged ``"setup"`` (where the models come from)."""
        group = parser.add_argument_group("model settings (each also read from the environment variable shown)")
        for f in fields(cls):
            if "flag" in f.metadata and (f.metadata.get("setup") or not setup_only):
                group.add_argument(f.metadata["flag"], dest=f.name, default=None,
                                   help=f"{f.metadata['help']} [env {f.metadata['env']}; default: {f.default}]")

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ=None) -> "Settings":
        settings = cls.from_env(environ)
        overrides = {f.name: getattr(args, f.name) for f in fields(cls)
                     if getattr(args, f.name, None) is not None}
        return replace(settings, **_typed(overrides))


def _typed(values: dict) -> dict:
    """Strings from the environment or the command line to each field's type."""
    kinds = {f.name: type(f.default) for f in fields(Settings)}
    typed = {}
    for name, value in values.items():
        kind = kinds.get(name, str)
        try:
            typed[name] = Path(value).expanduser() if issubclass(kind, Path) else kind(value)
        except ValueError:
            flag = next(f.metadata.get("env", name) for f in fields(Settings) if f.name == name)
            raise ConfigurationError(f"{flag} must be a {kind.__name__}, not {value!r}.") from None
    return typed
