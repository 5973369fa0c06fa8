"""The multilingual models at full size: Parakeet-TDT-0.6B-v3 and Canary-1B-v2, the app against the raw NeMo call.

    python -m benchmarks.languages --models DIR --out DIR [--minutes 3] [--device cpu|cuda]

(missing model files in ``--models`` are built first: the full-size architectures of :mod:`benchmarks.full_models`,
random weights; Canary's decoder scripted to write real speech's number of tokens). Each model runs in a process
of its own, so each peak is its own. On one recording of ``--minutes`` of speech-like audio (bursts between pauses,
16 kHz), seeded, it times:

* ``load``: the app's load (``ModelCache``: streamed restore; for Canary, its CTC timer model too);
* ``app``: ``engine.transcribe`` (windows cut at pauses: passes of up to 5 minutes for v3 on the CPU, 40 s windows
  for Canary), German for both (Canary told so), word times;
* ``app_translate`` (Canary): the same, German into English (segment times only);
* ``raw``: the loaded model's own ``transcribe`` on the whole recording in one call, with timestamps (NeMo's
  defaults otherwise; for Canary ``source_lang``/``target_lang`` "de").

For each: wall seconds, throughput (seconds of audio a second), the process's peak RSS. ``languages.json`` and
``languages.md`` go to ``--out``.
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

MODELS = {"parakeet-v3": ("parakeet_v3_path", "parakeet-v3.nemo", "parakeet-v3"),
          "canary-1b-v2": ("canary_1b_v2_path", "canary-1b-v2.nemo", "canary-v2")}


def recording(minutes: float):
    """Speech-like bursts of 1.5-8 s between pauses of 0.3-1.2 s, seeded."""
    import numpy as np

    from tests import media

    rng = np.random.default_rng(5)
    parts, total = [], 0.0
    while total < minutes * 60:
        talk, pause = float(rng.uniform(1.5, 8.0)), float(rng.uniform(0.3, 1.2))
        parts += [media.speechlike(talk, seed=int(rng.integers(1 << 30))), media.room_tone(pause, seed=len(parts))]
        total += talk + pause
    return np.concatenate(parts)[: int(minutes * 60 * 16000)].astype(np.float32)


def measure(key: str, nemo: Path, minutes: float, device: str) -> dict:
    """One model's figures, in this process."""
    import torch

    from transcribe_studio.models import ModelCache
    from transcribe_studio.settings import Settings
    from transcribe_studio.transcription import engine

    audio = recording(minutes)
    seconds = len(audio) / 16000
    cache = ModelCache(Settings(**{MODELS[key][0]: nemo}, device=device))
    found = {"model": key, "audio_seconds": round(seconds, 1), "device": device}
    started = time.perf_counter()
    cache.load(key)
    found["load_seconds"] = round(time.perf_counter() - started, 1)
    runs = {"app": engine.Options(language="de")}
    if key == "canary-1b-v2":
        runs["app_translate"] = engine.Options(language="de", translate_to="en")
    for name, options in runs.items():
        started = time.perf_counter()
        transcript = engine.transcribe(cache, key, audio, options=options)
        found[name] = _timed(started, seconds, words=len(transcript.words), segments=len(transcript.segments))
    with cache.use(key) as model, torch.inference_mode():
        prompt = {"source_lang": "de", "target_lang": "de"} if key == "canary-1b-v2" else {}
        started = time.perf_counter()
        hypothesis = model.transcribe([audio], batch_size=1, timestamps=True, num_workers=0, verbose=False,
                                      **prompt)[0]
        found["raw"] = _timed(started, seconds, words=len(hypothesis.timestamp.get("word", [])))
    found["app_vs_raw"] = round(found["app"]["seconds"] / found["raw"]["seconds"], 2)
    found["peak_rss_mb"] = round(common.peak_rss_mb())
    return found


def _timed(started: float, seconds: float, **counts) -> dict:
    took = time.perf_counter() - started
    return {"seconds": round(took, 1), "rtfx": round(seconds / took, 2), **counts}


def _build(key: str, nemo: Path, log: Path) -> None:
    if nemo.exists():
        return
    print(f"  building the full-size {key} into {nemo} ...", flush=True)
    with log.open("w") as out:
        subprocess.run([common.PYTHON, "-m", "benchmarks.full_models", MODELS[key][2], "--out", str(nemo),
                        "--info", str(nemo.with_suffix(".json"))], stdout=out, stderr=subprocess.STDOUT, check=True)


def report(results: list[dict]) -> str:
    lines = ["| model | device | audio | load | app (x real time) | app, translating | raw NeMo call | app / raw "
             "time | peak RSS |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        translate = f"{r['app_translate']['rtfx']}x" if "app_translate" in r else "-"
        lines.append(f"| {r['model']} | {r['device']} | {r['audio_seconds']:.0f} s | {r['load_seconds']} s | "
                     f"{r['app']['rtfx']}x | {translate} | {r['raw']['rtfx']}x | {r['app_vs_raw']} | "
                     f"{r['peak_rss_mb'] / 1024:.1f} GB |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, required=True, help="folder of the full-size .nemo files")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", choices=list(MODELS), default=None)
    parser.add_argument("--child", choices=list(MODELS), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one model, in its own process
        print(json.dumps(measure(args.child, args.models / MODELS[args.child][1], args.minutes, args.device)))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for key in [args.only] if args.only else list(MODELS):
        nemo = args.models / MODELS[key][1]
        _build(key, nemo, args.out / f"build-{key}.log")
        print(f"  measuring {key} on {args.minutes:g} min of audio ...", flush=True)
        done = subprocess.run([common.PYTHON, "-m", "benchmarks.languages", "--models", str(args.models), "--out",
                               str(args.out), "--minutes", str(args.minutes), "--device", args.device, "--child",
                               key], capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    common.write_report(args.out, "languages", results, report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
