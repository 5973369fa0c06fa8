"""Canary-Qwen-2.5B: NVIDIA's most accurate English model, a SALM speech-LLM.

A Hugging Face-style checkpoint (``config.json`` + ``model.safetensors``), not a
``.nemo`` file, loaded with ``SALM.from_pretrained(repo, revision=<commit>)``
after :mod:`.hub_cache` has made every pinned file local. Never
``ASRModel.from_pretrained``: for a repo without a ``.nemo`` file NeMo deletes
its cache folder and downloads again on every call (``nemo/core/classes/common.py``).

It was trained on audio of at most 40 s, so it gets windows of at most 40 s,
several per ``generate`` call (``--batch-size``). Where speech runs past 40 s
without a pause, windows overlap and their texts are merged (:mod:`..merge`).
"""

from __future__ import annotations

import numpy as np

from ..media.decode import SAMPLE_RATE
from ..merge import merge_text
from ..progress import Progress, show_partial
from ..settings import SETUP_COMMAND, Settings
from ..transcript import Segment, Transcript
from . import gpu, hub_cache
from .spec import ModelSpec, register

LABEL = "Canary-Qwen-2.5B"
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


def transcribe(model, audio: np.ndarray, spans: list[tuple[int, int]], settings: Settings,
               progress: Progress) -> Transcript:
    """``generate`` on batches of windows; one segment per window, overlapping windows' texts merged."""
    heard: list[tuple[int, int, str]] = []
    size = settings.batch_size
    for first in range(0, len(spans), size):
        batch = spans[first:first + size]
        heard += [(start, end, text) for (start, end), text in zip(batch, _generate(model, audio, batch))]
        done = min(first + size, len(spans))
        show_partial(" ".join(s.text for s in _segments(heard) if s.text))
        progress(done / len(spans), f"window {done} of {len(spans)}")
    segments = [s for s in _segments(heard) if s.text]
    return Transcript(text=" ".join(s.text for s in segments), segments=segments, duration=len(audio) / SAMPLE_RATE)


def _segments(heard: list[tuple[int, int, str]]) -> list[Segment]:
    """One segment per window; where a window overlaps the one before (a hard cut), the two texts
    are merged (:func:`..merge.merge_text`) and the segments meet in the middle of the overlap."""
    segments: list[Segment] = []
    for start, end, text in heard:
        begin, finish = start / SAMPLE_RATE, end / SAMPLE_RATE
        if segments and begin < segments[-1].end:
            before = segments[-1]
            kept_before, text = merge_text(before.text, text, (before.start, before.end), (begin, finish))
            middle = (begin + before.end) / 2
            segments[-1] = Segment(before.start, middle, kept_before)
            begin = middle
        segments.append(Segment(begin, finish, text))
    return segments


def _generate(model, audio: np.ndarray, batch: list[tuple[int, int]]) -> list[str]:
    import torch

    prompt = [{"role": "user", "content": PROMPT.format(tag=model.audio_locator_tag)}]
    audios = torch.zeros(len(batch), max(end - start for start, end in batch), dtype=torch.float32)
    for row, (start, end) in enumerate(batch):
        audios[row, : end - start] = torch.from_numpy(audio[start:end])
    lens = torch.tensor([end - start for start, end in batch], dtype=torch.int64)
    with torch.inference_mode():
        ids = model.generate(prompts=[prompt] * len(batch), audios=audios.to(model.device),
                             audio_lens=lens.to(model.device), max_new_tokens=MAX_NEW_TOKENS)
    return [model.tokenizer.ids_to_text(row.cpu()).strip() for row in ids]


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
    from .setup import download_canary

    download_canary(settings, hub_cache.missing_files(settings))
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


SPEC = register(ModelSpec(
    key="canary", label=LABEL, summary="most accurate, English, a speech-LLM; slower",
    load=load, transcribe=transcribe,
    window_seconds=lambda settings, model: settings.canary_window_seconds,
    source=_source, on_disk=_on_disk, provenance=_provenance, gpu_bytes=GPU_BYTES,
    setup=_setup, check=_check, startup_line=_startup_line, description=_description,
    word_timings_from="parakeet", why_unavailable=_why_unavailable,
    notes=["Loaded with `SALM.from_pretrained` from the Hugging Face cache at a pinned commit: "
           "the network is needed once, then never again."]))
