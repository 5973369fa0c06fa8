"""``python setup_local_models.py``: fetch and verify every model once, so the app runs offline.

Each model's spec says how (its ``setup`` step, and ``check`` for ``--check``):
a file downloaded at a pinned commit into ``local_models/`` and verified
(:mod:`..models.pinned`), or pinned files in the Hugging Face cache
(:mod:`..models.hub_cache`). A model the app can start without gets a
``--skip-<model>`` flag; an optional one (its spec's ``setup_by_default`` off) is set up only
with ``--with-<model>``. Idempotent: what is already there and verified is not
downloaded again. ``--check`` verifies without downloading.
"""

from __future__ import annotations

import argparse
import sys

from ..classify import report
from ..models.spec import all_specs
from ..settings import SETUP_COMMAND
from .start import command_line_parser, start


def build_parser() -> argparse.ArgumentParser:
    parser = command_line_parser("Download and verify the models once, so the app runs offline.", setup_only=True)
    parser.prog = SETUP_COMMAND
    parser.add_argument("--check", action="store_true",
                        help="only verify what is present; download nothing (default: off, set up what is missing)")
    parser.set_defaults(skip=set(), add=set())
    for spec in all_specs():
        if spec.setup is None or spec.required_at_startup is not None:
            continue
        if spec.setup_by_default:
            parser.add_argument(f"--skip-{spec.key}", dest="skip", action=_AddKey, const=spec.key, nargs=0,
                                help=f"do not set up {spec.label} (it is then fetched on its first use; default: off)")
        else:
            parser.add_argument(f"--with-{spec.key}", dest="add", action=_AddKey, const=spec.key, nargs=0,
                                help=f"also set up {spec.label}, {spec.summary} (default: off)")
    return parser


class _AddKey(argparse.Action):
    """``--skip-<model>`` and ``--with-<model>``: add the model's key to ``args.skip`` or ``args.add``."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, set(getattr(namespace, self.dest)) | {self.const})


def main(argv: list[str] | None = None) -> int:
    args, settings, _ = start(build_parser(), argv, transcribes=False)
    failed = False
    for spec in all_specs():
        if spec.setup is None:
            continue
        if spec.key in args.skip:
            print(f"{spec.label}: skipped (--skip-{spec.key}); it is fetched on first use instead.")
            continue
        if not spec.setup_by_default and spec.key not in args.add:
            continue  # optional: only with --with-<key>, and then said
        try:
            print(f"{spec.label}: {(spec.check if args.check else spec.setup)(settings)}")
        except Exception as exc:  # noqa: BLE001 - classified, traceback to the log file only: printed once here
            failed = True
            print(f"{spec.label}: FAILED. {report(exc, spec.label).user_message()}", file=sys.stderr)
    if failed:
        return 1
    print("All set. Start the app with: python transcribe_ui.py")
    return 0
