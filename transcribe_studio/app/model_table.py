"""What the Models tab shows: where each model comes from, what is on disk, what is in memory."""

from __future__ import annotations

from ..formatting import size_text
from ..models import ModelCache
from .views import model_state

HEADERS = ["model", "loads from", "on disk", "state", "memory"]
COLUMN_WIDTHS = ["18%", "32%", "16%", "24%", "10%"]  # with wrapping, the table fits a 1000 px page


def rows(cache: ModelCache) -> list[list[str]]:
    """One row per model: model, loads from, on disk, state (or why it cannot load now), memory."""
    settings = cache.settings
    return [[row.spec.label, row.spec.source(settings), row.spec.on_disk(settings), model_state(row, cache),
             size_text(row.memory_bytes) if row.memory_bytes is not None else "-"]
            for row in cache.snapshot()]
