"""Cancel reaches decoding and voice detection: a long file stops within 2 s, with nothing saved.

The progress callback raises :class:`Cancelled` once a flag is set, as the page's Cancel does.
The flag is set half a second into the step under test, and the test checks from that step's
own progress that the rest of it would have taken well over 2 s: so a step that does not hear
Cancel fails here instead of passing because the machine is fast.
"""

import re
import threading
import time

import numpy as np
import pytest

from tests.conftest import loaded
from tests.media import tone, write_audio
from transcribe_studio.errors import Cancelled
from transcribe_studio.models import PARAKEET
from transcribe_studio.transcription import batch

LIMIT_S = 2.0  # from Cancel to the job's end
REST_AT_LEAST_S = 2.5  # what the step under test would still have taken, uncancelled


@pytest.fixture(scope="session")
def two_hour_mp3(tmp_path_factory):
    """A 2-hour 44.1 kHz stereo MP3 (115 MB; ~10 s to decode on two cores), made in ~2 s:
    one minute encoded once, its frames repeated (no Xing header, so no declared length to contradict)."""
    folder = tmp_path_factory.mktemp("long_mp3")
    minute = write_audio(folder / "minute.mp3", tone(60.0, rate=44100, channels=2), 44100,
                         options={"write_xing": "0"}).read_bytes()
    path = folder / "two-hours.mp3"
    with open(path, "wb") as f:
        for _ in range(120):
            f.write(minute)
    return path


@pytest.fixture(scope="session")
def twenty_minute_wav(tmp_path_factory):
    """20 minutes of a noisy tone at 16 kHz: decodes in a moment, voice detection takes ~6 s."""
    import soundfile

    rng = np.random.default_rng(0)
    audio = tone(20 * 60.0, rate=16000, freq=300.0) + 0.02 * rng.standard_normal(20 * 60 * 16000).astype(np.float32)
    path = tmp_path_factory.mktemp("long_wav") / "twenty-minutes.wav"
    soundfile.write(path, audio, 16000, subtype="PCM_16")
    return path


def cancel_during(job, step_started, remaining_s):
    """Run ``job(progress)`` on a thread; once ``step_started()`` is true, wait 0.5 s, then Cancel.

    Returns how long the job took to end after Cancel, and the notes it reported.
    ``remaining_s()`` estimates, at Cancel, how long the step would still have run.
    """
    cancel = threading.Event()
    notes, outcome = [], {}

    def progress(fraction, note):
        notes.append(note)
        if cancel.is_set():
            raise Cancelled()

    def run():
        try:
            outcome["result"] = job(progress)
        except Cancelled:
            outcome["cancelled_at"] = time.monotonic()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not step_started() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert step_started(), f"the step under test never started; last notes {notes[-3:]}, outcome {sorted(outcome)}"
    time.sleep(0.5)
    rest = remaining_s()
    cancel.set()
    cancelled = time.monotonic()
    thread.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    assert "cancelled_at" in outcome, f"the job was not cancelled ({sorted(outcome)}); last notes {notes[-3:]}"
    assert rest > REST_AT_LEAST_S, f"the step would have ended {rest:.1f} s after Cancel anyway: make the file longer"
    return outcome["cancelled_at"] - cancelled, notes


def test_cancel_during_the_decoding_of_a_two_hour_file_stops_within_2_s(shared_cache, two_hour_mp3, tmp_path,
                                                                       monkeypatch):
    loaded(shared_cache, PARAKEET)
    real_decode, decoded = batch.decode_audio, []  # (time, seconds decoded, declared seconds)

    def decode_audio(source, progress=None, **kwargs):
        def watched(done, total):
            decoded.append((time.monotonic(), done, total))
            progress(done, total)
        return real_decode(source, progress=watched, **kwargs)

    monkeypatch.setattr(batch, "decode_audio", decode_audio)

    def remaining():  # seconds of decoding left at the rate so far
        (t0, done0, _), (t1, done1, total) = decoded[0], decoded[-1]
        return (total - done1) * (t1 - t0) / max(done1 - done0, 1e-9)

    out = tmp_path / "out"
    took, notes = cancel_during(
        lambda progress: batch.transcribe_file(shared_cache, PARAKEET, two_hour_mp3, ["txt", "json"], progress,
                                               output_dir=out),
        step_started=lambda: len(decoded) >= 2, remaining_s=remaining)
    assert took < LIMIT_S
    assert notes[-1].startswith("decoding (") and decoded[-1][1] < decoded[-1][2] / 2
    assert not out.exists() or not any(out.iterdir())


def test_cancel_during_voice_detection_stops_within_2_s(shared_cache, twenty_minute_wav, tmp_path):
    loaded(shared_cache, PARAKEET)
    detecting = []  # (time, percent)

    def percent(note):
        found = re.search(r"detecting speech \((\d+)%\)", note)
        return float(found.group(1)) if found else None

    def job(progress):
        def watched(fraction, note):
            if percent(note) is not None:
                detecting.append((time.monotonic(), percent(note)))
            progress(fraction, note)
        return batch.transcribe_file(shared_cache, PARAKEET, twenty_minute_wav, ["txt"], watched,
                                     output_dir=tmp_path / "out")

    def remaining():
        (t0, p0), (t1, p1) = detecting[0], detecting[-1]
        return (100 - p1) * (t1 - t0) / max(p1 - p0, 1e-9)

    took, notes = cancel_during(job, step_started=lambda: len(detecting) >= 2, remaining_s=remaining)
    assert took < LIMIT_S
    assert "detecting speech" in notes[-1] and detecting[-1][1] < 50
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
