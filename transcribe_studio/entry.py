"""The start every command shares: flags, logging, settings that are valid and an output folder that can be
written to, or exit status 2 with what to fix."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import StudioError, folder_error
from .files import check_writable
from .logs import setup_logging
from .settings import OUTPUT_DIR_FLAG, Settings


def command_line_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--verbose", action="store_true", help="show debug logging on the console")
    Settings.add_arguments(parser)
    return parser


def start(parser: argparse.ArgumentParser, argv: list[str] | None) -> tuple[argparse.Namespace, Settings, Path | None]:
    """Parse, configure logging and validate the settings; on a bad setting print why and exit 2."""
    args = parser.parse_args(argv)
    log_file = setup_logging(args.verbose)
    try:
        settings = Settings.from_args(args).validate()
        check_output_folder(settings)
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
        raise folder_error(exc, settings.output_dir, OUTPUT_DIR_FLAG) from exc
