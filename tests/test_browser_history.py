"""History in a real headless Chromium: Delete's question follows the row picked, two runs of one file in one
minute are told apart, and search finds a speaker by the name given to it. The recipe and fixtures are
tests/test_browser.py's."""

from __future__ import annotations

import re

from tests.test_browser import (  # noqa: F401 - fixtures are used by name
    body_text,
    browser,
    grid_rows,
    page,
    studio,
    textbox,
    wait_for_text,
)
from tests.test_browser_editor import add_entry

CONFIRM_QUESTION = "Press Confirm delete to delete it for good."


def history_table(tab):
    tab.get_by_role("tab", name="History").click()
    return tab.get_by_role("grid", name=re.compile("^Finished transcriptions"))


def pick(tab, table, row: int, source: str) -> None:
    table.locator(f"[data-testid=cell-{row}-1]").click()
    wait_for_text(tab, f"Selected: {source}")


def test_picking_another_row_after_delete_clears_the_question(page, studio):  # noqa: F811
    app, _ = studio
    store = app.studio_history
    keep = add_entry(store, "keep.wav", [(None, "Kept for later.")])
    other = add_entry(store, "other.wav", [(None, "The other one.")])
    page.reload()
    table = history_table(page)
    body_text(table, "other.wav").wait_for()
    confirm = page.get_by_role("button", name="Confirm delete", exact=True)

    pick(page, table, 0, "other.wav")
    page.get_by_role("button", name="Delete", exact=True).click()
    wait_for_text(page, "Delete other.wav")
    confirm.wait_for()
    # Another row: neither the question about other.wav nor its Confirm button stays.
    pick(page, table, 1, "keep.wav")
    confirm.wait_for(state="detached")
    page.get_by_text(CONFIRM_QUESTION).wait_for(state="detached")
    assert "other.wav and all its files" not in page.locator("body").inner_text()

    # Delete now asks about the row picked, and deletes that one.
    page.get_by_role("button", name="Delete", exact=True).click()
    wait_for_text(page, "Delete keep.wav")
    confirm.click()
    wait_for_text(page, "Deleted.")
    assert [e.id for e in store.entries()] == [other] and keep not in {e.id for e in store.entries()}


def test_two_runs_of_one_file_in_one_minute_are_told_apart(page, studio):  # noqa: F811
    store = studio[0].studio_history
    for text in ("First run.", "Second run."):
        add_entry(store, "talk.wav", [(None, text)])
    page.reload()
    table = history_table(page)
    body_text(table, "Second run.").wait_for()
    entries = store.entries()
    rows = grid_rows(table)
    assert [row[0] for row in rows] == [e.created.astimezone().strftime("%Y-%m-%d %H:%M:%S") for e in entries]
    assert [row[1] for row in rows] == ["talk.wav", "talk.wav"]
    pick(page, table, 0, "talk.wav")
    wait_for_text(page, f"({rows[0][0]})")  # the selection names the run by its second


def test_search_finds_a_speaker_by_the_name_given_to_it(page, studio):  # noqa: F811
    store = studio[0].studio_history
    add_entry(store, "chat.wav", [(None, "Nobody named here.")])
    interview = add_entry(store, "interview.wav", [("Speaker 1", "Welcome to the show."),
                                                   ("Speaker 2", "Thanks a lot.")])
    store.rename_speakers(interview, {"Speaker 2": "Zebedee"})
    page.reload()
    table = history_table(page)
    body_text(table, "chat.wav").wait_for()
    search = textbox(page, "Search file names and text")
    search.fill("zebedee")
    body_text(table, "chat.wav").wait_for(state="detached")
    assert [row[1] for row in grid_rows(table)] == ["interview.wav"]

    store.rename_speakers(interview, {"Speaker 2": "Quentin"})  # the name as it is now, not as it was
    search.fill("")
    body_text(table, "chat.wav").wait_for()
    search.fill("quentin")
    body_text(table, "chat.wav").wait_for(state="detached")
    assert [row[1] for row in grid_rows(table)] == ["interview.wav"]
    search.fill("zebedee")
    body_text(table, "interview.wav").wait_for(state="detached")
    assert grid_rows(table) == [] or all(not any(cell for cell in row) for row in grid_rows(table))
