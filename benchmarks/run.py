"""Run the benchmark suite: ``python -m benchmarks`` (quick, the default) or ``python -m benchmarks --full``.

Writes ``benchmarks/results/<timestamp>/results.json``, ``report.md`` and PNG plots.
Every figure is a ratio against the raw NeMo (or bare Gradio) call measured in
the same run, on the same input, on this machine. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common, models, ui_serve  # noqa: E402

PLANS = {
    "quick": {
        "ui_runs": 3, "load_runs": 3, "canary_load_runs": 3, "e2e_runs": 3, "e2e_seconds": 60,
        "second_request_seconds": 4,
        # Parakeet's passes are at most 5 min on a CPU: lengths past that show whether memory stays bounded.
        # Canary's windows are at most 40 s, and the tiny SALM always generates its full token limit.
        "scaling_minutes": {"parakeet": [1, 5, 10, 30], "canary": [1, 2, 8, 16]},
        # Raw NeMo on the whole file: Parakeet's full attention is O(length^2) in memory.
        "raw_max_minutes": {"parakeet": 5, "canary": 16},
        "task_timeout_s": 900,
    },
    "full": {
        "ui_runs": 5, "load_runs": 5, "canary_load_runs": 3, "e2e_runs": 5, "e2e_seconds": 60,
        "second_request_seconds": 4,
        "scaling_minutes": {"parakeet": [1, 10, 30, 60], "canary": [1, 10, 30, 60]},
        "raw_max_minutes": {"parakeet": 10, "canary": 60},
        "task_timeout_s": 5400,
    },
}


def say(message: str) -> None:
    print(message, flush=True)


# --- the machine ------------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        return None


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def app_version() -> dict:
    """The commit measured, and the app files that differ from it (a benchmark of uncommitted code says so)."""
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=common.REPO_ROOT, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = git("status", "--porcelain", "--", "transcribe_studio", "transcribe_ui.py", "requirements.txt")
    return {"commit": git("rev-parse", "HEAD") or None,
            "uncommitted": [line[3:] for line in changed.splitlines() if line.strip()]}


def describe_machine(child: dict) -> dict:
    physical = None
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except ImportError:
        pass
    gpus = child.get("gpus") or []
    return {
        "cpu": _cpu_model(), "logical_cores": os.cpu_count(), "physical_cores": physical,
        "torch_threads": child.get("torch_threads"), "ram_gib": _ram_gib(),
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "torch": _version("torch"), "nemo_toolkit": _version("nemo_toolkit"), "gradio": _version("gradio"),
        "transformers": _version("transformers"), "huggingface_hub": _version("huggingface_hub"),
        "av": _version("av"), "gpu": ", ".join(gpus) if gpus else "no GPU",
        "cuda_available": bool(child.get("cuda_available")),
    }


# --- other load on the machine ---------------------------------------------------------------------

def cpu_snapshot() -> dict:
    """Busy CPU seconds of the whole machine (/proc/stat) and of this process and its waited-for children."""
    import resource

    busy = None
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
        user, nice, system, idle, iowait, irq, softirq, steal = fields + [0] * (8 - len(fields))
        busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        pass
    ours = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for field in ("ru_utime", "ru_stime"))
    return {"busy": busy, "ours": ours, "wall": time.monotonic()}


def contention(before: dict, after: dict) -> dict:
    """CPU time other processes (or the hypervisor) took while a phase ran: timings are noisy when it is high."""
    if before["busy"] is None or after["busy"] is None:
        return {}
    wall = after["wall"] - before["wall"]
    foreign = max(0.0, (after["busy"] - before["busy"]) - (after["ours"] - before["ours"]))
    return {"wall_seconds": round(wall, 1), "foreign_cpu_seconds": round(foreign, 1),
            "foreign_share": round(foreign / (wall * (os.cpu_count() or 1)), 3) if wall > 0 else 0.0}


# --- running tasks in the zygote ---------------------------------------------------------------------

def run_tasks(tasks: list[dict], env: dict, work: Path, log_path: Path, preload: str, no_fork: bool = False,
              describe=None) -> list[dict]:
    """Run ``tasks`` in one :mod:`benchmarks.zygote` process; return one result per task, in order."""
    stamp = f"{time.monotonic_ns()}"
    tasks_file, results_file = work / f"tasks_{stamp}.json", work / f"results_{stamp}.json"
    tasks_file.write_text(json.dumps(tasks), encoding="utf-8")
    argv = [common.PYTHON, "-m", "benchmarks.zygote", "--preload", preload, "--tasks", str(tasks_file),
            "--results", str(results_file)] + (["--no-fork"] if no_fork else [])
    deadline = time.monotonic() + 300 + sum(float(t.get("timeout_s", 3600)) for t in tasks)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    seen = 0
    done: list = []
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, cwd=common.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            while True:
                finished = proc.poll() is not None
                if results_file.exists():
                    try:
                        done = json.loads(results_file.read_text())["done"]
                    except (json.JSONDecodeError, KeyError):
                        pass
                for entry in done[seen:]:
                    label = entry["task"].get("label", entry["task"]["fn"])
                    error = entry["result"].get("error")
                    say(f"  {label}: " + (f"ERROR {error}" if error else (describe(entry) if describe else "done")))
                seen = len(done)
                if finished:
                    break
                if time.monotonic() > deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    break
                time.sleep(0.5)
        except BaseException:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            raise
    results = [entry["result"] for entry in done]
    for task in tasks[len(results):]:
        results.append({"error": f"the worker stopped before this task (exit status {proc.returncode}; "
                                 f"see {log_path})"})
    return results


def _describe(entry: dict) -> str:
    r = entry["result"]
    parts = []
    if isinstance(r.get("seconds"), (int, float)):
        parts.append(f"{r['seconds']:.2f} s")
    if isinstance(r.get("app"), dict) and r["app"].get("median") is not None:
        parts.append(f"app {r['app']['median']:.2f} s, raw {r['raw']['median']:.2f} s (medians)")
    if r.get("peak_rss_mb") and entry["task"]["fn"] not in ("read_file", "canary_prepare"):
        parts.append(f"peak RSS {r['peak_rss_mb']:.0f} MiB")
    return ", ".join(parts) or "done"


# --- the figures ------------------------------------------------------------------------------------

def _settings_spec(parakeet: Path, hub: Path, output_dir: Path) -> dict:
    return {"parakeet_path": str(parakeet), "hf_cache_dir": str(hub), "output_dir": str(output_dir),
            "device": "cpu"}


def _canary_weights(hub: Path, pins: dict) -> Path:
    return (hub / ("models--" + pins["canary_repo"].replace("/", "--")) / "snapshots" / pins["canary_commit"]
            / "model.safetensors")


def _warm(path: Path) -> None:
    """Read a file once so that the measured reads come from the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 24):
            pass


