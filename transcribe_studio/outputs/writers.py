"""A :class:`Transcript` as txt, srt, vtt, json, csv, md and docx files: one writer class per format.

Modelled on openai/whisper's ``whisper/utils.py`` (``ResultWriter`` subclasses
behind ``get_writer``), but our segments can be long: a model without word times
gives one segment per window (tens of seconds) and no words. So subtitles are re-cut into readable cues, after
the usual broadcast guidelines:

* at most 2 lines of at most 42 characters, lines balanced, broken between words;
* at most 7 s per cue, at least 5/6 s (Netflix's minimum) where free time allows;
* read at no more than 17 characters a second (a usual broadcast limit: Netflix's in most languages; it
  allows English adults 20), the speaker's name included, wherever a cut allows: cues are cut where
  pauses leave each the time to be read, and kept up into the pause after them. Speech faster than that
  stays in cues of the usual size, kept up as long as the next cue allows and listed by
  :func:`reading_speed_notes`: cutting it finer cannot help, since a cue's time is split with its words
  (less a gap), so one of the parts is always as fast or faster, and a word alone flashes by;
* 2 frames at 24 fps (1/12 s, Netflix's minimum) at least between cues, so a change of cue is seen;
  (each is a :class:`WriterOptions` field, settable as ``subtitle_line_chars``, ``subtitle_cue_seconds``,
  ``subtitle_max_cps``, ``subtitle_min_seconds`` and ``subtitle_min_gap`` in settings.py: narrow screens
  want shorter lines, young viewers slower cues; JSON metadata keeps the ones used, under ``"subtitles"``,
  so History lays an edited entry out the same way again);
* one speaker per cue: a cue never runs across a segment or a change of speaker;
* timed by the word timestamps when the segment's words are known and spell its
  text, else by sharing the segment's time out in proportion to
  character counts;
* times in whole milliseconds, monotonic, never overlapping (a cue starts the
  gap after the previous one ends), end > start, inside [0, duration].

TXT has one segment per line (easier to read and diff than one long line); CSV
one row per segment (start, end, text; seconds with 3 decimals); JSON the whole
transcript plus the caller's metadata (model, revision, settings).

Documents, for handing a transcript on: Markdown (``.md``) is a heading (the source
file's name), a line with the model, length and date, then one paragraph per segment,
or per speaker turn with the name in bold, each opening with its ``[mm:ss]`` time. DOCX is
the same document for Word and LibreOffice, built with python-docx; it is binary, so
writers have :meth:`ResultWriter.render_bytes` (the text writers' is their text in
UTF-8) and ``write_outputs`` writes every file as bytes. Neither is in
``DEFAULT_FORMATS``: they are for a finished transcript, and History rewrites every
format an entry has on each rename or edit, so the default stays the cheap text set.

With speakers (``--speakers``): TXT is one paragraph per speaker turn ("Dana:
..."), SRT starts each cue with the speaker's name (the lines leave room for
it), VTT uses voice spans (``<v Dana>``), CSV gains a speaker column and JSON a
``speaker`` on segments and words plus ``speaker_names``. Everywhere the name
shown is the one a person gave the speaker (``Transcript.speaker_names``).

``write_outputs`` names files after the input (``meeting.mp4`` -> ``meeting.srt``),
always inside ``output_dir``, and writes each atomically (:mod:`..files`), so a
crash or a player reading the file never sees half of one. Two inputs with the same stem
(``a/talk.wav``, ``b/talk.mp3``) map to the same files: the later one replaces
the earlier; callers batching such inputs should give each its own folder.
"""

from __future__ import annotations

import bisect
import csv
import html
import io
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, TextIO

from ..files import atomic_write_bytes, atomic_write_text, make_dirs
from ..formatting import clock_parts, duration_text
from ..transcription.doubts import lowest_confidence
from ..transcription.language import name_of
from ..transcription.transcript import Segment, Transcript, Word

