"""Command line: ``python -m transcribe_studio FILE_OR_FOLDER... [--model KEY] [--speakers]``.

Each file is transcribed and saved (``--format``, ``--output-dir``) as soon as
it finishes; a bad file is reported and skipped, and so is an entry of a folder
that cannot be read (a symlink loop, a file without permission). An output
folder that cannot be written stops the run before any transcription; if saving
one file fails later, its transcript is still printed and it counts as failed.
A path that does not exist is reported at once, before any model loads; the
other files still run. stdout holds the transcripts (and the summary when every
file succeeded); everything else (progress, notes, failures) goes to stderr, and
the chatter of NeMo and its libraries only to the log file.
With ``--watch`` it keeps running and transcribes each new file in the given folders once it is
complete (see :mod:`..transcription.watch`); Ctrl+C ends it with a summary and exit status 0.
Exit status: 0 when every file succeeded, 1 when any failed (each with its
reason), 2 for invalid settings, a device that is not there (``--device cuda``
without a GPU) or an output folder that cannot be written.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path

from ..errors import MediaNotFoundError
from ..formatting import duration_text
from ..models import DEFAULT_MODEL, diarizers, transcribers
from ..models.spec import label
from ..outputs.writers import DEFAULT_FORMATS, FORMATS, WriterOptions, reading_speed_notes
from ..transcription.batch import FileResult, collect_inputs, run_batch, summary
from ..transcription.batched import Tally
from .start import command_line_parser, start


def formats_arg(value: str) -> list[str]:
    chosen = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(FORMATS)} (comma-separated), not {value!r}")
    return chosen


def build_parser() -> argparse.ArgumentParser:
    parser = command_line_parser("Transcribe audio or video files locally with NVIDIA NeMo.")
    parser.prog = "python -m transcribe_studio"
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help="audio/video files or folders of them")
    add_job_flags(parser)
    _add_watch_flags(parser)
    parser.add_argument("--quiet", action="store_true",
                        help="do not print transcripts, only the summary (default: off)")
    return parser


def add_job_flags(parser: argparse.ArgumentParser) -> None:
    """What a job is asked for, as every command that transcribes takes it: the model, the formats and the
    options (--vocabulary, --no-word-timings, --speakers)."""
    models = transcribers()
    parser.add_argument("--model", choices=[spec.key for spec in models], default=DEFAULT_MODEL,
                        help="; ".join(f"{spec.key}: {spec.label}, {spec.summary}" for spec in models)
                        + f" (default: {DEFAULT_MODEL})")
    parser.add_argument("--format", dest="formats", type=formats_arg, default=list(DEFAULT_FORMATS),
                        help=f"output formats, comma-separated, from {', '.join(FORMATS)} "
                             f"(default: {','.join(DEFAULT_FORMATS)})")
    _add_option_flags(parser, models)


def _add_option_flags(parser: argparse.ArgumentParser, models: list) -> None:
    """--vocabulary, --no-word-timings and --speakers, each saying which models it applies to."""
    boosting = " and ".join(spec.label for spec in models if spec.vocabulary) or "no model"
    parser.add_argument("--vocabulary", metavar='"A, B, C"|FILE',
                        help="names and terms to spell right: comma-separated, or a text file of one per line. "
                             f"{boosting} favour them (--vocabulary-weight); the others do not use them "
                             "(default: none)")
    untimed = [spec for spec in models if spec.word_timings_from]
    timers = ", ".join(f"{spec.label} (times from {label(spec.word_timings_from)})" for spec in untimed) or "none"
    parser.add_argument("--no-word-timings", dest="word_timings", action="store_false",
                        help="for a model without word times, skip the pass of another model that gives its words "
                             f"their times: {timers}. Faster; segments are then whole windows (default: off, words "
                             "are timed)")
    prompted = " and ".join(spec.label for spec in models if spec.prompt) or "no model"
    parser.add_argument("--language", default="", type=_language_code, metavar="CODE",
                        help="the recording's language as a two-letter code (de, pl, es, ...): required by "
                             f"{prompted}, which is told it; the others find it themselves and refuse a language "
                             "they do not hear (default: auto)")
    parser.add_argument("--translate-to", default="", type=_language_code, metavar="CODE",
                        help=f"write the text in this language instead (translated subtitles and text, on the "
                             f"recording's clock): {prompted}, from English into the other languages it hears and "
                             "from those into English (default: none)")
    diarizer = next(iter(diarizers()), None)
    most = f"; it tells at most {diarizer.max_speakers} speakers apart (with more, some are merged)" if diarizer else ""
    parser.add_argument("--speakers", action="store_true",
                        help=f"label who spoke (\"Speaker 1\", \"Speaker 2\", ...) with the speaker diarizer{most}. "
                             "Needs its file from the setup; without it the transcript is saved unlabelled, with a "
                             "note (default: off)")


def _language_code(value: str) -> str:
    """A language code as written ("DE", " de "), "" for auto."""
    code = value.strip().lower()
    return "" if code == "auto" else code


def positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"a number of seconds above 0, not {value!r}")
    return seconds


def _add_watch_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--watch", action="store_true",
                        help="keep running and transcribe each new audio or video file in the given folders once "
                             "it is complete (its size no longer changing); files already done are skipped. "
                             "Ctrl+C stops (default: off)")
    parser.add_argument("--watch-interval", type=positive_seconds, default=5.0, metavar="SECONDS",
                        help="with --watch, seconds between looks at the folders; a file is taken once it has not "
                             "changed for that long (default: 5)")


def job_options(args: argparse.Namespace):
    """The job's options, or exit status 2 with the reason (an unusable names-and-terms list)."""
    from ..errors import StudioError
    from ..models.vocabulary import parse
    from ..transcription.engine import Options

    try:
        return Options(vocabulary=tuple(parse(args.vocabulary)), word_timings=args.word_timings,
                       speakers=args.speakers, language=args.language, translate_to=args.translate_to)
    except StudioError as error:
        print(error.user_message(), file=sys.stderr)
        raise SystemExit(2) from None


