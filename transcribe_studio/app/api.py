"""The studio's named API endpoints, as plain functions: the page calls them, and so may anyone.

Each function takes the app's :class:`ModelCache` (and, for History, its
:class:`HistoryStore`) and plain values, and never raises for a bad file, a
failed load or a bad question: the answer says what went wrong and what to do
(the traceback goes to the log). The page serves them under these names:

============================  ====================================================  ===============================
``api_name``                  inputs (gradio_client, in order)                      outputs (in order)
============================  ====================================================  ===============================
``/transcribe``               files (list of files), recording (file or None),      text, segments, downloads,
                              model (key, --model's choices), formats (list),       files, message, status
                              and optionally: names and terms (text, "a, b"),
                              word timings (bool, True), speakers (bool, False)
``/summarise``                text                                                  answer, status
``/action_items``             text                                                  answer, status
``/ask``                      text, question                                        answer, status
``/cancel``                   (none)                                                message
``/current_job``              (none): the caller's running job, watched to its end  as ``/transcribe`` (all empty
                                                                                    when none runs)
``/history``                  (none)                                                rows
``/save_edit``                entry id, segment texts (list, one per segment)       text, segments, message
``/rename_speakers``          entry id, names ("Speaker 1 = Dana, Speaker 2 = Lee")  text, segments, message
``/find_speakers``            entry id (one saved without speakers)                 text, segments, message
``/load_model_<key>``         (none)                                                models, note, status
``/unload_model_<key>``       (none)                                                models, note, status
============================  ====================================================  ===============================

Through gradio_client, tables (segments, files, rows, models) arrive as
``{"headers": [...], "data": [[...], ...]}``; called here, they are lists of rows.
All model work shares one queue slot on the page, so these run one at a time there.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .. import assistant
from ..classify import report
from ..errors import Cancelled, EditError, ModelFileError, RenameError, StudioError
from ..formatting import clock
from ..media.decode import probe_seconds
from ..models import DEFAULT_MODEL, ModelCache, get, vocabulary
from ..models.spec import diarizers, label
from ..outputs import corrections
from ..outputs.history import HistoryStore, check_edit, edit_transcript
from ..outputs.writers import DEFAULT_FORMATS, markdown_escaped
from ..progress import Progress, expect_seconds
from ..settings import SETUP_COMMAND
from ..transcription import engine
from ..transcription.batch import FileResult, run_batch, speaker_provenance
from ..transcription.costs import Costs, job_costs
from ..transcription.language import check_choice
from ..transcription.speakers import NO_SPEECH_NOTE, UNLABELLED_NOTE, label_transcript
from ..transcription.transcript import Transcript
from . import model_table
from .views import (
    SEGMENT_HEADERS,
    View,
    error_markdown,
    file_rows,
    history_rows,
    job_summary,
    parse_speaker_names,
    status_markdown,
    transcript_view,
    view,
)

MAX_OCCURRENCES_SHOWN = 50  # listed before a replace; the count says how many more
NO_INPUT = "Choose one or more audio or video files, or record from the microphone."

# progress(fraction of the whole job done, what is happening now); raising Cancelled stops the job
JobProgress = Callable[[float, str], None]


@dataclass(frozen=True)
class Transcription:
    """What ``/transcribe`` answers, after each file and at the end of a job."""
    text: str = ""                                           # the transcript of the last file finished
    segments: list[list[str]] = field(default_factory=list)  # its [start, end, text(, speaker)] rows ("0:01.20")
    downloads: list[str] = field(default_factory=list)       # paths of its output files
    files: list[list[str]] = field(default_factory=list)     # [file, "done"/"failed", details] per file so far
    message: str = ""                                        # markdown: progress, summary, what went wrong
    status: str = ""                                         # markdown: the device and each model's state
    entry: str | None = None                                 # the History entry of the file in view
    viewer: dict = field(default_factory=dict)               # for the page: the entry shown, its audio
    headers: list[str] = field(default_factory=lambda: list(SEGMENT_HEADERS))  # the segments' columns
    batch: list[str | None] = field(default_factory=list)    # the History entry of each file row (None: failed)

    @classmethod
    def of(cls, shown: View, files: list[list[str]], message: str, status: str,
           batch: list[str | None] = ()) -> "Transcription":
        return cls(shown.text, shown.segments, shown.downloads, files, message, status, shown.entry, shown.state,
                   shown.headers, list(batch))

    def outputs(self) -> tuple:
        """In the order of the page's outputs: text, segments, downloads, viewer, files, message, status."""
        return self.text, self.segments, self.downloads, self.viewer, self.files, self.message, self.status


