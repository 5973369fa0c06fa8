"""Parakeet-TDT-0.6B-v3: Parakeet v2's architecture and loader, for 25 European languages, each found by the model
itself (no language to choose), with punctuation and word times.

Optional: ``setup_local_models.py --with-parakeet-v3`` downloads it at a pinned commit into
``local_models/parakeet-v3.nemo`` (``PARAKEET_V3_NEMO``); its size and SHA-256 are taken from the Hub's metadata
at that first download and recorded beside it (:mod:`.pinned`), as the diarizer's are. Restored offline with
``ASRModel.restore_from`` and run exactly as v2 is: the same passes (``--parakeet-pass-seconds``), batches, names
and terms, word times and speakers.
"""

from __future__ import annotations

from ..settings import Settings
from .nemo_asr import nemo_asr_spec
from .parakeet import LOAD_PEAK_GPU_BYTES
from .pinned import PinnedFile
from .spec import register

LABEL = "Parakeet-TDT-0.6B-v3"
REPO = "nvidia/parakeet-tdt-0.6b-v3"
REVISION = "6d590f77001d318fb17a0b5bf7ee329a91b52598"
FILENAME = "parakeet-tdt-0.6b-v3.nemo"
LANGUAGE_CODES = ("bg", "hr", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "el", "hu", "it", "lv", "lt", "mt",
                  "pl", "pt", "ro", "ru", "sk", "sl", "es", "sv", "uk")
LANGUAGES = ("Bulgarian, Croatian, Czech, Danish, Dutch, English, Estonian, Finnish, French, German, Greek, "
             "Hungarian, Italian, Latvian, Lithuanian, Maltese, Polish, Portuguese, Romanian, Russian, Slovak, "
             "Slovenian, Spanish, Swedish, Ukrainian")

FILE = PinnedFile("parakeet_v3", "Parakeet v3", REPO, REVISION, FILENAME, "parakeet-v3.nemo", "PARAKEET_V3")


def _description(settings: Settings) -> str:
    return f"""**{LABEL}** (25 European languages, found by the model: {LANGUAGES}; punctuation, word
timestamps) is v2's architecture trained on many languages. It loads from `{FILE.path(settings)}` with
`ASRModel.restore_from`, fully offline, and needs what v2 needs (about 2 GB of GPU memory, 3 GB of RAM on the
CPU). Not part of the default setup: `python setup_local_models.py --with-parakeet-v3` downloads it (2.5 GB).
For English, v2 is slightly more accurate; for any other of these languages, use v3. Licence: CC-BY-4.0."""


SPEC = register(nemo_asr_spec(
    "parakeet-v3", LABEL, "25 European languages (found by the model), punctuation and word timestamps",
    FILE.path, setup=FILE.setup, check=FILE.check, setup_by_default=False, description=_description,
    languages=LANGUAGE_CODES,
    gpu_bytes=LOAD_PEAK_GPU_BYTES, live=True, word_confidence=True, options=FILE.options(),
    speed={"cuda": 500.0, "cpu": 7.0},  # v2's architecture and size: v2's figures until measured
    memory="about 3 GB of RAM on the CPU; on a GPU about 2 GB, its load included",
    advice={"gpu_oom": "Unload the other model or close other programs using the GPU; give Parakeet shorter "
                       "passes with --parakeet-pass-seconds (e.g. 120), or run on the CPU with --device cpu.",
            "model_file": "Run `python setup_local_models.py --with-parakeet-v3` to download it, or point "
                          "--parakeet-v3-nemo (PARAKEET_V3_NEMO) at the file."},
    notes=["Optional: `python setup_local_models.py --with-parakeet-v3`. Loaded with `ASRModel.restore_from` from "
           "a local `.nemo` file: never uses the network."]))
