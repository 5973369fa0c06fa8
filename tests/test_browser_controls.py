"""Controls that must not mislead, in a real headless Chromium: the downloads are links with nothing to remove,
and the segments table, whose rows come from the transcript, never offers to add one. The recipe and fixtures
are tests/test_browser.py's."""

from __future__ import annotations

from tests.test_browser import (  # noqa: F401 - fixtures are used by name
    SEGMENTS,
    block,
    browser,
    grid,
    grid_rows,
    page,
    studio,
)
from tests.test_browser_editor import add_entry, open_from_history
from transcribe_studio.app import layout

ADD_ROW = "button[aria-label^='Add row'], .add-row-button"


def test_downloads_have_nothing_to_remove_and_segments_no_row_to_add(page, studio):  # noqa: F811
    segments = grid(page, SEGMENTS)
    segments.wait_for()
    table = page.locator(f"#{layout.SEGMENTS_ID}")
    assert table.get_by_role("button", name="Copy table data").count() == 1  # the right block
    assert table.locator(ADD_ROW).filter(visible=True).count() == 0  # before any transcript

    store = studio[0].studio_history
    add_entry(store, "meeting.wav", [(None, "We met on Monday."), (None, "The budget is fine.")])
    page.reload()
    open_from_history(page, "meeting.wav")
    segments.locator(".virtual-body").get_by_text("The budget is fine.", exact=True).wait_for()
    assert [row[2] for row in grid_rows(segments)] == ["We met on Monday.", "The budget is fine."]
    assert table.locator(ADD_ROW).filter(visible=True).count() == 0
    # Not from a cell's menu either.
    segments.locator("[data-testid=cell-1-2]").click(button="right")
    page.wait_for_timeout(300)
    assert page.get_by_role("menuitem", name="Add row below").filter(visible=True).count() == 0
    page.keyboard.press("Escape")

    downloads = block(page, "Downloads")
    links = downloads.locator("a[data-testid=download-link]")
    assert sorted(links.evaluate_all("links => links.map(a => a.download)")) == [
        "meeting.docx", "meeting.json", "meeting.md", "meeting.txt"]
    assert downloads.get_by_role("button", name="Remove this file").filter(visible=True).count() == 0
    # Not drawn at all, so not reachable by keyboard either.
    assert page.evaluate("() => [...document.querySelectorAll('.label-clear-button')]"
                         ".every(b => b.offsetParent === null)")
