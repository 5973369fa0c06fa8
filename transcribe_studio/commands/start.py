"""The start every command shares: flags, logging, settings that are valid and, for the commands that
transcribe, an output folder that can be written to and the chosen device, or exit status 2 with what to fix."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from ..classify import folder_error
from ..errors import StudioError
from ..files import check_writable
from ..logs import setup_logging
from ..settings import OUTPUT_DIR_FLAG, Settings


def command_line_parser(description: str, setup_only: bool = False) -> argparse.ArgumentParser:
    """The shared flags; ``setup_only``: only the settings that say where the models come from (the setup's)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--verbose", action="store_true",
                        help="show debug logging of every library on the console (default: off; it is always in "
                             "the log file)")
    Settings.add_arguments(parser, setup_only=setup_only)
    return parser


def start(parser: argparse.ArgumentParser, argv: list[str] | None, transcribes: bool = True,
          refuse: Callable[[argparse.Namespace], None] | None = None
          ) -> tuple[argparse.Namespace, Settings, Path | None]:
    """Parse, configure logging and validate the settings; on a bad setting print why and exit 2.

    ``transcribes``: also check the output folder and the device (``--device cuda`` without a GPU),
    so a command stops before any work instead of failing its first file. ``refuse``: raises a StudioError
    for a job that cannot be done (languages its model cannot take), before the output folder is made.
    """
    args = parser.parse_args(argv)
    log_file = setup_logging(args.verbose)
    try:
        settings = Settings.from_args(args).validate()
        if refuse is not None:
            refuse(args)
        if transcribes:
            check_output_folder(settings)
            check_device(settings)
    except StudioError as error:
        print(error.user_message(), file=sys.stderr)
        raise SystemExit(2) from None
    return args, settings, log_file


def check_output_folder(settings: Settings) -> None:
    """Raise a DiskError naming ``--output-dir`` unless the output folder can be created and written to.

    Run before anything is transcribed (app and CLI), so no work is done that could not be saved.
    """
    try:
        check_writable(settings.output_dir)
    except OSError as exc:
        raise folder_error(exc, settings.output_dir, OUTPUT_DIR_FLAG, starting=True) from exc


def check_device(settings: Settings) -> None:
    """Raise a ConfigurationError naming ``--device`` if the chosen device is not there (imports torch)."""
    from ..models.device import resolve_device

    resolve_device(settings.device)
