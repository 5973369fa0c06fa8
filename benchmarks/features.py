"""What the three per-job options cost, each against the same run without it, at full size on the CPU.

* **Word timings for Canary-Qwen**: a Parakeet pass over Canary-Qwen's
  windows gives its words their times. Measured with both models resident:
  ``engine.transcribe`` with Canary-Qwen and word timings off, then
  ``engine.add_word_timings`` (the batch's deferred pass: the same Parakeet pass
  over the same windows and the same alignment as the inline one). Random
  weights never emit the end token, so every window would generate the app's
  whole token cap; the run caps generation at the tokens real speech gives a
  window instead (:data:`TOKENS_PER_SECOND`, through the app's own
  ``MAX_NEW_TOKENS``) and reports the time per generated token, so the figure
  can be rescaled. The stand-in's generated ids mean nothing to the tests'
  small tokenizer, so the timing pass aligns a stand-in text of 2.5 words a
  second per window.
* **Phrase boosting on Parakeet** (names and terms): ``engine.transcribe`` with five names
  and terms against the same call without them, same audio, same loaded model,
  runs alternated so drift hits both alike.
* **Speaker diarization**: the app's diarizer (loaded through its spec,
  the model card's 30.4 s streaming setting) against NeMo's plain
  ``SortformerEncLabelModel.restore_from`` + ``diarize`` with the same setting,
  10 and 60 minutes, each in a fresh process: time, and peak RSS above the
  loaded model and the audio.

Audio is the benchmark's speech-like talk (:mod:`benchmarks.audio_files`) at 16 kHz,
made in memory. Nothing here asserts a time; the figures go to
``docs/PERFORMANCE.md`` by hand, with the machine they ran on.

``python -m benchmarks.features`` (full size; builds missing models into
``benchmarks/.models``), ``--tiny`` (the tests' tiny models: a smoke run of this
script in ~1 minute), ``--only timing,boosting,speakers``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402

SAMPLE_RATE = 16000
# ~150 words a minute at ~1.3 Qwen tokens a word: what 1 s of real speech generates.
TOKENS_PER_SECOND = 3.3
VOCABULARY = ("Dana Okafor", "Parakeet", "Sortformer", "Kubernetes", "Ljubljana")
FEATURES = ("timing", "boosting", "speakers")


def speech(seconds: float):
    """``seconds`` of the benchmark's 16 kHz talk: a 2-minute take, repeated (as the scaling files are)."""
    import numpy as np

    from benchmarks.audio_files import TAKE_SECONDS, talk

    take = talk(min(seconds, TAKE_SECONDS), rate=SAMPLE_RATE)
    return np.resize(take, int(seconds * SAMPLE_RATE)).astype(np.float32)


def _settings(spec: dict):
    from transcribe_studio.settings import Settings

    paths = ("parakeet_path", "hf_cache_dir", "diarizer_path", "output_dir")
    return Settings(**{k: (Path(v) if k in paths and v is not None else v) for k, v in spec.items()})


def _timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


# --- the tasks (each runs in its own process) ------------------------------------------------------

def task_timing(settings: dict, seconds: float) -> dict:
    """Canary-Qwen alone, then the word-timing pass over its windows (the batch's deferred path, the same
    timer work as the inline one), both models resident."""
    from transcribe_studio.media.windows import plan_cuts
    from transcribe_studio.models import CANARY, PARAKEET, ModelCache, canary, get
    from transcribe_studio.transcription import engine, timings

    cache = ModelCache(_settings(settings))
    for key in (CANARY, PARAKEET):  # both resident, as on a CPU or a card they fit together on
        with cache.use(key):
            pass
    audio = speech(seconds)
    cap, canary.MAX_NEW_TOKENS = canary.MAX_NEW_TOKENS, round(TOKENS_PER_SECOND * canary.MAX_WINDOW_SECONDS)
    try:  # the cap: see the module docstring
        tokens = canary.MAX_NEW_TOKENS
        canary_s, heard = _timed(lambda: engine.transcribe(cache, CANARY, audio,
                                                           options=engine.Options(word_timings=False)))
    finally:
        canary.MAX_NEW_TOKENS = cap
    windows = plan_cuts(audio, get(CANARY).window_seconds(cache.settings, None)).windows  # the engine's plan
    transcript = _stand_in_text(windows)
    timing_s, _ = _timed(lambda: timings.add_word_times(cache, get(CANARY), audio, windows, transcript,
                                                        lambda fraction, note: None))
    return {"audio_seconds": seconds, "canary_seconds": canary_s, "timing_pass_seconds": timing_s,
            "fraction": timing_s / canary_s, "max_new_tokens": tokens, "windows": len(windows),
            "canary_seconds_per_token": canary_s / (len(windows) * tokens),
            "canary_chars": len(heard.text), "words_timed": len(transcript.words), "notes": transcript.notes}


