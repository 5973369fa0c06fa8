"""What the page shows, as plain data: markdown, table rows, a transcript opened from History.

No Gradio here: the API functions (:mod:`.api`) and the event handlers
(:mod:`.handlers`) build their answers from these.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StudioError
from ..formatting import clock, duration_text, size_text
from ..media.envelope import cached_envelope
from ..models import ModelCache, ModelRow, ModelState, gpu
from ..outputs.history import HistoryStore
from ..outputs.writers import WriterOptions, get_writer, markdown_escaped, reading_speed_notes
from ..transcription.doubts import DEFAULT_THRESHOLD, doubts, evidence, reason
from .jobs import JobReport, JobState
from .picture import PLAYHEAD_JS, picture_html

log = logging.getLogger(__name__)

SEGMENT_HEADERS = ["start", "end", "text"]
SPEAKER_HEADER = "speaker"  # a fourth column, only for a transcript with speakers
TEXT_COLUMN = 2  # the one column a person edits
FILE_HEADERS = ["file", "status", "details"]
HISTORY_HEADERS = ["created", "file", "model", "duration", "size", "preview"]  # the page's (local time, no id)
HISTORY_TIME = "%Y-%m-%d %H:%M:%S"  # to the second: two runs of one file in one minute must differ
API_HISTORY_HEADERS = ["id", "created (UTC)", "file", "model", "duration", "preview", "language"]  # /history's


@functools.lru_cache(maxsize=1)
def compute_device_note() -> str:
    import torch

    if torch.cuda.is_available():
        return f"Running on GPU: {torch.cuda.get_device_name(0)}."
    notice = gpu.cpu_torch_notice()
    if notice:  # an NVIDIA card that this PyTorch cannot use: say how to fix it, on the page too
        message, _, command = notice.rpartition("\n")
        return f"**{message}**\n\n```\n{command}\n```"
    return ("**No GPU detected: running on the CPU.** Transcription works but is much slower "
            "(minutes per minute of audio for the larger models).")


def status_markdown(cache: ModelCache) -> str:
    """The device, each model's state, and the latest notices (a model unloaded to make room...)."""
    lines = [compute_device_note(), ""]
    lines += [f"- **{row.spec.label}**: {model_state(row, cache)}" for row in cache.snapshot()]
    lines += [f"- *{notice}*" for notice in list(cache.notices)[-3:]]
    return "\n".join(lines)


def model_state(row: ModelRow, cache: ModelCache) -> str:
    """A model's state for people; one that is not loaded and cannot load now says why."""
    if row.status.state in (ModelState.NOT_LOADED, ModelState.FAILED):
        reason = row.spec.availability(cache.settings)
        if reason is not None:
            return f"unavailable: {reason}"
    return row.status.describe()


def error_markdown(error: StudioError) -> str:
    return f"**{error.title}.** {error.message}\n\n**What to do:** {error.next_steps}"


@dataclass(frozen=True)
class View:
    """One transcription as the Transcribe tab shows it."""
    text: str = ""                                            # speaker turns ("Dana: ...") when it has speakers
    segments: list[list[str]] = field(default_factory=list)  # [start, end, text(, speaker)], times as clock text
    downloads: list[str] = field(default_factory=list)       # paths of its output files
    entry: str | None = None                                  # its History entry id
    audio: str | None = None                                  # its kept audio, for replaying segments
    times: list[tuple[float, float]] = field(default_factory=list)  # each segment's (start, end) in seconds
    speakers: list[str] = field(default_factory=list)         # its speakers' labels, when it has speakers
    # each word's (start, text, confidence, not heard), for the read-along and the words to check (doubts.evidence)
    words: list[tuple[float, str, float | None, bool]] = field(default_factory=list)

    @property
    def state(self) -> dict:
        """What the page keeps between events (a ``gr.State``): the entry, to save edits to it and seek its
        recording."""
        if not self.entry:
            return {}
        return {"entry": self.entry, "audio": self.audio, "segments": self.times, "words": self.words,
                "name": self.name}

    @property
    def name(self) -> str | None:
        """What the recording is called, for the player's name: the stem its outputs share (its JSON is always
        kept; the shortest path, not the ``.original.json`` of an edited one)."""
        kept = sorted((Path(p) for p in self.downloads if p.endswith(".json")), key=lambda p: len(p.name))
        return kept[0].stem if kept else None

    @property
    def headers(self) -> list[str]:
        return SEGMENT_HEADERS + [SPEAKER_HEADER] if self.speakers else SEGMENT_HEADERS


