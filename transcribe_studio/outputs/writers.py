"""A :class:`Transcript` as txt, srt, vtt, json and csv files: one writer class per format.

Modelled on openai/whisper's ``whisper/utils.py`` (``ResultWriter`` subclasses
behind ``get_writer``), but our segments can be long: Canary gives one segment
per 40 s window and no words. So subtitles are re-cut into readable cues, after
the usual broadcast guidelines:

* at most 2 lines of at most 42 characters, lines balanced, broken between words;
* at most 7 s per cue, at least 0.8 s where the next cue leaves room;
* timed by the word timestamps when the segment's words are known and spell its
  text (Parakeet), else by sharing the segment's time out in proportion to
  character counts (Canary);
* times in whole milliseconds, monotonic, never overlapping (a cue starts no
  earlier than the previous one ends), end > start, inside [0, duration].

TXT has one segment per line (easier to read and diff than one long line); CSV
one row per segment (start, end, text; seconds with 3 decimals); JSON the whole
transcript plus the caller's metadata (model, revision, settings).

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
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, TextIO

from ..files import atomic_write_text, make_dirs
from ..transcript import Segment, Transcript, Word

FORMATS = ("txt", "srt", "vtt", "json", "csv")
# What the page and the CLI write unless told otherwise.
DEFAULT_FORMATS = ("txt", "srt", "vtt", "json")
MAX_LINE_CHARS = 42
MAX_CUE_MS = 7000
MIN_CUE_MS = 800  # Netflix's minimum is 5/6 s: shorter cues are hard to read.
# Word and segment stamps are rounded separately, so allow a little slack.
WORD_SLACK_S = 0.05


# --- cues ---------------------------------------------------------------------

@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    speaker: str | None = None  # the name to show ("Dana"), when speakers were labelled


def subtitle_cues(transcript: Transcript) -> list[Cue]:
    """The transcript cut into readable, validly timed subtitle cues (one speaker per cue)."""
    words = sorted(transcript.words, key=lambda w: w.start)
    starts = [w.start for w in words]
    raw = []
    for segment in _segments(transcript):
        speaker = transcript.speaker_name(segment.speaker)
        # SRT puts "Dana: " before the first line, so the lines leave room for it.
        reserve = len(speaker) + 2 if speaker else 0
        raw += [(round(group[0].start * 1000), round(group[-1].end * 1000), _wrap([w.text for w in group], reserve),
                 speaker)
                for group in _group(_timed_words(segment, words, starts), reserve)]
    return _fit(raw, round(transcript.duration * 1000) if transcript.duration > 0 else None)


def _segments(transcript: Transcript) -> list[Segment]:
    """The segments; a text without any becomes one segment covering the whole audio."""
    if transcript.segments or not transcript.text.strip():
        return transcript.segments
    return [Segment(0.0, transcript.duration, transcript.text)]


def _squash(text: str) -> str:
    return "".join(text.split())


def _timed_words(segment: Segment, words: list[Word], starts: list[float]) -> list[Word]:
    """The segment's words with times: its own word stamps if they spell its text, else proportional."""
    lo = bisect.bisect_left(starts, segment.start - WORD_SLACK_S)
    hi = bisect.bisect_right(starts, segment.end + WORD_SLACK_S)
    timed = [Word(w.start, w.end, w.text.strip()) for w in words[lo:hi]
             if w.end <= segment.end + WORD_SLACK_S and w.text.strip()]
    if _squash("".join(w.text for w in timed)) != _squash(segment.text):
        timed = _spread(segment.start, segment.end, segment.text.split())
    # A token longer than a line (a URL) has no word boundary to break at: cut it.
    return [piece for w in timed for piece in (
        [w] if len(w.text) <= MAX_LINE_CHARS else
        _spread(w.start, w.end, [w.text[i:i + MAX_LINE_CHARS] for i in range(0, len(w.text), MAX_LINE_CHARS)]))]


def _spread(start: float, end: float, texts: list[str]) -> list[Word]:
    """Share [start, end] out among the texts in proportion to their lengths."""
    total = sum(map(len, texts)) or 1
    share, words, done = (end - start) / total, [], 0
    for text in texts:
        words.append(Word(start + share * done, start + share * (done + len(text)), text))
        done += len(text)
    return words


def _wrap(texts: list[str], reserve: int = 0) -> tuple[str, ...] | None:
    """The words as 1 line, or 2 balanced lines, of at most 42 characters (the first ``reserve`` shorter,
    for a speaker's name); None if they do not fit."""
    one = " ".join(texts)
    if len(one) + reserve <= MAX_LINE_CHARS:
        return (one,)
    splits = [(" ".join(texts[:i]), " ".join(texts[i:])) for i in range(1, len(texts))]
    fitting = [s for s in splits if max(len(s[0]) + reserve, len(s[1])) <= MAX_LINE_CHARS]
    return min(fitting, key=lambda s: max(len(s[0]) + reserve, len(s[1])), default=None)


def _group(words: list[Word], reserve: int = 0) -> list[list[Word]]:
    """Fill cues word by word; start a new one when the next word would break a limit."""
    groups: list[list[Word]] = []
    for word in words:
        cue = groups[-1] if groups else []
        if cue and word.end - cue[0].start <= MAX_CUE_MS / 1000 and _wrap([w.text for w in cue + [word]], reserve):
            cue.append(word)
        else:
            groups.append([word])
    return groups


