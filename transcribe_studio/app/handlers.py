"""The Gradio studio: the page (:mod:`.layout`) wired to what it does (:mod:`.api`, :mod:`.views`).

Every handler catches everything and shows the classified message, so a bad
file or a failed model load never stops the app from serving. All model work
shares one queue slot (``concurrency_id="gpu"``): one job at a time on the GPU,
while status and history stay responsive. Each finished file is saved at once
as a History entry, so a closed tab or a crash loses nothing already done; a
crash mid-file leaves an incomplete entry that the next start tidies away.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import tempfile
from pathlib import Path

# Uploads go to the app's own temporary folder (cleaned by delete_cache in layout.blocks, private
# to the user: see launch), not the shared system one. Set before gradio is imported, which reads it.
os.environ.setdefault("GRADIO_TEMP_DIR", str(Path(tempfile.gettempdir()) / "transcribe_studio"))

import gradio as gr  # noqa: E402

from .. import assistant  # noqa: E402
from ..entry import check_output_folder  # noqa: E402
from ..errors import StudioError, report  # noqa: E402
from ..files import make_private_dir  # noqa: E402
from ..models import DEFAULT_MODEL, ModelCache, transcribers  # noqa: E402
from ..models.spec import label  # noqa: E402
from ..outputs.history import HistoryStore  # noqa: E402
from ..settings import Settings  # noqa: E402
from . import api, cancels, guard, layout, model_table, startup  # noqa: E402
from .access import Access  # noqa: E402
from .jobs import Job, JobRegistry  # noqa: E402
from .text import model_descriptions  # noqa: E402
from .views import (  # noqa: E402
    View,
    error_markdown,
    progress_markdown,
    segment_clip,
    status_markdown,
    view,
)

log = logging.getLogger(__name__)

GPU = "gpu"  # the one queue slot every model call shares
JOBS = "jobs"  # watching jobs: cheap, any number at once (the job registry runs one job at a time)
WATCH_INTERVAL_S = 0.25  # how often a watcher yields, so a close from Gradio reaches it at once


def _owner(request: gr.Request | None) -> str | None:
    """Whose job this is: the logged-in user name, or None without logins."""
    return getattr(request, "username", None) or None


def _names(files, recording) -> list[str]:
    return [Path(f).name for f in (files or [])] + ([Path(recording).name] if recording else [])


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


NOTHING_PICKED = "No History entry is selected: click its row in the list first."


class Handlers:
    """What each event does, for one app: its model cache and its History."""

    def __init__(self, cache: ModelCache, store: HistoryStore, jobs: JobRegistry | None = None):
        self.cache, self.store = cache, store
        self.jobs = jobs or JobRegistry()

    # --- Transcribe ------------------------------------------------------------
    def transcribe(self, files, recording, model, formats, request: gr.Request = None):
        """Start a job for the files (returns at once) and watch it; with nothing chosen, watch the
        caller's running job if there is one, else explain what to choose."""
        owner = _owner(request)
        if files or recording:
            job = self.jobs.submit(owner, _names(files, recording), model, functools.partial(
                api.transcribe_steps, self.cache, self.store, files, recording, model, formats))
        elif (job := self.jobs.current(owner)) is None:
            yield *api.transcribe(self.cache, self.store, files, recording, model, formats).outputs(), {}
            return
        yield from self._watch(job)

    def attach(self, request: gr.Request = None):
        """On page load (and ``/current_job``): show the caller's running job, if any, until it ends."""
        job = self.jobs.current(_owner(request))
        if job is None:
            yield *api.Transcription(status=status_markdown(self.cache)).outputs(), {}
            return
        yield from self._watch(job)

    def _watch(self, job: Job):
        """The job's outputs every ``WATCH_INTERVAL_S`` until it ends. A close from Gradio lands at a
        ``yield`` within that interval: an explicit cancel (the event's client is still there) cancels
        the job; a closed page or dropped connection only stops watching."""
        event, event_id = _gradio_event(), _gradio_event_id()
        shown = None
        try:
            with cancels.watch(event_id, lambda: self.jobs.cancel(job.owner, job.id)):
                while True:
                    finished = job.wait(WATCH_INTERVAL_S)
                    yield self._job_outputs(job, shown, finished)
                    shown = job.result
                    if finished:
                        return
        except GeneratorExit:
            if cancels.was_cancelled(event_id) or (event is not None and event.alive):
                log.info("%s cancelled by its client", job.id)
                self.jobs.cancel(job.owner, job.id)
            raise

    def _job_outputs(self, job: Job, shown, finished: bool) -> tuple:
        """The page's outputs for ``job`` now: what changed since ``shown`` (gr.skip() for the rest)."""
        result = job.result or api.Transcription()
        status = status_markdown(self.cache)
        state = {"job": job.id}
        if finished:
            message = error_markdown(job.error) if job.error else result.message
            return *dataclasses.replace(result, message=message, status=status).outputs(), state
        message = progress_markdown(job.progress())
        if job.result is shown and not job.partial:
            return *[gr.skip()] * 4, gr.skip(), message, status, state
        text = job.partial or result.text
        return text, result.segments, result.downloads, result.viewer, result.files, message, status, state

    def cancel(self, job_state, request: gr.Request = None):
        """Cancel the caller's job shown on this page (through the API: all the caller's jobs)."""
        asked = self.jobs.cancel(_owner(request), (job_state or {}).get("job"))
        if not asked:
            return "Nothing of yours is running to cancel."
        return f"**Cancelling after the current step...** ({len(asked)} job(s)) Finished files stay saved."

    @staticmethod
    def play_segment(state, event: gr.SelectData):
        segments = (state or {}).get("segments") or []
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        if row is None or not 0 <= row < len(segments):
            return None
        return segment_clip(state.get("audio"), *segments[row])

    # --- Ask the assistant ---------------------------------------------------------
    def summarise(self, text):
        return api.summarise(self.cache, text)

    def action_items(self, text):
        return api.action_items(self.cache, text)

    def ask(self, text, question):
        return api.ask(self.cache, text, question)

    # --- History ---------------------------------------------------------------
    def history(self):
        try:
            return api.history(self.store)
        except StudioError as error:  # shown as Gradio's notice: the table keeps its rows
            raise gr.Error(error.user_message()) from error

    @staticmethod
    def pick_history(rows, event: gr.SelectData):
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        data = rows.values.tolist() if hasattr(rows, "values") else rows
        return data[row][0] if data and row is not None and row < len(data) else ""

    def open_history(self, entry_id):
        if not entry_id:  # Open with no row clicked: keep what the page shows, say what to do
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), NOTHING_PICKED, gr.skip()
        try:
            shown = view(self.store, entry_id)
            return shown.text, shown.segments, shown.downloads, shown.state, f"Opened {entry_id}.", \
                gr.Tabs(selected="transcribe")
        except Exception as exc:  # noqa: BLE001 - every failure gets its classified message
            error = report(exc, f"opening the History entry {entry_id}")
            empty = View()
            return empty.text, empty.segments, empty.downloads, empty.state, error_markdown(error), gr.Tabs()

    def delete_history(self, entry_id):
        if not entry_id:
            return self.history(), "", NOTHING_PICKED
        try:
            self.store.delete(entry_id)
            note = f"Deleted {entry_id}."
        except Exception as exc:  # noqa: BLE001 - every failure gets its classified message
            note = error_markdown(report(exc, f"deleting the History entry {entry_id}"))
        return self.history(), "", note

    # --- Models ----------------------------------------------------------------
    def set_idle(self, minutes):
        self.cache.idle_unload_minutes = max(float(minutes or 0), 0.0)
        return (f"Models unload after {self.cache.idle_unload_minutes:g} idle minutes."
                if self.cache.idle_unload_minutes else "Models stay loaded until you unload them.")

    def status(self):
        return status_markdown(self.cache)

    def tick(self):
        return model_table.rows(self.cache), status_markdown(self.cache)


