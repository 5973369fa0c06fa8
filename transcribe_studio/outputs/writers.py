"""A :class:`Transcript` as txt, srt, vtt, json, csv, md and docx files: one writer class per format.

Modelled on openai/whisper's ``whisper/utils.py`` (``ResultWriter`` subclasses
behind ``get_writer``), but our segments can be long: a model without word times
gives one segment per window (tens of seconds) and no words. So subtitles are re-cut into readable cues, after
the usual broadcast guidelines:

* at most 2 lines of at most 42 characters, lines balanced, broken between words;
* at most 7 s per cue, at least 0.8 s where the next cue leaves room;
  (42 and 7 are :class:`WriterOptions`' defaults, settable as ``subtitle_line_chars`` and
  ``subtitle_cue_seconds`` in settings.py: narrow screens want shorter lines, fast speech longer cues);
* timed by the word timestamps when the segment's words are known and spell its
  text, else by sharing the segment's time out in proportion to
  character counts;
* times in whole milliseconds, monotonic, never overlapping (a cue starts no
  earlier than the previous one ends), end > start, inside [0, duration].

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
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, TextIO

from ..files import atomic_write_bytes, atomic_write_text, make_dirs
from ..formatting import clock_parts, duration_text
from ..transcription.language import name_of
from ..transcription.transcript import Segment, Transcript, Word

FORMATS = ("txt", "srt", "vtt", "json", "csv", "md", "docx")
# What the page and the CLI write unless told otherwise.
DEFAULT_FORMATS = ("txt", "srt", "vtt", "json")
MAX_LINE_CHARS = 42  # the default; WriterOptions.line_chars sets it per call
MAX_CUE_MS = 7000  # the default; WriterOptions.cue_seconds sets it per call
MIN_CUE_MS = 800  # Netflix's minimum is 5/6 s: shorter cues are hard to read.
# Word and segment stamps are rounded separately, so allow a little slack.
WORD_SLACK_S = 0.05




@dataclass(frozen=True)
class WriterOptions:
    """How the writers lay a transcript out: subtitle line length and cue duration, document times."""
    line_chars: int = MAX_LINE_CHARS
    cue_seconds: float = MAX_CUE_MS / 1000
    timestamps: bool = True  # Markdown and DOCX open each paragraph with its [mm:ss] time

    @classmethod
    def from_settings(cls, settings) -> "WriterOptions":
        """The options a :class:`~transcribe_studio.settings.Settings` chose."""
        return cls(line_chars=settings.subtitle_line_chars, cue_seconds=settings.subtitle_cue_seconds)

    @property
    def cue_ms(self) -> int:
        return round(self.cue_seconds * 1000)


DEFAULT_OPTIONS = WriterOptions()


# --- cues ---------------------------------------------------------------------

@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    speaker: str | None = None  # the name to show ("Dana"), when speakers were labelled


def subtitle_cues(transcript: Transcript, options: WriterOptions = DEFAULT_OPTIONS) -> list[Cue]:
    """The transcript cut into readable, validly timed subtitle cues (one speaker per cue)."""
    words = sorted(transcript.words, key=lambda w: w.start)
    starts = [w.start for w in words]
    raw = []
    for segment in _segments(transcript):
        speaker = transcript.speaker_name(segment.speaker)
        # SRT puts "Dana: " before the first line, so the lines leave room for it.
        reserve = len(speaker) + 2 if speaker else 0
        raw += [(round(group[0].start * 1000), round(group[-1].end * 1000),
                 # A name too long to share a line with one word still gets its cue: the line runs long.
                 _wrap([w.text for w in group], options.line_chars, reserve) or (" ".join(w.text for w in group),),
                 speaker)
                for group in _group(_timed_words(segment, words, starts, options.line_chars), options, reserve)]
    return _fit(raw, round(transcript.duration * 1000) if transcript.duration > 0 else None, options.cue_ms)


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
    timed = [Word(w.start, w.end, w.text.strip()) for w in words[lo:hi]
             if w.end <= segment.end + WORD_SLACK_S and w.text.strip()]
    if _squash("".join(w.text for w in timed)) != _squash(segment.text):
        timed = _spread(segment.start, segment.end, segment.text.split())
    # A token longer than a line (a URL) has no word boundary to break at: cut it.
    return [piece for w in timed for piece in (
        [w] if len(w.text) <= line_chars else
        _spread(w.start, w.end, [w.text[i:i + line_chars] for i in range(0, len(w.text), line_chars)]))]


def _spread(start: float, end: float, texts: list[str]) -> list[Word]:
    """Share [start, end] out among the texts in proportion to their lengths."""
    total = sum(map(len, texts)) or 1
    share, words, done = (end - start) / total, [], 0
    for text in texts:
        words.append(Word(start + share * done, start + share * (done + len(text)), text))
        done += len(text)
    return words


def _wrap(texts: list[str], line_chars: int, reserve: int = 0) -> tuple[str, ...] | None:
    """The words as 1 line, or 2 balanced lines, of at most ``line_chars`` characters (the first ``reserve``
    shorter, for a speaker's name); None if they do not fit."""
    one = " ".join(texts)
    if len(one) + reserve <= line_chars:
        return (one,)
    splits = [(" ".join(texts[:i]), " ".join(texts[i:])) for i in range(1, len(texts))]
    fitting = [s for s in splits if max(len(s[0]) + reserve, len(s[1])) <= line_chars]
    return min(fitting, key=lambda s: max(len(s[0]) + reserve, len(s[1])), default=None)


def _group(words: list[Word], options: WriterOptions, reserve: int = 0) -> list[list[Word]]:
    """Fill cues word by word; start a new one when the next word would break a limit."""
    groups: list[list[Word]] = []
    for word in words:
        cue = groups[-1] if groups else []
        if (cue and word.end - cue[0].start <= options.cue_seconds
                and _wrap([w.text for w in cue + [word]], options.line_chars, reserve)):
            cue.append(word)
        else:
            groups.append([word])
    return groups


def _fit(raw: list[tuple[int, int, tuple[str, ...], str | None]], limit_ms: int | None,
         max_cue_ms: int = MAX_CUE_MS) -> list[Cue]:
    """Make the times valid for players: monotonic, no overlap, end > start, inside [0, limit]."""
    cues, prev_end = [], 0
    for i, (start, end, lines, speaker) in enumerate(raw):
        start = max(start, prev_end)
        # The readable minimum may stretch a cue, but never into the next cue's own time.
        next_start = raw[i + 1][0] if i + 1 < len(raw) else start + MIN_CUE_MS
        end = max(end, min(start + MIN_CUE_MS, next_start))
        end = max(min(end, start + max_cue_ms), start + 1)
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
    extension = "csv"

    def render(self, transcript: Transcript, metadata: dict | None = None) -> str:
        out = io.StringIO()
        writer = csv.writer(out)  # RFC 4180: CRLF rows, fields quoted where needed
        if transcript.has_speakers:
            writer.writerow(["start", "end", "speaker", "text"])
            writer.writerows([f"{s.start:.3f}", f"{s.end:.3f}",
                              spreadsheet_cell(transcript.speaker_name(s.speaker) or ""),
                              spreadsheet_cell(s.text.strip())] for s in _segments(transcript))
            return out.getvalue()
        writer.writerow(["start", "end", "text"])
        writer.writerows([f"{s.start:.3f}", f"{s.end:.3f}", spreadsheet_cell(s.text.strip())]
                         for s in _segments(transcript))
        return out.getvalue()


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
    format cannot hold (a control character in a Word document), fails here, before any file is written."""
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

