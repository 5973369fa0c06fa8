"""Output writers: every format parses back, subtitles follow the usual cue rules, files land safely."""

import csv
import html
import io
import json
import os
import re

import pytest

from transcribe_studio.outputs import writers
from transcribe_studio.outputs.writers import FORMATS, get_writer, write_outputs
from transcribe_studio.transcription.transcript import Segment, Transcript, Word

# --- transcripts built by hand ------------------------------------------------

LOREM = ("the quick brown fox jumps over a lazy dog while seventeen extraordinarily talkative parrots "
         "discuss it at length and I listen").split()


def parakeet_like() -> Transcript:
    """Segments with word stamps, as Parakeet gives them; words not evenly spaced."""
    words, segments, t = [], [], 0.5
    for sentence in (LOREM * 2, LOREM[:5], LOREM * 3):
        first = len(words)
        for i, text in enumerate(sentence):
            length = 0.15 if i % 3 else 0.6
            words.append(Word(round(t, 3), round(t + length, 3), text + ("." if i == len(sentence) - 1 else "")))
            t += length + (0.05 if i % 5 else 0.4)
        segments.append(Segment(words[first].start, words[-1].end, " ".join(w.text for w in words[first:])))
        t += 1.0
    return Transcript(" ".join(s.text for s in segments), segments, words, "parakeet", round(t + 2, 3))


def canary_like() -> Transcript:
    """40 s windows, no words, as Canary gives them; the last window is short."""
    texts = [" ".join(LOREM * 4), " ".join(LOREM[::-1] * 3), "and that is all"]
    segments = [Segment(40.0 * i, min(40.0 * (i + 1), 95.0), text) for i, text in enumerate(texts)]
    return Transcript(" ".join(texts), segments, model="canary", duration=95.0)


def messy() -> Transcript:
    """Overlapping, out-of-range and zero-length stamps, markup characters, a token longer than a line."""
    segments = [Segment(-1.0, 3.0, "AT&T <b> says --> hello"),
                Segment(2.0, 2.0, "https://example.com/a/very/long/path/that/is/longer/than/a/line ok"),
                Segment(9.9, 12.0, "past the end of the audio"),
                Segment(10.0, 10.0, "same"), Segment(10.0, 10.0, "instant")]
    return Transcript(" ".join(s.text for s in segments), segments, duration=10.0)


def unicode_text() -> Transcript:
    text = "café — naïve 日本語 “quotes”, commas and \"double quotes\""
    return Transcript(text, [Segment(0.0, 4.0, text)], [], "parakeet", 4.0)


def text_only(text: str, duration: float) -> Transcript:
    return Transcript(text, duration=duration)


TRANSCRIPTS = {
    "parakeet": parakeet_like,
    "canary": canary_like,
    "messy": messy,
    "unicode": unicode_text,
    "sparse_window": lambda: Transcript("Yes.", [Segment(0.0, 40.0, "Yes.")], duration=40.0),
    "text_only_short": lambda: text_only("Just a few words.", 3.0),
    "text_only_long": lambda: text_only(" ".join(LOREM * 5), 30.0),
    "three_hours": lambda: Transcript("late remark", [Segment(3 * 3600 + 125.25, 3 * 3600 + 127.5, "late remark")],
                                      duration=3 * 3600 + 130.0),
}


# --- a small SRT and VTT reader -----------------------------------------------

def time_pattern(sep: str) -> str:
    return r"(\d{2,}):([0-5]\d):([0-5]\d)" + sep + r"(\d{3})"


def _seconds(h, m, s, ms) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def _parse_blocks(blocks: list[str], sep: str, numbered: bool) -> list[tuple[float, float, list[str]]]:
    time = time_pattern(sep)
    cues = []
    for n, block in enumerate(blocks, 1):
        rows = block.split("\n")
        if numbered:
            assert rows.pop(0) == str(n)
        match = re.fullmatch(f"{time} --> {time}", rows[0])
        assert match, rows[0]
        lines = rows[1:]
        assert lines and all(line.strip() for line in lines), block
        cues.append((_seconds(*match.groups()[:4]), _seconds(*match.groups()[4:]), lines))
    return cues


