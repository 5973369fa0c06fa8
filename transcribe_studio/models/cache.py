"""The one in-memory cache of loaded models: each model loaded once per process, on first use.

What a model is and how it loads lives in its spec (:mod:`.spec`); this module
only keeps the loaded objects, says what state each is in, and frees memory:
on request, after idle minutes, or when the GPU is too full for the next model.

NeMo and torch are imported inside the functions: importing NeMo takes several
seconds, and the page should be up before that.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import logging
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Iterator

from ..classify import report
from ..errors import StudioError
from ..settings import Settings
from . import gpu
from . import spec as specs
from .device import resolve_device

log = logging.getLogger(__name__)


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
    precision: str | None = None  # "bf16 (compute capability 8.6 has bf16 hardware)"

    def describe(self) -> str:
        if self.state is ModelState.LOADED:
            precision = f", {self.precision}" if self.precision else ""
            return f"loaded on {self.device} in {self.load_seconds:.1f} s{precision}"
        if self.state is ModelState.FAILED and self.error is not None:
            return f"failed: {self.error.title}"
        return self.state.value


@dataclass(frozen=True)
class ModelRow:
    """One model as the Models tab shows it."""
    spec: specs.ModelSpec
    status: ModelStatus
    busy: bool
    memory_bytes: int | None  # weights and buffers of the loaded model; None when not loaded


class _Entry:
    def __init__(self, spec: specs.ModelSpec):
        self.spec = spec
        self.lock = threading.Lock()
        self.model = None
        self.status = ModelStatus()
        self.in_use = 0
        self.last_used = time.monotonic()


def give_back_freed_memory() -> None:
    """Collect garbage and return freed heap memory to the system (Linux/glibc; elsewhere only the collection).

    A load that reads a whole checkpoint into memory frees it once copied into the model (the diarizer's; a
    Parakeet load whose checkpoint was read whole held 4.8 GB after it where the model is 2.4 GB, measured,
    docs/PERFORMANCE.md), and a streamed load frees each tensor read once placed; glibc keeps such freed memory
    for reuse. Unloading a model leaves the same kind of hole."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (Windows, macOS)
        pass


def _memory_bytes(model) -> int:
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


