"""The page's layout: its components and tabs, and nothing they do (see :mod:`.handlers`).

:func:`build` is called inside a ``gr.Blocks`` context and returns a :class:`Page`
holding every component an event needs. What the page offers (the models, the
formats, the texts) comes in as arguments, so nothing here names a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import gradio as gr

from ..outputs.writers import DEFAULT_FORMATS, FORMATS
from ..transcription.doubts import DEFAULT_THRESHOLD
from . import model_table
from .text import QUICK_HOW_TO, how_to_use, privacy_and_performance
from .views import FILE_HEADERS, HISTORY_HEADERS, KEYS_HELP, PLAYER_ID, SEGMENT_HEADERS, SEGMENTS_ID

TITLE = "NeMo Transcription Studio"
RECORDING_LABEL = "Recording"
FILES_ID, MESSAGE_ID, HISTORY_ID, RUN_ID = "media-files", "job-message", "history-table", "transcribe-button"
TRANSCRIPT_ID = "transcript"
COMPARE_TABLE_ID = "compare-table"
LIVE_CAPTIONS_ID = "live-captions"
PICTURE_ID, THRESHOLD_ID, FOUND_ID = "recording-picture", "doubt-threshold", "find-results"
THRESHOLD_INFO = ("Words the model was unsure of, and words no timing pass heard, are underlined; words you "
                  "edited never are.")
# The word picked last in the read-along (clicked, or reached by "next to check"), for Split and Merge; none
# picked: -1, and they say to pick one (the words' first tab stop is not a pick).
PICKED_WORD_JS = """() => {
    const word = document.querySelector('#read-along span.picked');
    return word ? +word.dataset.i : -1;
}"""
MARK_DOUBTS_JS = "(threshold) => { if (window.studioEditor) studioEditor.markDoubts(threshold); return threshold; }"
# What Gradio's components cannot be told through their options: colours that meet WCAG AA contrast, times that
# never wrap mid-number, a History readable on a narrow window (page.css); names for screen readers and keyboard
# use (page.js). Both go into the page's <head> through ``launch`` (Gradio 6 takes it there): a stylesheet given as
# Gradio's ``css`` has the rules inside its media queries confined to the page's content, not the page's frame.
_HERE = Path(__file__).parent
HEAD = (f"<style>\n{(_HERE / 'page.css').read_text(encoding='utf-8')}</style>\n"
        f"<script>\n{(_HERE / 'page.js').read_text(encoding='utf-8')}</script>")
SEGMENTS_LABEL = "Segments (click a row to play from there; edit a text, then Save edits)"
FILES_LABEL = "Files (click a row to open it)"
# Gradio's Audio has no seek (and its waveform keeps its own clock): the player is a plain <audio> element
# (views.player_html) that a segment click seeks.
SEEK_JS = f"""(start) => {{
    const audio = document.getElementById('{PLAYER_ID}');
    if (audio && start !== null && start !== undefined) {{ audio.currentTime = start; audio.play().catch(() => {{}}); }}
    return start;
}}"""
LOAD, UNLOAD = "load", "unload"
# Gradio's File list draws a "Remove this file" cross on each of several files, even when not interactive: on a
# list of downloads it would only drop the link from the page, so page.css does not draw it for this class.
READ_ONLY_FILES = "read-only-files"
FORMAT_LABELS = {"md": "Markdown", "docx": "DOCX (Word)"}  # the others: their extension in capitals


class Page:
    """The components of the page, by name (set by :func:`build`)."""
    job: gr.State              # the job this page shows ({"job": its id}), for Cancel
    viewer: gr.State           # the transcript shown: its History entry, audio and segment times
    batch: gr.State            # the History entry of each row of the Files table (None: failed)
    sent: gr.State             # the uploads the last Transcribe sent (a later drop starts a new list)
    tabs: gr.Tabs
    # Transcribe
    media: gr.File
    recording: gr.Audio
    model: gr.Radio
    formats: gr.CheckboxGroup
    vocabulary: gr.Textbox     # names and terms, comma-separated
    word_timings: gr.Checkbox
    speakers: gr.Checkbox
    language: gr.Dropdown
    translate_to: gr.Dropdown
    run: gr.Button
    stop: gr.Button
    message: gr.Markdown
    status: gr.Markdown
    text: gr.Textbox
    segments: gr.Dataframe     # editable: the text column only
    save_edits: gr.Button
    speaker_names: gr.Textbox  # "Speaker 1 = Dana, Speaker 2 = Lee"
    rename: gr.Button
    edit_note: gr.Markdown
    seek: gr.Number            # hidden: the clicked segment's start, for the player (SEEK_JS)
    picture: gr.HTML           # the recording drawn: waveform, speakers, words to check (picture.picture_html)
    player: gr.HTML            # the whole recording (views.player_html)
    threshold: gr.Slider       # words below this confidence are marked to check
    picked_word: gr.Number     # hidden: the index of the word picked in the read-along (PICKED_WORD_JS)
    split: gr.Button
    merge: gr.Button
    find_speakers: gr.Button
    find: gr.Textbox
    replace_with: gr.Textbox
    also_names: gr.Checkbox    # add the replacement to names and terms
    find_btn: gr.Button
    replace_btn: gr.Button
    undo_replace: gr.Button
    found: gr.Markdown         # the occurrences, with their times, before anything is replaced
    subtitle_note: gr.Markdown  # subtitle cues shown faster than a person reads, when there are any
    shown_entry: gr.State      # the entry the editor's messages are about (another one clears them)
    downloads: gr.File
    files_table: gr.Dataframe
    download_all: gr.Button
    zip_file: gr.File
    summary_btn: gr.Button
    actions_btn: gr.Button
    question: gr.Textbox
    ask_btn: gr.Button
    answer: gr.Markdown
    # History
    history_search: gr.Textbox
    history: gr.Dataframe
    history_ids: gr.State      # the entry id of each listed row, in order (ids are not shown)
    picked: gr.State           # the selected entry's id
    picked_label: gr.Markdown  # what is selected, for people
    open_btn: gr.Button
    delete_btn: gr.Button
    confirm_delete: gr.Button  # shown after Delete: the second click deletes
    refresh_history: gr.Button
    history_note: gr.Markdown
    # Live
    live_model: gr.Radio
    live_mic: gr.Audio
    live_captions: gr.HTML      # settled words, and the words still being decided, lighter
    live_text: gr.Textbox       # the same as text, to copy at any moment
    live_note: gr.Markdown      # how it keeps up; at Stop, where the recording went
    # Compare
    compare_files: gr.File
    compare_models: gr.CheckboxGroup
    compare_language: gr.Dropdown
    compare_run: gr.Button
    compare_note: gr.Markdown      # progress, then what was left out and why
    compare_table: gr.Markdown
    compare_worst: gr.HTML
    compare_csv: gr.File
    # Models
    models_table: gr.Dataframe
    model_buttons: list[tuple[str, str, gr.Button]]  # (model key, LOAD or UNLOAD, button)
    idle: gr.Number
    models_note: gr.Markdown
    timer: gr.Timer


# The language choices' values for "let the model find it" and "write what is heard".
AUTO, NO_TRANSLATION = "auto", "none"


def blocks() -> gr.Blocks:
    """The page's frame; uploads older than an hour are deleted."""
    return gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600))


