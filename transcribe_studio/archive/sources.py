"""An archive's input files: from files, folders and lists of them, each with the key the manifest knows it by
and the name its outputs take in the destination.

A folder's files keep their place below it (``interviews/2004/tape1.wav`` -> ``interviews/2004/tape1.txt``), so
an archive's tree survives and files of the same name in different folders never meet. Where two would still
share outputs (``talk.mp3`` and ``talk.wav`` side by side, two folders of the same name), the later in the
listing's order takes ``-2``, as the batch command does; the order, and so the names, are the same on every run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

from pyarrow import fs as pafs

from ..media import MEDIA_EXTENSIONS
from ..outputs.writers import safe_stem
from ..transcription.batch import collect_inputs
from .places import Place, place

LIST_EXTENSIONS = (".txt", ".lst", ".list")
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


@dataclass(frozen=True)
class SourceFile:
    """One input: where it is, what it was when listed (a file changed since is a new file) and its outputs' name
    (a path in the destination without the extension)."""
    location: str
    size: int
    mtime_ns: int
    output: str

    @property
    def key(self) -> str:
        """The manifest's name for it: from its location, size and modification time."""
        return hashlib.sha256(f"{self.location}\0{self.size}\0{self.mtime_ns}".encode()).hexdigest()[:24]

    @property
    def name(self) -> str:
        return PurePosixPath(self.location.replace("\\", "/")).name

    def to_row(self) -> dict:
        return {**asdict(self), "key": self.key}

    @classmethod
    def from_row(cls, row: dict) -> "SourceFile":
        return cls(str(row["location"]), int(row["size"]), int(row["mtime_ns"]), str(row["output"]))


def list_sources(inputs: Iterable[str]) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    """Every media file the inputs name, once, and what was left out with why (``(location, reason)``)."""
    found: dict[str, SourceFile] = {}
    skipped: list[tuple[str, str]] = []
    taken: dict[str, int] = {}
    for location, below in _expanded(inputs, skipped):
        where = place(location)
        info = where.info()
        if info.type != pafs.FileType.File:
            skipped.append((location, "does not exist or is not a file"))
            continue
        if where.name in found:
            continue
        output = _unique(f"{below}{safe_stem(where.path)}", taken)
        found[where.name] = SourceFile(where.name, info.size or 0, info.mtime_ns or 0, output)
    return list(found.values()), skipped


def _expanded(inputs: Iterable[str], skipped: list, lists: frozenset[str] = frozenset()) -> Iterable[tuple[str, str]]:
    """(location, the output folder below the destination) for each file named or found; ``lists``: the lists
    being read (one that names itself, or an earlier one, is read once)."""
    for raw in inputs:
        raw = str(raw)
        where = place(raw)
        kind = where.info().type
        if kind == pafs.FileType.Directory:
            yield from _folder(where, skipped)
        elif kind == pafs.FileType.File and Path(where.path).suffix.lower() in LIST_EXTENSIONS:
            if where.path in lists:
                skipped.append((raw, "a list that names itself (read once)"))
                continue
            yield from _listed(where, skipped, lists | {where.path})
        else:
            yield raw, ""


def _folder(folder: Place, skipped: list) -> Iterable[tuple[str, str]]:
    """A folder's media files, each under the folder's own name in the destination."""
    top = _safe_folder(PurePosixPath(folder.path.rstrip("/")).name or "files")
    if folder.on_disk:  # links that loop or lead out, unreadable entries: left out with the reason
        local: list = []
        paths = collect_inputs([folder.path], local)
        skipped += [(str(path), reason) for path, reason in local]
        for path in paths:
            relative = PurePosixPath(Path(path).relative_to(folder.path).as_posix())
            yield str(path), f"{top}/{_folder_part(relative)}"
        return
    for info in folder.files():
        if PurePosixPath(info.path).suffix.lower() in MEDIA_EXTENSIONS:
            relative = PurePosixPath(info.path).relative_to(folder.path.rstrip("/"))
            yield folder.child(str(relative)).name, f"{top}/{_folder_part(relative)}"


def _folder_part(relative: PurePosixPath) -> str:
    """The folders between a folder given and its file, each a safe name: an object's key may hold ``..`` or
    characters a filesystem refuses, and its outputs must stay inside the destination."""
    return "".join(f"{_safe_folder(part)}/" for part in relative.parent.parts)


def _safe_folder(part: str) -> str:
    return _UNSAFE.sub("_", part).strip(" .") or "_"


def _listed(listing: Place, skipped: list, lists: frozenset[str]) -> Iterable[tuple[str, str]]:
    """The files and folders a text file names, one a line (blank lines and ``#`` comments ignored)."""
    try:
        lines = listing.read_bytes().decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        skipped.append((listing.name, f"a list that cannot be read ({exc})"))
        return
    entries = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    here = PurePosixPath(listing.name).parent
    yield from _expanded([entry if "://" in entry or Path(entry).is_absolute() else str(here / entry)
                          for entry in entries], skipped, lists)


def _unique(output: str, taken: dict[str, int]) -> str:
    """``output``, or ``output-2``, ``-3``... when an earlier file took it (case-insensitively, as Windows does)."""
    taken[output.lower()] = taken.get(output.lower(), 0) + 1
    return output if taken[output.lower()] == 1 else f"{output}-{taken[output.lower()]}"
