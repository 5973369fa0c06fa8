"""The run's record in the destination: one small JSON object per input file, written as the file goes.

A row says which file it is (its key, from its location, size and modification time), how far it got
(``started``, ``done``, ``failed``), every attempt at it (which run, node and process, whether it went alone
and whether it finished), its outputs and, for a failure, the reason. One object per file, because an object
store can neither append to a file nor rename one: each row is replaced whole, in one put.

An attempt is written before the file goes to the model: a worker that dies leaves an attempt that never
finished, naming the file and where it ran. That is how a file that kills its worker is found (Ray says only
that a worker died, not over which file) and failed after :data:`MOST_UNFINISHED` such attempts in one run,
instead of being retried for ever.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from pyarrow import fs as pafs

from .places import Place
from .sources import SourceFile

log = logging.getLogger(__name__)
FOLDER = "_manifest"
# Unfinished attempts of one file, in one run, after which it is failed rather than tried again: the first may
# have died with a batch of other files, the second (alone, see Row.suspect) was its own.
MOST_UNFINISHED = 2
KILLED_WORKER = ("It stopped the worker transcribing it {n} times ({where}), so it was not tried again. The file "
                 "may be damaged, or too long for that worker's memory.")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Row:
    key: str
    location: str
    size: int
    mtime_ns: int
    output: str
    status: str = "new"  # "started", "done", "failed"
    # {"run", "node" (host name), "ray_node" (Ray's node id), "pid", "alone", "started", "finished"}
    attempts: list[dict] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # paths in the destination
    seconds: float = 0.0  # the audio's length
    error: dict | None = None  # {"kind", "message"}
    note: str = ""  # what a person should know about a file done (saved without speaker labels, say)
    updated: str = ""

    @classmethod
    def new(cls, source: SourceFile) -> "Row":
        return cls(source.key, source.location, source.size, source.mtime_ns, source.output)

    def unfinished(self, run: str) -> list[dict]:
        return [a for a in self.attempts if a["run"] == run and not a.get("finished")]

    def suspect(self, run: str) -> bool:
        """An attempt of this run died with it: the next goes alone, so a second death is its own."""
        return bool(self.unfinished(run))

    def killed_its_worker(self, run: str) -> bool:
        return len(self.unfinished(run)) >= MOST_UNFINISHED

    def start(self, run: str, alone: bool, ray_node: str = "") -> None:
        self.status = "started"
        self.attempts.append({"run": run, "node": socket.gethostname(), "ray_node": ray_node, "pid": os.getpid(),
                              "alone": alone, "started": now()})

    def finish(self, outputs: list[str], seconds: float) -> None:
        self.status, self.outputs, self.seconds, self.error, self.note = "done", outputs, seconds, None, ""
        self._close_attempt()

    def fail(self, kind: str, message: str, seconds: float = 0.0) -> None:
        self.status, self.error, self.seconds = "failed", {"kind": kind, "message": message}, seconds
        self._close_attempt()

    def fail_killed(self, run: str) -> None:
        where = ", ".join(f"{a['node']} pid {a['pid']}" for a in self.unfinished(run))
        self.fail("killed_worker", KILLED_WORKER.format(n=len(self.unfinished(run)), where=where))

    def _close_attempt(self) -> None:
        if self.attempts and not self.attempts[-1].get("finished"):
            self.attempts[-1]["finished"] = now()

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> "Row":
        return cls(**json.loads(text))


class Manifest:
    """The rows in ``destination/_manifest/``."""

    def __init__(self, destination: Place):
        self.folder = destination.child(FOLDER)

    def _place(self, key: str) -> Place:
        return self.folder.child(f"{key}.json")

    def read(self, key: str) -> Row | None:
        try:
            return Row.from_json(self._place(key).read_bytes())
        except OSError:  # not there (an object store may not say FileNotFoundError), or unreadable: say which
            if self._place(key).info().type == pafs.FileType.NotFound:
                return None
            raise
        except (ValueError, TypeError):  # a damaged row (edited or half-copied by hand): the file is done again
            log.warning("Manifest row %s cannot be read; its file is transcribed again.", key)
            return None

    def row(self, source: SourceFile) -> Row:
        """The file's row, or a new one."""
        return self.read(source.key) or Row.new(source)

    def write(self, row: Row) -> None:
        row.updated = now()
        self._place(row.key).write_bytes(row.to_json().encode())

    def rows(self) -> Iterator[Row]:
        """Every row (a row that cannot be read, half-copied by hand say, is left out)."""
        for info in self.folder.files():
            if info.path.endswith(".json"):
                try:
                    with self.folder.filesystem.open_input_stream(info.path) as stream:
                        yield Row.from_json(stream.read())
                except (OSError, ValueError, TypeError):
                    continue

    def exists(self) -> bool:
        return self.folder.info().type == pafs.FileType.Directory
