"""media/decode.py on real media files made with PyAV: every format, every named error, bounded memory."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.media import cut, dominant_frequency, tone, write_audio, write_video
from transcribe_studio import errors
from transcribe_studio.classify import classify
from transcribe_studio.media import decode as audio_module
from transcribe_studio.media.decode import SAMPLE_RATE, decode_audio

ROOT = Path(__file__).resolve().parents[1]


def assert_named_error(raised: pytest.ExceptionInfo, cls: type, kind: str, file_name: str) -> None:
    error = raised.value
    assert type(error) is cls and isinstance(error, errors.BadAudioError)
    assert error.kind == kind
    message = error.user_message()
    assert file_name in error.message and "What to do:" in message
    assert "\n" not in message and "Traceback" not in message
    assert classify(error) is error  # the UI and CLI show it as it is


# --- every format -------------------------------------------------------------

FORMATS = [  # (file name, rate, channels)
    ("tone.wav", 44100, 1),
    ("tone.flac", 48000, 2),
    ("tone.mp3", 44100, 2),
    ("tone.m4a", 44100, 1),
    ("tone.ogg", 48000, 2),   # Opus
    ("tone.mka", 48000, 1),   # FLAC in Matroska
]


@pytest.mark.parametrize("name, rate, channels", FORMATS, ids=[f[0] for f in FORMATS])
def test_every_audio_format_decodes_to_16k_mono_float32(tmp_path, name, rate, channels):
    path = write_audio(tmp_path / name, tone(3.0, rate, freq=440.0, channels=channels), rate)
    audio = decode_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / SAMPLE_RATE - 3.0) <= 0.05
    assert abs(dominant_frequency(audio) - 440.0) < 3.0
    assert 0.1 < np.max(np.abs(audio)) < 0.5


def test_the_audio_track_of_a_video(tmp_path):
    path = write_video(tmp_path / "clip.mp4", 3.0, audio=tone(3.0, 48000, freq=440.0, channels=2), rate=48000)
    audio = decode_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / SAMPLE_RATE - 3.0) <= 0.05
    assert abs(dominant_frequency(audio) - 440.0) < 3.0


def test_stereo_at_48k_is_averaged_to_mono(tmp_path):
    left, right = tone(2.0, 48000, freq=440.0, amplitude=0.4), tone(2.0, 48000, freq=1000.0, amplitude=0.4)
    audio = decode_audio(write_audio(tmp_path / "two.flac", np.stack([left, right], axis=1), 48000))
    assert len(audio) == 2 * SAMPLE_RATE
    spectrum = np.abs(np.fft.rfft(audio))
    freqs = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
    at = {f: spectrum[np.argmin(np.abs(freqs - f))] for f in (440.0, 1000.0)}
    assert at[440.0] == pytest.approx(at[1000.0], rel=0.05)  # both channels, equally
    # (L + R) / 2: each tone at half its level, and identical channels keep their level.
    assert np.max(np.abs(audio)) == pytest.approx(0.4, abs=0.03)
    same = decode_audio(write_audio(tmp_path / "same.wav", np.stack([left, left], axis=1), 48000))
    assert np.max(np.abs(same)) == pytest.approx(0.4, abs=0.01)


def test_five_point_one_is_downmixed(tmp_path):
    audio = decode_audio(write_audio(tmp_path / "surround.flac", tone(1.0, 48000, channels=6), 48000))
    assert audio.ndim == 1 and len(audio) == SAMPLE_RATE
    assert abs(dominant_frequency(audio) - 440.0) < 3.0


def test_the_existing_fixture_and_a_16k_file_keep_working(wav_file, tmp_path):
    assert abs(len(decode_audio(wav_file)) - 3 * SAMPLE_RATE) <= 1
    signal = tone(1.0, SAMPLE_RATE)
    audio = decode_audio(write_audio(tmp_path / "model-rate.wav", signal, SAMPLE_RATE), SAMPLE_RATE)
    np.testing.assert_allclose(audio, signal, atol=1e-4)  # 16 kHz mono: only s16 quantisation


def test_other_output_rates(tmp_path):
    audio = decode_audio(write_audio(tmp_path / "a.wav", tone(1.0, 44100), 44100), sample_rate=8000)
    assert len(audio) == 8000 and abs(dominant_frequency(audio, 8000) - 440.0) < 3.0


def test_progress_is_reported(tmp_path):
    seen = []
    decode_audio(write_audio(tmp_path / "a.flac", tone(65.0, 16000), 16000),
                 progress=lambda done, total: seen.append((done, total)))
    assert [round(done) for done, _ in seen] == [10, 20, 30, 40, 50, 60, 65]
    assert all(total == pytest.approx(65.0) for _, total in seen)


# --- every bad input, with its own error ---------------------------------------------

def _text_file(path: Path) -> Path:
    path.write_bytes(b"this is a text file, not audio\n" * 100)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(errors.MediaNotFoundError) as raised:
        decode_audio(tmp_path / "gone.wav")
    assert_named_error(raised, errors.MediaNotFoundError, "media_not_found", "gone.wav")


def test_empty_file(tmp_path):
    (tmp_path / "empty.m4a").write_bytes(b"")
    with pytest.raises(errors.EmptyMediaError) as raised:
        decode_audio(tmp_path / "empty.m4a")
    assert_named_error(raised, errors.EmptyMediaError, "empty_media", "empty.m4a")


@pytest.mark.parametrize("name", ["notes.mp3", "notes.txt", "data.json"])
def test_not_media(tmp_path, name):
    path = _text_file(tmp_path / name)  # .txt opens in FFmpeg's "tty" demuxer, the others fail to open
    with pytest.raises(errors.NotMediaError) as raised:
        decode_audio(path)
    assert_named_error(raised, errors.NotMediaError, "not_media", name)


def test_a_picture_is_not_media(tmp_path):
    import av

    path = tmp_path / "photo.png"
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb24"
        container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode(None))
    with pytest.raises(errors.NotMediaError) as raised:
        decode_audio(path)
    assert_named_error(raised, errors.NotMediaError, "not_media", "photo.png")


def test_video_without_audio_track(tmp_path):
    path = write_video(tmp_path / "screen recording.mp4", 2.0)
    with pytest.raises(errors.NoAudioTrackError) as raised:
        decode_audio(path)
    assert_named_error(raised, errors.NoAudioTrackError, "no_audio_track", "screen recording.mp4")


# A file cut in half: the container declares 10 s, 5 s are there. Raised by default
# (a transcript that silently stops halfway looks complete).
CUT = ["speech.wav", "speech.flac", "speech.mp3", "speech.mka"]


@pytest.mark.parametrize("name", CUT)
def test_a_file_cut_in_half_raises(tmp_path, name):
    rate = 48000 if name.endswith(".mka") else 44100
    half = cut(write_audio(tmp_path / name, tone(10.0, rate), rate), 0.5, "half")
    with pytest.raises(errors.CorruptMediaError) as raised:
        decode_audio(half)
    assert_named_error(raised, errors.CorruptMediaError, "corrupt_media", half.name)
    assert "of the 10.0 s it declares" in raised.value.message


def test_an_mp4_cut_before_its_index_is_corrupt_not_junk(tmp_path):
    half = cut(write_audio(tmp_path / "voice memo.m4a", tone(4.0, 44100), 44100), 0.5, "half")  # moov is at the end
    with pytest.raises(errors.CorruptMediaError) as raised:
        decode_audio(half)
    assert_named_error(raised, errors.CorruptMediaError, "corrupt_media", "voice memo-half.m4a")
    assert "MP4" in raised.value.message


def test_garbage_after_the_start_is_corrupt(tmp_path):
    path = write_audio(tmp_path / "song.mp3", tone(10.0, 44100), 44100)
    data = bytearray(path.read_bytes())
    tail = len(data) // 10
    data[tail:] = np.random.default_rng(0).integers(0, 256, len(data) - tail, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(errors.CorruptMediaError) as raised:
        decode_audio(path)
    assert_named_error(raised, errors.CorruptMediaError, "corrupt_media", "song.mp3")


def test_a_few_damaged_packets_are_skipped_with_a_warning(tmp_path, caplog):
    path = write_audio(tmp_path / "podcast.m4a", tone(10.0, 48000), 48000)
    data = bytearray(path.read_bytes())
    middle, span = len(data) // 2, len(data) // 50
    data[middle:middle + span] = np.random.default_rng(1).integers(0, 256, span, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="transcribe_studio.audio"):
        audio = decode_audio(path)
    assert len(audio) / SAMPLE_RATE > 9.0
    assert any("podcast.m4a" in record.getMessage() and "damaged" in record.getMessage() for record in caplog.records)


def test_a_vbr_mp3_without_a_length_header_is_not_called_truncated(tmp_path):
    """FFmpeg guesses such a file's length from its first frames' bitrate: here 3x too long."""
    import av

    rate = 44100
    t = np.arange(20 * rate) / rate
    signal = np.where(t < 5, 0.0, 0.3 * np.sin(2 * np.pi * 440 * t)
                      + 0.2 * np.random.default_rng(0).standard_normal(t.size)).astype(np.float32)
    path = tmp_path / "vbr.mp3"
    with av.open(str(path), "w", options={"write_xing": "0"}) as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        stream.codec_context.qscale = 2
        stream.codec_context.flags |= av.codec.context.Flags.qscale
        for start in range(0, len(signal), 1152):
            frame = av.AudioFrame.from_ndarray(signal[None, start:start + 1152], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with av.open(str(path)) as container:
        assert container.duration / 1e6 > 40  # the misleading estimate
    assert abs(len(decode_audio(path)) / SAMPLE_RATE - 20.0) < 0.1


def test_too_short(tmp_path):
    path = write_audio(tmp_path / "blip.wav", tone(0.05, 44100), 44100)
    with pytest.raises(errors.AudioTooShortError) as raised:
        decode_audio(path)
    assert_named_error(raised, errors.AudioTooShortError, "audio_too_short", "blip.wav")
    assert len(decode_audio(path, min_seconds=0.01)) == 800
    with pytest.raises(errors.AudioTooShortError):
        decode_audio(write_audio(tmp_path / "half-second.wav", tone(0.5, 44100), 44100), min_seconds=1.0)


def test_a_header_with_no_samples_is_too_short(tmp_path):
    import wave

    path = tmp_path / "nothing.wav"
    with wave.open(str(path), "wb") as out:  # a valid WAV header and no samples
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(44100)
    with pytest.raises(errors.AudioTooShortError) as raised:
        decode_audio(path)
    assert_named_error(raised, errors.AudioTooShortError, "audio_too_short", "nothing.wav")


def test_digital_silence(tmp_path):
    path = write_audio(tmp_path / "muted.flac", np.zeros(3 * 44100, np.float32), 44100)
    with pytest.raises(errors.SilentAudioError) as raised:
        decode_audio(path)
    assert_named_error(raised, errors.SilentAudioError, "silent_audio", "muted.flac")
    assert "every sample is zero" in raised.value.message


def test_silence_is_judged_on_the_peak(tmp_path):
    hiss = (1e-4 * np.random.default_rng(0).standard_normal(3 * 48000)).astype(np.float32)  # peaks near -70 dBFS
    with pytest.raises(errors.SilentAudioError):
        decode_audio(write_audio(tmp_path / "hiss.wav", hiss, 48000))
    quiet = tone(3.0, 48000, amplitude=0.003)  # -50 dBFS: quiet, but a real signal
    assert len(decode_audio(write_audio(tmp_path / "quiet.wav", quiet, 48000))) == 3 * SAMPLE_RATE
    with pytest.raises(errors.SilentAudioError):
        decode_audio(tmp_path / "quiet.wav", silence_dbfs=-40.0)
    # One loud second in a minute of silence is not silence (an RMS would be diluted by the pauses).
    sparse = np.zeros(60 * 16000, np.float32)
    sparse[30 * 16000:31 * 16000] = tone(1.0, 16000)
    assert len(decode_audio(write_audio(tmp_path / "sparse.flac", sparse, 16000))) == 60 * SAMPLE_RATE


def test_size_limit_is_checked_before_anything_is_opened(tmp_path, monkeypatch):
    path = write_audio(tmp_path / "lecture.wav", tone(1.0, 44100), 44100)
    size = path.stat().st_size
    import av

    def no_open(*args, **kwargs):
        raise AssertionError("opened a file over the limit")

    monkeypatch.setattr(av, "open", no_open)
    with pytest.raises(errors.MediaTooLargeError) as raised:
        decode_audio(path, max_bytes=size - 1)
    assert_named_error(raised, errors.MediaTooLargeError, "media_too_large", "lecture.wav")
    junk = _text_file(tmp_path / "huge.mp4")  # not even media: the size is what is reported
    with pytest.raises(errors.MediaTooLargeError):
        decode_audio(junk, max_bytes=10)
    monkeypatch.undo()
    assert len(decode_audio(path, max_bytes=size)) == SAMPLE_RATE


def test_an_audio_track_without_a_decoder(monkeypatch):
    from types import SimpleNamespace

    track = SimpleNamespace(codec_context=None)  # what PyAV gives when FFmpeg has no decoder for the codec
    container = SimpleNamespace(streams=SimpleNamespace(audio=[track]))
    with pytest.raises(errors.UnsupportedCodecError) as raised:
        audio_module._audio_stream(container, "old.ra")
    assert_named_error(raised, errors.UnsupportedCodecError, "unsupported_codec", "old.ra")


def test_every_audio_error_is_a_bad_audio_error_with_its_own_kind():
    classes = [errors.MediaNotFoundError, errors.EmptyMediaError, errors.MediaTooLargeError, errors.NotMediaError,
               errors.NoAudioTrackError, errors.UnsupportedCodecError, errors.CorruptMediaError,
               errors.AudioTooShortError, errors.SilentAudioError]
    assert all(issubclass(cls, errors.BadAudioError) for cls in classes)
    kinds = [cls.kind for cls in classes]
    assert len(set(kinds)) == len(kinds) and errors.BadAudioError.kind not in kinds


# --- hours-long files: memory bounded by the output ----------------------------------

MEMORY_PROBE = textwrap.dedent("""
    import json, resource, sys
    from transcribe_studio.media import decode as audio
    audio.decode_audio(sys.argv[1], min_seconds=0.0)  # warm up: codecs, resampler, numpy
    if sys.argv[3] == "unknown-length":
        audio._size_hint = lambda *args: 0.0  # as if the container declared no duration
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    result = audio.decode_audio(sys.argv[2])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    print(json.dumps({"growth": after - before, "output": result.nbytes, "samples": len(result)}))
""")


@pytest.fixture(scope="module")
def twenty_minutes(tmp_path_factory) -> tuple[Path, Path]:
    """A 20-minute 8 kHz phone-quality WAV (19 MB in, 77 MB out at 16 kHz float32) and a tiny one."""
    folder = tmp_path_factory.mktemp("long")
    small = write_audio(folder / "small.wav", tone(0.5, 8000), 8000)
    return write_audio(folder / "meeting.wav", tone(20 * 60.0, 8000), 8000), small


@pytest.mark.skipif(sys.platform == "win32", reason="the resource module is Unix-only")
@pytest.mark.parametrize("length", ["declared-length", "unknown-length"])
def test_a_20_minute_file_decodes_with_memory_close_to_the_output_size(twenty_minutes, length):
    long_file, small = twenty_minutes
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(small), str(long_file), length],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["samples"] == 20 * 60 * SAMPLE_RATE
    # One output array (77 MB) plus small change: no list of chunks, no concatenated second copy.
    assert measured["growth"] < 1.25 * measured["output"] + 16e6, measured
