"""``python -m transcribe_studio.archive SOURCE... --output-dir DEST``: an archive on Ray Data, resumable.

SOURCE: files, folders, or text files listing them (one a line); paths or object-store URIs. DEST likewise.
A manifest in DEST records each file as it finishes, so a rerun skips what is done (``--retry-failed`` tries the
failures again) and ``--status DEST`` says how far it got without running anything. By default the run starts a
private Ray on this machine, never joining a cluster by accident (``RAY_ADDRESS`` is not read); ``--ray-address``
names a cluster. Exit status: 0 when every file is done, 1 when any failed or is left for the next run, 2 when the
run cannot start (a setting, Ray not installed, a node without the models or the destination).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ..classify import report
from ..errors import ConfigurationError, StudioError
from ..formatting import duration_text
from .cli import BAR_FORMAT, add_job_flags, job_options, refuse_languages
from .start import command_line_parser, start

PACKAGE_DIR = Path(__file__).resolve().parents[1]
OUTPUT_DIR_ENV = "STUDIO_OUTPUT_DIR"  # the archive's destination has no default: a run names where it writes


def build_parser() -> argparse.ArgumentParser:
    parser = command_line_parser("Transcribe an archive (folders of audio and video, local or in an object store) "
                                 "on Ray: this machine, or a cluster. Resumable: a rerun skips what is done.")
    parser.prog = "python -m transcribe_studio.archive"
    parser.add_argument("inputs", nargs="*", metavar="SOURCE",
                        help="audio/video files, folders of them, or text files listing them (one a line); "
                             "paths or URIs (s3://bucket/folder)")
    parser.add_argument("--status", metavar="DEST", help="say how far the run into DEST got, and stop")
    add_job_flags(parser)
    ray = parser.add_argument_group("Ray")
    ray.add_argument("--ray-address", default="local",
                     help="the Ray cluster to run on: 'auto' (the one `ray start` began on this machine), "
                          "ray://HOST:10001, or HOST:6379 (default: local, a private Ray on this machine only; "
                          "RAY_ADDRESS is not read)")
    ray.add_argument("--workers", type=_positive_int, default=None,
                     help="transcribing workers, each with its model loaded (default: one per GPU; one on CPUs)")
    ray.add_argument("--gpus-per-worker", type=float, default=None,
                     help="GPUs each worker takes; 0 runs the model on CPUs (default: 1 when the cluster has "
                          "GPUs, else 0)")
    ray.add_argument("--cpus-per-decode", type=float, default=1.0,
                     help="CPUs each decoding task takes (default: 1)")
    ray.add_argument("--cpus-per-worker", type=float, default=1.0,
                     help="CPUs Ray counts for each transcribing worker; on CPUs the model still uses the "
                          "machine's cores (default: 1)")
    ray.add_argument("--files-per-batch", type=_positive_int, default=16,
                     help="files a worker takes at once, their windows batched together (default: 16)")
    ray.add_argument("--retry-failed", action="store_true", help="try again the files an earlier run failed")
    parser.add_argument("--quiet", action="store_true", help="print only the summary, not each file")
    return parser


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a whole number above 0, not {value!r}")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, settings, log_file = start(parser, argv, transcribes=False, refuse=refuse_languages)
    if args.status:
        return print_status(args.status)
    args.output_dir = args.output_dir or os.environ.get(OUTPUT_DIR_ENV)
    if not args.inputs or not args.output_dir:
        print(f"Give the files or folders to transcribe and where to write: {parser.prog} SOURCE... --output-dir "
              f"DEST (or {OUTPUT_DIR_ENV}); or --status DEST to see how far a run got. --help lists the options.",
              file=sys.stderr)
        return 2
    options = job_options(args)
    try:
        return _run(args, settings, options, log_file)
    except StudioError as error:
        print(error.user_message(), file=sys.stderr)
        return 2
    except OSError as exc:  # the destination or a source that cannot be read or written
        print(report(exc, "starting the archive run").user_message(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nStopped. Every file finished so far is saved and in the manifest; run the same command again "
              f"to go on where this run stopped (--status {args.output_dir} says how far it got).", file=sys.stderr)
        return 1


def _run(args, settings, options, log_file) -> int:
    from tqdm.auto import tqdm

    from ..archive import list_sources
    from ..archive.run import ArchiveOptions, run_archive

    sources, skipped = list_sources(args.inputs)
    for location, reason in skipped:
        print(f"Skipped {location}: {reason}.", file=sys.stderr)
    if not sources:
        print("No audio or video files found in the given sources.", file=sys.stderr)
        return 1
    try:
        connect(args.ray_address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigurationError(f"Cannot start or reach Ray at {args.ray_address!r}: {exc}",
                                 next_steps="Leave --ray-address out to run on this machine alone, or give the "
                                            "address `ray start --head` printed (HOST:6379, or ray://HOST:10001).") from None
    archive = ArchiveOptions(workers=args.workers, gpus_per_worker=args.gpus_per_worker,
                             cpus_per_decode=args.cpus_per_decode, cpus_per_worker=args.cpus_per_worker,
                             files_per_batch=args.files_per_batch,
                             retry_failed=args.retry_failed)
    bar = tqdm(total=100, unit="%", desc="archive", disable=None, bar_format=BAR_FORMAT)

    def on_row(row, tally) -> None:
        left = tally.seconds_left()
        note = tally.note() + (f" · about {duration_text(left)} left" if left and tally.files_done < tally.files_total
                               else "")
        bar.bar_format = BAR_FORMAT + note.replace("{", "{{").replace("}", "}}")
        bar.update(round(100 * tally.files_done / tally.files_total) - bar.n)
        if not args.quiet or row.status != "done":
            tqdm.write(_row_line(row), file=sys.stderr if row.status != "done" else sys.stdout)

    outcome = run_archive(sources, args.output_dir, args.model, args.formats, settings, options, archive, on_row)
    bar.close()
    counts = outcome.counts()
    print(_summary(counts, outcome, log_file))
    return 0 if counts["failed"] == counts["started"] == 0 else 1


def _summary(counts: dict[str, int], outcome, log_file) -> str:
    line = (f"{counts['done']} done, {counts['failed']} failed, {counts['started']} left for the next run"
            f" (and {outcome.already_done} done, {outcome.already_failed} failed by earlier runs).")
    if outcome.already_failed:
        line += " --retry-failed tries the earlier failures again."
    if counts["started"]:
        line += " Run the same command again to finish."
    return line + (f" Details: {log_file} and Ray's logs." if counts["failed"] and log_file else "")


def _row_line(row) -> str:
    if row.status == "done":
        return f"  OK      {row.location} -> {', '.join(row.outputs)}" + (f"\n          {row.note}" if row.note else "")
    if row.status == "failed":
        return f"  FAILED  {row.location}: {row.error['message']}"
    return f"  NOT DONE {row.location}: its worker was lost; the next run tries it again."


def connect(address: str) -> None:
    """A private Ray on this machine ("local"), or the cluster at ``address`` (which gets this package's code:
    its nodes need only the app's requirements and the model files)."""
    import secrets

    from ..archive.run import ray_data

    ray = ray_data()

    # The console is for the files' outcomes: Ray's own notes (and its workers' output) stay in its session logs.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # private by default: Ray's usage reports stay off
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
    if ray.is_initialized():  # a caller (a notebook, the tests) connected already
        return
    if address == "local":
        # Ray's servers listen on every interface (Ray 2.60 offers no loopback-only mode), so each run's private Ray
        # takes a token of its own that only this process and its workers know, and nothing is kept in ~/.ray.
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
        ray.init(address="local", **quiet)
    else:
        ray.init(address=address, runtime_env={"py_modules": [str(PACKAGE_DIR)]}, **quiet)


def print_status(destination: str) -> int:
    """The manifest's summary: files done, failed (each with why), started and not finished; audio done."""
    from ..archive.status import summary

    try:
        text, complete = summary(destination)
    except (StudioError, OSError) as error:
        print(error.user_message() if isinstance(error, StudioError) else
              f"Cannot read the manifest in {destination}: {error}.", file=sys.stderr)
        return 2
    print(text)
    return 0 if complete else 1