def job_options(cache: ModelCache, names_and_terms: str | None = "", word_timings: bool = True,
                speakers: bool = False, model: str = DEFAULT_MODEL, language: str | None = "",
                translate_to: str | None = "") -> engine.Options:
    """The page's choices as engine options; raises a :class:`StudioError` saying what to fix (a names and
    terms list that cannot be used, speakers asked for without the diarizer's file, languages ``model`` cannot
    take). ``language``: a code, or "auto"/""; ``translate_to``: a code, or "none"/""."""
    language = _code(language, "auto")
    translate_to = _code(translate_to, "none")
    check_choice(get(model), language, translate_to)
    if speakers and diarizers():
        _diarizer_loadable(cache, "or untick \"Who spoke\"")
    phrases = vocabulary.parse(names_and_terms, files=False)  # what a browser types never opens a server file
    return engine.Options(vocabulary=tuple(phrases), word_timings=bool(word_timings), speakers=bool(speakers),
                          language=language, translate_to=translate_to)


def _code(value: str | None, nothing: str) -> str:
    """A language choice as a code: "" for none chosen (``nothing``, empty, None)."""
    code = str(value or "").strip().lower()
    return "" if code == nothing else code


def transcribe(cache: ModelCache, store: HistoryStore, files: Iterable[str | Path] | None,
               recording: str | Path | None = None, model: str = DEFAULT_MODEL,
               formats: Iterable[str] | None = DEFAULT_FORMATS, progress: JobProgress | None = None,
               options: engine.Options | None = None) -> Transcription:
    """Transcribe ``files`` (and ``recording``) with ``model``; each finished file becomes a History entry.

    Returns the answer after the last file (see :class:`Transcription`); a JSON is
    always written besides ``formats``: it is the History entry's record of the transcript (what History
    lists, reopens, searches and edits). ``progress`` may raise
    :class:`Cancelled` to stop after the current step: finished files stay saved. ``options``: names and
    terms, word timings, speakers (:func:`job_options` makes them from the page's choices).
    """
    last = Transcription()
    for last in transcribe_steps(cache, store, files, recording, model, formats, progress, options):
        pass
    return last


def transcribe_steps(cache: ModelCache, store: HistoryStore, files: Iterable[str | Path] | None,
                     recording: str | Path | None = None, model: str = DEFAULT_MODEL,
                     formats: Iterable[str] | None = DEFAULT_FORMATS,
                     progress: JobProgress | None = None,
                     options: engine.Options | None = None) -> Iterator[Transcription]:
    """:func:`transcribe`, answering after every file (the page streams these)."""
    paths = unique_files([Path(f) for f in (files or [])] + ([Path(recording)] if recording else []))
    if not paths:
        yield Transcription(message=NO_INPUT, status=status_markdown(cache))
        return
    formats = sorted(set(formats or DEFAULT_FORMATS) | {"json"})  # the entry's record (see above)
    started, results, shown, entries_of = time.monotonic(), [], View(), {}
    on_start = _per_file_progress(progress, paths, results, label(model), job_costs(cache, model, options))

    def answer(message: str) -> Transcription:
        rows = _in_order(results, paths)  # as dropped, though files done together finish in any order
        return Transcription.of(shown, file_rows(rows), message, status_markdown(cache),
                                [entries_of.get(r.source) for r in rows])
    with store.job() as entries:
        try:
            for result in run_batch(cache, model, paths, formats, on_start, entries.open, options,
                                    progress=progress):
                results.append(result)
                if result.ok:
                    try:
                        entries_of[result.source] = entries.finish(result.source)
                    except StudioError as error:  # the entry vanished after its files were written
                        result.error = error
                else:
                    entries.discard(result.source)
                if shown.entry is None:  # the first file done stays in view: the next never replace what is read
                    shown = _view_of(result, entries_of.get(result.source), entries.kept_audio)
                yield answer(job_summary(results, len(paths), started))
        except Cancelled:
            entries.discard_open()
            yield answer(_cancelled(results))


