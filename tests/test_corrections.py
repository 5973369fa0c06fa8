"""Corrections to a saved transcript: the words to check (and that an edit clears them), find and replace that
keeps times and speakers and is undone byte for byte, split and merge that keep every word once with its time."""

from __future__ import annotations

import json

import pytest

from tests.test_history import metadata
from transcribe_studio.app import api
from transcribe_studio.outputs import corrections
from transcribe_studio.outputs.history import ORIGINAL, HistoryStore, edit_transcript
from transcribe_studio.outputs.writers import write_outputs
from transcribe_studio.transcription.align import align
from transcribe_studio.transcription.doubts import NOT_HEARD, doubts
from transcribe_studio.transcription.transcript import Segment, Transcript, Word

SAID = [("Speaker 1", "We met Donna on Monday."), ("Speaker 2", "Thanks donna, the budget is fine."),
        ("Speaker 1", "Good, Donna Whitfield agrees.")]


def said() -> Transcript:
    words, segments, t = [], [], 0.5
    for speaker, text in SAID:
        timed = [Word(round(t + 0.5 * i, 3), round(t + 0.5 * i + 0.4, 3), w, speaker=speaker,
                      confidence=0.4 if w.lower().startswith("donna") else 0.95) for i, w in enumerate(text.split())]
        segments.append(Segment(timed[0].start, timed[-1].end, text, speaker))
        words += timed
        t = timed[-1].end + 1.0
    return Transcript(text=" ".join(t for _, t in SAID), segments=segments, words=words, model="tiny", duration=t)


@pytest.fixture
def entry(tmp_path):
    store = HistoryStore(tmp_path / "history")
    folder = store.open_entry("meeting.wav")
    write_outputs(said(), "meeting.wav", folder, ("txt", "srt", "json", "csv"), metadata("meeting.wav"))
    return store, store.finish(folder), folder


