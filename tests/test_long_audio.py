"""Long audio through both tiny real models: windows cut at pauses, times on the original axis."""

import dataclasses

import numpy as np
import pytest

from tests.media import room_tone, speechlike, tone
from transcribe_studio.models import CANARY, PARAKEET, ModelCache
from transcribe_studio.transcription import engine

RATE = 16000


def conversation(phrases_s, pauses_s, seed=0):
    """Speech phrases separated by quiet pauses; returns the audio and the phrases' sample ranges."""
    parts, spans, pos = [], [], 0
    for i, (phrase, pause) in enumerate(zip(phrases_s, pauses_s)):
        speech = speechlike(phrase, seed=seed + i)
        spans.append((pos, pos + speech.size))
        quiet = room_tone(pause, seed=seed + i)
        parts += [speech, quiet]
        pos += speech.size + quiet.size
    return np.concatenate(parts), spans


@pytest.fixture
def cache_with(settings):
    def make(**changes):
        return ModelCache(dataclasses.replace(settings, **changes))
    return make


def check_segments(segments, duration, max_len):
    assert segments
    for seg in segments:
        assert 0 <= seg.start < seg.end <= duration + 1e-6
        assert seg.end - seg.start <= max_len + 1e-6
    assert all(a.end <= b.start for a, b in zip(segments, segments[1:])), "segments in order, no overlap"


def test_canary_gets_windows_of_at_most_40_s_cut_at_pauses(cache_with):
    rng = np.random.default_rng(1)
    audio, speech = conversation(rng.uniform(6, 14, 18), rng.uniform(0.6, 1.5, 18))
    assert len(audio) / RATE > 150  # several minutes
    notes = []
    transcript = engine.transcribe(cache_with(), CANARY, audio, lambda f, note: notes.append(note),
                                   engine.Options(word_timings=False))
    check_segments(transcript.segments, transcript.duration, 40.0)
    assert len(transcript.segments) >= 4 and all(s.text for s in transcript.segments)
    for start, end in speech:  # every phrase lies inside one window: cuts fall in pauses
        assert any(s.start <= start / RATE and end / RATE <= s.end for s in transcript.segments), (start, end)
    assert notes[-1].startswith("Canary-Qwen-2.5B: window") and "of" in notes[-1]


def test_canary_skips_a_long_silence_and_hard_cuts_unbroken_speech(cache_with):
    audio = np.concatenate([speechlike(55, seed=3), room_tone(30), speechlike(8, seed=4)])
    transcript = engine.transcribe(cache_with(), CANARY, audio, options=engine.Options(word_timings=False))
    check_segments(transcript.segments, transcript.duration, 40.0)
    silence = (55 + 3, 55 + 27)  # well inside the 30 s of room tone
    assert not any(s.start < silence[1] and silence[0] < s.end for s in transcript.segments)
    assert transcript.segments[-1].end > 60  # the speech after the silence is transcribed


def test_parakeet_long_path_keeps_timestamps_on_the_original_axis(cache_with):
    audio, speech = conversation([7, 6, 8, 5], [1.0, 1.2, 0.8, 1.0], seed=7)
    notes = []
    cache = cache_with(parakeet_pass_seconds=10.0)
    seen = []
    transcript = engine.transcribe(cache, PARAKEET, audio, lambda f, note: (notes.append(note), seen.append(f)))
    passes = int(notes[-1].split(" of ")[-1])
    # voice detection comes first and moves the progress, by its share of the work; then the passes go on
    from transcribe_studio.transcription.costs import voice_share

    listening = [f for f, note in zip(seen, notes) if note.startswith("detecting speech")]
    assert listening and listening[-1] > listening[0] and max(listening) <= voice_share(cache, PARAKEET) + 1e-9
    assert min(f for f, note in zip(seen, notes) if " of " in note) >= max(listening) and seen == sorted(seen)
    assert passes >= 3, notes  # the long-audio path was taken: several passes of <= 10 s
    check_segments(transcript.segments, transcript.duration, 10.0)
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts) and starts[-1] > 20.0  # later passes shifted, not restarted at 0
    assert all(0 <= w.start <= w.end <= transcript.duration for w in transcript.words)


