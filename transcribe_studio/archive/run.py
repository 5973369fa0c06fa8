"""The driver of an archive run: list the inputs, leave out what the manifest says is done, check every node,
then stream the files through Ray Data and report each as its row comes back.

The pipeline: one file a block (so a retry, or a block Ray gives up on, concerns one file) -> decode and listen
for pauses (CPU tasks, ``cpus_per_decode`` each) -> transcribe and save (a pool of actors, each with its model
loaded once, ``files_per_batch`` files a call) -> the manifest rows, the only thing the driver collects. Ray Data's
streaming executor holds back decoding while the actors are busy, so memory stays bounded however large the archive.

Ray restarts a dead actor and retries its task a bounded number of times (:func:`_retries`), and a block that
still fails is given up on rather than failing the run (``max_errored_blocks``): its file is then settled from the
manifest at the end (:func:`_settle`), failed if it killed its worker twice, else left for the next run.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from ..classify import folder_error, report
from ..errors import ConfigurationError, MissingDependencyError, StudioError
from ..settings import OUTPUT_DIR_FLAG, Settings
from ..transcription import engine
from ..transcription.batched import Tally
from .manifest import Manifest, Row
from .places import place
from .sources import SourceFile, list_sources
from .stages import NODE_CHECK_FILE, Job, Transcriber, check_node, decode

RAY_REQUIREMENTS = "requirements-archive.txt"
# Ray Data retries a task whose worker died for ever by default: a file that crashes the decoder gets this many.
DECODE_TRIES = 3
NEVER_DECODED = (f"It was never transcribed: the worker decoding it stopped at each of {DECODE_TRIES} tries. The file may "
                 "be damaged; --retry-failed tries it again.")


@dataclass(frozen=True)
class ArchiveOptions:
    """How the run spreads over the Ray cluster."""
    workers: int | None = None            # transcribing actors; None: one per GPU (on CPUs: one)
    gpus_per_worker: float | None = None  # None: 1 where the cluster has GPUs, else 0 (the CPU)
    cpus_per_decode: float = 1.0          # CPUs each decoding task takes
    cpus_per_worker: float = 1.0          # CPUs Ray counts for each transcribing worker
    files_per_batch: int = 16             # files an actor takes a call (their windows batched together)
    retry_failed: bool = False            # try again the files an earlier run failed
    threads_per_worker: int = 0           # torch threads of a worker on the CPU (0: the node's CPU count)


@dataclass
class ArchiveOutcome:
    """What a run did: every row it touched, the files an earlier run had done, and what was left out."""
    rows: list[Row] = field(default_factory=list)
    already_done: int = 0
    already_failed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counted = {"done": 0, "failed": 0, "started": 0}
        for row in self.rows:
            counted[row.status if row.status in counted else "started"] += 1
        return counted


def run_archive(inputs: Iterable[str | SourceFile], destination: str, key: str, formats: list[str],
                settings: Settings, options: engine.Options | None = None, archive: ArchiveOptions = ArchiveOptions(),
                on_row: Callable[[Row, Tally], None] | None = None, runtime_env: dict | None = None) -> ArchiveOutcome:
    """Transcribe every file the inputs name (paths and URIs, or the files :func:`.list_sources` found) into
    ``destination`` on the Ray cluster this process is connected to, skipping what the manifest there says is
    done. Raises NodeNotReadyError when a node lacks what the run needs (before any file is transcribed)."""
    ray = ray_data()
    inputs = list(inputs)
    sources, skipped = ((inputs, []) if all(isinstance(i, SourceFile) for i in inputs)
                        else list_sources(str(i) for i in inputs))
    manifest = Manifest(place(destination))
    todo, outcome = _to_do(sources, manifest, archive.retry_failed)
    outcome.skipped = skipped
    if not todo:
        return outcome
    archive = replace(archive, gpus_per_worker=_gpus_per_worker(ray, archive, settings))
    job = _job(settings, key, formats, options or engine.Options(), place(destination).name, archive)
    _check_room(ray, archive)
    _check_nodes(ray, job)
    tally = Tally(len(todo))
    seen: set[str] = set()
    try:
        for record in _pipeline(ray, todo, job, archive, runtime_env).iter_rows():
            row = Row.from_json(record["row"])
            seen.add(row.key)
            outcome.rows.append(row)
            _count(tally, row)
            if on_row is not None:
                on_row(row, tally)
    except Exception as exc:  # noqa: BLE001 - Ray's: a worker whose model does not load, the cluster lost
        raise _stopped(exc) from exc
    outcome.rows += _settle([s for s in todo if s.key not in seen], manifest, job.run)
    return outcome


def _stopped(exc: Exception) -> StudioError:
    """What stopped the run, as the app says it (Ray wraps a worker's own error as its ``cause``)."""
    error = report(getattr(exc, "cause", None) or exc, "running the archive on Ray")
    error.message = f"The run stopped before its end: {error.message} Every file finished so far is saved."
    return error


def ray_data():
    """Ray, with Ray Data; or MissingDependencyError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data, not only Ray core
    except ImportError:
        raise MissingDependencyError(
            "The archive command runs on Ray Data, which is not installed.",
            next_steps=f"Install it with: pip install -r {RAY_REQUIREMENTS}") from None
    for handler in logging.getLogger("ray.data").handlers:  # its notes stay in its log file, off the console
        if not isinstance(handler, ray.data._internal.logging.SessionFileHandler):
            handler.setLevel(logging.ERROR)
    return ray


def _to_do(sources: list[SourceFile], manifest: Manifest, retry_failed: bool) -> tuple[list[SourceFile], ArchiveOutcome]:
    """The files this run transcribes: all but those done (and failed, unless retried) by an earlier run."""
    rows = {row.key: row for row in manifest.rows()} if manifest.exists() else {}
    outcome, todo = ArchiveOutcome(), []
    for source in sources:
        status = rows[source.key].status if source.key in rows else "new"
        if status == "done":
            outcome.already_done += 1
        elif status == "failed" and not retry_failed:
            outcome.already_failed += 1
        else:
            todo.append(source)
    return todo, outcome


def _job(settings: Settings, key: str, formats: list[str], options: engine.Options, destination: str,
         archive: ArchiveOptions) -> Job:
    """The run as the workers need it: on a GPU when they have one (Ray gives each worker its own, so its "cuda" is
    its own), else on the CPU."""
    device = "cpu" if not archive.gpus_per_worker else "cuda" if settings.device in ("auto", "cpu") else settings.device
    return Job(replace(settings, device=device), key, tuple(formats), options, destination, uuid.uuid4().hex[:12],
               archive.threads_per_worker)


def _gpus_per_worker(ray, archive: ArchiveOptions, settings: Settings) -> float:
    """As asked; else none with ``--device cpu``, one where the cluster has GPUs, none where it has not."""
    if archive.gpus_per_worker is not None:
        return archive.gpus_per_worker
    if settings.device == "cpu":
        return 0.0
    return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0


def _workers(ray, archive: ArchiveOptions, gpus: float) -> int:
    if archive.workers:
        return archive.workers
    return max(1, int(ray.cluster_resources().get("GPU", 0) // gpus)) if gpus else 1


def _check_room(ray, archive: ArchiveOptions) -> None:
    """Workers that took every CPU would leave none for decoding, and the run would wait for ever: refuse it."""
    workers = _workers(ray, archive, archive.gpus_per_worker)
    cpus = ray.cluster_resources().get("CPU", 0)
    if workers * archive.cpus_per_worker + archive.cpus_per_decode > cpus:
        raise ConfigurationError(
            f"{workers} worker(s) of {archive.cpus_per_worker:g} CPU each and a decoding task of "
            f"{archive.cpus_per_decode:g} CPU do not fit in the cluster's {cpus:g} CPUs: the files could never be "
            "decoded.", next_steps="Lower --workers, --cpus-per-worker or --cpus-per-decode (fractions such as "
                                   "0.5 are allowed), or add machines.")


def _check_nodes(ray, job: Job) -> None:
    """Every live node checked for the models, NeMo and the destination before any work: the first problem,
    naming its node, stops the run."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    marker = place(job.destination).child(NODE_CHECK_FILE.format(run=job.run))
    try:
        marker.write_bytes(job.run.encode())
    except OSError as exc:  # a destination that cannot be written: said before any work, naming the flag
        raise folder_error(exc, job.destination, OUTPUT_DIR_FLAG, starting=True) from exc
    check = ray.remote(num_cpus=0)(check_node)
    nodes = [node["NodeID"] for node in ray.nodes() if node.get("Alive")]
    try:
        problems = ray.get([check.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))
                           .remote(job) for node in nodes])
    finally:
        marker.delete()
    found = [problem for problem in problems if problem]
    if found:
        if len(found) > 1:
            found[0].message += f" ({len(found) - 1} more machine(s) are not ready either.)"
        raise found[0]


