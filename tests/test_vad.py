"""media/voice.py: windows planned from speech spans (a pure function), and Silero VAD on speech-like audio."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.media import room_tone, speechlike, tone, write_audio
from transcribe_studio.media.decode import decode_audio
from transcribe_studio.media.voice import speech_spans
from transcribe_studio.media.windows import plan_windows

ROOT = Path(__file__).resolve().parents[1]
SR = 16000


def s(seconds: float) -> int:
    return int(round(seconds * SR))


def spans_s(*pairs) -> list[tuple[int, int]]:
    return [(s(a), s(b)) for a, b in pairs]


# --- plan_windows: hand-made spans -----------------------------------------------

def test_no_speech_no_windows():
    assert plan_windows(s(60), []) == []
    assert plan_windows(s(60), [(s(10), s(10))]) == []  # empty spans are not speech


def test_speech_that_fits_is_one_window_from_first_to_last_word():
    spans = spans_s((1.0, 4.0), (4.5, 9.0), (10.0, 20.0))
    assert plan_windows(s(60), spans, max_seconds=40) == [(s(1.0), s(20.0))]


def test_long_silences_are_skipped():
    spans = spans_s((1.0, 3.0), (3.5, 5.0), (9.0, 12.0))  # 4 s of silence between 5 and 9
    assert plan_windows(s(60), spans, max_seconds=40, min_gap_to_skip_s=2.0) == [(s(1.0), s(5.0)), (s(9.0), s(12.0))]
    # With a longer threshold the pause stays inside the window.
    assert plan_windows(s(60), spans, max_seconds=40, min_gap_to_skip_s=5.0) == [(s(1.0), s(12.0))]


def test_cut_in_the_middle_of_the_longest_pause_before_the_limit():
    # Pauses at 25-25.3 s, 31-31.8 s (the longest), 36-36.2 s; speech continues past 40 s.
    spans = spans_s((0.0, 25.0), (25.3, 31.0), (31.8, 36.0), (36.2, 55.0))
    windows = plan_windows(s(60), spans, max_seconds=40)
    assert windows[0] == (0, s(31.4))
    assert windows[1] == (s(31.4), s(55.0))


def test_pauses_in_the_second_half_are_preferred_over_longer_early_ones():
    spans = spans_s((0.0, 5.0), (6.5, 30.0), (30.2, 50.0))  # 1.5 s pause at 5 s, 0.2 s pause at 30 s
    windows = plan_windows(s(60), spans, max_seconds=40)
    assert windows[0] == (0, s(30.1))  # not a 5.75 s window


def test_a_pause_that_straddles_the_limit_is_cut_in_its_usable_part():
    spans = spans_s((0.0, 39.0), (40.8, 50.0))  # pause 39-40.8 s, limit at 40 s
    windows = plan_windows(s(60), spans, max_seconds=40)
    assert windows == [(0, s(39.5)), (s(39.5), s(50.0))]


def test_speech_longer_than_the_limit_is_cut_hard_and_the_next_window_overlaps_it():
    windows = plan_windows(s(120), spans_s((0.0, 100.0)), max_seconds=40, overlap_s=4.0)
    assert windows == [(0, s(40.0)), (s(36.0), s(76.0)), (s(72.0), s(100.0))]
    # The overlap is at most a quarter of a window, so windows always move on.
    assert plan_windows(s(20), spans_s((0.0, 20.0)), max_seconds=8, overlap_s=4.0) == [
        (0, s(8.0)), (s(6.0), s(14.0)), (s(12.0), s(20.0))]


def test_audio_to_keep_is_covered_though_the_detector_found_no_speech_in_it():
    # Speech at 0-10 s and 50-60 s; music-covered speech (kept by level) at 20-30 s.
    spans, keep = spans_s((0.0, 10.0), (50.0, 60.0)), spans_s((20.0, 30.0))
    assert plan_windows(s(60), spans, max_seconds=40, keep=keep) == [
        (0, s(10.0)), (s(20.0), s(30.0)), (s(50.0), s(60.0))]
    # Kept audio bridging two spans: their gap is no longer silence, so nothing is skipped there,
    # and the window is cut in the detector's pause (10-20 s), never inside the kept audio alone.
    windows = plan_windows(s(60), spans_s((0.0, 10.0), (20.0, 45.0)), max_seconds=40,
                           keep=spans_s((9.0, 21.0)))
    assert windows == [(0, s(15.0)), (s(15.0), s(45.0))]
    # Before the first and after the last span too.
    assert plan_windows(s(60), spans_s((10.0, 20.0)), max_seconds=40, keep=spans_s((0.0, 5.0), (55.0, 60.0))) == [
        (0, s(5.0)), (s(10.0), s(20.0)), (s(55.0), s(60.0))]


def test_touching_spans_keep_their_meeting_point_as_a_pause():
    # Silero splits a short pause between the two padded spans: they touch, and that is where to cut.
    spans = spans_s((0.0, 30.0), (30.0, 45.0))
    assert plan_windows(s(60), spans, max_seconds=40) == [(0, s(30.0)), (s(30.0), s(45.0))]


def test_spans_are_clipped_sorted_and_merged():
    spans = [(s(20), s(25)), (-500, s(2)), (s(1), s(3)), (s(58), s(70))]
    assert plan_windows(s(60), spans, max_seconds=40) == [(0, s(3)), (s(20), s(25)), (s(58), s(60))]


def test_max_seconds_must_be_positive():
    with pytest.raises(ValueError):
        plan_windows(s(60), spans_s((0, 1)), max_seconds=0)


# --- plan_windows: properties over random span sets ------------------------------------------

def _random_spans(rng, audio_len: int) -> list[tuple[int, int]]:
    spans, pos = [], int(rng.integers(0, 300))
    while pos < audio_len:
        length = int(rng.choice([rng.integers(1, 50), rng.integers(50, 1500), rng.integers(1500, 9000)]))
        spans.append((pos, pos + length))
        pos += length + int(rng.choice([0, rng.integers(1, 30), rng.integers(30, 200), rng.integers(200, 2000)]))
    if rng.random() < 0.3:  # unsorted and overlapping input too
        spans += [(a + 5, b + 20) for a, b in spans[: len(spans) // 3]]
        rng.shuffle(spans)
    return spans


def test_windows_are_bounded_sorted_disjoint_and_cover_every_speech_sample():
    rate = 100  # samples per second: short arrays, same arithmetic
    rng = np.random.default_rng(1234)
    for case in range(400):
        audio_len = int(rng.integers(1, 20000))
        spans = _random_spans(rng, audio_len)
        max_seconds = float(rng.choice([0.05, 0.3, 1.0, 5.0, 40.0, rng.uniform(0.01, 60.0)]))
        skip_s = float(rng.choice([0.0, 0.5, 2.0, 10.0]))
        windows = plan_windows(audio_len, spans, max_seconds=max_seconds, sample_rate=rate, min_gap_to_skip_s=skip_s,
                               overlap_s=0.3)
        max_len = int(max_seconds * rate)
        overlap = min(int(0.3 * rate), max_len // 4)
        speech = np.zeros(audio_len, bool)
        for a, b in spans:
            speech[max(a, 0):min(b, audio_len)] = True
        covered = np.zeros(audio_len, bool)
        context = f"case {case}: len={audio_len} max={max_seconds} skip={skip_s}"
        for (a, b), following in zip(windows, windows[1:] + [None]):
            assert 0 <= a < b <= audio_len, context
            assert b - a <= max_len, context
            if following is not None:  # in order; overlapping only by the overlap of a hard cut
                assert a < following[0] and following[0] in (b, b - overlap) or b <= following[0], context
            covered[a:b] = True
            if b < audio_len and speech[b - 1] and speech[b] and (following is None or following[0] > b):
                raise AssertionError(f"{context}: speech cut without being continued")
        assert not (speech & ~covered).any(), f"{context}: uncovered speech"
        if not speech.any():
            assert windows == [], context
        else:  # no window starts or ends in more silence than it must
            first, last = np.flatnonzero(speech)[[0, -1]]
            assert windows[0][0] == first and windows[-1][1] == last + 1, context


def test_long_silences_never_fall_inside_a_window():
    rate = 100
    rng = np.random.default_rng(99)
    for _ in range(200):
        audio_len = int(rng.integers(100, 20000))
        spans = sorted(set(_random_spans(rng, audio_len)))
        windows = plan_windows(audio_len, spans, max_seconds=float(rng.uniform(0.2, 60)), sample_rate=rate,
                               min_gap_to_skip_s=2.0)
        speech = np.zeros(audio_len, bool)
        for a, b in spans:
            speech[max(a, 0):min(b, audio_len)] = True
        covered = np.zeros(audio_len, bool)
        for a, b in windows:
            covered[a:b] = True
        # Every run of silence of >= 2 s between speech is entirely outside the windows.
        steps = np.diff(np.concatenate([[0], speech.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(steps == 1), np.flatnonzero(steps == -1)
        for silence_start, silence_end in zip(ends[:-1], starts[1:]):
            if silence_end - silence_start >= 2 * rate:
                assert not covered[silence_start:silence_end].any()


# --- speech_spans: Silero on speech-like and non-speech audio ------------------------------

@pytest.fixture(scope="module")
def dialogue() -> tuple[np.ndarray, list[tuple[int, int]]]:
    """2 s room tone, 4 s of speech, 3 s room tone, 5 s of speech, 2 s room tone (16 kHz)."""
    parts = [room_tone(2, seed=1), speechlike(4, seed=7), room_tone(3, seed=2), speechlike(5, seed=8),
             room_tone(2, seed=3)]
    return np.concatenate(parts), spans_s((2, 6), (9, 14))


def test_speech_spans_find_the_speech_and_nothing_else(dialogue):
    audio, truth = dialogue
    spans = speech_spans(audio)
    assert spans == sorted(spans) and all(0 <= a < b <= len(audio) for a, b in spans)
    found = np.zeros(len(audio), bool)
    for a, b in spans:
        found[a:b] = True
    for a, b in truth:
        assert found[a:b].mean() > 0.95  # the speech, nearly all of it
    for a, b in spans_s((0, 1.5), (6.6, 8.4), (14.6, 16)):
        assert not found[a:b].any()  # the pauses' cores (spans keep ~0.2 s of padding)


def test_tones_noise_and_hum_are_not_speech():
    t = np.arange(5 * SR) / SR
    rng = np.random.default_rng(0)
    for signal in (tone(5.0, SR), 0.1 * rng.standard_normal(t.size),
                   0.2 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 150 * t),
                   np.zeros(t.size)):
        assert speech_spans(signal.astype(np.float32)) == []


def test_speech_spans_then_windows_skip_the_pause(dialogue):
    audio, _ = dialogue
    windows = plan_windows(len(audio), speech_spans(audio), max_seconds=40)
    assert len(windows) == 2
    assert windows[0][1] < s(7) and windows[1][0] > s(8)  # the 3 s pause is left out


def test_speech_spans_input_checks():
    assert speech_spans(np.zeros(0, np.float32)) == []
    with pytest.raises(ValueError):
        speech_spans(np.zeros((2, 1600), np.float32))
    with pytest.raises(ValueError):
        speech_spans(np.zeros(44100, np.float32), sample_rate=44100)


def test_speech_spans_is_thread_safe(dialogue):
    audio, _ = dialogue
    expected = speech_spans(audio)
    results, threads = [], [threading.Thread(target=lambda: results.append(speech_spans(audio))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


OFFLINE_PROBE = textwrap.dedent("""
    import socket
    def refuse(*args, **kwargs):
        raise OSError("network use is not allowed here")
    socket.socket.connect = socket.socket.connect_ex = refuse
    socket.create_connection = socket.getaddrinfo = refuse
    import numpy as np, torch
    torch.set_num_threads(2)
    from transcribe_studio.media import voice as vad
    from tests.media import speechlike
    spans = vad.speech_spans(np.concatenate([np.zeros(16000, np.float32), speechlike(3, seed=7)]))
    assert spans and vad._silero() is vad._silero(), spans
    assert torch.get_num_threads() == 2, torch.get_num_threads()  # silero's import sets 1; undone
    print("ok")
