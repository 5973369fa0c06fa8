"""Every file and folder the app creates goes through here: written whole or not at all.

* :func:`atomic_write_text`, :func:`atomic_write_bytes`, :func:`atomic_write_with` and
  :func:`atomic_copy` write to a hidden temporary
  file beside the target (``.<name>.<random>.tmp``, so it is on the same
  filesystem and a listing that skips hidden names never shows it), flush it to
  disk, then swap it in with one ``os.replace``. A reader (a player, the History
  listing, a crash) sees the old file or the new one, never half of one.
* On any failure, a full disk or an interrupt included, the temporary file is
  removed before the error goes on: no ``*.tmp`` or ``*.part`` is ever left.
* Files are created with :data:`FILE_MODE` (0600) and folders with
  :data:`DIR_MODE` (0700), so on POSIX transcripts, audio copies, History and
  logs are readable by their user only (the umask can narrow this, not widen
  it). Windows ignores these modes; its per-user profile folders do that job.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO, Callable

FILE_MODE = 0o600
DIR_MODE = 0o700
_COPY_CHUNK = 1024 * 1024


def make_dirs(path: str | os.PathLike) -> Path:
    """The folder and its parents, created if missing (all with :data:`DIR_MODE`: ``mkdir(parents=True)``
    would give the parents the umask's default instead)."""
    path = Path(path)
    missing = list(itertools.takewhile(lambda folder: not folder.is_dir(), (path, *path.parents)))
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
    return path


def make_private_dir(path: str | os.PathLike) -> Path:
    """A folder the app owns outright (its upload temp folder): created if missing, and made private even
    if it already existed. Never call this on a folder the user chose: it changes who may read it."""
    path = make_dirs(path)
    os.chmod(path, DIR_MODE)
    return path


def open_private_append(path: str | os.PathLike, encoding: str = "utf-8"):
    """``path`` opened for appending text, created with :data:`FILE_MODE` if missing (log files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), FILE_MODE)
    return open(fd, "a", encoding=encoding)


def check_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if missing and prove a file can be written there; raises OSError if not."""
    folder = make_dirs(folder)
    probe = folder / f".write-check.{secrets.token_hex(4)}.tmp"
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    probe.unlink()
    return folder


def make_new_dir(path: str | os.PathLike) -> Path:
    """A new folder; raises FileExistsError if the name is taken (parents must exist)."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` (newlines as given, on every OS), atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (a DOCX, or any binary file)."""
    return _atomic(Path(path), lambda out: out.write(data))


def atomic_write_with(path: str | os.PathLike, fill: Callable[[BinaryIO], object]) -> Path:
    """Let ``fill`` write ``path`` through a seekable binary file, atomically (a zip too big to build in memory)."""
    return _atomic(Path(path), fill)


def atomic_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy the bytes of ``src`` to ``dst``, atomically (``dst``'s folder must exist)."""
    def copy(out):
        with open(src, "rb") as source:
            shutil.copyfileobj(source, out, _COPY_CHUNK)
    return _atomic(Path(dst), copy)


def _atomic(path: Path, fill) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never write through a file or link someone else put there; O_BINARY keeps
    # Windows from turning "\n" into "\r\n".
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
    try:
        with open(fd, "wb") as out:
            fill(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