def build_tasks(plan: dict, models_info: dict, files: dict, work: Path, pins: dict, wanted: set) -> list[dict]:
    timeout = plan["task_timeout_s"]
    load_parakeet = Path(models_info["load"]["parakeet"]["path"])
    load_hub = Path(models_info["load"]["canary"]["hub_cache"])
    run_parakeet = Path(models_info["run"]["parakeet"]["path"])
    run_hub = Path(models_info["run"]["canary"]["hub_cache"])
    out = work / "outputs"
    load_spec = _settings_spec(load_parakeet, load_hub, out)
    run_spec = _settings_spec(run_parakeet, run_hub, out)
    tasks = []

    def add(figure, fn, label, **args):
        tasks.append({"figure": figure, "fn": fn, "label": label, "args": args, "timeout_s": timeout})

    if 3 in wanted or 4 in wanted or 5 in wanted or 6 in wanted:
        add(0, "canary_prepare", "prepare: Canary overlay (load models)", settings=load_spec)
        if run_hub != load_hub:
            add(0, "canary_prepare", "prepare: Canary overlay (tiny SALM)", settings=run_spec)
    if 2 in wanted:
        for i in range(plan["load_runs"]):
            n = f"{i + 1}/{plan['load_runs']}"
            add(2, "read_file", f"fig 2 read the .nemo into memory {n}", path=str(load_parakeet), mode="memory")
            add(2, "read_file", f"fig 2 stream the .nemo {n}", path=str(load_parakeet), mode="stream")
            pair = [("parakeet_app_load", f"fig 2 app load_parakeet {n}", {"settings": load_spec}),
                    ("parakeet_raw_restore", f"fig 2 raw ASRModel.restore_from {n}", {"path": str(load_parakeet)})]
            for fn, label, args in (pair if i % 2 == 0 else pair[::-1]):
                add(2, fn, label, **args)
    if 3 in wanted:
        weights = _canary_weights(load_hub, pins)
        add(3, "read_file", "fig 3 read model.safetensors", path=str(weights))
        for i in range(plan["canary_load_runs"]):
            n = f"{i + 1}/{plan['canary_load_runs']}"
            trio = [("canary_app_load", f"fig 3 app load_canary {n}", {"settings": load_spec}),
                    ("canary_app_load_gpu_path", f"fig 3 app load_canary, GPU path minus the copy {n}",
                     {"settings": load_spec}),
                    ("canary_raw_load", f"fig 3 raw SALM.from_pretrained + bf16 {n}",
                     {"repo": pins["canary_repo"], "revision": pins["canary_commit"], "cast_bf16": True,
                      "cache_dir": str(load_hub)}),
                    ("canary_raw_load", f"fig 3 raw SALM.from_pretrained (fp32) {n}",
                     {"repo": pins["canary_repo"], "revision": pins["canary_commit"], "cast_bf16": False,
                      "cache_dir": str(load_hub)})]
            shift = i % len(trio)
            for fn, label, args in trio[shift:] + trio[:shift]:
                add(3, fn, label, **args)
    if 4 in wanted:
        add(4, "second_request", "fig 4 two requests per model", settings=run_spec,
            models=["parakeet", "canary"], seconds=plan["second_request_seconds"])
    if 5 in wanted:
        for name in ("parakeet", "canary"):
            add(5, "end_to_end", f"fig 5 end to end, {name}", settings=run_spec, model_name=name,
                source=str(files["e2e"]), runs=plan["e2e_runs"])
    if 6 in wanted:
        for name in ("parakeet", "canary"):
            for minutes in plan["scaling_minutes"][name]:
                sides = ["app"] + (["raw"] if minutes <= plan["raw_max_minutes"][name] else [])
                for side in sides:
                    add(6, "scaling", f"fig 6 {name} {minutes:g} min, {side}", settings=run_spec, model_name=name,
                        source=str(files["scaling"][minutes]), side=side)
                    tasks[-1]["minutes"] = minutes
    return tasks


