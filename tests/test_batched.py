"""Many files through the model in batches (transcription/batched.py): the same results as one at a time,
faults kept to their file, memory bounded, and the studio on the batched path. Tiny real models throughout."""

from __future__ import annotations

import dataclasses
import json
import weakref

import numpy as np
import pytest
import torch

from tests.media import room_tone, speechlike, write_audio
from transcribe_studio.models import CANARY, PARAKEET, ModelCache, get, nemo_asr
from transcribe_studio.transcription import batch, batched

RATE = 16000


def speech_file(path, seconds: float, seed: int):
    return write_audio(path, np.concatenate([speechlike(seconds, seed=seed), room_tone(0.4)]), RATE)


@pytest.fixture(autouse=True)
def batches_on_the_cpu(monkeypatch):
    """Several windows a call on the CPU too (as on a GPU), whatever the CPU's own default (docs/PERFORMANCE.md)."""
    monkeypatch.setattr(nemo_asr, "CPU_BATCH_ITEMS", 8)


@pytest.fixture
def short_passes(settings):
    """Passes of 20 s on the CPU: a 45 s file takes several, and short files ride many to a batch."""
    return ModelCache(dataclasses.replace(settings, parakeet_pass_seconds=20.0))


@pytest.fixture
def folder(tmp_path):
    lengths = [2.0, 45.0, 3.5, 0.6, 7.0, 12.0]  # one over a pass length, one shorter than NeMo's 1 s minimum
    return [speech_file(tmp_path / f"clip{i}.wav", seconds, seed=i) for i, seconds in enumerate(lengths)]


def counted_batches(registered, key):
    """Record the number of pieces of each of the model's batched calls (the real call runs)."""
    sizes = []
    spec = get(key)

    def call(model, pieces, settings):
        sizes.append(len(pieces))
        return spec.transcribe_batch(model, pieces, settings)
    registered(dataclasses.replace(spec, transcribe_batch=call))
    return sizes


def made(folder):
    """``output_dir_for`` as History's: each file's folder is made for it."""
    def output_dir_for(source):
        folder.mkdir(exist_ok=True)
        return folder
    return output_dir_for


def as_data(transcript):
    return transcript.text, [(w.start, w.end, w.text) for w in transcript.words], \
        [(s.start, s.end, s.text) for s in transcript.segments], transcript.skipped


@pytest.mark.parametrize("key", [PARAKEET, CANARY])
def test_batched_results_equal_one_file_at_a_time(short_passes, folder, tmp_path, registered, key):
    alone = {f: batch.transcribe_file(short_passes, key, f, ["json"], output_dir=tmp_path / "alone") for f in folder}
    sizes = counted_batches(registered, key)
    together = list(batch.run_batch(short_passes, key, folder, ["json"], output_dir_for=made(tmp_path / "out")))
    assert max(sizes) > 1 and len(together) == len(folder)  # several files' windows in one call
    for result in together:
        assert result.ok, result.error
        assert as_data(result.transcript) == as_data(alone[result.source].transcript)
        assert result.transcript.notes == alone[result.source].transcript.notes
    assert len(alone[folder[1]].transcript.segments) > 1  # the long file really had several passes


def test_a_corrupt_file_and_one_that_fails_inside_the_model_fail_alone(short_passes, folder, tmp_path):
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3" + bytes(range(256)) * 40)
    doomed = folder[4]  # 7.4 s, one window: its length in frames is one no other window has
    doomed_frames = len(batch._decoded(short_passes, doomed)) // 160  # mel frames of 10 ms
    model = short_passes._loaded(PARAKEET)

    def fail_on_the_doomed_window(module, args, kwargs):  # injected inside the real model's encoder
        if any(abs(length - doomed_frames) <= 2 for length in kwargs["length"].tolist()):
            raise RuntimeError("one bad window")

    hook = model.encoder.register_forward_pre_hook(fail_on_the_doomed_window, with_kwargs=True)
    try:
        results = list(batch.run_batch(short_passes, PARAKEET, [corrupt, *folder], ["json"],
                                       output_dir_for=made(tmp_path / "out")))
    finally:
        hook.remove()
    failed = {r.source for r in results if not r.ok}
    assert failed == {corrupt, doomed}, [(r.source.name, r.error) for r in results if not r.ok]
    saved = sorted(p.stem for p in (tmp_path / "out").glob("*.json"))
    assert saved == sorted(f.stem for f in folder if f != doomed)


def test_decoding_ahead_holds_a_bounded_number_of_files(settings, tmp_path, monkeypatch):
    """2,000 short files: the decoded audio alive at once stays within a group and the one decoded ahead (on
    threads, as beside a model on a GPU)."""
    monkeypatch.setattr(batched, "GROUP_FILES", 16)
    monkeypatch.setattr(batched, "PREPARE_THREADS", 2)
    monkeypatch.setattr(batched, "resolve_device", lambda name: torch.device("cuda"))  # threads, as beside a GPU
    one = speech_file(tmp_path / "memo.wav", 0.3, seed=1)
    folder = tmp_path / "memos"
    folder.mkdir()
    sources = []
    for i in range(2000):
        sources.append(folder / f"memo{i:04}.wav")
        sources[-1].hardlink_to(one)
    alive, most = set(), [0]
    real = batch.decode_audio

    def decode_counted(path, **kwargs):
        audio = real(path, **kwargs)
        alive.add(id(audio))
        weakref.finalize(audio, alive.discard, id(audio))
        most[0] = max(most[0], len(alive))
        return audio

    monkeypatch.setattr(batch, "decode_audio", decode_counted)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # beside the decoding threads on a 2-core machine, torch's own wait on each other
    try:
        done = sum(r.ok for r in batch.run_batch(ModelCache(settings), PARAKEET, sources, ["txt"],
                                                output_dir_for=made(tmp_path / "out")))
    finally:
        torch.set_num_threads(threads)
    assert done == 2000
    assert most[0] <= 2 * batched.GROUP_FILES + 2 + 1