def test_parakeet_short_audio_takes_one_pass_with_no_voice_detection(cache_with, monkeypatch):
    from transcribe_studio.media import voice as vad

    monkeypatch.setattr(vad, "speech_spans", lambda *a, **k: pytest.fail("no VAD for short audio"))
    notes = []
    engine.transcribe(cache_with(), PARAKEET, speechlike(6), lambda f, note: notes.append(note))
    assert notes == ["Parakeet-TDT-0.6B-v2: part 1 of 1"]


def test_audio_the_detector_calls_non_speech_is_still_transcribed(cache_with):
    audio = tone(12.0, rate=RATE)  # not silent, but Silero finds no speech in a tone
    transcript = engine.transcribe(cache_with(parakeet_pass_seconds=5.0), PARAKEET, audio)
    check_segments(transcript.segments, transcript.duration, 5.0)
    assert transcript.segments[-1].end > 10.0


# --- the right audio reaches the model: the real NeMo calls, wrapped and called through

@pytest.fixture
def long_file(tmp_path):
    """A ~45 s recording of phrases and pauses, as a 44.1 kHz stereo FLAC (decoded and resampled by the app)."""
    from tests.media import write_audio

    rng = np.random.default_rng(5)
    audio, _ = conversation(rng.uniform(4, 9, 7), rng.uniform(0.6, 1.4, 7), seed=11)
    signal = np.repeat(np.interp(np.arange(int(audio.size * 44100 / RATE)) * RATE / 44100,
                                 np.arange(audio.size), audio)[:, None], 2, axis=1)
    path = tmp_path / "meeting.flac"
    write_audio(path, signal.astype(np.float32), 44100)
    return path


def planned(path, seconds):
    """What the app should do with ``path``: its decoded audio and the windows planned for it."""
    from transcribe_studio.media.decode import decode_audio
    from transcribe_studio.media.windows import plan

    audio = decode_audio(path)
    spans = plan(audio, seconds)
    assert len(spans) >= 3 and all(b - a <= seconds * RATE for a, b in spans)
    covered = np.zeros(audio.size, bool)
    for a, b in spans:
        covered[a:b] = True
    assert covered.sum() < audio.size  # silence left out: a window is not just a slice count
    return audio, spans


def test_each_parakeet_pass_gets_exactly_its_windows_samples(cache_with, long_file, tmp_path, monkeypatch):
    from tests.conftest import loaded
    from transcribe_studio.transcription import batch

    cache = cache_with(parakeet_pass_seconds=8.0)
    model = loaded(cache, PARAKEET)
    real, calls = model.transcribe, []

    def transcribe(audio, *args, **kwargs):
        calls.append([np.array(a, copy=True) for a in audio])
        return real(audio, *args, **kwargs)

    monkeypatch.setattr(model, "transcribe", transcribe)
    result = batch.transcribe_file(cache, PARAKEET, long_file, ["json"], output_dir=tmp_path / "out")
    assert result.ok, result.error
    audio, spans = planned(long_file, 8.0)
    assert len(calls) == len(spans)
    for (start, end), call in zip(spans, calls):
        assert len(call) == 1 and call[0].dtype == np.float32
        np.testing.assert_array_equal(call[0], audio[start:end])


def test_each_canary_batch_gets_its_windows_samples_padded_with_their_lengths(cache_with, long_file, tmp_path,
                                                                          monkeypatch):
    from tests.conftest import loaded
    from transcribe_studio.transcription import batch

    cache = cache_with(canary_window_seconds=8.0, batch_size=3)
    model = loaded(cache, CANARY)
    real, calls = model.generate, []

    def generate(*args, **kwargs):
        calls.append((kwargs["audios"].detach().cpu().clone(), kwargs["audio_lens"].detach().cpu().clone(),
                      len(kwargs["prompts"])))
        return real(*args, **kwargs)

    monkeypatch.setattr(model, "generate", generate)
    result = batch.transcribe_file(cache, CANARY, long_file, ["json"], output_dir=tmp_path / "out")
    assert result.ok, result.error
    audio, spans = planned(long_file, 8.0)
    batches = [spans[i:i + 3] for i in range(0, len(spans), 3)]
    assert len(calls) == len(batches) >= 2 and len(batches[0]) == 3  # several windows per call
    for windows, (audios, lens, prompts) in zip(batches, calls):
        assert prompts == len(windows) and audios.shape == (len(windows), max(b - a for a, b in windows))
        assert lens.tolist() == [b - a for a, b in windows]
        for row, (start, end) in zip(audios, windows):
            np.testing.assert_array_equal(row[:end - start].numpy(), audio[start:end])
            assert not row[end - start:].any()  # padding is silence