def _in_order(results: list[FileResult], paths: list[Path]) -> list[FileResult]:
    order = {path: index for index, path in enumerate(paths)}
    return sorted(results, key=lambda result: order.get(result.source, len(order)))


def _view_of(result: FileResult, entry_id: str | None, kept_audio: dict) -> View:
    """A finished file as the page shows it, from memory (what was just written, not read back); a file
    transcribed but not saved (a full disk) is still shown, to copy; a failed one shows nothing."""
    if entry_id is not None:
        audio = kept_audio.get(entry_id)
        return transcript_view(result.transcript, result.outputs, entry_id, str(audio) if audio else None)
    return transcript_view(result.transcript) if result.transcript is not None else View()


def unique_files(paths: list[Path]) -> list[Path]:
    """``paths`` with a file added twice kept once (the first): the same path, or the same name, size and
    first megabyte (one file uploaded twice lands in two upload folders)."""
    seen, kept = set(), []
    for path in paths:
        key = _identity(path)
        if key not in seen:
            seen.add(key)
            kept.append(path)
    return kept


def _identity(path: Path) -> tuple:
    try:
        with open(path, "rb") as f:
            head = hashlib.sha256(f.read(1 << 20)).hexdigest()
        return path.name, path.stat().st_size, head
    except OSError:  # unreadable: only the same path is the same file (run_batch says what is wrong)
        return (str(path),)


def _per_file_progress(progress: JobProgress | None, paths: list[Path], results: list[FileResult],
                       model_label: str, costs: Costs):
    """``run_batch``'s ``on_start`` (one file; several report the whole run themselves): each file's progress as
    its share of the whole job, by its length (from its header; a file that does not say counts as long as the
    others on average); the first report says how long the job should take, before any of it is measured."""
    known = [probe_seconds(path) for path in paths]
    average = (sum(s for s in known if s) / max(sum(1 for s in known if s), 1)) or 60.0
    lengths = [s or average for s in known]
    total = sum(lengths)
    expect_seconds(costs.seconds(total))

    def on_start(source: Path):
        index = len(results)
        before, length = sum(lengths[:index]), lengths[index] if index < len(lengths) else average

        def update(fraction: float, note: str) -> None:
            if progress is not None:
                progress(min((before + fraction * length) / total, 1.0), f"{source.name}: {note}")
        update(0.0, f"loading {model_label} if needed, decoding")
        return update
    return on_start


def _cancelled(results: list[FileResult]) -> str:
    return f"Cancelled. {sum(r.ok for r in results)} finished file(s) are saved in History."


# --- Ask the assistant --------------------------------------------------------

def summarise(cache: ModelCache, text: str, keep: Callable[[str, str], None] | None = None) -> tuple[str, str]:
    """A summary of the transcript ``text``: (answer markdown, status markdown).

    ``keep(heading, answer)``, when given, saves a successful answer (with its History entry)."""
    return _answer(lambda: assistant.summarise(cache, text), cache, "Summary", keep)


def action_items(cache: ModelCache, text: str, keep: Callable[[str, str], None] | None = None) -> tuple[str, str]:
    """The action items in the transcript ``text``: (answer markdown, status markdown); ``keep`` as above."""
    return _answer(lambda: assistant.action_items(cache, text), cache, "Action items", keep)


def ask(cache: ModelCache, text: str, question: str,
        keep: Callable[[str, str], None] | None = None) -> tuple[str, str]:
    """An answer to ``question`` from the transcript ``text``: (answer markdown, status markdown); ``keep`` as above."""
    return _answer(lambda: assistant.ask(cache, text, question), cache, f"Q: {' '.join(str(question).split())}", keep)