def view(store: HistoryStore, entry_id: str | None) -> View:
    """The History entry ``entry_id`` as the page shows it (empty for no id)."""
    if not entry_id:
        return View()
    transcript, _, entry = store.load(entry_id)
    return transcript_view(transcript, entry.files, entry_id, str(entry.audio) if entry.audio else None)


def transcript_view(transcript, downloads=(), entry: str | None = None, audio: str | None = None) -> View:
    """``transcript`` as the Transcribe tab shows it; with no ``entry``, one that could not be saved."""
    speakers = transcript.has_speakers
    rows = [[clock(s.start), clock(s.end), s.text] + ([transcript.speaker_name(s.speaker) or ""] if speakers else [])
            for s in transcript.segments]
    return View(text=get_writer("txt").render(transcript, {}).strip() if speakers else transcript.text,
                segments=rows, downloads=[str(p) for p in downloads], entry=entry, audio=audio,
                times=[(s.start, s.end) for s in transcript.segments],
                speakers=transcript.speaker_labels,
                words=[(w.start, w.text, *evidence(w)) for w in transcript.words])


PLAYER_ID, SEGMENTS_ID, READ_ALONG_ID = "recording-player", "segments-table", "read-along"
HIGHLIGHT = "var(--color-accent-soft)"
# As it plays, the segment under the playhead is highlighted in the segments table (its cells are named
# cell-<row>-<column>; only the rows on screen exist)...
_FOLLOW_JS = ("const t = this.currentTime, starts = JSON.parse(this.dataset.starts); let now = -1;"
              "starts.forEach((s, i) => { if (s <= t) now = i; });"
              f"document.querySelectorAll('#{SEGMENTS_ID} [data-testid^=cell-]').forEach(cell => {{"
              f"cell.style.background = cell.dataset.testid.split('-')[1] == now ? '{HIGHLIGHT}' : ''; }});"
              # ... and so is the word in the read-along (only the one that changes is restyled: there are many)
              f"const words = document.querySelectorAll('#{READ_ALONG_ID} span'); let word = -1;"
              "words.forEach((w, i) => { if (+w.dataset.t <= t) word = i; });"
              "const before = +(this.dataset.word ?? -1); if (word != before) {"
              "if (words[before]) words[before].style.background = '';"
              f"if (words[word]) words[word].style.background = '{HIGHLIGHT}'; this.dataset.word = word; }}"
              + PLAYHEAD_JS)  # ... and the playhead of the picture above it


# A click on a word of the read-along plays the recording from that word; the word clicked is the one the
# keyboard comes back to (a roving tab stop: the words are one stop in the page's tab order, not thousands).
_PLAY_WORD_JS = (f"const word = event.target, t = word.dataset.t; if (t !== undefined) {{"
                 "this.querySelectorAll('[tabindex]').forEach(w => { if (w !== word) w.removeAttribute('tabindex'); });"
                 "word.tabIndex = 0;"
                 f"const player = document.getElementById('{PLAYER_ID}'); player.currentTime = +t; player.play(); }}")
# Enter or Space plays from the focused word; the arrow keys, Home and End move between the words.
_WORD_KEYS_JS = ("const words = [...this.querySelectorAll('span')], i = words.indexOf(event.target);"
                 "if (i < 0) return; if (event.key === 'Enter' || event.key === ' ') {"
                 "event.preventDefault(); event.target.click(); return; }"
                 "const j = {ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: words.length - 1}[event.key];"
                 "if (j === undefined || !words[j]) return; event.preventDefault();"
                 "words[i].removeAttribute('tabindex'); words[j].tabIndex = 0; words[j].focus();")
READ_ALONG_HINT = "Click a word, or Tab to the words and press Enter, to play from there (arrows move between words):"
DOUBT_CLASS, DOUBT_COUNT_ID, SPEED_ID = "doubt", "doubt-count", "player-speed"  # page.js and page.css know these
KEYS_HELP = ("Keys, also while typing in a cell (on a Mac: Option, and Control+Option while typing): **Alt+K** play "
             "or pause · **Alt+J** / **Alt+L** "
             "back / forward 5 s · **Alt+,** / **Alt+.** slower / faster (0.5x to 2x) · **Alt+M** / **Alt+Shift+M** "
             "next / previous word to check")


