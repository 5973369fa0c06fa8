"""The studio's editor in a real headless Chromium: edit a segment and save it into History (its TXT, DOCX
and JSON), name the speakers, open each file of a batch from its row, download a batch as one zip, a file
added twice queued once. The recipe and fixtures are tests/test_browser.py's."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.media import speechlike, write_audio
from tests.test_browser import (  # noqa: F401 - fixtures are used by name
    FILES,
    SEGMENTS,
    block,
    body_text,
    browser,
    grid,
    grid_rows,
    page,
    screenshot,
    seek_to_segment,
    studio,
    textbox,
    transcribe_button,
    typed,
    wait_for_text,
)
from transcribe_studio.app import views
from transcribe_studio.models import PARAKEET
from transcribe_studio.models.spec import label
from transcribe_studio.outputs.writers import write_outputs
from transcribe_studio.transcription.transcript import Segment, Transcript, Word

docx = pytest.importorskip("docx", reason="python-docx is not installed")


def add_entry(store, source: str, segments: list[tuple[str | None, str]], audio: Path | None = None) -> str:
    """A finished History entry of ``segments`` ((speaker or None, text)), words 0.4 s apart, with TXT, JSON,
    DOCX and Markdown, and a copy of ``audio`` when given."""
    words, shown, t = [], [], 0.5
    for speaker, text in segments:
        timed = []
        for word in text.split():
            timed.append(Word(t, t + 0.3, word, speaker=speaker))
            t += 0.4
        shown.append(Segment(timed[0].start, timed[-1].end, text, speaker=speaker))
        words += timed
        t += 0.5
    transcript = Transcript(text=" ".join(text for _, text in segments), segments=shown, words=words,
                            model=label(PARAKEET), duration=t + 0.5)
    entry_dir = store.open_entry(source)
    write_outputs(transcript, source, entry_dir, ("txt", "json", "docx", "md"),
                  {"model": label(PARAKEET), "source": source})
    return store.finish(entry_dir, audio=audio)


def open_from_history(page, source: str) -> None:
    page.get_by_role("tab", name="History").click()
    table = page.get_by_role("grid", name=re.compile("^Finished transcriptions"))
    row = next(i for i, r in enumerate(grid_rows_when_listed(table, source)) if r[1] == source)
    table.locator(f"[data-testid=cell-{row}-1]").click()
    wait_for_text(page, f"Selected: {source}")
    page.get_by_role("button", name="Open", exact=True).click()
    wait_for_text(page, "Opened from History.")


def grid_rows_when_listed(table, source: str) -> list[list[str]]:
    table.locator(".virtual-body").get_by_text(source, exact=True).wait_for()
    return grid_rows(table)


def download(page, tmp_path: Path, name: str, where: str = "Downloads") -> Path:
    with page.expect_download() as info:
        block(page, where).locator(f"a[data-testid=download-link][download='{name}']").click()
    saved = tmp_path / f"downloaded-{name}"
    info.value.save_as(saved)
    return saved


def edit_cell(page, row: int, column: int, text: str) -> None:
    cell = grid(page, SEGMENTS).locator(f"[data-testid=cell-{row}-{column}]")
    cell.dblclick()
    editor = cell.locator("textarea, input").first
    editor.fill(text)
    editor.press("Enter")


def test_an_edited_segment_is_saved_into_every_download_and_unchanged_words_keep_their_times(
        page, studio, tmp_path):
    app, _ = studio
    store = app.studio_history
    recording = write_audio(tmp_path / "meeting.wav", speechlike(6.0, seed=2), 16000)
    entry = add_entry(store, "meeting.wav", [(None, "We met on Monday."), (None, "The budget is fine.")], recording)
    before, _, _ = store.load(entry)
    page.reload()
    open_from_history(page, "meeting.wav")

    # A click on a segment moves the player of the whole recording to its start.
    seek_to_segment(page, 1, before.segments[1].start)
    # As it plays, the segment under the playhead is highlighted, and only that one.
    page.wait_for_function("""() => {
        const cell = (row) => document.querySelector(`#segments-table [data-testid=cell-${row}-2]`).style.background;
        return cell(1) !== '' && cell(0) === ''; }""")

    edit_cell(page, 1, 2, "The budget is fine, Dana.")
    page.get_by_role("button", name="Save edits", exact=True).click()
    wait_for_text(page, "Edits saved")
    edited = "We met on Monday. The budget is fine, Dana."
    page.wait_for_function("([el, t]) => el.value === t", arg=[textbox(page, "Transcript").element_handle(), edited])
    page.wait_for_function(  # the read-along under the player has the edit too, without reopening the entry
        f"t => [...document.querySelectorAll('#{views.READ_ALONG_ID} span')].map(s => s.innerText).join(' ') === t",
        arg=edited)
    screenshot(page, tmp_path, "editor")

    page.reload()  # the edit is in History, not only on the page
    open_from_history(page, "meeting.wav")
    assert [row[2] for row in grid_rows(grid(page, SEGMENTS))] == ["We met on Monday.", "The budget is fine, Dana."]
    assert " ".join(download(page, tmp_path, "meeting.txt").read_text(encoding="utf-8").split()) == edited
    document = docx.Document(str(download(page, tmp_path, "meeting.docx")))
    assert "The budget is fine, Dana." in "\n".join(p.text for p in document.paragraphs)

    # Unchanged words kept their times; the new one is marked estimated, inside its segment.
    words = json.loads(download(page, tmp_path, "meeting.json").read_text(encoding="utf-8"))["words"]
    kept = [w for w in words if not w.get("estimated")]
    assert [w["text"] for w in kept] == ["We", "met", "on", "Monday.", "The", "budget", "is", "fine,"]
    assert [(w["start"], w["end"]) for w in kept] == [(w.start, w.end) for w in before.words]
    new = [w for w in words if w.get("estimated")]
    assert [w["text"] for w in new] == ["Dana."]
    assert all(before.segments[1].start <= w["start"] <= w["end"] <= before.segments[1].end for w in new)
    assert store.original(entry).text == before.text  # the model's own text is kept


def test_speakers_are_shown_and_renamed_and_an_entry_without_audio_says_so(page, studio, tmp_path):
    app, _ = studio
    store = app.studio_history
    entry = add_entry(store, "interview.wav", [("Speaker 1", "Welcome to the show."), ("Speaker 2", "Thanks a lot.")])
    page.reload()
    open_from_history(page, "interview.wav")
    wait_for_text(page, "Audio not kept for this transcript")
    segments = grid(page, SEGMENTS)
    body_text(segments, "Thanks a lot.").wait_for()  # the table renders after the message on a busy machine
    assert [row[2:] for row in grid_rows(segments)] == [["Welcome to the show.", "Speaker 1"],
                                                        ["Thanks a lot.", "Speaker 2"]]
    assert textbox(page, "Transcript").input_value() == "Speaker 1: Welcome to the show.\n\nSpeaker 2: Thanks a lot."

    names = page.get_by_placeholder("Speaker 1 = Dana, Speaker 2 = Lee")
    typed(names, "Speaker 9 = Nobody")
    page.get_by_role("button", name="Rename speakers", exact=True).click()
    wait_for_text(page, "The speakers could not be renamed")
    wait_for_text(page, 'This transcript has no speaker "Speaker 9", so nothing was renamed. Its speakers are '
                        "Speaker 1, Speaker 2.")
    typed(names, "Speaker 2 = Dana")
    page.get_by_role("button", name="Rename speakers", exact=True).click()
    wait_for_text(page, "Speakers renamed")
    page.wait_for_function("el => el.value.includes('Dana: Thanks a lot.')",
                           arg=textbox(page, "Transcript").element_handle())
    assert [row[3] for row in grid_rows(grid(page, SEGMENTS))] == ["Speaker 1", "Dana"]
    _, _, shown = store.load(entry)
    txt = next(p for p in shown.files if p.suffix == ".txt").read_text(encoding="utf-8")
    assert "Dana: Thanks a lot." in txt and "Speaker 2" not in txt


def test_each_batch_row_opens_its_file_download_all_zips_them_and_a_file_added_twice_runs_once(
        page, studio, tmp_path):
    app, _ = studio
    first = write_audio(tmp_path / "first.wav", speechlike(2.0, seed=7), 16000)
    second = write_audio(tmp_path / "second.wav", speechlike(3.0, seed=8), 16000)
    again = tmp_path / "again" / "first.wav"  # the same file, chosen again from another folder
    again.parent.mkdir()
    shutil.copyfile(first, again)
    files = block(page, "Audio or video files")
    files.locator("input[type=file]").set_input_files([str(p) for p in (first, second, again)])
    files.locator("a[data-testid=download-link][download='second.wav']").wait_for()
    assert files.locator("a[data-testid=download-link][download='first.wav']").count() == 2
    page.get_by_text("Options: names and terms").click()
    for name in ("Markdown", "DOCX (Word)"):
        page.get_by_label(name, exact=True).check()
    transcribe_button(page).click()
    wait_for_text(page, "2 of 2 file(s) transcribed", timeout_ms=60_000)  # a shared CPU may be slow
    assert [row[0] for row in grid_rows(grid(page, FILES))] == ["first.wav", "second.wav"]
    entries = {e.source: e for e in app.studio_history.entries()}
    assert sorted(entries) == ["first.wav", "second.wav"]

    def shown_downloads() -> list[str]:
        return sorted(block(page, "Downloads").locator("a[data-testid=download-link]").evaluate_all(
            "links => links.map(a => a.download)"))

    assert shown_downloads()[0].startswith("second.")  # the last file finished is shown
    grid(page, FILES).locator("[data-testid=cell-0-0]").click()
    page.wait_for_function("() => [...document.querySelectorAll('a[data-testid=download-link]')]"
                           ".some(a => a.download === 'first.txt')")
    assert shown_downloads() == [f"first.{ext}" for ext in ("docx", "json", "md", "srt", "txt", "vtt")]
    segments = [s.text for s in app.studio_history.load(entries["first.wav"].id)[0].segments]
    document = "\n".join(p.text for p in docx.Document(str(download(page, tmp_path, "first.docx"))).paragraphs)
    markdown = download(page, tmp_path, "first.md").read_text(encoding="utf-8")
    assert segments and all(text in document and text in markdown for text in segments)
    seek_to_segment(page, 0, app.studio_history.load(entries["first.wav"].id)[0].segments[0].start)

    page.get_by_role("button", name=re.compile("^Download all")).click()
    link = block(page, "All files").locator("a[data-testid=download-link]")
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / "all.zip"
    info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        names = set(archive.namelist())
    assert names == {f"{e.id}/{p.name}" for e in entries.values() for p in e.files}
    assert {"first.txt", "second.txt"} <= {Path(n).name for n in names}


def test_a_failed_batch_row_clears_the_view_and_says_why_and_a_good_row_says_which_file(page, studio, tmp_path):
    good = write_audio(tmp_path / "good.wav", speechlike(2.0, seed=3), 16000)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really a wave file" * 100)
    files = block(page, "Audio or video files")
    files.locator("input[type=file]").set_input_files([str(good), str(broken)])
    files.locator("a[data-testid=download-link][download='broken.wav']").wait_for()
    transcribe_button(page).click()
    wait_for_text(page, "1 of 2 file(s) transcribed")
    table = grid(page, FILES)
    assert [row[:2] for row in grid_rows(table)] == [["good.wav", "done"], ["broken.wav", "failed"]]
    reason = grid_rows(table)[1][2]

    table.locator("[data-testid=cell-0-0]").click()
    wait_for_text(page, "Showing good.wav.")
    assert textbox(page, "Transcript").input_value()
    table.locator("[data-testid=cell-1-0]").click()
    wait_for_text(page, "broken.wav has no transcript")
    page.wait_for_function("el => el.value === ''", arg=textbox(page, "Transcript").element_handle())
    assert block(page, "Downloads").locator("a[data-testid=download-link]").count() == 0
    assert reason.split(":")[0] in page.locator("body").inner_text()  # the reason, in full, beside the table