def _values(pairs: list, fn: str, key: str = "seconds", where=None) -> list:
    """``key`` of every result of task ``fn`` that did not fail (and whose task passes ``where``)."""
    return [r.get(key) for t, r in pairs if t["fn"] == fn and not r.get("error") and (where is None or where(t))]


def collect(tasks: list[dict], results: list[dict], plan: dict, files: dict) -> dict:
    """Group the task results into the figures of results.json."""
    figures: dict = {}
    by_fig: dict = {}
    for task, result in zip(tasks, results):
        by_fig.setdefault(task["figure"], []).append((task, result))
    errors = {f: [f"{t['label']}: {r['error']}" for t, r in pairs if r.get("error")] for f, pairs in by_fig.items()}
    if 2 in by_fig:
        figures["2_parakeet_load"] = _parakeet_load_figure(by_fig[2], errors.get(2, []))
    if 3 in by_fig:
        figures["3_canary_load"] = _canary_load_figure(by_fig[3], errors.get(3, []))
    if 4 in by_fig:
        task, result = by_fig[4][0]
        figures["4_second_request"] = {**{k: v for k, v in result.items() if isinstance(v, dict)},
                                       "audio_seconds": task["args"]["seconds"], "errors": errors.get(4, [])}
    if 5 in by_fig:
        figures["5_end_to_end"] = {t["args"]["model_name"]: r for t, r in by_fig[5]}
        figures["5_end_to_end"]["source"] = Path(files["e2e"]).name
        figures["5_end_to_end"]["errors"] = errors.get(5, [])
    if 6 in by_fig:
        rows = {}
        for task, result in by_fig[6]:
            rows.setdefault(task["args"]["model_name"], []).append(
                {"minutes": task["minutes"], "side": task["args"]["side"], **result})
        figures["6_scaling"] = {**rows, "minutes": plan["scaling_minutes"], "raw_max_minutes": plan["raw_max_minutes"],
                                "errors": errors.get(6, [])}
    return figures