def _fit(raw: list[tuple[int, int, tuple[str, ...], str | None]], limit_ms: int | None) -> list[Cue]:
    """Make the times valid for players: monotonic, no overlap, end > start, inside [0, limit]."""
    cues, prev_end = [], 0
    for i, (start, end, lines, speaker) in enumerate(raw):
        start = max(start, prev_end)
        # The readable minimum may stretch a cue, but never into the next cue's own time.
        next_start = raw[i + 1][0] if i + 1 < len(raw) else start + MIN_CUE_MS
        end = max(end, min(start + MIN_CUE_MS, next_start))
        end = max(min(end, start + MAX_CUE_MS), start + 1)
        cues.append([start, end, lines, speaker])
        prev_end = end
    if limit_ms is not None:
        # Walk back from the end of the audio: each cue ends by the time the next one starts.
        ceiling = limit_ms
        for cue in reversed(cues):
            cue[1] = min(cue[1], ceiling)
            cue[0] = min(cue[0], cue[1] - 1)
            ceiling = cue[0]
    return [Cue(*cue) for cue in cues]


def _timestamp(ms: int, separator: str) -> str:
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{ms:03d}"


# --- writers ------------------------------------------------------------------

class ResultWriter:
    """One output format: ``render`` gives the file's text, ``write`` puts it on a stream."""

    extension = ""

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        raise NotImplementedError

    def write(self, transcript: Transcript, stream: TextIO, metadata: dict | None = None) -> None:
        stream.write(self.render(transcript, metadata))


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
        turns: list[tuple[str | None, list[str]]] = []
        for segment in transcript.segments:
            if turns and turns[-1][0] == segment.speaker:
                turns[-1][1].append(segment.text.strip())
            else:
                turns.append((segment.speaker, [segment.text.strip()]))
        return "".join(f"{transcript.speaker_name(speaker) or 'Unknown speaker'}: {' '.join(texts)}\n\n"
                       for speaker, texts in turns).rstrip("\n") + "\n" if turns else ""


class WriteSRT(ResultWriter):
    extension = "srt"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        return "\n".join(
            f"{n}\n{_timestamp(c.start_ms, ',')} --> {_timestamp(c.end_ms, ',')}\n" + "\n".join(self._lines(c)) + "\n"
            for n, c in enumerate(subtitle_cues(transcript), 1))

    @staticmethod
    def _lines(cue: Cue) -> tuple[str, ...]:
        """The cue's lines, the first starting with its speaker's name ("Dana: ...")."""
        if not cue.speaker:
            return cue.lines
        return (f"{cue.speaker}: {cue.lines[0]}", *cue.lines[1:])


class WriteVTT(ResultWriter):
    extension = "vtt"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        # WebVTT cue text is markup: "&" and "<" must be escaped (">" too, so "-->" never appears).
        # The speaker is a voice span, <v Dana>: the tag is markup, only the name inside is escaped.
        blocks = [f"{_timestamp(c.start_ms, '.')} --> {_timestamp(c.end_ms, '.')}\n"
                  + (f"<v {html.escape(c.speaker, quote=False)}>" if c.speaker else "")
                  + "\n".join(html.escape(line, quote=False) for line in c.lines) + "\n"
                  for c in subtitle_cues(transcript)]
        return "\n".join(["WEBVTT\n", *blocks])


class WriteJSON(ResultWriter):
    extension = "json"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        data = transcript.to_dict()
        # Speakers by the names people gave them; the labels stay recoverable through speaker_names.
        for item in data["segments"] + data["words"]:
            if "speaker" in item:
                item["speaker"] = transcript.speaker_name(item["speaker"])
        # Short fields first, so the file reads well; default=str takes Paths in metadata.
        ordered = {key: data[key] for key in ("text", "model", "duration", "notes", "skipped", "speaker_names",
                                              "segments", "words") if key in data}
        return json.dumps({**ordered, "metadata": metadata or {}}, ensure_ascii=False, indent=2, default=str) + "\n"


class WriteCSV(ResultWriter):
    extension = "csv"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        out = io.StringIO()
        writer = csv.writer(out)  # RFC 4180: CRLF rows, fields quoted where needed
        if transcript.has_speakers:
            writer.writerow(["start", "end", "speaker", "text"])
            writer.writerows([f"{s.start:.3f}", f"{s.end:.3f}", transcript.speaker_name(s.speaker) or "",
                              s.text.strip()] for s in _segments(transcript))
            return out.getvalue()
        writer.writerow(["start", "end", "text"])
        writer.writerows([f"{s.start:.3f}", f"{s.end:.3f}", s.text.strip()] for s in _segments(transcript))
        return out.getvalue()


_WRITERS = {w.extension: w for w in (WriteTXT, WriteSRT, WriteVTT, WriteJSON, WriteCSV)}


def get_writer(fmt: str) -> ResultWriter:
    """The writer for a format name ("srt", also "SRT" or ".srt")."""
    key = fmt.strip().lower().lstrip(".")
    if key not in _WRITERS:
        raise ValueError(f"unknown output format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    return _WRITERS[key]()


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


def write_outputs(transcript: Transcript, source: str | os.PathLike, output_dir: str | os.PathLike,
                  formats: Iterable[str], metadata: dict | None = None, create_folder: bool = True) -> list[Path]:
    """Write ``output_dir/<input stem>.<ext>`` for each format; return the paths written.

    ``create_folder=False``: ``output_dir`` must exist (a History entry: one removed meanwhile
    must fail that file, not come back half-filled).
    """
    # Resolve every format first, so a bad name fails before any file is written.
    writers = list({w.extension: w for w in map(get_writer, formats)}.values())
    output_dir = make_dirs(output_dir) if create_folder else Path(output_dir)
    stem = safe_stem(source)
    paths = []
    for writer in writers:
        path = output_dir / f"{stem}.{writer.extension}"
        atomic_write_text(path, writer.render(transcript, metadata))
        paths.append(path)
    return paths

