"""The words on the page: how to use it, privacy and performance; what each model is comes from its spec."""

from __future__ import annotations

from ..models import all_specs
from ..settings import Settings

QUICK_HOW_TO = """**How to:** choose audio or video files (or record), pick a model, press **Transcribe**.
Each finished file is saved in **History**; click a segment to play from there, double-click its text to correct
it, then **Save edits**. Both models are for **English** speech."""

HOW_TO_USE = """
1. **Choose files** (one or many audio or video files: WAV, MP3, M4A, FLAC, OGG, MP4, WebM...,
   of any length; long recordings are cut at pauses automatically) or **record** from the microphone.
   Files dropped after you pressed Transcribe start a new list (the earlier ones are not sent again).
2. **Pick a model** (both are for English speech): Parakeet for speed and word timestamps, Canary-Qwen
   for the best accuracy. A model that cannot load now says why beside its name.
   **Options**: names and terms to spell right (Parakeet only), word timings for Canary-Qwen, and
   who spoke (up to 4 speakers; needs `python setup_local_models.py` once).
3. **Press Transcribe.** Parakeet is loaded in the background as soon as the app starts; Canary-Qwen
   is loaded the first time it is used (a minute or more). Models stay loaded, so every later file
   starts at once.
   A progress bar shows what is happening; **Cancel** stops the job (files already finished stay saved).
4. **Read, listen and correct.** Copy the text with the button at the corner of the transcript box.
   Click a row of the segment table, or a word under the player: the player of the whole recording
   jumps there, and the segment and word playing are highlighted. Double-click a segment's text to correct it, then press **Save edits**:
   every download is rewritten (the model's own text is kept too). With speakers, name them in the
   box beside **Rename speakers** (`Speaker 1 = Dana, Speaker 2 = Lee`).
5. **Download** the subtitles (SRT, VTT), text, Markdown, DOCX (Word), JSON or CSV (choose them under
   Options). In a batch, click a file's row to open it; **Download all** gives one zip. Every
   finished file is saved at once and listed in the **History** tab (search by file name or words;
   Delete asks to confirm), so nothing is lost if the browser tab closes.
6. **Ask Canary-Qwen** for a summary, the action items, or any question about the transcript.
7. The **Models** tab shows what is loaded and lets you free GPU memory.

If a file cannot be used, the table says why and the other files still finish; the full
technical details are written to the log file.
"""

PRIVACY_AND_PERFORMANCE = """
**Private by default.** The app listens on 127.0.0.1 only, so no other computer can reach it.
Your audio never leaves this machine: decoding and transcription run locally. Gradio's usage
analytics and Hugging Face telemetry are switched off, and no public share link is created.

**Network use.** Parakeet and the speaker diarizer never use the network. Canary-Qwen downloads its files from the
Hugging Face Hub once, at a pinned commit (model files only, never your audio); after that it
loads from the local cache with no network call. Run `python setup_local_models.py` once to
fetch everything up front and work fully offline from then on.

Transcripts and subtitles are saved only in the app's outputs folder on this computer; uploaded
files stay in the app's own temporary folder, which is cleaned up.

**Speed and memory.** On an NVIDIA GPU both models run in bfloat16 where the GPU supports it.
Parakeet needs about 2 GB of GPU memory (5 GB for the seconds of its load), Canary-Qwen about
6 GB (it goes from disk to the GPU with under 1 GB of extra system RAM; on the CPU it needs about
11 GB of RAM). Without a GPU both still work on the CPU, much more slowly.
Models stay in memory after their first load (the Models tab can unload them, also automatically
after some idle minutes); if both do not fit on the GPU, the other model is unloaded first and you
are told. Files are processed one at a time.

**What the options cost** (measured on a 2-core CPU; docs/PERFORMANCE.md has the figures):
**names and terms** nothing measurable; **word timings for Canary-Qwen** a Parakeet pass, about a
tenth of Canary-Qwen's own time; **who spoke** a diarizer pass, about 1/25 of the recording's length
(an hour in under 3 minutes) and about 1 GB of memory for an hour.
"""


def model_descriptions(settings: Settings) -> str:
    """The Help tab's "About the models": each registered model's own description, in order."""
    return "\n\n".join(spec.description(settings) for spec in all_specs() if spec.description is not None)
