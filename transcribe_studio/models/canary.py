"""Canary-Qwen-2.5B: NVIDIA's most accurate English model, a SALM speech-LLM.

A Hugging Face-style checkpoint (``config.json`` + ``model.safetensors``), not a
``.nemo`` file, loaded with ``SALM.from_pretrained(repo, revision=<commit>)``
after :mod:`.hub_cache` has made every pinned file local. Never
``ASRModel.from_pretrained``: for a repo without a ``.nemo`` file NeMo deletes
its cache folder and downloads again on every call (``nemo/core/classes/common.py``).

It was trained on audio of at most 40 s, so it gets windows of at most 40 s,
several per ``generate`` call (``--batch-size``). Where speech runs past 40 s
without a pause, windows overlap, and the transcription above merges their texts.
"""

from __future__ import annotations

import numpy as np

from ..media.decode import SAMPLE_RATE
from ..settings import SETUP_COMMAND, Settings
from . import gpu, hub_cache
from .canary_llm import LANGUAGE_MODEL
from .pinned import revision_option
from .spec import Heard, ModelOption, ModelSpec, register, windows_in_batches

LABEL = "Canary-Qwen-2.5B"
# The commit public projects pin with NeMo 3.0.0. Canary-Qwen ships no .nemo file:
# it is a Hugging Face-style SALM checkpoint (config.json + model.safetensors).
REPO = "nvidia/canary-qwen-2.5b"
REVISION = "b1469e1bba1cfe140205529c79c434ca47180960"
# SALM builds its tokenizer and LLM skeleton from Qwen/Qwen3-1.7B and, left alone,
# asks the Hub for Qwen's `main`. We pin it so Qwen's `main` moving never changes us.
QWEN_REPO = "Qwen/Qwen3-1.7B"
QWEN_REVISION = "70d244cc86ccca08cf5af4e1e306ecf908b1ad5e"
# 40 s of fast speech is ~150 words, ~200 tokens; leave headroom, but bound it.
MAX_NEW_TOKENS = 320
PROMPT = "Transcribe the following: {tag}"
# Its training limit (model card, "Input length"): it silently drops what lies beyond.
MAX_WINDOW_SECONDS = 40.0
# 2.5 B parameters in bf16 are ~5.1 GB (model card), plus working room; in fp32 twice the weights.
GPU_BYTES = 8_000_000_000
FP32_GPU_BYTES = 13_000_000_000


def load(settings: Settings, device):
    """The SALM at the pinned commit, offline; on a GPU each weight goes from the file straight to the card."""
    hub_cache.ensure_canary_files(settings)
    import torch

    from .fast_load import from_pretrained_salm

    precision, why = gpu.choose_precision(device)
    if device.type == "cuda" and precision == "fp32":
        gpu.require_fit(FP32_GPU_BYTES, gpu.budget_bytes(settings, device), f"{LABEL} in fp32 ({why})")
    # bf16 on a GPU that has it, as NeMo's salm_generate.py; fp32 elsewhere.
    dtype = torch.bfloat16 if precision == "bf16" else None
    # local_files_only: every file is local now, and the overlay pins Qwen.
    model = from_pretrained_salm(settings.canary_repo, revision=settings.canary_revision,
                                 cache_dir=str(settings.hub_cache), local_files_only=True, dtype=dtype,
                                 device=device)
    model.eval()
    if dtype is not None:
        model = model.to(dtype)  # the buffers the checkpoint does not hold
    model = model.to(device)
    model.studio_precision = f"{precision} ({why})"
    return model


def transcribe_batch(model, pieces: list[np.ndarray], settings: Settings) -> list[Heard]:
    """Each piece's text from one ``generate`` call (the batched path for many files)."""
    return [Heard(0.0, len(piece) / SAMPLE_RATE, text) for piece, text in zip(pieces, _generate(model, pieces))]


