"""Checking a transcript in a real headless Chromium: the words to check marked and reached one after another,
the player driven from the keyboard with the focus in and out of a cell, find and replace with its undo, split
and merge at a picked word. The recipe and fixtures are tests/test_browser.py's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.media import speechlike, write_audio
from tests.test_browser import (  # noqa: F401 - fixtures are used by name
    SEGMENTS,
    browser,
    grid,
    grid_rows,
    page,
    screenshot,
    studio,
    textbox,
    wait_for_text,
)
from tests.test_browser_editor import download, open_from_history
from transcribe_studio.app import views
from transcribe_studio.models import PARAKEET
from transcribe_studio.models.spec import label
from transcribe_studio.outputs.writers import write_outputs
from transcribe_studio.transcription.transcript import Segment, Transcript, Word

# (speaker, [(word, confidence or None)]): "Donna" is said twice and heard unsure; "Whitfield" was not heard by
# a timing pass (estimated, no confidence).
SEGMENTS_SAID = [
    ("Speaker 1", [("We", 0.98), ("met", 0.97), ("Donna", 0.41), ("on", 0.99), ("Monday.", 0.95)]),
    ("Speaker 2", [("Thanks", 0.96), ("Donna,", 0.52), ("the", 0.99), ("budget", 0.66), ("is", 0.98),
                   ("fine.", 0.97)]),
    ("Speaker 1", [("Good,", 0.93), ("Whitfield", None), ("agrees.", 0.9)]),
]


def add_checked_entry(store, source: str, audio: Path) -> str:
    """A History entry of SEGMENTS_SAID, words 1.2 s apart (room for 5-second jumps), with its audio."""
    words, segments, t = [], [], 0.5
    for speaker, said in SEGMENTS_SAID:
        timed = []
        for text, confidence in said:
            timed.append(Word(t, t + 0.8, text, estimated=confidence is None, speaker=speaker, confidence=confidence))
            t += 1.2
        segments.append(Segment(timed[0].start, timed[-1].end, " ".join(w.text for w in timed), speaker))
        words += timed
        t += 0.6
    transcript = Transcript(text=" ".join(s.text for s in segments), segments=segments, words=words,
                            model=label(PARAKEET), duration=t + 0.5)
    entry_dir = store.open_entry(source)
    write_outputs(transcript, source, entry_dir, ("txt", "json", "srt"), {"model": label(PARAKEET), "source": source})
    return store.finish(entry_dir, audio=audio)


@pytest.fixture
def opened(page, studio, tmp_path):
    """(page, store, entry id) with the entry open in the editor."""
    store = studio[0].studio_history
    audio = write_audio(tmp_path / "meeting.wav", speechlike(22.0, seed=3), 16000)
    entry = add_checked_entry(store, "meeting.wav", audio)
    page.reload()
    open_from_history(page, "meeting.wav")
    page.locator(f"#{views.READ_ALONG_ID} span").first.wait_for()
    return page, store, entry


def exports(folder: Path) -> dict[str, bytes]:
    """The entry's files (not the hidden ones: the picture's cache comes when the page first draws it)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}


def marked(page) -> list[str]:
    return page.locator(f"#{views.READ_ALONG_ID} span.{views.DOUBT_CLASS}").all_inner_texts()


def picked(page) -> str:
    return page.locator(f"#{views.READ_ALONG_ID} span.picked").inner_text()


def player(page, what: str):
    return page.evaluate(f"() => document.getElementById('{views.PLAYER_ID}').{what}")


def marked_rows(page) -> list[int]:
    """The segments table's rows whose text cell carries the mark (its own style: Gradio draws a shadow of its
    own around the cell in focus)."""
    return page.evaluate(f"""() => [...document.querySelectorAll('#{views.SEGMENTS_ID} [data-testid^=cell-][data-testid$="-2"]')]
        .filter(cell => cell.style.boxShadow.includes('inset'))
        .map(cell => +cell.dataset.testid.split('-')[1])""")