class OptionTexts:
    """What the option boxes say, from the model specs (nothing here names a model)."""
    def __init__(self, vocabulary: str, word_timings: str, speakers: str, speakers_label: str = "Who spoke",
                 languages: tuple[tuple[str, str], ...] = (), language_info: str = "",
                 measurable: tuple[str, ...] = (), live_models: tuple[tuple[str, str], ...] = (),
                 live_note: str = ""):
        self.vocabulary, self.word_timings, self.speakers = vocabulary, word_timings, speakers
        self.speakers_label = speakers_label
        # (name, code) of each language a model offered hears; none beyond English: no language choices shown
        self.languages, self.language_info = languages, language_info
        self.measurable = measurable  # the keys of the models Compare ticks at first: those that can load now
        self.live_models, self.live_note = live_models, live_note  # (label, key) of each live captioner offered


def build(*, models: list[tuple[str, str]], loadable: list[tuple[str, str]], default_model: str,
          assistant_label: str, model_rows: Callable[[], list],
          idle_minutes: float, about_models: str, option_texts: OptionTexts) -> Page:
    """The whole page. ``models``: (label, key) of each model offered for transcription, in order;
    ``loadable``: (label, key) of each model the Models tab loads and unloads."""
    page = Page()
    gr.Markdown(f"# {TITLE}\nLocal, private speech-to-text with NVIDIA NeMo.")
    page.job = gr.State({})
    page.viewer = gr.State({})
    page.batch = gr.State([])
    page.sent = gr.State([])
    with gr.Tabs() as page.tabs:
        with gr.Tab("Transcribe", id="transcribe"):
            _transcribe_tab(page, models, default_model, option_texts)
            _assistant(page, assistant_label)
        with gr.Tab("Live", id="live"):
            _live_tab(page, option_texts)
        with gr.Tab("History", id="history"):
            _history_tab(page)
        with gr.Tab("Compare", id="compare"):
            _compare_tab(page, models, option_texts)
        with gr.Tab("Models", id="models"):
            _models_tab(page, loadable, model_rows, idle_minutes)
        with gr.Tab("Help", id="help"):
            _help_tab(about_models)
    page.timer = gr.Timer(5.0)
    return page


