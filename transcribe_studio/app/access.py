"""Who may reach the app: 127.0.0.1 only, unless the user explicitly asks for more.

``--listen`` serves on every network interface and ``--share`` asks Gradio for
a public link; both expose transcripts and the models to other people, so both
require a login and print a warning. Logins come from ``--auth-file`` (one
``USER:PASSWORD`` a line) or the ``STUDIO_AUTH`` environment variable (one login a
line); ``--auth USER:PASSWORD`` works too but warns, as every local user can
read a command line (``ps``). :mod:`.guard` refuses requests whose ``Host`` is
not a loopback name, this machine's (under ``--listen``) or an
``--allowed-host``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigurationError

LOCALHOST = "127.0.0.1"
EVERY_INTERFACE = "0.0.0.0"
AUTH_ENV = "STUDIO_AUTH"
SHARED_HISTORY_ENV = "STUDIO_SHARED_HISTORY"


@dataclass
class Access:
    host: str = LOCALHOST
    share: bool = False
    listen: bool = False
    allowed_hosts: list[str] = field(default_factory=list)  # names the app is reached by, besides its own
    credentials: list[tuple[str, str]] = field(default_factory=list)
    shared_history: bool = False  # every login sees one History (else each login its own)
    warnings: list[str] = field(default_factory=list)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("access (private by default: 127.0.0.1, no share link)")
    group.add_argument("--port", type=int, default=7860, help="port to serve on (default 7860)")
    group.add_argument("--listen", action="store_true",
                       help="serve on every network interface, not only 127.0.0.1 (requires --auth or --auth-file)")
    group.add_argument("--share", action="store_true",
                       help="create a public Gradio share link (requires --auth or --auth-file)")
    group.add_argument("--auth", action="append", default=[], metavar="USER:PASSWORD",
                       help="a login for the app; may be repeated (visible to other local users in `ps`: "
                            f"prefer --auth-file or {AUTH_ENV})")
    group.add_argument("--auth-file", type=Path, help="a file of USER:PASSWORD lines")
    group.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                       help="another name this machine is reached by (e.g. a DNS alias) under --listen; "
                            "requests naming any other host are refused; may be repeated")
    group.add_argument("--shared-history", action="store_true",
                       help="with logins, every login sees, edits and deletes one shared History (by default each "
                            f"login has its own; env {SHARED_HISTORY_ENV}=1)")


def _parse(entry: str, where: str) -> tuple[str, str]:
    user, sep, password = entry.strip().partition(":")
    if not sep or not user or not password:
        raise ConfigurationError(f"{where} must look like USER:PASSWORD, got {entry.strip()!r}.")
    return user, password


def from_args(args: argparse.Namespace) -> Access:
    if not 1 <= args.port <= 65535:
        raise ConfigurationError(f"--port must be a TCP port from 1 to 65535, got {args.port}.",
                                 next_steps="Choose another --port, for example --port 7861.")
    credentials = [_parse(entry, "--auth") for entry in args.auth]
    credentials += [_parse(entry, AUTH_ENV) for entry in os.environ.get(AUTH_ENV, "").splitlines()
                    if entry.strip()]
    if args.auth_file:
        try:
            lines = args.auth_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigurationError(f"The credentials file {args.auth_file} cannot be read ({exc}).") from exc
        credentials += [_parse(line, str(args.auth_file)) for line in lines
                        if line.strip() and not line.lstrip().startswith("#")]
    access = Access(host=EVERY_INTERFACE if args.listen else LOCALHOST, share=args.share, listen=args.listen,
                    allowed_hosts=list(args.allowed_host), credentials=credentials,
                    shared_history=args.shared_history or os.environ.get(SHARED_HISTORY_ENV, "") in ("1", "true"))
    exposed = [flag for flag, on in (("--listen", args.listen), ("--share", args.share)) if on]
    if exposed and not credentials:
        raise ConfigurationError(
            f"{' and '.join(exposed)} would let other people use the app and read transcripts, so a login is "
            "required.", next_steps=f"Add --auth-file FILE (USER:PASSWORD lines) or set {AUTH_ENV}=USER:PASSWORD, "
                                    "or drop the flag to stay private on 127.0.0.1.")
    if args.listen:
        access.warnings.append(f"WARNING: serving on every network interface (port {args.port}): anyone on your "
                               "network who has a login can use the app.")
    if args.share:
        access.warnings.append("WARNING: a public share link is being created: anyone on the internet with the "
                               "link and a login can use the app, and your audio passes through Gradio's relay.")
    if args.auth:
        access.warnings.append("WARNING: --auth puts the password on the command line, where every user of this "
                               f"computer can read it (ps); use --auth-file FILE or {AUTH_ENV} instead.")
    return access