def _parakeet_load_figure(pairs: list, errors: list[str]) -> dict:
    app_runs = [r for t, r in pairs if t["fn"] == "parakeet_app_load" and not r.get("error")]
    return {
        "file_read": common.spread(_values(pairs, "read_file", where=lambda t: t["args"].get("mode") == "memory")),
        "file_stream": common.spread(_values(pairs, "read_file",
                                             where=lambda t: t["args"].get("mode", "stream") == "stream")),
        "file_bytes": next((r.get("bytes") for t, r in pairs if t["fn"] == "read_file" and r.get("bytes")), None),
        "app_load": common.spread(_values(pairs, "parakeet_app_load")),
        "raw_restore_from": common.spread(_values(pairs, "parakeet_raw_restore")),
        "app_peak_rss_mb": common.spread(_values(pairs, "parakeet_app_load", "peak_rss_mb")),
        "raw_peak_rss_mb": common.spread(_values(pairs, "parakeet_raw_restore", "peak_rss_mb")),
        "app_peak_anon_mb": common.spread(_values(pairs, "parakeet_app_load", "peak_anon_mb")),
        "raw_peak_anon_mb": common.spread(_values(pairs, "parakeet_raw_restore", "peak_anon_mb")),
        "parameters": app_runs[0].get("parameters") if app_runs else None,
        "app_dtypes": app_runs[0].get("dtypes") if app_runs else None,
        "errors": errors,
    }


def _canary_load_figure(pairs: list, errors: list[str]) -> dict:
    read = [r for t, r in pairs if t["fn"] == "read_file" and not r.get("error")]
    return {"app": _canary_side(pairs, "canary_app_load"),
            "app_gpu_path": _canary_side(pairs, "canary_app_load_gpu_path"),
            "raw_bf16": _canary_side(pairs, "canary_raw_load", True),
            "raw_fp32": _canary_side(pairs, "canary_raw_load", False),
            "checkpoint_read_seconds": read[0]["seconds"] if read else None,
            "checkpoint_bytes": read[0]["bytes"] if read else None,
            "errors": errors}


