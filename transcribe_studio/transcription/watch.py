"""A watched folder (``--watch``): each new audio or video file is transcribed once it is complete.

A recorder or dictation device that syncs into a folder writes each file over seconds or minutes, so a
file is taken only when its size and modification time are the same in two scans at least ``interval``
apart. That span is measured on this machine's monotonic clock, never by comparing the file's time with
ours: a device's clock may be wrong, and a file dated in the future must not wait forever.

A file is done when its outputs in every requested format are in the output folder and not older than
it. They are looked for under the names a run over the same folders without ``--watch`` gives them
(:func:`.batch.output_names`, :func:`..outputs.writers.output_path`), so a restart skips what an earlier
run finished, and a file changed since is done again. A file that fails is tried again only once it
changes: the run remembers the size and time it failed at. Everything ready in one scan goes to
:func:`.batch.run_batch` in one call, so it can batch those files together.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..models import ModelCache
from ..outputs.writers import get_writer, output_path
from . import engine
from .batch import FileResult, collect_inputs, output_names, run_batch

# Read by the command line only, for its tests: a watch that stops by itself after this many scans.
SCANS_ENV = "STUDIO_WATCH_SCANS"
Signature = tuple[int, int]  # (size in bytes, modification time in ns): a file that is still written changes it


@dataclass(frozen=True)
class WatchOptions:
    interval: float = 5.0  # seconds between scans; a file must stay unchanged at least this long
    max_scans: int | None = None  # stop after this many scans (tests); None: until stopped


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class FolderWatch:
    """Scans ``inputs`` (folders, and files named on their own) and transcribes what is ready, scan by scan."""

    def __init__(self, cache: ModelCache, key: str, inputs: Iterable[str | Path], formats: Iterable[str],
                 options: engine.Options | None = None, watch: WatchOptions = WatchOptions(),
                 on_result: Callable[[FileResult], None] | None = None):
        self.cache, self.key, self.inputs = cache, key, [Path(p) for p in inputs]
        self.formats, self.options, self.watch, self.on_result = list(formats), options, watch, on_result
        self.extensions = list(dict.fromkeys(get_writer(f).extension for f in self.formats))
        self.results: list[FileResult] = []  # this run's, for the summary
        self.scans = 0
        self.current: Path | None = None  # the file being transcribed, if any
        self._settled: dict[Path, Signature] = {}  # done or failed at this signature: left alone until it changes
        self._seen: dict[Path, tuple[Signature, float]] = {}  # signature, and when (monotonic) it was first seen
        self._skips_reported: set[tuple[Path, str]] = set()

    def run(self, stop: threading.Event | None = None) -> list[FileResult]:
        """Scan until ``stop`` is set (checked between files too) or ``max_scans`` are done; this run's results.

        A KeyboardInterrupt (a second Ctrl+C, see :func:`stop_on_ctrl_c`) abandons the file at hand: its outputs
        are written whole or not at all, and without all of them it counts as not done, so the next run does it.
        """
        stop = stop or threading.Event()
        say(f"Watching {', '.join(map(str, self.inputs))} for new audio and video files (Ctrl+C stops).")
        try:
            while not stop.is_set():
                self.scan(stop)
                if self.watch.max_scans is not None and self.scans >= self.watch.max_scans:
                    break
                stop.wait(self.watch.interval)
        except KeyboardInterrupt:
            if self.current is not None:
                say(f"Stopped while transcribing {self.current}: it is transcribed again on the next run.")
        return self.results

    def scan(self, stop: threading.Event | None = None) -> list[FileResult]:
        """One look at the folders: transcribe the files that are ready; their results."""
        self.scans += 1
        listing = self._listing()
        signatures = {source: signature for source in listing if (signature := _signature(source))}
        names = output_names(listing)
        now = time.monotonic()
        # A file unchanged since it was done or failed counts as stable too: a namesake may need it (_batch).
        settled = {s for s, signature in signatures.items() if self._is_done(s, names[s], signature)}
        ready = [s for s, signature in signatures.items() if s not in settled and self._is_stable(s, signature, now)]
        self._forget_all_but(signatures)
        batch = _batch(ready, list(signatures), names, settled | set(ready))
        return self._transcribe(batch, signatures, stop or threading.Event()) if batch else []

    def _listing(self) -> list[Path]:
        """The media files in the folders now; an entry that cannot be used is reported once, not every scan.

        A file met twice (a folder given with a file or subfolder of it) is listed once: it is one recording,
        and a second entry would make it its own "-2" namesake.
        """
        skipped: list[tuple[Path, str]] = []
        listing = collect_inputs(self.inputs, skipped)
        for path, reason in skipped:
            if (path, reason) not in self._skips_reported:
                self._skips_reported.add((path, reason))
                say(f"Skipped {path}: {reason}.")
        return list(dict.fromkeys(listing))

    def _is_done(self, source: Path, name: str, signature: Signature) -> bool:
        if self._settled.get(source) == signature:
            return True
        if source in self._settled:  # changed since this run did it: the outputs on disk are of the old file
            return False
        if _outputs_current(self.cache.settings.output_dir, name, self.extensions, signature):
            self._settled[source] = signature
            return True
        return False

    def _is_stable(self, source: Path, signature: Signature, now: float) -> bool:
        """Whether ``source`` had this signature in an earlier scan at least ``interval`` ago."""
        seen = self._seen.get(source)
        if seen is None or seen[0] != signature:
            self._seen[source] = (signature, now)
            return False
        return now - seen[1] >= self.watch.interval

    def _forget_all_but(self, present: dict[Path, Signature]) -> None:
        """Files gone from the folders are forgotten, so a long watch does not grow without end."""
        self._seen = {s: seen for s, seen in self._seen.items() if s in present}
        self._settled = {s: signature for s, signature in self._settled.items() if s in present}

    def _transcribe(self, batch: list[Path], signatures: dict[Path, Signature],
                    stop: threading.Event) -> list[FileResult]:
        done: list[FileResult] = []
        with closing(run_batch(self.cache, self.key, batch, self.formats, on_start=self._started,
                               options=self.options)) as results:
            for result in results:
                self.current = None
                # The signature the file had when it was found ready: if it changed meanwhile, it is done again.
                self._settled[result.source] = signatures[result.source]
                done.append(result)
                self.results.append(result)
                _report(result)
                if self.on_result is not None:
                    self.on_result(result)
                # Stop between files; after the last one, let run_batch finish (its word-timing pass may follow).
                if stop.is_set() and len(done) < len(batch):
                    break
        return done

    def _started(self, source: Path) -> None:
        self.current = source


def _signature(source: Path) -> Signature | None:
    """None for a file that went (or cannot be looked at) since it was listed."""
    try:
        status = source.stat()
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def _outputs_current(output_dir: Path, name: str, extensions: list[str], signature: Signature) -> bool:
    """Whether every output of ``name`` exists and is not older than the file (of this signature)."""
    for extension in extensions:
        try:
            if output_path(name, output_dir, extension).stat().st_mtime_ns < signature[1]:
                return False
        except OSError:
            return False
    return True


def _batch(ready: list[Path], listing: list[Path], names: dict[Path, str], stable: set[Path]) -> list[Path]:
    """The files to transcribe now, in the listing's order.

    ``run_batch`` numbers namesakes within one call ("talk", "talk-2"), so a ready file that is a "-2" goes
    with the namesakes before it, to get the name a whole run gives it rather than overwrite theirs. Those
    are transcribed again; one of them still changing makes it wait.
    """
    batch: set[Path] = set()
    for source in ready:
        namesakes = _namesakes_before(source, listing) if names[source] != source.name else []
        if all(namesake in stable for namesake in namesakes):
            batch.update([source, *namesakes])
    return [source for source in listing if source in batch]


def _namesakes_before(source: Path, listing: list[Path]) -> list[Path]:
    """The files before ``source`` in the listing whose output names it shares (so it is their "-2", "-3")."""
    before = listing[:listing.index(source)]
    return [other for other in before if output_names([other, source])[source] != source.name]


def _report(result: FileResult) -> None:
    if result.ok:
        say(f"OK      {result.source}  (finished {result.seconds:.1f} s into its batch) -> {', '.join(p.name for p in result.outputs)}")
    else:
        say(f"FAILED  {result.source}: {result.error.user_message()} (tried again once the file changes)")


@contextmanager
def stop_on_ctrl_c(stop: threading.Event, watching: FolderWatch) -> Iterator[None]:
    """The first Ctrl+C sets ``stop``: the file at hand is finished and saved, then the watch ends. A second
    one stops at once (KeyboardInterrupt, as usual). Only in the main thread, where Python takes signals."""
    def first(signum, frame) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if watching.current is not None:
            say(f"Stopping after {watching.current.name} (Ctrl+C again stops at once; it is then done next time).")
        stop.set()

    # The second Ctrl+C is Python's own KeyboardInterrupt, whatever was there before (a shell that started the
    # watch in the background sets Ctrl+C to be ignored); that is put back at the end. None: a handler not set
    # from Python, which cannot be put back; Python's own is the usual one then.
    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
