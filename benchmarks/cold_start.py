"""Parakeet's cold start: the app's loader against NeMo's plain restore and cast, each load in a fresh process.

    python -m benchmarks.cold_start --nemo benchmarks/.models/parakeet.nemo --device cpu --runs 2

(a missing ``--nemo`` file is built first: the full-size architecture of :mod:`benchmarks.full_models`).
On a GPU the check runs it as ``python3 -m benchmarks.gpu_check --only cold_start``.

The ways of loading, each ending with the model on the device in the precision the app picks (bf16 on a card
that has it, else fp32):

* ``app``: ``nemo_asr.load``, the checkpoint streamed from the ``.nemo`` to the device tensor by tensor, each
  in its final dtype;
* ``in_place``: ``fast_load.restore(map_location=device)`` then the cast: the whole checkpoint read from the
  archive in place by ``torch.load``, loaded into the fp32 model on the device (the app's path before streaming,
  16.1 s and a 5.0 GB GPU peak on an H100);
* ``plain``: ``ASRModel.restore_from(map_location=device)`` then the cast, as a user of NeMo would write it;
* ``app_bf16`` (not run by default): the app's streamed load with bf16 on the CPU, i.e. its GPU path with the
  host as the device: what it holds above the bf16 model itself is what the GPU path needs in host RAM.

Each load runs in its own process, so its host peak is its own; the CUDA context is made before the baseline
(it is the process's, not the load's). Figures: seconds, host RSS peak above the start (``VmHWM``, restarted
just before; ``RssAnon`` sampled every 10 ms beside it), ``torch.cuda.max_memory_allocated``, and the model's
own size. Ways alternate in order from run to run; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402

WAYS = ("app", "in_place", "plain")
ALL_WAYS = WAYS + ("app_bf16",)


def _load(way: str, nemo: Path, device, dtype):
    if way == "app_bf16":
        import torch

        from transcribe_studio.models.fast_load import restore_streamed

        return restore_streamed(nemo, device, torch.bfloat16).eval()
    if way == "app":
        from transcribe_studio.models import nemo_asr

        return nemo_asr.load(nemo, "Parakeet", device)
    if way == "in_place":
        from transcribe_studio.models.fast_load import restore

        model = restore(nemo, map_location=device)
    else:
        from nemo.collections.asr.models import ASRModel

        model = ASRModel.restore_from(str(nemo), map_location=device)
    return model.eval() if dtype is None else model.eval().to(dtype)


def _prepared(device):
    """The device, its CUDA context made (not the load's cost), and the dtype the app picks for it."""
    import torch

    from transcribe_studio.models import gpu

    device = torch.device(device)
    if device.type == "cuda":
        torch.ones(1, device=device)
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    precision, _ = gpu.choose_precision(device)
    return device, (torch.bfloat16 if precision == "bf16" else None)


def _model_mb(model) -> float:
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors) / 1e6


def load_once(way: str, nemo_path: Path, device: str) -> dict:
    """One load, measured in this (fresh) process."""
    import torch
    from nemo.collections.asr.models import ASRModel  # noqa: F401 - imported before the baseline, as the app has it

    device, dtype = _prepared(device)
    common.reset_peak()
    start_mb = common.rss_mb()
    with common.AnonPeak() as anon:
        anon_start_mb = anon.peak_mb  # RssAnon now: RSS also counts mapped files (libraries)
        started = time.perf_counter()
        model = _load(way, nemo_path, device, dtype)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - started
    return {"way": way, "seconds": round(seconds, 2),
            "host_peak_above_start_mb": round(common.peak_rss_mb() - start_mb),
            "anon_peak_above_start_mb": None if anon.peak_mb is None else round(anon.peak_mb - anon_start_mb),
            "gpu_peak_mb": round(torch.cuda.max_memory_allocated(device) / 1e6) if device.type == "cuda" else None,
            "model_mb": round(_model_mb(model)), "dtype": str(next(model.parameters()).dtype).replace("torch.", "")}


def _run_child(way: str, nemo: Path, device: str, timeout: float) -> dict:
    command = [sys.executable, "-m", "benchmarks.cold_start", "--child", way, "--nemo", str(nemo),
               "--device", device]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=os.environ.copy(),
                              cwd=common.BENCH_DIR.parent)
    except subprocess.TimeoutExpired:
        return {"way": way, "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return {"way": way, "error": f"exit {done.returncode}", "log_tail": (done.stdout + done.stderr)[-1500:]}
    return json.loads(lines[-1])


def measure(nemo: Path, device: str, runs: int = 2, ways=WAYS, timeout: float = 300.0) -> dict:
    """``runs`` loads of each way, alternating the order; every load in a fresh process."""
    rows = []
    for run in range(runs):
        for way in ways if run % 2 == 0 else tuple(reversed(ways)):
            rows.append({"run": run, **_run_child(way, nemo, device, timeout)})
    return {"device": device, "nemo_bytes": nemo.stat().st_size, "runs": rows, "medians": _medians(rows, ways)}


def _medians(rows: list[dict], ways) -> dict:
    fields = ("seconds", "host_peak_above_start_mb", "anon_peak_above_start_mb", "gpu_peak_mb", "model_mb")
    medians = {}
    for way in ways:
        done = [row for row in rows if row["way"] == way and "error" not in row]
        medians[way] = {field: common.median([row[field] for row in done if row.get(field) is not None])
                        for field in fields} if done else {"error": "no run finished"}
    return medians


def table(result: dict) -> list[str]:
    """The medians as a Markdown table, one row a way."""
    lines = ["| way | load s | host RAM peak above start, MB | anonymous RAM peak above start, MB | GPU peak, MB "
             "| model, MB |", "|---|---|---|---|---|---|"]
    for way, m in result["medians"].items():
        cells = [m.get(f) for f in ("seconds", "host_peak_above_start_mb", "anon_peak_above_start_mb",
                                    "gpu_peak_mb", "model_mb")]
        lines.append(f"| {way} | " + " | ".join("-" if v is None else f"{v:g}" for v in cells) + " |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nemo", type=Path, default=common.BENCH_DIR / ".models" / "parakeet.nemo")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--ways", default=",".join(WAYS), help="which of " + ", ".join(ALL_WAYS))
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    parser.add_argument("--child", choices=ALL_WAYS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(load_once(args.child, args.nemo, args.device)))
        return 0
    if not args.nemo.is_file():
        from benchmarks import full_models

        full_models.build_full_parakeet(args.nemo, device=args.device)
    result = measure(args.nemo, args.device, args.runs, tuple(args.ways.split(",")))
    if args.out:
        common.write_json(args.out, result)
    print("\n".join(table(result)))
    return 0 if all("error" not in m for m in result["medians"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