def _canary_side(pairs: list, fn: str, cast: bool | None = None) -> dict:
    """One way of loading Canary-Qwen (task ``fn``; for the raw load, with or without the bf16 ``cast``)."""
    def chosen(t):
        return t["fn"] == fn and (cast is None or t["args"].get("cast_bf16") == cast)

    runs = [r for t, r in pairs if chosen(t) and not r.get("error")]
    increase = [r["peak_rss_mb"] - r["rss_start_mb"] for r in runs
                if r.get("peak_rss_mb") is not None and r.get("rss_start_mb") is not None]
    anon_increase = [r["peak_anon_mb"] - r["anon_start_mb"] for r in runs
                     if r.get("peak_anon_mb") is not None and r.get("anon_start_mb") is not None]
    return {"seconds": common.spread([r.get("seconds") for r in runs]),
            "peak_rss_mb": common.spread([r.get("peak_rss_mb") for r in runs]),
            "peak_increase_mb": common.spread(increase),
            "peak_anon_mb": common.spread([r.get("peak_anon_mb") for r in runs]),
            "anon_increase_mb": common.spread(anon_increase),
            "errors": [r["error"] for t, r in pairs if chosen(t) and r.get("error")],
            "rss_start_mb": common.spread([r.get("rss_start_mb") for r in runs]),
            "rss_after_mb": common.spread([r.get("rss_after_mb") for r in runs]),
            "wait4_maxrss_mb": common.spread([r.get("wait4_maxrss_mb") for r in runs]),
            "dtypes": runs[0].get("dtypes") if runs else None,
            "parameter_bytes": runs[0].get("parameter_bytes") if runs else None,
            "parameters": runs[0].get("parameters") if runs else None}


def _gpu_figure(machine: dict, env: dict, work: Path, log_dir: Path, models_info: dict, files: dict,
                pins: dict, runs: int) -> dict:
    if not machine.get("cuda_available"):
        return {"taken": False, "reason": "no GPU on this machine (torch.cuda.is_available() is False)"}
    spec = _settings_spec(Path(models_info["gpu"]["parakeet"]["path"]), Path(models_info["gpu"]["canary"]["hub_cache"]),
                          work / "outputs")
    task = {"figure": 7, "fn": "gpu", "label": "fig 7 GPU real-time factors", "timeout_s": 3600,
            "args": {"settings": spec, "parakeet_path": spec["parakeet_path"], "canary_repo": pins["canary_repo"],
                     "canary_revision": pins["canary_commit"], "source": str(files["e2e"]), "runs": runs}}
    env = dict(env, HF_HUB_CACHE=spec["hf_cache_dir"])
    return run_tasks([task], env, work, log_dir / "gpu.log", "asr,salm,app", no_fork=True)[0]


# --- main -------------------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="tiny models, short audio: a few minutes on two CPU cores (default)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="full-size models (built once into --models-dir), 1-60 minutes of audio")
    parser.set_defaults(mode="quick")
    parser.add_argument("--runs", type=int, help="runs per figure (default: 3 quick, 5 full; 3 for Canary loads)")
    parser.add_argument("--figures", default="1,2,3,4,5,6,7", help="which figures, e.g. 1,2 (default: all)")
    parser.add_argument("--models-dir", type=Path, default=common.BENCH_DIR / ".models",
                        help="where --full builds and keeps its full-size models (~7.6 GB; default benchmarks/.models)")
    parser.add_argument("--rebuild-models", action="store_true", help="rebuild the full-size models")
    parser.add_argument("--results-dir", type=Path, default=common.BENCH_DIR / "results")
    parser.add_argument("--write-docs", action="store_true",
                        help="also copy this run's figures, machine and commands into docs/PERFORMANCE.md")
    parser.add_argument("--keep-work", action="store_true", help="keep the temporary work folder")
    return parser.parse_args(argv)


@dataclass
class _Run:
    """What every phase of one run shares: its options, plan, figures wanted, folders and child environment."""
    args: argparse.Namespace
    plan: dict
    wanted: set
    work: Path
    log_dir: Path
    env: dict


def _plan(args: argparse.Namespace) -> dict:
    plan = dict(PLANS[args.mode])
    if args.runs:
        plan.update(ui_runs=args.runs, load_runs=args.runs, canary_load_runs=args.runs, e2e_runs=args.runs)
    return plan


