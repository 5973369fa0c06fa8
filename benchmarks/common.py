"""What the benchmark's parts share: paths, the children's environment, statistics, memory readings."""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
PYTHON = sys.executable


def child_env(hub_cache: Path, work_dir: Path, extra: dict | None = None) -> dict:
    """The environment of every child: offline, a private HF cache, logs and uploads out of the repo."""
    env = dict(os.environ)
    for name in ("PARAKEET_NEMO", "CANARY_REPO", "CANARY_REVISION", "QWEN_REPO", "QWEN_REVISION", "STUDIO_DEVICE",
                 "STUDIO_OUTPUT_DIR", "HF_TOKEN"):
        env.pop(name, None)
    env.update({
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(work_dir / "hf_home"),
        "HF_HUB_CACHE": str(hub_cache),
        "STUDIO_LOG_FILE": str(work_dir / "studio.log"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(work_dir / "gradio_tmp"),
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
    })
    env.update(extra or {})
    return env


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "runs": []}
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": [round(v, 4) for v in values]}


def ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return numerator / denominator


# --- memory, read inside a process ------------------------------------------------------------

def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb() -> float | None:
    kb = _status_kb("VmRSS")
    if kb is None:
        try:
            import psutil

            return psutil.Process().memory_info().rss / 2**20
        except ImportError:
            return None
    return kb / 1024


def peak_rss_mb() -> float:
    """This process's peak RSS since start or the last :func:`reset_peak` (VmHWM; ru_maxrss elsewhere)."""
    kb = _status_kb("VmHWM")
    if kb is None:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":
            kb //= 1024
    return kb / 1024


def reset_peak() -> bool:
    """Restart the peak-RSS reading at the current RSS (Linux: ``clear_refs`` 5). False if unsupported."""
    release_free_memory()
    reset_anon_peak()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def release_free_memory() -> None:
    """Collect garbage and give freed heap pages back to the system, so RSS means memory in use (as the app's
    model cache does after every load)."""
    from transcribe_studio.models.cache import give_back_freed_memory

    give_back_freed_memory()


class AnonPeak:
    """Samples this process's anonymous RSS (``RssAnon``: memory that cannot be dropped, unlike the pages of a
    mapped checkpoint file that RSS also counts) every ``interval_s`` in a thread; ``peak_mb`` is the highest seen."""

    def __init__(self, interval_s: float = 0.01):
        import threading

        self.interval_s = interval_s
        self.peak_mb = self._read()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="anon-peak", daemon=True)

    @staticmethod
    def _read() -> float | None:
        kb = _status_kb("RssAnon")
        return None if kb is None else kb / 1024

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            value = self._read()
            if value is not None and (self.peak_mb is None or value > self.peak_mb):
                self.peak_mb = value

    def reset(self) -> None:
        self.peak_mb = self._read()

    def __enter__(self) -> "AnonPeak":
        if self.peak_mb is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        value = self._read()
        if value is not None and (self.peak_mb is None or value > self.peak_mb):
            self.peak_mb = value


ANON: AnonPeak | None = None  # the running sampler of a measurement process (see benchmarks.zygote)


def reset_anon_peak() -> None:
    if ANON is not None:
        ANON.reset()


def anon_peak_mb() -> float | None:
    return None if ANON is None else ANON.peak_mb


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def write_report(out: Path, name: str, results, table: str) -> None:
    """``<name>.json`` (the results) and ``<name>.md`` (their table) in ``out``, and the table printed."""
    write_json(out / f"{name}.json", results)
    (out / f"{name}.md").write_text(table + "\n", encoding="utf-8")
    print(table)
