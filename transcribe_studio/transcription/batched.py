"""Many files through the model in batches: short files ride together, long files keep their passes.

Why: one file at a time, a GPU idles between short model calls (the default model measured an RTFx of 315 on
one-minute files on an H100, where NeMo's batched recipe reaches ~3,400 on an A100: docs/PERFORMANCE.md). So, as that
recipe does, the windows of many files go to the model together, longest first, in batches as large as its
spec allows (``batch_items``: on a GPU what the card's memory holds), while the next files are decoded and cut
into windows ahead on CPU threads (:mod:`..media.ahead`). Unlike that recipe, each file keeps what the
one-file path (:mod:`.engine`) gives it:

* the same windows, heard the same (a batch pads to its longest piece, and the model masks the padding) and
  merged the same (:func:`.engine.transcript_from`);
* its own outcome: a file that cannot be decoded fails alone; a batch that fails (out of memory, one bad
  window) is split in halves and retried, and a window that fails alone goes through the one-file path (with
  its own out-of-memory retries), failing only its own file if it fails there too;
* handed on (to be saved) the moment its last window is heard. Files go in groups (:data:`GROUP_FILES`,
  :data:`GROUP_SECONDS`) whose windows are sorted and batched together; so memory stays bounded whatever the
  folder's size, and a cancel, heard between batches, loses no finished file.

A model whose words take their times from another (its spec's ``word_timings_from``) has that timer model run
over each group's windows in batches too, after the model's own pass over them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import Cancelled, GPUFailedError, StudioError
from ..formatting import duration_text
from ..media import SAMPLE_RATE
from ..media.ahead import prepared_ahead
from ..media.windows import Listening, Plan, plan_cuts
from ..models import ModelCache, get
from ..models.cache import give_back_freed_memory
from ..models.device import resolve_device
from ..models.spec import Heard, ModelSpec
from ..progress import Progress, no_progress
from . import engine, timings
from .language import check_choice
from .transcript import Transcript

# A group: the files whose windows are sorted by length and batched together. Enough short files for the
# largest batches (gpu.MAX_BATCH_ITEMS), and little enough audio (30 min is 115 MB) that a group and the one
# decoded ahead of it stay small in memory.
GROUP_FILES = 128
GROUP_SECONDS = 30 * 60.0
# Decoding and voice detection run on this many CPU threads beside a model on a GPU. Beside a model on the CPU
# they run on the model's own thread, between groups: there they would take cores from the model for almost nothing
# (decoding is ~650x real time, the CPU model ~7x), and one more busy thread beside torch's own made its OpenMP
# threads wait on each other (800 short files on 2 cores: 72 s against 6 s).
PREPARE_THREADS = max(1, min(4, (os.cpu_count() or 2) // 2))


@dataclass
class FileHeard:
    """One file's outcome: its transcript (with its audio, for what follows: speakers, saving) or why it failed."""
    source: Path
    transcript: Transcript | None = None
    audio: np.ndarray | None = None
    error: Exception | None = None


@dataclass
class _File:
    """A file decoded and cut into windows, and what the models heard in each window so far."""
    source: Path
    audio: np.ndarray
    cuts: Plan
    heard: dict[int, list[Heard]] = field(default_factory=dict)        # window -> the model's stretches
    timer_heard: dict[int, list[Heard]] = field(default_factory=dict)  # window -> the timer's
    error: Exception | None = None

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    def stretches(self, slot: str) -> list[Heard]:
        by_window = getattr(self, slot)
        return [stretch for index in sorted(by_window) for stretch in by_window[index]]


