"""What the Models tab shows: where each model comes from, what is on disk, what is in memory."""

from __future__ import annotations

from . import hub_cache
from .models import CANARY, LABELS, PARAKEET, ModelCache
from .settings import Settings


def size_text(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def source(settings: Settings, name: str) -> str:
    if name == PARAKEET:
        return f"file {settings.parakeet_path}"
    return (f"{settings.canary_repo} @ {settings.canary_revision[:12]} (Hugging Face cache; tokenizer "
            f"{settings.qwen_repo} @ {settings.qwen_revision[:12]})")


def on_disk(settings: Settings, name: str) -> str:
    if name == PARAKEET:
        path = settings.parakeet_path
        return f"present, {size_text(path.stat().st_size)}" if path.is_file() else "missing"
    paths = [hub_cache.cached_path(settings, item) for item in hub_cache.required_files(settings)]
    total = sum(p.stat().st_size for p in paths if p is not None)
    missing = sum(p is None for p in paths)
    if not missing:
        return f"cached, {size_text(total)}"
    return f"not cached ({missing} of {len(paths)} files missing; the first load downloads them)"


def memory_bytes(model) -> int:
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def rows(cache: ModelCache) -> list[list[str]]:
    """One row per model: model, loads from, on disk, state, memory."""
    table = []
    for name in (PARAKEET, CANARY):
        model = cache._entries[name].model
        memory = size_text(memory_bytes(model)) if model is not None else "-"
        table.append([LABELS[name], source(cache.settings, name), on_disk(cache.settings, name),
                      cache.status(name).describe(), memory])
    return table