class ModelCache:
    """One loaded copy of each registered model per process, loaded on first use.

    A job takes a model through :meth:`use`, the one way in: jobs run one at a
    time, and a model in use is never unloaded under them. A per-model lock
    makes simultaneous first requests wait for one load instead of loading
    twice. ``status`` never blocks, so the page can show "loading".
    """

    def __init__(self, settings: Settings, free_gpu_bytes: Callable[[Any], int] = gpu.free_bytes):
        self.settings = settings
        self._entries = {spec.key: _Entry(spec) for spec in specs.all_specs()}
        self._free_gpu_bytes = free_gpu_bytes
        self.load_count = {key: 0 for key in self._entries}
        self.idle_unload_minutes = settings.idle_unload_minutes
        self.notices: collections.deque[str] = collections.deque(maxlen=20)
        # One model job at a time in this process. Gradio's queue serialises jobs too, but it
        # frees its slot the moment a job is cancelled, while the job's thread runs on to its
        # next step; this lock is what keeps the next job off the model until then.
        self._work = threading.RLock()

    def load(self, key: str) -> None:
        """Load the model now if it is not loaded (the Models tab's button, a batch's first step)."""
        self._loaded(key)

    @contextlib.contextmanager
    def use(self, key: str) -> Iterator[Any]:
        """The model, for one job: jobs run one at a time, and idle unloading skips a busy model."""
        entry = self._entry(key)
        with self._work:
            model = self._loaded(key)
            entry.in_use += 1
            try:
                yield model
            finally:
                entry.in_use -= 1
                entry.last_used = time.monotonic()

    def _loaded(self, key: str):
        entry = self._entry(key)
        with entry.lock:
            if entry.model is not None:
                return entry.model
            entry.status = ModelStatus(ModelState.LOADING)
            started = time.perf_counter()
            try:
                device = resolve_device(self.settings.device)
                gpu.apply_cap(self.settings, device)
                self._make_room(key, device)
                model = entry.spec.load(self.settings, device)
            except Exception as exc:
                error = entry.spec.advised(report(exc, f"loading {entry.spec.label}"))
                entry.status = ModelStatus(ModelState.FAILED, error=error)
                raise error from exc
            give_back_freed_memory()
            self.load_count[key] += 1
            entry.model = model
            entry.last_used = time.monotonic()
            entry.status = ModelStatus(ModelState.LOADED, device=str(device),
                                       load_seconds=time.perf_counter() - started,
                                       precision=getattr(model, "studio_precision", None))
            log.info("%s %s", entry.spec.label, entry.status.describe())
            return model

    def _entry(self, key: str) -> _Entry:
        if key not in self._entries:
            specs.get(key)  # raises the named error for an unknown model
            raise StudioError(f"{specs.label(key)} was registered after this app started.",
                              next_steps="Restart the app to use it.")
        return self._entries[key]

    def _make_room(self, key: str, device) -> None:
        """On a GPU too full for ``key``, unload the other (idle) models first, and say so."""
        needed = self._entries[key].spec.gpu_bytes
        if device.type != "cuda" or gpu.budget_bytes(self.settings, device, self._free_gpu_bytes) >= needed:
            return
        for other, entry in self._entries.items():
            # Non-blocking: an entry whose lock is held is loading; leave it be (no lock-order deadlock).
            if other == key or entry.model is None or entry.in_use or not entry.lock.acquire(blocking=False):
                continue
            try:
                self._drop(entry)
            finally:
                entry.lock.release()
            self._notice(f"{entry.spec.label} was unloaded to make room on the GPU for "
                         f"{self._entries[key].spec.label}.")

    def fits_together(self, first: str, second: str) -> bool:
        """Whether both models can be resident at once: always on the CPU; on a GPU, within the budget."""
        device = resolve_device(self.settings.device)
        if device.type != "cuda":
            return True
        held = sum(_memory_bytes(self._entries[k].model) for k in (first, second)
                   if self._entries[k].model is not None)
        needed = self._entries[first].spec.gpu_bytes + self._entries[second].spec.gpu_bytes
        return gpu.budget_bytes(self.settings, device, self._free_gpu_bytes) + held >= needed

    def _notice(self, text: str) -> None:
        self.notices.append(text)
        log.warning(text)

    def status(self, key: str) -> ModelStatus:
        return self._entry(key).status

    def is_loaded(self, key: str) -> bool:
        return self._entry(key).model is not None

    def is_busy(self, key: str) -> bool:
        return self._entry(key).in_use > 0

    def snapshot(self) -> list[ModelRow]:
        """Every model's state, in registration order, for the Models tab; never blocks on a load."""
        rows = []
        for entry in self._entries.values():
            model = entry.model  # one read: the row describes this object even if it is dropped meanwhile
            rows.append(ModelRow(entry.spec, entry.status, entry.in_use > 0,
                                 _memory_bytes(model) if model is not None else None))
        return rows

    def unload(self, key: str) -> bool:
        """Unload the model ``key``; whether it was loaded (a failed load's state is cleared either way)."""
        entry = self._entry(key)
        if entry.in_use:
            raise StudioError(f"{entry.spec.label} is busy with a job.",
                              next_steps="Unload it when the job has finished.")
        with entry.lock:
            was_loaded = entry.model is not None
            self._drop(entry)
        return was_loaded

    def unload_idle(self, now: float | None = None) -> list[str]:
        """Unload every model unused for ``idle_unload_minutes`` (0: never); return their keys."""
        if not self.idle_unload_minutes:
            return []
        now = time.monotonic() if now is None else now
        dropped = []
        for key, entry in self._entries.items():
            idle = now - entry.last_used
            if entry.model is not None and not entry.in_use and idle >= self.idle_unload_minutes * 60:
                with entry.lock:
                    self._drop(entry)
                dropped.append(key)
                minutes = f"{self.idle_unload_minutes:g} idle minute" + ("" if self.idle_unload_minutes == 1 else "s")
                self._notice(f"{entry.spec.label} was unloaded after {minutes}.")
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
        give_back_freed_memory()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
