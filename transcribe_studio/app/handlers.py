"""The Gradio studio: the page (:mod:`.layout`) wired to what it does (:mod:`.api`, :mod:`.views`).

Every handler catches everything and shows the classified message, so a bad
file or a failed model load never stops the app from serving. All model work
shares one queue slot (``concurrency_id="gpu"``): one job at a time on the GPU,
while status and history stay responsive. Each finished file is saved at once
as a History entry, so a closed tab or a crash loses nothing already done; a
crash mid-file leaves an incomplete entry that the next start tidies away.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import os
import shutil
import threading
from datetime import datetime
from pathlib import Path

from . import startup  # (imports no gradio)

# Uploads go to the app's own temporary folder (cleaned by delete_cache in layout.blocks, private
# to the user: see launch), not the shared system one. Set before gradio is imported, which reads it.
os.environ.setdefault(startup.UPLOADS_ENV, str(startup.default_upload_folder()))

import gradio as gr  # noqa: E402

from .. import assistant  # noqa: E402
from ..classify import report  # noqa: E402
from ..commands.start import check_output_folder  # noqa: E402
from ..errors import StudioError  # noqa: E402
from ..live import LiveStreams, to_16k  # noqa: E402
from ..models import DEFAULT_MODEL, ModelCache, diarizers, transcribers  # noqa: E402
from ..models.spec import label, live_captioners  # noqa: E402
from ..outputs.history import HistoryStore  # noqa: E402
from ..outputs.writers import (  # noqa: E402
    DEFAULT_FORMATS,
    WriterOptions,
    markdown_escaped,
)
from ..settings import SETUP_COMMAND, Settings  # noqa: E402
from ..transcription.doubts import DEFAULT_THRESHOLD  # noqa: E402
from ..transcription.language import name_of  # noqa: E402
from . import api, calls, cancels, guard, layout, model_table, startup, uploads  # noqa: E402
from .access import Access  # noqa: E402
from .histories import Histories  # noqa: E402
from .jobs import Job, JobRegistry, JobState  # noqa: E402
from .live import live_captions_html, live_device_note, live_pace, save_live_recording  # noqa: E402
from .text import model_descriptions  # noqa: E402
from .views import (  # noqa: E402
    SEGMENT_HEADERS,
    error_markdown,
    history_listing,
    player_html,
    progress_markdown,
    recording_picture,
    segment_texts,
    status_markdown,
    subtitle_note,
    view,
)

log = logging.getLogger(__name__)

GPU = "gpu"  # the one queue slot every model call shares
JOBS = "jobs"  # watching jobs: cheap, any number at once (the job registry runs one job at a time)
NOTHING_PICKED = "*Nothing selected: click a row.*"
PICK_FIRST = "Select an entry first: click its row in the list, then press {}."
MAX_IDLE_MINUTES = 7 * 24 * 60  # a week: beyond that, "never" says it better
WATCH_INTERVAL_S = 0.25  # how often a watcher yields, so a close from Gradio reaches it at once


def _owner(request: gr.Request | None) -> str | None:
    """Whose job this is: the logged-in user name, or None without logins."""
    return getattr(request, "username", None) or None


def _session(request: gr.Request | None) -> str:
    """The browser tab a call comes from (Gradio's session)."""
    return str(getattr(request, "session_hash", None) or "")


def _names(files, recording) -> list[str]:
    return [Path(f).name for f in (files or [])] + ([Path(recording).name] if recording else [])


def _dated_recording(recording) -> str | None:
    """A microphone recording under a name that says when it was made (Gradio names every one
    ``audio.wav``), so History and the downloads tell recordings apart. Linked or copied beside it."""
    if not recording:
        return recording
    path = Path(recording)
    dated = path.with_name(f"recording {datetime.now().strftime('%Y-%m-%d %H-%M-%S')}{path.suffix}")
    try:
        if not dated.exists():
            os.link(path, dated)
        return str(dated)
    except OSError:  # a file system without links: a copy; failing that, the original name
        try:
            shutil.copyfile(path, dated)
            return str(dated)
        except OSError:
            return recording


def _gradio_event_id() -> str | None:
    try:
        from gradio.context import LocalContext

        return LocalContext.event_id.get(None)
    except Exception:  # noqa: BLE001 - Gradio's internals moved: no id, the event flag still decides
        return None


def _gradio_event():
    """The Gradio queue event running this handler, or None.

    Gradio closes a handler's generator both for an explicit cancel (``/cancel``: the page's
    Stop, gradio_client's ``Job.cancel()``) and for a client that went away (a reload, a closed
    tab, a dropped connection), with nothing to tell the two apart at the ``yield``. What differs
    is the event: Gradio marks it not ``alive`` when its client's stream is gone, before closing.
    Read from Gradio's internals (6.x ``LocalContext`` and ``Queue.event_ids_to_events``); if they
    change, None is returned and a close only stops watching (the safe side: nothing is lost, and
    the page's Cancel and ``/cancel`` still cancel)."""
    try:
        from gradio.context import LocalContext

        blocks, event_id = LocalContext.blocks.get(None), LocalContext.event_id.get(None)
        return blocks._queue.event_ids_to_events.get(event_id) if blocks and event_id else None
    except Exception:  # noqa: BLE001 - see above
        return None


NOTHING_TO_CANCEL = "Nothing of yours is running to cancel."
ALREADY_RUNNING = ("These files are already being transcribed; their results appear here as each finishes. "
                   "To transcribe more, drop them and press Transcribe: they run after the current job.")


def _final_message(job: Job) -> str:
    """What the page says under a finished job: its error, or its summary."""
    return error_markdown(job.error) if job.error else (job.result or api.Transcription()).message


class Handlers:
    """What each event does, for one app: its model cache and its History."""

    def __init__(self, cache: ModelCache, histories: Histories, jobs: JobRegistry | None = None):
        self.cache, self.histories = cache, histories
        self.jobs = jobs or JobRegistry()
        self._live: dict[str, LiveStreams] = {}  # model key -> its live streams (one pipeline each)
        self._live_sessions: dict[str, tuple[str, int]] = {}  # a tab (session) -> (model key, its stream)
        self._watched: dict[str, int] = {}  # job id -> how many watchers show it now
        self._watch_lock = threading.Lock()

    def store(self, request: gr.Request | None) -> HistoryStore:
        """The History the caller sees: their login's own (or the shared one)."""
        return self.histories.for_login(_owner(request))

    # --- Transcribe ------------------------------------------------------------
    def transcribe(self, files, recording, model, formats, names_and_terms=None, word_timings=True, speakers=False,
                   language=layout.AUTO, translate_to=layout.NO_TRANSLATION, request: gr.Request = None):
        """Start a job for the files (returns at once) and watch it; with nothing chosen, watch the
        caller's running job if there is one, else explain what to choose. The last five inputs (names and
        terms, word timings, speakers, languages) have defaults, so older API callers still fit."""
        owner = _owner(request)
        if files or recording:
            try:
                options = api.job_options(self.cache, names_and_terms, word_timings, speakers, model=model,
                                          language=language, translate_to=translate_to)
            except StudioError as error:  # a names and terms list that cannot be used, no diarizer file, languages
                yield *_shown(api.Transcription(message=error_markdown(error), status=status_markdown(self.cache))), {}
                return
            session = getattr(request, "session_hash", None)
            files = self._not_already_running(owner, session, model, files)
            if not files and not recording:
                yield *[gr.skip()] * 5, ALREADY_RUNNING, *[gr.skip()] * 3
                return
            recording = _dated_recording(recording)
            job = self.jobs.submit(owner, _names(files, recording), model, functools.partial(
                api.transcribe_steps, self.cache, self.store(request), files, recording, model, formats, options=options))
            job.sources, job.session = set(files or []), session
        elif (job := self.jobs.current(owner)) is None:
            yield *_shown(api.transcribe(self.cache, self.store(request), files, recording, model, formats)), {}
            return
        yield from self._watch(job)

    def _not_already_running(self, owner: str | None, session: str | None, model: str, files) -> list:
        """``files`` less those a job from the same page, with the same model, is working on or waiting to: a
        press while a job runs sends the page's whole list again (a drop only adds to it), and each file should
        run once. Another page, or another model, asks for them again on purpose."""
        busy = {path for job in self.jobs.active(owner) if job.session == session and job.model == model
                for path in job.sources}
        return [f for f in files or [] if f not in busy]

    def attach(self, request: gr.Request = None):
        """On page load (and ``/current_job``): show the caller's running job, if any, until it ends, then each
        job of theirs queued after it (the page that queued them may be the one reloaded)."""
        job = self.jobs.current(_owner(request))
        if job is None:
            yield *_shown(api.Transcription(status=status_markdown(self.cache))), {}
            return
        while job is not None:
            yield from self._watch(job)
            job = self.jobs.current(_owner(request))

    def _watch(self, job: Job):
        """The job's outputs every ``WATCH_INTERVAL_S`` until it ends. A close from Gradio lands at a
        ``yield`` within that interval: an explicit cancel (the event's client is still there) cancels
        the job; a closed page or dropped connection only stops watching.

        A job queued behind another of the same owner's that is being watched (a second Transcribe on
        the same page) stays quiet until it starts, so the page shows the running job, which says what
        is queued after it, and then this one."""
        event, event_id = _gradio_event(), _gradio_event_id()
        shown = None
        try:
            with cancels.watch(event_id, lambda: self.jobs.cancel(job.owner, job.id)), self._watching(job):
                while True:
                    finished = job.wait(WATCH_INTERVAL_S)
                    if not finished and self._behind_a_watched_job(job):
                        yield (gr.skip(),) * 9
                        continue
                    yield self._job_outputs(job, shown, finished)
                    shown = job.result
                    if finished:
                        return
        except GeneratorExit:
            if cancels.was_cancelled(event_id) or (event is not None and event.alive):
                log.info("%s cancelled by its client", job.id)
                self.jobs.cancel(job.owner, job.id)
            raise

    @contextlib.contextmanager
    def _watching(self, job: Job):
        with self._watch_lock:
            self._watched[job.id] = self._watched.get(job.id, 0) + 1
        try:
            yield
        finally:
            with self._watch_lock:
                self._watched[job.id] -= 1
                if not self._watched[job.id]:
                    del self._watched[job.id]

    def _behind_a_watched_job(self, job: Job) -> bool:
        """Whether ``job`` waits behind another job of its owner's that someone watches."""
        return job.state is JobState.QUEUED and any(
            other is not job and other.state is JobState.RUNNING and other.id in self._watched
            for other in self.jobs.active(job.owner))

    def _job_outputs(self, job: Job, shown, finished: bool) -> tuple:
        """The page's outputs for ``job`` now: what changed since ``shown`` (gr.skip() for the rest)."""
        result = job.result or api.Transcription()
        status = status_markdown(self.cache)
        state = {"job": job.id}
        message = _final_message(job) if finished else progress_markdown(job.progress(),
                                                                          queued_after=self._queued_after(job))
        if not finished and shown is not None and result.entry is not None and result.entry == shown.entry:
            # the file in view is the one already sent: resending it would undo what the person edits meanwhile.
            # The last answer is whole (an API caller reads only that one).
            return *[gr.skip()] * 4, result.files, message, status, result.batch, state
        if finished:
            return *_shown(dataclasses.replace(result, message=message, status=status)), state
        if job.result is shown and not job.partial:
            return *[gr.skip()] * 4, gr.skip(), message, status, gr.skip(), state
        if job.result is shown:  # only the text in progress changed
            return job.partial, *[gr.skip()] * 4, message, status, gr.skip(), state
        text = job.partial or result.text
        return text, *_shown(dataclasses.replace(result, message=message, status=status))[1:], state

    def _queued_after(self, job: Job) -> list[str]:
        """The files of the owner's jobs waiting behind ``job``."""
        return [name for other in self.jobs.active(job.owner)
                if other is not job and other.state is JobState.QUEUED for name in other.files]

    def cancel(self, job_state, request: gr.Request = None):
        """Cancel the caller's job shown on this page (through the API: all the caller's jobs).

        Not queued: every one of Gradio's queue workers may be held by long events (each page
        watching a job holds one until the job ends), and a queued Cancel would wait for them. So
        the answer goes in the message, not a toast: on a page that shows a finished job, under
        that job's summary, which stays."""
        owner, shown_job = _owner(request), (job_state or {}).get("job")
        asked = self.jobs.cancel(owner, shown_job)
        if asked:
            return f"**Cancelling after the current step...** ({len(asked)} job(s)) Finished files stay saved."
        finished = self.jobs.get(shown_job, owner) if shown_job else None
        if finished is not None:
            return f"{_final_message(finished)}\n\n{NOTHING_TO_CANCEL}"
        return NOTHING_TO_CANCEL

    @staticmethod
    def only_new_uploads(files, sent):
        """After a drop onto a list whose files were already sent to a job, only the new files: Gradio adds
        a drop to the list, and pressing Transcribe again would transcribe the earlier files a second time.
        Pressing Transcribe without a new drop still runs the same list (another model, say)."""
        already = set(sent or [])
        fresh = [f for f in files or [] if f not in already]
        return fresh if already and fresh and len(fresh) < len(files) else gr.skip()

    @staticmethod
    def segment_start(state, event: gr.SelectData):
        """The clicked segment's start on the recording's own clock (for SEEK_JS), or gr.skip()."""
        segments = (state or {}).get("segments") or []
        row = _row(event)
        if row is None or not 0 <= row < len(segments):
            return gr.skip()
        return segments[row][0]

    # --- Edit -------------------------------------------------------------------
    def save_edit(self, state, rows, request: gr.Request = None):
        """Save edits: the segments table's texts into the entry shown; its text, table and downloads again."""
        shown, message = api.save_edit(self.store(request), (state or {}).get("entry"), segment_texts(rows))
        return _edited(shown, message)

    def rename_speakers(self, state, names, request: gr.Request = None):
        shown, message = api.rename_speakers(self.store(request), (state or {}).get("entry"), names)
        return _edited(shown, message)

    def save_edit_api(self, entry_id: str, segment_texts: list[str],
                      request: gr.Request = None) -> tuple[str, list[list[str]], str]:
        """``/save_edit``: (text, segments, message) after saving one text per segment into the entry."""
        shown, message = api.save_edit(self.store(request), entry_id, segment_texts)
        return shown.text, shown.segments, message

    def rename_speakers_api(self, entry_id: str, names: str,
                            request: gr.Request = None) -> tuple[str, list[list[str]], str]:
        """``/rename_speakers``: (text, segments, message) after naming speakers ("Speaker 1 = Dana, ...")."""
        shown, message = api.rename_speakers(self.store(request), entry_id, names)
        return shown.text, shown.segments, message

    def find_speakers(self, state, request: gr.Request = None):
        """Find speakers: who spoke in the entry shown (saved without them), from its kept audio; its text, table
        and downloads again."""
        shown, message = api.find_speakers(self.cache, self.store(request), (state or {}).get("entry"))
        return _edited(shown, message)

    def find_speakers_api(self, entry_id: str, request: gr.Request = None) -> tuple[str, list[list[str]], str]:
        """``/find_speakers``: (text, segments, message) after finding who spoke in an entry saved without
        speakers."""
        shown, message = api.find_speakers(self.cache, self.store(request), entry_id)
        return shown.text, shown.segments, message

    # --- Review -----------------------------------------------------------------
    @staticmethod
    def another_entry(state, shown):
        """When another transcript is shown: the messages and the find and replace of the one before go."""
        entry = (state or {}).get("entry") or ""
        if entry == shown:
            return (gr.skip(),) * 5
        return entry, "", "", "", ""

    def subtitle_note(self, state, request: gr.Request = None):
        return subtitle_note(self.store(request), (state or {}).get("entry"))

    def picture(self, state, threshold, request: gr.Request = None):
        return recording_picture(self.store(request), (state or {}).get("entry"), _threshold(threshold))

    def find_text(self, state, phrase, request: gr.Request = None):
        return api.find(self.store(request), (state or {}).get("entry"), phrase)

    def replace_all(self, state, rows, phrase, replacement, also_names, names_and_terms,
                    request: gr.Request = None):
        """Replace every occurrence; with ``also_names``, the replacement joins the names and terms box."""
        shown, message = api.replace_all(self.store(request), (state or {}).get("entry"), phrase, replacement,
                                         segment_texts(rows))
        names = gr.skip()
        if shown.entry and also_names and (replacement or "").strip():
            names = _with_term(names_and_terms, replacement.strip())
            message += " It was added to names and terms (under Options) for the next transcriptions."
        return *_edited(shown, message), names, ""  # the list of places is out of date, or the message says why

    def undo_replace(self, state, request: gr.Request = None):
        return _edited(*api.undo_replace(self.store(request), (state or {}).get("entry")))

    def split(self, state, rows, word, request: gr.Request = None):
        return _edited(*api.split_segment(self.store(request), (state or {}).get("entry"), _word(word),
                                          segment_texts(rows)))

    def merge(self, state, rows, word, request: gr.Request = None):
        return _edited(*api.merge_segments(self.store(request), (state or {}).get("entry"), _word(word),
                                           segment_texts(rows)))

    # --- Batches ----------------------------------------------------------------
    def open_file_row(self, batch, event: gr.SelectData, request: gr.Request = None):
        """A Files row clicked: that file's transcript, player and downloads, and which file they are; a failed
        file clears them (nothing of another file stays on screen) and says why it failed, in full."""
        row = _row(event)
        entry_id = batch[row] if batch and row is not None and 0 <= row < len(batch) else None
        name, _, details = [*(event.row_value or []), "", "", ""][:3]
        name = markdown_escaped(str(name or "That file"))
        if not entry_id:
            nothing = ("", _segments_table([], SEGMENT_HEADERS), [], {})
            return *nothing, f"**{name}** has no transcript: {markdown_escaped(str(details or 'it failed'))}"
        try:
            shown = view(self.store(request), entry_id)
        except Exception as exc:  # noqa: BLE001 - every failure gets its classified message
            return *[gr.skip()] * 4, error_markdown(report(exc, f"opening the History entry {entry_id}"))
        return (*_view_outputs(shown), f"Showing **{name}**.")

    def download_all(self, batch, request: gr.Request = None):
        path, message = api.download_all(self.store(request), batch)
        return gr.File(value=path, visible=path is not None), message

    # --- Live --------------------------------------------------------------------------
    def live_start(self, model=None, request: gr.Request = None):
        """Record pressed: a stream of its own for this tab (one left over from a tab that lost its Stop ends)."""
        session = _session(request)
        self.live_gone(request)
        keys = [spec.key for spec in live_captioners()]
        key = model if model in keys else keys[0]  # an API caller may name any model: only a live one streams
        self._live_sessions[session] = (key, self._live_for(key).open())
        return "Listening..."

    def live_piece(self, piece, model=None, request: gr.Request = None):
        """About 0.1 s of the microphone: the captions now, as HTML and as text, and how they keep up."""
        if piece is None:
            return gr.skip(), gr.skip(), gr.skip()
        session = _session(request)
        if session not in self._live_sessions:  # a piece before start was seen: start now
            self.live_start(model, request)
        key, stream = self._live_sessions[session]
        live = self._live_for(key)
        try:
            caption = live.feed(stream, to_16k(*piece))
        except StudioError as error:
            return gr.skip(), gr.skip(), error_markdown(error)
        return live_captions_html(caption), caption.text, live_pace(live)

    def live_stop(self, formats=None, names_and_terms="", speakers=False, request: gr.Request = None):
        """Stop pressed: the whole recording saved, then transcribed again for History with the Transcribe tab's
        formats, names and terms and speakers (the live text stays)."""
        found = self._live_sessions.pop(_session(request), None)
        if found is None:
            yield gr.skip(), gr.skip(), "Nothing was being recorded."
            return
        key, stream = found
        recording, caption = self._live_for(key).close(stream)
        if not len(recording):
            yield gr.skip(), gr.skip(), "Nothing was heard: no recording to save."
            return
        try:
            path = save_live_recording(recording)
        except OSError as exc:  # a full or read-only disk: the live text stays on the page to copy
            error = report(exc, "saving the live recording")
            yield live_captions_html(caption), caption.text, (f"{error_markdown(error)}\n\nThe live text above is "
                                                               "all there is of this recording: copy it now.")
            return
        yield live_captions_html(caption), caption.text, (f"Stopped after {caption.seconds:.1f} s. Transcribing the "
                                                           "whole recording again for History...")
        try:
            options = api.job_options(self.cache, names_and_terms, True, speakers, model=key)
        except StudioError as error:  # the choices cannot be used: the recording is still saved, without them
            options = None
            yield gr.skip(), gr.skip(), f"{error_markdown(error)}\n\nTranscribing without them..."
        result = api.transcribe(self.cache, self.store(request), None, recording=path, model=key,
                                formats=formats or DEFAULT_FORMATS, options=options)
        yield gr.skip(), gr.skip(), f"The whole recording is in **History**. {result.message}"

    def live_gone(self, request: gr.Request = None):
        """A tab closed or recording again: its stream is freed, in the pipeline too."""
        found = self._live_sessions.pop(_session(request), None)
        if found is not None:
            self._live_for(found[0]).drop(found[1])

    def _live_for(self, key: str) -> LiveStreams:
        if key not in self._live:
            self._live[key] = LiveStreams(self.cache, key)
        return self._live[key]

    # --- Compare -----------------------------------------------------------------------
    def compare(self, files, models, language="en", request: gr.Request = None, progress=gr.Progress()):
        """Measure the ticked models on the uploaded recordings (the progress names the model at work), then the
        report."""
        keys = list(models or [])

        def working(key: str) -> None:
            progress((keys.index(key), len(keys)), desc=f"{label(key)}: loading and transcribing", unit="models")

        try:
            found = api.compare_models(self.cache, self.store(request), files, keys, str(language or "en"), working)
        except StudioError as error:
            yield error_markdown(error), "", "", gr.File(visible=False)
            return
        csv = str(found.csv) if found.csv else None
        yield found.note, found.table, found.worst, gr.File(value=csv, visible=csv is not None)

    # --- Ask the assistant ---------------------------------------------------------
    # Each says at once that it is working (and that the model loads first, which takes a minute or more with
    # the real one), then gives the answer: an API caller gets the answer as the call's result.
    def summarise(self, text, viewer=None, request: gr.Request = None):
        yield self._asking("a summary", text)
        yield api.summarise(self.cache, text, self._keeper(viewer, request))

    def action_items(self, text, viewer=None, request: gr.Request = None):
        yield self._asking("the action items", text)
        yield api.action_items(self.cache, text, self._keeper(viewer, request))

    def ask(self, text, question, viewer=None, request: gr.Request = None):
        yield self._asking("an answer", text)
        yield api.ask(self.cache, text, question, self._keeper(viewer, request))

    def _asking(self, what: str, text) -> tuple[str, str]:
        """(answer area, status) while the language model works: what it is doing, and whether it loads first."""
        spec = assistant.answering_model()
        if not str(text or "").strip():
            return gr.skip(), gr.skip()  # nothing to ask about: the answer says so at once
        loading = "" if self.cache.is_loaded(spec.key) else " It loads first, which can take a minute or more."
        return f"*Asking {spec.label} for {what}...{loading}*", status_markdown(self.cache)

    def _keeper(self, viewer, request: gr.Request | None):
        """Where an answer about the transcript shown is kept: its History entry (none for pasted text)."""
        entry, store = (viewer or {}).get("entry"), self.store(request)
        asked = f"Ask {assistant.answering_model().language_model.name}"
        return (lambda heading, answer: store.save_answer(entry, heading, answer, asked)) if entry else None

    # --- History ---------------------------------------------------------------
    def history(self, request: gr.Request = None):
        """``/history``: every entry as rows, ids included (see ``api.history``)."""
        try:
            return api.history(self.store(request))
        except StudioError as error:  # shown as Gradio's notice: the table keeps its rows
            raise gr.Error(error.user_message()) from error

    def history_rows_api(self, request: gr.Request = None) -> list[list[str]]:
        """``/history`` (no inputs): every entry as [id, created (UTC), file, model, duration, preview]."""
        return self.history(request)

    def history_page(self, search="", request: gr.Request = None):
        """The History tab's rows matching ``search`` and their ids (kept off the screen)."""
        try:
            return history_listing(self.store(request), search)
        except StudioError as error:
            raise gr.Error(error.user_message()) from error

    @staticmethod
    def pick_history(ids, rows, event: gr.SelectData):
        """The clicked row's entry id, what the page says about it, and Delete's question and confirmation
        cleared: a Confirm delete asked about another entry must not linger over this one."""
        row = _row(event)
        data = rows.values.tolist() if hasattr(rows, "values") else rows
        if not ids or row is None or not 0 <= row < len(ids) or not data or row >= len(data):
            return "", NOTHING_PICKED, "", gr.Button(visible=False)
        created, source = data[row][0], data[row][1]
        return ids[row], f"Selected: **{markdown_escaped(str(source))}** ({created})", "", gr.Button(visible=False)

    def open_history(self, entry_id, request: gr.Request = None):
        if not entry_id:
            return *[gr.skip()] * 4, gr.skip(), gr.Tabs(), PICK_FIRST.format("open")
        try:
            shown = view(self.store(request), entry_id)
            return *_view_outputs(shown), "Opened from History.", gr.Tabs(selected="transcribe"), ""
        except Exception as exc:  # noqa: BLE001 - every failure gets its classified message
            error = error_markdown(report(exc, f"opening the History entry {entry_id}"))
            return *[gr.skip()] * 4, gr.skip(), gr.Tabs(), error

    def ask_delete(self, entry_id, picked_label):
        """Delete's first click: say what would go, and show the button that deletes it."""
        if not entry_id:
            return PICK_FIRST.format("delete"), gr.Button(visible=False)
        what = picked_label.removeprefix("Selected: ") if picked_label else "this entry"
        return (f"Delete {what} and all its files? Press **Confirm delete** to delete it for good.",
                gr.Button(visible=True))

    def delete_history(self, entry_id, search="", request: gr.Request = None):
        """Confirm delete: the entry goes; (rows, ids, picked id, picked label, note, confirm button)."""
        if not entry_id:
            return *self.history_page(search, request), "", NOTHING_PICKED, PICK_FIRST.format("delete"), gr.Button(visible=False)
        try:
            self.store(request).delete(entry_id)
            note, entry_id, picked = "Deleted.", "", NOTHING_PICKED
        except Exception as exc:  # noqa: BLE001 - every failure gets its classified message
            note, picked = error_markdown(report(exc, f"deleting the History entry {entry_id}")), gr.skip()
        return *self.history_page(search, request), entry_id, picked, note, gr.Button(visible=False)

    # --- Models ----------------------------------------------------------------
    def set_idle(self, minutes):
        try:
            minutes = float(minutes or 0)
        except (TypeError, ValueError):
            minutes = math.nan
        if not 0 <= minutes <= MAX_IDLE_MINUTES:  # NaN included
            return f"Idle minutes must be a number from 0 (never unload) to {MAX_IDLE_MINUTES:g}; nothing changed."
        self.cache.idle_unload_minutes = minutes
        if not minutes:
            return "Models stay loaded until you unload them."
        return f"Models unload after {minutes:g} idle minute{'' if minutes == 1 else 's'}."

    def idle_in_force(self):
        """On page load: the idle-unload minutes in force now (set earlier, perhaps from another page)."""
        return self.cache.idle_unload_minutes

    def model_choices(self, chosen):
        """On page load: the model choices, each that cannot load now labelled with why (Gradio's Radio
        cannot disable one choice); the choice stays unless it cannot load."""
        choices, usable = [], []
        for spec in offered(self.cache.settings):
            reason = spec.availability(self.cache.settings)
            choices.append((spec.label if reason is None else f"{spec.label} (unavailable: {reason})", spec.key))
            if reason is None:
                usable.append(spec.key)
        value = chosen if chosen in usable or not usable else usable[0]
        return gr.Radio(choices=choices, value=value)

    def status(self):
        return status_markdown(self.cache)

    def tick(self):
        return model_table.rows(self.cache), status_markdown(self.cache)


def _threshold(value) -> float:
    try:
        return min(max(float(value), 0.0), 1.0)
    except (TypeError, ValueError):
        return DEFAULT_THRESHOLD


def _word(value) -> int:
    """The picked word's index from the page (-1: none picked)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return -1


def _with_term(names_and_terms: str | None, term: str) -> str:
    """The names and terms box with ``term`` added, once."""
    terms = [t.strip() for t in (names_and_terms or "").split(",") if t.strip()]
    return ", ".join(terms if term.lower() in (t.lower() for t in terms) else [*terms, term])


def _row(event: gr.SelectData) -> int | None:
    return event.index[0] if isinstance(event.index, (list, tuple)) else event.index


def _segments_table(segments: list[list[str]], headers: list[str]) -> dict:
    """The segments with their columns (a speaker column when they have speakers); a plain value, not a
    component update, so API callers get ``{"headers": ..., "data": ...}`` as before."""
    return {"headers": headers, "data": segments}


def _view_outputs(shown) -> tuple:
    """An entry as the page shows it: text, segments, downloads, viewer (the player follows the viewer)."""
    return shown.text, _segments_table(shown.segments, shown.headers), shown.downloads, shown.state


def _edited(shown, message: str) -> tuple:
    """After an edit or a rename: text, segments, downloads, message, and the viewer (so the read-along under
    the player shows the words as they are now); nothing else moves when it failed."""
    if not shown.entry:
        return *[gr.skip()] * 3, message, gr.skip()
    return shown.text, _segments_table(shown.segments, shown.headers), shown.downloads, message, shown.state


def _shown(result: api.Transcription) -> tuple:
    """A job's answer in :func:`_job_components`' order, less the job state."""
    return (result.text, _segments_table(result.segments, result.headers), result.downloads, result.viewer,
            result.files, result.message, result.status, result.batch)


def build_app(settings: Settings, cache: ModelCache | None = None, shared_history: bool = False) -> gr.Blocks:
    """The studio for ``settings`` (a new model cache unless one is given), not yet served. Each login
    has its own History unless ``shared_history`` (see :mod:`.histories`)."""
    cache = cache or ModelCache(settings)
    writer_options = WriterOptions.from_settings(settings)
    histories = Histories(settings.output_dir, lambda root: HistoryStore(
        root, writer_options=writer_options, keep_audio_bytes=int(settings.keep_audio_mb * 1_000_000)),
        shared=shared_history)
    histories.tidy()
    handlers = Handlers(cache, histories)
    with layout.blocks() as app:
        page = layout.build(
            models=[(spec.label, spec.key) for spec in offered(settings)],
            loadable=[(row.spec.label, row.spec.key) for row in cache.snapshot()],
            default_model=DEFAULT_MODEL, assistant_label=assistant.answering_model().label,
            model_rows=lambda: model_table.rows(cache), idle_minutes=cache.idle_unload_minutes,
            about_models=model_descriptions(settings), option_texts=_option_texts(settings))
        _wire_transcribe(page, handlers)
        _wire_history(page, handlers)
        _wire_compare(page, handlers)
        _wire_live(app, page, handlers)
        _wire_models(page, handlers)
        app.load(handlers.status, outputs=page.status, api_name=False, queue=False)
        app.load(handlers.idle_in_force, outputs=page.idle, api_name=False, queue=False)
        app.load(handlers.model_choices, inputs=page.model, outputs=page.model, api_name=False, queue=False)
        attached = app.load(handlers.attach, outputs=_job_components(page), api_name="current_job",
                            concurrency_id=JOBS, concurrency_limit=None, show_progress="hidden")
        attached.then(handlers.history_page, inputs=page.history_search, outputs=[page.history, page.history_ids],
                      api_name=False, show_progress="hidden")
        gr.api(handlers.history_rows_api, api_name="history")
        gr.api(handlers.save_edit_api, api_name="save_edit")
        gr.api(handlers.rename_speakers_api, api_name="rename_speakers")
        gr.api(handlers.find_speakers_api, api_name="find_speakers")
    app.queue(default_concurrency_limit=1)
    app.studio_cache = cache  # for tests
    app.studio_histories = histories
    app.studio_history = histories.shared  # the History without logins
    app.studio_jobs = handlers.jobs
    app.studio_preload = None  # the preloading thread, once launch started one
    return app


def offered(settings: Settings) -> list:
    """The models the Transcribe tab offers: those every setup installs, and an optional one once its files are
    there (the Models tab lists them all, with how to set one up): a choice that cannot be had only crowds the
    first screen."""
    return [spec for spec in transcribers() if spec.setup_by_default or spec.availability(settings) is None]


def _option_texts(settings: Settings) -> layout.OptionTexts:
    """What the option boxes say: which models each option applies to, and whether the diarizer is there."""
    boosted = ", ".join(spec.label for spec in transcribers() if spec.vocabulary is not None) or "no model"
    timed = [spec for spec in transcribers() if spec.word_timings_from]
    timings = (f"Word timings for {', '.join(s.label for s in timed)} (from a {label(timed[0].word_timings_from)} "
               "pass)") if timed else "Word timings"
    missing = [f"{spec.label} cannot load ({reason})" for spec in diarizers()
               if (reason := spec.availability(settings)) is not None]
    speakers = ("Labels Speaker 1, Speaker 2... in the transcript; takes a little longer." if not missing else
                f"{'; '.join(missing)}. Run `{SETUP_COMMAND}` once to get it.")
    most = max((spec.max_speakers for spec in diarizers()), default=0)
    return layout.OptionTexts(vocabulary=f"Comma-separated, spelled as they should appear. Applies to {boosted} only.",
                              word_timings=timings, speakers=speakers,
                              speakers_label=f"Who spoke (up to {most} speakers)" if most else "Who spoke",
                              **_language_texts(offered(settings)),
                              measurable=tuple(s.key for s in offered(settings) if s.availability(settings) is None),
                              live_models=tuple((s.label, s.key) for s in offered(settings) if s.live),
                              live_note=live_device_note(settings))


def _language_texts(models: list) -> dict:
    """The languages the offered models hear, by name, and which models must be told."""
    codes = {code for spec in models for code in spec.languages}
    told = " and ".join(spec.label for spec in models if spec.prompt is not None)
    info = f"{told} must be told; the others find it themselves." if told else "Each model finds it itself."
    return dict(languages=tuple(sorted(((name_of(code), code) for code in codes))), language_info=info)


def _job_components(page: layout.Page) -> list:
    """What a watched job fills, in :meth:`Handlers._job_outputs`'s order. Its progress shows in one
    place, the message; the events set ``show_progress="hidden"`` so the others stay quiet."""
    return [page.text, page.segments, page.downloads, page.viewer, page.files_table, page.message, page.status,
            page.batch, page.job]


def _wire_transcribe(page: layout.Page, h: Handlers) -> None:
    job = page.run.click(h.transcribe, inputs=[page.media, page.recording, page.model, page.formats, page.vocabulary,
                                               page.word_timings, page.speakers, page.language, page.translate_to],
                         outputs=_job_components(page), api_name="transcribe", concurrency_id=JOBS, concurrency_limit=None,
                         show_progress="hidden", trigger_mode="multiple")  # a press while a job runs queues another
    job.then(h.history_page, inputs=page.history_search, outputs=[page.history, page.history_ids], api_name=False,
             show_progress="hidden")
    page.run.click(lambda files: list(files or []), inputs=page.media, outputs=page.sent, api_name=False, queue=False)
    page.media.upload(h.only_new_uploads, inputs=[page.media, page.sent], outputs=page.media, api_name=False,
                      queue=False, show_progress="hidden")
    page.text.change(lambda: "", outputs=page.answer, api_name=False, queue=False)  # an old answer goes with its text
    # Not queued: a queued Cancel waits for one of the queue's workers, which watching pages may all hold.
    page.stop.click(h.cancel, inputs=page.job, outputs=page.message, api_name="cancel", queue=False,
                    show_progress="hidden")
    # The player follows the transcript shown, however it came (a job, a Files row, History); not an API output.
    page.viewer.change(lambda state, threshold: player_html(state or {}, _threshold(threshold)),
                       inputs=[page.viewer, page.threshold], outputs=page.player, api_name=False, queue=False,
                       show_progress="hidden")
    _wire_review(page, h)
    page.segments.select(h.segment_start, inputs=page.viewer, outputs=page.seek, api_name=False, queue=False,
                         show_progress="hidden").then(None, inputs=page.seek, js=layout.SEEK_JS, api_name=False)
    edited = [page.text, page.segments, page.downloads, page.edit_note, page.viewer]
    page.save_edits.click(h.save_edit, inputs=[page.viewer, page.segments], outputs=edited, api_name=False)
    page.rename.click(h.rename_speakers, inputs=[page.viewer, page.speaker_names], outputs=edited, api_name=False)
    page.files_table.select(h.open_file_row, inputs=page.batch, api_name=False,
                            outputs=[page.text, page.segments, page.downloads, page.viewer, page.edit_note])
    page.download_all.click(h.download_all, inputs=page.batch, outputs=[page.zip_file, page.edit_note],
                            api_name=False)
    answered = [page.answer, page.status]
    # The viewer state (which History entry is shown) is no API input: Gradio leaves States out of the API.
    page.summary_btn.click(h.summarise, inputs=[page.text, page.viewer], outputs=answered, api_name="summarise",
                           concurrency_id=GPU)
    page.actions_btn.click(h.action_items, inputs=[page.text, page.viewer], outputs=answered, api_name="action_items",
                           concurrency_id=GPU)
    page.ask_btn.click(h.ask, inputs=[page.text, page.question, page.viewer], outputs=answered, api_name="ask",
                       concurrency_id=GPU)


def _wire_review(page: layout.Page, h: Handlers) -> None:
    """The words to check, find and replace, split and merge."""
    page.threshold.change(None, inputs=page.threshold, js=layout.MARK_DOUBTS_JS, api_name=False)
    drawing = dict(inputs=[page.viewer, page.threshold], outputs=page.picture, api_name=False, queue=False,
                   show_progress="hidden")
    page.viewer.change(h.picture, **drawing)
    page.viewer.change(h.subtitle_note, inputs=page.viewer, outputs=page.subtitle_note, api_name=False, queue=False,
                       show_progress="hidden")
    page.threshold.change(h.picture, trigger_mode="always_last", **drawing)
    page.viewer.change(h.another_entry, inputs=[page.viewer, page.shown_entry], api_name=False, queue=False,
                       outputs=[page.shown_entry, page.edit_note, page.found, page.find, page.replace_with],
                       show_progress="hidden")
    edited = [page.text, page.segments, page.downloads, page.edit_note, page.viewer]
    page.find_btn.click(h.find_text, inputs=[page.viewer, page.find], outputs=page.found, api_name=False)
    page.find.submit(h.find_text, inputs=[page.viewer, page.find], outputs=page.found, api_name=False)
    page.replace_btn.click(h.replace_all, inputs=[page.viewer, page.segments, page.find, page.replace_with,
                                                  page.also_names, page.vocabulary],
                           outputs=edited + [page.vocabulary, page.found], api_name=False)
    page.undo_replace.click(h.undo_replace, inputs=page.viewer, outputs=edited, api_name=False)
    page.find_speakers.click(h.find_speakers, inputs=page.viewer, outputs=edited, api_name=False, concurrency_id=GPU)
    for button, change in ((page.split, h.split), (page.merge, h.merge)):
        button.click(None, js=layout.PICKED_WORD_JS, outputs=page.picked_word, api_name=False).then(
            change, inputs=[page.viewer, page.segments, page.picked_word], outputs=edited, api_name=False)


def _wire_live(app: gr.Blocks, page: layout.Page, h: Handlers) -> None:
    captions = [page.live_captions, page.live_text, page.live_note]
    page.live_mic.start_recording(h.live_start, inputs=page.live_model, outputs=page.live_note, api_name=False)
    page.live_mic.stream(h.live_piece, inputs=[page.live_mic, page.live_model], outputs=captions,
                         stream_every=0.1, time_limit=None, show_progress="hidden", api_name=False)
    page.live_mic.stop_recording(h.live_stop, inputs=[page.formats, page.vocabulary, page.speakers], outputs=captions,
                                 api_name=False)
    app.unload(h.live_gone)


def _wire_compare(page: layout.Page, h: Handlers) -> None:
    page.compare_run.click(h.compare, inputs=[page.compare_files, page.compare_models, page.compare_language],
                           outputs=[page.compare_note, page.compare_table, page.compare_worst, page.compare_csv],
                           api_name="compare")


def _wire_history(page: layout.Page, h: Handlers) -> None:
    listing = [page.history, page.history_ids]
    page.history_search.change(h.history_page, inputs=page.history_search, outputs=listing, api_name=False,
                               queue=False, show_progress="hidden")
    page.history.select(h.pick_history, inputs=[page.history_ids, page.history], api_name=False,
                        outputs=[page.picked, page.picked_label, page.history_note, page.confirm_delete])
    page.open_btn.click(h.open_history, inputs=page.picked, api_name=False,
                        outputs=[page.text, page.segments, page.downloads, page.viewer, page.message, page.tabs,
                                 page.history_note])
    page.delete_btn.click(h.ask_delete, inputs=[page.picked, page.picked_label], api_name=False,
                          outputs=[page.history_note, page.confirm_delete])
    page.confirm_delete.click(h.delete_history, inputs=[page.picked, page.history_search], api_name=False,
                              outputs=listing + [page.picked, page.picked_label, page.history_note,
                                                 page.confirm_delete])
    page.refresh_history.click(h.history_page, inputs=page.history_search, outputs=listing, api_name=False)


def _wire_models(page: layout.Page, h: Handlers) -> None:
    actions = {layout.LOAD: (api.load_model, "load_model"), layout.UNLOAD: (api.unload_model, "unload_model")}
    for key, verb, button in page.model_buttons:
        action, name = actions[verb]
        button.click(functools.partial(action, h.cache, key), outputs=[page.models_table, page.models_note,
                     page.status], api_name=f"{name}_{key}", concurrency_id=GPU)
    page.idle.change(h.set_idle, inputs=page.idle, outputs=page.models_note, api_name=False)
    page.timer.tick(h.tick, outputs=[page.models_table, page.status], api_name=False, queue=False)


def _upload_bytes(settings: Settings) -> int:
    """The most one upload request may hold: ``--max-upload-mb``, never less than one file's limit."""
    return int(max(settings.max_upload_mb, settings.max_file_mb) * 1_000_000)


def launch(app: gr.Blocks, settings: Settings, port: int, access: Access | None = None, preload: bool = False,
           **kwargs):
    """Serve on 127.0.0.1 unless ``access`` says otherwise; keyword arguments go on to Gradio's ``launch``.

    ``preload``: once the page is served, the default model loads on a background thread (with
    ``prevent_thread_lock``; the page never waits for it).

    What Gradio may serve is narrowed to what the app wrote (History), uploads stop at
    ``--max-file-mb`` (413), requests naming another host or site are refused (:mod:`.guard`),
    Gradio's run history and its console hints are off. A port that cannot be served on raises a
    :class:`ConfigurationError` naming ``--port``.
    """
    from starlette.middleware import Middleware

    access = access or Access()
    check_output_folder(settings)
    uploads.keep_swept(startup.prepare_upload_folder())
    # The client address the login back-off counts is the connection's own: uvicorn would otherwise take
    # X-Forwarded-For from any local program (a proxy may be named here by whoever runs one).
    os.environ.setdefault("FORWARDED_ALLOW_IPS", "")
    app.studio_cache.watch_idle()
    options = dict(server_name=access.host, server_port=port, share=access.share, auth=access.credentials or None,
                   show_error=False, allowed_paths=[str(root) for root in app.studio_histories.roots()], footer_links=["gradio", "settings"],
                   run_history=False, quiet=True, max_file_size=int(settings.max_file_mb * 1_000_000),
                   app_kwargs={"middleware": guard.middleware(access, app.studio_histories)
                                               + [Middleware(cancels.CancelRecorder), Middleware(calls.ApiCalls),
                                                  Middleware(uploads.UploadLimits, max_bytes=_upload_bytes(settings))]})
    options.update(head=layout.HEAD)  # the page's style and keyboard fixes (see layout)
    try:
        served = app.launch(**{**options, **kwargs})
    except OSError as exc:
        raise startup.port_error(port, exc) from None
    if preload:
        app.studio_preload = startup.preload(app.studio_cache, DEFAULT_MODEL)
    return served