def _generate(model, pieces: list[np.ndarray]) -> list[str]:
    import torch

    prompt = [{"role": "user", "content": PROMPT.format(tag=model.audio_locator_tag)}]
    audios = torch.zeros(len(pieces), max(len(piece) for piece in pieces), dtype=torch.float32)
    for row, piece in enumerate(pieces):
        audios[row, : len(piece)] = torch.from_numpy(piece)
    lens = torch.tensor([len(piece) for piece in pieces], dtype=torch.int64)
    with torch.inference_mode():
        ids = model.generate(prompts=[prompt] * len(pieces), audios=audios.to(model.device),
                             audio_lens=lens.to(model.device), max_new_tokens=MAX_NEW_TOKENS)
    return [model.tokenizer.ids_to_text(row.cpu()).strip() for row in ids]


# Windows of at most 40 s, --batch-size at a time, each yielded as heard on the recording's clock.
transcribe = windows_in_batches(transcribe_batch)


def _source(settings: Settings) -> str:
    # Short, for the Models tab's column; the tokenizer's repository and commit are in the provenance.
    return f"{settings.canary_repo} @ {settings.canary_revision[:12]} (Hugging Face cache)"


def _on_disk(settings: Settings) -> str:
    from ..formatting import size_text

    paths = [hub_cache.cached_path(settings, item) for item in hub_cache.required_files(settings)]
    missing = sum(p is None for p in paths)
    if not missing:
        return f"cached, {size_text(sum(p.stat().st_size for p in paths))}"
    return f"not cached ({missing} of {len(paths)} files missing; the first load downloads them)"


def _why_unavailable(settings: Settings) -> str | None:
    """Not cached and offline: its first load would need the network it may not use."""
    if not settings.offline:
        return None  # a missing file is downloaded by the first load
    missing = len(hub_cache.missing_files(settings))
    if not missing:
        return None
    return (f"not in the local cache ({missing} file(s) missing) and offline (HF_HUB_OFFLINE is set); "
            f"run `{SETUP_COMMAND}` once with a network connection")


def _provenance(settings: Settings) -> dict:
    return {"repo": settings.canary_repo, "revision": settings.canary_revision,
            "qwen_repo": settings.qwen_repo, "qwen_revision": settings.qwen_revision}


def _pinned(settings: Settings) -> str:
    return (f"{settings.canary_repo}@{settings.canary_revision[:12]} + "
            f"{settings.qwen_repo}@{settings.qwen_revision[:12]}")


def _setup(settings: Settings) -> str:
    from .downloads import file_metadata
    from .pinned import ensure_free_space

    missing = hub_cache.missing_files(settings)
    if missing and not settings.offline:
        needed = sum(file_metadata(m.repo, m.filename, m.revision).size or 0 for m in missing)
        ensure_free_space(settings.hub_cache, needed, LABEL)
        print(f"Downloading {len(missing)} {LABEL} file(s) into {settings.hub_cache} ...")
    hub_cache.ensure_canary_files(settings)
    return f"OK, {_pinned(settings)} is cached in {settings.hub_cache}; it loads offline."


def _check(settings: Settings) -> str:
    from ..errors import NeedsNetworkError

    missing = hub_cache.missing_files(settings)
    if missing:
        names = ", ".join(f"{m.repo}/{m.filename}" for m in missing)
        raise NeedsNetworkError(f"{_pinned(settings)} is not fully cached in {settings.hub_cache} "
                                f"(missing: {names}).",
                                next_steps=f"Run `{SETUP_COMMAND}` once with a network connection.")
    return f"OK, {_pinned(settings)} is cached in {settings.hub_cache}; it loads offline."


def _startup_line(settings: Settings) -> str:
    where = f"{LABEL}: {settings.canary_repo} at commit {settings.canary_revision}"
    if hub_cache.is_cached(settings):
        return f"{where}, cached in {settings.hub_cache}: loads offline."
    if settings.offline:
        return (f"{where}: NOT cached and HF_HUB_OFFLINE is set, so Canary is unavailable until you run "
                f"`{SETUP_COMMAND}` once with a network connection.")
    return (f"{where}: not cached yet; its first load downloads about 5.1 GB once into {settings.hub_cache} "
            f"(or run `{SETUP_COMMAND}` now).")


