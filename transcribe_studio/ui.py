"""The Gradio page: pick a file and a model, get the transcript.

Every handler catches everything and shows the classified message, so a bad
file or a failed model load never stops the app from serving. GPU work goes
through Gradio's queue one job at a time.
"""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr

from . import engine
from .audio import decode_audio
from .errors import report
from .models import CANARY, LABELS, PARAKEET, ModelCache
from .settings import Settings

HOW_TO_USE = """
1. **Choose a file**: any audio or video file (WAV, MP3, M4A, FLAC, OGG, MP4, WebM...).
2. **Pick a model**: Parakeet for speed and word timestamps, Canary-Qwen for the best accuracy.
3. **Press Transcribe.** The first time a model is used it is loaded into memory
   (Parakeet: seconds; Canary-Qwen: a minute or more). It stays loaded, so every
   later file starts at once.
4. **Copy the text** with the button at the corner of the transcript box.

If something goes wrong, the message under the button says what happened and what to do;
the full technical details are written to the log file.
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

    def transcribe_file(file_path: str | None, model_name: str):
        if not file_path:
            return "", "Choose an audio or video file first.", status_markdown(cache)
        name = Path(file_path).name
        try:
            transcript = engine.transcribe(cache, model_name, decode_audio(file_path))
        except Exception as exc:  # noqa: BLE001 - shown to the user, traceback to the log
            return "", error_markdown(report(exc, f"transcribing {name}")), status_markdown(cache)
        if not transcript.text:
            note = f"No speech was recognised in {name} ({transcript.duration:.1f} s of audio)."
        else:
            note = f"Transcribed {name} ({transcript.duration:.1f} s of audio) with {transcript.model}."
        return transcript.text, note, status_markdown(cache)

    with gr.Blocks(title="NeMo Transcription Studio", analytics_enabled=False) as app:
        gr.Markdown("# NeMo Transcription Studio\nLocal, private speech-to-text with NVIDIA NeMo.")
        with gr.Row():
            with gr.Column():
                media = gr.File(label="Audio or video file", file_types=["audio", "video"], type="filepath")
                model = gr.Radio(choices, value=PARAKEET, label="Model")
                run = gr.Button("Transcribe", variant="primary")
                message = gr.Markdown()
            with gr.Column():
                text = gr.Textbox(label="Transcript", lines=14, buttons=["copy"], interactive=False)
        with gr.Accordion("Models", open=True):
            status = gr.Markdown(status_markdown(cache))
            refresh = gr.Button("Refresh status", size="sm")
        with gr.Accordion("How to Use", open=False):
            gr.Markdown(HOW_TO_USE)
        with gr.Accordion("Privacy & Performance", open=False):
            gr.Markdown(PRIVACY_AND_PERFORMANCE)
        with gr.Accordion("About the models", open=False):
            gr.Markdown(model_descriptions(settings))

        run.click(transcribe_file, inputs=[media, model], outputs=[text, message, status],
                  api_name="transcribe")
        refresh.click(lambda: status_markdown(cache), outputs=status, api_name=False)
        app.load(lambda: status_markdown(cache), outputs=status, api_name=False)
    app.queue(default_concurrency_limit=1)
    app.studio_cache = cache  # for tests and the CLI entry point
    return app