def _transcribe_tab(page: Page, models: list[tuple[str, str]], default_model: str, texts: OptionTexts) -> None:
    # Everything a first job needs, in the order a person goes, fits the first screen down to a 420-pixel window:
    # the how-to across the page, a low drop zone, the microphone folded away, Transcribe under model and options.
    gr.Markdown(QUICK_HOW_TO)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            page.media = gr.File(label="Audio or video files", file_count="multiple", file_types=["audio", "video"],
                                 type="filepath", height=150, elem_id=FILES_ID)
            with gr.Accordion("Or record from the microphone", open=False):
                page.recording = gr.Audio(sources=["microphone"], type="filepath", label="Recording")
            # Choices are relabelled at page load with what cannot load now (see Handlers.model_choices).
            page.model = gr.Radio(models, value=default_model, label="Model")
            _languages(page, texts)
            _options(page, texts)
            with gr.Row():
                page.run = gr.Button("Transcribe", variant="primary", elem_id=RUN_ID)
                page.stop = gr.Button("Cancel", variant="secondary", size="sm")  # quiet: most of the time nothing runs
            page.message = gr.Markdown(elem_id=MESSAGE_ID)
            page.status = gr.Markdown()  # filled at page load: the page need not wait for torch
        with gr.Column(scale=2):
            _transcript(page)


def _transcript(page: Page) -> None:
    page.text = gr.Textbox(label="Transcript", lines=10, buttons=["copy"], interactive=False, elem_id=TRANSCRIPT_ID)
    page.picture = gr.HTML(padding=False, elem_id=PICTURE_ID)
    page.player = gr.HTML(label=RECORDING_LABEL, show_label=True, padding=False)
    with gr.Row(equal_height=True):
        page.threshold = gr.Slider(0.0, 1.0, value=DEFAULT_THRESHOLD, step=0.05, min_width=200,
                                   label="Mark words below this confidence to check", info=THRESHOLD_INFO,
                                   elem_id=THRESHOLD_ID)
        gr.Markdown(KEYS_HELP, min_height=0)
    # Only the text column is editable: times and speakers come from the model (speakers are renamed below), and
    # so do the rows: a "fixed" row count (Gradio 6 has no other way to say it) offers no "Add row". The times'
    # columns are as wide as the longest time ("1:00:01.280"), page.css keeps each on one line.
    page.segments = gr.Dataframe(headers=SEGMENT_HEADERS, label=SEGMENTS_LABEL, interactive=True,
                                 static_columns=[0, 1, 3], wrap=True, row_count=(0, "fixed"), elem_id=SEGMENTS_ID,
                                 column_widths=["115px", "115px", "30%"])
    page.seek = gr.Number(visible=False)
    with gr.Row():
        page.save_edits = gr.Button("Save edits", size="sm")
        page.speaker_names = gr.Textbox(label="Speaker names", show_label=False,
                                        placeholder="Speaker 1 = Dana, Speaker 2 = Lee", max_lines=1, scale=3,
                                        container=False)
        page.rename = gr.Button("Rename speakers", size="sm")
    with gr.Row():
        page.split = gr.Button("Split segment at the picked word", size="sm")
        page.merge = gr.Button("Merge picked word's segment with the next", size="sm")
        page.find_speakers = gr.Button("Find speakers", size="sm")
    page.picked_word = gr.Number(visible=False)
    page.shown_entry = gr.State("")
    _find_and_replace(page)
    page.edit_note = gr.Markdown()
    page.downloads = gr.File(label="Downloads", file_count="multiple", interactive=False,
                             elem_classes=[READ_ONLY_FILES])
    page.subtitle_note = gr.Markdown()
    # the details column takes the room a failure's reason needs; the rest are as wide as their words
    page.files_table = gr.Dataframe(headers=FILE_HEADERS, label=FILES_LABEL, interactive=False, wrap=True,
                                    column_widths=["25%", "75px", "55%"])
    with gr.Row():
        page.download_all = gr.Button("Download all (one zip)", size="sm")
        page.zip_file = gr.File(label="All files", interactive=False, visible=False, elem_classes=[READ_ONLY_FILES])