FORMATS = ("txt", "srt", "vtt", "json", "csv", "md", "docx")
# What the page and the CLI write unless told otherwise.
DEFAULT_FORMATS = ("txt", "srt", "vtt", "json")
MAX_LINE_CHARS = 42  # the default; WriterOptions.line_chars sets it per call
MAX_CUE_MS = 7000  # the default; WriterOptions.cue_seconds sets it per call
# Reading speed, shortest cue and gap: the defaults of WriterOptions, after the broadcasters' guidelines.
# 17 characters a second, a usual broadcast limit (Netflix's in most languages): faster, viewers read instead of
# watching.
MAX_CHARS_PER_SECOND = 17.0
# Netflix's shortest cue, 5/6 s (20 frames at 24 fps): a shorter one is gone before the eye has reached it.
MIN_CUE_SECONDS = 5 / 6
# Two frames at 24 fps between cues: without a gap, two cues in a row read as one text that jumps.
MIN_GAP_SECONDS = 2 / 24
# Word and segment stamps are rounded separately, so allow a little slack.
WORD_SLACK_S = 0.05


def _ms_at_least(seconds: float) -> int:
    """Whole milliseconds no shorter than ``seconds`` (5/6 s is 834 ms, not 833), float noise aside."""
    return max(math.ceil(seconds * 1000 - 1e-6), 0)


MIN_CUE_MS = _ms_at_least(MIN_CUE_SECONDS)
# What a JSON's metadata["subtitles"] holds: the options that laid its entry's subtitles out.
SUBTITLE_FIELDS = ("line_chars", "cue_seconds", "max_chars_per_second", "min_cue_seconds", "min_gap_seconds")


@dataclass(frozen=True)
class WriterOptions:
    """How the writers lay a transcript out: the subtitle cue rules, and document times."""
    line_chars: int = MAX_LINE_CHARS
    cue_seconds: float = MAX_CUE_MS / 1000
    max_chars_per_second: float = MAX_CHARS_PER_SECOND  # reading speed, kept wherever a cut allows it
    min_cue_seconds: float = MIN_CUE_SECONDS  # where free time allows
    min_gap_seconds: float = MIN_GAP_SECONDS  # between one cue's end and the next one's start
    timestamps: bool = True  # Markdown and DOCX open each paragraph with its [mm:ss] time

    @classmethod
    def from_settings(cls, settings) -> "WriterOptions":
        """The options a :class:`~transcribe_studio.settings.Settings` chose."""
        return cls(line_chars=settings.subtitle_line_chars, cue_seconds=settings.subtitle_cue_seconds,
                   max_chars_per_second=settings.subtitle_max_cps, min_cue_seconds=settings.subtitle_min_seconds,
                   min_gap_seconds=settings.subtitle_min_gap)

    @classmethod
    def from_metadata(cls, metadata: dict | None, default: "WriterOptions") -> "WriterOptions":
        """The subtitle options saved in a JSON's metadata (:meth:`subtitle_metadata`), so an entry rewritten later
        keeps its own layout; each one missing or unusable (an entry saved without them, a hand-edited file)
        is ``default``'s."""
        saved = metadata.get("subtitles") if isinstance(metadata, dict) else None
        if not isinstance(saved, dict):
            return default
        return replace(default, **{name: saved[name] for name in SUBTITLE_FIELDS if _usable(name, saved.get(name))})

    def subtitle_metadata(self) -> dict:
        return {name: getattr(self, name) for name in SUBTITLE_FIELDS}

    @property
    def cue_ms(self) -> int:
        return round(self.cue_seconds * 1000)

    @property
    def min_cue_ms(self) -> int:
        return min(_ms_at_least(self.min_cue_seconds), self.cue_ms)

    @property
    def min_gap_ms(self) -> int:
        return _ms_at_least(self.min_gap_seconds)


# The ranges the settings accept (settings.py): a saved value outside them (a hand-edited JSON) is not used, so an
# entry can neither hang its rewrite on a huge search nor overflow the cue times.
SAVED_RANGES = {"line_chars": (20, 200), "cue_seconds": (1.0, 60.0), "max_chars_per_second": (5.0, 100.0),
                "min_cue_seconds": (0.0, 60.0), "min_gap_seconds": (0.0, 1.0)}