@dataclass
class Tally:
    """How far a run over many files is, for the bar and its note: files done, audio heard, speed so far."""
    files_total: int
    passes: int = 1                     # model passes over every window (2 with a timer pass)
    files_done: int = 0
    files_seen: int = 0                 # decoded so far (failed or not)
    seconds_seen: float = 0.0           # their audio
    seconds_heard: float = 0.0          # audio heard, each pass counted
    seconds_done: float = 0.0           # the audio of the files done
    started: float = field(default_factory=time.monotonic)

    def expected_seconds(self) -> float:
        """All the audio, as far as it is known: what was decoded, and the average for each file still to come."""
        average = self.seconds_seen / self.files_seen if self.files_seen else 0.0
        return self.seconds_seen + average * (self.files_total - self.files_seen)

    @property
    def fraction(self) -> float:
        expected = self.expected_seconds() * self.passes
        return min(self.seconds_heard / expected, 1.0) if expected else 0.0

    def speed(self) -> float:
        """Seconds of audio done a second, so far."""
        return self.seconds_done / max(time.monotonic() - self.started, 1e-6)

    def seconds_left(self) -> float | None:
        speed = self.speed()
        return (self.expected_seconds() - self.seconds_done) / speed if self.seconds_done else None

    def note(self) -> str:
        note = (f"{self.files_done} of {self.files_total} files · {duration_text(self.seconds_done)} of "
                f"{'about ' if self.files_seen < self.files_total else ''}{duration_text(self.expected_seconds())} "
                "of audio")
        return note + (f" · {self.speed():.0f}x real time" if self.seconds_done else "")


def transcribe_files(cache: ModelCache, key: str, sources: list[Path], decode: Callable[[Path], np.ndarray],
                     options: engine.Options | None = None, progress: Progress = no_progress,
                     tally: Tally | None = None,
                     listened: Callable[[Path], Listening | None] | None = None) -> Iterator[FileHeard]:
    """Each of ``sources`` decoded (``decode``), transcribed with the model ``key`` in batches across files, and
    yielded the moment its last window is heard (so not in the order given). ``progress`` hears the whole
    run's (``tally``'s) progress between batches, and may raise Cancelled there. ``listened``: a file's voice
    detection where it was done already (where it was decoded), or None to do it here when it is needed."""
    spec, options = get(key), options or engine.Options()
    check_choice(spec, options.language, options.translate_to)
    with cache.use(key) as model:
        window = spec.window_seconds(cache.settings, model)
    timing = _timing(cache, spec, options)
    tally = tally or Tally(len(sources))
    tally.started = time.monotonic()  # the speed so far is the model's, not its load's
    tally.passes = 2 if timing in ("now", "pending") else 1
    listened = listened or (lambda source: None)
    ready = _ahead(cache, sources, lambda source: _File(source, audio := decode(source),
                                                        plan_cuts(audio, window, listening=listened(source))))
    run = _Run(cache, spec, options, timing, tally, lambda: progress(tally.fraction, tally.note()))
    for group in _groups(ready, tally):
        yield from run.group(group)


def add_pending_word_times(cache: ModelCache, key: str, pending: list[tuple[Path, Transcript]],
                           decode: Callable[[Path], np.ndarray], progress: Progress = no_progress,
                           tally: Tally | None = None) -> Iterator[tuple[Path, Exception | None]]:
    """The run's timer pass over the transcripts saved with word times pending (the timer model did not fit
    beside the model): each file decoded again and its windows (its segments) through the timer in batches
    across files, each transcript given its times (or the reason it could not be) and yielded as it is done,
    with the error that kept it from being timed, if any."""
    spec = get(key)
    transcripts = dict(pending)
    tally = tally or Tally(len(pending))
    ready = _ahead(cache, pending, lambda item: _File(item[0], decode(item[0]),
                                                      Plan(timings.pending_windows(item[1]), [])))
    timed: set[Path] = set()

    def heard(seconds: float) -> None:
        tally.seconds_heard += seconds
        progress(tally.fraction, f"word times: {len(timed)} of {len(pending)} files")
    try:
        with cache.use(spec.word_timings_from) as timer_model:
            for group in _groups(ready, Tally(len(pending))):
                yield from ((item.source, item.error) for item in group if isinstance(item, FileHeard))
                files = [item for item in group if isinstance(item, _File)]
                for file in _hear(get(spec.word_timings_from), timer_model, files, "timer_heard", cache.settings, heard):
                    timed.add(file.source)
                    if file.error is None:
                        timings.settle_pending(transcripts[file.source], timings.retime(
                            transcripts[file.source], file.stretches("timer_heard"), file.seconds, spec))
                    yield file.source, file.error
    except StudioError as error:  # the timer cannot load: the transcripts keep their window segments, and say why
        for source in (s for s in transcripts if s not in timed):
            timings.settle_pending(transcripts[source], timings.skipped_note(error))
            yield source, None