def _doubt_bar() -> str:
    """"Next word to check" and the count of what is left; page.js fills the count and moves between the words."""
    button = ('<button type="button" class="sm secondary" style="padding: 2px 10px; font-weight: normal" '
              'onclick="studioEditor.nextDoubt({step})">{label}</button>')
    return ('<div style="display: flex; gap: 0.5em; align-items: center; flex-wrap: wrap; margin-top: 0.4em">'
            + button.format(step=-1, label="Previous to check") + button.format(step=1, label="Next to check")
            + f'<span id="{DOUBT_COUNT_ID}" role="status" aria-live="polite"></span>'
            + f'<span id="{SPEED_ID}" role="status" aria-live="polite"></span></div>')


def _read_along(words, threshold: float) -> str:
    """The transcript's words under the player, each a click or a key away from being heard; the words to check
    marked (page.js moves the marks when the threshold moves: each word carries its evidence)."""
    if not words:
        return ""
    spans = " ".join(_word_span(i, word, threshold) for i, word in enumerate(words))
    return (f'<p id="{READ_ALONG_ID}-hint" style="margin: 0.5em 0 0.2em"><small>{READ_ALONG_HINT}</small></p>'
            f'<div id="{READ_ALONG_ID}" role="group" aria-labelledby="{READ_ALONG_ID}-hint" '
            f'onclick="{html.escape(_PLAY_WORD_JS)}" onkeydown="{html.escape(_WORD_KEYS_JS)}" '
            f'style="max-height: 10em; overflow-y: auto; line-height: 1.6">{spans}</div>')


def _word_span(i: int, word, threshold: float) -> str:
    start, text, confidence, not_heard = word
    why = reason(confidence, not_heard, threshold)
    attributes = [' role="button"', ' tabindex="0"' if i == 0 else "",  # the words' one tab stop, until one is picked
                  f' data-i="{i}" data-t="{start:.3f}"',
                  f' data-c="{confidence:.4f}"' if confidence is not None else "",
                  ' data-n="1"' if not_heard else "",
                  f' class="{DOUBT_CLASS}" title="Check: {html.escape(why)}"' if why else ""]
    return f'<span{"".join(attributes)}>{html.escape(text)}</span>'


def _saved(store: HistoryStore, entry_id: str | None) -> tuple:
    """The entry as saved (transcript, metadata, entry), or (None, None, None): what the page adds around a
    transcript is left out, never an error, when its entry has gone meanwhile."""
    if not entry_id:
        return None, None, None
    try:
        return store.load(entry_id)
    except (StudioError, OSError, ValueError):
        return None, None, None


def recording_picture(store: HistoryStore, entry_id: str | None, threshold: float = DEFAULT_THRESHOLD) -> str:
    """The picture of the entry's recording (waveform, speakers, words to check, skipped stretches) above its
    player; nothing without its audio copy (a click on it would have nothing to play)."""
    transcript, _, entry = _saved(store, entry_id)
    if not (entry and entry.audio and entry.audio.is_file()):
        return ""
    shape = cached_envelope(entry.audio)
    try:
        return picture_html(shape, shape.duration if shape else transcript.duration,
                            [(s.start, s.end, s.speaker) for s in transcript.segments],
                            [d.start for d in doubts(transcript, threshold)],
                            [(k.start, k.end, k.why) for k in transcript.skipped], transcript.speaker_names)
    except (ArithmeticError, ValueError) as exc:  # times no recording has (a hand-edited JSON): no picture
        log.warning("No picture of entry %s: %s", entry_id, exc)
        return ""


SPEED_NOTES_SHOWN = 3  # a long file of fast speech may have hundreds: the first few, then how many more


