"""The words on the page: how to use it, privacy and performance; what each model is comes from its spec."""

from __future__ import annotations

from ..models import DEFAULT_MODEL, all_specs, answerers, diarizers, get, transcribers
from ..settings import Settings
from ..transcription.doubts import DEFAULT_THRESHOLD
from .views import KEYS_HELP

QUICK_HOW_TO = """**How to:** choose audio or video files (or record), pick a model, press **Transcribe**.
Each finished file is saved in **History**; click a segment to play from there, double-click its text to correct
it, then **Save edits**."""

HOW_TO_USE = """
1. **Choose files** (one or many audio or video files: WAV, MP3, M4A, FLAC, OGG, MP4, WebM...,
   of any length; long recordings are cut at pauses automatically) or **record** from the microphone.
   Files dropped after you pressed Transcribe start a new list (the earlier ones are not sent again).
2. **Pick a model**: {models}. A model that cannot load now says why beside its name.
   **Languages** (shown once a model for other languages is set up): the **spoken language** ({told} must be
   told it; the others find it themselves, and refuse one they do not hear) and, to get the text and subtitles
   in another language, **Translate to** ({translating}). What a model cannot do is said before anything runs.
   **Options**: names and terms to spell right ({boosting}), word timings for a model that gives none
   ({untimed}), and who spoke ({diarizer}; needs `python setup_local_models.py` once).
3. **Press Transcribe.** {preloaded} is loaded in the background as soon as the app starts; the others
   are loaded the first time they are used (a minute or more). Models stay loaded, so every later file
   starts at once.
   A progress bar shows what is happening and about how long is left; **Cancel** stops the job (files
   already finished stay saved). Pressing Transcribe again while a job runs queues the new files after it.
4. **Read, listen and correct.** Copy the text with the button at the corner of the transcript box.
   Click a row of the segment table, or a word under the player: the player of the whole recording
   jumps there, and the segment and word playing are highlighted. Double-click a segment's text to correct it, then press **Save edits**:
   every download is rewritten (the model's own text is kept too). With speakers, name them in the
   box beside **Rename speakers** (`Speaker 1 = Dana, Speaker 2 = Lee`).
   **Check only the doubtful words:** the words the model was unsure of (below the confidence you set on
   the slider, {threshold} at first) and the words no timing pass heard are underlined, and their segments
   marked in the table; **Next to check** (or **Alt+M**) picks the next one, plays from a second before it and
   says how many are left; a word you correct is never marked again. {keys}.
   The **picture** above the player shows the recording: its waveform, who speaks when (coloured bands), the
   words to check (ticks), the stretches left out as silence (grey); click it to play from there.
   **Find and replace** lists every place a word or phrase is said, with its time (click it to hear it), before
   **Replace all** changes them (each replaced word keeps its time and speaker); tick *Also add it to names and
   terms* so the next transcriptions spell it right; **Undo last replace** puts every file back as it was.
   **Split** a segment at the word you picked (click it under the player), or **Merge** it with the next:
   the times follow the words. **Find speakers** labels who spoke in a transcript saved without them (it needs
   the recording's copy in History), keeping your corrections.
5. **Download** the subtitles (SRT, VTT), text, Markdown, DOCX (Word), JSON or CSV (choose them under
   Options). Several files go through the model together and finish in batches; the first one done
   stays in view while the rest run (its edits are safe until the job ends: save them before). In a
   batch, click a file's row to open it; **Download all** gives one zip. Every
   finished file is saved at once and listed in the **History** tab (search by file name or words;
   Delete asks to confirm), so nothing is lost if the browser tab closes.
6. **{asking}** for a summary, the action items, or any question about the transcript.
7. **Live** captions what you say as you say it: **Record**, speak, read; **Stop** saves the recording and
   transcribes it into **History**.
8. **Compare** measures the models on your own recordings: choose a few with a `.txt` of what is said in each
   (named alike), tick the models, press **Measure**: each one's word and character error rates, speed, and its
   worst files with its mistakes marked, and a CSV of every file.
9. The **Models** tab shows what is loaded and lets you free GPU memory.

If a file cannot be used, the table says why and the other files still finish; the full
technical details are written to the log file.
"""

PRIVACY_AND_PERFORMANCE = """
**Private by default.** The app listens on 127.0.0.1 only, so no other computer can reach it.
Your audio never leaves this machine: decoding and transcription run locally. Gradio's usage
analytics and Hugging Face telemetry are switched off, and no public share link is created.

**Network use.** A model downloads its files from the Hugging Face Hub at most once, at a pinned commit
(model files only, never your audio); after that it loads from local files with no network call. Run
`python setup_local_models.py` once to fetch everything up front and work fully offline from then on.

{network}

Transcripts and subtitles are saved only in the app's outputs folder on this computer; uploaded
files stay in the app's own temporary folder, which is cleaned up.

**Speed and memory.** On an NVIDIA GPU the models run in bfloat16 where the GPU supports it.
Without a GPU they still work on the CPU, much more slowly. What each needs:

{memory}

Models stay in memory after their first load (the Models tab can unload them, also automatically
after some idle minutes); if two do not fit on the GPU together, the other model is unloaded first and
you are told. Files are processed one at a time.

**What the options cost** (measured on a 2-core CPU; docs/PERFORMANCE.md has the figures):
**names and terms** nothing measurable; **word timings** a pass of the timing model, about a tenth of the
transcribing model's own time; **who spoke** a diarizer pass, about 1/25 of the recording's length
(an hour in under 3 minutes) and about 1 GB of memory for an hour.
"""


def model_descriptions(settings: Settings) -> str:
    """The Help tab's "About the models": each registered model's own description, in order."""
    return "\n\n".join(spec.description(settings) for spec in all_specs() if spec.description is not None)


def how_to_use() -> str:
    """The Help tab's steps, naming the registered models where a step depends on them."""
    models = transcribers()
    untimed = [f"{s.label}, times from {get(s.word_timings_from).label}" for s in models if s.word_timings_from]
    asking = answerers()
    return HOW_TO_USE.format(
        models="; ".join(f"{s.label} ({s.summary})" for s in models),
        boosting=", ".join(s.label for s in models if s.vocabulary) or "no model here",
        untimed="; ".join(untimed) or "none here", preloaded=get(DEFAULT_MODEL).label,
        diarizer="; ".join(f"up to {s.max_speakers} speakers" for s in diarizers()) or "no diarizer here",
        asking=f"Ask {asking[0].language_model.name}" if asking else "Ask",
        told=" and ".join(s.label for s in models if s.prompt) or "no model here",
        translating=" and ".join(s.label for s in models if s.prompt) or "no model here",
        threshold=DEFAULT_THRESHOLD, keys=KEYS_HELP)


def privacy_and_performance() -> str:
    """Privacy, network use and memory, each model's own figures from its spec."""
    return PRIVACY_AND_PERFORMANCE.format(
        network="\n".join(f"- {s.label}: {note}" for s in all_specs() for note in s.notes),
        memory="\n".join(f"- {s.label}: {s.memory}" for s in all_specs() if s.memory))
