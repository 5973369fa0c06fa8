"""``python -m transcribe_studio.live FILE``: a recording played as if it were live, through the same captions as the
studio's Live view, each caption printed with when it appeared. For captioning a broadcast recording, and to
measure the delay.

``--speed 1`` (the default) plays it at real time, ``--speed 4`` four times as fast, ``--speed 0`` as fast as the
model goes. Each line: the recording's clock, the settled words (new ones) and, after "…", the words still being
decided, then how long after the chunk's last sample arrived it was shown. The end: the whole text, and the compute
per chunk and the delays (median and 95th percentile), with whether it kept up with real time.

Exit status: 0 when the recording was captioned, 1 when it could not be (a file that cannot be read, a model that
cannot load), 2 for invalid settings.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..models.spec import live_captioners
from .start import command_line_parser, start

PIECE_SECONDS = 0.1  # what a browser's microphone sends at a time (Gradio 6.31), and so what this feeds


def build_parser() -> argparse.ArgumentParser:
    parser = command_line_parser("Play a recording as if live through the live captions, printing each caption "
                                 "with its delay.")
    parser.prog = "python -m transcribe_studio.live"
    parser.add_argument("file", type=Path, help="an audio or video file")
    keys = [spec.key for spec in live_captioners()]
    parser.add_argument("--model", choices=keys, default=keys[0], help=f"the captioning model (default: {keys[0]})")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="how fast to play it: 1 real time, 4 four times as fast, 0 as fast as it goes "
                             "(default: 1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..errors import StudioError
    from ..logs import route_library_logging
    from ..media.decode import decode_audio
    from ..models import ModelCache

    args, settings, _ = start(build_parser(), argv, transcribes=False)
    if args.speed < 0:
        print("--speed must be 0 (as fast as it goes) or more.", file=sys.stderr)
        return 2
    route_library_logging()
    try:
        audio = decode_audio(args.file, max_bytes=int(settings.max_file_mb * 1_000_000))
        cache = ModelCache(settings)
        cache.load(args.model)
    except StudioError as error:
        print(error.user_message(), file=sys.stderr)
        return 1
    shown = play(cache, args.model, audio, args.speed)
    print(summary(shown))
    return 0


def play(cache, key: str, audio, speed: float) -> dict:
    """Feed ``audio`` in microphone-sized pieces at ``speed``, printing each change of the captions."""
    from ..live import LiveStreams
    from ..media import SAMPLE_RATE

    live = LiveStreams(cache, key)
    stream = live.open()
    piece = round(PIECE_SECONDS * SAMPLE_RATE)
    began, delays, settled = time.perf_counter(), [], ""
    for first in range(0, len(audio), piece):
        end = min(first + piece, len(audio))
        if speed:  # the piece is complete once its last sample has been spoken
            time.sleep(max(0.0, began + end / SAMPLE_RATE / speed - time.perf_counter()))
        arrived, steps = time.perf_counter(), len(live.step_seconds)
        caption = live.feed(stream, audio[first:end])
        if len(live.step_seconds) > steps:  # a chunk was heard: the caption changed now
            delays.append(time.perf_counter() - arrived)
            new = caption.settled[len(settled):].strip()
            settled = caption.settled
            print(f"[{caption.seconds:7.1f} s] {new}  … {caption.pending}   (+{delays[-1]:.2f} s)", flush=True)
    recording, final = live.close(stream)
    return {"text": final.text, "seconds": len(recording) / SAMPLE_RATE, "steps": list(live.step_seconds),
            "delays": delays, "chunk_seconds": live.options.chunk_seconds, "speed": speed,
            "wall": time.perf_counter() - began}


def summary(shown: dict) -> str:
    import numpy as np

    steps, delays = np.array(shown["steps"] or [0.0]), np.array(shown["delays"] or [0.0])
    chunk = shown["chunk_seconds"]
    keeps_up = np.percentile(steps, 95) < chunk
    return (f"\n{shown['text']}\n\n{shown['seconds']:.1f} s of audio in {len(shown['steps'])} chunks of {chunk:g} s: "
            f"compute per chunk median {np.median(steps):.2f} s, 95th percentile {np.percentile(steps, 95):.2f} s "
            f"({'keeps up with' if keeps_up else 'falls behind'} real time); shown after the chunk arrived: median "
            f"{np.median(delays):.2f} s, 95th percentile {np.percentile(delays, 95):.2f} s. A word is first shown "
            f"up to {chunk:g} s after it is said (its chunk must arrive) plus that compute.")