def subtitle_note(store: HistoryStore, entry_id: str | None) -> str:
    """What to know about the entry's subtitles, with the rules it was saved with: the cues shown faster than
    a person reads (speech too fast to show longer), or nothing."""
    transcript, metadata, entry = _saved(store, entry_id)
    if not (entry and any(p.suffix in (".srt", ".vtt") for p in entry.files)):
        return ""
    options = WriterOptions.from_metadata(metadata, store.writer_options)
    try:
        notes = reading_speed_notes(transcript, options)
    except (ArithmeticError, ValueError) as exc:  # times no recording has (a hand-edited JSON): no note
        log.warning("No subtitle note for entry %s: %s", entry_id, exc)
        return ""
    if not notes:
        return ""
    more = [f"…and {len(notes) - SPEED_NOTES_SHOWN} more."] if len(notes) > SPEED_NOTES_SHOWN else []
    them = "them" if len(notes) > 1 else "it"
    return (f"**Subtitles:** {len(notes)} cue{'s are' if len(notes) > 1 else ' is'} shown faster than "
            f"{options.max_chars_per_second:g} characters a second: the speech is that fast, with no pause to show "
            f"{them} longer. To make {them} readable, shorten {them} (edit the segment's text, then Save edits); "
            "the subtitles are written again.\n\n"
            + "\n".join(f"- {markdown_escaped(n)}" for n in notes[:SPEED_NOTES_SHOWN] + more))


def player_html(state: dict, threshold: float = DEFAULT_THRESHOLD) -> str:
    """The player of the whole recording of the transcript shown (``View.state``), on the recording's own clock:
    a plain <audio>, so a segment or word click can seek it, with the words under it; a transcript without its
    audio copy says so."""
    if not state.get("entry"):
        return ""
    audio = state.get("audio")
    if not (audio and Path(audio).is_file()):
        return ("<p><em>Audio not kept for this transcript: History keeps a copy of each recording up to the size "
                "--keep-audio-mb sets (200 MB unless changed; 0 keeps none).</em></p>")
    starts = html.escape(json.dumps([round(start, 3) for start, _ in state.get("segments") or []]))
    source = html.escape(f"gradio_api/file={urllib.parse.quote(audio)}")
    name = html.escape(f"Recording of {state['name']}" if state.get("name") else "Recording", quote=True)
    return (f'<audio id="{PLAYER_ID}" controls preload="metadata" style="width: 100%" src="{source}" '
            f'aria-label="{name}" '
            f'data-starts="{starts}" ontimeupdate="{html.escape(_FOLLOW_JS)}"></audio>'
            + _doubt_bar() + _read_along(state.get("words"), threshold))


def segment_texts(rows) -> list[str]:
    """The text column of the segments table as the page sends it back (a pandas DataFrame or rows)."""
    data = rows.values.tolist() if hasattr(rows, "values") else (rows or [])
    return ["" if len(row) <= TEXT_COLUMN or row[TEXT_COLUMN] is None else str(row[TEXT_COLUMN]) for row in data]


def parse_speaker_names(text: str | None) -> dict[str, str]:
    """"Speaker 1 = Dana, Speaker 2 = Lee" -> {"Speaker 1": "Dana", "Speaker 2": "Lee"}; raises ValueError
    for a part without "=" (an empty name restores the label)."""
    names = {}
    for part in (text or "").replace("\n", ",").split(","):
        if not part.strip():
            continue
        label, equals, name = part.partition("=")
        if not equals or not label.strip():
            raise ValueError(f"{part.strip()!r} is not in the form \"Speaker 1 = Dana\".")
        names[label.strip()] = name.strip()
    if not names:
        raise ValueError("Nothing to rename: write names as \"Speaker 1 = Dana, Speaker 2 = Lee\".")
    return names


def history_rows(store: HistoryStore) -> list[list[str]]:
    """One row per complete History entry, newest first (see ``API_HISTORY_HEADERS``)."""
    return [[e.id, e.created.strftime("%Y-%m-%d %H:%M:%S"), e.source, e.model, clock(e.duration), e.preview,
             e.languages] for e in store.entries()]


def history_listing(store: HistoryStore, search: str | None = "") -> tuple[list[list[str]], list[str]]:
    """The History tab's rows (see ``HISTORY_HEADERS``: local times, sizes, no ids) of the entries whose file
    name, text or speakers' names hold every word of ``search``, newest first, and their ids in the same order."""
    words = (search or "").lower().split()
    shown = [e for e in store.entries() if all(w in _searchable(e) for w in words)] if words else store.entries()
    rows = [[e.created.astimezone().strftime(HISTORY_TIME), e.source, _model_and_languages(e), clock(e.duration),
             size_text(_entry_bytes(e)), e.preview] for e in shown]
    return rows, [e.id for e in shown]


def _model_and_languages(entry) -> str:
    """The model that made an entry, and its language or translation: "<model> · de → en"."""
    return f"{entry.model} · {entry.languages}" if entry.languages else entry.model