# --- hard cuts, speech the detector misses, short clips: what reaches the model and the times that come back

def calls_to_transcribe(model, monkeypatch) -> list[np.ndarray]:
    """The audio of each call to the real ``model.transcribe`` (called through)."""
    real, calls = model.transcribe, []

    def transcribe(audio, *args, **kwargs):
        calls.extend(np.array(a, copy=True) for a in audio)
        return real(audio, *args, **kwargs)

    monkeypatch.setattr(model, "transcribe", transcribe)
    return calls


def offset_in(audio: np.ndarray, piece: np.ndarray) -> int:
    """Where ``piece`` lies in ``audio`` (exactly, sample for sample)."""
    for start in np.flatnonzero(audio == piece[0]):
        if np.array_equal(audio[start:start + piece.size], piece):
            return int(start)
    raise AssertionError("the model got audio that is not a piece of the recording")


def test_unbroken_speech_is_cut_with_an_overlap_and_merged_into_increasing_words_with_no_gap(cache_with,
                                                                                         monkeypatch):
    from tests.conftest import loaded

    audio = speechlike(22, seed=9)  # no pause anywhere: every cut is hard
    cache = cache_with(parakeet_pass_seconds=8.0)
    calls = calls_to_transcribe(loaded(cache, PARAKEET), monkeypatch)
    transcript = engine.transcribe(cache, PARAKEET, audio)
    windows = [(offset_in(audio, c), offset_in(audio, c) + c.size) for c in calls]
    assert len(windows) >= 3 and all(b - a <= 8 * RATE for a, b in windows)
    for (_, end), (start, _) in zip(windows, windows[1:]):
        assert end - start == 2 * RATE  # each hard cut heard by both sides (a quarter of 8 s)
    words = transcript.words
    assert words and all(a.end <= b.start for a, b in zip(words, words[1:])), "times increase"
    # (A word heard twice would overlap its twin; pushed past it to keep times increasing, it would
    # be left with no length. The tiny model's words all last 80 ms or more.)
    assert all(w.end - w.start > 0.05 for w in words), "no word doubled at a cut"
    assert all(0 <= w.start <= w.end <= transcript.duration for w in words)
    starts = [0.0] + [w.start for w in words] + [transcript.duration]
    for (_, end), (start, _) in zip(windows, windows[1:]):
        middle = (start + end) / 2 / RATE
        nearest_before = max(t for t in starts if t <= middle)
        nearest_after = min(t for t in starts if t > middle)
        assert nearest_after - nearest_before < 1.0, f"a gap in the words at the cut at {middle:.1f} s"
    # Segments are runs of those words, in order, and the text is said once.
    assert " ".join(s.text for s in transcript.segments) == " ".join(w.text for w in words) == transcript.text
    assert all(a.end <= b.start for a, b in zip(transcript.segments, transcript.segments[1:]))


def whisper(seconds: float, level: float = 0.004, seed: int = 0) -> np.ndarray:
    """Syllable-shaped hiss (about -47 dBFS): breathy speech that Silero does not call speech."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    envelope = np.abs(np.sin(2 * np.pi * 2.5 * np.arange(n) / RATE)) ** 0.6
    return (level * np.diff(rng.standard_normal(n + 1)) * envelope).astype(np.float32)


def under_music(seconds: float, seed: int = 6) -> np.ndarray:
    """Speech 10 dB under a sustained chord, as in a podcast's music bed."""
    t = np.arange(int(seconds * RATE)) / RATE
    chord = sum(a * np.sin(2 * np.pi * f * t) for a, f in ((0.3, 220), (0.2, 277), (0.2, 330)))
    return (chord + 0.1 * speechlike(seconds, seed=seed)).astype(np.float32)