""")


def test_the_model_loads_from_the_wheel_without_network_and_leaves_torch_threads_alone():
    result = subprocess.run([sys.executable, "-c", OFFLINE_PROBE], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_real_synthesised_speech_through_the_decoder(tmp_path):
    """espeak-ng speech (22.05 kHz WAV) with pauses around it, decoded by media/decode.py, then Silero."""
    spoken = tmp_path / "spoken.wav"
    subprocess.run(["espeak-ng", "-w", str(spoken), "The quick brown fox jumps over the lazy dog. "
                    "Everything runs on your own machine."], check=True, timeout=60)
    voice = decode_audio(spoken)
    pause = room_tone(3.0, seed=5)
    path = write_audio(tmp_path / "interview.flac", np.concatenate([pause, voice, pause, voice, pause]), SR)
    audio = decode_audio(path)
    spans = speech_spans(audio)
    first, second = (s(3.0), s(3.0) + len(voice)), (s(6.0) + len(voice), s(6.0) + 2 * len(voice))
    found = np.zeros(len(audio), bool)
    for a, b in spans:
        found[a:b] = True
    assert found[first[0]:first[1]].mean() > 0.9 and found[second[0]:second[1]].mean() > 0.9
    assert not found[: s(2.5)].any() and not found[first[1] + s(0.5):second[0] - s(0.5)].any()
    assert len(plan_windows(len(audio), spans, max_seconds=40)) == 2