def test_the_words_to_check_are_marked_and_reached_in_order_with_the_player_before_each(opened, tmp_path):
    page, _, _ = opened
    assert marked(page) == ["Donna", "Donna,", "budget", "Whitfield"]  # below 0.7, and the one not heard
    assert page.locator(f"#{views.DOUBT_COUNT_ID}").inner_text() == "4 words to check."
    page.wait_for_function(f"() => document.querySelectorAll('#{views.SEGMENTS_ID} [data-testid^=cell-][data-testid$=\"-2\"]').length")
    assert marked_rows(page) == [0, 1, 2]

    # Next to check: each in order, picked, the player a second before it, the count of what is left.
    starts = {w: float(page.locator(f"#{views.READ_ALONG_ID} span", has_text=w).first.get_attribute("data-t"))
              for w in ("Donna", "Donna,", "budget", "Whitfield")}
    for n, word in enumerate(["Donna", "Donna,", "budget", "Whitfield"], 1):
        page.get_by_role("button", name="Next to check").click()
        assert picked(page) == word
        assert abs(player(page, "currentTime") - (starts[word] - 1)) < 0.6
        wait_for_text(page, f"Word {n} of 4 to check")
    assert "not heard by the timing pass" in page.locator(f"#{views.DOUBT_COUNT_ID}").inner_text()
    page.get_by_role("button", name="Next to check").click()
    wait_for_text(page, "No more words to check after this word.")
    page.get_by_role("button", name="Previous to check").click()
    assert picked(page) == "budget"
    screenshot(page, tmp_path, "words-to-check")

    # The picture above the player: its label sums it up, a click on it plays from there, the playhead follows.
    picture = page.get_by_role("img", name="Waveform of the recording", exact=False)
    assert "2 speakers, 4 words to check" in picture.get_attribute("aria-label")
    box = picture.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    duration = player(page, "duration")
    assert abs(player(page, "currentTime") - 0.75 * duration) < 0.6
    page.wait_for_function("() => (document.getElementById('recording-playhead').getAttribute('transform') || '')"
                           ".startsWith('translate(9')")  # three quarters of its 1200 columns across

    # A higher threshold marks more, a lower one fewer, in the read-along and the table alike.
    slider = page.get_by_label("Mark words below this confidence to check", exact=False).last
    slider.fill("0.5")
    slider.dispatch_event("change")
    page.wait_for_function(f"() => document.querySelectorAll('#{views.READ_ALONG_ID} span.doubt').length === 2")
    assert marked(page) == ["Donna", "Whitfield"]
    assert marked_rows(page) == [0, 2]

    # On a narrow window the segments' text keeps room to be read and edited (the table scrolls sideways).
    page.set_viewport_size({"width": 420, "height": 900})
    text_cell = grid(page, SEGMENTS).locator("[data-testid=cell-1-2]")
    text_cell.scroll_into_view_if_needed()
    assert text_cell.bounding_box()["width"] > 150
    screenshot(page, tmp_path, "words-to-check-narrow")


def test_the_keys_drive_the_player_with_the_focus_in_a_cell_and_outside(opened, tmp_path):
    page, _, _ = opened
    page.evaluate(f"() => document.getElementById('{views.PLAYER_ID}').pause()")
    cell = grid(page, SEGMENTS).locator("[data-testid=cell-1-2]")
    cell.dblclick()
    editor = cell.locator("textarea, input").first
    editor.wait_for()
    for where in ("cell", "page"):
        if where == "page":
            editor.press("Escape")
            page.locator("h1").click()  # the focus on the page, in no text box
        page.evaluate(f"() => {{ const a = document.getElementById('{views.PLAYER_ID}'); a.pause(); "
                      "a.currentTime = 10; a.playbackRate = 1; }")
        page.keyboard.press("Alt+L")
        assert abs(player(page, "currentTime") - 15) < 0.3
        page.keyboard.press("Alt+J")
        page.keyboard.press("Alt+J")
        assert abs(player(page, "currentTime") - 5) < 0.3
        page.keyboard.press("Alt+Period")
        page.keyboard.press("Alt+Period")
        assert player(page, "playbackRate") == 1.5
        for _ in range(5):
            page.keyboard.press("Alt+Comma")
        assert player(page, "playbackRate") == 0.5  # the slowest
        page.keyboard.press("Alt+K")
        page.wait_for_function(f"() => !document.getElementById('{views.PLAYER_ID}').paused")
        page.keyboard.press("Alt+K")
        page.wait_for_function(f"() => document.getElementById('{views.PLAYER_ID}').paused")
        page.evaluate(f"() => document.getElementById('{views.PLAYER_ID}').currentTime = 0")
        page.evaluate(f"() => document.querySelectorAll('#{views.READ_ALONG_ID} span.picked')"
                      ".forEach(w => w.classList.remove('picked'))")
        page.keyboard.press("Alt+M")
        assert picked(page) == "Donna"
        page.keyboard.press("Alt+M")
        page.keyboard.press("Alt+Shift+M")
        assert picked(page) == "Donna"
        if where == "cell":  # the cursor stays in the cell: the next letter typed goes there
            assert page.evaluate("() => document.activeElement.tagName") in ("TEXTAREA", "INPUT")
        if where == "cell":  # nothing of the keys was typed into the cell being edited
            assert editor.input_value() == SEGMENTS_SAID[1][1][0][0] + " Donna, the budget is fine."
            cell.dblclick()
            editor = cell.locator("textarea, input").first
    assert [row[2] for row in grid_rows(grid(page, SEGMENTS))][1] == "Thanks Donna, the budget is fine."


