"""The Gradio page: pick a file and a model, get the transcript.

Every handler catches everything and shows the classified message, so a bad
file or a failed model load never stops the app from serving. GPU work goes
through Gradio's queue one job at a time.
"""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr

from .batch import run_batch
from .models import CANARY, LABELS, PARAKEET, ModelCache
from .settings import Settings
from .writers import FORMATS

DEFAULT_FORMATS = ("txt", "srt", "vtt", "json")

HOW_TO_USE = """
1. **Choose files**: one or many audio or video files (WAV, MP3, M4A, FLAC, OGG, MP4, WebM...),
   of any length: long recordings are cut at pauses automatically.
2. **Pick a model**: Parakeet for speed and word timestamps, Canary-Qwen for the best accuracy.
3. **Press Transcribe.** The first time a model is used it is loaded into memory
   (Parakeet: seconds; Canary-Qwen: a minute or more). It stays loaded, so every
   later file starts at once.
4. **Copy the text** with the button at the corner of the transcript box, or **download** the
   subtitles (SRT, VTT), text, JSON or CSV. Every finished file is also saved at once in the
   outputs folder, so nothing is lost if the browser tab closes.

If a file cannot be used, the table says why and the other files still finish; the full
technical details are written to the log file.
"""

PRIVACY_AND_PERFORMANCE = """
**Private by default.** The app listens on 127.0.0.1 only, so no other computer can reach it.
Your audio never leaves this machine: decoding and transcription run locally. Gradio's usage
analytics and Hugging Face telemetry are switched off, and no public share link is created.

**Network use.** Parakeet never uses the network. Canary-Qwen downloads its files from the
Hugging Face Hub once, at a pinned commit (model files only, never your audio); after that it
loads from the local cache with no network call. Run `python setup_local_models.py` once to
fetch everything up front and work fully offline from then on.

**Speed and memory.** On an NVIDIA GPU both models run in bfloat16 where the GPU supports it.
Parakeet needs about 2 GB of GPU memory, Canary-Qwen about 6 GB (and about 10 GB of system RAM
while it loads). Without a GPU both still work on the CPU, much more slowly.
Models stay in memory after their first load; files are processed one at a time.
"""


def model_descriptions(settings: Settings) -> str:
    return f"""
**Parakeet-TDT-0.6B-v2** (English, fast, punctuation, word timestamps) loads from the local file
`{settings.parakeet_path}` with NeMo's `ASRModel.restore_from`: fully offline, and instant after the
first load because it stays in memory.

**Canary-Qwen-2.5B** (English, highest accuracy; a speech encoder feeding the Qwen3-1.7B language
model) loads with `SALM.from_pretrained` from the Hugging Face cache, repository
`{settings.canary_repo}` at the pinned commit `{settings.canary_revision}`. The first run downloads
about 5 GB; later runs use the cache with no download. It stays in memory after the first load.
Long recordings are transcribed in windows of at most 40 seconds, the longest audio it was trained on.

*Why Canary-Qwen is not a `.nemo` file like Parakeet:* it is a SALM (Speech-Augmented Language
Model), published as a Hugging Face-style checkpoint (`config.json` + `model.safetensors`, with its
tokenizer and LLM configuration taken from Qwen3-1.7B). A `.nemo` archive is the packaging of NeMo's
`ModelPT` classes (`save_to` / `restore_from`); SALM is not a `ModelPT`, so it has no `.nemo` form
and is loaded from the Hugging Face cache instead, pinned to a fixed commit so nothing changes or
re-downloads behind your back.
"""


@functools.lru_cache(maxsize=1)
def compute_device_note() -> str:
    import torch

    if torch.cuda.is_available():
        return f"Running on GPU: {torch.cuda.get_device_name(0)}."
    return ("**No GPU detected: running on the CPU.** Transcription works but is much slower "
            "(minutes per minute of audio for Canary-Qwen).")


def status_markdown(cache: ModelCache) -> str:
    lines = [compute_device_note(), ""]
    for name in (PARAKEET, CANARY):
        lines.append(f"- **{LABELS[name]}**: {cache.status(name).describe()}")
    return "\n".join(lines)


def error_markdown(error) -> str:
    return f"**{error.title}.** {error.message}\n\n**What to do:** {error.next_steps}"


