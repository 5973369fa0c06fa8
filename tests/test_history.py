"""History store: unique time-sorted entries, faithful reloads, safe deletes, damaged folders skipped."""

import logging
import os
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from transcribe_studio.errors import HistoryEntryNotFoundError
from transcribe_studio.outputs import history
from transcribe_studio.outputs.history import HistoryStore
from transcribe_studio.outputs.writers import DEFAULT_OPTIONS, get_writer, write_outputs
from transcribe_studio.transcription.transcript import Segment, Transcript, Word


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
    entry_dir = store.open_entry(source)
    write_outputs(transcript(text), source, entry_dir, formats, metadata(source))
    store.finish(entry_dir)
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
    clash = HistoryStore(store.root).open_entry("b.wav")
    assert clash.name == "2026-11-25_134512.345_b-2" and [p.name for p in clash.iterdir()] == [history.INCOMPLETE]
    assert sorted(p.name for p in dirs[0].iterdir()) == ["b.json", "b.srt", "b.txt"]


def test_load_round_trips_transcript_metadata_and_files(store):
    source = "interview.m4a"
    original = transcript("Ça va? Très bien, merci. And you, my friend?")
    entry_dir = store.open_entry(source)
    written = write_outputs(original, source, entry_dir, ["txt", "srt", "vtt", "csv", "json"], metadata(source))
    assert store.finish(entry_dir) == entry_dir.name

    loaded, meta, entry = store.load(entry_dir.name)
    assert loaded == original  # text, model, duration, every Segment and Word
    assert all(isinstance(s, Segment) for s in loaded.segments) and all(isinstance(w, Word) for w in loaded.words)
    assert len(loaded.words) == 9 and loaded.words[0] == Word(0.5, 0.8, "Ça")
    assert meta == {**metadata(source), "subtitles": DEFAULT_OPTIONS.subtitle_metadata()}  # the options used too
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
    crashed = store.open_entry("crashed.wav")  # crash before anything was written
    partial = store.open_entry("partial.wav")  # crash after the TXT, before the JSON
    write_outputs(transcript(), "partial.wav", partial, ["txt"], metadata("partial.wav"))
    (partial / ".partial.json.1a2b3c4d.tmp").write_text('{"text": "half')  # a temporary file, cut short
    damaged = {"truncated": b'{"text": "Hello', "not_object": b"[1, 2]", "not_utf8": b'{"text": "\xff\xfe"}',
               "bad_duration": b'{"text": "x", "duration": "long"}', "empty": b""}
    for name, content in damaged.items():  # complete entries whose JSON was damaged afterwards
        folder = store.open_entry(name)
        (folder / f"{name}.json").write_bytes(content)
        store.finish(folder)
    (store.root / "stray.txt").write_text("not a folder")

    with caplog.at_level(logging.WARNING, logger="transcribe_studio.history"):
        assert [e.id for e in store.entries()] == [good.name]
    for name in damaged:
        assert any(name in r.getMessage() for r in caplog.records)
    for folder in [crashed, partial, *(p for p in store.root.iterdir() if p.name.endswith(tuple(damaged)))]:
        with pytest.raises(HistoryEntryNotFoundError):
            store.load(folder.name)
    # Once the entry is finished or its JSON repaired, it shows up (the listing's cache follows the file).
    write_outputs(transcript(), "partial.wav", partial, ["json"], metadata("partial.wav"))
    assert partial.name not in [e.id for e in store.entries()]  # a JSON, but not finished yet
    store.finish(partial)
    truncated = next(store.root.glob("*_truncated"))
    write_outputs(transcript(), "truncated.wav", truncated, ["json"], metadata("truncated.wav"))
    assert [e.id for e in store.entries()] == [truncated.name, partial.name, good.name]


def _age(*paths: Path, seconds: float = 7200) -> None:
    long_ago = time.time() - seconds
    for path in paths:
        os.utime(path, (long_ago, long_ago))


