"""Parakeet-TDT-0.6B-v2: fast English transcription with punctuation and word times.

A NeMo ``.nemo`` file in ``local_models/`` (``PARAKEET_NEMO``), restored offline;
the one model the app needs before it starts. ``setup_local_models.py``
downloads it once at a pinned commit and verifies its SHA-256 (:mod:`.pinned`).
"""

from __future__ import annotations

from ..settings import Settings
from .nemo_asr import CPU_PASS_SECONDS, check_nemo_file, nemo_asr_spec
from .pinned import PinnedFile
from .spec import ModelOption, register

LABEL = "Parakeet-TDT-0.6B-v2"
REPO = "nvidia/parakeet-tdt-0.6b-v2"
REVISION = "ae9ad07059c7c739ffaf932226a8fe64ae2620b0"
FILENAME = "parakeet-tdt-0.6b-v2.nemo"
SIZE = 2_472_222_720
SHA256 = "d99e39955c9d3d0350d8fb7c75e40c64a2b2eaeb003883d7c941fd2e8747b28c"

FILE = PinnedFile("parakeet", "Parakeet", REPO, REVISION, FILENAME, "parakeet.nemo", "PARAKEET",
                  size=SIZE, sha256=SHA256)

# What the card must have free to load it and run a first pass: the checkpoint goes to the card tensor by tensor,
# already in bf16 (fast_load.restore_streamed), so the load's peak is about the model's final size, 1.2 GB, plus one
# tensor; the rest is working room. A planning number until the GPU check measures the streamed load
# (benchmarks/gpu/cold_start_check.sh; restored onto the card in fp32 and cast after, the peak was 5.0 GB on an
# H100). Make-room and "do both models fit" plan with this, so a load never runs out of memory next to another model.
LOAD_PEAK_GPU_BYTES = 2_000_000_000


def _pass_seconds_must_not_be_negative(value: float) -> None:
    from ..errors import ConfigurationError

    if value < 0:
        raise ConfigurationError(f"PARAKEET_PASS_SECONDS must be zero (as long as the GPU's memory allows) or "
                                 f"positive, not {value:g}.")


PASS_SECONDS = ModelOption(
    "parakeet_pass_seconds", 0.0, "PARAKEET_PASS_SECONDS", "--parakeet-pass-seconds",
    "longest audio Parakeet takes in one pass, in seconds; 0 = as long as the GPU's memory allows (at most 20 "
    f"minutes; {CPU_PASS_SECONDS / 60:g} minutes on the CPU)", check=_pass_seconds_must_not_be_negative)


def _description(settings: Settings) -> str:
    return f"""**{LABEL}** (English, fast, punctuation, word timestamps) loads from the local file
`{settings.parakeet_path}` with NeMo's `ASRModel.restore_from`: fully offline, and instant after the
first load because it stays in memory. It needs about 2 GB of GPU memory, its load included (the weights go to
the card one at a time, already in bf16); on the CPU, about 3 GB of RAM."""


SPEC = register(nemo_asr_spec(
    "parakeet", LABEL, "fast, English, punctuation and word timestamps", FILE.path,
    setup=FILE.setup, check=FILE.check,
    required_at_startup=lambda settings: check_nemo_file(settings.parakeet_path, LABEL),
    startup_line=lambda settings: f"{LABEL}: {settings.parakeet_path} (found)", description=_description,
    gpu_bytes=LOAD_PEAK_GPU_BYTES, live=True, word_confidence=True, options=FILE.options() + (PASS_SECONDS,),
    speed={"cuda": 500.0, "cpu": 7.0},  # audio seconds a second: docs/PERFORMANCE.md
    memory="about 3 GB of RAM on the CPU; on a GPU about 2 GB, its load included (under 1 GB of system RAM on "
           "its way to the card)",
    advice={"gpu_oom": "Unload the other model or close other programs using the GPU; give Parakeet shorter "
                       "passes with --parakeet-pass-seconds (e.g. 120); if other programs share the card, tell the "
                       "app how much it may use with --gpu-memory-gb; or run on the CPU with --device cpu (slower).",
            "ram_oom": "Close other programs and try again: loading on the CPU, Parakeet needs about 3 GB of "
                       "free RAM.",
            "disk": "Free some disk space, or point --parakeet-nemo (PARAKEET_NEMO) at a writable location, then "
                    "try again."},
    notes=["Loaded with `ASRModel.restore_from` from a local `.nemo` file: never uses the network."]))
