"""Startup validation: what must hold before the app serves, and what to tell the user.

Only the models whose spec says so must be present before the app starts (the
Parakeet file: it is local by design). Canary-Qwen lives in the Hugging Face
cache and may legitimately not be there yet (its first load downloads it), so
its spec only says where it will come from.
"""

from __future__ import annotations

from ..models import all_specs
from ..settings import Settings


def validate(settings: Settings) -> list[str]:
    """Raise a StudioError if a model the app needs is missing; else return lines describing the models.

    ``settings`` are already valid: :func:`..entry.start` validates them, once, for every command.
    """
    for spec in all_specs():
        if spec.required_at_startup is not None:
            spec.required_at_startup(settings)
    return [spec.describe_at_startup(settings) for spec in all_specs()]
