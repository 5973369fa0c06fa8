"""``python transcribe_ui.py``: validate, say where the models come from, serve (127.0.0.1 by default).

Every reason the app cannot start (a bad setting, a taken port, an output folder that cannot be
written) is one paragraph and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from ..commands.start import command_line_parser, start
from ..errors import StudioError
from . import access, startup


def build_parser() -> argparse.ArgumentParser:
    parser = command_line_parser("Start the local NeMo transcription studio.")
    access.add_arguments(parser)
    parser.add_argument("--no-preload", action="store_true",
                        help="do not load the default model in the background once the page is served "
                             f"(env {startup.NO_PRELOAD_ENV}=1); it then loads at the first job")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, settings, log_file = start(build_parser(), argv)
    try:
        lines = startup.validate(settings)
        served = access.from_args(args)
        startup.prepare_upload_folder()  # before gradio, which builds its own folders there at once
    except StudioError as error:
        print(error.user_message(), file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    if log_file:
        print(f"Log file: {log_file}")

    from .handlers import (  # gradio is imported only once the checks pass
        build_app,
        launch,
    )

    for warning in served.warnings:
        print(warning, file=sys.stderr)
    app = build_app(settings, shared_history=served.shared_history)
    try:
        launch(app, settings, args.port, access=served, prevent_thread_lock=True,
               preload=startup.preload_wanted(args.no_preload))
    except StudioError as error:  # the port is taken or invalid: nothing is served
        print(error.user_message(), file=sys.stderr)
        return 2
    # Only now is the server listening: the URL printed is this app's, not another program's.
    print(f"Open http://127.0.0.1:{args.port} in your browser (Ctrl+C stops the app).", flush=True)
    if app.share_url:
        print(f"Public share link: {app.share_url}", flush=True)
    # NeMo's and the other libraries' chatter to the log file, not the console. After the page is
    # up: it imports nemo.utils (seconds), which the page must not wait for.
    from ..logs import route_library_logging

    route_library_logging()
    app.block_thread()
    return 0
