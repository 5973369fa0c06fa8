"""Times as people read them: never "7:60.000". Every clock the app shows or writes (the Files table, History,
progress, the segments table, SRT, VTT, Markdown, DOCX) rounds before it carries into minutes and hours."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from tests.media import speechlike, write_audio
from tests.test_app import transcribe
from transcribe_studio.formatting import clock, clock_parts, duration_text, size_text
from transcribe_studio.media.decode import SAMPLE_RATE
from transcribe_studio.outputs.writers import FORMATS, get_writer
from transcribe_studio.transcription.transcript import Segment, Transcript, Word

# Just under each carry: a second, a minute, an hour, ten hours; each in steps that round up and that do not.
BOUNDARIES = [b + d for b in (1, 60, 600, 3600, 36000) for d in (-0.0006, -0.0005, -0.0004, -0.00001, 0, 0.0004)]


def clock_seconds(text: str) -> float:
    *hours, minutes, seconds = text.split(":")
    return (int(hours[0]) * 3600 if hours else 0) + int(minutes) * 60 + float(seconds)


def assert_a_valid_clock(text: str) -> None:
    assert re.fullmatch(r"(\d+:[0-5]\d|[1-5]?\d):[0-5]\d\.\d{3}", text), text


@pytest.mark.parametrize("seconds", BOUNDARIES)
def test_a_clock_carries_into_the_minute_and_the_hour(seconds):
    text = clock(seconds)
    assert_a_valid_clock(text)
    assert abs(clock_seconds(text) - seconds) <= 0.0005 + 1e-9  # the nearest millisecond


def test_the_reported_durations_read_as_a_person_expects():
    assert clock(479.9996) == "8:00.000"  # the 8:00 file that showed "7:60.000"
    assert clock(59.9995) == "1:00.000" and clock(59.9994) == "0:59.999"
    assert clock(3599.9996) == "1:00:00.000" and clock(3599.9994) == "59:59.999"
    assert clock(0) == "0:00.000" and clock(-0.2) == "0:00.000" and clock(63.25) == "1:03.250"
    assert clock(3723.25) == "1:02:03.250"


def test_every_millisecond_around_each_carry_is_a_valid_clock():
    for base in (60, 3600):
        for step in range(-2000, 2000):
            for offset in (0.0, 0.0004, 0.0005, 0.0006):
                seconds = base + step / 1000 + offset
                assert_a_valid_clock(clock(seconds))
                assert abs(clock_seconds(clock(seconds)) - seconds) <= 0.0005 + 1e-9


def test_clock_parts_splits_whole_milliseconds():
    assert clock_parts(0) == (0, 0, 0, 0)
    assert clock_parts(59_999) == (0, 0, 59, 999) and clock_parts(60_000) == (0, 1, 0, 0)
    assert clock_parts(3_599_999) == (0, 59, 59, 999) and clock_parts(3_600_000) == (1, 0, 0, 0)
    assert clock_parts(-5) == (0, 0, 0, 0)


@pytest.mark.parametrize("seconds, text", [
    (0, "0.0 s"), (42, "42.0 s"), (59.94, "59.9 s"), (59.95, "1 min 00 s"), (59.96, "1 min 00 s"),
    (60, "1 min 00 s"), (119.4, "1 min 59 s"), (119.6, "2 min 00 s"), (187, "3 min 07 s"),
    (3599.4, "59 min 59 s"), (3599.6, "1 h 00 min 00 s"), (3723, "1 h 02 min 03 s"), (-0.01, "0.0 s")])
def test_a_duration_carries_into_the_minute_and_the_hour(seconds, text):
    assert duration_text(seconds) == text


def test_every_duration_around_each_carry_is_valid():
    for base in (60, 3600):
        for tenth in range(-50, 50):
            for offset in (0.0, 0.04, 0.05, 0.06, 0.49, 0.5, 0.51):
                text = duration_text(base + tenth / 10 + offset)
                short = re.fullmatch(r"(\d+\.\d) s", text)
                assert (float(short[1]) < 60 if short else
                        re.fullmatch(r"(\d+ h [0-5]\d|[1-5]?\d) min [0-5]\d s", text)), text


@pytest.mark.parametrize("size, text", [(10, "10 bytes"), (999.6, "1.0 kB"), (12_000, "12.0 kB"),
                                        (999_960, "1.0 MB"), (470_100_000, "470.1 MB"),
                                        (999_960_000, "1.00 GB"), (2_470_000_000, "2.47 GB")])
def test_a_size_carries_into_the_next_unit(size, text):
    assert size_text(size) == text


def _transcript_at_the_boundaries() -> Transcript:
    """Segments starting and ending just under each carry, with speakers (so SRT, VTT and the documents show
    their names) and words (so the cues are timed by them)."""
    segments, words = [], []
    for i, start in enumerate(b for b in BOUNDARIES if b > 1):
        end = start + 0.9996
        segments.append(Segment(start, end, f"word{i} more{i}", speaker=f"Speaker {i % 2 + 1}"))
        words += [Word(start, start + 0.4996, f"word{i}"), Word(start + 0.4996, end, f"more{i}")]
    return Transcript(text=" ".join(s.text for s in segments), segments=segments, words=words, model="tiny",
                      duration=segments[-1].end + 59.9996)


def _rendered_text(fmt: str, transcript: Transcript) -> str:
    writer = get_writer(fmt)
    if not writer.binary:
        return writer.render(transcript, {"source": "talk.wav"})
    with zipfile.ZipFile(io.BytesIO(writer.render_bytes(transcript, {"source": "talk.wav"}))) as docx:
        return re.sub(r"<[^>]+>", "", docx.read("word/document.xml").decode())


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f not in ("txt", "json", "csv")])  # no clock in these
def test_no_export_writes_a_sixty_in_a_clock(fmt):
    text = _rendered_text(fmt, _transcript_at_the_boundaries())
    clocks = re.findall(r"\d+(?::\d+)+(?:[.,]\d+)?", text)
    assert clocks, text
    for found in clocks:
        assert all(int(part) < 60 for part in re.split(r"[:.,]", found)[1:3] if len(part) == 2), (found, fmt)


def test_a_one_minute_file_reads_1_00_in_the_files_table_and_history(serve_studio, studio_settings, shared_cache,
                                                                     tmp_path):
    """Served and called as the page calls it: the Files table and History say 1:00.000, not 0:60.000."""
    from gradio_client import Client

    samples = 60 * SAMPLE_RATE - 6  # 59.999625 s: rounds to a whole minute
    minute = write_audio(tmp_path / "minute.wav", speechlike(samples / SAMPLE_RATE, seed=4), SAMPLE_RATE)
    _, url = serve_studio(studio_settings, shared_cache)
    client = Client(url, verbose=False)
    _, segments, _, files_table, message, _ = transcribe(client, [minute])
    assert "1 of 1 file(s) transcribed" in message, message
    [(name, state, details)] = files_table["data"]
    assert (name, state) == ("minute.wav", "done") and details.startswith("1:00.000 of audio"), details
    [row] = client.predict(api_name="/history")
    assert row[2] == "minute.wav" and row[4] == "1:00.000"
    for start, end, *_ in segments["data"]:
        assert_a_valid_clock(start) and assert_a_valid_clock(end)
