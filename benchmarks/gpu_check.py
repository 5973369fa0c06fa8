"""The GPU check: the app's GPU paths on a real card, in one short run.

    source benchmarks/gpu/install.sh && python3 -m benchmarks.gpu_check --out "$OUT"

Builds the full-size architectures on the device from their configs (random weights, no
downloads: no 2.5-5 GB file travels), feeds arrays (no PyAV or Gradio needed) and runs them
through the app's own loaders, cache and engine, next to the raw NeMo call. Each step runs in
its own process, so host-memory peaks are the step's own. It writes ``gpu_check.json`` and
``gpu_check.md`` (the GPU section of docs/PERFORMANCE.md is made from them).

What it measures:
* load time, host RAM and GPU peaks for both models (Canary-Qwen goes file -> GPU tensor by tensor);
* Parakeet app vs raw ``transcribe`` speed (RTFx) on 1 and 10 minutes, in bf16 and fp32;
* for 8, 12, 16 and 24 GB budgets (``set_per_process_memory_fraction``): the pass length the
  planner picks and the longest single pass that ran without running out of memory;
* a 60-minute file through the app under an 8 GB budget: passes and out-of-memory retries;
* the CUDA-graph TDT decoder on and off; Canary-Qwen ``generate`` throughput at batch 1, 4, 8;
* make-room with the real ``mem_get_info``;
* with ``--only cold_start`` (~2 minutes): Parakeet's load, the app's (checkpoint streamed to the card tensor
  by tensor in bf16) against NeMo's plain ``restore_from(map_location=cuda)`` + ``.to(bf16)``, each load in a
  fresh process: time, GPU peak, host RAM peak (:mod:`benchmarks.cold_start`);
* with ``--only folder`` (~2 minutes): 300 files of 2-60 s through the app's batched engine, the app
  one file at a time and raw NeMo's batched ``transcribe`` on the same model: throughput, the GPU peak per path and
  per batched call against the planner's estimate, the batch sizes it chose, whether batching changed any word
  (:mod:`benchmarks.folder`; WAV read with soundfile, as the machine has no PyAV for ``decode_audio``);
* with ``--only features`` (the per-job options; ~2 minutes, so run on its own): Canary-Qwen's
  word-timing pass as a fraction of Canary-Qwen's time, phrase boosting's cost on Parakeet, and
  Streaming Sortformer on 10 and 60 minutes (:mod:`benchmarks.features`' tasks, on the card).

``--tiny`` runs the same logic on the CPU with the tiny test models and the budgets only planned
(tests/test_gpu_check.py), so that on a GPU the check only has to be run.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUDGETS_GB = (8, 12, 16, 24)
RATE = 16000
CANARY_BATCHES = (1, 4, 8)
REPO = "nvidia/canary-qwen-2.5b"


# --- shared -------------------------------------------------------------------------------------

def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@functools.lru_cache(maxsize=None)
def _speech_base(seconds: float):
    import numpy as np

    from benchmarks.full_models import calibration_audio

    return calibration_audio(seconds).astype(np.float32)


def speech(seconds: float):
    """Speech-like bursts between pauses: two minutes of them, repeated to ``seconds``."""
    import numpy as np

    base = _speech_base(min(float(seconds), 120.0))
    return np.tile(base, int(np.ceil(seconds * RATE / len(base))))[: int(seconds * RATE)]


def timed(fn):
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    value = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - started, value


def settings_for(work: Path, device: str, **changes):
    from transcribe_studio.settings import Settings

    return Settings(parakeet_path=work / "parakeet.nemo", hf_cache_dir=work / "hub", device=device,
                    diarizer_path=work / "diarizer.nemo", output_dir=work / "outputs", **changes)


def gpu_peak_mb() -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 1e6 if torch.cuda.is_available() else None


# --- step: build ----------------------------------------------------------------------------------

def step_build(work: Path, what: str, device: str, tiny: bool) -> dict:
    from transcribe_studio.models.canary import QWEN_REPO, QWEN_REVISION
    from transcribe_studio.models.canary import REVISION as CANARY_REVISION

    started = time.perf_counter()
    if tiny:
        from tests import tiny_models

        if what == "parakeet":
            tiny_models.build_tiny_parakeet(work / "parakeet.nemo")
        elif what == "sortformer":
            tiny_models.build_tiny_diarizer(work / "diarizer.nemo")
        else:
            tiny_models.build_tiny_canary_cache(work / "hub", canary_repo=REPO, canary_commit=CANARY_REVISION,
                                                qwen_repo=QWEN_REPO, qwen_commit=QWEN_REVISION)
        return {"what": what, "tiny": True, "seconds": round(time.perf_counter() - started, 1)}
    from benchmarks import full_models

    if what == "parakeet":
        info = full_models.build_full_parakeet(work / "parakeet.nemo", device=device)
    elif what == "sortformer":
        info = full_models.build_full_sortformer(work / "diarizer.nemo", device=device)
    else:
        info = full_models.build_full_canary_cache(work / "hub", canary_repo=REPO, canary_commit=CANARY_REVISION,
                                                   qwen_repo=QWEN_REPO, qwen_commit=QWEN_REVISION, device=device)
    info.pop("calibration", None)
    return {"what": what, **info}


# --- step: Parakeet ---------------------------------------------------------------------------------

def step_parakeet(work: Path, device: str, tiny: bool) -> dict:
    """Load, speed, a long file, the decoder switch, then the budgets (riskiest last: probing past the plan
    runs the card out of memory on purpose). Each part is saved as it finishes, so a crash keeps the rest."""
    from transcribe_studio.models import PARAKEET, ModelCache
    from transcribe_studio.transcription import engine

    baseline = rss_peak_mb()
    cache = ModelCache(settings_for(work, device))
    load_s, _ = timed(lambda: cache.load(PARAKEET))
    result = {"load_seconds": round(load_s, 2), "host_peak_above_start_mb": round(rss_peak_mb() - baseline),
              "gpu_peak_mb": gpu_peak_mb(), "status": cache.status(PARAKEET).describe()}
    save = functools.partial(_save, work, "parakeet", result)
    with cache.use(PARAKEET) as model:
        engine.transcribe(cache, PARAKEET, speech(10))  # warm-up: timestamped decoding set up, kernels loaded
        minutes = (0.25, 0.5) if tiny else (1, 10)
        result["speed"] = []
        for precision in ("bf16", "fp32") if device != "cpu" else ("fp32",):
            for m in minutes:
                result["speed"].append(speed_row(cache, model, m, precision))
                save()
        result["sixty_minutes_8gb"] = long_file_row(cache, model, 8, 1.0 if tiny else 60.0)
        save()
        result["decoder"] = decoder_rows(model, speech(30 if tiny else 60))
        save()
        result["budgets"] = []
        for gb in BUDGETS_GB:
            result["budgets"].append(budget_row(cache, model, gb, tiny))
            save()
            if result["budgets"][-1].get("gpu_lost"):
                break
    return result


def _save(work: Path, name: str, result: dict) -> None:
    (work / f"{name}.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


def speed_row(cache, model, minutes: float, precision: str) -> dict:
    """App (engine.transcribe) vs raw model.transcribe on the same audio, one precision."""
    import torch

    from transcribe_studio.transcription import engine

    model.to(torch.bfloat16 if precision == "bf16" else torch.float32)
    audio = speech(minutes * 60)
    app_s, transcript = timed(lambda: engine.transcribe(cache, "parakeet", audio))
    row = {"minutes": minutes, "precision": precision, "app_seconds": round(app_s, 3),
           "app_rtfx": round(len(audio) / RATE / app_s, 1), "app_passes_notes": transcript.notes}
    try:
        raw_s, _ = timed(lambda: model.transcribe([audio], batch_size=1, timestamps=True, num_workers=0,
                                                  verbose=False))
        row.update(raw_seconds=round(raw_s, 3), raw_rtfx=round(len(audio) / RATE / raw_s, 1))
    except torch.OutOfMemoryError:
        row["raw_error"] = "out of memory in one pass"
        torch.cuda.empty_cache()
    return row


def _cap(gb: float | None) -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(gb * 1e9 / total, 1.0) if gb else 1.0)


def budget_row(cache, model, gb: float, tiny: bool) -> dict:
    """The pass the planner picks for a ``gb`` budget, and the longest single pass that ran under it."""
    import torch

    from transcribe_studio.models import gpu

    settings = dataclasses.replace(cache.settings, gpu_memory_gb=float(gb))
    device = next(model.parameters()).device
    if device.type != "cuda":  # the CPU: plan from an injected budget, run nothing
        planned = gpu.pass_seconds_for(int(gb * 1e9), gpu.precision_of(model), gpu.MAX_GPU_PASS_SECONDS)
        return {"budget_gb": gb, "planned_pass_seconds": round(planned), "ran": "not on a GPU"}
    model.to(torch.bfloat16)
    _cap(gb)
    planned = gpu.pass_seconds_for(gpu.budget_bytes(settings, device), "bf16", gpu.MAX_GPU_PASS_SECONDS)
    longest, lost = None, None
    for factor in (1.0, 1.25, 1.5, 2.0):
        seconds = planned * factor
        try:
            model.transcribe([speech(seconds)], batch_size=1, timestamps=True, num_workers=0, verbose=False)
            longest = round(seconds)
            torch.cuda.empty_cache()
        except torch.OutOfMemoryError:
            break
        except Exception as exc:  # noqa: BLE001 - a sticky CUDA error: the context is gone, say where
            lost = f"{round(seconds)} s pass: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            break
    if lost is None:
        torch.cuda.empty_cache()
        _cap(None)
    return {"budget_gb": gb, "planned_pass_seconds": round(planned), "longest_single_pass_ok_seconds": longest,
            "planned_pass_fits": longest is not None, "gpu_lost": lost}


def long_file_row(cache, model, gb: float, minutes: float) -> dict:
    """A long file through the app under a ``gb`` budget: passes, out-of-memory retries, speed."""
    import torch

    from transcribe_studio.transcription import engine

    real, seen = model.transcribe, {"passes": 0, "oom": 0}

    def counted(audio, *args, **kwargs):
        seen["passes"] += 1
        try:
            return real(audio, *args, **kwargs)
        except torch.OutOfMemoryError:
            seen["oom"] += 1
            raise

    original = cache.settings
    cache.settings = dataclasses.replace(original, gpu_memory_gb=float(gb))
    model.transcribe = counted
    _cap(gb if torch.cuda.is_available() else None)
    try:
        seconds, transcript = timed(lambda: engine.transcribe(cache, "parakeet", speech(minutes * 60)))
    finally:
        del model.transcribe
        cache.settings = original
        _cap(None)
    return {"budget_gb": gb, "minutes": minutes, "seconds": round(seconds, 2), "passes": seen["passes"],
            "out_of_memory_retries": seen["oom"], "notes": transcript.notes,
            "words": len(transcript.words)}


def decoder_rows(model, audio) -> list[dict]:
    """Raw transcribe with the CUDA-graph TDT decoder on, then off (the app's fallback switch)."""
    from transcribe_studio.models import nemo_asr

    rows = []
    for graphs in (True, False):
        if not graphs:
            nemo_asr._switch_decoder_graphs_off(model)
        try:
            seconds, _ = timed(lambda: model.transcribe([audio], batch_size=1, timestamps=True, num_workers=0,
                                                        verbose=False))
            rows.append({"cuda_graphs": graphs, "seconds": round(seconds, 3),
                         "rtfx": round(len(audio) / RATE / seconds, 1)})
        except Exception as exc:  # noqa: BLE001 - the point of the row: does it work on this card?
            rows.append({"cuda_graphs": graphs, "error": f"{type(exc).__name__}: {exc}"[:300]})
    return rows


# --- step: Canary-Qwen --------------------------------------------------------------------------------

def step_canary(work: Path, device: str, tiny: bool) -> dict:
    import nemo.collections.speechlm2.models  # noqa: F401 - imported before the baseline, as the app has it

    from transcribe_studio.models import CANARY, ModelCache

    baseline = rss_peak_mb()
    cache = ModelCache(settings_for(work, device))
    load_s, _ = timed(lambda: cache.load(CANARY))
    result = {"load_seconds": round(load_s, 2), "host_peak_above_start_mb": round(rss_peak_mb() - baseline),
              "gpu_peak_mb": gpu_peak_mb(), "status": cache.status(CANARY).describe()}
    with cache.use(CANARY) as model:
        result["generate"] = [generate_row(cache, model, size, tiny) for size in CANARY_BATCHES]
    result["make_room"] = make_room_row(cache)
    return result


def generate_row(cache, model, batch_size: int, tiny: bool) -> dict:
    from transcribe_studio.models import canary
    from transcribe_studio.progress import no_progress

    windows = batch_size * (1 if tiny else 2)
    audio = speech(40.0 * windows)
    spans = [(i * 40 * RATE, (i + 1) * 40 * RATE) for i in range(windows)]
    settings = dataclasses.replace(cache.settings, batch_size=batch_size)
    list(canary.transcribe(model, audio[: spans[0][1]], spans[:1], settings, no_progress))  # warm-up
    seconds, _ = timed(lambda: list(canary.transcribe(model, audio, spans, settings, no_progress)))
    return {"batch_size": batch_size, "windows": windows, "seconds": round(seconds, 2),
            "audio_seconds_per_second": round(len(audio) / RATE / seconds, 1)}


def make_room_row(cache) -> dict:
    """Parakeet loaded, then Canary-Qwen under a budget too small for both: Parakeet must be unloaded first."""
    import torch

    from transcribe_studio.models import CANARY, PARAKEET, gpu

    cache.unload(CANARY)
    cache.load(PARAKEET)
    device = torch.device(cache.status(PARAKEET).device)
    if device.type != "cuda":
        return {"ran": "not on a GPU"}
    held = torch.cuda.memory_reserved(device)
    cache.settings = dataclasses.replace(cache.settings, gpu_memory_gb=(held + 4e9) / 1e9)  # 4 GB more: too little
    budget = gpu.budget_bytes(cache.settings, device)
    cache.load(CANARY)
    return {"budget_before_gb": round(budget / 1e9, 2), "canary_needs_gb": round(8.0, 1),
            "parakeet_unloaded": not cache.is_loaded(PARAKEET), "canary_loaded": cache.is_loaded(CANARY),
            "notices": list(cache.notices)}


# --- step: what the per-job options cost ------------------------------------------------------------

def step_features(work: Path, device: str, tiny: bool) -> dict:
    """The word-timing pass against Canary-Qwen (2 min), phrase boosting on Parakeet (10 min, bf16 as the app
    picks), the diarizer on 10 and 60 min: :mod:`benchmarks.features`' tasks on this device, GPU peaks added."""
    from benchmarks import features

    chosen = settings_for(work, device)
    settings = {k: str(getattr(chosen, k)) for k in ("parakeet_path", "hf_cache_dir", "diarizer_path", "output_dir",
                                                      "device")}
    minute = 2.0 if tiny else 60.0  # tiny: seconds stand for minutes
    result: dict = {}
    save = functools.partial(_save, work, "features", result)
    result["timing"] = _gpu_peaked(lambda: features.task_timing(settings, 2 * minute))
    save()
    result["boosting"] = _gpu_peaked(lambda: features.task_boosting(settings, 10 * minute, runs=2))
    save()
    result["speakers"] = []
    for minutes in (10, 60):
        result["speakers"].append(_gpu_peaked(lambda m=minutes: features.task_speakers(settings, m * minute, "app")))
        save()
    return result


def _gpu_peaked(task) -> dict:
    """``task()``'s result with the GPU's peak while it ran (its models loaded inside it)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    row = task()
    row["gpu_peak_mb"] = gpu_peak_mb()
    return row


# --- step: Parakeet's cold start --------------------------------------------------------------------

COLD_START_WAYS = ("app", "plain")  # the app's streamed load against NeMo's plain restore + cast, as asked


def step_cold_start(work: Path, device: str, tiny: bool) -> dict:
    """Each load in its own process (:mod:`benchmarks.cold_start`), ways alternated, two runs each."""
    from benchmarks import cold_start

    return cold_start.measure(work / "parakeet.nemo", device, runs=1 if tiny else 2, ways=COLD_START_WAYS)


# --- step: many files through the batched path --------------------------------------------------------

FOLDER_FILES = 300


def step_folder(work: Path, device: str, tiny: bool) -> dict:
    from transcribe_studio.models import PARAKEET, ModelCache

    cache = ModelCache(settings_for(work, device))
    cache.load(PARAKEET)
    return folder_row(cache, work, tiny)


def folder_row(cache, work: Path, tiny: bool) -> dict:
    """The three paths of :mod:`benchmarks.folder` over 300 files of 2-60 s, once (tiny: 4 of 2-8 s, twice, and the
    CPU batch sweep over one size), on ``cache``'s Parakeet. The app's side enters at its engine
    (``batched.transcribe_files``, ``engine.transcribe``) with the files read by soundfile: ``decode_audio`` needs
    PyAV, which this machine lacks, and decoding is not what is measured. Each path is saved as it finishes."""
    from benchmarks import folder

    started = time.perf_counter()
    count, longest = (4, 8.0) if tiny else (FOLDER_FILES, folder.LONGEST)
    files = folder.write_folder(work / "folder", count, longest=longest, workers=1 if tiny else os.cpu_count() or 1)
    made_s = round(time.perf_counter() - started, 1)
    result = folder.measure(cache, files, work / "folder_outputs", entry="engine", batch_sizes=(2,) if tiny else (),
                            save=lambda partial: _save(work, "folder", {"folder_seconds": made_s, **partial}),
                            rounds=2 if tiny else 1)  # tiny: the rounds' logic checked too
    return {"folder_seconds": made_s, **result}


# --- orchestration ------------------------------------------------------------------------------------

STEPS = {"parakeet": step_parakeet, "canary": step_canary, "features": step_features,
         "cold_start": step_cold_start, "folder": step_folder}
DEFAULT_STEPS = ["parakeet", "canary"]  # ~4 minutes; "features" takes ~2 more, so it runs on its own
# What each step needs built (make-room in the Canary step loads Parakeet too).
BUILDS = {"parakeet": ("parakeet",), "canary": ("parakeet", "canary"),
          "features": ("parakeet", "canary", "sortformer"), "cold_start": ("parakeet",), "folder": ("parakeet",)}


def run_step(name: str, work: Path, device: str, tiny: bool, what: str | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "benchmarks.gpu_check", "--step", name, "--work", str(work),
               "--device", device] + (["--tiny"] if tiny else []) + (["--what", what] if what else [])
    log = open(work / f"{name}{'_' + what if what else ''}.log", "w")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())


def collect(work: Path, name: str, process: subprocess.Popen, timeout: float) -> dict:
    stopped = None
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        stopped = f"timed out after {timeout:.0f} s"
    out, log = work / f"{name}.json", work / f"{name}.log"
    result = json.loads(out.read_text()) if out.is_file() else {}
    if stopped or process.returncode or not result:  # what was saved before it stopped, and why it stopped
        tail = log.read_text(errors="replace")[-1500:] if log.is_file() else ""
        result.update(error=stopped or f"exit {process.returncode}", log_tail=tail)
    return result


def machine() -> dict:
    import torch

    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "python": sys.version.split()[0]}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gb=round(props.total_memory / 1e9, 1),
                    capability=f"{props.major}.{props.minor}")
    try:
        import nemo

        info["nemo"] = nemo.__version__
    except ImportError:
        pass
    return info


def orchestrate(out: Path, device: str, tiny: bool, limit_s: float, only: list[str]) -> dict:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    needed = dict.fromkeys(what for name in only for what in BUILDS[name])
    builds = {what: run_step("build", work, device, tiny, what) for what in needed}
    results = {"machine": machine(), "tiny": tiny, "device": device}
    results["build"] = {what: collect(work, f"build_{what}", p, limit_s) for what, p in builds.items()}
    for name in only:
        left = limit_s - (time.perf_counter() - started)
        results[name] = collect(work, name, run_step(name, work, device, tiny), max(left, 30))
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    (out / "gpu_check.md").write_text(report(results), encoding="utf-8")
    return results


# --- the report ---------------------------------------------------------------------------------------

def _table(headers: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join("-" if v is None else str(v) for v in row) + " |" for row in rows]


def report(results: dict) -> str:
    m = results["machine"]
    card = m.get("gpu", "no GPU (CPU run)")
    lines = [f"## GPU check on {card}", "",
             f"{card}, {m.get('gpu_memory_gb', '-')} GB, compute capability {m.get('capability', '-')}; "
             f"torch {m['torch']} (CUDA {m['cuda']}), NeMo {m.get('nemo', '-')}, Python {m['python']}. "
             f"Full-size architectures with random weights{' (TINY models: a logic check only)' if results['tiny'] else ''}"
             f"; whole check {results['total_seconds']} s.", ""]
    lines += _loads(results) + [""] + _speeds(results) + [""] + _budgets(results) + [""] + _canary(results)
    if "features" in results:
        lines += [""] + _features(results["features"])
    if "cold_start" in results:
        lines += [""] + _cold_start(results["cold_start"])
    if "folder" in results:
        lines += [""] + _folder(results["folder"])
    return "\n".join(lines) + "\n"


def _loads(results: dict) -> list[str]:
    rows = []
    for key, label in (("parakeet", "Parakeet-TDT-0.6B-v2"), ("canary", "Canary-Qwen-2.5B")):
        r = results.get(key, {})
        rows.append([label, r.get("load_seconds"), r.get("host_peak_above_start_mb"),
                     None if r.get("gpu_peak_mb") is None else round(r["gpu_peak_mb"]), r.get("status", r.get("error"))])
    return ["### Loading", ""] + _table(["model", "load s", "host RAM peak above start, MB", "GPU peak, MB", "state"],
                                        rows)


def _speeds(results: dict) -> list[str]:
    p = results.get("parakeet", {})
    rows = [[s["minutes"], s["precision"], s["app_rtfx"], s.get("raw_rtfx", s.get("raw_error"))]
            for s in p.get("speed", [])]
    lines = ["### Parakeet speed (RTFx: seconds of audio per second)", ""]
    lines += _table(["minutes", "precision", "app RTFx", "raw transcribe RTFx"], rows)
    decoder = [[d["cuda_graphs"], d.get("rtfx", d.get("error"))] for d in p.get("decoder", [])]
    return lines + ["", "CUDA-graph TDT decoder (raw transcribe):", ""] + _table(["CUDA graphs", "RTFx"], decoder)


def _budgets(results: dict) -> list[str]:
    p = results.get("parakeet", {})
    rows = [[b["budget_gb"], b["planned_pass_seconds"], b.get("longest_single_pass_ok_seconds", b.get("ran")),
             b.get("gpu_lost")] for b in p.get("budgets", [])]
    lines = ["### Parakeet passes by GPU budget", ""]
    lines += _table(["budget GB", "planned pass s", "longest single pass that ran, s (tried 1x, 1.25x, 1.5x, 2x)",
                     "sticky CUDA error"], rows)
    long = p.get("sixty_minutes_8gb")
    if long:
        lines += ["", f"{long['minutes']:g} minutes through the app under {long['budget_gb']} GB: "
                      f"{long['passes']} passes, {long['out_of_memory_retries']} out-of-memory retries, "
                      f"{long['seconds']} s."]
    return lines


def _canary(results: dict) -> list[str]:
    c = results.get("canary", {})
    rows = [[g["batch_size"], g["windows"], g["seconds"], g["audio_seconds_per_second"]] for g in c.get("generate", [])]
    lines = ["### Canary-Qwen generate (40 s windows)", ""]
    lines += _table(["batch", "windows", "seconds", "audio s per s"], rows)
    room = c.get("make_room")
    if room:
        lines += ["", f"Make-room with the real `mem_get_info`: {json.dumps(room)}"]
    return lines


def _features(f: dict) -> list[str]:
    lines = ["### Features (issues 13 and 14)", ""]
    if "error" in f:
        lines += [f"Stopped: {f['error']}", ""]
    t = f.get("timing")
    if t:
        lines += [f"Word-timing pass on {t['audio_seconds']:g} s: {t['timing_pass_seconds']:.2f} s, "
                  f"{t['fraction']:.1%} of Canary-Qwen's {t['canary_seconds']:.2f} s "
                  f"({t['max_new_tokens']} tokens per window; GPU peak {_mb(t['gpu_peak_mb'])} MB).", ""]
    b = f.get("boosting")
    if b:
        lines += [f"Phrase boosting ({b['phrases']} phrases) on {b['audio_seconds']:g} s of Parakeet: "
                  f"{b['boosted']['median']:.2f} s vs {b['plain']['median']:.2f} s, {b['overhead']:+.1%}.", ""]
    rows = [[round(r["audio_seconds"] / 60, 2), round(r["seconds"], 2), round(r["rtfx"]), _mb(r["gpu_peak_mb"]),
             round(r["peak_rss_mb"])] for r in f.get("speakers", [])]
    return lines + ["Streaming Sortformer (app):", ""] + _table(
        ["minutes", "seconds", "RTFx", "GPU peak MB", "host peak RSS MB"], rows)


def _cold_start(result: dict) -> list[str]:
    from benchmarks import cold_start

    lines = ["### Parakeet cold start (each load in a fresh process; medians)", ""]
    if "medians" not in result:
        return lines + [f"Stopped: {result.get('error')}"]
    failed = [row for row in result["runs"] if "error" in row]
    notes = [f"{row['way']} run {row['run']}: {row['error']}" for row in failed]
    return lines + cold_start.table(result) + ([""] + notes if notes else [])


def _folder(result: dict) -> list[str]:
    from benchmarks import folder

    lines = folder.report(result, "###")
    if "error" in result and "paths" in result and len(result["paths"]) == len(folder.PATHS):
        lines += ["", f"Stopped after the three paths: {result['error']}"]
    return lines


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "benchmarks/results/gpu")))
    parser.add_argument("--device", default=None, help="cuda (default when there is one) or cpu")
    parser.add_argument("--tiny", action="store_true", help="the tiny test models (a logic check on the CPU)")
    parser.add_argument("--limit", type=float, default=200.0, help="seconds the whole check may take")
    parser.add_argument("--only", choices=list(STEPS), action="append",
                        help="run only this step (default: parakeet and canary; features on its own)")
    parser.add_argument("--step", choices=["build", *STEPS], help=argparse.SUPPRESS)
    parser.add_argument("--what", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.step:
        name = f"build_{args.what}" if args.step == "build" else args.step
        result = (step_build(args.work, args.what, device, args.tiny) if args.step == "build"
                  else STEPS[args.step](args.work, device, args.tiny))
        (args.work / f"{name}.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
        return 0
    results = orchestrate(args.out, device, args.tiny, args.limit, args.only or DEFAULT_STEPS)
    print((args.out / "gpu_check.md").read_text())
    return 0 if all("error" not in results.get(k, {}) for k in STEPS) else 1


if __name__ == "__main__":
    sys.exit(main())