def _find_and_replace(page: Page) -> None:
    with gr.Accordion("Find and replace", open=False):
        with gr.Row():
            page.find = gr.Textbox(label="Find", placeholder="Donna Whitfield", max_lines=1)
            page.replace_with = gr.Textbox(label="Replace with", placeholder="Dana Whitfield", max_lines=1)
        page.also_names = gr.Checkbox(value=False, label="Also add it to names and terms (for the next transcriptions)")
        with gr.Row():
            page.find_btn = gr.Button("Find", size="sm")
            page.replace_btn = gr.Button("Replace all", size="sm", variant="primary")
            page.undo_replace = gr.Button("Undo last replace", size="sm")
        page.found = gr.Markdown(elem_id=FOUND_ID)


def _languages(page: Page, texts: OptionTexts) -> None:
    """The recording's language and the one to write, side by side under the model (where a model that must be
    told the language needs them seen); hidden while every model offered hears English only."""
    shown = len(texts.languages) > 1
    with gr.Row(visible=shown):
        page.language = gr.Dropdown([("Auto", AUTO), *texts.languages], value=AUTO,
                                    label="Spoken language", info=texts.language_info, min_width=160)
        page.translate_to = gr.Dropdown([("No translation", NO_TRANSLATION), *texts.languages],
                                        value=NO_TRANSLATION, label="Translate to", min_width=160)


def _options(page: Page, texts: OptionTexts) -> None:
    with gr.Accordion("Options: names and terms, word timings, speakers, formats", open=False):
        page.vocabulary = gr.Textbox(value="", label="Names and terms", placeholder="Dana Whitfield, Kubernetes, OKRs",
                                     info=texts.vocabulary, max_lines=3)
        page.word_timings = gr.Checkbox(value=True, label=texts.word_timings)
        page.speakers = gr.Checkbox(value=False, label=texts.speakers_label, info=texts.speakers)
        page.formats = gr.CheckboxGroup([(FORMAT_LABELS.get(f, f.upper()), f) for f in FORMATS],
                                        value=list(DEFAULT_FORMATS),
                                        label="Save as (JSON is always kept for History)")


def _assistant(page: Page, assistant_label: str) -> None:
    with gr.Accordion(f"Ask {assistant_label} about this transcript", open=False):
        gr.Markdown(f"Uses {assistant_label}'s language model on the transcript text (it does not hear the "
                    f"audio). Loads {assistant_label} if it is not loaded yet.")
        with gr.Row():
            page.summary_btn = gr.Button("Summary")
            page.actions_btn = gr.Button("Action items")
        page.question = gr.Textbox(label="Question", placeholder="What did they decide about the budget?")
        page.ask_btn = gr.Button("Ask")
        page.answer = gr.Markdown(buttons=["copy"])