def _this_machine(run: _Run) -> dict:
    child = run_tasks([{"fn": "machine", "label": "machine", "timeout_s": 120}], run.env, run.work,
                      run.log_dir / "machine.log", "", no_fork=True)[0]
    machine = describe_machine(child)
    say(f"Machine: {machine['cpu']}, {machine['logical_cores']} cores, {machine['ram_gib']} GiB RAM, "
        f"{machine['gpu']}; torch {machine['torch']}, NeMo {machine['nemo_toolkit']}, gradio {machine['gradio']}")
    return machine


def _prepare_models(run: _Run) -> dict:
    """Which models each kind of figure uses: ``load`` (figures 1-3), ``run`` (4-6), ``gpu`` (7)."""
    say("Models:")
    tiny = models.prepare_tiny(run.work / "models", run.env, run.log_dir)
    say(f"  tiny models built in {tiny['parakeet']['build_seconds'] + tiny['canary']['build_seconds']:.0f} s")
    if run.args.mode != "full":
        return {"load": tiny, "run": tiny, "gpu": tiny, "tiny": tiny}
    full = models.prepare_full(run.args.models_dir, run.env, run.log_dir, run.args.rebuild_models, say)
    return {"load": full, "run": {"parakeet": full["parakeet"], "canary": tiny["canary"]},
            "gpu": full, "tiny": tiny, "full": full}


def _write_audio(run: _Run) -> dict:
    """The end-to-end MP3 and, for figure 6, one FLAC per scaling length (kept with the full-size models)."""
    from benchmarks import audio_files

    plan = run.plan
    audio_dir = (run.args.models_dir / "audio") if run.args.mode == "full" else (run.work / "audio")
    audio_dir.mkdir(parents=True, exist_ok=True)
    say(f"Audio: writing speech-like recordings into {audio_dir}...")
    t0 = time.perf_counter()
    files = {"e2e": audio_files.write_talk(audio_dir / f"talk_{plan['e2e_seconds']}s_44k_stereo.mp3",
                                           plan["e2e_seconds"], audio_files.talk(plan["e2e_seconds"]))}
    lengths = sorted({m for ms in plan["scaling_minutes"].values() for m in ms}) if 6 in run.wanted else []
    take = audio_files.talk(audio_files.TAKE_SECONDS, rate=16000) if lengths else None
    files["scaling"] = {m: audio_files.write_talk(audio_dir / f"talk_{m:g}min_16k_mono.flac", m * 60, take,
                                                  rate=16000, channels=1) for m in lengths}
    del take
    say(f"  done in {time.perf_counter() - t0:.0f} s")
    return files


def _measure(run: _Run, machine: dict, models_info: dict, files: dict, pins: dict) -> tuple[dict, dict]:
    """The figures wanted, and the CPU other processes took during each phase."""
    figures: dict = {}
    load: dict = {}
    if 1 in run.wanted:
        figures["1_ui_served"], load["figure 1"] = _ui_figure(run, models_info)
    if run.wanted & {2, 3, 4, 5, 6}:
        forked, load["figures 2-6"] = _forked_figures(run, models_info, files, pins)
        figures.update(forked)
    if 7 in run.wanted:
        say("Figure 7: GPU...")
        before = cpu_snapshot()
        figures["7_gpu"] = _gpu_figure(machine, run.env, run.work, run.log_dir, models_info, files, pins,
                                       run.plan["e2e_runs"])
        say("  taken" if figures["7_gpu"].get("taken") else
            f"  GPU figures were not taken: {figures['7_gpu'].get('reason')}")
        if figures["7_gpu"].get("taken"):
            load["figure 7"] = contention(before, cpu_snapshot())
    return figures, load


def _ui_figure(run: _Run, models_info: dict) -> tuple[dict, dict]:
    before = cpu_snapshot()
    say(f"Figure 1: UI served, studio vs bare Gradio ({run.plan['ui_runs']} runs each, interleaved)...")
    ui_env = dict(run.env, HF_HUB_CACHE=models_info["load"]["canary"]["hub_cache"],
                  STUDIO_OUTPUT_DIR=str(run.work / "ui_outputs"))
    figure = ui_serve.measure(Path(models_info["load"]["parakeet"]["path"]), ui_env, run.log_dir,
                              run.plan["ui_runs"], progress=say)
    return figure, contention(before, cpu_snapshot())