def test_cleanup_removes_only_old_incomplete_folders(store):
    good = add(store, "good.wav")
    old_crash = store.open_entry("old.wav")  # cut short after its TXT
    write_outputs(transcript(), "old.wav", old_crash, ["txt"])
    old_json = store.open_entry("old_json.wav")  # cut short after its JSON, before the SRT
    write_outputs(transcript(), "old_json.wav", old_json, ["json"], metadata("old_json.wav"))
    fresh = store.open_entry("fresh.wav")  # may still be being written
    write_outputs(transcript(), "fresh.wav", fresh, ["json"], metadata("fresh.wav"))
    damaged = store.open_entry("damaged.wav")  # complete, its JSON damaged afterwards
    (damaged / "damaged.json").write_text("{")
    store.finish(damaged)
    legacy = store.root / "2026-11-01_120000.000_legacy"  # written before markers existed: JSON, no marker
    write_outputs(transcript(), "legacy.wav", legacy, ["json", "txt"], metadata("legacy.wav"))
    empty_legacy = store.root / "2026-11-01_120000.001_empty"  # a pre-marker crash before the JSON
    empty_legacy.mkdir()
    for folder in (good, old_crash, old_json, damaged, legacy, empty_legacy):
        _age(folder, *(folder / history.INCOMPLETE,) if (folder / history.INCOMPLETE).exists() else ())

    assert sorted(store.cleanup_incomplete(older_than_s=3600)) == sorted([old_crash.name, old_json.name,
                                                                          empty_legacy.name])
    assert not old_crash.exists() and not old_json.exists() and not empty_legacy.exists()
    assert fresh.is_dir() and damaged.is_dir() and good.is_dir() and legacy.is_dir()
    assert [e.id for e in store.entries()] == [good.name, legacy.name]  # legacy entries stay listed