def _usable(name: str, value) -> bool:
    """A saved option in the range the settings accept (a whole number of characters for the line)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    if name == "line_chars" and not isinstance(value, int):
        return False
    low, high = SAVED_RANGES.get(name, (0.0, 0.0))
    return low <= value <= high


DEFAULT_OPTIONS = WriterOptions()


# --- cues ---------------------------------------------------------------------

@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    speaker: str | None = None  # the name to show ("Dana"), when speakers were labelled

    @property
    def shown_chars(self) -> int:
        """The characters a viewer reads: the lines, spaces included, and the "Dana: " SRT puts first."""
        return (len(self.speaker) + 2 if self.speaker else 0) + sum(map(len, self.lines))

    @property
    def chars_per_second(self) -> float:
        return self.shown_chars * 1000 / max(self.end_ms - self.start_ms, 1)


@dataclass(frozen=True)
class _Run:
    """Words one speaker says in one segment: a cue never takes words from two runs."""
    speaker: str | None  # the name shown
    words: list[Word]


def subtitle_cues(transcript: Transcript, options: WriterOptions = DEFAULT_OPTIONS) -> list[Cue]:
    """The transcript cut into readable, validly timed subtitle cues, each of one speaker.

    What holds for every cue (times in whole milliseconds):

    * at most 2 lines of ``line_chars`` (a word longer than a line is cut; a speaker's name too long to share a
      line with one word makes that line longer), showing no more than ``cue_seconds``;
    * its words are consecutive words of one segment and one speaker (a word's own speaker counts, where it has
      one), and every word is in exactly one cue, in order;
    * ``0 <= start < end``, ``end <= duration`` (when known), and each cue starts at least ``min_gap_seconds``
      after the previous one ends;
    * it lasts ``min_cue_seconds`` or more, unless it is cut short to leave the gap before the next cue (it then
      ends exactly that gap before the next one starts) or by the end of the audio (it then ends there);
    * it is read at ``max_chars_per_second`` or slower (:attr:`Cue.chars_per_second`), or it is kept up until
      there is no more time to give it: the gap before the next cue, ``cue_seconds`` or the end of the audio.
      Of all the cuts into cues, the one taken leaves the least reading time lacking, summed over its cues (then
      has the fewest cues, then the longest pauses at its cuts): every cue can be read whenever some cut allows
      it. The cues still too fast are listed by :func:`reading_speed_notes`.

    The gap gives way only where times run past the end of the audio and leave no room for it.
    """
    words = sorted(transcript.words, key=lambda w: w.start)
    starts = [w.start for w in words]
    runs = [run for segment in _segments(transcript)
            for run in _speaker_runs(transcript, segment, _timed_words(segment, words, starts, options.line_chars))]
    limit_ms = round(transcript.duration * 1000) if transcript.duration > 0 else None
    return _inside_audio(_Layout(runs, limit_ms, options).cues(), limit_ms, options.min_gap_ms)


def _segments(transcript: Transcript) -> list[Segment]:
    """The segments; a text without any becomes one segment covering the whole audio."""
    if transcript.segments or not transcript.text.strip():
        return transcript.segments
    return [Segment(0.0, transcript.duration, transcript.text)]


def _squash(text: str) -> str:
    return "".join(text.split())


def _timed_words(segment: Segment, words: list[Word], starts: list[float], line_chars: int) -> list[Word]:
    """The segment's words with times: its own word stamps if they spell its text, else proportional."""
    lo = bisect.bisect_left(starts, segment.start - WORD_SLACK_S)
    hi = bisect.bisect_right(starts, segment.end + WORD_SLACK_S)
    near = [replace(w, text=w.text.strip()) for w in words[lo:hi]
            if w.end <= segment.end + WORD_SLACK_S and w.text.strip()]
    timed = _spelling(near, _squash(segment.text))
    if timed is None:
        timed = _spread(segment.start, segment.end, segment.text.split())
    # A token longer than a line (a URL) has no word boundary to break at: cut it.
    return [piece for w in timed for piece in (
        [w] if len(w.text) <= line_chars else
        [replace(p, speaker=w.speaker) for p in
         _spread(w.start, w.end, [w.text[i:i + line_chars] for i in range(0, len(w.text), line_chars)])])]


def _spelling(near: list[Word], text: str) -> list[Word] | None:
    """The run of ``near`` that spells ``text``: all of them, or all but a word or two at either end (the slack
    lets in a neighbouring segment's word said right before or after); None if no run does."""
    for first in range(min(3, len(near) + 1)):
        for last in range(len(near), max(first, len(near) - 3), -1):
            if _squash("".join(w.text for w in near[first:last])) == text:
                return near[first:last]
    return None