def _forked_figures(run: _Run, models_info: dict, files: dict, pins: dict) -> tuple[dict, dict]:
    """Figures 2-6: every measurement in its own process forked from one zygote, with the raw task results."""
    _warm(Path(models_info["load"]["parakeet"]["path"]))
    if 3 in run.wanted:
        _warm(_canary_weights(Path(models_info["load"]["canary"]["hub_cache"]), pins))
    tasks = build_tasks(run.plan, models_info, files, run.work, pins, run.wanted)
    say(f"Figures {', '.join(str(f) for f in sorted(run.wanted & {2, 3, 4, 5, 6}))}: {len(tasks)} measurements, "
        "each in its own process forked from one that has imported NeMo...")
    zy_env = dict(run.env, HF_HUB_CACHE=models_info["load"]["canary"]["hub_cache"])
    before = cpu_snapshot()
    results = run_tasks(tasks, zy_env, run.work, run.log_dir / "measurements.log", "asr,salm,app", describe=_describe)
    load = contention(before, cpu_snapshot())
    figures = collect(tasks, results, run.plan, files)
    figures["raw_tasks"] = [{"label": t["label"], "fn": t["fn"], "result": r} for t, r in zip(tasks, results)]
    return figures, load


def _warn_if_noisy(load: dict) -> None:
    for phase, value in load.items():
        if value.get("foreign_share", 0) > 0.05:
            say(f"WARNING: other processes used {value['foreign_share']:.0%} of the CPU during {phase}; "
                "its timings are noisy (rerun on a quiet machine).")


def _write_results(results_doc: dict, out_dir: Path, write_docs: bool, started: float) -> None:
    """``results.json``, the report beside it (and the docs' figures block), then the summary on the console."""
    common.write_json(out_dir / "results.json", results_doc)
    from benchmarks import report

    report.write_report(results_doc, out_dir)
    if write_docs:
        report.write_docs(results_doc, out_dir, common.REPO_ROOT / "docs" / "PERFORMANCE.md")
    say(f"\nDone in {time.perf_counter() - started:.0f} s.\n")
    say((out_dir / "summary.txt").read_text())
    say(f"Report: {out_dir / 'report.md'}")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    plan = _plan(args)
    wanted = {int(f) for f in args.figures.split(",") if f.strip()}
    started = time.perf_counter()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.results_dir / f"{stamp}-{args.mode}"
    log_dir = out_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    command = "python -m benchmarks " + " ".join(shlex.quote(a) for a in argv) if argv else "python -m benchmarks"
    say(f"Benchmarks ({args.mode}); results in {out_dir}; logs in {log_dir}")
    run = _Run(args, plan, wanted, work, log_dir, common.child_env(work / "hub_unused", work))
    version = app_version()  # at the start: others may change the code while a long run goes on
    try:
        machine = _this_machine(run)
        pins = models._pins()
        models_info = _prepare_models(run)
        files = _write_audio(run)
        figures, load = _measure(run, machine, models_info, files, pins)
        _warn_if_noisy(load)
        meta = {"mode": args.mode, "timestamp": stamp, "command": command, "machine": machine,
                "app_version": version,
                "plan": plan, "figures_run": sorted(wanted), "pins": pins, "other_load": load,
                "models": {k: v for k, v in models_info.items() if k in ("tiny", "full")},
                "audio": {"e2e": str(files["e2e"]), "scaling": {str(k): str(v) for k, v in files["scaling"].items()}},
                "seconds": round(time.perf_counter() - started, 1)}
        _write_results({"meta": meta, "figures": figures}, out_dir, args.write_docs, started)
        return 0
    finally:
        if args.keep_work:
            say(f"Work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