def _answer(call: Callable[[], assistant.Answer], cache: ModelCache, heading: str,
            keep: Callable[[str, str], None] | None) -> tuple[str, str]:
    try:
        answer = call().markdown()
    except Exception as exc:  # noqa: BLE001 - shown to the user, traceback to the log
        return error_markdown(report(exc, f"asking {assistant.answering_model().label}")), status_markdown(cache)
    if keep is not None:
        try:
            keep(heading, answer)
            answer += "\n\n*Saved with this transcript in History.*"
        except Exception as exc:  # noqa: BLE001 - the answer is shown all the same
            answer += f"\n\n*Not saved with the transcript: {report(exc, 'saving the answer').message}*"
    return answer, status_markdown(cache)


# --- History and models -------------------------------------------------------

def history(store: HistoryStore) -> list[list[str]]:
    """Every complete History entry, newest first: [id, created (UTC), file, model, duration, preview]."""
    return history_rows(store)


def save_edit(store: HistoryStore, entry_id: str | None, segment_texts: list[str]) -> tuple[View, str]:
    """Save a person's segment texts (one per segment, in order) into the History entry ``entry_id`` and
    rewrite its exports: (the entry as now shown, a message). Nothing is written when the edit is refused."""
    return _entry_change(store, entry_id, lambda: store.save_edit(entry_id, segment_texts), "Edits saved",
                         "saving the edits")


def rename_speakers(store: HistoryStore, entry_id: str | None, names: str | None) -> tuple[View, str]:
    """Name the entry's speakers ("Speaker 1 = Dana, Speaker 2 = Lee"; an empty name restores the label) and
    rewrite its exports: (the entry as now shown, a message)."""
    def rename():
        if names is not None and not isinstance(names, str):
            raise RenameError("The speaker names must be text, such as \"Speaker 1 = Dana\".")
        try:
            store.rename_speakers(entry_id, parse_speaker_names(names))
        except ValueError as exc:
            raise RenameError(str(exc)) from None
    return _entry_change(store, entry_id, rename, "Speakers renamed", "renaming the speakers")


def find_speakers(cache: ModelCache, store: HistoryStore, entry_id: str | None,
                  progress: Progress | None = None) -> tuple[View, str]:
    """Find who spoke in the History entry ``entry_id``, saved without speakers: the diarizer hears the entry's
    kept audio copy and labels its transcript as it is now (a person's edits kept word for word), then every
    export is rewritten: (the entry as now shown, a message). Nothing is written when it is refused (speakers
    there already, no audio copy kept, no diarizer that loads)."""
    def find():
        _diarizer_loadable(cache, "then press Find speakers again")
        store.add_speakers(entry_id, lambda transcript, audio: _speakers_of(cache, transcript, audio, progress))
    return _entry_change(store, entry_id, find, "Speakers found", "finding the speakers")


def _diarizer_loadable(cache: ModelCache, otherwise: str) -> None:
    """Refuse a diarizer whose file is missing before anything is decoded; ``otherwise``: what else to do."""
    if not diarizers():
        raise ModelFileError("This app has no speaker diarizer.", next_steps="Update the app, then try again.")
    spec = diarizers()[0]
    reason = spec.availability(cache.settings)
    if reason is not None:
        raise ModelFileError(f"Telling speakers apart needs {spec.label}, which cannot load: {reason}.",
                             next_steps=f"Run `{SETUP_COMMAND}` once to download it, {otherwise}.")


def _speakers_of(cache: ModelCache, transcript: Transcript, audio: np.ndarray,
                 progress: Progress | None) -> tuple[Transcript, dict]:
    """``transcript`` labelled as a job labels it, and what labelled it; a diarizer that fails raises its error.
    A note saying an earlier job found no speakers goes: it would contradict the labels."""
    transcript.notes = [n for n in transcript.notes if n != NO_SPEECH_NOTE and not n.startswith(UNLABELLED_NOTE)]
    labelled, error = label_transcript(cache, transcript, audio, progress)
    if error is not None:
        raise error
    return labelled, speaker_provenance(cache)