def _spread(start: float, end: float, texts: list[str]) -> list[Word]:
    """Share [start, end] out among the texts in proportion to their lengths."""
    total = sum(map(len, texts)) or 1
    share, words, done = (end - start) / total, [], 0
    for text in texts:
        words.append(Word(start + share * done, start + share * (done + len(text)), text))
        done += len(text)
    return words


def _speaker_runs(transcript: Transcript, segment: Segment, words: list[Word]) -> list[_Run]:
    """The segment's words, split where the speaker changes: a word's own speaker counts, else the segment's
    (a segment edited by hand, or labelled without its words, may hold words of another speaker)."""
    runs: list[tuple[str | None, list[Word]]] = []
    for word in words:
        label = word.speaker or segment.speaker
        if runs and runs[-1][0] == label:
            runs[-1][1].append(word)
        else:
            runs.append((label, [word]))
    return [_Run(transcript.speaker_name(label), run) for label, run in runs]


def _wrap(texts: list[str], line_chars: int, reserve: int = 0) -> tuple[str, ...] | None:
    """The words as 1 line, or 2 balanced lines, of at most ``line_chars`` characters (the first ``reserve``
    shorter, for a speaker's name); None if they do not fit."""
    lengths = list(map(len, texts))
    one = sum(lengths) + len(lengths) - 1
    if one + reserve <= line_chars:
        return (" ".join(texts),)
    best, first = None, -1
    for i in range(1, len(texts)):
        first += lengths[i - 1] + 1  # the first line is texts[:i]; the second the rest, less the space between
        width = max(first + reserve, one - first - 1)
        if width <= line_chars and (best is None or width < best[0]):
            best = (width, i)
    return None if best is None else (" ".join(texts[:best[1]]), " ".join(texts[best[1]:]))


class _Layout:
    """The words cut into cues: of all the cuts the line and cue limits allow, the one that leaves the least
    reading time lacking (summed over its cues), then has the fewest cues, then the longest pauses at the cuts.

    A shortest path over the words. A cue's time depends on where it starts (later than its first word when the
    cue before could not end in time) and on where the next cue starts (the free time it may stay into), so a
    path's state is its next cue's start; a later start never leaves more time, so only states that start
    earlier or cost less are followed.
    """

    def __init__(self, runs: list[_Run], limit_ms: int | None, options: WriterOptions):
        self.runs, self.options = runs, options
        self.words = [w for run in runs for w in run.words]
        self.run_of = [k for k, run in enumerate(runs) for _ in run.words]
        self.run_end = list(itertools.accumulate(len(run.words) for run in runs))  # each run's end, by run
        self.starts = [round(w.start * 1000) for w in self.words]
        self.ends = [round(w.end * 1000) for w in self.words]
        # read once: they are asked for at every step of the search
        self.limit_ms = limit_ms if limit_ms is not None else math.inf
        self.cue_ms, self.min_cue_ms, self.gap_ms = options.cue_ms, options.min_cue_ms, options.min_gap_ms

    def cues(self) -> list[Cue]:
        n = len(self.words)
        if not n:
            return []
        # paths[i][start]: the best way to cut words[:i] with words[i]'s cue starting at ``start``:
        # (its cost, the state it came from, its last cue)
        paths: list[dict[int, tuple]] = [{} for _ in range(n + 1)]
        paths[0][max(self.starts[0], 0)] = ((0, 0, 0), None, None)
        for i in range(n):
            choices = list(self._choices(i))
            for start, (cost, _, _) in _frontier(paths[i]):
                for j, lines, shown in choices:
                    end, late = self._end(j, start, shown)
                    pause = self.starts[j] - self.ends[j - 1] if j < n else 0
                    step = (cost[0] + late, cost[1] + 1, cost[2] - pause)
                    key = max(self.starts[j], end + self.gap_ms) if j < n else 0
                    if key not in paths[j] or step < paths[j][key][0]:
                        paths[j][key] = (step, (i, start), Cue(start, end, lines, self.runs[self.run_of[i]].speaker))
        cues, state = [], (n, 0)
        while state[0]:
            _, state, cue = paths[state[0]][state[1]]
            cues.append(cue)
        return cues[::-1]

    def _choices(self, i: int):
        """(j, lines, characters shown) for each cue words[i:j] can make within the line and duration limits."""
        run = self.runs[self.run_of[i]]
        reserve = len(run.speaker) + 2 if run.speaker else 0
        for j in range(i + 1, self.run_end[self.run_of[i]] + 1):
            if j > i + 1 and self.ends[j - 1] - self.starts[i] > self.cue_ms:
                return
            lines = _wrap([w.text for w in self.words[i:j]], self.options.line_chars, reserve)
            if lines is None and j > i + 1:
                return
            # A name too long to share a line with one word still gets its cue: the line runs long.
            lines = lines or (self.words[i].text,)
            yield j, lines, reserve + sum(map(len, lines))

    def _end(self, j: int, start: int, shown: int) -> tuple[int, int]:
        """When a cue from ``start`` of words up to words[j] ends: kept up as long as reading its ``shown``
        characters takes (and at least the shortest cue's time) where free time allows; and how many
        milliseconds more reading it would take (0: it can be read)."""
        needed = math.ceil(shown * 1000 / self.options.max_chars_per_second)
        free = min(start + self.cue_ms, self.limit_ms,
                   self.starts[j] - self.gap_ms if j < len(self.words) else math.inf)
        end = max(min(max(self.ends[j - 1], start + self.min_cue_ms, start + needed), free), start + 1)
        return end, max(needed - (end - start), 0)