def _stand_in_text(windows: list[tuple[int, int]]):
    """Canary-Qwen's transcript as the timing pass gets it, one segment per window, with ~2.5 words a second:
    the stand-in's generated ids mean nothing to the tests' small tokenizer, so its own text is empty."""
    from transcribe_studio.transcription.transcript import Segment, Transcript

    segments = [Segment(start / SAMPLE_RATE, end / SAMPLE_RATE,
                        " ".join(["word"] * max(1, round(2.5 * (end - start) / SAMPLE_RATE))))
                for start, end in windows]
    return Transcript(text=" ".join(s.text for s in segments), segments=segments)


def task_boosting(settings: dict, seconds: float, runs: int) -> dict:
    """Parakeet through the app with and without a vocabulary, alternated."""
    from transcribe_studio.models import PARAKEET, ModelCache
    from transcribe_studio.transcription import engine

    cache = ModelCache(_settings(settings))
    audio = speech(seconds)
    plain, boosted = engine.Options(), engine.Options(vocabulary=VOCABULARY)
    engine.transcribe(cache, PARAKEET, audio, options=boosted)  # warm-up (loads the model, builds the tree)
    times: dict = {"plain": [], "boosted": []}
    made: dict = {}
    for i in range(runs):
        order = [("plain", plain), ("boosted", boosted)]
        for name, options in (order if i % 2 == 0 else order[::-1]):
            seconds_taken, made[name] = _timed(lambda o=options: engine.transcribe(cache, PARAKEET, audio, options=o))
            times[name].append(seconds_taken)
    plain_s, boosted_s = common.median(times["plain"]), common.median(times["boosted"])
    return {"audio_seconds": seconds, "plain": common.spread(times["plain"]),
            "boosted": common.spread(times["boosted"]), "overhead": boosted_s / plain_s - 1,
            "phrases": len(VOCABULARY), "notes": made["boosted"].notes}


def task_speakers(settings: dict, seconds: float, side: str) -> dict:
    """Diarize ``seconds`` of audio, the app's way or NeMo's plain way (same streaming setting)."""
    import torch

    s = _settings(settings)
    load_s, (model, diarize) = _timed(lambda: (_app_diarizer if side == "app" else _raw_diarizer)(s))
    audio = speech(seconds)
    common.reset_peak()
    start_rss = common.rss_mb()
    with torch.inference_mode():
        diarize_s, turns = _timed(lambda: diarize(model, audio))
    return {"audio_seconds": seconds, "side": side, "load_seconds": load_s, "seconds": diarize_s,
            "rtfx": seconds / diarize_s, "peak_rss_mb": common.peak_rss_mb(),
            "peak_above_loaded_mb": common.peak_rss_mb() - start_rss, "turns": len(turns)}


def _app_diarizer(settings):
    from transcribe_studio.models import ModelCache, diarizer
    from transcribe_studio.progress import no_progress

    cache = ModelCache(settings)
    with cache.use(diarizer.SPEC.key) as model:
        return model, lambda m, audio: diarizer.diarize(m, audio, settings, no_progress)


def _raw_diarizer(settings):
    from nemo.collections.asr.models import SortformerEncLabelModel

    from transcribe_studio.models import diarizer
    from transcribe_studio.models.device import resolve_device

    model = SortformerEncLabelModel.restore_from(str(settings.diarizer_path),
                                                 map_location=resolve_device(settings.device)).eval()
    for name, value in diarizer.STREAMING_SETTING.items():
        setattr(model.sortformer_modules, name, value)
    model.streaming_mode = True
    return model, lambda m, audio: m.diarize(audio=[audio], sample_rate=SAMPLE_RATE, batch_size=1, num_workers=0,
                                             verbose=False)[0]


TASKS = {"timing": task_timing, "boosting": task_boosting, "speakers": task_speakers}


# --- the orchestrator ----------------------------------------------------------------------------

def plan(tiny: bool) -> list[tuple[str, dict]]:
    """(task, arguments) in the order they run."""
    scale = 1 / 30 if tiny else 1  # tiny: the same steps on seconds instead of minutes
    runs = [("timing", {"seconds": 60 * scale * 2}), ("boosting", {"seconds": 60 * scale * 2, "runs": 3}),
            ("boosting", {"seconds": 600 * scale, "runs": 2})]
    for minutes in (10, 60):
        runs += [("speakers", {"seconds": 60 * minutes * scale, "side": side}) for side in ("app", "raw")]
    return runs


