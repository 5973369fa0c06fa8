"""What an upload may hold, and what uploads leave behind.

Gradio limits each uploaded file (``--max-file-mb``, 413) and the files in one request (1000),
but not a request's total: one request of many files just under the limit each passes. So
:class:`UploadLimits` refuses an upload whose declared length is over ``--max-upload-mb`` before
it is read, and one that does not declare its length at all (411), as a browser always does.

Gradio writes each file first to a ``tmp*`` file at the top of the upload folder and renames it
once complete; an upload that is cut off, or that lied about its length, leaves that file, and
Gradio's hourly clean-up only looks into the folders it made. :func:`sweep` removes such
leftovers at the start and every ten minutes (:func:`keep_swept`).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse

log = logging.getLogger(__name__)

UPLOAD_ROUTES = ("/gradio_api/upload", "/upload")
# Gradio's screen-recording upload: the studio has no screen recorder, and the route keeps each upload in the
# shared system temp folder, unchecked
UNUSED_ROUTES = ("/gradio_api/process_recording", "/process_recording")
LEFTOVER_PREFIX = "tmp"  # Python's NamedTemporaryFile names, as Gradio's upload parser makes them
LEFTOVER_AGE_S = 600.0  # older than any upload still arriving (each write refreshes the file's time)
SWEEP_EVERY_S = 600.0  # a look at the top of one folder: cheap, so often


class UploadLimits:
    """ASGI middleware: an upload must declare its length, and only that (411: a chunked body's length is known
    only once it has arrived), at most ``max_bytes`` (413)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope.get("method") != "POST"
                or scope.get("path", "").rstrip("/") not in UPLOAD_ROUTES + UNUSED_ROUTES):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if scope.get("path", "").rstrip("/") in UNUSED_ROUTES:
            await PlainTextResponse("Not found.", status_code=404)(scope, receive, send)
        elif declared is None or not declared.isdigit() or "transfer-encoding" in headers:
            await PlainTextResponse("An upload must say how long it is (Content-Length).",
                                    status_code=411)(scope, receive, send)
        elif int(declared) > self.max_bytes:
            await PlainTextResponse(
                f"One upload may hold at most {self.max_bytes / 1e6:g} MB of files together (--max-upload-mb); "
                "drop fewer files at a time.", status_code=413)(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def sweep(folder: str | os.PathLike, older_than_s: float = LEFTOVER_AGE_S) -> list[str]:
    """Remove the partial upload files at the top of ``folder`` untouched for ``older_than_s``; their names.
    Only plain files named as the upload parser names them: never a link, a folder or anything else."""
    removed, now = [], time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        log.warning("Could not look for upload leftovers in %s: %s", folder, exc)
        return removed
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
            if (entry.name.startswith(LEFTOVER_PREFIX) and stat.S_ISREG(info.st_mode)
                    and now - info.st_mtime >= older_than_s):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError as exc:  # gone meanwhile, or not ours to remove: the next sweep sees it again
            log.debug("Upload leftover %s not removed: %s", entry.path, exc)
    return removed


_swept: set[str] = set()
_swept_lock = threading.Lock()


def keep_swept(folder: Path, every_s: float = SWEEP_EVERY_S) -> None:
    """Sweep ``folder`` now and every ``every_s`` seconds, on a daemon thread (one per folder, however many
    apps this process serves)."""
    with _swept_lock:
        if str(folder) in _swept:
            sweep(folder)
            return
        _swept.add(str(folder))

    def run():
        while True:
            sweep(folder)
            time.sleep(every_s)

    threading.Thread(target=run, name="upload-sweeper", daemon=True).start()
