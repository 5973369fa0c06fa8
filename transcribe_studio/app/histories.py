"""Whose History a request sees: each login its own, unless the studio is started with one shared History.

Without logins (the default, 127.0.0.1 only) there is one History, ``<output dir>/history``. With
logins (``--listen``, ``--share``) each login gets its own, ``<output dir>/logins/<login>/history``:
people who share a workstation's studio see, edit, download and delete only their own transcripts,
and :class:`..guard.HistoryFiles` serves a file under History only to the login it belongs to.
``--shared-history`` gives every login the one History instead, for teams who want that.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from pathlib import Path
from typing import Callable

from ..outputs.history import HistoryStore

log = logging.getLogger(__name__)

SHARED_FOLDER = "history"
LOGINS_FOLDER = "logins"
_READABLE = re.compile(r"[^A-Za-z0-9._-]+")


def login_folder(login: str) -> str:
    """A folder name for ``login``: readable, and never the same for two logins, even on a file system
    that ignores case (Windows, macOS), since a short hash of the exact name follows it."""
    readable = _READABLE.sub("-", login).strip(".-")[:40] or "login"
    return f"{readable}-{hashlib.sha256(login.encode('utf-8')).hexdigest()[:10]}"


class Histories:
    """The History store of each login (or the one shared store), each made when first asked for."""

    def __init__(self, output_dir: Path, make_store: Callable[[Path], HistoryStore], shared: bool = False):
        self.output_dir, self.make_store, self.shared_by_all = Path(output_dir), make_store, shared
        self.shared = make_store(self.output_dir / SHARED_FOLDER)
        self._own: dict[str, HistoryStore] = {}
        self._lock = threading.Lock()

    def root_of(self, login: str) -> Path:
        return self.output_dir / LOGINS_FOLDER / login_folder(login) / "history"

    def for_login(self, login: str | None) -> HistoryStore:
        """The store ``login`` sees: its own (a login, History not shared), else the shared one."""
        if login is None or self.shared_by_all:
            return self.shared
        with self._lock:
            if login not in self._own:
                self._own[login] = self.make_store(self.root_of(login))
            return self._own[login]

    def roots(self) -> list[Path]:
        """Every folder a History may be in: the shared one and the logins' (for Gradio's allowed paths)."""
        return [self.shared.root, self.output_dir / LOGINS_FOLDER]

    def tidy(self) -> None:
        """Remove entries a crash left half-written, in every History there is; a failure must not stop the app."""
        logins = self.output_dir / LOGINS_FOLDER
        roots = [self.shared.root] + (sorted(logins.glob("*/history")) if logins.is_dir() else [])
        for root in roots:
            store = self.make_store(root)
            try:
                store.cleanup_incomplete()
            except OSError as exc:
                log.warning("Could not tidy the History folder %s: %s", store.root, exc)