def test_the_studio_sends_a_batch_of_dropped_files_through_the_batched_path(shared_cache, tmp_path, registered):
    from transcribe_studio.app import api
    from transcribe_studio.outputs.history import HistoryStore

    sizes = counted_batches(registered, PARAKEET)
    spec = get(PARAKEET)
    registered(dataclasses.replace(spec, transcribe=lambda *a, **k: pytest.fail("went file by file")))
    clips = [speech_file(tmp_path / f"memo{i}.wav", 1.5 + i, seed=i) for i in range(3)]
    notes = []
    result = api.transcribe(shared_cache, HistoryStore(tmp_path / "history"), clips, model=PARAKEET,
                            formats=["txt"], progress=lambda fraction, note: notes.append((fraction, note)))
    assert sizes == [3] and [row[1] for row in result.files] == ["done"] * 3
    assert notes[-1][1].startswith("3 of 3 files") and "of audio" in notes[-1][1] and notes[-1][0] == 1.0


def test_the_folder_progress_counts_files_audio_and_speed():
    tally = batched.Tally(files_total=4)
    tally.files_seen, tally.seconds_seen = 2, 120.0
    assert tally.expected_seconds() == 240.0 and tally.fraction == 0.0
    tally.seconds_heard, tally.seconds_done, tally.files_done = 60.0, 60.0, 1
    assert tally.fraction == 0.25
    assert tally.note().startswith("1 of 4 files · 1 min 00 s of about 4 min 00 s of audio · ")
    assert tally.note().endswith("x real time") and tally.seconds_left() > 0


def test_a_run_of_files_saves_json_that_reads_as_the_one_file_path(short_passes, folder, tmp_path):
    results = list(batch.run_batch(short_passes, PARAKEET, folder[:3], ["json"],
                                   output_dir_for=made(tmp_path / "out")))
    for result in results:
        data = json.loads((tmp_path / "out" / f"{result.source.stem}.json").read_text())
        assert data["text"] == result.transcript.text and data["model"]


def test_files_prepared_ahead_come_in_order_with_their_failures():
    from transcribe_studio.media.ahead import prepared_ahead

    def prepare(n):
        if n == 3:
            raise ValueError("unreadable")
        return np.zeros(n)

    for threads in (0, 2):
        got = list(prepared_ahead(range(6), prepare, most_held=2, most_seconds=10, seconds_of=len, threads=threads))
        assert [n for n, _ in got] == list(range(6))
        assert isinstance(got[3][1], ValueError) and [len(r) for n, r in got if n != 3] == [0, 1, 2, 4, 5]


def test_a_gpu_that_fails_for_good_ends_the_run_and_fails_only_the_files_left(settings, tmp_path):
    from transcribe_studio.errors import GPUFailedError

    cache = ModelCache(dataclasses.replace(settings, parakeet_pass_seconds=1.5))  # one 1 s file per batch
    clips = [speech_file(tmp_path / f"part{i}.wav", 0.6, seed=i) for i in range(3)]
    calls = []

    def second_call_fails(module, args, kwargs):  # injected inside the real model's encoder
        calls.append(1)
        if len(calls) == 2:
            raise GPUFailedError("The GPU failed while Parakeet was transcribing: an illegal memory access.")

    hook = cache._loaded(PARAKEET).encoder.register_forward_pre_hook(second_call_fails, with_kwargs=True)
    try:
        results = list(batch.run_batch(cache, PARAKEET, clips, ["txt"]))
    finally:
        hook.remove()
    assert [(r.source, r.ok) for r in results] == [(clips[0], True), (clips[1], False), (clips[2], False)]
    assert all(isinstance(r.error, GPUFailedError) for r in results[1:]) and len(calls) == 2  # no retries


def test_a_timer_model_that_cannot_load_leaves_whole_window_segments_with_the_reason(settings, folder, tmp_path):
    cache = ModelCache(dataclasses.replace(settings, parakeet_path=tmp_path / "missing.nemo"))
    alone = batch.transcribe_file(cache, CANARY, folder[0], ["json"], output_dir=tmp_path / "alone")
    results = list(batch.run_batch(cache, CANARY, folder[:3], ["json"]))
    assert all(r.ok for r in results)
    for result in results:
        assert any(n.startswith("Word timings skipped: ") for n in result.transcript.notes)
    assert [n for n in alone.transcript.notes if n.startswith("Word timings skipped")] == \
        [n for n in results[[r.source for r in results].index(folder[0])].transcript.notes
         if n.startswith("Word timings skipped")]