def _frontier(states: dict[int, tuple]) -> list[tuple[int, tuple]]:
    """The states worth following: each costs less than every state that starts earlier."""
    kept: list[tuple[int, tuple]] = []
    for start in sorted(states):
        if not kept or states[start][0] < kept[-1][1][0]:
            kept.append((start, states[start]))
    return kept


def _inside_audio(cues: list[Cue], limit_ms: int | None, gap_ms: int) -> list[Cue]:
    """The cues ending by the end of the audio. Where times run past it, the last cues are squeezed in before it,
    each ending ``gap_ms`` before the next one starts, or right where it starts when there is no room for gaps."""
    if limit_ms is None or not cues or cues[-1].end_ms <= limit_ms:
        return cues
    for gap in (gap_ms, 0):
        squeezed, ceiling = [], limit_ms
        for cue in reversed(cues):
            end = min(cue.end_ms, ceiling)
            squeezed.append(replace(cue, start_ms=min(cue.start_ms, end - 1), end_ms=end))
            ceiling = squeezed[-1].start_ms - gap
        if squeezed[-1].start_ms >= 0:
            break
    return squeezed[::-1]


def reading_speed_notes(transcript: Transcript, options: WriterOptions = DEFAULT_OPTIONS) -> list[str]:
    """One plain sentence per subtitle cue shown faster than ``options.max_chars_per_second``, in order: when it
    comes, what it says and why it is that fast. Empty when every cue can be read. A cue is only that fast when
    its words are spoken faster (or a word alone must give way to the next one) and no pause after it lets it
    stay longer."""
    limit = options.max_chars_per_second
    return [_speed_note(cue, limit) for cue in subtitle_cues(transcript, options) if _too_fast(cue, limit)]


def _too_fast(cue: Cue, chars_per_second: float) -> bool:
    return cue.shown_chars * 1000 > chars_per_second * (cue.end_ms - cue.start_ms) + 1e-6


def _speed_note(cue: Cue, limit: float) -> str:
    hours, minutes, seconds, _ = clock_parts(cue.start_ms)
    rate = next((text for text in (f"{cue.chars_per_second:.{d}f}" for d in range(3)) if float(text) > limit),
                f"{cue.chars_per_second:.3f}")
    why = ("one word cannot be split" if len(" ".join(cue.lines).split()) == 1
           else "spoken that fast, with no pause after it to show it longer")
    return f'{hours}:{minutes:02d}:{seconds:02d} "{" ".join(cue.lines)}" is shown at {rate} characters a second: {why}.'


def _timestamp(ms: int, separator: str) -> str:
    hours, minutes, seconds, ms = clock_parts(ms)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{ms:03d}"


# --- writers ------------------------------------------------------------------

class ResultWriter:
    """One output format: ``render`` gives a text file's text, ``write`` puts it on a stream;
    ``render_bytes`` gives any file's bytes (the only way to a binary format's, DOCX)."""

    extension = ""
    binary = False  # True: the file is not text; only render_bytes works

    def __init__(self, options: WriterOptions = DEFAULT_OPTIONS):
        self.options = options

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        raise NotImplementedError

    def render_bytes(self, transcript: Transcript, metadata: dict | None = None) -> bytes:
        return self.render(transcript, metadata).encode("utf-8")

    def write(self, transcript: Transcript, stream: TextIO, metadata: dict | None = None) -> None:
        stream.write(self.render(transcript, metadata))