def models(tiny: bool, work: Path, log_dir: Path) -> dict:
    """Paths of the three models: the tests' tiny ones, or the full-size stand-ins (built once)."""
    from benchmarks import models as built

    if tiny:
        from tests import tiny_models

        info = built.build_tiny(work)
        info["sortformer"] = {"path": str(tiny_models.build_tiny_diarizer(work / "diarizer.nemo"))}
        return info
    directory = common.BENCH_DIR / ".models"
    return built.prepare_full(directory, common.child_env(directory / "hub", work), log_dir, rebuild=False)


def run(name: str, args: dict, settings: dict, env: dict, work: Path, log_dir: Path) -> dict:
    """One task in a fresh process; its result (or its error)."""
    out = work / f"{name}_{time.monotonic_ns()}.json"
    argv = [common.PYTHON, "-m", "benchmarks.features", "--task", name,
            "--args", json.dumps({"settings": settings, **args}), "--out", str(out)]
    with open(log_dir / f"{name}.log", "ab") as log:
        code = subprocess.run(argv, cwd=common.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    if code or not out.exists():
        return {"error": f"exit status {code}; see {log_dir / (name + '.log')}", **args}
    return json.loads(out.read_text())


def report(results: dict) -> str:
    """The figures as Markdown tables."""
    lines = [f"Features benchmark, {results['kind']}, {results['machine']}", ""]
    lines += ["| Canary-Qwen audio (s) | Canary-Qwen (s) | timing pass (s) | fraction | tokens/window | s/token |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {r['audio_seconds']:g} | {r['canary_seconds']:.1f} | {r['timing_pass_seconds']:.1f} | "
              f"{r['fraction']:.1%} | {r['max_new_tokens']} | {r['canary_seconds_per_token']:.3f} |"
              for r in _ok(results, "timing")]
    lines += ["", "| Parakeet audio (s) | plain (s) | 5 phrases boosted (s) | overhead | runs |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['audio_seconds']:g} | {r['plain']['median']:.2f} | {r['boosted']['median']:.2f} | "
              f"{r['overhead']:+.1%} | {len(r['plain']['runs'])} |" for r in _ok(results, "boosting")]
    lines += ["", "| Diarized audio (min) | side | seconds | RTFx | peak RSS (MiB) | above loaded (MiB) | turns |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['audio_seconds'] / 60:.3g} | {r['side']} | {r['seconds']:.1f} | {r['rtfx']:.1f} | "
              f"{r['peak_rss_mb']:.0f} | {r['peak_above_loaded_mb']:.0f} | {r['turns']} |"
              for r in _ok(results, "speakers")]
    errors = [f"- {name}: {r['error']}" for name, r in results["runs"] if "error" in r]
    return "\n".join(lines + ([""] + errors if errors else [])) + "\n"


def _ok(results: dict, name: str) -> list[dict]:
    return [r for task, r in results["runs"] if task == name and "error" not in r]


def orchestrate(tiny: bool, only: set, out: Path) -> dict:
    from benchmarks.run import _cpu_model

    work, log_dir = out / "work", out / "logs"
    work.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    info = models(tiny, work, log_dir)
    hub = Path(info["canary"]["hub_cache"])
    settings = {"parakeet_path": info["parakeet"]["path"], "hf_cache_dir": str(hub),
                "diarizer_path": info["sortformer"]["path"], "output_dir": str(work / "outputs"), "device": "cpu"}
    env = common.child_env(hub, work)
    results = {"kind": "tiny models" if tiny else "full-size architectures, random weights",
               "machine": f"{_cpu_model()}, torch threads as the default", "runs": []}
    for name, args in plan(tiny):
        if name in only:
            print(f"{name} {args} ...", flush=True)
            results["runs"].append((name, run(name, args, settings, env, work, log_dir)))
            common.write_json(out / "results.json", results)
    (out / "report.md").write_text(report(results), encoding="utf-8")
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny models (a smoke run)")
    parser.add_argument("--only", default=",".join(FEATURES), help="timing,boosting,speakers")
    parser.add_argument("--out", type=Path, help="results folder (default benchmarks/results/<time>-features)")
    parser.add_argument("--task", choices=sorted(TASKS), help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.task:
        common.write_json(args.out, TASKS[args.task](**json.loads(args.args)))
        return 0
    out = args.out or common.BENCH_DIR / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}-features"
    results = orchestrate(args.tiny, {n.strip() for n in args.only.split(",")}, out)
    print(report(results))
    print(f"results: {out}")
    return 1 if any("error" in r for _, r in results["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
