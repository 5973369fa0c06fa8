"""Loading the two models, and the one in-memory cache that keeps them.

* Parakeet-TDT-0.6B-v2 is a NeMo ``.nemo`` archive: ``ASRModel.restore_from``
  on a local file, fully offline.
* Canary-Qwen-2.5B is a SALM checkpoint in the Hugging Face cache:
  ``SALM.from_pretrained(repo, revision=<commit>)`` after :mod:`hub_cache` has
  made sure every pinned file is local. Never ``ASRModel.from_pretrained``: for a
  repo without a ``.nemo`` file NeMo deletes its cache folder and downloads again
  on every call (``nemo/core/classes/common.py``).

NeMo and torch are imported inside the functions: importing NeMo takes several
seconds, and the UI should be up before that.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import logging
import tarfile
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable

from . import hub_cache
from .errors import ModelFileError, StudioError, report
from .settings import SETUP_COMMAND, Settings

log = logging.getLogger(__name__)

PARAKEET = "parakeet"
CANARY = "canary"
LABELS = {PARAKEET: "Parakeet-TDT-0.6B-v2", CANARY: "Canary-Qwen-2.5B"}
NEMO_REQUIRED_MEMBERS = ("model_config.yaml", "model_weights.ckpt")


def resolve_device(setting: str):
    import torch

    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise StudioError("A CUDA device was requested but PyTorch sees no usable GPU.",
                          next_steps="Install a CUDA build of PyTorch and a current NVIDIA driver, or use --device cpu.")
    return device


# --- Parakeet -------------------------------------------------------------

def check_nemo_file(path: Path) -> None:
    """Fail fast, naming the file, if it is missing, empty, not a tar archive or cut short."""
    fix = f"Run `{SETUP_COMMAND}` to download and verify it, or point PARAKEET_NEMO / --parakeet-nemo at a valid file."
    if not path.is_file():
        raise ModelFileError(f"The Parakeet model file {path} does not exist.", next_steps=fix)
    size = path.stat().st_size
    if size == 0:
        raise ModelFileError(f"The Parakeet model file {path} is empty (0 bytes).", next_steps=fix)
    try:
        with tarfile.open(path, "r:*") as archive:
            members = archive.getmembers()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ModelFileError(f"The Parakeet model file {path} is not a readable .nemo archive ({exc}).",
                             next_steps=fix) from exc
    names = {Path(m.name).name for m in members}
    absent = [m for m in NEMO_REQUIRED_MEMBERS if m not in names]
    if absent:
        raise ModelFileError(f"The Parakeet model file {path} lacks {', '.join(absent)}: it is not a NeMo model "
                             "or it is incomplete.", next_steps=fix)
    # An uncompressed tar cut short still lists its headers; compare the end of the
    # last member with the file size to catch an interrupted copy or download.
    end = max((m.offset_data + m.size for m in members), default=0)
    if end > size:
        raise ModelFileError(f"The Parakeet model file {path} is truncated ({size:,} bytes, needs at least "
                             f"{end:,}).", next_steps=fix)


def load_parakeet(settings: Settings, device) -> Any:
    check_nemo_file(settings.parakeet_path)
    import torch

    from .fast_load import restore

    model = restore(settings.parakeet_path, map_location=device)  # ASRModel.restore_from, minus wasted work
    model.eval()
    # As NVIDIA's transcribe_speech.py: bf16 where the GPU supports it. The mel
    # front end stays in fp32 and only casts its output, so this is safe.
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        model = model.to(torch.bfloat16)
    return model


# --- Canary ---------------------------------------------------------------

def load_canary(settings: Settings, device) -> Any:
    hub_cache.ensure_canary_files(settings)
    import torch

    from .fast_load import from_pretrained_salm

    # On a GPU, bf16 as NeMo's salm_generate.py; each weight is read straight into it.
    dtype = torch.bfloat16 if device.type == "cuda" else None
    # local_files_only: every file is local now, and the overlay pins Qwen.
    model = from_pretrained_salm(settings.canary_repo, revision=settings.canary_revision,
                                 cache_dir=str(settings.hub_cache), local_files_only=True, dtype=dtype)
    model.eval()
    if dtype is not None:
        model = model.to(dtype)  # the buffers the checkpoint does not hold
    return model.to(device)


LOADERS: dict[str, Callable[[Settings, Any], Any]] = {PARAKEET: load_parakeet, CANARY: load_canary}


# --- the cache ------------------------------------------------------------

class ModelState(str, Enum):
    NOT_LOADED = "not loaded"
    LOADING = "loading"
    LOADED = "loaded"
    FAILED = "failed"


@dataclass
class ModelStatus:
    state: ModelState = ModelState.NOT_LOADED
    device: str | None = None
    error: StudioError | None = None
    load_seconds: float | None = None

    def describe(self) -> str:
        if self.state is ModelState.LOADED:
            return f"loaded on {self.device} in {self.load_seconds:.1f} s"
        if self.state is ModelState.FAILED and self.error is not None:
            return f"failed: {self.error.title}"
        return self.state.value


# GPU memory a model needs once loaded, with working room for activations: Parakeet's
# 0.6 B parameters in bf16 are ~1.2 GB, Canary-Qwen's 2.5 B ~5.1 GB (model cards).
GPU_BYTES_NEEDED = {PARAKEET: 3_000_000_000, CANARY: 8_000_000_000}


class _Entry:
    def __init__(self):
        self.lock = threading.Lock()
        self.model = None
        self.status = ModelStatus()
        self.in_use = 0
        self.last_used = time.monotonic()


def _free_gpu_bytes(device) -> int:
    import torch

    return torch.cuda.mem_get_info(device)[0]


class ModelCache:
    """One loaded copy of each model per process, loaded on first use.

    A per-model lock makes simultaneous first requests wait for one load instead
    of loading twice. ``status`` never blocks, so the UI can show "loading".
    Models in use (see :meth:`use`) are never unloaded under a running job.
    """

    def __init__(self, settings: Settings, loaders: dict[str, Callable] | None = None,
                 free_gpu_bytes: Callable[[Any], int] = _free_gpu_bytes):
        self.settings = settings
        self._loaders = dict(loaders or LOADERS)
        self._entries = {name: _Entry() for name in self._loaders}
        self._free_gpu_bytes = free_gpu_bytes
        self.load_count = {name: 0 for name in self._loaders}
        self.idle_unload_minutes = settings.idle_unload_minutes
        self.notices: collections.deque[str] = collections.deque(maxlen=20)
        # One model job at a time in this process. Gradio's queue serialises jobs too, but it
        # frees its slot the moment a job is cancelled, while the job's thread runs on to its
        # next step; this lock is what keeps the next job off the model until then.
        self._work = threading.RLock()

    def get(self, name: str):
        entry = self._entries[name]
        with entry.lock:
            if entry.model is not None:
                return entry.model
            entry.status = ModelStatus(ModelState.LOADING)
            started = time.perf_counter()
            try:
                device = resolve_device(self.settings.device)
                self._make_room(name, device)
                model = self._loaders[name](self.settings, device)
            except Exception as exc:
                error = report(exc, f"loading {LABELS.get(name, name)}")
                entry.status = ModelStatus(ModelState.FAILED, error=error)
                raise error from exc
            self.load_count[name] += 1
            entry.model = model
            entry.last_used = time.monotonic()
            entry.status = ModelStatus(ModelState.LOADED, device=str(device),
                                       load_seconds=time.perf_counter() - started)
            log.info("%s %s", LABELS.get(name, name), entry.status.describe())
            return model

    @contextlib.contextmanager
    def use(self, name: str):
        """The model, for one job: jobs run one at a time, and idle unloading skips a busy model."""
        entry = self._entries[name]
        with self._work:
            model = self.get(name)
            entry.in_use += 1
            try:
                yield model
            finally:
                entry.in_use -= 1
                entry.last_used = time.monotonic()

    def _make_room(self, name: str, device) -> None:
        """On a GPU too full for ``name``, unload the other (idle) model first, and say so."""
        if device.type != "cuda" or self._free_gpu_bytes(device) >= GPU_BYTES_NEEDED.get(name, 0):
            return
        for other, entry in self._entries.items():
            # Non-blocking: an entry whose lock is held is loading; leave it be (no lock-order deadlock).
            if other == name or entry.model is None or entry.in_use or not entry.lock.acquire(blocking=False):
                continue
            try:
                self._drop(entry)
            finally:
                entry.lock.release()
            self.notices.append(f"{LABELS.get(other, other)} was unloaded to make room on the GPU for "
                                f"{LABELS.get(name, name)}.")
            log.warning(self.notices[-1])

    def status(self, name: str) -> ModelStatus:
        return self._entries[name].status

    def is_loaded(self, name: str) -> bool:
        return self._entries[name].model is not None

    def is_busy(self, name: str) -> bool:
        return self._entries[name].in_use > 0

    def unload(self, name: str) -> None:
        entry = self._entries[name]
        if entry.in_use:
            raise StudioError(f"{LABELS.get(name, name)} is busy with a job.",
                              next_steps="Unload it when the job has finished.")
        with entry.lock:
            self._drop(entry)

    def unload_idle(self, now: float | None = None) -> list[str]:
        """Unload every model unused for ``idle_unload_minutes`` (0: never); return their names."""
        if not self.idle_unload_minutes:
            return []
        now = time.monotonic() if now is None else now
        dropped = []
        for name, entry in self._entries.items():
            idle = now - entry.last_used
            if entry.model is not None and not entry.in_use and idle >= self.idle_unload_minutes * 60:
                with entry.lock:
                    self._drop(entry)
                dropped.append(name)
                self.notices.append(f"{LABELS.get(name, name)} was unloaded after "
                                    f"{self.idle_unload_minutes:g} idle minutes.")
        return dropped

    def watch_idle(self, interval_s: float = 30.0) -> threading.Thread:
        """A daemon thread that calls :meth:`unload_idle` every ``interval_s``."""
        def loop():
            while True:
                time.sleep(interval_s)
                self.unload_idle()

        thread = threading.Thread(target=loop, name="idle-unloader", daemon=True)
        thread.start()
        return thread

    @staticmethod
    def _drop(entry: _Entry) -> None:
        entry.model = None
        entry.status = ModelStatus()
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
