"""Live captions through NeMo's own streaming pipeline (``BufferedRNNTPipeline``) around the cached tiny Parakeet:
fed a recording in a browser's microphone pieces, the captions grow in order, settled words never change, and the
text ends as NeMo's own run of the pipeline over the same file; streams do not mix; a stream that goes away is
freed in the pipeline; file jobs keep their own decoding; the command plays a file as if live."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import loaded
from tests.media import speechlike, write_audio
from transcribe_studio.commands import live as live_cli
from transcribe_studio.live import LiveStreams, to_16k
from transcribe_studio.models import PARAKEET, ModelCache
from transcribe_studio.settings import Settings
from transcribe_studio.transcription import engine

BROWSER_RATE = 48000
PIECE = BROWSER_RATE // 10  # Gradio 6.31 sends about 0.1 s at a time


@pytest.fixture(scope="module")
def cache(tiny_parakeet, tmp_path_factory):
    return ModelCache(Settings(parakeet_path=tiny_parakeet, device="cpu",
                               output_dir=tmp_path_factory.mktemp("live_outputs")))


def as_browser_sends(audio16k: np.ndarray) -> list[np.ndarray]:
    """The recording as a browser's microphone pieces: 48 kHz int16, 0.1 s each."""
    from scipy.signal import resample_poly

    loud = resample_poly(audio16k, 3, 1)
    pcm = np.clip(loud * 32767, -32768, 32767).astype(np.int16)
    return [pcm[i:i + PIECE] for i in range(0, len(pcm), PIECE)]


def test_browser_pieces_make_captions_that_grow_settle_and_end_as_nemos_own_run(cache, tmp_path):
    audio = speechlike(6.0, seed=4)
    path = write_audio(tmp_path / "talk.wav", audio, 16000)
    live = LiveStreams(cache, PARAKEET)
    stream, seen = live.open(), []
    for piece in as_browser_sends(audio):
        seen.append(live.feed(stream, to_16k(BROWSER_RATE, piece)))
    recording, final = live.close(stream)
    settled = [caption.settled for caption in seen]
    assert settled[-1] and all(later.startswith(earlier) for earlier, later in zip(settled, settled[1:]))
    assert any(caption.pending for caption in seen)  # words being decided were shown apart
    assert [c.seconds for c in seen] == sorted(c.seconds for c in seen) and seen[-1].seconds == pytest.approx(6.0)
    assert len(recording) == pytest.approx(len(audio), abs=3)  # the whole recording is kept, at 16 kHz
    assert final.text == live.run_whole(path).strip()
    assert final.text.startswith(settled[-1])


def test_two_streams_at_once_do_not_mix(cache):
    long, short = speechlike(5.0, seed=1), speechlike(2.5, seed=2)
    alone = {}
    for name, audio in (("long", long), ("short", short)):
        live = LiveStreams(cache, PARAKEET)
        stream = live.open()
        live.feed(stream, audio)
        alone[name] = live.close(stream)[1].text
    assert alone["long"] != alone["short"]
    live = LiveStreams(cache, PARAKEET)
    a, b = live.open(), live.open()
    chunk = live.options.chunk_samples
    for i in range(0, len(long), chunk):  # as two tabs send, their chunks heard together while both have one
        live.add(a, long[i:i + chunk])
        live.add(b, short[i:i + chunk]) if i < len(short) else None
        live.advance()
    # one step per chunk of the longer stream: the shorter one's chunks went in the same calls, not steps of their own
    assert len(live.step_seconds) == len(long) // chunk
    assert live.close(b)[1].text == alone["short"] and live.close(a)[1].text == alone["long"]


def test_a_stream_that_goes_away_is_freed_in_the_pipeline(cache):
    live = LiveStreams(cache, PARAKEET)
    kept, gone = live.open(), live.open()
    live.feed(kept, speechlike(1.6))
    live.feed(gone, speechlike(1.6, seed=3))
    pipeline = live._pipeline
    assert gone in pipeline._state_pool and gone in pipeline.bufferer.bufferers
    live.drop(gone)
    assert gone not in pipeline._state_pool and gone not in pipeline.bufferer.bufferers
    assert live.open_streams == [kept] and kept in pipeline._state_pool
    with pytest.raises(KeyError):
        live.feed(gone, speechlike(0.5))


def test_a_stream_stops_growing_at_its_longest_and_keeps_what_it_had(cache):
    from transcribe_studio.errors import StudioError
    from transcribe_studio.live import LiveOptions

    live = LiveStreams(cache, PARAKEET, LiveOptions(max_seconds=2.0))
    stream = live.open()
    live.feed(stream, speechlike(1.6))
    with pytest.raises(StudioError, match="at most"):
        live.feed(stream, speechlike(0.8))
    recording, caption = live.close(stream)
    assert len(recording) == 1.6 * 16000 and caption.text