def test_speech_the_detector_misses_reaches_the_model_and_only_silence_is_skipped(cache_with, monkeypatch):
    from tests.conftest import loaded
    from transcribe_studio.media.voice import speech_spans

    parts = [speechlike(8, seed=1), room_tone(4, seed=1), under_music(12), room_tone(4, seed=2), whisper(10),
             room_tone(4, seed=3), speechlike(8, seed=2)]
    audio = np.concatenate(parts)
    edges = np.cumsum([0] + [p.size for p in parts]) / RATE
    music, hushed = (edges[2], edges[3]), (edges[4], edges[5])
    found = speech_spans(audio)
    for start, end in (music, hushed):  # the point of the test: the detector misses most of each
        assert sum(max(0, min(b / RATE, end) - max(a / RATE, start)) for a, b in found) < 0.5 * (end - start)
    cache = cache_with(parakeet_pass_seconds=10.0)
    calls = calls_to_transcribe(loaded(cache, PARAKEET), monkeypatch)
    transcript = engine.transcribe(cache, PARAKEET, audio)
    heard = np.zeros(audio.size, bool)
    for call in calls:
        heard[offset_in(audio, call):offset_in(audio, call) + call.size] = True
    for start, end in (music, hushed):
        assert heard[int(start * RATE):int(end * RATE)].all(), (start, end)
    # Only the room tone is left out, and the transcript says so, with why.
    skipped = transcript.to_dict()["skipped"]
    assert len(skipped) == 3 and all("no speech detected" in s["why"] for s in skipped)
    for stretch, (start, end) in zip(skipped, [(edges[1], edges[2]), (edges[3], edges[4]), (edges[5], edges[6])]):
        assert start <= stretch["start"] < stretch["end"] <= end and stretch["end"] - stretch["start"] > 3.0
        assert not heard[int(stretch["start"] * RATE):int(stretch["end"] * RATE)].any()


def test_a_clip_under_1_s_is_heard_from_its_first_sample_and_its_words_lie_inside_it(cache_with, monkeypatch):
    from tests.conftest import loaded

    clip = speechlike(0.6, seed=4)
    cache = cache_with()
    model = loaded(cache, PARAKEET)
    real, heard = model.preprocessor.forward, []

    def forward(*args, **kwargs):  # what the model itself hears, after NeMo's own padding
        signal = kwargs.get("input_signal", args[0] if args else None)
        heard.append(signal.detach().cpu().float().numpy().copy())
        return real(*args, **kwargs)

    monkeypatch.setattr(model.preprocessor, "forward", forward)
    transcript = engine.transcribe(cache, PARAKEET, clip)
    assert len(heard) == 1 and heard[0].shape[-1] >= RATE
    row = heard[0].reshape(-1)
    np.testing.assert_allclose(row[:clip.size], clip, atol=1e-6)  # not shifted: no silence before it
    assert not row[clip.size:].any()
    assert transcript.words, "the tiny model says something for any input"
    assert all(0.0 <= w.start <= w.end <= 0.6 and w.start < 0.6 for w in transcript.words)


def test_the_partial_transcript_grows_as_each_part_finishes(cache_with):
    """What the page shows while a multi-part file runs: the text so far, after every part."""
    from transcribe_studio.progress import partial_to

    audio, _ = conversation([7, 8, 6, 7], [0.8, 0.8, 0.8, 0.8])
    shown = []
    with partial_to(shown.append):
        transcript = engine.transcribe(cache_with(parakeet_pass_seconds=10.0), PARAKEET, audio)
    assert len(shown) >= 3  # one per part
    assert all(len(a) <= len(b) for a, b in zip(shown, shown[1:]))  # it only grows
    assert shown[-1].split() == " ".join(w.text for w in transcript.words).split()  # and ends as the transcript
