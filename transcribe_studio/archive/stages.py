"""What runs on the Ray workers: checking a node, decoding a file (a CPU task) and transcribing files (an actor
that keeps its model loaded), each file's outcome written to the manifest as it goes.

The actor works as the batch command does (:mod:`..transcription.batched`: windows of many files through the model
together) and saves with the app's own writers. Before a file goes to the model its attempt is in the manifest, so
a worker that dies names the files it held; Ray then retries the task on a restarted worker, which skips what is
done and sends a file whose attempt died alone, so that a second death is its own (:data:`.manifest.MOST_UNFINISHED`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..classify import report
from ..errors import NodeNotReadyError, StudioError
from ..media import SAMPLE_RATE
from ..media.decode import decode_audio
from ..media.windows import Listening, listen
from ..models import ModelCache, diarizers, get
from ..outputs.writers import WriterOptions, render_outputs
from ..settings import Settings
from ..transcription import batched, engine
from ..transcription.batch import FileResult, label
from .manifest import Manifest, Row
from .places import local_copy, place
from .sources import SourceFile

# Voice detection (for cutting long audio at pauses) is done where a file is decoded when it is longer than this,
# the shortest window any model takes (40 s): its result serves windows of any length.
LISTEN_ABOVE_SECONDS = 40.0
NODE_CHECK_FILE = "_manifest/.reachable-{run}"


@dataclass(frozen=True)
class Job:
    """One archive run, as every worker needs it."""
    settings: Settings
    key: str
    formats: tuple[str, ...]
    options: engine.Options
    destination: str
    run: str
    threads: int = 0  # torch's threads in a worker on the CPU (0: the node's CPU count)

    def models(self) -> list[str]:
        """The models the run loads: the transcriber, the one that times its words, the diarizer if asked."""
        spec = get(self.key)
        keys = [self.key]
        if spec.word_timings_from and self.options.word_timings:
            keys.append(spec.word_timings_from)
        if self.options.speakers:
            keys += [d.key for d in diarizers()]
        return keys


def check_node(job: Job) -> NodeNotReadyError | None:
    """What this node lacks for the run (NeMo, a model's files, the destination), or None; run on every node.
    The models are checked as the app's page checks them: cheaply, loading and hashing nothing."""
    node = socket.gethostname()
    if importlib.util.find_spec("nemo") is None:
        return NodeNotReadyError(f"{node} has no NeMo.", next_steps="Install the app's requirements there "
                                 "(pip install -r requirements.txt -r requirements-archive.txt).")
    for key in job.models():
        why = get(key).availability(job.settings)
        if why:
            return NodeNotReadyError(f"{node} cannot load {get(key).label}: {why}.", next_steps=(
                "Each machine needs the model files: run `python setup_local_models.py` on it, or point "
                f"{' and '.join([*_model_file_variables(job), 'HF_HOME'])} at storage every machine shares (the "
                "same paths on each)."))
    marker = place(job.destination).child(NODE_CHECK_FILE.format(run=job.run))
    if marker.info().type.name != "File":
        return NodeNotReadyError(
            f"{node} cannot see the destination {job.destination} (a file the run wrote there is not there).",
            next_steps="On several machines the destination must be storage they all share: a shared folder at the "
                       "same path on each, or an object store (s3://...).")
    return None


def _model_file_variables(job: Job) -> list[str]:
    """The environment variables that name the run's model files (their specs' file options)."""
    return [option.env for key in job.models() for option in get(key).options
            if option.env and isinstance(option.default, Path)]


def decode(row: dict, job: Job) -> dict:
    """A file read (a temporary local copy of an object), decoded to 16 kHz mono float32 and, if long, listened
    to for pauses; or the reason it cannot be, in its row."""
    source = SourceFile.from_row(row)
    decoded = {**source.to_row(), "audio": b"", "listening": "", "error_kind": "", "error": ""}
    try:
        with local_copy(place(source.location)) as path:
            audio = decode_audio(path, max_bytes=int(job.settings.max_file_mb * 1_000_000))
        listening = listen(audio) if len(audio) > LISTEN_ABOVE_SECONDS * SAMPLE_RATE else None
    except Exception as exc:  # noqa: BLE001 - classified; the traceback goes to the worker's log
        error = report(exc, f"decoding {source.name}")
        return {**decoded, "error_kind": error.kind, "error": error.user_message()}
    return {**decoded, "audio": audio.tobytes(), "listening": json.dumps(asdict(listening)) if listening else ""}


@dataclass
class _Item:
    source: SourceFile
    row: Row
    audio: np.ndarray | None = None
    listening: Listening | None = None

    @property
    def path(self) -> Path:
        return Path(self.source.location)


class Transcriber:
    """A Ray actor: the model loaded once (through the app's loaders), then batches of decoded files."""

    def __init__(self, job: Job):
        if job.settings.device == "cpu":  # Ray starts a one-CPU actor with one thread: the model takes the cores
            import torch

            torch.set_num_threads(job.threads or os.cpu_count() or 1)
        self.job = job
        self.cache = ModelCache(job.settings)
        self.cache.load(job.key)
        self.manifest = Manifest(place(job.destination))
        self.destination = place(job.destination)
        self.ray_node = _ray_node()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        rows, alone, together = [], [], []
        for decoded in _rows(batch):
            item = _Item(SourceFile.from_row(decoded), self.manifest.row(SourceFile.from_row(decoded)))
            if self._settled(item.row, decoded):
                rows.append(item.row)
                continue
            item.audio = np.frombuffer(decoded["audio"], dtype=np.float32)
            item.listening = Listening(**json.loads(decoded["listening"])) if decoded["listening"] else None
            (alone if item.row.suspect(self.job.run) else together).append(item)
        for item in alone:
            rows += self._transcribe([item], alone=True)
        if together:
            rows += self._transcribe(together, alone=False)
        return {"row": [row.to_json() for row in rows]}

    def _settled(self, row: Row, decoded: dict) -> bool:
        """Whether the file needs no model: done (by an attempt before a retry), failed in this run, a worker
        killed twice over it, or not decodable (its row written failed)."""
        run = self.job.run
        if row.status == "done" or (row.status == "failed" and row.attempts and row.attempts[-1]["run"] == run):
            return True
        if row.killed_its_worker(run):
            row.fail_killed(run)
        elif decoded["error"]:
            row.start(run, alone=True)
            row.fail(decoded["error_kind"], decoded["error"])
        else:
            return False
        self.manifest.write(row)
        return True

    def _transcribe(self, items: list[_Item], alone: bool) -> list[Row]:
        for item in items:  # before the model hears it: a worker that dies now leaves this attempt unfinished
            item.row.start(self.job.run, alone, self.ray_node)
            self.manifest.write(item.row)
        by_path = {item.path: item for item in items}
        pending: list[tuple[_Item, FileResult]] = []
        try:
            for heard in batched.transcribe_files(self.cache, self.job.key, list(by_path),
                                                  lambda path: by_path[path].audio, self.job.options,
                                                  listened=lambda path: by_path[path].listening):
                self._finish(by_path.pop(heard.source), heard, pending)
        except Exception as exc:  # noqa: BLE001 - what stops the batch (a GPU that failed for good) fails the rest
            error = report(exc, "transcribing a batch of files")
            for item in by_path.values():
                self._failed(item, error)
        self._add_pending_word_times(pending)
        return [item.row for item in items]

    def _finish(self, item: _Item, heard: batched.FileHeard, pending: list) -> None:
        if heard.error is not None:
            self._failed(item, report(heard.error, f"transcribing {item.source.name}"))
            return
        result = FileResult(item.path)
        try:
            label(self.cache, self.job.key, result, heard.transcript, heard.audio, self.job.options)
            item.row.finish(self._save(item, result), len(heard.audio) / SAMPLE_RATE)
            if result.speaker_error is not None:
                item.row.note = f"Without speaker labels: {result.speaker_error.user_message()}"
        except Exception as exc:  # noqa: BLE001 - classified: a full disk, a store that refuses the put
            self._failed(item, report(exc, f"saving the results of {item.source.name}"))
            return
        self.manifest.write(item.row)
        if result.transcript.word_times_pending:
            pending.append((item, result))

    def _failed(self, item: _Item, error: StudioError) -> None:
        seconds = len(item.audio) / SAMPLE_RATE if item.audio is not None else 0.0
        item.row.fail(error.kind, error.user_message(), seconds)
        self.manifest.write(item.row)

    def _save(self, item: _Item, result: FileResult) -> list[str]:
        """Each format rendered in memory, then written whole (renamed into place, or one put)."""
        rendered = render_outputs(result.transcript, self.job.formats, result.metadata,
                                  WriterOptions.from_settings(self.job.settings))
        written = []
        for extension, content in rendered:
            name = f"{item.row.output}.{extension}"
            self.destination.child(name).write_bytes(content if isinstance(content, bytes) else content.encode())
            written.append(name)
        return written

    def _add_pending_word_times(self, pending: list[tuple[_Item, FileResult]]) -> None:
        """The timer's pass over files saved before it (it did not fit beside the model on this worker's GPU)."""
        if not pending:
            return
        by_path = {item.path: (item, result) for item, result in pending}
        for path, error in batched.add_pending_word_times(self.cache, self.job.key,
                                                          [(p, r.transcript) for p, (_, r) in by_path.items()],
                                                          lambda p: by_path[p][0].audio):
            item, result = by_path[path]
            if error is None:
                try:
                    self._save(item, result)
                except Exception as exc:  # noqa: BLE001 - the file stays saved without word times
                    report(exc, f"adding word times to {item.source.name}")


def _ray_node() -> str:
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""


def _rows(batch: dict[str, np.ndarray]) -> list[dict]:
    columns = list(batch)
    return [{column: batch[column][index] for column in columns} for index in range(len(batch[columns[0]]))]

