"""Where an archive's files are, read and written through pyarrow's filesystems (the ones Ray Data reads with):
a local or shared-filesystem path, or an object-store URI (``s3://bucket/folder``, ``gs://...``).

An object store has no rename and no append, so a file there is written in one put, whole or not at all;
a file on a filesystem is written beside its place and renamed into it (:mod:`..files`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from pyarrow import fs as pafs

from ..files import atomic_write_bytes, make_dirs


@dataclass(frozen=True)
class Place:
    """A file or folder: its filesystem, its path inside it, and how a person names it."""
    filesystem: pafs.FileSystem
    path: str
    name: str

    @property
    def on_disk(self) -> bool:
        """A path of this machine's (or a shared) filesystem, rather than an object in a store."""
        return isinstance(self.filesystem, pafs.LocalFileSystem)

    def child(self, relative: str) -> "Place":
        joined = f"{self.path.rstrip('/')}/{relative}"
        return Place(self.filesystem, joined, f"{self.name.rstrip('/')}/{relative}")

    def info(self) -> pafs.FileInfo:
        return self.filesystem.get_file_info(self.path)

    def read_bytes(self) -> bytes:
        with self.filesystem.open_input_stream(self.path) as stream:
            return stream.read()

    def write_bytes(self, data: bytes) -> None:
        """Whole or not at all: renamed into place on a filesystem, one put in an object store."""
        if self.on_disk:
            make_dirs(Path(self.path).parent)
            atomic_write_bytes(self.path, data)
            return
        with self.filesystem.open_output_stream(self.path) as stream:
            stream.write(data)

    def delete(self) -> None:
        self.filesystem.delete_file(self.path)

    def files(self) -> Iterator[pafs.FileInfo]:
        """Every file under this folder, at any depth, in name order."""
        selector = pafs.FileSelector(self.path, recursive=True, allow_not_found=True)
        yield from sorted((i for i in self.filesystem.get_file_info(selector) if i.type == pafs.FileType.File),
                          key=lambda i: i.path)


def place(location: str | os.PathLike) -> Place:
    """A path (made absolute, so every worker reads the same one) or a URI that pyarrow knows."""
    text = str(location)
    if "://" in text and not text.startswith("file://"):
        filesystem, path = pafs.FileSystem.from_uri(text)
        return Place(filesystem, path, text)
    path = text.removeprefix("file://")
    return Place(pafs.LocalFileSystem(), str(Path(path).expanduser().absolute()), text)


@contextmanager
def local_copy(source: Place) -> Iterator[Path]:
    """A path the decoder can open: the file itself on a filesystem, or a private temporary copy of an object
    (removed afterwards)."""
    if source.on_disk:
        yield Path(source.path)
        return
    folder = tempfile.mkdtemp(prefix="studio-archive-")
    try:
        copy = Path(folder) / Path(source.path).name
        with source.filesystem.open_input_stream(source.path) as stream, open(copy, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)