def parse_srt(text: str):
    if not text:
        return []
    assert text.endswith("\n") and not text.endswith("\n\n")
    return _parse_blocks(text[:-1].split("\n\n"), ",", numbered=True)


def parse_vtt(text: str):
    assert text.startswith("WEBVTT\n")
    body = text[len("WEBVTT\n"):]
    if not body:
        return []
    assert body.startswith("\n") and body.endswith("\n") and not body.endswith("\n\n")
    cues = _parse_blocks(body[1:-1].split("\n\n"), r"\.", numbered=False)
    for _, _, lines in cues:
        assert not re.search(r"<|&(?!amp;|lt;|gt;)", "".join(lines)), lines  # markup escaped
    return [(start, end, [html.unescape(line) for line in lines]) for start, end, lines in cues]


PARSERS = {"srt": parse_srt, "vtt": parse_vtt}


def squash(text: str) -> str:
    return "".join(text.split())


def check_cues(cues, transcript: Transcript) -> None:
    prev_end = 0.0
    for start, end, lines in cues:
        assert prev_end <= start < end, (prev_end, start, end)
        assert end - start <= 7.0 + 1e-9
        if transcript.duration > 0:
            assert end <= transcript.duration + 1e-9
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines), lines
        prev_end = end
    said = squash("".join(line for _, _, lines in cues for line in lines)).replace("-->", "->")
    assert said == squash(transcript.text).replace("-->", "->")  # SRT writes a typed "-->" as "->"


GAP_S = writers.DEFAULT_OPTIONS.min_gap_ms / 1000  # between cues: 2 frames at 24 fps, in whole ms


def render(fmt: str, transcript: Transcript, metadata=None) -> str:
    return get_writer(fmt).render(transcript, metadata)


# --- subtitles ----------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["srt", "vtt"])
@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_subtitles_parse_back_and_follow_the_cue_rules(fmt, name):
    transcript = TRANSCRIPTS[name]()
    cues = PARSERS[fmt](render(fmt, transcript))
    assert cues
    check_cues(cues, transcript)


def test_srt_and_vtt_carry_the_same_cues():
    transcript = parakeet_like()
    assert parse_srt(render("srt", transcript)) == parse_vtt(render("vtt", transcript))


def test_long_segment_without_words_is_split_with_proportional_times():
    words = ["a", "tremendously", "long", "monologue"] * 15  # lengths vary, so time per word must too
    transcript = Transcript(" ".join(words), [Segment(10.0, 50.0, " ".join(words))], duration=60.0)
    cues = parse_srt(render("srt", transcript))
    assert len(cues) >= 6
    total = sum(map(len, words))
    done = 0
    for i, (start, end, lines) in enumerate(cues):
        assert start == pytest.approx(10.0 + 40.0 * done / total, abs=0.001)
        done += len(squash("".join(lines)))
        if i + 1 < len(cues):  # contiguous but for the gap: the segment's time is shared out, not lost
            assert end == pytest.approx(cues[i + 1][0] - GAP_S, abs=1e-9)
    assert cues[-1][1] == 50.0
    # Split at word boundaries: the cues' words are the segment's words, none cut.
    assert [w for _, _, lines in cues for line in lines for w in line.split()] == words


def test_segment_with_word_stamps_is_split_at_word_times():
    transcript = parakeet_like()
    cues = parse_srt(render("srt", transcript))
    assert len(cues) > len(transcript.segments)
    index = 0
    for i, (start, end, lines) in enumerate(cues):
        cue_words = " ".join(lines).split()
        first, last = transcript.words[index], transcript.words[index + len(cue_words) - 1]
        assert [w.text for w in transcript.words[index:index + len(cue_words)]] == cue_words
        assert start == first.start
        following = cues[i + 1][0] if i + 1 < len(cues) else transcript.duration
        assert end >= min(last.end, following - GAP_S - 1e-9)  # up with its last word, but for the gap after it
        assert end <= following - GAP_S + 1e-9
        index += len(cue_words)
    assert index == len(transcript.words)