def build_app(settings: Settings, cache: ModelCache | None = None) -> gr.Blocks:
    """The studio for ``settings`` (a new model cache unless one is given), not yet served."""
    cache = cache or ModelCache(settings)
    store = HistoryStore(settings.output_dir / "history")
    _tidy(store)
    handlers = Handlers(cache, store)
    with layout.blocks() as app:
        page = layout.build(
            models=[(spec.label, spec.key) for spec in transcribers()],
            loadable=[(row.spec.label, row.spec.key) for row in cache.snapshot()],
            default_model=DEFAULT_MODEL, assistant_label=label(assistant.MODEL),
            history_rows=handlers.history, model_rows=lambda: model_table.rows(cache),
            idle_minutes=cache.idle_unload_minutes, about_models=model_descriptions(settings))
        _wire_transcribe(page, handlers)
        _wire_history(page, handlers)
        _wire_models(page, handlers)
        app.load(handlers.status, outputs=page.status, api_name=False, queue=False)
        attached = app.load(handlers.attach, outputs=_job_components(page), api_name="current_job",
                            concurrency_id=JOBS, concurrency_limit=None, show_progress="hidden")
        attached.then(handlers.history, outputs=page.history, api_name=False, show_progress="hidden")
    app.queue(default_concurrency_limit=1)
    app.studio_cache = cache  # for tests
    app.studio_history = store
    app.studio_jobs = handlers.jobs
    return app


