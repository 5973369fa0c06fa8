"""Jobs the app owns: each transcription runs here, not inside the web request that asked for it.

Why: a job that lives inside a Gradio handler can only be stopped when that
handler is suspended at a ``yield``; while it is inside a model call, Gradio's
cancel retries for up to a minute and then gives up, so a cancelled job ran to
its end and held the model. Here a job runs on the registry's one worker thread
(one model job at a time, in the order they came), and any number of watchers
(the page that started it, a reloaded page, a second window, an API client)
read its progress. A watcher that goes away does not stop the job; only
:meth:`JobRegistry.cancel` does, by setting the job's flag: its next progress
step raises :class:`Cancelled`, so it stops there, keeps what it finished and
frees the model.

Every job has an owner (the logged-in user name, or None without logins); a
caller sees and cancels only the jobs of its own owner. No Gradio here.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Iterable

from ..classify import report
from ..errors import Cancelled, StudioError
from ..progress import partial_to

log = logging.getLogger(__name__)

# work(progress) -> its results, one after each file; progress(fraction of the job, note) may raise Cancelled
Work = Callable[[Callable[[float, str], None]], Iterable[Any]]

KEEP_FINISHED = 50          # finished jobs kept for late watchers, across owners
ESTIMATE_AFTER_S = 2.0      # no estimate before this much work was measured...
# ...and this share of the job done (before that the work's own expectation: the first steps, a model's load
# and decoding, say little about the speed of the rest)
ESTIMATE_AFTER_FRACTION = 0.05
LAST_STEP = 0.99  # the most a running job shows: 100 % means done (saving and labelling take time too)
MIN_REMAINING_S = 1.0  # while it runs, never "0 s left"


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.CANCELLED, JobState.FAILED)


@dataclass(frozen=True)
class JobReport:
    """How far a job is, at one moment."""
    state: JobState
    fraction: float               # of the whole job, 0..1
    note: str                     # what is happening now ("talk.wav: <model>: part 2 of 5")
    elapsed: float                # seconds since it started running (0 while queued)
    remaining: float | None       # seconds still to go at the speed measured so far; None until measurable
    ahead: int = 0                # jobs before it in the queue (while queued)
    cancelling: bool = False      # cancel was asked; it stops at its next step


class Job:
    """One job: what it works on, where it is, its latest result and its partial transcript."""

    def __init__(self, job_id: str, owner: str | None, files: list[str], model: str, work: Work):
        self.id, self.owner, self.files, self.model = job_id, owner, files, model
        self.sources: set[str] = set()   # the uploaded paths it works on, so a second press does not repeat them
        self.session: str | None = None  # the page session that asked for it
        self.state = JobState.QUEUED
        self.result: Any = None          # the work's latest result (after each file)
        self.results: list[Any] = []     # every result, in order
        self.partial = ""                # the transcript so far of the file being worked on
        self.error: StudioError | None = None
        self.fraction, self.note = 0.0, "waiting for the model"
        self.expected_s: float | None = None  # how long the work expects to take (see report)
        self.created, self.started, self.ended = time.monotonic(), None, None
        self.ahead = 0
        self._work = work
        self._cancel = threading.Event()
        self._changed = threading.Condition()

    # --- read by watchers -------------------------------------------------------
    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def progress(self) -> JobReport:
        elapsed = ((self.ended or time.monotonic()) - self.started) if self.started else 0.0
        return JobReport(self.state, self.fraction, self.note, elapsed, self._remaining(elapsed),
                           self.ahead, self.cancel_requested and not self.state.finished)

    def _remaining(self, elapsed: float) -> float | None:
        """Seconds still to go: at the speed measured so far once there is enough of it, before that from the
        work's own expectation (the models' measured speeds), and never "none left" while it still runs."""
        if self.state is not JobState.RUNNING:
            return None
        done = self.fraction
        measured = elapsed * (1 - done) / done if done > 0 else None
        if elapsed >= ESTIMATE_AFTER_S and done >= ESTIMATE_AFTER_FRACTION:
            remaining = measured
        elif self.expected_s is not None and elapsed < self.expected_s:
            # counts down while a long step reports nothing, and drops as fast as the work moves
            remaining = min(self.expected_s - elapsed, self.expected_s * (1 - done))
        else:  # slower than expected: what little was measured says more
            remaining = measured
        return None if remaining is None else max(remaining, MIN_REMAINING_S)

    def wait(self, timeout: float) -> bool:
        """Block until the job has finished or ``timeout`` passes; whether it has finished."""
        with self._changed:
            return self._changed.wait_for(lambda: self.state.finished, timeout=timeout)

    # --- written by the work, on the worker thread -------------------------------
    def report(self, fraction: float, note: str) -> None:
        """The work's progress callback: raises :class:`Cancelled` once cancel was asked. Progress never goes
        back, and reaches 1 only when the work is done."""
        if self._cancel.is_set():
            raise Cancelled()
        self._update(fraction=max(self.fraction, min(fraction, LAST_STEP)), note=note)

    def expect(self, seconds: float) -> None:
        """How long the work expects to take, for an estimate before any speed is measured."""
        self._update(expected_s=seconds)

    def show_partial(self, text: str) -> None:
        """The transcript so far of the file being worked on (each part as it finishes)."""
        self._update(partial=text)

    def _update(self, **changes) -> None:
        with self._changed:
            for name, value in changes.items():
                setattr(self, name, value)
            self._changed.notify_all()

    def _run(self) -> None:
        if self._cancel.is_set():
            self._update(state=JobState.CANCELLED, ended=time.monotonic())
            return
        self._update(state=JobState.RUNNING, started=time.monotonic(), ahead=0)
        state = JobState.DONE
        try:
            with partial_to(self.show_partial, self.expect):
                for result in self._work(self.report):
                    self._update(result=result, results=[*self.results, result], partial="")
        except Cancelled:
            pass  # stopped by cancel before the work could answer
        except Exception as exc:  # noqa: BLE001 - the job fails, the worker and the app go on
            self.error = report(exc, f"transcribing {', '.join(self.files)}")
            state = JobState.FAILED
        if state is JobState.DONE and self._cancel.is_set():
            state = JobState.CANCELLED
        self._update(state=state, ended=time.monotonic(), fraction=1.0 if state is JobState.DONE else self.fraction)


class JobRegistry:
    """Every job of one app, run one at a time on one worker thread, in the order submitted."""

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._queue: collections.deque[Job] = collections.deque()
        self._wake = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._worker: threading.Thread | None = None

    def submit(self, owner: str | None, files: list[str], model: str, work: Work) -> Job:
        """Queue ``work`` as a job of ``owner``; returns at once (the job runs on the worker thread)."""
        with self._lock:
            job = Job(f"job-{next(self._ids)}", owner, files, model, work)
            self._jobs[job.id] = job
            self._queue.append(job)
            job.ahead = len(self._queue) - 1 + (self._running() is not None)
            self._start_worker()
            self._wake.notify()
        return job

    def get(self, job_id: str, owner: str | None) -> Job | None:
        """The job ``job_id`` if ``owner`` owns it (None otherwise: another owner's job is not there)."""
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def active(self, owner: str | None) -> list[Job]:
        """``owner``'s queued and running jobs, oldest first."""
        with self._lock:
            return [job for job in self._jobs.values() if job.owner == owner and not job.state.finished]

    def current(self, owner: str | None) -> Job | None:
        """The job of ``owner`` that a new page should show: its running one, else its next queued one."""
        jobs = self.active(owner)
        return next((j for j in jobs if j.state is JobState.RUNNING), jobs[0] if jobs else None)

    def cancel(self, owner: str | None, job_id: str | None = None) -> list[Job]:
        """Ask ``owner``'s job ``job_id`` (or all its active jobs) to stop; the jobs asked.

        A queued job never starts; a running one stops at its next step. Another
        owner's jobs are not touched."""
        jobs = [j for j in self.active(owner) if job_id is None or j.id == job_id]
        for job in jobs:
            job._cancel.set()
            job._update()  # watchers see "cancelling" at once
        return jobs

    # --- the worker ------------------------------------------------------------------
    def _running(self) -> Job | None:
        return next((j for j in self._jobs.values() if j.state is JobState.RUNNING), None)

    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._serve, name="studio-jobs", daemon=True)
            self._worker.start()

    def _serve(self) -> None:
        while True:
            with self._lock:
                self._wake.wait_for(lambda: self._queue)
                job = self._queue.popleft()
                for ahead, waiting in enumerate(self._queue):
                    waiting._update(ahead=ahead + 1)
            try:
                job._run()
            except BaseException:  # noqa: BLE001 - never let one job stop the worker
                log.exception("job %s crashed the worker step", job.id)
            self._forget_old()

    def _forget_old(self) -> None:
        with self._lock:
            finished = [j for j in self._jobs.values() if j.state.finished]
            for job in finished[:-KEEP_FINISHED]:
                del self._jobs[job.id]
