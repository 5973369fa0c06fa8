"""Archives beyond one machine: the batch engine on Ray Data, resumable through a manifest in the destination.

``python -m transcribe_studio.archive SOURCE... --output-dir DEST`` (:mod:`..commands.archive`). Needs Ray
(``requirements-archive.txt``); importing this package does not.
"""

from .manifest import Manifest, Row
from .sources import SourceFile, list_sources

__all__ = ["ArchiveOptions", "Manifest", "Row", "SourceFile", "list_sources", "run_archive"]


def __getattr__(name: str):
    # run_archive and ArchiveOptions live beside the Ray pipeline: imported when asked for
    if name in ("run_archive", "ArchiveOptions"):
        from . import run

        return getattr(run, name)
    raise AttributeError(name)
