"""The named API endpoints called as plain functions (app/api.py), with the tiny real models."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import speechlike, write_audio
from transcribe_studio import files
from transcribe_studio.app import api
from transcribe_studio.errors import Cancelled
from transcribe_studio.media.decode import SAMPLE_RATE
from transcribe_studio.models import PARAKEET
from transcribe_studio.models.spec import label
from transcribe_studio.outputs import writers
from transcribe_studio.outputs.history import HistoryStore


@pytest.fixture
def store(tmp_path) -> HistoryStore:
    return HistoryStore(tmp_path / "outputs" / "history")


def folders(store: HistoryStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir()) if store.root.exists() else []


def test_transcribe_returns_the_documented_outputs_and_saves_an_entry(shared_cache, store, wav_file):
    result = api.transcribe(shared_cache, store, [wav_file], model=PARAKEET, formats=["txt", "srt"])
    assert isinstance(result, api.Transcription)
    assert result.text and result.segments and all(len(row) == 3 for row in result.segments)
    assert sorted(Path(d).name for d in result.downloads) == ["speech.json", "speech.srt", "speech.txt"]
    [(name, state, details)] = result.files
    assert (name, state) == ("speech.wav", "done") and "of audio, finished" in details
    assert "1 of 1 file(s) transcribed" in result.message
    assert f"**{label(PARAKEET)}**: loaded" in result.status
    (entry,) = store.entries()
    assert result.entry == entry.id and entry.source == "speech.wav" and entry.audio is not None
    assert result.viewer["entry"] == entry.id and len(result.viewer["segments"]) == len(result.segments)
    assert result.outputs() == (result.text, result.segments, result.downloads, result.viewer, result.files,
                                result.message, result.status)  # the page's order


def test_no_input_is_explained(shared_cache, store):
    result = api.transcribe(shared_cache, store, [], None)
    assert result.message == api.NO_INPUT and result.files == [] and not store.root.exists()


def test_a_failed_file_leaves_no_entry_and_the_others_finish(shared_cache, store, wav_file, tmp_path):
    bad = tmp_path / "clip.m4a"
    bad.write_bytes(b"\x00" * 4096)
    steps = list(api.transcribe_steps(shared_cache, store, [bad, wav_file], model=PARAKEET, formats=["txt"]))
    assert len(steps) == 2 and "Working: 1 of 2" in steps[0].message and steps[0].entry is None
    assert [row[:2] for row in steps[-1].files] == [["clip.m4a", "failed"], ["speech.wav", "done"]]
    assert "1 of 2 file(s) transcribed" in steps[-1].message and "What to do" in steps[-1].message
    assert folders(store) == [e.id for e in store.entries()] == [steps[-1].entry]


def test_cancelling_keeps_finished_files_and_leaves_no_half_entry(settings, store, tmp_path):
    import dataclasses

    from transcribe_studio.models import ModelCache

    # passes of 1.5 s on the CPU: one 1 s file per batch, so the cancel comes between two files
    cache = ModelCache(dataclasses.replace(settings, parakeet_pass_seconds=1.5))
    clips = [write_audio(tmp_path / f"part{i}.wav", speechlike(1.0, seed=i), SAMPLE_RATE) for i in (1, 2, 3)]
    notes = []

    def progress(fraction: float, note: str) -> None:
        notes.append(note)
        if note.startswith("1 of 3 files"):
            raise Cancelled()  # part1 is saved; part2 and part3 are not heard yet

    result = api.transcribe(cache, store, clips, model=PARAKEET, formats=["txt"], progress=progress)
    assert result.message == "Cancelled. 1 finished file(s) are saved in History."
    assert [row[:2] for row in result.files] == [["part1.wav", "done"]]
    assert [e.source for e in store.entries()] == ["part1.wav"] and folders(store) == [result.entry]
    assert not any(note.startswith("2 of 3 files") for note in notes)


def test_a_crash_between_two_formats_fails_that_file_and_leaves_no_entry(shared_cache, store, wav_file,
                                                                          monkeypatch):
    calls = []

    def once_full(path, text):
        calls.append(Path(path).name)
        if len(calls) == 2:  # the JSON is written, then the SRT fails
            raise OSError(28, "No space left on device")
        return files.atomic_write_text(path, text)

    monkeypatch.setattr(writers, "atomic_write_text", once_full)
    result = api.transcribe(shared_cache, store, [wav_file], model=PARAKEET, formats=["txt", "srt"])
    assert calls == ["speech.json", "speech.srt"]
    assert result.files[0][1] == "failed" and "Disk problem" in result.message
    assert store.entries() == [] and folders(store) == []
    # the words were heard: they stay on the page to copy, said to be unsaved, with nothing to download
    assert result.text and result.segments and result.downloads == [] and result.entry is None
    assert "Not saved" in result.message

    monkeypatch.setattr(writers, "atomic_write_text", files.atomic_write_text)
    assert api.transcribe(shared_cache, store, [wav_file], model=PARAKEET, formats=["txt"]).entry


def test_history_and_model_endpoints(shared_cache, store, wav_file):
    entry = api.transcribe(shared_cache, store, [wav_file], model=PARAKEET, formats=["txt"]).entry
    [row] = api.history(store)
    assert row[0] == entry and row[2] == "speech.wav" and row[3] == label(PARAKEET)
    rows, note, status = api.load_model(shared_cache, PARAKEET)
    assert note == f"{label(PARAKEET)} is loaded." and label(PARAKEET) in status
    assert {r[0]: r[3] for r in rows}[label(PARAKEET)].startswith("loaded")


def test_assistant_endpoints_answer_or_explain(shared_cache):
    kept = []
    keep = lambda heading, answer: kept.append((heading, answer))  # noqa: E731 - the History entry's keeper
    answer, status = api.summarise(shared_cache, "", keep)
    assert answer.startswith("**No transcript to work from.**") and "**What to do:**" in answer and status
    answer, _ = api.ask(shared_cache, "We ship on Friday.", "   ", keep)
    assert answer.startswith("**No question.**")
    assert kept == []  # explanations are not kept, only answers
    answer, status = api.action_items(shared_cache, "We agreed to ship on Friday. Ann writes the notes.", keep)
    assert "Generated by" in answer and "Traceback" not in answer
    assert kept[0][0] == "Action items" and kept[0][1] in answer and "Saved with this transcript" in answer
