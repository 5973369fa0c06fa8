"""Command line: ``python -m transcribe_studio FILE... --model parakeet|canary``.

Prints each transcript; exits 0 when every file succeeded, 1 when any failed
(each failure printed as a classified message), 2 when the settings are wrong.
"""

from __future__ import annotations

import argparse
import sys

from . import engine
from .audio import decode_audio
from .entry import command_line_parser, start
from .errors import report
from .models import CANARY, PARAKEET, ModelCache


def build_parser() -> argparse.ArgumentParser:
    parser = command_line_parser("Transcribe audio or video files locally with NVIDIA NeMo.")
    parser.prog = "python -m transcribe_studio"
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio or video files")
    parser.add_argument("--model", choices=[PARAKEET, CANARY], default=PARAKEET,
                        help="parakeet (fast, English, word timestamps) or canary (Canary-Qwen-2.5B)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, settings, log_file = start(build_parser(), argv)
    cache = ModelCache(settings)
    failures = 0
    for path in args.files:
        try:
            transcript = engine.transcribe(cache, args.model, decode_audio(path))
        except Exception as exc:  # noqa: BLE001 - every failure is classified and reported
            failures += 1
            print(f"{path}: {report(exc, f'transcribing {path}').user_message()}", file=sys.stderr)
            continue
        print(f"== {path} ==")
        print(transcript.text or "(no speech recognised)")
    if failures:
        where = f" Full details are in {log_file}." if log_file else ""
        print(f"{failures} of {len(args.files)} file(s) failed.{where}", file=sys.stderr)
    return 1 if failures else 0
