"""What the Models tab shows: where each model comes from, what is on disk, what is in memory."""

from __future__ import annotations

from ..formatting import size_text
from ..models import ModelCache

HEADERS = ["model", "loads from", "on disk", "state", "memory"]


def rows(cache: ModelCache) -> list[list[str]]:
    """One row per model: model, loads from, on disk, state, memory."""
    settings = cache.settings
    return [[row.spec.label, row.spec.source(settings), row.spec.on_disk(settings), row.status.describe(),
             size_text(row.memory_bytes) if row.memory_bytes is not None else "-"]
            for row in cache.snapshot()]