def _ahead(cache: ModelCache, items: list, prepare: Callable[..., _File]) -> Iterator:
    """``items`` prepared ahead (:func:`..media.ahead.prepared_ahead`), at most a group's worth waiting: on threads
    beside a model on a GPU; beside one on the CPU on the model's own thread, as each is asked for (see
    :data:`PREPARE_THREADS`)."""
    threads = PREPARE_THREADS if resolve_device(cache.settings.device).type == "cuda" else 0
    return prepared_ahead(items, prepare, most_held=GROUP_FILES, most_seconds=GROUP_SECONDS,
                          seconds_of=lambda f: f.seconds, threads=threads)


def _timing(cache: ModelCache, spec: ModelSpec, options: engine.Options) -> str | None:
    """How this run gives its words their times: "now" (a timer pass per group), "pending" (the timer does not
    fit beside the model: the batch's timer pass at its end), "off" (not asked for), or None (the model's own)."""
    if not spec.word_timings_from:
        return None
    if not options.word_timings:
        return "off"
    return "now" if cache.fits_together(spec.key, spec.word_timings_from) else "pending"


def _groups(ready: Iterator, tally: Tally) -> Iterator[list[_File | FileHeard]]:
    """The prepared files in groups of at most GROUP_FILES files or GROUP_SECONDS of audio; a file that could not
    be prepared comes as its FileHeard (in the group it would have been in)."""
    group, seconds = [], 0.0
    for source, prepared in ready:
        tally.files_seen += 1
        if isinstance(prepared, Exception):
            group.append(FileHeard(source, error=prepared))
        else:
            tally.seconds_seen += prepared.seconds
            group.append(prepared)
            seconds += prepared.seconds
        if len(group) >= GROUP_FILES or seconds >= GROUP_SECONDS:
            yield group
            group, seconds = [], 0.0
    if group:
        yield group


class _Run:
    """One run's model, options and progress, applied group by group."""

    def __init__(self, cache: ModelCache, spec: ModelSpec, options: engine.Options, timing: str | None,
                 tally: Tally, report: Callable[[], None]):
        self.cache, self.spec, self.options, self.timing = cache, spec, options, timing
        self.tally, self.report = tally, report

    def group(self, group: list[_File | FileHeard]) -> Iterator[FileHeard]:
        self.report()
        for failed in (item for item in group if isinstance(item, FileHeard)):
            yield self._done(failed, 0.0)
        files = [item for item in group if isinstance(item, _File)]
        notes: list[str] = []
        with self.cache.use(self.spec.key) as model, engine.prepared(
                self.spec, model, self.options, self.cache.settings.vocabulary_weight, notes):
            heard = _hear(self.spec, model, files, "heard", self.cache.settings, self._heard)
            if self.timing != "now":
                for file in heard:
                    yield self._finished(file, notes)
                return
            untimed = list(heard)  # the model's pass over the whole group, then the timer's
        yield from (self._done(FileHeard(f.source, error=f.error), f.seconds) for f in untimed if f.error)
        yield from self._timed([f for f in untimed if not f.error], notes)

    def _timed(self, files: list[_File], notes: list[str]) -> Iterator[FileHeard]:
        """The timer model's pass over ``files``' windows, each file finished as its last window is timed; a timer
        that cannot load leaves the rest with whole-window segments and a note saying why (as one file would)."""
        timer, finished = get(self.spec.word_timings_from), set()
        try:
            with self.cache.use(timer.key) as timer_model:
                for file in _hear(timer, timer_model, files, "timer_heard", self.cache.settings, self._heard):
                    finished.add(id(file))
                    yield self._finished(file, notes)
        except StudioError as error:
            for file in (f for f in files if id(f) not in finished):
                yield self._finished(file, notes, timings.skipped_note(error))

    def _heard(self, seconds: float) -> None:
        self.tally.seconds_heard += seconds
        self.report()

    def _finished(self, file: _File, notes: list[str], timer_note: str | None = None) -> FileHeard:
        if file.error is not None:
            return self._done(FileHeard(file.source, error=file.error), file.seconds)
        transcript = engine.transcript_from(self.spec, file.stretches("heard"), len(file.audio), file.cuts,
                                            self.options)
        own = list(notes)
        if self.timing and transcript.segments:
            own.append(timer_note or self._word_times(file, transcript))
        transcript.notes = own + transcript.notes
        return self._done(FileHeard(file.source, transcript, file.audio), file.seconds)

    def _word_times(self, file: _File, transcript: Transcript) -> str:
        if self.timing == "off":
            return engine.NOT_ASKED_NOTE
        if self.timing == "pending":
            transcript.word_times_pending = True
            return timings.PENDING_NOTE
        return timings.retime(transcript, file.stretches("timer_heard"), file.seconds, self.spec)

    def _done(self, outcome: FileHeard, seconds: float) -> FileHeard:
        """Counted as done (reported with the next batch: a cancel is never heard between a file and its saving)."""
        self.tally.files_done += 1
        self.tally.seconds_done += seconds
        return outcome