def _searchable(entry) -> str:
    """The entry's file name, full text and speakers' names as they are now, lower-cased; read once per version
    of its JSON."""
    json_path = next((p for p in entry.files if p.suffix == ".json"), None)
    if json_path is None:
        return f"{entry.source} {entry.preview}".lower()
    try:
        stat = json_path.stat()
        return f"{entry.source} {_json_text(str(json_path), stat.st_mtime_ns, stat.st_size)}".lower()
    except OSError:  # deleted meanwhile
        return f"{entry.source} {entry.preview}".lower()


@functools.lru_cache(maxsize=4096)
def _json_text(path: str, mtime_ns: int, size: int) -> str:
    # Keyed by the file's version: a renamed speaker or a rewrite is read again; a search over many
    # entries reads each JSON once, not at every keystroke.
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        # The JSON writes each segment's speaker by the name shown now (a rename rewrites it).
        speakers = {str(s["speaker"]) for s in data.get("segments") or [] if isinstance(s, dict) and s.get("speaker")}
        return " ".join([str(data.get("text", "")), *sorted(speakers)])
    except (OSError, ValueError, AttributeError, TypeError):
        return ""


def _entry_bytes(entry) -> int:
    """What the entry takes on disk: its outputs and its kept copy of the audio."""
    total = 0
    for path in [*entry.files, *([entry.audio] if entry.audio else [])]:
        try:
            total += path.stat().st_size
        except OSError:
            pass
    return total


def file_rows(results) -> list[list[str]]:
    """One row per file of a job so far (see ``FILE_HEADERS``)."""
    return [[r.source.name, "done" if r.ok else "failed", _outcome(r)] for r in results]


def _outcome(result) -> str:
    if not result.ok:
        return f"{result.error.title}: {result.error.message}"
    if not result.transcript.text:
        return f"no speech recognised in {duration_text(result.transcript.duration)} of audio"
    return f"{clock(result.transcript.duration)} of audio, finished {result.seconds:.1f} s into the job"


def job_summary(results, total: int, started: float) -> str:
    """How far a job is, and what went wrong with which file."""
    failed = [r for r in results if not r.ok]
    elapsed = f"{time.monotonic() - started:.0f} s"
    if total == 1 and failed:
        return _failure_markdown(failed[0])
    head = f"{len(results) - len(failed)} of {total} file(s) transcribed ({elapsed})."
    if len(results) < total:
        head = f"Working: {len(results)} of {total} file(s) done ({elapsed})..."
    return head + "".join(f"\n\n**{r.source.name}**: {_failure_markdown(r)}" for r in failed)


UNSAVED = "\n\n**Not saved:** the transcript is shown here but is in no file and not in History; copy it now."


def _failure_markdown(result) -> str:
    # A transcript with an error was transcribed but not saved (a full disk): the page still shows it
    return error_markdown(result.error) + (UNSAVED if result.transcript is not None else "")


PROGRESS_BAR_CELLS = 20


QUEUED_NAMES_SHOWN = 5


def _names(names: list[str]) -> str:
    """The first few file names, and how many more: 200 queued files must not push the page down."""
    shown = ", ".join(markdown_escaped(name) for name in names[:QUEUED_NAMES_SHOWN])
    return shown + (f" and {len(names) - QUEUED_NAMES_SHOWN} more" if len(names) > QUEUED_NAMES_SHOWN else "")


def progress_markdown(report: JobReport, queued_after: list[str] = ()) -> str:
    """A running or queued job as the page's one progress area shows it, and what is queued after it."""
    after = (f"\n\n**Queued next:** {_names(queued_after)} (starts when this job ends)") if queued_after else ""
    if report.cancelling:
        return ("**Cancelling after the current step...** A model pass already running cannot be interrupted: it "
                "finishes first (seconds on a GPU). Finished files stay saved." + after)
    if report.state is JobState.QUEUED:
        return f"**Waiting** for {report.ahead} job(s) ahead of this one to finish..." + after
    filled = round(report.fraction * PROGRESS_BAR_CELLS)
    bar = "\u25b0" * filled + "\u25b1" * (PROGRESS_BAR_CELLS - filled)
    timing = f"{duration_text(report.elapsed)} elapsed"
    if report.remaining is not None:
        timing += f", about {duration_text(report.remaining)} left"
    # the bar and the time on one line, and what is queued next before the detail, so both fit the first screen
    return f"**Working** {bar} {report.fraction:.0%} · {timing}{after}\n\n{report.note}"
