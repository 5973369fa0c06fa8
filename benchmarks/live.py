"""Live captions: the compute per chunk and the speech-to-caption delay, for 1 or more streams at once.

    python -m benchmarks.live --nemo FULL.nemo --out DIR [--seconds 60] [--streams 1,2,4] [--device cpu|cuda]

(a missing ``--nemo`` file is built first: the full-size Parakeet architecture of :mod:`benchmarks.full_models`).
For each number of streams, that many recordings of speech-like bursts between pauses go through the app's live
captions (:class:`transcribe_studio.live.LiveStreams`, NeMo's ``BufferedRNNTPipeline``) chunk by chunk, every
stream's chunk in one ``transcribe_step``, as fast as the model goes. Measured: each step's compute. Derived, as the
pipeline works: a word is first shown once its chunk has arrived and been heard (a wait of up to one chunk, half a
chunk on average, plus that step's compute) and settled one step later (plus one chunk). The streams keep up with
real time while a step takes less than a chunk. ``live.json`` and ``live.md`` go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402


def recording(seconds: float, seed: int):
    import numpy as np

    from tests import media

    rng = np.random.default_rng(seed)
    parts, total = [], 0.0
    while total < seconds:
        talk, pause = float(rng.uniform(1.5, 8.0)), float(rng.uniform(0.3, 1.2))
        parts += [media.speechlike(talk, seed=int(rng.integers(1 << 30))), media.room_tone(pause, seed=len(parts))]
        total += talk + pause
    return np.concatenate(parts)[: int(seconds * 16000)].astype(np.float32)


def measure(cache, streams: int, seconds: float) -> dict:
    import numpy as np

    from transcribe_studio.live import LiveStreams

    live = LiveStreams(cache, "parakeet")
    ids = [live.open() for _ in range(streams)]
    audio = [recording(seconds, seed) for seed in range(streams)]
    chunk = live.options.chunk_samples
    started = time.perf_counter()
    for first in range(0, len(audio[0]), chunk):
        for stream, samples in zip(ids, audio):
            live.add(stream, samples[first:first + chunk])
        live.advance()
    wall = time.perf_counter() - started
    steps = np.array(live.step_seconds[1:] or live.step_seconds)  # the first builds nothing more, but warms up
    seconds_of_chunk = live.options.chunk_seconds
    p50, p95 = float(np.median(steps)), float(np.percentile(steps, 95))
    return {"streams": streams, "audio_seconds_each": seconds, "steps": len(live.step_seconds),
            "chunk_seconds": seconds_of_chunk, "compute_median_s": round(p50, 3), "compute_p95_s": round(p95, 3),
            "keeps_up": p95 < seconds_of_chunk, "wall_s": round(wall, 1),
            "shown_delay_median_s": round(seconds_of_chunk / 2 + p50, 2),
            "shown_delay_p95_s": round(0.95 * seconds_of_chunk + p95, 2),
            "settled_delay_median_s": round(1.5 * seconds_of_chunk + p50, 2),
            "settled_delay_p95_s": round(1.95 * seconds_of_chunk + p95, 2)}


def report(results: list[dict]) -> str:
    lines = ["| streams | compute per step (median / p95) | keeps up with real time | word shown after (median / "
             "p95) | settled after (median / p95) |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['streams']} | {r['compute_median_s']:.2f} / {r['compute_p95_s']:.2f} s | "
                     f"{'yes' if r['keeps_up'] else 'no'} | {r['shown_delay_median_s']:.2f} / "
                     f"{r['shown_delay_p95_s']:.2f} s | {r['settled_delay_median_s']:.2f} / "
                     f"{r['settled_delay_p95_s']:.2f} s |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nemo", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--streams", default="1")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    from transcribe_studio.models import ModelCache
    from transcribe_studio.settings import Settings

    if not args.nemo.exists():
        import subprocess

        subprocess.run([common.PYTHON, "-m", "benchmarks.full_models", "parakeet", "--out", str(args.nemo), "--info",
                        str(args.nemo.with_suffix(".json")), "--device", args.device], check=True)
    cache = ModelCache(Settings(parakeet_path=args.nemo, device=args.device))
    cache.load("parakeet")
    results = [measure(cache, int(n), args.seconds) for n in args.streams.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    print(json.dumps(results, indent=1))
    common.write_report(args.out, "live", results, report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
