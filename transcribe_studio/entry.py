"""The start every command shares: flags, logging, and settings that are valid or exit status 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import StudioError
from .logs import setup_logging
from .settings import Settings


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
    except StudioError as error:
        print(error.user_message(), file=sys.stderr)
        raise SystemExit(2) from None
    return args, settings, log_file