def _tidy(store: HistoryStore) -> None:
    """Remove History entries a crash left half-written; a failure here must not stop the app."""
    try:
        store.cleanup_incomplete()
    except OSError as exc:
        log.warning("Could not tidy the History folder %s: %s", store.root, exc)


def _job_components(page: layout.Page) -> list:
    """What a watched job fills, in :meth:`Handlers._job_outputs`'s order. Its progress shows in one
    place, the message; the events set ``show_progress="hidden"`` so the others stay quiet."""
    return [page.text, page.segments, page.downloads, page.viewer, page.files_table, page.message, page.status,
            page.job]


def _wire_transcribe(page: layout.Page, h: Handlers) -> None:
    job = page.run.click(h.transcribe, inputs=[page.media, page.recording, page.model, page.formats],
                         outputs=_job_components(page), api_name="transcribe", concurrency_id=JOBS, concurrency_limit=None,
                         show_progress="hidden")
    job.then(h.history, outputs=page.history, api_name=False, show_progress="hidden")
    page.stop.click(h.cancel, inputs=page.job, outputs=page.message, api_name="cancel", queue=False,
                    show_progress="hidden")
    page.segments.select(h.play_segment, inputs=page.viewer, outputs=page.player, api_name=False)
    answered = [page.answer, page.status]
    page.summary_btn.click(h.summarise, inputs=page.text, outputs=answered, api_name="summarise", concurrency_id=GPU)
    page.actions_btn.click(h.action_items, inputs=page.text, outputs=answered, api_name="action_items",
                           concurrency_id=GPU)
    page.ask_btn.click(h.ask, inputs=[page.text, page.question], outputs=answered, api_name="ask",
                       concurrency_id=GPU)


def _wire_history(page: layout.Page, h: Handlers) -> None:
    page.history.select(h.pick_history, inputs=page.history, outputs=page.picked, api_name=False)
    page.open_btn.click(h.open_history, inputs=page.picked, api_name=False,
                        outputs=[page.text, page.segments, page.downloads, page.viewer, page.message, page.tabs])
    page.delete_btn.click(h.delete_history, inputs=page.picked, outputs=[page.history, page.picked, page.history_note],
                          api_name=False)
    page.refresh_history.click(h.history, outputs=page.history, api_name="history")


def _wire_models(page: layout.Page, h: Handlers) -> None:
    actions = {layout.LOAD: (api.load_model, "load_model"), layout.UNLOAD: (api.unload_model, "unload_model")}
    for key, verb, button in page.model_buttons:
        action, name = actions[verb]
        button.click(functools.partial(action, h.cache, key), outputs=[page.models_table, page.models_note,
                     page.status], api_name=f"{name}_{key}", concurrency_id=GPU)
    page.idle.change(h.set_idle, inputs=page.idle, outputs=page.models_note, api_name=False)
    page.timer.tick(h.tick, outputs=[page.models_table, page.status], api_name=False, queue=False)


def launch(app: gr.Blocks, settings: Settings, port: int, access: Access | None = None, **kwargs):
    """Serve on 127.0.0.1 unless ``access`` says otherwise; keyword arguments go on to Gradio's ``launch``.

    What Gradio may serve is narrowed to what the app wrote (History), uploads stop at
    ``--max-file-mb`` (413), requests naming another host or site are refused (:mod:`.guard`),
    Gradio's run history and its console hints are off. A port that cannot be served on raises a
    :class:`ConfigurationError` naming ``--port``.
    """
    from starlette.middleware import Middleware

    access = access or Access()
    check_output_folder(settings)
    make_private_dir(os.environ["GRADIO_TEMP_DIR"])
    app.studio_cache.watch_idle()
    options = dict(server_name=access.host, server_port=port, share=access.share, auth=access.credentials or None,
                   show_error=False, allowed_paths=[str(app.studio_history.root)], footer_links=["gradio", "settings"],
                   run_history=False, quiet=True, max_file_size=int(settings.max_file_mb * 1_000_000),
                   app_kwargs={"middleware": guard.middleware(access) + [Middleware(cancels.CancelRecorder)]})
    try:
        return app.launch(**{**options, **kwargs})
    except OSError as exc:
        raise startup.port_error(port, exc) from None