def test_file_jobs_keep_their_own_decoding_around_live_captions(cache):
    audio = speechlike(4.0, seed=5)
    before = engine.transcribe(cache, PARAKEET, audio)
    model = loaded(cache, PARAKEET)
    file_decoding = model.decoding
    live = LiveStreams(cache, PARAKEET)
    stream = live.open()
    live.feed(stream, audio)
    assert model.decoding is file_decoding and model.cfg.decoding.compute_timestamps  # put back after each step
    after = engine.transcribe(cache, PARAKEET, audio)
    assert after.text == before.text and [(w.start, w.end) for w in after.words] == [
        (w.start, w.end) for w in before.words]
    assert live.feed(stream, audio).seconds == pytest.approx(8.0)  # and the live decoding is back for captions


def test_microphone_pieces_become_16k_mono_float():
    stereo = (np.stack([np.full(4800, 16384), np.full(4800, -16384)], axis=1)).astype(np.int16)
    assert to_16k(48000, stereo).shape == (1600,) and np.allclose(to_16k(48000, stereo), 0.0, atol=1e-3)
    mono = np.full(4410, 16384, np.int16)
    out = to_16k(44100, mono)
    assert out.dtype == np.float32 and len(out) == 1600 and out[800] == pytest.approx(0.5, abs=0.02)


def test_the_command_plays_a_file_as_if_live(tiny_parakeet, tmp_path, capsys):
    path = write_audio(tmp_path / "broadcast.wav", speechlike(3.0, seed=6), 16000)
    assert live_cli.main([str(path), "--parakeet-nemo", str(tiny_parakeet), "--device", "cpu",
                          "--speed", "0"]) == 0
    out = capsys.readouterr().out
    assert "[    0.8 s]" in out and "(+" in out and "compute per chunk median" in out
    assert live_cli.main([str(tmp_path / "none.wav"), "--parakeet-nemo", str(tiny_parakeet), "--device", "cpu",
                          "--speed", "0"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_the_pages_handlers_caption_a_tab_and_stop_saves_it_in_history(shared_cache, studio_settings, tmp_path):
    from transcribe_studio.app.handlers import Handlers
    from transcribe_studio.app.histories import Histories
    from transcribe_studio.outputs.history import HistoryStore

    handlers = Handlers(shared_cache, Histories(tmp_path / "outputs", HistoryStore))
    tab, other = type("Tab", (), {"session_hash": "tab-1", "username": None})(), \
        type("Tab", (), {"session_hash": "tab-2", "username": None})()
    handlers.live_start(PARAKEET, tab)
    shown = [handlers.live_piece((BROWSER_RATE, piece), PARAKEET, tab) for piece in as_browser_sends(speechlike(4.0))]
    assert "we see" in shown[-1][1] and '<span class="pending">' in "".join(s[0] for s in shown)
    handlers.live_start(PARAKEET, other)  # a second tab, then it closes
    handlers.live_piece((BROWSER_RATE, as_browser_sends(speechlike(1.0))[0]), PARAKEET, other)
    handlers.live_gone(other)
    steps = list(handlers.live_stop(["txt"], "", False, tab))
    assert steps[0][2].startswith("Stopped after 4.0 s") and "1 of 1 file(s) transcribed" in steps[-1][2]
    entries = handlers.store(tab).entries()
    assert len(entries) == 1 and entries[0].source.startswith("live ") and entries[0].duration == pytest.approx(4.0)
    assert list(handlers.live_stop(["txt"], "", False, tab))[-1][2] == "Nothing was being recorded."


def test_stop_on_a_full_disk_says_so_and_keeps_the_live_text(shared_cache, tmp_path, monkeypatch):
    import errno

    from transcribe_studio.app import handlers as page
    from transcribe_studio.app.handlers import Handlers
    from transcribe_studio.app.histories import Histories
    from transcribe_studio.outputs.history import HistoryStore

    def full(recording):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(page, "save_live_recording", full)
    handlers = Handlers(shared_cache, Histories(tmp_path / "outputs", HistoryStore))
    tab = type("Tab", (), {"session_hash": "tab-9", "username": None})()
    handlers.live_start(PARAKEET, tab)
    for piece in as_browser_sends(speechlike(2.0)):
        handlers.live_piece((BROWSER_RATE, piece), PARAKEET, tab)
    (html, text, note), = list(handlers.live_stop(["txt"], "", False, tab))
    assert "we see" in text and "copy it now" in note and "Traceback" not in note
    assert "disk" in note.lower() or "space" in note.lower()
    assert not handlers.store(tab).entries()