def refuse_languages(args: argparse.Namespace) -> None:
    """Raise a LanguageChoiceError when the model cannot take ``--language`` and ``--translate-to`` (for
    :func:`.start.start`, so a refused job writes nothing)."""
    from ..models import get
    from ..transcription.language import check_choice

    check_choice(get(args.model), args.language, args.translate_to)


def split_missing(sources: list[Path]) -> tuple[list[Path], list[FileResult]]:
    """The files that exist, and the failed results of those that do not, each reported now (before any load)."""
    present, missing = [], []
    for source in sources:
        if source.is_file():
            present.append(source)
            continue
        missing.append(FileResult(source, error=MediaNotFoundError(f"'{source}' does not exist or is not a file.")))
        print(f"FAILED  {source}: {missing[-1].error.user_message()}", file=sys.stderr)
    return present, missing


BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar:20}| "


def _progress_bar(tqdm, sources: list[Path]):
    """One bar: a file's stages, or the whole run's files, audio, speed and time left. ``disable=None``: no bar
    when stderr is not a terminal (a log file, a pipe), where it would be escape codes."""
    name = sources[0].name[:40] if len(sources) == 1 else f"{len(sources)} files"
    return tqdm(total=100, unit="%", desc=name, disable=None, bar_format=BAR_FORMAT)