def test_words_that_do_not_spell_the_segment_are_ignored():
    segment = Segment(0.0, 4.0, "one two three four")
    stray = [Word(0.0, 0.1, "something"), Word(0.1, 0.2, "else")]
    transcript = Transcript(segment.text, [segment], stray, duration=4.0)
    cues = parse_srt(render("srt", transcript))
    assert cues == [(0.0, 4.0, ["one two three four"])]


def test_short_cues_are_stretched_but_never_into_the_next_cue_or_past_the_audio():
    segments = [Segment(1.0, 1.2, "Hi."), Segment(1.5, 1.7, "there."), Segment(5.0, 5.1, "End.")]
    transcript = Transcript("Hi. there. End.", segments, duration=5.5)
    # "Hi." ends the gap (2 frames, 84 ms) before "there."; "there." lasts 5/6 s (834 ms); "End." ends with the audio.
    assert parse_srt(render("srt", transcript)) == [(1.0, 1.416, ["Hi."]), (1.5, 2.334, ["there."]),
                                                    (5.0, 5.5, ["End."])]


def test_lines_are_balanced_and_broken_between_words():
    text = "one two three four five six seven eight nine ten eleven twelve"  # 63 characters
    transcript = Transcript(text, [Segment(0.0, 5.0, text)], duration=5.0)
    [(_, _, lines)] = parse_srt(render("srt", transcript))
    assert lines == ["one two three four five six seven", "eight nine ten eleven twelve"]  # 33 + 28


def test_three_hour_transcript_formats_hours():
    transcript = TRANSCRIPTS["three_hours"]()
    srt, vtt = render("srt", transcript), render("vtt", transcript)
    assert "03:02:05,250 --> 03:02:07,500" in srt
    assert "03:02:05.250 --> 03:02:07.500" in vtt
    assert writers._timestamp(123 * 3_600_000 + 1, ",") == "123:00:00,001"


def test_text_without_segments_is_one_cue_over_the_whole_audio():
    assert parse_srt(render("srt", text_only("Just a few words.", 3.0))) == [(0.0, 3.0, ["Just a few words."])]
    long = parse_vtt(render("vtt", text_only(" ".join(LOREM * 2), 12.0)))
    assert len(long) > 1 and long[0][0] == 0.0 and long[-1][1] == 12.0


def test_empty_transcript():
    empty = Transcript("", duration=5.0)
    assert render("srt", empty) == ""
    assert render("vtt", empty) == "WEBVTT\n"
    assert render("txt", empty) == ""
    assert json.loads(render("json", empty)) == {"text": "", "model": "", "duration": 5.0, "notes": [],
                                                 "skipped": [], "segments": [], "words": [], "metadata": {}}
    assert list(csv.reader(io.StringIO(render("csv", empty)))) == [["start", "end", "text"]]


# --- txt, json, csv -----------------------------------------------------------

def test_txt_is_one_segment_per_line():
    transcript = canary_like()
    assert render("txt", transcript) == "".join(s.text + "\n" for s in transcript.segments)
    assert render("txt", text_only("  no segments  ", 2.0)) == "no segments\n"


def test_json_is_the_transcript_plus_metadata():
    transcript = parakeet_like()
    metadata = {"model": "parakeet", "revision": "abc123", "settings": {"device": "cpu"}}
    data = json.loads(render("json", transcript, metadata))
    assert data == {**transcript.to_dict(), "metadata": metadata}


def test_csv_parses_with_the_csv_module():
    transcript = Transcript("x", [Segment(0.0, 1.23456, 'Hello, "world"'), Segment(1.5, 2.0, "line\nbreak")],
                            duration=2.0)
    rows = list(csv.reader(io.StringIO(render("csv", transcript), newline="")))
    assert rows == [["start", "end", "text"], ["0.000", "1.235", 'Hello, "world"'], ["1.500", "2.000", "line\nbreak"]]


