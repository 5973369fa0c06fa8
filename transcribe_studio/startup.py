"""Startup validation: what must hold before the app serves, and what to tell the user.

Only the Parakeet file is required: it is local by design. Canary-Qwen lives in
the Hugging Face cache and may legitimately not be there yet (its first load
downloads it), so we only report where it will come from.
"""

from __future__ import annotations

from . import hub_cache
from .models import check_nemo_file
from .settings import SETUP_COMMAND, Settings


def validate(settings: Settings) -> list[str]:
    """Raise a StudioError if the app cannot start; else return lines describing the models."""
    settings.validate()
    check_nemo_file(settings.parakeet_path)
    return [f"Parakeet-TDT-0.6B-v2: {settings.parakeet_path} (found)", canary_source(settings)]


def canary_source(settings: Settings) -> str:
    where = f"Canary-Qwen-2.5B: {settings.canary_repo} at commit {settings.canary_revision}"
    if hub_cache.is_cached(settings):
        return f"{where}, cached in {settings.hub_cache}: loads offline."
    if settings.offline:
        return (f"{where}: NOT cached and HF_HUB_OFFLINE is set, so Canary is unavailable until you run "
                f"`{SETUP_COMMAND}` once with a network connection.")
    return (f"{where}: not cached yet; its first load downloads about 5.1 GB once into {settings.hub_cache} "
            f"(or run `{SETUP_COMMAND}` now).")
