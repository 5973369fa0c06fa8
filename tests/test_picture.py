"""The picture of a recording above the transcript: its envelope, decoded once in bounded memory and kept beside the
History entry's audio copy, and the SVG drawn from it, as small for two hours as for ten seconds."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.media import tone, write_audio
from transcribe_studio.app import picture, views
from transcribe_studio.app.picture import PLAYHEAD_ID, PLAYHEAD_JS, SVG_ID, WIDTH, picture_html
from transcribe_studio.media import envelope as envelopes
from transcribe_studio.media.decode import decode_audio, decode_chunks
from transcribe_studio.media.envelope import CACHE_NAME, COLUMNS, LEVELS, Envelope, cached_envelope, envelope
from transcribe_studio.outputs.history import HistoryStore, read_transcript
from transcribe_studio.outputs.writers import write_outputs
from transcribe_studio.transcription.transcript import Segment, Skipped, Transcript

ROOT = Path(__file__).resolve().parents[1]
SVG = ""  # inline in HTML: no XML namespace
TWO_HOURS = 2 * 3600
PAGE_BUDGET = 60_000  # bytes of HTML for the picture of any recording


def loud_then_silent(path: Path, seconds: float = 10.0, rate: int = 16000) -> Path:
    """A tone at half of full scale for the first half, digital silence for the second."""
    half = tone(seconds / 2, rate, amplitude=0.5)
    return write_audio(path, np.concatenate([half, np.zeros_like(half)]), rate)


def write_long_wav(path: Path, seconds: int, rate: int = 8000) -> Path:
    """A long 8-bit mono WAV written a minute at a time (cheap on disk and in memory): a 10 s tone at half of full
    scale starting each even minute, silence otherwise."""
    minute = 60 * rate
    loud = np.full(minute, 128, dtype=np.uint8)
    loud[:10 * rate] = 128 + np.round(63.5 * np.sin(2 * np.pi * 440 * np.arange(10 * rate) / rate)).astype(np.int16)
    quiet = np.full(minute, 128, dtype=np.uint8)
    with open(path, "wb") as out:
        out.write(b"RIFF" + struct.pack("<I", 36 + seconds * rate) + b"WAVE")
        out.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate, 1, 8))
        out.write(b"data" + struct.pack("<I", seconds * rate))
        for m in range(seconds // 60):
            out.write((loud if m % 2 == 0 else quiet).tobytes())
    return path


def svg_of(page: str) -> ET.Element:
    return ET.fromstring(page)


def path_numbers(d: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]


# --- the envelope ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, seconds", [("speech.wav", 10.0), ("speech.flac", 10.0), ("short.wav", 0.4)])
def test_the_envelope_has_a_fixed_number_of_columns_and_shows_the_loud_and_the_silent_half(tmp_path, name,
                                                                                           seconds):
    shape = envelope(loud_then_silent(tmp_path / name, seconds))
    assert len(shape.peaks) == COLUMNS and shape.duration == pytest.approx(seconds, abs=0.01)
    loud, silent = shape.peaks[:COLUMNS // 2 - 2], shape.peaks[COLUMNS // 2 + 2:]
    assert abs(np.median(loud) - LEVELS / 2) <= 1, loud  # the tone's peak: half of full scale ...
    assert min(loud) >= 0.45 * LEVELS, loud  # ... in every column (a 1 ms block of a short file: nearly)
    assert not any(silent), silent


def test_the_streaming_decode_gives_what_the_whole_decode_gives(tmp_path):
    path = write_audio(tmp_path / "speech.m4a", tone(3.0, 44100, amplitude=0.3, channels=2), 44100)
    chunks = list(decode_chunks(path))
    assert max(len(c) for c in chunks) < 16000  # chunks of milliseconds, not the file
    assert np.array_equal(np.concatenate(chunks), decode_audio(path))


def test_a_two_hour_recording_streams_in_bounded_memory_and_its_picture_stays_small(tmp_path):
    """The envelope of two hours (460 MB as 16 kHz float32) is computed in a fresh process whose memory barely
    grows; the picture drawn from it, with 2,000 segments of 4 speakers and 3,000 words to check, is a few tens of
    kB and holds no samples."""
    started = time.monotonic()
    audio = write_long_wav(tmp_path / "audio.wav", TWO_HOURS)
    grows_mb, seconds = _envelope_in_fresh_process(audio)
    decoded_mb = TWO_HOURS * 16000 * 4 / 2**20
    assert grows_mb < 40, f"computing the envelope grew the process by {grows_mb:.0f} MB (decoded: {decoded_mb:.0f})"

    shape = cached_envelope(audio)  # read back from the cache the fresh process wrote: no decode here
    assert shape is not None and shape.duration == pytest.approx(TWO_HOURS, abs=0.01)
    per_minute = COLUMNS * 60 // TWO_HOURS  # 10 columns a minute: the tone fills the first 10 s of even minutes
    for minute in (0, 2, 60, 118):
        assert abs(shape.peaks[minute * per_minute] - LEVELS / 2) <= 2
        # silent to within a block of the next tone (a column's edges are placed to an eighth of its width)
        assert not any(shape.peaks[minute * per_minute + 2:(minute + 2) * per_minute - 1])

    page = picture_html(shape, shape.duration, *_busy_transcript(TWO_HOURS), {"Speaker 2": "Dana"})
    size = len(page.encode("utf-8"))
    assert size < PAGE_BUDGET, f"the picture of two hours is {size:,} bytes"
    # at most a dozen numbers a column (waveform 4, a band 3, a tick 3), never the 115 million samples
    assert len(re.findall(r"\d+", page)) < 12 * WIDTH
    print(f"\n2-hour picture: {size:,} bytes; envelope in {seconds:.1f} s, process grew {grows_mb:.1f} MB; "
          f"test {time.monotonic() - started:.1f} s")


def _envelope_in_fresh_process(audio: Path) -> tuple[float, float]:
    """(MB the peak memory of a fresh process grew by while computing and caching ``audio``'s envelope, seconds it
    took). Measured from the kernel's high-water mark of resident memory (it counts FFmpeg's buffers too), set back
    to the present once the libraries are loaded (Linux's ``clear_refs``); ``ru_maxrss`` would not do, as it keeps
    the size of the parent that started the process."""
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs to measure a peak of memory")
    script = ("import json, sys, time\n"
              "import av.audio.resampler, numpy\n"
              "from transcribe_studio.media.envelope import cached_envelope\n"
              "def kb(field):\n"
              "    return next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith(field))\n"
              "open('/proc/self/clear_refs', 'w').write('5')\n"
              "before, started = kb('VmHWM:'), time.monotonic()\n"
              "assert cached_envelope(sys.argv[1]) is not None\n"
              "print(json.dumps([kb('VmHWM:') - before, time.monotonic() - started]))\n")
    done = subprocess.run([sys.executable, "-c", script, str(audio)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    grown_kb, seconds = json.loads(done.stdout.strip().splitlines()[-1])
    return grown_kb / 1024, seconds


def _busy_transcript(duration: float):
    """(segments, uncertain word starts, skipped) of a busy meeting: 2,000 turns among 4 speakers, 3,000 words
    to check, 200 stretches of silence left out."""
    rng = np.random.default_rng(0)
    ends = np.sort(rng.uniform(0, duration, 4000)).reshape(-1, 2)
    segments = [(float(s), float(e), f"Speaker {rng.integers(1, 5)}") for s, e in ends]
    uncertain = sorted(float(t) for t in rng.uniform(0, duration, 3000))
    skipped = [(float(s), float(s) + float(rng.uniform(2, 30)), "silence: no speech detected")
               for s in np.sort(rng.uniform(0, duration - 30, 200))]
    return segments, uncertain, skipped


# --- the cache beside the History entry's audio copy -------------------------------------------------------

@pytest.fixture
def decodes(monkeypatch):
    """How many times an envelope was decoded from audio."""
    count = []
    real = envelopes.decode_chunks

    def counted(*args, **kwargs):
        count.append(args[0])
        return real(*args, **kwargs)
    monkeypatch.setattr(envelopes, "decode_chunks", counted)
    return count


def _entry_with_audio(tmp_path: Path, make_audio) -> tuple[HistoryStore, str, Path]:
    store = HistoryStore(tmp_path / "history")
    folder = store.open_entry("meeting.wav")
    write_outputs(Transcript("hello", [Segment(0.0, 1.0, "hello")], duration=10.0), "meeting.wav", folder, ["json"])
    source = make_audio(tmp_path / "meeting.wav")
    entry_id, kept = store.finish_keeping(folder, source)
    return store, entry_id, kept


def test_the_envelope_is_decoded_once_per_audio_copy_and_kept_hidden_in_the_entry(tmp_path, decodes):
    store, entry_id, audio = _entry_with_audio(tmp_path, loud_then_silent)
    first = cached_envelope(audio)
    cache = audio.parent / CACHE_NAME
    assert first is not None and cache.is_file() and len(decodes) == 1
    assert cache.stat().st_mode & 0o077 == 0  # the user's only, as every file the app writes
    written = cache.stat().st_mtime_ns
    assert cached_envelope(audio) == first and len(decodes) == 1 and cache.stat().st_mtime_ns == written
    assert len(cache.read_bytes()) < 8_000

    entry = next(e for e in store.entries() if e.id == entry_id)  # hidden: never listed, served or zipped
    assert CACHE_NAME not in {p.name for p in entry.files} and entry.audio == audio
    with zipfile.ZipFile(store.zip_entries([entry_id], audio=True)) as archive:
        assert not any(CACHE_NAME in name for name in archive.namelist())

    loud_then_silent(tmp_path / "other.wav", 4.0)  # the copy replaced: its size and time change
    os.replace(tmp_path / "other.wav", audio)
    assert cached_envelope(audio).duration == pytest.approx(4.0, abs=0.01) and len(decodes) == 2

    cache.write_text("{not json", encoding="utf-8")  # a damaged cache is computed again, not an error
    assert cached_envelope(audio).duration == pytest.approx(4.0, abs=0.01) and len(decodes) == 3


@pytest.mark.parametrize("damage", ["not media", "cut short", "missing"])
def test_an_undecodable_audio_copy_gives_no_envelope_and_is_not_decoded_again(tmp_path, decodes, caplog, damage):
    def bad_audio(path: Path) -> Path:
        if damage == "not media":
            path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)) * 8)
        else:
            loud_then_silent(path, 10.0)
            path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 3])  # the header still says 10 s
        return path
    _, _, audio = _entry_with_audio(tmp_path, bad_audio)
    if damage == "missing":
        audio.unlink()
    assert cached_envelope(audio) is None
    assert "No waveform" in caplog.text
    assert cached_envelope(audio) is None and len(decodes) == (0 if damage == "missing" else 1)


# --- the picture ---------------------------------------------------------------------------------------

def test_the_picture_draws_speakers_words_to_check_skipped_stretches_and_a_playhead():
    shape = Envelope(tuple([LEVELS // 2] * (COLUMNS // 2) + [0] * (COLUMNS // 2)), 60.0)
    segments = [(0.0, 10.0, "Speaker 1"), (10.02, 20.0, "Speaker 1"), (20.0, 30.0, "Speaker 2"), (31.0, 40.0, None)]
    page = picture_html(shape, 60.0, segments, [1.0, 1.01, 1.02, 35.0], [(45.0, 58.0, "silence: nothing heard")],
                        {"Speaker 2": "Dana & Lee"})
    svg = svg_of(page)
    assert svg.get("id") == SVG_ID and svg.get("role") == "img" and svg.get("viewBox") == f"0 0 {WIDTH} 80"
    assert svg.get("aria-label") == ("Waveform of the recording (1 min 00 s): 2 speakers, 4 words to check, "
                                     "1 stretch not transcribed")
    titled = {p.find(f"{SVG}title").text: p.get("d") for p in svg.iter(f"{SVG}path")
              if p.find(f"{SVG}title") is not None}
    # Speaker 1's two turns 20 ms apart (under a column) are one band; the unlabelled segment has none
    assert path_numbers(titled["Speaker 1"]) == [0, 40, 400]
    assert path_numbers(titled["Dana & Lee"]) == [400, 40, 200]
    assert path_numbers(titled["Not transcribed: silence: nothing heard (1 stretch, 13.0 s)"]) == [900, 40, 260]
    assert len(re.findall("v", titled["4 words to check"])) == 2  # three words in one column are one tick
    playhead = next(p for p in svg.iter(f"{SVG}path") if p.get("id") == PLAYHEAD_ID)
    assert playhead.get("data-duration") == "60.000"


def test_the_waveform_is_one_closed_path_through_each_column_mirrored_about_the_axis():
    peaks = (0, 255, 128, 64, 0, 10, 255, 3)
    svg = svg_of(picture_html(Envelope(peaks, 8.0), 8.0, [], [], []))
    d = next(p.get("d") for p in svg.iter(f"{SVG}path") if p.get("fill") == "currentColor")
    assert d.startswith("M0.5 ") and d.endswith("z")
    start, top, bottom = re.fullmatch(r"M0\.5 (-?\d+)l(.*)v\d+l(.*)z", d).groups()
    rises = path_numbers(top)[1::2]
    heights = np.cumsum([picture.MIDDLE - int(start)] + [-r for r in rises])
    assert list(heights) == [round(p / 255 * picture.REACH) for p in peaks]
    assert sum(path_numbers(top)[::2]) == len(peaks) - 1 == -sum(path_numbers(bottom)[::2])


def test_the_picture_of_no_audio_or_no_length_degrades_quietly():
    without_audio = picture_html(None, 30.0, [(0.0, 5.0, "Speaker 1")], [], [])
    assert "Speaker 1" in without_audio and 'fill="currentColor"' not in without_audio
    assert picture_html(None, 0.0, [], [], []) == ""
    assert picture_html(Envelope((0,) * COLUMNS, 0.0), 0.0, [], [], []) == ""


def test_a_click_seeks_the_player_and_the_playhead_moves_in_the_players_handler():
    page = picture_html(Envelope((1,) * COLUMNS, 90.0), 90.0, [], [], [])
    click = svg_of(page).get("onclick")
    assert "getElementById('recording-player')" in click and "event.clientX - box.left" in click
    assert "90.000" in click and "play()" in click and picture.PLAYER_ID == views.PLAYER_ID
    assert PLAYHEAD_JS.startswith("{") and PLAYHEAD_JS.endswith("}")  # its names stay inside the handler
    assert f"getElementById('{PLAYHEAD_ID}')" in PLAYHEAD_JS and "this.currentTime" in PLAYHEAD_JS


# --- what the picture needs from History ---------------------------------------------------------------------

def test_history_reads_back_the_stretches_left_out(tmp_path):
    skipped = [Skipped(0.0, 12.5, "silence: nothing heard"), Skipped(40.0, 41.0, "silence: nothing heard")]
    saved = write_outputs(Transcript("hi", [Segment(13.0, 14.0, "hi")], duration=42.0, skipped=skipped),
                          "talk.wav", tmp_path, ["json"])
    assert read_transcript(saved[0]).skipped == skipped