def speaker_turns(transcript: Transcript) -> list[tuple[str | None, list[Segment]]]:
    """Consecutive segments of one speaker joined into a turn: (label, segments); empty segments left out."""
    turns: list[tuple[str | None, list[Segment]]] = []
    for segment in transcript.segments:
        if not segment.text.strip():
            continue
        if turns and turns[-1][0] == segment.speaker:
            turns[-1][1].append(segment)
        else:
            turns.append((segment.speaker, [segment]))
    return turns


def _joined(segments: list[Segment]) -> str:
    return " ".join(s.text.strip() for s in segments)


class WriteTXT(ResultWriter):
    extension = "txt"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        if transcript.has_speakers:
            return self._turns(transcript)
        lines = [s.text.strip() for s in transcript.segments]
        # One segment per line, unless the segments do not spell the text.
        if _squash(" ".join(lines)) != _squash(transcript.text):
            lines = [transcript.text.strip()]
        text = "\n".join(line for line in lines if line)
        return text + "\n" if text else ""

    @staticmethod
    def _turns(transcript: Transcript) -> str:
        """One paragraph per speaker turn ("Dana: ..."), a blank line between turns."""
        turns = speaker_turns(transcript)
        return "".join(f"{_speaker_shown(transcript, speaker)}: {_joined(segments)}\n\n"
                       for speaker, segments in turns).rstrip("\n") + "\n" if turns else ""


def _speaker_shown(transcript: Transcript, label: str | None) -> str:
    return transcript.speaker_name(label) or "Unknown speaker"


class WriteSRT(ResultWriter):
    extension = "srt"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        return "\n".join(
            f"{n}\n{_timestamp(c.start_ms, ',')} --> {_timestamp(c.end_ms, ',')}\n" + "\n".join(self._lines(c)) + "\n"
            for n, c in enumerate(subtitle_cues(transcript, self.options), 1))

    @staticmethod
    def _lines(cue: Cue) -> tuple[str, ...]:
        """The cue's lines, the first starting with its speaker's name ("Dana: ..."). A "-->" typed into a
        transcript would read as a timing line to a player, so it is written "->"."""
        lines = (f"{cue.speaker}: {cue.lines[0]}", *cue.lines[1:]) if cue.speaker else cue.lines
        return tuple(line.replace("-->", "->") for line in lines)


class WriteVTT(ResultWriter):
    extension = "vtt"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        # WebVTT cue text is markup: "&" and "<" must be escaped (">" too, so "-->" never appears).
        # The speaker is a voice span, <v Dana>: the tag is markup, only the name inside is escaped.
        blocks = [f"{_timestamp(c.start_ms, '.')} --> {_timestamp(c.end_ms, '.')}\n"
                  + (f"<v {html.escape(c.speaker, quote=False)}>" if c.speaker else "")
                  + "\n".join(html.escape(line, quote=False) for line in c.lines) + "\n"
                  for c in subtitle_cues(transcript, self.options)]
        # A header line players and editors read (YouTube's "Language:"): the cues' language, a translation's too.
        header = f"WEBVTT\nLanguage: {transcript.language}\n" if transcript.language else "WEBVTT\n"
        return "\n".join([header, *blocks])


