"""Logging: full tracebacks to a file, one readable line per event on the console.

Users see the classified message (see :mod:`.classify`); whoever debugs reads the
log file, which keeps the traceback.

The console (stderr) shows only this package's own warnings and errors, and not
the records marked :data:`classify.FILE_ONLY` (their message is shown by the caller,
so it would appear twice). Everything else (NeMo, Lightning, transformers,
lhotse, Python warnings) goes to the log file only: NeMo alone logs "Timestamps
requested..." dozens of times per file, and on stdout, where the CLI's
transcripts go. Console lines are written through ``tqdm.write`` so they do not
break a progress bar. ``--verbose`` shows everything on the console.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

from .classify import FILE_ONLY
from .files import make_dirs, open_private_append
from .settings import PROJECT_ROOT

DEFAULT_LOG_FILE = PROJECT_ROOT / "logs" / "transcribe_studio.log"
OWN_LOGGER = __name__.split(".")[0]  # "transcribe_studio"


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """Log files hold file names and transcripts' errors: readable by the user only (see :mod:`.files`)."""

    def _open(self):
        return open_private_append(self.baseFilename, self.encoding or "utf-8")


class _NoTraceback(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage() if record.levelno < logging.WARNING else f"{record.levelname}: {record.getMessage()}"


class _AboveProgressBars(logging.StreamHandler):
    """Writes each line through ``tqdm.write``, which moves any progress bar below it instead of cutting it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm.auto import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def _for_the_console(record: logging.LogRecord) -> bool:
    own = record.name == OWN_LOGGER or record.name.startswith(OWN_LOGGER + ".")
    return own and not any(getattr(record, key, False) for key in FILE_ONLY)


def setup_logging(verbose: bool = False) -> Path | None:
    """Configure the root logger once; return the log file (None if it cannot be written)."""
    root = logging.getLogger()
    if getattr(root, "_studio_configured", False):
        return getattr(root, "_studio_log_file", None)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    console = _AboveProgressBars()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(_NoTraceback())
    if not verbose:
        console.addFilter(_for_the_console)
    root.addHandler(console)
    logging.captureWarnings(True)  # Python warnings to the "py.warnings" logger: the log file, not the console
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


def route_library_logging() -> None:
    """Send NeMo's and its libraries' own console output to our log file instead.

    NeMo's ``nemo_logger`` has its own handlers (INFO to stdout, warnings to stderr) and does not
    propagate; transformers, Lightning and torchmetrics add stderr handlers of their own. They are
    set up when NeMo is first imported, so this imports NeMo's logging first (a few seconds, which the
    model load that follows would spend anyway), then takes every console handler off a library logger
    and lets its records reach the root logger, whose filter keeps them in the log file.
    """
    import nemo.utils  # noqa: F401 - creates nemo_logger and imports transformers and lightning

    streams = {sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__}
    for logger in list(logging.root.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger) or logger.name.startswith(OWN_LOGGER):
            continue
        consoles = [h for h in logger.handlers
                    if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) in streams]
        for handler in consoles:
            logger.removeHandler(handler)
        if consoles:
            logger.propagate = True  # NeMo's warnings.showwarning logs to nemo_logger: routed with it
