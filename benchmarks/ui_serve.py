"""Figure 1: seconds from starting a server process until ``GET /`` on 127.0.0.1 answers 200."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from benchmarks import common


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server we started (its own process group, by its id)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def time_until_served(argv: list[str], env: dict, log_path: Path, timeout_s: float = 180.0) -> dict:
    """Start ``argv`` (which gets ``--port P`` appended) and poll http://127.0.0.1:P/ every 20 ms."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(argv + ["--port", str(port)], cwd=common.REPO_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            while time.perf_counter() - started < timeout_s:
                if proc.poll() is not None:
                    return {"error": f"exited with status {proc.returncode} before serving (see {log_path})"}
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            return {"seconds": time.perf_counter() - started}
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass
                time.sleep(0.02)
            return {"error": f"not served within {timeout_s:.0f} s"}
        finally:
            _stop(proc)


def measure(parakeet_path: Path, env: dict, log_dir: Path, runs: int, warmups: int = 1,
            progress=print) -> dict:
    """The studio (``python transcribe_ui.py --port P``) against the bare Blocks app, interleaved."""
    studio = [common.PYTHON, "transcribe_ui.py"]
    bare = [common.PYTHON, str(common.BENCH_DIR / "bare_gradio.py")]
    env = dict(env, PARAKEET_NEMO=str(parakeet_path))
    app_times, bare_times, errors = [], [], []
    for i in range(warmups + runs):
        order = [("bare", bare), ("app", studio)] if i % 2 == 0 else [("app", studio), ("bare", bare)]
        for name, argv in order:
            result = time_until_served(argv, env, log_dir / f"ui_{name}.log")
            if "error" in result:
                errors.append(f"{name}: {result['error']}")
                continue
            if i >= warmups:
                (app_times if name == "app" else bare_times).append(result["seconds"])
        if i >= warmups:
            progress(f"  run {i - warmups + 1}/{runs}: app {app_times[-1] if app_times else float('nan'):.2f} s, "
                     f"bare {bare_times[-1] if bare_times else float('nan'):.2f} s")
    return {"app": common.spread(app_times), "bare": common.spread(bare_times), "errors": errors,
            "app_command": "python transcribe_ui.py --port P", "bare_command": "python benchmarks/bare_gradio.py --port P"}