def _description(settings: Settings) -> str:
    return f"""**{LABEL}** (English, highest accuracy; a speech encoder feeding the Qwen3-1.7B language
model) loads with `SALM.from_pretrained` from the Hugging Face cache, repository
`{settings.canary_repo}` at the pinned commit `{settings.canary_revision}`. The first run downloads
about 5 GB; later runs use the cache with no download. It stays in memory after the first load.
Long recordings are transcribed in windows of at most {MAX_WINDOW_SECONDS:g} seconds, the longest audio it was
trained on.

*Why Canary-Qwen is not a `.nemo` file like Parakeet:* it is a SALM (Speech-Augmented Language
Model), published as a Hugging Face-style checkpoint (`config.json` + `model.safetensors`, with its
tokenizer and LLM configuration taken from Qwen3-1.7B). A `.nemo` archive is the packaging of NeMo's
`ModelPT` classes (`save_to` / `restore_from`); SALM is not a `ModelPT`, so it has no `.nemo` form
and is loaded from the Hugging Face cache instead, pinned to a fixed commit so nothing changes or
re-downloads behind your back."""


def _window_in_training_limit(value: float) -> None:
    from ..errors import ConfigurationError

    if not 1.0 <= value <= MAX_WINDOW_SECONDS:
        raise ConfigurationError(f"CANARY_WINDOW_SECONDS must be between 1 and {MAX_WINDOW_SECONDS:g}, not {value:g}: "
                                 f"{LABEL} was trained on audio of at most {MAX_WINDOW_SECONDS:g} s and drops what "
                                 "lies beyond.")


OPTIONS = (
    ModelOption("canary_repo", REPO, "CANARY_REPO", "--canary-repo", f"{LABEL} Hub repository", setup=True),
    revision_option("canary_revision", REVISION, "CANARY_REVISION", "--canary-revision", "Canary"),
    ModelOption("qwen_repo", QWEN_REPO, "QWEN_REPO", "--qwen-repo", "repository of Canary's tokenizer and LLM config",
                setup=True),
    revision_option("qwen_revision", QWEN_REVISION, "QWEN_REVISION", "--qwen-revision", "Qwen"),
    ModelOption("canary_window_seconds", MAX_WINDOW_SECONDS, "CANARY_WINDOW_SECONDS", "--canary-window-seconds",
                f"longest window {LABEL} gets ({MAX_WINDOW_SECONDS:g} s at most: its training limit)",
                check=_window_in_training_limit),
)

SPEC = register(ModelSpec(
    key="canary", label=LABEL, summary="most accurate, English, a speech-LLM; slower",
    load=load, transcribe=transcribe, transcribe_batch=transcribe_batch,
    batch_items=lambda settings, model, longest_seconds: settings.batch_size,
    window_seconds=lambda settings, model: settings.canary_window_seconds,
    source=_source, on_disk=_on_disk, provenance=_provenance, gpu_bytes=GPU_BYTES,
    setup=_setup, check=_check, startup_line=_startup_line, description=_description,
    word_timings_from="parakeet", why_unavailable=_why_unavailable, options=OPTIONS,
    language_model=LANGUAGE_MODEL,
    speed={"cuda": 10.0, "cpu": 1.0},  # audio seconds a second: docs/PERFORMANCE.md
    memory="about 6 GB of GPU memory (under 1 GB of system RAM on its way to the card); about 11 GB of RAM on "
           "the CPU; in fp32 (cards older than RTX 30xx) about 13 GB of GPU memory",
    advice={"ram_oom": f"Close other programs and try again: loading on the CPU, {LABEL} needs about 11 GB of "
                       "free RAM (onto a GPU, under 1 GB).",
            "revision_not_found": "Check the commits (CANARY_REVISION / QWEN_REVISION, or --canary-revision / "
                                  "--qwen-revision); unset them to use the tested defaults.",
            "disk": "Free some disk space or choose a writable location for the Hugging Face cache (HF_HOME / "
                    "HF_HUB_CACHE), then try again."},
    notes=["Loaded with `SALM.from_pretrained` from the Hugging Face cache at a pinned commit: "
           "the network is needed once, then never again."]))
