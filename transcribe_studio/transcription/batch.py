"""Many files, or folders of them, in one run; each saved the moment it finishes.

One bad file is reported and skipped; the others go on. Only the given files,
the media files inside the given folders, and the output folder are touched.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..classify import folder_error, report
from ..errors import Cancelled, StudioError
from ..media import MEDIA_EXTENSIONS
from ..media.decode import decode_audio
from ..models import ModelCache, diarizers, get
from ..outputs.writers import WriterOptions, safe_stem, write_outputs
from ..progress import Progress, no_progress, staged
from ..settings import OUTPUT_DIR_FLAG
from . import batched, engine
from .costs import job_costs
from .speakers import label_transcript
from .transcript import Transcript


@dataclass
class FileResult:
    source: Path
    transcript: Transcript | None = None
    outputs: list[Path] = field(default_factory=list)
    error: StudioError | None = None
    seconds: float = 0.0  # from the start of its run (one file, or many together) to the moment it was done
    speaker_error: StudioError | None = None  # speakers were asked for but not found; the transcript stands
    metadata: dict = field(default_factory=dict)  # what was saved beside it (rewritten with it)
    output_name: str | None = None
    output_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def collect_inputs(paths: Iterable[str | Path], skipped: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Files as given, plus the media files inside given folders (sorted).

    Inside a folder, an entry that cannot be used (a link that loops, leads nowhere or out of
    the folder, an unreadable file or subfolder) is left out and, if ``skipped`` is given,
    added to it as ``(path, reason)``: one bad entry must not stop the others.
    """
    found: list[Path] = []
    skipped = [] if skipped is None else skipped
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            found.append(path)  # a missing file is reported when it is transcribed
            continue
        root = path.resolve()

        def unreadable(exc: OSError) -> None:
            skipped.append((Path(exc.filename or path), f"cannot be read ({exc.strerror or exc})"))
        for folder, dirs, files in os.walk(path, onerror=unreadable):
            dirs.sort()
            for name in sorted(files):
                candidate = Path(folder) / name
                if candidate.suffix.lower() not in MEDIA_EXTENSIONS:
                    continue
                reason = _unusable(candidate, root)
                if reason:
                    skipped.append((candidate, reason))
                else:
                    found.append(candidate)
    return found


