"""Parakeet-TDT-0.6B-v2: fast English transcription with punctuation and word times.

A NeMo ``.nemo`` file in ``local_models/`` (``PARAKEET_NEMO``), restored offline;
the one model the app needs before it starts. ``setup_local_models.py``
downloads it once at a pinned commit and verifies its SHA-256.
"""

from __future__ import annotations

from ..settings import SETUP_COMMAND, Settings
from .nemo_asr import check_nemo_file, nemo_asr_spec
from .spec import register

LABEL = "Parakeet-TDT-0.6B-v2"


def _setup(settings: Settings) -> str:
    from . import setup

    if setup.is_custom_parakeet(settings):
        return setup.custom_parakeet_status(settings)
    if setup.parakeet_problem(settings) is None:
        return f"OK, {settings.parakeet_path} is present and verified."
    return f"OK, downloaded and verified {setup.download_parakeet(settings)}."


def _check(settings: Settings) -> str:
    from ..errors import ModelFileError
    from . import setup

    if setup.is_custom_parakeet(settings):
        return setup.custom_parakeet_status(settings)
    problem = setup.parakeet_problem(settings)
    if problem is not None:
        raise ModelFileError(f"{problem}.", next_steps=f"Run `{SETUP_COMMAND}` to download it.")
    return f"OK, {settings.parakeet_path} is present and verified."


def _description(settings: Settings) -> str:
    return f"""**{LABEL}** (English, fast, punctuation, word timestamps) loads from the local file
`{settings.parakeet_path}` with NeMo's `ASRModel.restore_from`: fully offline, and instant after the
first load because it stays in memory."""


# What the card must have free to load it: restore_from puts the fp32 model and its fp32 checkpoint there
# before the cast to bf16 (5.0 GB peak on an H100, docs/PERFORMANCE.md; 1.2 GB once loaded). Make-room and
# "do both models fit" plan with this, so a load never runs out of memory next to Canary-Qwen.
LOAD_PEAK_GPU_BYTES = 5_000_000_000

SPEC = register(nemo_asr_spec(
    "parakeet", LABEL, "fast, English, punctuation and word timestamps",
    lambda settings: settings.parakeet_path,
    setup=_setup, check=_check,
    required_at_startup=lambda settings: check_nemo_file(settings.parakeet_path, LABEL),
    startup_line=lambda settings: f"{LABEL}: {settings.parakeet_path} (found)", description=_description,
    gpu_bytes=LOAD_PEAK_GPU_BYTES,
    notes=["Loaded with `ASRModel.restore_from` from a local `.nemo` file: never uses the network."]))