class WriteJSON(ResultWriter):
    extension = "json"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        data = transcript.to_dict()
        # Speakers by the names people gave them; the labels stay recoverable through speaker_names.
        for item in data["segments"] + data["words"]:
            if "speaker" in item:
                item["speaker"] = transcript.speaker_name(item["speaker"])
        # Short fields first, so the file reads well; default=str takes Paths in metadata.
        ordered = {key: data[key] for key in ("text", "model", "language", "translated_from", "duration", "notes",
                                              "skipped",
                                              "speaker_names", "segments", "words") if key in data}
        return json.dumps({**ordered, "metadata": metadata or {}}, ensure_ascii=False, indent=2, default=str) + "\n"


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV injection"): a said
# "=HYPERLINK(...)" or a speaker named "@SUM(...)" would run when the CSV is opened.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(text: str) -> str:
    """Text for a CSV cell that a spreadsheet shows as text: a formula-like start gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class WriteCSV(ResultWriter):
    """One row per segment; with word confidence, a last column of the segment's lowest (a segment is as
    doubtful as its worst word: sort by it to check the doubtful ones first)."""
    extension = "csv"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        out = io.StringIO()
        writer = csv.writer(out)  # RFC 4180: CRLF rows, fields quoted where needed
        speakers = transcript.has_speakers
        lowest = _lowest_confidences(transcript)
        writer.writerow(["start", "end", *(["speaker"] if speakers else []), "text",
                         *(["lowest confidence"] if lowest else [])])
        for number, s in enumerate(_segments(transcript)):
            writer.writerow([f"{s.start:.3f}", f"{s.end:.3f}",
                             *([spreadsheet_cell(transcript.speaker_name(s.speaker) or "")] if speakers else []),
                             spreadsheet_cell(s.text.strip()),
                             *([_confidence_cell(lowest[number])] if lowest else [])])
        return out.getvalue()


def _lowest_confidences(transcript: Transcript) -> list[float | None]:
    """Each segment's lowest word confidence; [] when no word has one (the column is left out)."""
    if not any(w.confidence is not None for w in transcript.words):
        return []
    return [lowest_confidence(words) for words in transcript.words_by_segment()]


def _confidence_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


# --- documents ----------------------------------------------------------------

def _paragraph_clock(seconds: float) -> str:
    """A paragraph's time, ``[01:03]``, or ``[1:02:03]`` past an hour: the whole second it starts in."""
    hours, minutes, secs, _ = clock_parts(int(max(seconds, 0.0)) * 1000)
    return f"[{hours}:{minutes:02d}:{secs:02d}]" if hours else f"[{minutes:02d}:{secs:02d}]"


@dataclass(frozen=True)
class _Paragraph:
    start: float
    speaker: str | None  # the name shown, None without speakers
    text: str


def languages_text(transcript: Transcript) -> str:
    """The transcript's language for people, and what it was translated from: "English (translated from German)"."""
    if not transcript.language:
        return ""
    source = f" (translated from {name_of(transcript.translated_from)})" if transcript.translated_from else ""
    return name_of(transcript.language) + source


def document_parts(transcript: Transcript, metadata: dict | None) -> tuple[str, str, list[_Paragraph]]:
    """What a document shows: its title (the source file's name), a line with the model, length and date,
    and its paragraphs (one per speaker turn, else one per segment)."""
    metadata = metadata or {}
    title = str(metadata.get("source") or "Transcript")
    facts = [str(metadata.get("model") or transcript.model or ""),
             languages_text(transcript),
             duration_text(transcript.duration) if transcript.duration > 0 else "",
             str(metadata.get("created") or "")[:10]]  # the date of an ISO time
    if transcript.has_speakers:
        paragraphs = [_Paragraph(segments[0].start, _speaker_shown(transcript, speaker), _joined(segments))
                      for speaker, segments in speaker_turns(transcript)]
    else:
        paragraphs = [_Paragraph(s.start, None, s.text.strip()) for s in _segments(transcript) if s.text.strip()]
    return title, " · ".join(f for f in facts if f), paragraphs


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def markdown_escaped(text: str) -> str:
    """Text shown as typed: characters Markdown would read as markup get a backslash."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


class WriteMarkdown(ResultWriter):
    extension = "md"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        title, facts, paragraphs = document_parts(transcript, metadata)
        blocks = [f"# {markdown_escaped(title)}"] + ([f"*{markdown_escaped(facts)}*"] if facts else [])
        for p in paragraphs:
            opening = [markdown_escaped(_paragraph_clock(p.start))] if self.options.timestamps else []
            if p.speaker is not None:
                opening.append(f"**{markdown_escaped(p.speaker)}:**")
            blocks.append(" ".join(opening + [markdown_escaped(p.text)]))
        return "\n\n".join(blocks) + "\n"


class WriteDOCX(ResultWriter):
    extension = "docx"
    binary = True

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        raise TypeError("DOCX is a binary format: use render_bytes")

    def write(self, transcript: Transcript, stream: TextIO, metadata: dict | None = None) -> None:
        raise TypeError("DOCX is a binary format: use render_bytes")

    def render_bytes(self, transcript: Transcript, metadata: dict | None = None) -> bytes:
        import docx  # python-docx; imported here so the other formats never wait for it

        title, facts, paragraphs = document_parts(transcript, metadata)
        document = docx.Document()
        document.core_properties.title = title
        document.add_heading(title, level=1)
        if facts:
            document.add_paragraph(facts).runs[0].italic = True
        for p in paragraphs:
            paragraph = document.add_paragraph()
            if self.options.timestamps:
                paragraph.add_run(_paragraph_clock(p.start) + " ")
            if p.speaker is not None:
                paragraph.add_run(f"{p.speaker}:").bold = True
                paragraph.add_run(" ")
            paragraph.add_run(_xml_safe(p.text))
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot hold most control characters (python-docx raises on them): drop them."""
    return _XML_UNSAFE.sub("", text)