def _history_tab(page: Page) -> None:
    page.history_search = gr.Textbox(label="Search file names and text", placeholder="budget, interview.mp3...",
                                     max_lines=1)
    # Filled at page load with the entries' ids beside it (history_ids), so a click finds its entry.
    # Fixed widths that page.css keeps on a narrow window (the table then scrolls sideways), never a column one
    # letter wide.
    page.history = gr.Dataframe(headers=HISTORY_HEADERS, interactive=False, wrap=True, elem_id=HISTORY_ID,
                                label="Finished transcriptions (newest first; click a row to select it)",
                                column_widths=["140px", "150px", "140px", "115px", "85px", "250px"])
    page.history_ids = gr.State([])
    page.picked = gr.State("")
    page.picked_label = gr.Markdown("*Nothing selected: click a row.*")
    with gr.Row():
        page.open_btn = gr.Button("Open")
        page.delete_btn = gr.Button("Delete")
        page.confirm_delete = gr.Button("Confirm delete", variant="stop", visible=False)
        page.refresh_history = gr.Button("Refresh")
    page.history_note = gr.Markdown()


LIVE_HOW_TO = (
    "**Live captions:** press **Record**, speak, and the words appear as you go: the settled ones, and after them, "
    "lighter, the ones still being decided. **Stop** saves the whole recording and transcribes it again (with word "
    "times) into **History**; the live text stays here until then, and the copy button takes it at any moment.")


def _live_tab(page: Page, texts: OptionTexts) -> None:
    gr.Markdown(LIVE_HOW_TO)
    models = list(texts.live_models)
    page.live_model = gr.Radio(models, value=models[0][1] if models else None, label="Model",
                               visible=len(models) > 1)
    page.live_mic = gr.Audio(sources=["microphone"], streaming=True, type="numpy", label="Microphone")
    page.live_note = gr.Markdown(texts.live_note)
    page.live_captions = gr.HTML(elem_id=LIVE_CAPTIONS_ID, label="Captions", show_label=True)
    page.live_text = gr.Textbox(label="Live text", buttons=["copy"], interactive=False, lines=3)


COMPARE_HOW_TO = (
    "**Which model hears your recordings best?** Choose a few recordings and, for each, a `.txt` of what is said "
    "in it, named alike (`interview.mp3` and `interview.txt`). Each model ticked transcribes them; you get its word "
    "and character error rates (after the Open ASR Leaderboard's normalisers), its speed, and its worst files with "
    "what it missed ~~struck through~~ and what it heard instead underlined. Nothing leaves this machine.")


def _compare_tab(page: Page, models: list[tuple[str, str]], texts: OptionTexts) -> None:
    gr.Markdown(COMPARE_HOW_TO)
    page.compare_files = gr.File(label="Recordings and their .txt references", file_count="multiple",
                                 file_types=["audio", "video", ".txt"], type="filepath", height=150)
    with gr.Row():
        page.compare_models = gr.CheckboxGroup(models, value=list(texts.measurable), label="Models",
                                               info="Ticked: those that can load now.")
        page.compare_language = gr.Dropdown(list(texts.languages) or [("English", "en")], value="en",
                                            label="Language of the recordings", min_width=160)
    page.compare_run = gr.Button("Measure", variant="primary")
    page.compare_note = gr.Markdown()
    page.compare_table = gr.Markdown(elem_id=COMPARE_TABLE_ID)
    page.compare_worst = gr.HTML()
    page.compare_csv = gr.File(label="Every file's figures and both texts (CSV)", interactive=False, visible=False,
                               elem_classes=[READ_ONLY_FILES])


def _models_tab(page: Page, models: list[tuple[str, str]], model_rows: Callable[[], list],
                idle_minutes: float) -> None:
    page.models_table = gr.Dataframe(headers=model_table.HEADERS, value=model_rows, interactive=False, wrap=True,
                                     column_widths=model_table.COLUMN_WIDTHS, label="Models", show_label=False)
    page.model_buttons = []
    for name, key in models:
        with gr.Row():
            page.model_buttons.append((key, LOAD, gr.Button(f"Load {name}")))
            page.model_buttons.append((key, UNLOAD, gr.Button(f"Unload {name}")))
    # Set again at page load: the value in force may have changed since the page was built.
    page.idle = gr.Number(value=idle_minutes, minimum=0, label="Unload models after this many idle minutes (0: never)")
    page.models_note = gr.Markdown()


def _help_tab(about_models: str) -> None:
    with gr.Accordion("How to Use", open=True):
        gr.Markdown(how_to_use())
    with gr.Accordion("Privacy & Performance", open=True):
        gr.Markdown(privacy_and_performance())
    with gr.Accordion("About the models", open=True):
        gr.Markdown(about_models)
