"""``python -m transcribe_studio.evaluate FOLDER_OR_MANIFEST``: each available model's word and character error
rates and speed on the user's own recordings, as a table, the worst files with their differences, and a CSV.

Exit status: 0 when at least one model was measured, 1 when none could be (each says why), 2 when there is nothing
to measure (no recording with a reference) or a setting is invalid.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from ..evaluate.report import table, worst, write_csv
from ..models import transcribers
from .start import command_line_parser, start


def build_parser() -> argparse.ArgumentParser:
    parser = command_line_parser("Measure each model on your own recordings: word and character error rates "
                                 "against references you wrote, and speed. Nothing leaves this machine.")
    parser.prog = "python -m transcribe_studio.evaluate"
    parser.add_argument("source", type=Path, metavar="FOLDER_OR_MANIFEST",
                        help="a folder of recordings, each with a same-named .txt of what is said in it "
                             "(talk.wav and talk.txt), or a NeMo manifest (.json: audio_filepath and text a line)")
    keys = [spec.key for spec in transcribers()]
    parser.add_argument("--models", type=lambda v: [k.strip() for k in v.split(",") if k.strip()],
                        default=None, metavar="KEYS",
                        help=f"the models to measure, comma-separated, from {', '.join(keys)} (default: every "
                             "model whose files are on this machine)")
    told = ", ".join(spec.label for spec in transcribers() if spec.prompt) or "none here"
    parser.add_argument("--language", default="en",
                        help=f"the recordings' language, as a code (en, de, ...): models told the language hear it "
                             f"({told}), models that do not hear it are left out; en uses Whisper's English "
                             "normaliser, others its basic multilingual one (default: en)")
    parser.add_argument("--csv", type=Path, default=None,
                        help="where to write every file's results (default: evaluation-<time>.csv in the output "
                             "folder)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..evaluate import compare, find_pairs
    from ..logs import route_library_logging
    from ..models import ModelCache

    args, settings, log_file = start(build_parser(), argv)
    pairs, left_out = find_pairs(args.source)
    for path, reason in left_out:
        print(f"Left out {path}: {reason}.", file=sys.stderr)
    keys = _models(args, settings)
    if not pairs or not keys:
        print("Nothing to measure: " + ("no recording with a reference was found." if not pairs else
                                        "no model is available (run `python setup_local_models.py`)."),
              file=sys.stderr)
        return 2
    route_library_logging()
    print(f"Measuring {len(keys)} model(s) on {len(pairs)} recording(s) ({_normaliser(args.language)}).",
          file=sys.stderr)
    scores = compare(ModelCache(settings), keys, pairs, args.language,
                     on_model=lambda key: print(f"  {key}: loading and transcribing...", file=sys.stderr))
    print(table(scores))
    print(worst(scores))
    path = write_csv(args.csv or settings.output_dir / f"evaluation-{datetime.now():%Y%m%d-%H%M%S}.csv", scores)
    print(f"Every file's results: {path}", file=sys.stderr)
    return 0 if any(not s.problem for s in scores) else 1


def _normaliser(language: str) -> str:
    from ..evaluate.scoring import normaliser_name

    return normaliser_name(language)


def _models(args: argparse.Namespace, settings) -> list[str]:
    """The models asked for (none when one is unknown, said why) or, by default, those whose files are here."""
    known = {spec.key: spec for spec in transcribers()}
    if args.models:
        unknown = [key for key in args.models if key not in known]
        if unknown:
            print(f"No model {', '.join(unknown)}: choose from {', '.join(known)}.", file=sys.stderr)
            return []
        return args.models
    chosen = []
    for key, spec in known.items():
        why = spec.availability(settings)
        if why:
            print(f"Not measured: {spec.label} ({why}).", file=sys.stderr)
        else:
            chosen.append(key)
    return chosen