def find(store: HistoryStore, entry_id: str | None, phrase: str | None) -> str:
    """Every place ``phrase`` is said in the entry, with its time and speaker, as markdown (nothing changes)."""
    if not entry_id:
        return "Open a transcript first (transcribe a file, or open one from History)."
    try:
        found = corrections.occurrences(store.load(entry_id)[0], phrase or "")
    except Exception as exc:  # noqa: BLE001 - shown to the user, traceback to the log
        return error_markdown(report(exc, "finding"))
    if not found:
        return f"\"{markdown_escaped(' '.join(phrase.split()))}\" is not in this transcript."
    # Each time is a link the page plays from (page.js: the "#t=" links of the list of places).
    shown = "\n".join(f"- [{clock(o.start)}](#t={o.start:.3f})"
                      f"{f' {markdown_escaped(o.speaker)}:' if o.speaker else ''} "
                      f"{markdown_escaped(o.before)}**{markdown_escaped(o.match)}**{markdown_escaped(o.after)}"
                      for o in found[:MAX_OCCURRENCES_SHOWN])
    more = f"\n- …and {len(found) - MAX_OCCURRENCES_SHOWN} more" if len(found) > MAX_OCCURRENCES_SHOWN else ""
    return f"**{len(found)} place{'s' if len(found) > 1 else ''}** (Replace all changes every one):\n\n{shown}{more}"


def replace_all(store: HistoryStore, entry_id: str | None, phrase: str | None, replacement: str | None,
                shown_texts: list[str] | None = None) -> tuple[View, str]:
    """Replace every ``phrase`` by ``replacement`` in the entry (undoable once): each replaced word keeps the time
    and speaker of the word it replaces. ``shown_texts``: the segments as the page shows them, refused when they
    hold edits not saved yet (the change would lose them)."""
    count = []

    def replacing(transcript):
        _no_unsaved_edits(transcript, shown_texts)
        texts, replaced = corrections.replaced_texts(transcript, phrase or "", replacement or "")
        count.append(replaced)
        check_edit(texts, transcript.segments)  # a replacement may not grow a segment beyond an edit's bounds
        return edit_transcript(transcript, texts)
    return _entry_change(store, entry_id, lambda: store.change(entry_id, replacing, undoable=True),
                         lambda: f"Replaced {count[0]} place{'s' if count[0] > 1 else ''} (Undo last replace takes "
                                 f"{'them' if count[0] > 1 else 'it'} back)", "replacing")


def undo_replace(store: HistoryStore, entry_id: str | None) -> tuple[View, str]:
    """Put the entry back as it was before its last Replace all, byte for byte."""
    return _entry_change(store, entry_id, lambda: store.undo(entry_id), "Replace undone", "undoing the replace")


def split_segment(store: HistoryStore, entry_id: str | None, word_index, shown_texts=None) -> tuple[View, str]:
    """Split the segment holding the word ``word_index`` before that word."""
    return _structure_change(store, entry_id, corrections.split_at, word_index, shown_texts, "Segment split")


def merge_segments(store: HistoryStore, entry_id: str | None, word_index, shown_texts=None) -> tuple[View, str]:
    """Join the segment holding the word ``word_index`` with the next one."""
    return _structure_change(store, entry_id, corrections.merge_after, word_index, shown_texts, "Segments merged")


def _structure_change(store, entry_id, change, word_index, shown_texts, done: str) -> tuple[View, str]:
    def changing(transcript):
        _no_unsaved_edits(transcript, shown_texts)
        return change(transcript, word_index)
    return _entry_change(store, entry_id, lambda: store.change(entry_id, changing), done, "changing the segments")


