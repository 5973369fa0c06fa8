"""Logging: full tracebacks to a file, one readable line per event on the console.

Users see the classified message (see :mod:`errors`); whoever debugs reads the
log file, which keeps the traceback.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from .files import make_dirs, open_private_append
from .settings import PROJECT_ROOT

DEFAULT_LOG_FILE = PROJECT_ROOT / "logs" / "transcribe_studio.log"


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """Log files hold file names and transcripts' errors: readable by the user only (see :mod:`.files`)."""

    def _open(self):
        return open_private_append(self.baseFilename, self.encoding or "utf-8")


class _NoTraceback(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage() if record.levelno < logging.WARNING else f"{record.levelname}: {record.getMessage()}"


def setup_logging(verbose: bool = False) -> Path | None:
    """Configure the root logger once; return the log file (None if it cannot be written)."""
    root = logging.getLogger()
    if getattr(root, "_studio_configured", False):
        return getattr(root, "_studio_log_file", None)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(_NoTraceback())
    root.addHandler(console)
    log_file: Path | None = Path(os.environ.get("STUDIO_LOG_FILE", DEFAULT_LOG_FILE))
    try:
        make_dirs(log_file.parent)
        handler = _PrivateRotatingFile(log_file, maxBytes=5_000_000, backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    except OSError:
        log_file = None  # a read-only install still runs; tracebacks are then lost, not shown
    root._studio_configured = True
    root._studio_log_file = log_file
    return log_file
