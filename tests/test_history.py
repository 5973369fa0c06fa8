"""History store: unique time-sorted entries, faithful reloads, safe deletes, damaged folders skipped."""

import logging
import os
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from transcribe_studio.outputs import history
from transcribe_studio.outputs.history import HistoryEntryNotFoundError, HistoryStore
from transcribe_studio.outputs.writers import get_writer, write_outputs
from transcribe_studio.transcript import Segment, Transcript, Word


def transcript(text: str = "Hello there. General Kenobi!") -> Transcript:
    words = [Word(round(0.5 + 0.4 * i, 3), round(0.8 + 0.4 * i, 3), w) for i, w in enumerate(text.split())]
    half = len(words) // 2 or 1
    segments = [Segment(words[0].start, words[half - 1].end, " ".join(w.text for w in words[:half]))]
    if words[half:]:
        segments.append(Segment(words[half].start, words[-1].end, " ".join(w.text for w in words[half:])))
    return Transcript(text=text, segments=segments, words=words, model="Parakeet-TDT-0.6B-v2",
                      duration=round(words[-1].end + 0.7, 3))


def metadata(source: str) -> dict:
    return {"model": "Parakeet-TDT-0.6B-v2", "model_source": {"file": "/models/parakeet.nemo"}, "device": "cpu",
            "created": "2026-11-25T13:45:12+00:00", "source": source, "settings": {"batch_size": 4}}


def add(store: HistoryStore, source: str, text: str = "Hello there. General Kenobi!",
        formats=("txt", "srt", "json")) -> Path:
    """One finished transcription, saved the way the UI saves it."""
    entry_dir = store.new_entry_dir(source)
    write_outputs(transcript(text), source, entry_dir, formats, metadata(source))
    return entry_dir


@pytest.fixture
def store(tmp_path) -> HistoryStore:
    return HistoryStore(tmp_path / "outputs" / "history")


def test_new_entries_are_unique_readable_and_listed_newest_first(store):
    before = datetime.now(timezone.utc)
    dirs = [add(store, "meeting.mp3") for _ in range(5)]
    assert len({d.name for d in dirs}) == 5
    assert all(d.parent == store.root and d.is_dir() for d in dirs)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d{6}\.\d{3}_meeting", dirs[0].name)
    listed = store.entries()
    assert [e.id for e in listed] == [d.name for d in reversed(dirs)]
    assert all(before - timedelta(seconds=1) <= e.created <= datetime.now(timezone.utc) for e in listed)


def test_entries_made_in_the_same_millisecond_keep_their_order(store, monkeypatch):
    frozen = datetime(2026, 11, 25, 13, 45, 12, 345678, tzinfo=timezone.utc)

    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return frozen

    monkeypatch.setattr(history, "datetime", FrozenClock)
    monkeypatch.setattr(history, "_clock", history._Clock())  # leave the real clock's state alone
    # Names not in alphabetical order, so sorting by name alone would get them wrong.
    dirs = [add(store, name) for name in ("b.wav", "c.wav", "a.wav")]
    assert [d.name for d in dirs] == ["2026-11-25_134512.345_b", "2026-11-25_134512.346_c", "2026-11-25_134512.347_a"]
    assert [e.id for e in store.entries()] == [d.name for d in reversed(dirs)]
    # Another process with the same clock picks the same name: it gets a suffix, not the same folder.
    monkeypatch.setattr(history, "_clock", history._Clock())
    clash = HistoryStore(store.root).new_entry_dir("b.wav")
    assert clash.name == "2026-11-25_134512.345_b-2" and not any(clash.iterdir())
    assert sorted(p.name for p in dirs[0].iterdir()) == ["b.json", "b.srt", "b.txt"]


def test_load_round_trips_transcript_metadata_and_files(store):
    source = "interview.m4a"
    original = transcript("Ça va? Très bien, merci. And you, my friend?")
    entry_dir = store.new_entry_dir(source)
    written = write_outputs(original, source, entry_dir, ["txt", "srt", "vtt", "csv", "json"], metadata(source))

    loaded, meta, entry = store.load(entry_dir.name)
    assert loaded == original  # text, model, duration, every Segment and Word
    assert all(isinstance(s, Segment) for s in loaded.segments) and all(isinstance(w, Word) for w in loaded.words)
    assert len(loaded.words) == 9 and loaded.words[0] == Word(0.5, 0.8, "Ça")
    assert meta == metadata(source)
    assert entry.id == entry_dir.name and entry.source == source and entry.model == "Parakeet-TDT-0.6B-v2"
    assert entry.duration == original.duration and entry.preview == original.text
    assert sorted(entry.files) == sorted(written) and entry.audio is None
    assert store.entries() == [entry]