def _no_unsaved_edits(transcript, shown_texts: list[str] | None) -> None:
    """Refuse a change made from the saved transcript while the page shows edits not saved yet."""
    if shown_texts is not None and [" ".join(t.split()) for t in shown_texts] != \
            [" ".join(s.text.split()) for s in transcript.segments]:
        raise EditError("The segments table has edits that are not saved yet; this change starts from the saved "
                        "transcript and would lose them.", next_steps="Press Save edits first, then try again.")


def _entry_change(store: HistoryStore, entry_id: str | None, change: Callable[[], object],
                  done: str | Callable[[], str], doing: str) -> tuple[View, str]:
    if not entry_id:
        return View(), "Open a transcript first (transcribe a file, or open one from History)."
    try:
        change()
        shown = view(store, entry_id)
        return shown, f"{done() if callable(done) else done}: every download of this transcript was rewritten."
    except Exception as exc:  # noqa: BLE001 - shown to the user, traceback to the log
        return View(), error_markdown(report(exc, doing))


def download_all(store: HistoryStore, entry_ids: list[str | None]) -> tuple[str | None, str]:
    """One zip of the entries' exports, made inside the caller's History (served to that login only):
    (its path or None, a message)."""
    chosen = [entry for entry in entry_ids or [] if entry]
    if not chosen:
        return None, "Nothing to download yet: transcribe files first."
    try:
        path = store.zip_entries(chosen)
        return str(path), f"One zip of {len(chosen)} transcript(s)."
    except Exception as exc:  # noqa: BLE001 - shown to the user, traceback to the log
        return None, error_markdown(report(exc, "making the zip"))


def load_model(cache: ModelCache, key: str) -> tuple[list[list[str]], str, str]:
    """Load the model ``key`` now: (the Models table's rows, a note, status markdown)."""
    def load() -> str:
        cache.load(key)
        return "{} is loaded."
    return _model_action(load, cache, key)


def unload_model(cache: ModelCache, key: str) -> tuple[list[list[str]], str, str]:
    """Unload the model ``key``, freeing its memory: (the Models table's rows, a note, status markdown)."""
    return _model_action(lambda: "{} was unloaded; its memory is free." if cache.unload(key)
                         else "{} was not loaded: there was nothing to unload.", cache, key)


def _model_action(action: Callable[[], str], cache: ModelCache, key: str):
    """Run ``action``, which returns the note to show ("{}" is the model's name), or its error's message."""
    try:
        note = action().format(label(key))
    except StudioError as error:
        note = error_markdown(error)
    return model_table.rows(cache), note, status_markdown(cache)


@dataclass
class Comparison:
    """What the Compare tab shows after a measure: the table, the worst files, the CSV and what was left out."""
    table: str = ""
    worst: str = ""
    csv: Path | None = None
    note: str = ""


def compare_models(cache: ModelCache, store: HistoryStore, files: Iterable[str | Path] | None, keys: list[str],
                   language: str, on_model: Callable[[str], None] = lambda key: None) -> Comparison:
    """Each model of ``keys`` on the uploaded recordings paired with their ``.txt`` references (one after the
    other, as ``python -m transcribe_studio.evaluate`` does); the CSV goes to the caller's downloads folder."""
    from datetime import datetime

    from ..evaluate import compare, pair_files
    from ..evaluate.report import table, worst_html, write_csv
    from ..outputs.history import DOWNLOADS

    pairs, left_out = pair_files([Path(f) for f in files or []])
    note = "\n".join(f"- Left out **{path.name}**: {why}." for path, why in left_out)
    if not pairs or not keys:
        what = "no recording with its .txt reference" if not pairs else "no model ticked"
        return Comparison(note=f"Nothing to measure: {what}. Choose recordings and a `.txt` of what is said in "
                               f"each, named alike (talk.wav and talk.txt), and tick a model.\n{note}")
    scores = compare(cache, keys, pairs, language, on_model, keep_loaded=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    csv = write_csv(store.root / DOWNLOADS / f"evaluation-{stamp}.csv", scores, paths=False)
    said = f"{len(pairs)} recording(s) measured."
    return Comparison(table(scores), worst_html(scores), csv, f"{said}\n{note}" if note else said)