def test_find_and_replace_keeps_times_and_speakers_and_undo_restores_every_file(opened, tmp_path):
    page, store, entry = opened
    folder = store.load(entry)[2].files[0].parent
    before = exports(folder)
    page.get_by_text("Find and replace").click()
    page.get_by_role("textbox", name="Find", exact=True).fill("donna")
    page.get_by_role("button", name="Find", exact=True).click()
    wait_for_text(page, "2 places")
    found = page.locator("li", has_text="Donna").all_inner_texts()
    assert found == ["0:02.900 Speaker 1: We met Donna on Monday.", "0:08.300 Speaker 2: Thanks Donna, the budget is fine."]
    page.get_by_role("link", name="0:08.300").click()  # a time plays the recording from there
    assert abs(player(page, "currentTime") - 8.3) < 0.5

    page.get_by_role("textbox", name="Replace with", exact=True).fill("Dana")
    page.get_by_label("Also add it to names and terms").check()
    page.get_by_role("button", name="Replace all").click()
    wait_for_text(page, "Replaced 2 places")
    page.get_by_text("Options: names and terms").click()
    assert "Dana" in page.get_by_placeholder("Dana Whitfield, Kubernetes, OKRs").input_value()
    words = json.loads(download(page, tmp_path, "meeting.json").read_text(encoding="utf-8"))["words"]
    old = json.loads(before["meeting.json"])["words"]
    assert [w["text"] for w in words] == [w["text"].replace("Donna", "Dana") for w in old]
    assert [(w["start"], w["end"], w["speaker"]) for w in words] == [(w["start"], w["end"], w["speaker"]) for w in old]
    assert [w.get("edited", False) for w in words] == [w["text"].startswith("Donna") for w in old]
    assert "Dana" not in marked(page) and "Donna" not in marked(page)  # edited words are not to check
    page.wait_for_function(f"() => !document.querySelector('#{views.SEGMENTS_ID} [data-testid=cell-0-2]')"
                           ".style.boxShadow")
    assert marked_rows(page) == [1, 2]  # the first segment has no word left to check
    screenshot(page, tmp_path, "replaced")

    page.get_by_role("button", name="Undo last replace").click()
    wait_for_text(page, "Replace undone")
    assert exports(folder) == before and not (folder / ".original.json").exists()  # byte for byte
    page.wait_for_function(f"() => document.querySelector('#{views.SEGMENTS_ID} [data-testid=cell-0-2]')"
                           ".style.boxShadow")
    assert marked_rows(page) == [0, 1, 2]
    page.get_by_role("button", name="Undo last replace").click()
    wait_for_text(page, "There is no replace to undo")

    # Another transcript opened: the messages and the find of this one go with it.
    add_checked_entry(store, "other.wav", folder / "audio.wav")
    page.get_by_role("tab", name="History").click()
    page.get_by_role("button", name="Refresh", exact=True).click()
    open_from_history(page, "other.wav")
    page.wait_for_function("() => !document.body.innerText.includes('There is no replace to undo')")
    assert page.get_by_role("textbox", name="Find", exact=True).input_value() == ""
    assert page.locator("li", has_text="Donna").count() == 0


def test_split_and_merge_at_a_picked_word_keep_every_word_and_its_time(opened, tmp_path):
    page, store, entry = opened
    words_before = store.load(entry)[0].words
    page.get_by_role("button", name="Merge picked word's segment with the next").click()
    wait_for_text(page, "Pick a word first")  # nothing picked yet: nothing merged
    assert len(store.load(entry)[0].segments) == 3
    page.locator(f"#{views.READ_ALONG_ID} span", has_text="budget").click()
    page.get_by_role("button", name="Split segment at the picked word").click()
    wait_for_text(page, "Segment split")
    page.wait_for_function(f"() => document.querySelectorAll('#{views.SEGMENTS_ID} [data-testid^=cell-][data-testid$=\"-2\"]').length === 4")
    texts = [row[2] for row in grid_rows(grid(page, SEGMENTS))]
    assert texts[1:3] == ["Thanks Donna, the", "budget is fine."]
    transcript = store.load(entry)[0]
    assert transcript.words == words_before
    assert transcript.segments[1].end == words_before[7].end and transcript.segments[2].start == words_before[8].start

    page.locator(f"#{views.READ_ALONG_ID} span", has_text="Thanks").click()
    page.get_by_role("button", name="Merge picked word's segment with the next").click()
    wait_for_text(page, "Segments merged")
    page.wait_for_function(f"() => document.querySelectorAll('#{views.SEGMENTS_ID} [data-testid^=cell-][data-testid$=\"-2\"]').length === 3")
    assert store.load(entry)[0].words == words_before
    assert [s.text for s in store.load(entry)[0].segments][1] == "Thanks Donna, the budget is fine."
    # Merging across speakers is refused, and says why.
    page.locator(f"#{views.READ_ALONG_ID} span", has_text="Thanks").click()
    page.get_by_role("button", name="Merge picked word's segment with the next").click()
    wait_for_text(page, "another speaker")