def _hear(spec: ModelSpec, model, files: list[_File], slot: str, settings,
          heard: Callable[[float], None]) -> Iterator[_File]:
    """Every window of ``files`` through ``spec``'s model in batches, longest first, into each file's ``slot``;
    each file is yielded once all its windows are heard, or passed over because the file failed.
    ``heard(seconds)`` hears each window's share of its file's audio as it is done."""
    pieces = sorted(((file, index) for file in files for index in range(len(file.cuts.windows))),
                    key=lambda piece: -_length(piece))
    left = {id(file): len(file.cuts.windows) for file in files}
    yield from (file for file in files if not left[id(file)])
    start = 0
    while start < len(pieces):
        size = max(1, spec.batch_items(settings, model, _length(pieces[start]) / SAMPLE_RATE))
        taken, start = pieces[start:start + size], start + size
        batch = [piece for piece in taken if piece[0].error is None]  # a failed file's windows are passed over
        for (file, index), outcome in zip(batch, _heard_in_halves(spec, model, batch, settings)):
            if isinstance(outcome, Exception):
                file.error = file.error or outcome
            else:
                getattr(file, slot)[index] = outcome
        seconds, finished = 0.0, []
        for file, index in taken:
            seconds += _length((file, index)) / _windowed(file) * file.seconds
            left[id(file)] -= 1
            if not left[id(file)]:
                finished.append(file)
        yield from finished  # handed on (saved) before the progress report, which may stop the run
        heard(seconds)


def _length(piece: tuple[_File, int]) -> int:
    start, end = piece[0].cuts.windows[piece[1]]
    return end - start


def _windowed(file: _File) -> int:
    return sum(end - start for start, end in file.cuts.windows) or 1


def _heard_in_halves(spec: ModelSpec, model, batch: list[tuple[_File, int]], settings) -> list[list[Heard] | Exception]:
    """What the model heard in each window of ``batch`` (on its recording's clock), or why that window failed:
    a failed call is split in halves and retried, and a window alone takes the one-file path."""
    if not batch:
        return []
    windows = [file.cuts.windows[index] for file, index in batch]
    try:
        heard = spec.transcribe_batch(model, [file.audio[a:b] for (file, _), (a, b) in zip(batch, windows)], settings)
        return [[stretch.shifted(a / SAMPLE_RATE)] for stretch, (a, _) in zip(heard, windows)]
    except (Cancelled, GPUFailedError):  # a stop, or a GPU that no call will get past: the run ends
        raise
    except Exception:  # noqa: BLE001 - retried smaller; what fails alone fails its own file
        _free_memory()
        if len(batch) == 1:
            return [_heard_alone(spec, model, batch[0], settings)]
        half = len(batch) // 2
        return (_heard_in_halves(spec, model, batch[:half], settings)
                + _heard_in_halves(spec, model, batch[half:], settings))


def _heard_alone(spec: ModelSpec, model, piece: tuple[_File, int], settings) -> list[Heard] | Exception:
    file, index = piece
    try:
        return list(spec.transcribe(model, file.audio, [file.cuts.windows[index]], settings, no_progress))
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - this window's file fails; the caller reports it
        return exc


def _free_memory() -> None:
    """Before a retry: what the failed call held, back to the system and, on a GPU, to the card."""
    import torch

    give_back_freed_memory()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