def test_preview_is_short_and_on_one_line(store):
    long_text = "word " * 200 + "\n\nlast"
    add(store, "long.wav", long_text)
    (entry,) = store.entries()
    assert len(entry.preview) == history.PREVIEW_CHARS and entry.preview.endswith("…")
    assert "\n" not in entry.preview and entry.preview.startswith("word word")


def test_delete_removes_only_that_entry(store, tmp_path):
    keep_before, doomed, keep_after = (add(store, f"{n}.wav") for n in ("one", "two", "three"))
    beside = tmp_path / "outputs" / "meeting.txt"
    beside.write_text("not history")

    store.delete(doomed.name)
    assert not doomed.exists()
    assert [e.id for e in store.entries()] == [keep_after.name, keep_before.name]
    assert all(len(list(d.iterdir())) == 3 for d in (keep_before, keep_after))
    assert beside.read_text() == "not history"
    with pytest.raises(HistoryEntryNotFoundError) as error:
        store.delete(doomed.name)  # already gone: a clear error, not a traceback
    assert error.value.kind == "history_entry_not_found" and "History entry" in error.value.user_message()


def test_traversal_ids_are_refused_and_nothing_outside_is_touched(store, tmp_path):
    entry = add(store, "real.wav")
    outside = tmp_path / "outside"
    outside.mkdir()
    # It looks like an entry, so following the link would list, load or delete it.
    write_outputs(transcript(), "secret.wav", outside, ["json"], metadata("secret.wav"))
    sibling = tmp_path / "outputs" / "secret"
    sibling.mkdir()
    (sibling / "keep.txt").write_text("keep")
    (store.root / "a" / "b").mkdir(parents=True)
    (store.root / "escape").symlink_to(outside, target_is_directory=True)
    (store.root / "to_file").symlink_to(sibling / "keep.txt")
    (entry / "leak.txt").symlink_to(sibling / "keep.txt")  # must not be offered for download

    bad_ids = ["..", "../secret", "../../outside", "/etc", str(outside), "a/b", "escape", "to_file", "",
               ".", f"{entry.name}/..", "..\\secret", "C:\\Windows", "missing", "a\x00b", None]
    for bad in bad_ids:
        for action in (store.delete, store.load):
            with pytest.raises(HistoryEntryNotFoundError) as error:
                action(bad)
            assert error.value.kind == "history_entry_not_found"

    assert (outside / "secret.json").is_file() and (sibling / "keep.txt").read_text() == "keep"
    assert (store.root / "a" / "b").is_dir() and (store.root / "escape").is_symlink()
    assert Path("/etc").is_dir()
    (listed,) = store.entries()  # the link to a look-alike entry is not listed
    assert listed.id == entry.name and sorted(p.name for p in listed.files) == ["real.json", "real.srt", "real.txt"]
    with pytest.raises(HistoryEntryNotFoundError):
        store.save_audio(outside, __file__)  # not a folder of this History


def test_damaged_or_incomplete_folders_are_skipped_not_fatal(store, caplog):
    good = add(store, "good.wav")
    crashed = store.new_entry_dir("crashed.wav")  # crash before anything was written
    partial = store.new_entry_dir("partial.wav")  # crash after the TXT, before the JSON
    write_outputs(transcript(), "partial.wav", partial, ["txt"], metadata("partial.wav"))
    (partial / ".partial.json.1a2b3c4d.tmp").write_text('{"text": "half')  # a temporary file, cut short
    damaged = {"truncated": b'{"text": "Hello', "not_object": b"[1, 2]", "not_utf8": b'{"text": "\xff\xfe"}',
               "bad_duration": b'{"text": "x", "duration": "long"}', "empty": b""}
    for name, content in damaged.items():
        (store.new_entry_dir(name) / f"{name}.json").write_bytes(content)
    (store.root / "stray.txt").write_text("not a folder")

    with caplog.at_level(logging.WARNING, logger="transcribe_studio.history"):
        assert [e.id for e in store.entries()] == [good.name]
    for name in damaged:
        assert any(name in r.getMessage() for r in caplog.records)
    for folder in [crashed, partial, *(p for p in store.root.iterdir() if p.name.endswith(tuple(damaged)))]:
        with pytest.raises(HistoryEntryNotFoundError):
            store.load(folder.name)
    # Once the JSON lands or is repaired, the entry shows up (the listing's cache follows the file).
    write_outputs(transcript(), "partial.wav", partial, ["json"], metadata("partial.wav"))
    truncated = next(store.root.glob("*_truncated"))
    write_outputs(transcript(), "truncated.wav", truncated, ["json"], metadata("truncated.wav"))
    assert [e.id for e in store.entries()] == [truncated.name, partial.name, good.name]