# --- lookup -------------------------------------------------------------------

def test_every_format_has_a_writer():
    transcript = parakeet_like()
    for fmt in FORMATS:
        writer = get_writer(fmt)
        assert isinstance(writer, writers.ResultWriter) and writer.extension == fmt
        if writer.binary:  # DOCX: bytes only
            assert writer.render_bytes(transcript).startswith(b"PK")
            continue
        assert writer.render_bytes(transcript) == writer.render(transcript).encode("utf-8")
        stream = io.StringIO()
        writer.write(transcript, stream)
        assert stream.getvalue() == writer.render(transcript) != ""
    assert isinstance(get_writer(".SRT"), writers.WriteSRT)


def test_unknown_format_raises_naming_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="pdf.*txt, srt, vtt, json, csv, md, docx"):
        get_writer("pdf")
    with pytest.raises(ValueError):
        write_outputs(parakeet_like(), tmp_path / "a.wav", tmp_path / "out", ["srt", "pdf"])
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")  # nothing half-written


# --- files --------------------------------------------------------------------

def test_files_are_named_after_the_input(tmp_path):
    paths = write_outputs(parakeet_like(), tmp_path / "in" / "meeting.mp4", tmp_path / "out", FORMATS)
    assert paths == [tmp_path / "out" / f"meeting.{fmt}" for fmt in FORMATS]
    assert all(p.is_file() for p in paths)


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path):
    (tmp_path / "meeting.srt").write_text("old")
    write_outputs(parakeet_like(), "meeting.mp4", tmp_path, ["srt", "srt", "SRT", "txt"])
    assert sorted(os.listdir(tmp_path)) == ["meeting.srt", "meeting.txt"]
    assert (tmp_path / "meeting.srt").read_text(encoding="utf-8") == render("srt", parakeet_like())


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    (tmp_path / "meeting.srt").write_text("old")

    def broken_replace(src, dst):
        assert os.path.dirname(src) == os.path.dirname(dst)  # temp file beside the target
        raise OSError("disk full")

    monkeypatch.setattr(writers.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_outputs(parakeet_like(), "meeting.mp4", tmp_path, ["srt"])
    assert os.listdir(tmp_path) == ["meeting.srt"]
    assert (tmp_path / "meeting.srt").read_text() == "old"


@pytest.mark.parametrize("source, stem", [
    ("../evil.wav", "evil"), ("..\\..\\evil.wav", "evil"), ("/etc/evil.wav", "evil"),
    ("..", "transcript"), ("a/..", "transcript"), ("we:ird|na*me?.mp3", "we_ird_na_me_"),
    (".hidden.wav", "hidden"), ("CON.wav", "_CON"), ("café.wav", "café"),
])
def test_outputs_stay_inside_output_dir(tmp_path, source, stem):
    out = tmp_path / "a" / "out"
    [path] = write_outputs(text_only("hi", 1.0), source, out, ["srt"])
    assert path == out / f"{stem}.srt" and path.is_file()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [path]


def test_unicode_round_trips_in_every_format(tmp_path):
    transcript = unicode_text()
    paths = write_outputs(transcript, "talk.wav", tmp_path, FORMATS, {"note": "ü"})
    text = {p.suffix[1:]: p.read_text(encoding="utf-8") for p in paths if p.suffix != ".docx"}
    assert text["txt"] == transcript.text + "\n"
    assert transcript.text in docx_text(tmp_path / "talk.docx")
    for fmt in ("srt", "vtt"):
        check_cues(PARSERS[fmt](text[fmt]), transcript)
    assert "café — naïve 日本語" in text["json"]  # ensure_ascii=False: readable, not \u escapes
    subtitles = writers.DEFAULT_OPTIONS.subtitle_metadata()  # the subtitle options used are saved beside them
    assert json.loads(text["json"]) == {**transcript.to_dict(), "metadata": {"note": "ü", "subtitles": subtitles}}
    assert list(csv.reader(io.StringIO(text["csv"], newline="")))[1][2] == transcript.text


# --- documents: Markdown and DOCX ---------------------------------------------

def docx_text(path_or_bytes) -> str:
    """Every paragraph of a DOCX, as python-docx reads it back, one per line."""
    import docx

    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    return "\n".join(p.text for p in docx.Document(source).paragraphs)


def with_speakers() -> Transcript:
    """Dana, then Speaker 2 over two segments (one turn), then Dana again; markup characters in the text."""
    segments = [Segment(1.0, 3.0, "Hello *everyone*.", "Speaker 1"), Segment(63.5, 65.0, "Thanks,", "Speaker 2"),
                Segment(65.0, 66.0, "glad to be here.", "Speaker 2"), Segment(70.0, 71.0, "Let us start.", "Speaker 1")]
    return Transcript(" ".join(s.text for s in segments), segments, model="parakeet", duration=72.0,
                      speaker_names={"Speaker 1": "Dana"})


META = {"source": "meeting.mp4", "model": "Parakeet TDT 0.6B v2", "created": "2026-11-25T13:45:12+00:00"}


def test_docx_opens_with_python_docx_and_holds_title_facts_and_text():
    import docx

    data = get_writer("docx").render_bytes(parakeet_like(), META)
    document = docx.Document(io.BytesIO(data))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "meeting.mp4" and document.paragraphs[0].style.name == "Heading 1"
    assert paragraphs[1] == "Parakeet TDT 0.6B v2 · 52.2 s · 2026-11-25"
    assert len(paragraphs) == 2 + len(parakeet_like().segments)  # one paragraph per segment
    assert paragraphs[2] == "[00:00] " + parakeet_like().segments[0].text
    assert paragraphs[3].startswith("[00:19] ") and paragraphs[4].startswith("[00:22] ")
    assert squash(" ".join(p.split("] ", 1)[1] for p in paragraphs[2:])) == squash(parakeet_like().text)


def test_docx_speaker_turns_have_bold_names():
    import docx

    document = docx.Document(io.BytesIO(get_writer("docx").render_bytes(with_speakers(), META)))
    turns = document.paragraphs[2:]
    assert [p.text for p in turns] == ["[00:01] Dana: Hello *everyone*.",
                                       "[01:03] Speaker 2: Thanks, glad to be here.",
                                       "[01:10] Dana: Let us start."]
    bold = [[run.text for run in p.runs if run.bold] for p in turns]
    assert bold == [["Dana:"], ["Speaker 2:"], ["Dana:"]]
    untimed = docx.Document(io.BytesIO(writers.WriteDOCX(writers.WriterOptions(timestamps=False))
                                       .render_bytes(with_speakers(), META)))
    assert untimed.paragraphs[2].text == "Dana: Hello *everyone*."


def test_markdown_renders_speaker_turns_with_bold_names_and_times():
    assert get_writer("md").render(with_speakers(), META) == (
        "# meeting.mp4\n\n"
        "*Parakeet TDT 0.6B v2 · 1 min 12 s · 2026-11-25*\n\n"
        "\\[00:01\\] **Dana:** Hello \\*everyone\\*.\n\n"
        "\\[01:03\\] **Speaker 2:** Thanks, glad to be here.\n\n"
        "\\[01:10\\] **Dana:** Let us start.\n")


def test_markdown_without_speakers_has_one_timed_paragraph_per_segment():
    lines = get_writer("md").render(TRANSCRIPTS["three_hours"](), {"source": "a_b.wav"}).split("\n\n")
    assert lines == ["# a\\_b.wav", "*3 h 02 min 10 s*", "\\[3:02:05\\] late remark\n"]


def test_documents_are_written_as_files_beside_the_others(tmp_path):
    paths = write_outputs(with_speakers(), "meeting.mp4", tmp_path, ["md", "docx", "txt"], META)
    assert [p.name for p in paths] == ["meeting.md", "meeting.docx", "meeting.txt"]
    assert "Dana: Let us start." in docx_text(paths[1])
    assert "**Dana:** Let us start." in paths[0].read_text(encoding="utf-8")
    assert sorted(os.listdir(tmp_path)) == ["meeting.docx", "meeting.md", "meeting.txt"]  # no temp files


def test_subtitle_line_length_and_cue_duration_are_settable():
    transcript = parakeet_like()
    default = render("srt", transcript)
    assert writers.WriteSRT(writers.WriterOptions(line_chars=42, cue_seconds=7)).render(transcript) == default
    narrow = writers.WriteSRT(writers.WriterOptions(line_chars=20, cue_seconds=3)).render(transcript)
    cues = parse_srt(narrow)
    assert max(len(line) for _, _, lines in cues for line in lines) <= 20
    assert max(len(line) for _, _, lines in parse_srt(default) for line in lines) > 20
    assert all(end - start <= 3.0 + 1e-9 for start, end, _ in cues)
    assert len(cues) > len(parse_srt(default))
    assert squash(" ".join(line for _, _, lines in cues for line in lines)) == squash(transcript.text)
    vtt = writers.WriteVTT(writers.WriterOptions(line_chars=20)).render(transcript)
    assert max(len(line) for _, _, lines in parse_vtt(vtt) for line in lines) <= 20


def test_subtitle_settings_come_from_the_environment_and_reach_write_outputs(tmp_path):
    from transcribe_studio.errors import ConfigurationError
    from transcribe_studio.settings import Settings

    settings = Settings.from_env({"STUDIO_SUBTITLE_LINE_CHARS": "24", "STUDIO_SUBTITLE_CUE_SECONDS": "2.5"}).validate()
    options = writers.WriterOptions.from_settings(settings)
    assert (options.line_chars, options.cue_seconds) == (24, 2.5)
    assert writers.WriterOptions.from_settings(Settings()) == writers.WriterOptions()  # defaults unchanged
    [path] = write_outputs(parakeet_like(), "a.wav", tmp_path, ["srt"], writer_options=options)
    cues = parse_srt(path.read_text(encoding="utf-8"))
    assert max(len(line) for _, _, lines in cues for line in lines) <= 24
    assert all(end - start <= 2.5 + 1e-9 for start, end, _ in cues)
    with pytest.raises(ConfigurationError, match="Subtitle lines must be 20 to 200"):
        Settings.from_env({"STUDIO_SUBTITLE_LINE_CHARS": "5"}).validate()


@pytest.mark.parametrize("said", ["=HYPERLINK(\"http://x.example\",\"click\")", "+1 555 0100", "-5 degrees",
                                  "@SUM(A1:A9)"])
def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_kept_as_text(said):
    transcript = Transcript(text=said, segments=[Segment(0.0, 1.0, said, "Speaker 1")],
                            speaker_names={"Speaker 1": "=cmd|' /C calc'!A0"})
    rows = list(csv.reader(io.StringIO(get_writer("csv").render(transcript, {}))))
    assert rows[1][2:] == ["'=cmd|' /C calc'!A0", "'" + said]
    plain = Transcript(text="Fine.", segments=[Segment(0.0, 1.0, "Fine.")])
    assert list(csv.reader(io.StringIO(get_writer("csv").render(plain, {}))))[1][2] == "Fine."


def test_an_arrow_typed_into_a_transcript_never_reads_as_an_srt_timing_line():
    said = "00:00:01,000 --> 00:00:09,000 surprise"  # 3 s: one cue, slow enough to read
    transcript = Transcript(text=said, segments=[Segment(0.0, 3.0, said)], duration=3.0)
    srt = get_writer("srt").render(transcript, {})
    assert srt.count("-->") == 1 and "00:00:01,000 -> 00:00:09,000 surprise" in srt