def _retries(archive: ArchiveOptions) -> dict:
    """Finite retries (Ray Data's own default is to retry for ever): a task's files may kill its worker one by
    one (each at most twice: first with the batch, then alone), so a task gets that many tries and a few more."""
    tries = 2 * archive.files_per_batch + 2
    return {"max_restarts": tries, "max_task_retries": tries}


def _pipeline(ray, todo: list[SourceFile], job: Job, archive: ArchiveOptions, runtime_env: dict | None):
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.max_errored_blocks = -1  # a file Ray gives up on is settled from the manifest, not the run's end
    gpus = archive.gpus_per_worker
    extra = {"runtime_env": runtime_env} if runtime_env else {}
    with warnings.catch_warnings():  # max_restarts and max_task_retries have no named parameter yet
        warnings.simplefilter("ignore")
        return (ray.data.from_items([s.to_row() for s in todo], override_num_blocks=len(todo))
                .map(decode, fn_kwargs={"job": job}, num_cpus=archive.cpus_per_decode, max_retries=DECODE_TRIES - 1,
                     **extra)
                .map_batches(Transcriber, fn_constructor_kwargs={"job": job}, batch_size=archive.files_per_batch,
                             batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=_workers(ray, archive, gpus)),
                             num_gpus=gpus, num_cpus=archive.cpus_per_worker, **_retries(archive), **extra))


def _count(tally: Tally, row: Row) -> None:
    tally.files_seen += 1
    tally.files_done += 1
    tally.seconds_seen += row.seconds
    tally.seconds_done += row.seconds
    tally.seconds_heard += row.seconds


def _settle(missing: list[SourceFile], manifest: Manifest, run: str) -> list[Row]:
    """The files whose rows never came back (Ray gave up on their block): failed if they killed their worker
    twice, or if no attempt reached the model (their decoding's worker died at every try); else as the manifest
    has them (done by an attempt whose task died later, or left for the next run)."""
    rows = []
    for source in missing:
        row = manifest.row(source)
        if row.status != "done" and row.killed_its_worker(run):
            row.fail_killed(run)
        elif not any(a["run"] == run for a in row.attempts):
            row.fail("killed_worker", NEVER_DECODED)
        else:
            rows.append(row)
            continue
        manifest.write(row)
        rows.append(row)
    return rows

