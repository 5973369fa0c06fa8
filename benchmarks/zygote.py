"""A worker that imports NeMo once, then runs each measurement in its own forked process.

Importing NeMo takes 6-11 s; paying it once per measurement would make the
quick mode far longer than the measurements themselves. So this process
imports what the measurements need, then forks one child per task: every
measurement starts in a fresh process (no model loaded, nothing cached in
Python) with NeMo already imported, as the figures ask, and its memory is its
own. Inside the child the peak RSS is restarted at the fork (Linux
``/proc/self/clear_refs``), so it is the child's own peak; the parent also
records the kernel's ``ru_maxrss`` for the child from ``wait4``.

``--no-fork`` runs the tasks one after the other in this process instead (the
GPU figures: CUDA must not be initialised before a fork).

Usage (the orchestrator does this): ``python -m benchmarks.zygote --preload asr,salm
--tasks tasks.json --results results.json``. Each task is ``{"fn": name, "args": {...},
"label": str, "timeout_s": float}``; the results file is rewritten after every task.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402

PRELOADS = {
    "asr": ["nemo.collections.asr", "nemo.collections.asr.models"],
    "salm": ["nemo.collections.speechlm2.models"],
    "app": ["transcribe_studio.models", "transcribe_studio.transcription.engine", "transcribe_studio.transcription.batch",
            "transcribe_studio.media.decode", "transcribe_studio.media.windows",
            "transcribe_studio.outputs.writers"],
}


def preload(names: list[str]) -> float:
    import importlib

    started = time.perf_counter()
    importlib.import_module("torch")
    importlib.import_module("numpy")
    importlib.import_module("benchmarks.tasks")
    for name in names:
        for module in PRELOADS[name]:
            importlib.import_module(module)
    return time.perf_counter() - started


def _run_task(task: dict) -> dict:
    from benchmarks import tasks

    common.reset_peak()
    start_rss = common.rss_mb()
    start_anon = common.AnonPeak._read()
    with common.AnonPeak() as anon:
        common.ANON = anon
        try:
            result = tasks.TASKS[task["fn"]](**task.get("args", {}))
        except BaseException as exc:  # noqa: BLE001 - reported as the task's result
            result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        finally:
            common.ANON = None
    result.setdefault("rss_start_mb", start_rss)
    result.setdefault("peak_rss_mb", common.peak_rss_mb())
    result.setdefault("peak_anon_mb", anon.peak_mb)
    result.setdefault("anon_start_mb", start_anon)
    return result


def run_forked(task: dict) -> dict:
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: one measurement, then leave without running any exit handlers
        os.close(read_end)
        code = 0
        try:
            payload = json.dumps(_run_task(task), default=str).encode()
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    deadline = time.monotonic() + float(task.get("timeout_s", 3600))
    chunks, timed_out = [], False
    with os.fdopen(read_end, "rb") as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                os.kill(pid, signal.SIGKILL)  # our own child, by its id
                break
            ready, _, _ = select.select([pipe], [], [], min(left, 5.0))
            if ready:
                chunk = os.read(pipe.fileno(), 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    _, status, usage = os.wait4(pid, 0)
    result = {}
    if chunks:
        try:
            result = json.loads(b"".join(chunks))
        except json.JSONDecodeError as exc:
            result = {"error": f"unreadable result: {exc}"}
    if timed_out:
        result["error"] = f"timed out after {task.get('timeout_s')} s"
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        result["error"] = f"killed by signal {sig}" + (" (out of memory?)" if sig == signal.SIGKILL else "")
    elif not chunks:
        result["error"] = f"exited with status {os.WEXITSTATUS(status)} and no result"
    kb = usage.ru_maxrss
    result["wait4_maxrss_mb"] = kb / 1024
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run benchmark tasks, each in a fork of a NeMo-imported process.")
    parser.add_argument("--preload", default="", help="comma-separated: " + ", ".join(PRELOADS))
    parser.add_argument("--tasks", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--no-fork", action="store_true")
    args = parser.parse_args(argv)
    tasks_list = json.loads(args.tasks.read_text())
    import_seconds = preload([p for p in args.preload.split(",") if p])
    done = []
    for task in tasks_list:
        print(f"[zygote] {task.get('label', task['fn'])}", flush=True)
        started = time.perf_counter()
        result = _run_task(task) if args.no_fork else run_forked(task)
        result["wall_seconds"] = time.perf_counter() - started
        if result.get("error"):
            print(f"[zygote] error: {result['error']}\n{result.get('traceback', '')}", file=sys.stderr, flush=True)
        done.append({"task": task, "result": result})
        common.write_json(args.results, {"import_seconds": import_seconds, "done": done})
    common.write_json(args.results, {"import_seconds": import_seconds, "done": done, "finished": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