def build_app(settings: Settings, cache: ModelCache | None = None) -> gr.Blocks:
    cache = cache or ModelCache(settings)
    choices = [(LABELS[PARAKEET], PARAKEET), (LABELS[CANARY], CANARY)]

    def transcribe_files(files, model_name: str, formats: list[str], progress=gr.Progress()):
        paths = [Path(f) for f in (files or [])]
        if not paths:
            return "", "Choose one or more audio or video files first.", status_markdown(cache), [], []
        if not formats:
            formats = list(DEFAULT_FORMATS)
        progress(0, desc=f"Loading {LABELS[model_name]} (the first time can take a while)...")
        count = len(paths)

        def on_start(source: Path):
            index = len(results)
            return lambda fraction, note: progress((index + fraction) / count, desc=f"{source.name}: {note}")

        results = []
        for result in run_batch(cache, model_name, paths, formats, on_start):
            results.append(result)
        return (_joined_text(results), _summary_markdown(results), status_markdown(cache),
                [[r.source.name, "done" if r.ok else "failed", _outcome(r)] for r in results],
                [str(p) for r in results for p in r.outputs])

    with gr.Blocks(title="NeMo Transcription Studio", analytics_enabled=False) as app:
        gr.Markdown("# NeMo Transcription Studio\nLocal, private speech-to-text with NVIDIA NeMo.")
        with gr.Row():
            with gr.Column():
                media = gr.File(label="Audio or video files", file_count="multiple", file_types=["audio", "video"],
                                type="filepath")
                model = gr.Radio(choices, value=PARAKEET, label="Model")
                with gr.Accordion("Output formats", open=False):
                    formats = gr.CheckboxGroup(list(FORMATS), value=list(DEFAULT_FORMATS), label="Save as")
                run = gr.Button("Transcribe", variant="primary")
                message = gr.Markdown()
            with gr.Column():
                text = gr.Textbox(label="Transcript", lines=14, buttons=["copy"], interactive=False)
                downloads = gr.File(label="Downloads", file_count="multiple", interactive=False)
        files_table = gr.Dataframe(headers=["file", "status", "details"], label="Files", interactive=False)
        with gr.Accordion("Models", open=True):
            status = gr.Markdown(status_markdown(cache))
            refresh = gr.Button("Refresh status", size="sm")
        with gr.Accordion("How to Use", open=False):
            gr.Markdown(HOW_TO_USE)
        with gr.Accordion("Privacy & Performance", open=False):
            gr.Markdown(PRIVACY_AND_PERFORMANCE)
        with gr.Accordion("About the models", open=False):
            gr.Markdown(model_descriptions(settings))

        run.click(transcribe_files, inputs=[media, model, formats],
                  outputs=[text, message, status, files_table, downloads], api_name="transcribe")
        refresh.click(lambda: status_markdown(cache), outputs=status, api_name=False)
        app.load(lambda: status_markdown(cache), outputs=status, api_name=False)
    app.queue(default_concurrency_limit=1)
    app.studio_cache = cache  # for tests and the CLI entry point
    return app


def launch(app: gr.Blocks, settings: Settings, port: int, **kwargs):
    """Serve on 127.0.0.1 only, with no share link; saved outputs may be downloaded."""
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    return app.launch(server_name="127.0.0.1", server_port=port, share=False, show_error=False,
                      allowed_paths=[str(settings.output_dir)], footer_links=["gradio", "settings"], **kwargs)


def _joined_text(results) -> str:
    done = [r for r in results if r.ok]
    if len(results) == 1:
        return done[0].transcript.text if done else ""
    return "\n\n".join(f"== {r.source.name} ==\n{r.transcript.text}" for r in done)


def _outcome(result) -> str:
    if not result.ok:
        return f"{result.error.title}: {result.error.message}"
    if not result.transcript.text:
        return f"no speech recognised in {result.transcript.duration:.1f} s of audio"
    return f"{result.transcript.duration:.1f} s of audio in {result.seconds:.1f} s"


def _summary_markdown(results) -> str:
    failed = [r for r in results if not r.ok]
    if len(results) == 1:
        result = results[0]
        if failed:
            return error_markdown(result.error)
        return (f"{result.source.name}: {_outcome(result)}, with {result.transcript.model}. "
                f"Saved to {result.outputs[0].parent}.")
    head = f"{len(results) - len(failed)} of {len(results)} files transcribed."
    return head + "".join(f"\n\n**{r.source.name}**: {error_markdown(r.error)}" for r in failed)