_WRITERS = {w.extension: w for w in (WriteTXT, WriteSRT, WriteVTT, WriteJSON, WriteCSV, WriteMarkdown, WriteDOCX)}


def get_writer(fmt: str, options: WriterOptions = DEFAULT_OPTIONS) -> ResultWriter:
    """The writer for a format name ("srt", also "SRT" or ".srt"), laying out as ``options`` say."""
    key = fmt.strip().lower().lstrip(".")
    if key not in _WRITERS:
        raise ValueError(f"unknown output format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    return _WRITERS[key](options)


# --- files --------------------------------------------------------------------

_UNSAFE_CHARS = re.compile(r'[\x00-\x1f<>:"/\\|?*]')  # not allowed in Windows file names
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10))}


def safe_stem(source: str | os.PathLike) -> str:
    """The input's name without folders or extension, usable as a file name on every OS."""
    name = re.split(r"[\\/]", str(source))[-1]  # drop folders, POSIX or Windows style, ".." included
    stem = _UNSAFE_CHARS.sub("_", Path(name).stem).strip(" .")
    stem = stem.encode()[:200].decode(errors="ignore")  # room for extension and temp suffix in 255 bytes
    if stem.split(".")[0].upper() in _WINDOWS_DEVICES:
        stem = "_" + stem
    return stem or "transcript"


def output_path(source: str | os.PathLike, output_dir: str | os.PathLike, extension: str) -> Path:
    """Where ``source``'s output in one format goes: ``output_dir/<input stem>.<extension>``."""
    return Path(output_dir) / f"{safe_stem(source)}.{extension}"


def write_outputs(transcript: Transcript, source: str | os.PathLike, output_dir: str | os.PathLike,
                  formats: Iterable[str], metadata: dict | None = None, create_folder: bool = True,
                  writer_options: WriterOptions = DEFAULT_OPTIONS) -> list[Path]:
    """Write ``output_dir/<input stem>.<ext>`` for each format; return the paths written.

    ``create_folder=False``: ``output_dir`` must exist (a History entry: one removed meanwhile
    must fail that file, not come back half-filled).
    """
    rendered = render_outputs(transcript, formats, metadata, writer_options)
    return write_rendered(rendered, source, make_dirs(output_dir) if create_folder else Path(output_dir))


def render_outputs(transcript: Transcript, formats: Iterable[str], metadata: dict | None = None,
                   writer_options: WriterOptions = DEFAULT_OPTIONS) -> list[tuple[str, str | bytes]]:
    """(extension, content) for each format, all rendered in memory: a bad format name, or a transcript one
    format cannot hold (a control character in a Word document), fails here, before any file is written.

    With ``metadata``, the subtitle options used join it (``"subtitles"``, in the JSON): what laid the cues out
    stays with them, for :meth:`WriterOptions.from_metadata` to lay them out the same way again."""
    if metadata is not None:
        metadata = {**metadata, "subtitles": writer_options.subtitle_metadata()}
    writers = list({w.extension: w for w in (get_writer(f, writer_options) for f in formats)}.values())
    return [(writer.extension, writer.render_bytes(transcript, metadata) if writer.binary
             else writer.render(transcript, metadata)) for writer in writers]


def write_rendered(rendered: list[tuple[str, str | bytes]], source: str | os.PathLike, output_dir: Path) -> list[Path]:
    """Each rendered output as ``output_dir/<input stem>.<ext>``, each file atomically; the paths written."""
    paths = []
    for extension, content in rendered:
        path = output_path(source, output_dir, extension)
        (atomic_write_bytes if isinstance(content, bytes) else atomic_write_text)(path, content)
        paths.append(path)
    return paths