def test_a_crash_between_two_formats_leaves_no_listed_entry_and_cleanup_removes_it(store, monkeypatch):
    """The JSON is written first; a crash (an OSError here, once) while writing the SRT must not
    leave an entry listed without its SRT and TXT."""
    from transcribe_studio import files

    real, calls = files.atomic_write_text, []

    def crash_on_the_second_file(path, text):
        calls.append(Path(path).name)
        if len(calls) == 3:  # the marker, the JSON, then the SRT
            raise OSError(28, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(files, "atomic_write_text", crash_on_the_second_file)
    from transcribe_studio.outputs import writers

    monkeypatch.setattr(writers, "atomic_write_text", crash_on_the_second_file)
    monkeypatch.setattr(history, "atomic_write_text", crash_on_the_second_file)
    folder = store.open_entry("talk.wav")
    with pytest.raises(OSError):
        write_outputs(transcript(), "talk.wav", folder, ["json", "srt", "txt"], metadata("talk.wav"))
    # The process dies here: nobody calls finish or discard.
    assert calls == [history.INCOMPLETE, "talk.json", "talk.srt"]
    assert sorted(p.name for p in history._files(folder)) == ["talk.json"]  # the JSON is there...
    assert store.entries() == [] and HistoryStore(store.root).entries() == []  # ...but nothing is listed
    with pytest.raises(HistoryEntryNotFoundError):
        store.load(folder.name)
    assert store.cleanup_incomplete(older_than_s=3600) == []  # too fresh: may still be being written
    assert store.cleanup_incomplete(older_than_s=0) == [folder.name] and not folder.exists()


def test_job_entries_finish_discard_and_clean_up_on_the_way_out(store, tmp_path):
    sources = [tmp_path / f"{name}.wav" for name in ("done", "failed", "open")]
    for source in sources:
        source.write_bytes(b"RIFF" + bytes(64))
    done, failed, still_open = sources
    with pytest.raises(RuntimeError), store.job() as job:
        for source in sources:
            folder = job.open(source)
            write_outputs(transcript(), source.name, folder, ["json"], metadata(source.name))
        entry_id = job.finish(done)
        job.discard(failed)
        raise RuntimeError("the job stops with one file still open")
    assert [p.name for p in store.root.iterdir()] == [entry_id]
    (entry,) = store.entries()
    assert entry.id == entry_id and entry.audio == store.root / entry_id / "audio.wav"
    assert job.finish(still_open) is None  # nothing open under that name any more


def test_finish_only_logs_a_failed_audio_copy(store, tmp_path, monkeypatch, caplog):
    folder = store.open_entry("talk.wav")
    write_outputs(transcript(), "talk.wav", folder, ["json"], metadata("talk.wav"))

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(history, "atomic_copy", full_disk)
    assert store.finish(folder, audio=tmp_path / "missing-or-unreadable.wav") == folder.name
    (entry,) = store.entries()
    assert entry.audio is None and [p.name for p in entry.files] == ["talk.json"]


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

    store.keep_audio_bytes = src.stat().st_size - 1  # --keep-audio-mb: larger inputs are not copied
    other = add(store, "big.wav")
    assert store.save_audio(other, src) is None and not any(p.stem == "audio" for p in other.iterdir())
    assert store.entries()[0].audio is None
    store.keep_audio_bytes = 0  # --keep-audio-mb 0: no copies at all
    assert store.save_audio(add(store, "small.wav"), src) is None


def test_unicode_and_hostile_source_names(store):
    name = "Réunion 東京 — été 🎙️.mp3"
    entry_dir = add(store, name)
    assert entry_dir.name.endswith("_Réunion 東京 — été 🎙️")
    loaded, meta, entry = store.load(entry_dir.name)
    assert entry.source == name and meta["source"] == name and loaded.text == transcript().text
    for hostile in ("../../evil.wav", "a:b?c*.wav", "/abs/path/CON.wav", "..", ""):
        made = store.open_entry(hostile)
        assert made.parent == store.root and made.is_dir()
        assert not set(made.name) & set('/\\:?*"<>|')
    store.delete(entry_dir.name)
    assert entry_dir.name not in [e.id for e in store.entries()]


def test_listing_500_entries_is_quick(store, monkeypatch):
    json_writer = get_writer("json")
    for i in range(500):
        entry_dir = store.open_entry(f"file{i}.wav")
        text = f"Recording number {i}. " + "some words spoken here " * 20
        (entry_dir / f"file{i}.json").write_text(json_writer.render(transcript(text), metadata(f"file{i}.wav")),
                                                 encoding="utf-8")
        (entry_dir / f"file{i}.txt").write_text(text, encoding="utf-8")
        store.finish(entry_dir)

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


# --- edits ----------------------------------------------------------------------------

def two_speakers() -> Transcript:
    """Dana says three words, Speaker 2 two; Parakeet-like word times."""
    words = [Word(0.0, 0.4, "Hello", speaker="Speaker 1"), Word(0.5, 0.8, "there", speaker="Speaker 1"),
             Word(0.9, 1.3, "friend.", speaker="Speaker 1"),
             Word(2.0, 2.5, "General", speaker="Speaker 2"), Word(2.6, 3.2, "Kenobi!", speaker="Speaker 2")]
    segments = [Segment(0.0, 1.3, "Hello there friend.", "Speaker 1"), Segment(2.0, 3.2, "General Kenobi!", "Speaker 2")]
    return Transcript("Hello there friend. General Kenobi!", segments, words, "Parakeet-TDT-0.6B-v2", 4.0,
                      speaker_names={"Speaker 1": "Dana"})


def add_edited(store: HistoryStore, formats=("json", "txt", "srt", "docx", "md")) -> str:
    entry_dir = store.open_entry("talk.wav")
    write_outputs(two_speakers(), "talk.wav", entry_dir, formats, metadata("talk.wav"))
    return store.finish(entry_dir)


def test_save_edit_keeps_unchanged_words_and_estimates_new_ones_inside_their_segment(store):
    import json

    from tests.test_writers import docx_text

    entry_id = add_edited(store)
    edited = store.save_edit(entry_id, ["Hello there my friend.", "General Kenobi!"])
    old = {w.text: w for w in two_speakers().words}
    for word in edited.words:
        if word.text == "my":
            assert word.estimated and 0.8 <= word.start < word.end <= 0.9 and word.speaker == "Speaker 1"
        else:
            assert word == old[word.text]  # times, speaker and estimated exactly as they were
    folder = store.root / entry_id
    data = json.loads((folder / "talk.json").read_text(encoding="utf-8"))
    assert [w["text"] for w in data["words"] if w.get("estimated")] == ["my"]
    assert data["text"] == "Hello there my friend. General Kenobi!" and data["metadata"]["edited"]
    assert "Dana: Hello there my friend." in (folder / "talk.txt").read_text(encoding="utf-8")
    assert "my friend." in (folder / "talk.srt").read_text(encoding="utf-8")
    assert "Dana: Hello there my friend." in docx_text(folder / "talk.docx")
    assert "**Dana:** Hello there my friend." in (folder / "talk.md").read_text(encoding="utf-8")
    reloaded, meta, entry = store.load(entry_id)
    assert reloaded.text == edited.text and reloaded.words == edited.words and meta["source"] == "talk.wav"
    assert ".original.json" not in [p.name for p in entry.files]  # kept, not listed as an export
    assert store.original(entry_id).text == two_speakers().text
    store.save_edit(entry_id, ["Hello friend.", "General Kenobi!"])  # a second edit keeps the model's text
    assert store.original(entry_id).text == two_speakers().text
    assert store.load(entry_id)[0].text == "Hello friend. General Kenobi!"
    assert sorted(os.listdir(folder)) == [".original.json", "talk.docx", "talk.json", "talk.md", "talk.srt",
                                          "talk.txt"]  # no temporary files left


def test_an_emptied_segment_goes_with_its_words(store):
    entry_id = add_edited(store, ("json", "txt"))
    edited = store.save_edit(entry_id, ["Hello there friend.", "  "])
    assert [s.text for s in edited.segments] == ["Hello there friend."]
    assert [w.text for w in edited.words] == ["Hello", "there", "friend."]
    assert "Kenobi" not in (store.root / entry_id / "talk.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("texts", [["only one"], ["a", "b", "c"], ["a", 3], "Hello there friend.", None])
def test_a_malformed_edit_is_an_edit_error_and_changes_nothing(store, texts):
    entry_id = add_edited(store, ("json", "txt"))
    folder = store.root / entry_id
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(history.EditError) as caught:
        store.save_edit(entry_id, texts)
    assert "segment" in caught.value.user_message()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no .original.json either


def test_an_edit_of_a_missing_entry_is_not_found(store):
    with pytest.raises(HistoryEntryNotFoundError):
        store.save_edit("2026-01-01_000000.000_gone", ["x"])


# --- download all -----------------------------------------------------------------------

def test_zip_entries_holds_every_entrys_outputs_and_audio_only_when_asked(store, tmp_path):
    import zipfile

    first, second = add(store, "one.wav"), add(store, "two.wav", formats=("json", "txt", "docx"))
    audio = tmp_path / "two.wav"
    audio.write_bytes(b"RIFF....WAVE")
    store.save_audio(second, audio)
    path = store.zip_entries([first.name, second.name, first.name])
    assert path.parent == store.root / history.DOWNLOADS and path.suffix == ".zip"
    assert re.fullmatch(r"transcripts_\d{4}-\d\d-\d\d_\d{6}\.\d{3}_[0-9a-f]{8}\.zip", path.name)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted(
            [f"{first.name}/one.{ext}" for ext in ("json", "srt", "txt")]
            + [f"{second.name}/two.{ext}" for ext in ("docx", "json", "txt")])
        assert archive.read(f"{first.name}/one.txt") == (first / "one.txt").read_bytes()
    with zipfile.ZipFile(store.zip_entries([second.name], audio=True)) as archive:
        assert f"{second.name}/audio.wav" in archive.namelist()
    assert [e.id for e in store.entries()] == [second.name, first.name]  # the zips are not entries
    with pytest.raises(HistoryEntryNotFoundError):
        store.zip_entries([first.name, "../outside"])
    with pytest.raises(HistoryEntryNotFoundError):
        store.zip_entries([])
    elsewhere = store.zip_entries([first.name], folder=tmp_path / "gradio")
    assert elsewhere.parent == tmp_path / "gradio"


def test_answers_are_kept_with_the_entry_and_an_edit_leaves_them_alone(store):
    entry_id = store.finish(add(store, "meeting.wav", formats=("txt", "json")))
    store.save_answer(entry_id, "Summary", "They agreed on the budget.")
    path = store.save_answer(entry_id, "Q: Who leads?", "Dana leads.")
    text = path.read_text(encoding="utf-8")
    assert text.index("## Summary") < text.index("## Q: Who leads?") and "Dana leads." in text
    (entry,) = store.entries()
    assert path in entry.files  # downloaded and zipped with the entry
    store.save_edit(entry_id, ["Hello there, edited."] + [s.text for s in store.load(entry_id)[0].segments][1:])
    names = sorted(p.name for p in store.entries()[0].files)
    assert names == sorted([path.name, "meeting.json", "meeting.txt"])  # no Markdown export appeared
    assert path.read_text(encoding="utf-8") == text


def test_a_file_name_is_shown_as_typed_in_the_selected_label_never_as_markdown():
    from types import SimpleNamespace

    from transcribe_studio.app.handlers import Handlers

    name = "**big** [link](http://x.example) _x_.wav"
    entry_id, label, note, _ = Handlers.pick_history(["e1"], [["2026-12-06 10:00:00", name]],
                                                     SimpleNamespace(index=[0, 1]))
    assert entry_id == "e1" and note == ""  # a question about another entry's deletion is cleared
    assert label == "Selected: **\\*\\*big\\*\\* \\[link\\](http://x.example) \\_x\\_.wav** (2026-12-06 10:00:00)"