def main(argv: list[str] | None = None) -> int:
    from tqdm.auto import tqdm

    from ..logs import route_library_logging
    from ..models import ModelCache

    args, settings, log_file = start(build_parser(), argv, refuse=refuse_languages)
    options = job_options(args)
    if args.watch:
        return _watch(args, settings, options, log_file)
    skipped: list = []
    sources = collect_inputs(args.inputs, skipped)
    for path, reason in skipped:
        print(f"Skipped {path}: {reason}.", file=sys.stderr)
    sources, missing = split_missing(sources)
    if not sources:
        print(summary(missing) if missing else "No audio or video files found in the given folders.",
              file=sys.stderr)
        return 1
    route_library_logging()  # before NeMo loads anything: its chatter to the log file, not among the transcripts
    cache = ModelCache(settings)
    writer_options = WriterOptions.from_settings(settings)  # as the files are written (run_batch)
    results = list(missing)
    bar = _progress_bar(tqdm, sources)
    tally = Tally(len(sources))

    def on_start(source):  # one file: its own stages
        return lambda fraction, note: bar.update(round(fraction * 100) - bar.n)

    def on_progress(fraction: float, note: str) -> None:  # several files: the whole run
        left = tally.seconds_left()
        shown = note + (f" · about {duration_text(left)} left" if left is not None and fraction < 1 else "")
        bar.bar_format = BAR_FORMAT + shown.replace("{", "{{").replace("}", "}}")
        bar.update(round(fraction * 100) - bar.n)

    def word_times_added(result) -> None:
        tqdm.write(f"Word times added to {result.source.name} (its files were rewritten).", file=sys.stderr)

    for result in run_batch(cache, args.model, sources, args.formats, on_start, options=options,
                            on_update=word_times_added, progress=on_progress, tally=tally):
        results.append(result)
        if result.transcript is not None and not args.quiet:  # even when saving it failed: the text is not lost
            tqdm.write(f"== {result.source} ==\n{result.transcript.text or '(no speech recognised)'}")
            for note in result.transcript.notes:  # how it was made: word times, names and terms, retries
                tqdm.write(f"   note: {note}", file=sys.stderr)
            for line in reading_speed_lines(result, writer_options):
                tqdm.write(line, file=sys.stderr)
    bar.close()
    failed = [r for r in results if not r.ok]
    order = {source: index for index, source in enumerate(sources)}  # files done together come in any order
    print(summary(sorted(results, key=lambda r: order.get(r.source, -1))), file=sys.stderr if failed else sys.stdout)
    if failed and log_file:
        print(f"Full details are in {log_file}.", file=sys.stderr)
    return 1 if failed else 0


def _watch(args: argparse.Namespace, settings, options, log_file: Path | None) -> int:
    """``--watch``: transcribe what comes into the folders until Ctrl+C; exit status 0 then, 2 without a folder."""
    import threading

    from ..logs import route_library_logging
    from ..models import ModelCache
    from ..transcription.watch import SCANS_ENV, FolderWatch, WatchOptions, stop_on_ctrl_c

    if not any(Path(p).is_dir() for p in args.inputs):
        print("--watch needs a folder to watch: give at least one folder among the inputs (the folder your "
              "recorder or dictation device syncs into). To transcribe only the files named, leave --watch out.",
              file=sys.stderr)
        return 2
    for missing in [p for p in args.inputs if not Path(p).exists()]:
        print(f"Skipped {missing}: it does not exist.", file=sys.stderr)
    route_library_logging()  # before NeMo loads anything: its chatter to the log file, not among the transcripts
    scans = os.environ.get(SCANS_ENV)
    watching = FolderWatch(ModelCache(settings), args.model, [p for p in args.inputs if Path(p).exists()],
                           args.formats, options, WatchOptions(args.watch_interval, int(scans) if scans else None),
                           on_result=None if args.quiet else partial(_print_transcript,
                                                                     options=WriterOptions.from_settings(settings)))
    stop = threading.Event()
    with stop_on_ctrl_c(stop, watching):
        results = watching.run(stop)
    failed = [r for r in results if not r.ok]
    print(summary(results), file=sys.stderr if failed else sys.stdout)
    if failed and log_file:
        print(f"Full details are in {log_file}.", file=sys.stderr)
    return 0


def _print_transcript(result: FileResult, options: WriterOptions) -> None:
    if result.transcript is not None:  # even when saving it failed: the text is not lost
        print(f"== {result.source} ==\n{result.transcript.text or '(no speech recognised)'}", flush=True)
        for note in result.transcript.notes:
            print(f"   note: {note}", file=sys.stderr)
        for line in reading_speed_lines(result, options):
            print(line, file=sys.stderr)


def reading_speed_lines(result: FileResult, options: WriterOptions, most: int = 3) -> list[str]:
    """What to say about a file's subtitle cues shown too fast to read: the first ``most``, then how many more
    (a long file of fast speech may have hundreds); nothing when it has no subtitles or every cue can be read."""
    if result.transcript is None or not any(p.suffix in (".srt", ".vtt") for p in result.outputs):
        return []
    notes = reading_speed_notes(result.transcript, options)
    more = [f"and {len(notes) - most} more cues too fast to read"] if len(notes) > most else []
    return [f"   subtitles: {note}" for note in notes[:most] + more]