def _unusable(candidate: Path, root: Path) -> str | None:
    """Why a media file found in a folder cannot be read, or None."""
    try:
        target = candidate.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop, on Python < 3.13
        looped = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
        return "a symbolic link that loops back on itself" if looped else "a link to a file that does not exist"
    if not target.is_relative_to(root):
        return "a link that leads out of the folder (not followed)"
    if not os.access(target, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def provenance(cache: ModelCache, key: str, options: engine.Options | None = None) -> dict:
    """What produced a transcript, and with which choices, saved beside it."""
    spec, options = get(key), options or engine.Options()
    return {"model": spec.label, "model_source": spec.provenance(cache.settings), "device": cache.status(key).device,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "settings": {"vocabulary": list(options.vocabulary), "vocabulary_weight": cache.settings.vocabulary_weight,
                         "word_timings": options.word_timings}}


def speaker_provenance(cache: ModelCache) -> dict:
    """Which diarizer labelled the speakers, saved beside the transcript."""
    found = diarizers()
    if not found:
        return {}
    spec = found[0]
    return {"model": spec.label, "model_source": spec.provenance(cache.settings),
            "device": cache.status(spec.key).device}


def transcribe_file(cache: ModelCache, key: str, source: Path, formats: Iterable[str],
                    progress: Progress | None = None, output_name: str | None = None,
                    output_dir: Path | None = None, options: engine.Options | None = None,
                    folder_must_exist: bool = False) -> FileResult:
    """Decode, transcribe (and with ``options.speakers``, label who spoke) and save one file (as ``output_name``,
    into ``output_dir`` if given).

    ``folder_must_exist``: ``output_dir`` was made for this file (a History entry); if it is gone
    by the time the outputs are written, the file fails rather than re-creating it half-filled.

    Never raises, except :class:`Cancelled` when ``progress`` asks to stop. A diarizer that fails
    leaves the transcript unlabelled, with a note, and the file still succeeds.
    """
    started = time.perf_counter()
    result = FileResult(source)
    progress = progress or no_progress
    stage = staged(progress, job_costs(cache, key, options).shares())
    decoding = stage("decode")
    try:
        audio = _decoded(cache, source, lambda done, total: decoding(done / total if total else 0.0,
                                                                     _decoding_note(done, total)))
        transcript = engine.transcribe(cache, key, audio, progress, options, stage)
        _finish(cache, key, result, transcript, audio, formats, options, stage("speakers"),
                output_name or source.name, output_dir or cache.settings.output_dir, not folder_must_exist)
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - classified; the traceback goes to the log
        result.error = report(exc, f"transcribing {source.name}")
    result.seconds = time.perf_counter() - started
    return result


def _decoded(cache: ModelCache, source: Path, progress=None):
    return decode_audio(source, max_bytes=int(cache.settings.max_file_mb * 1_000_000), progress=progress)


def _finish(cache: ModelCache, key: str, result: FileResult, transcript: Transcript, audio, formats: Iterable[str],
            options: engine.Options | None, progress: Progress, output_name: str, output_dir: Path,
            create_folder: bool) -> None:
    """Label who spoke if asked, then save: ``result`` holds the transcript even if saving fails."""
    label(cache, key, result, transcript, audio, options, progress)
    result.output_name, result.output_dir = output_name, output_dir
    _save(cache, result, formats, create_folder=create_folder)


def label(cache: ModelCache, key: str, result: FileResult, transcript: Transcript, audio,
          options: engine.Options | None, progress: Progress = no_progress) -> None:
    """``result`` given its transcript, labelled with who spoke if ``options`` ask for it (a diarizer that fails
    leaves it unlabelled, with the reason in ``result.speaker_error``), and what made it (its metadata)."""
    result.transcript = transcript
    result.metadata = {**provenance(cache, key, options), "source": result.source.name}
    if options is not None and options.speakers:
        result.transcript, result.speaker_error = label_transcript(cache, transcript, audio, progress)
        result.metadata["speakers"] = speaker_provenance(cache)


def _save(cache: ModelCache, result: FileResult, formats: Iterable[str], create_folder: bool) -> None:
    try:
        result.outputs = write_outputs(result.transcript, result.output_name, result.output_dir, formats,
                                       metadata=result.metadata, create_folder=create_folder,
                                       writer_options=WriterOptions.from_settings(cache.settings))
    except OSError as exc:
        raise folder_error(exc, result.output_dir, OUTPUT_DIR_FLAG) from exc


def _decoding_note(done: float, total: float | None) -> str:
    from ..formatting import duration_text

    return f"decoding ({duration_text(done)}" + (f" of {duration_text(total)})" if total else ")")


def run_batch(cache: ModelCache, key: str, sources: list[Path], formats: Iterable[str],
              on_start: Callable[[Path], Progress | None] | None = None,
              output_dir_for: Callable[[Path], Path] | None = None,
              options: engine.Options | None = None,
              on_update: Callable[[FileResult], None] | None = None,
              progress: Progress | None = None, tally: batched.Tally | None = None) -> Iterator[FileResult]:
    """Yield one result per file, each already saved when yielded.

    One file takes the one-file path (its own stages, ``on_start(source)`` gives its progress). Several go
    through the model together in batches (:mod:`.batched`), each yielded (and saved) the moment it is done,
    so not in the order given; ``progress`` hears the whole run (``tally``: files and audio done, speed).

    The model is loaded once up front: if that fails, every file gets that one
    reason at once instead of a new load attempt per file. When a model's word
    times come from another model that does not fit beside it on the GPU
    (two large models on a small card), the batch never swaps the two
    per file: every file is transcribed and saved first, marked "word times
    pending", then one timer pass gives each its times and rewrites its files
    (``on_update(result)`` hears each, after the last result was yielded).
    """
    formats = list(formats)
    options = options or engine.Options()
    try:
        cache.load(key)
    except StudioError as error:
        for source in sources:
            yield FileResult(source, error=error)
        return
    pending: list[tuple[FileResult, Progress | None]] = []
    tally = tally or batched.Tally(len(sources))
    results = (_one_file(cache, key, sources[0], formats, on_start, output_dir_for, options) if len(sources) == 1
               else _batched(cache, key, sources, formats, output_dir_for, options, progress or no_progress,
                             tally))
    for result, file_progress in results:
        if result.ok and result.transcript.word_times_pending:
            pending.append((result, file_progress))
        yield result
    for result in _add_pending_word_timings(cache, key, [r for r, _ in pending], formats, progress or no_progress,
                                            tally):
        if on_update is not None:
            on_update(result)


def _one_file(cache: ModelCache, key: str, source: Path, formats: list[str], on_start, output_dir_for,
              options: engine.Options) -> Iterator[tuple[FileResult, Progress | None]]:
    progress = on_start(source) if on_start else None
    try:
        output_dir = _output_dir(cache, source, output_dir_for)
    except StudioError as error:
        yield FileResult(source, error=error), progress
        return
    yield transcribe_file(cache, key, source, formats, progress, source.name, output_dir, options,
                          folder_must_exist=output_dir is not None), progress


def _batched(cache: ModelCache, key: str, sources: list[Path], formats: list[str], output_dir_for,
             options: engine.Options, progress: Progress,
             tally: batched.Tally) -> Iterator[tuple[FileResult, Progress | None]]:
    """Many files through :mod:`.batched`, each finished (speakers, saving) the moment the model is done with it."""
    names = output_names(sources)
    started, left = time.perf_counter(), dict.fromkeys(sources)
    files = batched.transcribe_files(cache, key, sources, lambda source: _decoded(cache, source), options, progress,
                                     tally)
    try:
        for heard in files:
            left.pop(heard.source, None)
            result = _finished_file(cache, key, heard, formats, options, names[heard.source], output_dir_for,
                                    lambda fraction, note, name=heard.source.name: progress(
                                        tally.fraction, f"{tally.note()} · {name}: {note}"))
            result.seconds = time.perf_counter() - started  # files finish together: when it was done
            yield result, None
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - what stops the run (a GPU that failed for good) fails the files left
        error = report(exc, "transcribing a batch of files")
        for source in left:
            yield FileResult(source, error=error), None


def _finished_file(cache: ModelCache, key: str, heard: batched.FileHeard, formats: list[str],
                   options: engine.Options, name: str, output_dir_for, progress: Progress) -> FileResult:
    """A file the batched path is done with: failed, or labelled (if asked) and saved; never raises but Cancelled."""
    result = FileResult(heard.source)
    if heard.error is not None:
        result.error = report(heard.error, f"transcribing {heard.source.name}")
        return result
    try:
        output_dir = _output_dir(cache, heard.source, output_dir_for)
        _finish(cache, key, result, heard.transcript, heard.audio, formats, options, progress, name,
                output_dir or cache.settings.output_dir, output_dir is None)
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - classified; the transcript is kept in the result
        result.error = report(exc, f"transcribing {heard.source.name}")
    return result


def _output_dir(cache: ModelCache, source: Path, output_dir_for) -> Path | None:
    """Where ``source``'s outputs go when the caller decides (a History entry), or None for the output folder;
    a folder that cannot be made (a full or read-only disk, a History folder removed) fails this file."""
    if output_dir_for is None:
        return None
    try:
        return output_dir_for(source)
    except OSError as exc:
        error = folder_error(exc, Path(exc.filename or cache.settings.output_dir).parent, OUTPUT_DIR_FLAG)
        raise report(error, f"saving the results of {source.name}") from exc


def _add_pending_word_timings(cache: ModelCache, key: str, results: list[FileResult], formats: list[str],
                              progress: Progress, tally: batched.Tally | None) -> Iterator[FileResult]:
    """The batch's timer pass over the saved files left pending (:func:`.batched.add_pending_word_times`):
    each file's outputs rewritten with its word times, yielded as it is done.

    A failure leaves that file's saved transcript as it was (window segments), with the reason in the log.
    """
    by_source = {result.source: result for result in results}
    for source, error in batched.add_pending_word_times(cache, key, [(r.source, r.transcript) for r in results],
                                                        lambda s: _decoded(cache, s), progress, tally):
        if error is not None:
            report(error, f"adding word times to {source.name}")
            continue
        try:
            _save(cache, by_source[source], formats, create_folder=False)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - the file stays saved without word times
            report(exc, f"adding word times to {source.name}")
            continue
        yield by_source[source]


def _unique_name(source: Path, taken: dict[str, int]) -> str:
    """``talk.mp3`` from two folders must not overwrite each other's outputs: the second is ``talk-2``."""
    stem = safe_stem(source).lower()
    taken[stem] = taken.get(stem, 0) + 1
    return source.name if taken[stem] == 1 else f"{source.stem}-{taken[stem]}{source.suffix}"


def output_names(sources: list[Path]) -> dict[Path, str]:
    """The name each file's outputs take in one ``run_batch`` call over ``sources``, in this order."""
    taken: dict[str, int] = {}
    return {source: _unique_name(source, taken) for source in sources}


def summary(results: list[FileResult]) -> str:
    done = [r for r in results if r.ok]
    lines = [f"{len(done)} of {len(results)} file(s) transcribed."]
    lines += [f"  OK      {r.source}  (finished {r.seconds:.1f} s into the run) -> {', '.join(p.name for p in r.outputs)}"
              + (f"\n          without speaker labels: {r.speaker_error.user_message()}" if r.speaker_error else "")
              for r in done]
    lines += [f"  FAILED  {r.source}: {r.error.user_message()}" for r in results if not r.ok]
    return "\n".join(lines)

