"""The Gradio studio: Transcribe, History and Models tabs.

Every handler catches everything and shows the classified message, so a bad
file or a failed model load never stops the app from serving. All model work
shares one queue slot (``concurrency_id="gpu"``): one job at a time on the GPU,
while status and history stay responsive. Each finished file is saved at once
as a History entry, so a closed tab or a crash loses nothing already done.
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from pathlib import Path

# Uploads go to the app's own temporary folder (cleaned by delete_cache below),
# not the shared system one. Set before gradio is imported, which reads it.
os.environ.setdefault("GRADIO_TEMP_DIR", str(Path(tempfile.gettempdir()) / "transcribe_studio"))

import gradio as gr  # noqa: E402

from .. import assistant  # noqa: E402
from ..batch import run_batch  # noqa: E402
from ..errors import StudioError, report  # noqa: E402
from ..formatting import clock  # noqa: E402
from ..media.decode import SAMPLE_RATE, decode_audio  # noqa: E402
from ..models import DEFAULT_MODEL, ModelCache, transcribers  # noqa: E402
from ..models.spec import label  # noqa: E402
from ..outputs.history import HistoryStore  # noqa: E402
from ..outputs.writers import DEFAULT_FORMATS, FORMATS  # noqa: E402
from ..progress import Cancelled  # noqa: E402
from ..settings import Settings  # noqa: E402
from . import model_table  # noqa: E402
from .access import Access  # noqa: E402
from .text import HOW_TO_USE, PRIVACY_AND_PERFORMANCE, model_descriptions  # noqa: E402

GPU = "gpu"  # the one queue slot every model call shares
SEGMENT_HEADERS = ["start", "end", "text"]
FILE_HEADERS = ["file", "status", "details"]
HISTORY_HEADERS = ["id", "created (UTC)", "file", "model", "duration", "preview"]


@functools.lru_cache(maxsize=1)
def compute_device_note() -> str:
    import torch

    if torch.cuda.is_available():
        return f"Running on GPU: {torch.cuda.get_device_name(0)}."
    return ("**No GPU detected: running on the CPU.** Transcription works but is much slower "
            "(minutes per minute of audio for Canary-Qwen).")


def status_markdown(cache: ModelCache) -> str:
    lines = [compute_device_note(), ""]
    lines += [f"- **{row.spec.label}**: {row.status.describe()}" for row in cache.snapshot()]
    lines += [f"- *{notice}*" for notice in list(cache.notices)[-3:]]
    return "\n".join(lines)


def error_markdown(error: StudioError) -> str:
    return f"**{error.title}.** {error.message}\n\n**What to do:** {error.next_steps}"


@functools.lru_cache(maxsize=1)
def _decoded(path: str, mtime_ns: int):
    # One recording at a time stays decoded, so clicking through its segments is instant.
    return decode_audio(path)


def segment_clip(audio_path: str | None, start: float, end: float):
    """(rate, samples) of one segment, for the player; None when the audio is gone."""
    if not audio_path or not Path(audio_path).is_file():
        return None
    audio = _decoded(audio_path, Path(audio_path).stat().st_mtime_ns)
    return SAMPLE_RATE, audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]


def build_app(settings: Settings, cache: ModelCache | None = None) -> gr.Blocks:
    cache = cache or ModelCache(settings)
    store = HistoryStore(settings.output_dir / "history")
    store.cleanup_incomplete()  # entries a crash left half-written
    choices = [(spec.label, spec.key) for spec in transcribers()]

    # --- viewing one transcription (from a job or from History) -------------
    def view(entry_id: str | None):
        """text, segment rows, downloads, viewer state for a History entry."""
        if not entry_id:
            return "", [], [], {}
        transcript, _, entry = store.load(entry_id)
        rows = [[clock(s.start), clock(s.end), s.text] for s in transcript.segments]
        state = {"entry": entry_id, "audio": str(entry.audio) if entry.audio else None,
                 "segments": [(s.start, s.end) for s in transcript.segments]}
        return transcript.text, rows, [str(p) for p in entry.files], state

    # --- Transcribe ------------------------------------------------------------
    def transcribe(files, recording, model_name, formats, job, progress=gr.Progress()):
        paths = [Path(f) for f in (files or [])] + ([Path(recording)] if recording else [])
        job["cancel"] = False
        if not paths:
            yield "", "Choose one or more audio or video files, or record from the microphone.", [], [], [], {}, \
                status_markdown(cache)
            return
        formats = sorted(set(formats or DEFAULT_FORMATS) | {"json"})  # History reads the JSON
        started, results, viewed = time.monotonic(), [], ("", [], [], {})

        def on_start(source: Path):
            index = len(results)

            def update(fraction: float, note: str) -> None:
                if job.get("cancel"):
                    raise Cancelled()
                progress((index + fraction) / len(paths),
                         desc=f"{source.name}: {note} ({time.monotonic() - started:.0f} s elapsed)")
            update(0.0, f"loading {label(model_name)} if needed, decoding")
            return update

        with store.job() as entries:
            try:
                for result in run_batch(cache, model_name, paths, formats, on_start, entries.open):
                    results.append(result)
                    if result.ok:
                        viewed = view(entries.finish(result.source))
                    else:
                        entries.discard(result.source)
                    yield (*viewed, _file_rows(results), _summary(results, len(paths), started),
                           status_markdown(cache))
            except Cancelled:
                entries.discard_open()
                yield (*viewed, _file_rows(results),
                       f"Cancelled. {sum(r.ok for r in results)} finished file(s) are saved in History.",
                       status_markdown(cache))

    def cancel(job):
        job["cancel"] = True
        return "Cancelling after the current step..."

    def play_segment(state, event: gr.SelectData):
        segments = (state or {}).get("segments") or []
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        if row is None or not 0 <= row < len(segments):
            return None
        return segment_clip(state.get("audio"), *segments[row])

    # --- Ask Canary ------------------------------------------------------------
    def llm_answer(action, text: str, question: str = ""):
        try:
            if action == "summary":
                answer = assistant.summarise(cache, text)
            elif action == "actions":
                answer = assistant.action_items(cache, text)
            else:
                answer = assistant.ask(cache, text, question)
        except Exception as exc:  # noqa: BLE001 - shown to the user, traceback to the log
            return error_markdown(report(exc, "asking Canary-Qwen")), status_markdown(cache)
        return answer.markdown(), status_markdown(cache)

    def summarise(text):
        return llm_answer("summary", text)

    def action_items(text):
        return llm_answer("actions", text)

    def ask(text, question):
        return llm_answer("question", text, question)

    # --- History ---------------------------------------------------------------
    def history_rows():
        return [[e.id, e.created.strftime("%Y-%m-%d %H:%M:%S"), e.source, e.model, clock(e.duration), e.preview]
                for e in store.entries()]

    def pick_history(rows, event: gr.SelectData):
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        data = rows.values.tolist() if hasattr(rows, "values") else rows
        return data[row][0] if data and row is not None and row < len(data) else ""

    def open_history(entry_id):
        try:
            return (*view(entry_id), f"Opened {entry_id}.", gr.Tabs(selected="transcribe"))
        except StudioError as error:
            return "", [], [], {}, error_markdown(error), gr.Tabs()

    def delete_history(entry_id):
        try:
            store.delete(entry_id)
            note = f"Deleted {entry_id}."
        except StudioError as error:
            note = error_markdown(error)
        return history_rows(), "", note

    # --- Models ----------------------------------------------------------------
    def model_action(action, done: str, name: str):
        try:
            action(name)
            note = done.format(label(name))
        except StudioError as error:
            note = error_markdown(error)
        return model_table.rows(cache), note, status_markdown(cache)

    def set_idle(minutes):
        cache.idle_unload_minutes = max(float(minutes or 0), 0.0)
        return (f"Models unload after {cache.idle_unload_minutes:g} idle minutes." if cache.idle_unload_minutes
                else "Models stay loaded until you unload them.")

    with gr.Blocks(title="NeMo Transcription Studio", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        gr.Markdown("# NeMo Transcription Studio\nLocal, private speech-to-text with NVIDIA NeMo.")
        job = gr.State({})
        viewer = gr.State({})
        with gr.Tabs() as tabs:
            with gr.Tab("Transcribe", id="transcribe"):
                with gr.Row():
                    with gr.Column(scale=1):
                        media = gr.File(label="Audio or video files", file_count="multiple",
                                        file_types=["audio", "video"], type="filepath")
                        recording = gr.Audio(sources=["microphone"], type="filepath", label="Or record")
                        model = gr.Radio(choices, value=DEFAULT_MODEL, label="Model")
                        with gr.Accordion("Settings", open=False):
                            formats = gr.CheckboxGroup(list(FORMATS), value=list(DEFAULT_FORMATS),
                                                       label="Save as (JSON is always kept for History)")
                        with gr.Row():
                            run = gr.Button("Transcribe", variant="primary")
                            stop = gr.Button("Cancel", variant="stop")
                        message = gr.Markdown()
                        status = gr.Markdown()  # filled at page load: the page need not wait for torch
                    with gr.Column(scale=2):
                        text = gr.Textbox(label="Transcript", lines=10, buttons=["copy"], interactive=False)
                        segments = gr.Dataframe(headers=SEGMENT_HEADERS, label="Segments (click a row to listen)",
                                                interactive=False, wrap=True)
                        player = gr.Audio(label="Segment", autoplay=True, interactive=False)
                        downloads = gr.File(label="Downloads", file_count="multiple", interactive=False)
                        files_table = gr.Dataframe(headers=FILE_HEADERS, label="Files", interactive=False, wrap=True)
                with gr.Accordion("Ask Canary-Qwen about this transcript", open=False):
                    gr.Markdown("Uses Canary-Qwen's language model on the transcript text (it does not hear the "
                                "audio). Loads Canary-Qwen if it is not loaded yet.")
                    with gr.Row():
                        summary_btn = gr.Button("Summary")
                        actions_btn = gr.Button("Action items")
                    question = gr.Textbox(label="Question", placeholder="What did they decide about the budget?")
                    ask_btn = gr.Button("Ask")
                    answer = gr.Markdown()
            with gr.Tab("History", id="history"):
                history = gr.Dataframe(headers=HISTORY_HEADERS, value=history_rows, interactive=False, wrap=True,
                                       label="Finished transcriptions (newest first; click a row to select it)")
                picked = gr.Textbox(label="Selected entry", interactive=False)
                with gr.Row():
                    open_btn = gr.Button("Open")
                    delete_btn = gr.Button("Delete", variant="stop")
                    refresh_history = gr.Button("Refresh")
                history_note = gr.Markdown()
            with gr.Tab("Models", id="models"):
                models_table = gr.Dataframe(headers=model_table.HEADERS, value=lambda: model_table.rows(cache),
                                            interactive=False, wrap=True)
                model_buttons = []
                for spec in cache.snapshot():
                    with gr.Row():
                        model_buttons.append((spec.spec.key, gr.Button(f"Load {spec.spec.label}"), "load"))
                        model_buttons.append((spec.spec.key, gr.Button(f"Unload {spec.spec.label}"), "unload"))
                idle = gr.Number(value=cache.idle_unload_minutes, minimum=0, label="Unload after N idle minutes (0: never)")
                models_note = gr.Markdown()
            with gr.Tab("Help", id="help"):
                with gr.Accordion("How to Use", open=True):
                    gr.Markdown(HOW_TO_USE)
                with gr.Accordion("Privacy & Performance", open=True):
                    gr.Markdown(PRIVACY_AND_PERFORMANCE)
                with gr.Accordion("About the models", open=True):
                    gr.Markdown(model_descriptions(settings))

        job_event = run.click(transcribe, inputs=[media, recording, model, formats, job],
                              outputs=[text, segments, downloads, viewer, files_table, message, status],
                              api_name="transcribe", concurrency_id=GPU, concurrency_limit=1)
        stop.click(cancel, inputs=job, outputs=message, api_name=False, queue=False)
        segments.select(play_segment, inputs=viewer, outputs=player, api_name=False)
        summary_btn.click(summarise, inputs=text, outputs=[answer, status], api_name="summarise",
                          concurrency_id=GPU)
        actions_btn.click(action_items, inputs=text, outputs=[answer, status], api_name="action_items",
                          concurrency_id=GPU)
        ask_btn.click(ask, inputs=[text, question], outputs=[answer, status], api_name="ask", concurrency_id=GPU)
        job_event.then(history_rows, outputs=history, api_name=False)

        history.select(pick_history, inputs=history, outputs=picked, api_name=False)
        open_btn.click(open_history, inputs=picked, outputs=[text, segments, downloads, viewer, message, tabs],
                       api_name=False)
        delete_btn.click(delete_history, inputs=picked, outputs=[history, picked, history_note], api_name=False)
        refresh_history.click(history_rows, outputs=history, api_name="history")

        actions = {"load": (cache.load, "{} is loaded.", "load_model"),
                   "unload": (cache.unload, "{} was unloaded; its memory is free.", "unload_model")}
        for key, button, verb in model_buttons:
            action, done, api = actions[verb]
            button.click(functools.partial(model_action, action, done, key), outputs=[models_table, models_note,
                         status], api_name=f"{api}_{key}", concurrency_id=GPU)
        idle.change(set_idle, inputs=idle, outputs=models_note, api_name=False)
        app.load(lambda: status_markdown(cache), outputs=status, api_name=False, queue=False)
        timer = gr.Timer(5.0)
        timer.tick(lambda: (model_table.rows(cache), status_markdown(cache)), outputs=[models_table, status],
                   api_name=False, queue=False)
    app.queue(default_concurrency_limit=1)
    app.studio_cache = cache  # for tests
    app.studio_history = store
    return app


def launch(app: gr.Blocks, settings: Settings, port: int, access: Access | None = None, **kwargs):
    """Serve on 127.0.0.1 unless ``access`` says otherwise; outputs may be downloaded."""
    access = access or Access()
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    app.studio_cache.watch_idle()
    return app.launch(server_name=access.host, server_port=port, share=access.share,
                      auth=access.credentials or None, show_error=False, allowed_paths=[str(settings.output_dir)],
                      footer_links=["gradio", "settings"], **kwargs)


def _file_rows(results) -> list[list[str]]:
    return [[r.source.name, "done" if r.ok else "failed", _outcome(r)] for r in results]


def _outcome(result) -> str:
    if not result.ok:
        return f"{result.error.title}: {result.error.message}"
    if not result.transcript.text:
        return f"no speech recognised in {result.transcript.duration:.1f} s of audio"
    return f"{clock(result.transcript.duration)} of audio in {result.seconds:.1f} s"


def _summary(results, total: int, started: float) -> str:
    failed = [r for r in results if not r.ok]
    elapsed = f"{time.monotonic() - started:.0f} s"
    if total == 1 and failed:
        return error_markdown(failed[0].error)
    head = f"{len(results) - len(failed)} of {total} file(s) transcribed ({elapsed})."
    if len(results) < total:
        head = f"Working: {len(results)} of {total} file(s) done ({elapsed})..."
    return head + "".join(f"\n\n**{r.source.name}**: {error_markdown(r.error)}" for r in failed)