def files_of(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_words_to_check_are_the_unsure_and_the_unheard_and_an_edit_clears_its_own():
    transcript = said()
    transcript.words[1] = Word(1.0, 1.4, "met", estimated=True, speaker="Speaker 1")  # a word no timer heard
    found = doubts(transcript)
    assert [(d.text, d.reason) for d in found] == [("met", NOT_HEARD), ("Donna", "confidence 0.40"),
                                                   ("donna,", "confidence 0.40"), ("Donna", "confidence 0.40")]
    edited = edit_transcript(transcript, ["We met Dana on Monday.", SAID[1][1], SAID[2][1]])
    assert [d.text for d in doubts(edited)] == ["met", "donna,", "Donna"]  # the corrected word is checked
    dana = next(w for w in edited.words if w.text == "Dana")
    assert dana.edited and dana.confidence is None and (dana.start, dana.end) == (1.5, 1.9)
    assert doubts(edited, threshold=0.3) == [d for d in doubts(edited) if d.reason == NOT_HEARD]


def test_a_substituted_word_does_not_keep_the_confidence_of_the_word_it_replaced():
    timed = [Word(0.0, 0.4, "hello", confidence=0.9), Word(0.5, 0.9, "word", confidence=0.3)]
    aligned = align(["hello", "world"], timed, 0.0, 1.0)
    assert [(w.confidence, w.edited) for w in aligned] == [(0.9, False), (None, False)]
    by_person = align(["hello", "world", "again"], timed, 0.0, 1.0, by_person=True)
    assert [(w.text, w.edited) for w in by_person] == [("hello", False), ("world", True), ("again", True)]


def test_find_lists_every_place_with_its_time_and_speaker(entry):
    store, entry_id, _ = entry
    found = corrections.occurrences(store.load(entry_id)[0], "DONNA")
    assert [(o.segment, o.start, o.speaker, o.match) for o in found] == [
        (0, 1.5, "Speaker 1", "Donna"), (1, 4.4, "Speaker 2", "donna"), (2, 8.3, "Speaker 1", "Donna")]
    assert [o.match for o in corrections.occurrences(store.load(entry_id)[0], "donna   whitfield")] == \
        ["Donna Whitfield"]
    assert corrections.occurrences(store.load(entry_id)[0], "Don") == []  # whole words only
    assert corrections.occurrences(store.load(entry_id)[0], "(Donna|We)") == []  # literal text, not a pattern
    listing = api.find(store, entry_id, "donna")
    assert listing.startswith("**3 places**")
    assert "[0:04.400](#t=4.400) Speaker 2: Thanks **donna**, the budget" in listing


def test_replace_keeps_times_and_speakers_and_undo_restores_every_file_byte_for_byte(entry):
    store, entry_id, folder = entry
    before = files_of(folder)
    shown, message = api.replace_all(store, entry_id, "donna", "Dana", [t for _, t in SAID])
    assert message.startswith("Replaced 3 places"), message
    data = json.loads((folder / "meeting.json").read_text(encoding="utf-8"))
    old = json.loads(before["meeting.json"])["words"]
    assert [w["text"] for w in data["words"]] == [w["text"].replace("Donna", "Dana").replace("donna", "Dana")
                                                  for w in old]
    assert [(w["start"], w["end"], w["speaker"]) for w in data["words"]] == \
        [(w["start"], w["end"], w["speaker"]) for w in old]
    assert [w.get("edited", False) for w in data["words"]] == [w["text"].lower().startswith("donna") for w in old]
    assert "Dana" in (folder / "meeting.srt").read_text(encoding="utf-8")
    assert (folder / ORIGINAL).exists()

    shown, message = api.undo_replace(store, entry_id)
    assert message.startswith("Replace undone"), message
    assert files_of(folder) == before and not (folder / ORIGINAL).exists()
    _, message = api.undo_replace(store, entry_id)
    assert "no replace to undo" in message


def test_a_replace_is_not_undone_over_a_later_edit_and_a_refused_replace_writes_nothing(entry):
    store, entry_id, folder = entry
    api.replace_all(store, entry_id, "Monday", "Tuesday")
    texts = [s.text for s in store.load(entry_id)[0].segments]
    store.save_edit(entry_id, [texts[0], texts[1] + " Really.", texts[2]])
    after_edit = files_of(folder)
    _, message = api.undo_replace(store, entry_id)
    assert "changed after the replace" in message and files_of(folder) == after_edit
    for find, replacement, shown in (("Friday", "x", None), ("", "x", None), ("Tuesday", "a\nb", None),
                                     ("x" * 300, "y", None), (None, "y", None), ("Tuesday", "word " * 5000, None),
                                     ("Tuesday", "Wednesday", ["unsaved text", texts[1], texts[2]])):
        view, message = api.replace_all(store, entry_id, find, replacement, shown)
        assert view.entry is None and "**" in message and files_of(folder) == after_edit, (find, message)


def test_split_and_merge_keep_every_word_once_with_its_time(entry):
    store, entry_id, folder = entry
    words = store.load(entry_id)[0].words
    budget = [w.text for w in words].index("budget")
    api.split_segment(store, entry_id, budget, [t for _, t in SAID])
    split = store.load(entry_id)[0]
    assert split.words == words
    assert [s.text for s in split.segments] == [SAID[0][1], "Thanks donna, the", "budget is fine.", SAID[2][1]]
    assert split.segments[1].end == words[budget - 1].end and split.segments[2].start == words[budget].start
    assert [s.speaker for s in split.segments] == ["Speaker 1", "Speaker 2", "Speaker 2", "Speaker 1"]
    assert "budget is fine." in (folder / "meeting.srt").read_text(encoding="utf-8")

    api.merge_segments(store, entry_id, budget - 1)
    merged = store.load(entry_id)[0]
    assert merged.words == words and [s.text for s in merged.segments] == [t for _, t in SAID]
    assert [(s.start, s.end) for s in merged.segments] == [(s.start, s.end) for s in said().segments]


@pytest.mark.parametrize("change, word, why", [
    (api.split_segment, 0, "already starts a segment"),
    (api.split_segment, -1, "Pick a word first"),
    (api.merge_segments, 2, "another speaker"),
    (api.merge_segments, 13, "the last segment"),
    (api.merge_segments, "x", "Pick a word first"),
])
def test_refused_splits_and_merges_say_why_and_write_nothing(entry, change, word, why):
    store, entry_id, folder = entry
    before = files_of(folder)
    view, message = change(store, entry_id, word)
    assert why in message and view.entry is None and files_of(folder) == before


def test_a_change_from_a_page_with_unsaved_edits_is_refused(entry):
    store, entry_id, folder = entry
    before = files_of(folder)
    _, message = api.split_segment(store, entry_id, 3, ["We met Dana on Monday.", SAID[1][1], SAID[2][1]])
    assert "not saved yet" in message and files_of(folder) == before


def test_the_csv_gives_each_segment_its_lowest_word_confidence_and_none_without():
    import csv
    import io

    from transcribe_studio.outputs.writers import get_writer

    transcript = said()
    edited = edit_transcript(transcript, ["We met Dana on Monday.", SAID[1][1], SAID[2][1]])
    rows = list(csv.reader(io.StringIO(get_writer("csv").render(edited))))
    assert rows[0] == ["start", "end", "speaker", "text", "lowest confidence"]
    assert [row[-1] for row in rows[1:]] == ["0.95", "0.40", "0.40"]  # the corrected word is no longer doubted
    plain = Transcript(text="hi", segments=[Segment(0.0, 1.0, "hi")], words=[Word(0.0, 1.0, "hi")])
    assert list(csv.reader(io.StringIO(get_writer("csv").render(plain))))[0] == ["start", "end", "text"]


def test_undo_puts_back_only_the_files_it_kept_never_a_planted_one_or_a_link(entry, tmp_path):
    store, entry_id, folder = entry
    before = files_of(folder)
    api.replace_all(store, entry_id, "donna", "Dana")
    secret = tmp_path / "secret.txt"
    secret.write_text("not the entry's")
    (folder / ".undo" / "secret.txt").symlink_to(secret)
    (folder / ".undo" / ".incomplete").write_text("")
    _, message = api.undo_replace(store, entry_id)
    assert message.startswith("Replace undone") and files_of(folder) == before
    assert store.entries() and not (folder / "secret.txt").exists()


def test_a_replace_that_fails_half_way_puts_every_file_back(entry, monkeypatch):
    from transcribe_studio.outputs import writers

    store, entry_id, folder = entry
    before = files_of(folder)
    real, calls = writers.atomic_write_text, []

    def full_disk_at_the_third(path, text):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(path, text)
    monkeypatch.setattr(writers, "atomic_write_text", full_disk_at_the_third)
    view, message = api.replace_all(store, entry_id, "donna", "Dana")
    monkeypatch.undo()
    assert view.entry is None and "No space left" in message, message
    assert files_of(folder) == before and not (folder / ".undo").exists() and not (folder / ORIGINAL).exists()


def test_changes_to_one_history_are_made_one_at_a_time(entry):
    import threading

    store, entry_id, _ = entry
    started, finish = threading.Event(), threading.Event()

    def slow_replace(transcript):
        started.set()
        finish.wait(5)
        return edit_transcript(transcript, [s.text.replace("Monday", "Tuesday") for s in transcript.segments])
    worker = threading.Thread(target=store.change, args=(entry_id, slow_replace))
    worker.start()
    started.wait(5)
    def add_really(transcript):  # from the transcript as it is when this change runs
        return edit_transcript(transcript, [s.text + (" Really." if n == 1 else "")
                                            for n, s in enumerate(transcript.segments)])
    saving = threading.Thread(target=store.change, args=(entry_id, add_really))
    saving.start()
    saving.join(1.0)  # without one change at a time, it would be done by now, from the file before the replace
    finish.set()
    worker.join(5)
    saving.join(5)
    texts = [s.text for s in store.load(entry_id)[0].segments]
    assert texts[0] == "We met Donna on Tuesday." and texts[1].endswith("Really.")  # neither change lost


def test_a_replaced_word_taken_out_leaves_no_space_before_punctuation(entry):
    store, entry_id, _ = entry
    api.replace_all(store, entry_id, "donna", "")
    assert [s.text for s in store.load(entry_id)[0].segments][1] == "Thanks, the budget is fine."
