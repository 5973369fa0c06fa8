"""Canary-Qwen's files in the Hugging Face cache, pinned, and fetched at most once.

Canary-Qwen-2.5B is a SALM checkpoint (``config.json`` + ``model.safetensors``),
not a ``.nemo`` archive, so it lives in the standard Hugging Face cache. Two
things would otherwise make it unreliable offline:

* ``SALM.from_pretrained`` builds its tokenizer and LLM skeleton from
  ``Qwen/Qwen3-1.7B`` with no revision, i.e. Qwen's moving ``main``.
* Every load would ask the Hub whether ``main`` moved.

So we download a fixed list of files at fixed commits, then copy Qwen's
tokenizer files next to the Canary checkpoint and Qwen's ``config.json`` to
``llm_backbone/config.json``. NeMo's ``_inject_local_artifact_paths``
(``nemo/collections/speechlm2/parts/hf_hub.py``) points the tokenizer and the
LLM config at files found beside a checkpoint, so with that overlay in place
``SALM.from_pretrained(repo, revision=commit, local_files_only=True)`` reads
only pinned local files and never touches the network.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import NeedsNetworkError
from ..files import atomic_copy, make_dirs
from ..settings import Settings
from .downloads import download_into_hf_cache

log = logging.getLogger(__name__)

CANARY_FILES = ("config.json", "model.safetensors")
QWEN_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt")
QWEN_FILES = ("config.json",) + QWEN_TOKENIZER_FILES
LLM_BACKBONE_CONFIG = "llm_backbone/config.json"


@dataclass(frozen=True)
class PinnedFile:
    repo: str
    revision: str
    filename: str


def required_files(settings: Settings) -> list[PinnedFile]:
    return ([PinnedFile(settings.canary_repo, settings.canary_revision, f) for f in CANARY_FILES]
            + [PinnedFile(settings.qwen_repo, settings.qwen_revision, f) for f in QWEN_FILES])


def cached_path(settings: Settings, item: PinnedFile) -> Path | None:
    """The file's path in the cache, or None. Never uses the network."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(item.repo, item.filename, cache_dir=settings.hub_cache,
                                   revision=item.revision)
    return Path(found) if isinstance(found, str) and os.path.exists(found) else None


def missing_files(settings: Settings) -> list[PinnedFile]:
    return [item for item in required_files(settings) if cached_path(settings, item) is None]


def canary_snapshot(settings: Settings) -> Path:
    from huggingface_hub.file_download import repo_folder_name

    folder = repo_folder_name(repo_id=settings.canary_repo, repo_type="model")
    return settings.hub_cache / folder / "snapshots" / settings.canary_revision


def is_cached(settings: Settings) -> bool:
    """Every pinned file is cached: loading needs no network (the overlay is laid offline)."""
    return not missing_files(settings)


def download_missing(settings: Settings) -> list[PinnedFile]:
    """Fetch whatever pinned file is not cached yet; return what was fetched.

    Raises :class:`NeedsNetworkError` when something is missing and HF_HUB_OFFLINE is set.
    """
    missing = missing_files(settings)
    if missing and settings.offline:
        names = ", ".join(f"{m.repo}/{m.filename}@{m.revision[:8]}" for m in missing)
        raise NeedsNetworkError(
            f"Canary-Qwen is not fully in the local Hugging Face cache ({settings.hub_cache}); "
            f"missing: {names}. HF_HUB_OFFLINE is set, so nothing can be downloaded.")
    for item in missing:
        log.info("Downloading %s/%s at %s", item.repo, item.filename, item.revision)
        download_into_hf_cache(item.repo, item.filename, item.revision, settings.hub_cache)
    return missing


def install_overlay(settings: Settings) -> Path:
    """Copy the pinned Qwen tokenizer and config beside the Canary checkpoint; return the snapshot."""
    snapshot = canary_snapshot(settings)
    qwen = {item.filename: cached_path(settings, item) for item in required_files(settings)
            if item.repo == settings.qwen_repo}
    targets = {f: snapshot / f for f in QWEN_TOKENIZER_FILES}
    targets["config.json"] = snapshot / LLM_BACKBONE_CONFIG
    for name, target in targets.items():
        source = qwen[name]
        if source is None:
            raise NeedsNetworkError(f"{settings.qwen_repo}/{name} is not in the cache.")
        if target.is_file() and target.stat().st_size == source.stat().st_size:
            continue
        make_dirs(target.parent)
        # Copies, not symlinks: symlinks need Developer Mode on Windows. Atomic, so
        # an interrupted copy never looks complete and leaves no temporary file.
        atomic_copy(source, target)
    return snapshot


def ensure_canary_files(settings: Settings) -> Path:
    """Make loading possible with no network: download once if needed, then lay the overlay."""
    download_missing(settings)
    return install_overlay(settings)