def test_cleanup_removes_only_old_folders_without_json(store):
    good = add(store, "good.wav")
    old_crash = store.new_entry_dir("old.wav")
    write_outputs(transcript(), "old.wav", old_crash, ["txt"])
    fresh = store.new_entry_dir("fresh.wav")  # may still be being written
    damaged = store.new_entry_dir("damaged.wav")
    (damaged / "damaged.json").write_text("{")
    long_ago = time.time() - 7200
    for folder in (good, old_crash, damaged):
        os.utime(folder, (long_ago, long_ago))

    assert store.cleanup_incomplete(older_than_s=3600) == [old_crash.name]
    assert not old_crash.exists() and fresh.is_dir() and damaged.is_dir() and good.is_dir()


def test_save_audio_copies_under_the_cap_only(store, tmp_path, monkeypatch):
    entry_dir = add(store, "talk.MP3")
    src = tmp_path / "talk.MP3"
    src.write_bytes(b"ID3" + bytes(range(256)) * 40)

    saved = store.save_audio(entry_dir, src)
    assert saved == entry_dir / "audio.mp3" and saved.read_bytes() == src.read_bytes()
    (entry,) = store.entries()
    assert entry.audio == saved and saved not in entry.files and len(entry.files) == 3

    look_alike = tmp_path / "elsewhere" / entry_dir.name  # same name, not this History's folder
    look_alike.mkdir(parents=True)
    with pytest.raises(HistoryEntryNotFoundError):
        store.save_audio(look_alike, src)
    assert not any(look_alike.iterdir())

    monkeypatch.setattr(history, "MAX_AUDIO_BYTES", src.stat().st_size - 1)
    other = add(store, "big.wav")
    assert store.save_audio(other, src) is None and not any(p.stem == "audio" for p in other.iterdir())
    assert store.entries()[0].audio is None


def test_unicode_and_hostile_source_names(store):
    name = "Réunion 東京 — été 🎙️.mp3"
    entry_dir = add(store, name)
    assert entry_dir.name.endswith("_Réunion 東京 — été 🎙️")
    loaded, meta, entry = store.load(entry_dir.name)
    assert entry.source == name and meta["source"] == name and loaded.text == transcript().text
    for hostile in ("../../evil.wav", "a:b?c*.wav", "/abs/path/CON.wav", "..", ""):
        made = store.new_entry_dir(hostile)
        assert made.parent == store.root and made.is_dir()
        assert not set(made.name) & set('/\\:?*"<>|')
    store.delete(entry_dir.name)
    assert entry_dir.name not in [e.id for e in store.entries()]


def test_listing_500_entries_is_quick(store, monkeypatch):
    json_writer = get_writer("json")
    for i in range(500):
        entry_dir = store.new_entry_dir(f"file{i}.wav")
        text = f"Recording number {i}. " + "some words spoken here " * 20
        (entry_dir / f"file{i}.json").write_text(json_writer.render(transcript(text), metadata(f"file{i}.wav")),
                                                 encoding="utf-8")
        (entry_dir / f"file{i}.txt").write_text(text, encoding="utf-8")

    fresh = HistoryStore(store.root)  # a new process: nothing cached
    started = time.perf_counter()
    listed = fresh.entries()
    elapsed = time.perf_counter() - started
    assert len(listed) == 500 and listed[0].source == "file499.wav" and listed[-1].source == "file0.wav"
    assert all(len(e.files) == 2 for e in listed)
    assert elapsed < 1.0, f"listing 500 entries took {elapsed:.2f} s"

    parsed = []
    summary = history._summary
    monkeypatch.setattr(history, "_summary", lambda *a: parsed.append(a[0]) or summary(*a))
    assert fresh.entries() == listed and parsed == []  # unchanged JSONs are not parsed again
    add(fresh, "new.wav")
    assert fresh.entries()[0].source == "new.wav" and len(parsed) == 1
