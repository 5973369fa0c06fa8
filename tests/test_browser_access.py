"""The studio by keyboard, for a screen reader and on narrow windows, in a real headless Chromium (the recipe and
fixtures are tests/test_browser.py's): the main flow in a few key presses, every control named, the read-along
words played by keyboard, no serious or critical axe-core finding on any tab, and a first screen that holds
Transcribe, times that never wrap and a readable History at 1366, 1000 and 420 pixels, checked by element sizes.

axe-core comes from the ``axe-playwright-python`` package (tests/requirements.txt), which ships its
``axe.min.js``; the check is skipped, saying so, only where that package is not installed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.media import speechlike, write_audio
from tests.test_browser import (  # noqa: F401 - fixtures are used by name
    TIMEOUT_MS,
    body_text,
    browser,
    grid_rows,
    screenshot,
    studio,
    transcribe_button,
    wait_for_text,
)
from tests.test_browser_editor import open_from_history
from transcribe_studio.app import layout, views
from transcribe_studio.models import PARAKEET
from transcribe_studio.models.spec import label
from transcribe_studio.outputs.writers import write_outputs
from transcribe_studio.transcription.transcript import Segment, Transcript, Word

# The windows of the walk-through: a laptop, a narrow desktop window, a phone held upright.
WINDOWS = [(1366, 768), (1000, 768), (420, 768)]
MAIN_FLOW_KEYS = 8  # key presses after the file dialog, to the transcript of the file chosen
SERIOUS = ("serious", "critical")
ACTIVE = "document.activeElement"


def new_tab(browser, width: int, height: int, url: str):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.goto(url)
    transcribe_button(tab).wait_for()
    return context, tab


def _hour_long_entry(store) -> str:
    """A History entry whose times pass the hour ("1:00:01.280", the longest a time is shown)."""
    texts = ["We met on Monday and talked about the budget for the next year at length.", "The budget is fine."]
    segments, words, t = [], [], 3597.0
    for text in texts:
        timed = []
        for word in text.split():
            timed.append(Word(t, t + 0.3, word))
            t += 0.4
        segments.append(Segment(timed[0].start, timed[-1].end, text))
        words += timed
    transcript = Transcript(text=" ".join(texts), segments=segments, words=words, model=label(PARAKEET),
                            duration=t + 1.0)
    entry_dir = store.open_entry("hour-long meeting.wav")
    write_outputs(transcript, "hour-long meeting.wav", entry_dir, ("txt", "json"),
                  {"model": label(PARAKEET), "source": "hour-long meeting.wav"})
    return store.finish(entry_dir)


# Per cell text: how many lines it takes, its cell's width, and whether it ends inside its cell (no clipped digits).
_LINES = """cells => cells.map(cell => {
    const range = document.createRange(); range.selectNodeContents(cell);
    const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    const box = cell.closest('[role=gridcell], th').getBoundingClientRect();
    return {text: cell.innerText.trim(), lines: lines.size, width: box.width,
            fits: Math.max(...[...range.getClientRects()].map(r => r.right)) <= box.right + 1};
})"""


def check_segment_times(tab) -> None:
    """Each time and header of the segments table on one line and whole."""
    table = tab.locator(f"#{views.SEGMENTS_ID}")
    body_text(table, "The budget is fine.").wait_for()
    cells = table.locator("th .header-content span, .virtual-body [role=gridcell][data-col='0'] .cell-wrap > span, "
                          ".virtual-body [role=gridcell][data-col='1'] .cell-wrap > span").evaluate_all(_LINES)
    times = [c["text"] for c in cells if re.fullmatch(r"\d+(:\d\d)+\.\d{3}", c["text"])]
    assert len(times) == 4 and times[0] == "59:57.000" and times[-1].startswith("1:00:"), cells
    assert all(c["lines"] == 1 and c["fits"] for c in cells), cells


def check_history_readable(tab, width: int) -> None:
    """History's headers on one line, no column a letter wide, durations and sizes whole; on a window too narrow
    for its columns the table scrolls sideways to its preview."""
    tab.get_by_role("tab", name="History").click()
    table = tab.locator(f"#{layout.HISTORY_ID}")
    body_text(table, "hour-long meeting.wav").wait_for()
    headers = table.locator("th .header-content span").evaluate_all(_LINES)
    assert [h["text"] for h in headers] == views.HISTORY_HEADERS
    assert all(h["lines"] == 1 and h["width"] >= 40 for h in headers), headers
    cells = table.locator(".virtual-body [role=gridcell] .cell-wrap > span").evaluate_all(_LINES)
    by_column = dict(zip(views.HISTORY_HEADERS, cells))
    assert by_column["duration"]["lines"] == by_column["size"]["lines"] == 1, json.dumps(cells, indent=1)
    assert by_column["created"]["lines"] <= 2 and by_column["file"]["lines"] <= 2, cells  # broken at spaces only
    assert all(c["width"] >= 80 for c in cells), cells
    viewport = table.locator(".virtual-table-viewport")
    scrolled = viewport.evaluate("el => { el.scrollLeft = el.scrollWidth; return el.scrollLeft; }")
    preview = table.locator(".virtual-body [role=gridcell][data-col='5']").bounding_box()
    shown = viewport.bounding_box()
    assert preview["x"] >= shown["x"] - 1 and preview["x"] + 100 <= shown["x"] + shown["width"] + 1
    if width <= 500:
        assert scrolled > 0  # narrower than its columns: it scrolls, it does not squeeze them


def test_the_first_screen_holds_transcribe_and_times_and_history_stay_readable(browser, studio, tmp_path):
    app, url = studio
    _hour_long_entry(app.studio_history)
    for width, height in WINDOWS:
        context, tab = new_tab(browser, width, height, url)
        try:
            # A first visit: the drop zone and Transcribe are on the first screen, nothing to scroll.
            for control in (tab.locator(f"#{layout.FILES_ID}"), transcribe_button(tab)):
                box = control.bounding_box()
                assert box and 0 <= box["y"] and box["y"] + box["height"] <= height, (width, box)
            screenshot(tab, tmp_path, f"first-screen-{width}")
            open_from_history(tab, "hour-long meeting.wav")
            check_segment_times(tab)
            check_history_readable(tab, width)
            screenshot(tab, tmp_path, f"history-{width}")
        finally:
            context.close()


def tab_until(tab, test: str, most: int) -> int:
    """Press Tab until ``test`` (a JS expression on the focused element ``el``) holds: the presses it took."""
    for presses in range(1, most + 1):
        tab.keyboard.press("Tab")
        if tab.evaluate(f"(el => !!({test}))({ACTIVE})"):
            return presses
    raise AssertionError(f"{test!r} not reached in {most} Tab presses (focus on "
                         f"{tab.evaluate(f'{ACTIVE}.outerHTML.slice(0, 200)')})")


def choose_a_file_by_keyboard(tab, audio: Path) -> None:
    """Tab to the drop zone, Enter: the file dialog opens; choose ``audio`` in it."""
    tab_until(tab, f"el.closest('#{layout.FILES_ID} button.upload-container')", most=10)
    with tab.expect_file_chooser() as chooser:
        tab.keyboard.press("Enter")
    chooser.value.set_files(str(audio))
    # Focus comes back to the page where the person was: the file just chosen, in the list of files.
    tab.wait_for_function(f"() => {ACTIVE}.closest('#{layout.FILES_ID}') && {ACTIVE}.download === '{audio.name}'")


def play_words_by_keyboard(tab, words) -> None:
    """From the transcript, Tab reaches the read-along (one stop for all its words); End and Enter play the last
    word, the left arrow and Space the one before it."""
    tab_until(tab, f"el.closest('#{views.READ_ALONG_ID}')", most=12)
    spans = tab.locator(f"#{views.READ_ALONG_ID} [role=button]")
    assert spans.count() == len(words) and tab.locator(f"#{views.READ_ALONG_ID} [tabindex='0']").count() == 1
    tab.locator(f"#{layout.PLAYER_ID}").evaluate(
        "el => { window.seeks = []; el.addEventListener('seeked', () => window.seeks.push(el.currentTime)); }")
    for key, index in (("End", len(words) - 1), ("ArrowLeft", len(words) - 2)):
        tab.keyboard.press(key)
        assert tab.evaluate(f"{ACTIVE}.innerText") == words[index].text
        tab.keyboard.press("Enter" if key == "End" else " ")
        tab.wait_for_function("t => window.seeks.some(s => Math.abs(s - t) < 0.05)", arg=words[index].start)


def axe_findings(tab, axe_js: Path) -> list[dict]:
    tab.add_script_tag(path=str(axe_js))
    found = tab.evaluate("axe.run(document, {resultTypes: ['violations']})")["violations"]
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "where": [" ".join(node["target"]) for node in v["nodes"]][:5]} for v in found]


def axe_each_tab(tab, tmp_path: Path) -> list[dict]:
    """axe-core on each tab (Transcribe with the Ask section open, History, Models, Help): every finding, with the
    tab it was on; a copy in ``tmp_path``/axe.json."""
    try:
        from axe_playwright_python.base import AXE_FILE_PATH
    except ImportError:
        pytest.skip("axe-core is not installed: pip install -r tests/requirements.txt (axe-playwright-python ships "
                    "axe.min.js)")
    tab.get_by_text(re.compile(r"^Ask .* about this transcript")).click()
    tab.get_by_role("button", name="Summary", exact=True).wait_for()
    findings = [{"tab": "Transcribe", **f} for f in axe_findings(tab, AXE_FILE_PATH)]
    for name in ("History", "Models", "Help"):
        tab.get_by_role("tab", name=name).click()
        tab.get_by_role("tab", name=name, selected=True).wait_for()
        tab.wait_for_timeout(300)  # the tab's tables draw themselves
        findings += [{"tab": name, **f} for f in axe_findings(tab, AXE_FILE_PATH)]
    (tmp_path / "axe.json").write_text(json.dumps(findings, indent=1), encoding="utf-8")
    return findings


def test_the_main_flow_by_keyboard_with_named_controls_and_no_serious_axe_finding(browser, studio, tmp_path):
    app, url = studio
    talk = write_audio(tmp_path / "talk.wav", speechlike(3.0, seed=1), 16000)
    context, tab = new_tab(browser, 1366, 768, url)
    try:
        choose_a_file_by_keyboard(tab, talk)
        presses = tab_until(tab, f"el.id === '{layout.RUN_ID}' || el.closest('#{layout.RUN_ID}')", MAIN_FLOW_KEYS)
        tab.keyboard.press("Enter")
        presses += 1
        wait_for_text(tab, "1 of 1 file(s) transcribed")
        # The outcome is read out (a polite live region), and the transcript is the next stops away.
        assert tab.locator(f"#{layout.MESSAGE_ID}").get_attribute("role") == "status"
        presses += tab_until(tab, f"el.closest('#{layout.TRANSCRIPT_ID}') && el.tagName === 'TEXTAREA'",
                             MAIN_FLOW_KEYS - presses)
        transcript, _, _ = app.studio_history.load(app.studio_history.entries()[0].id)
        assert tab.evaluate(f"{ACTIVE}.value") == transcript.text and presses <= MAIN_FLOW_KEYS

        # Every control of the flow is named for a screen reader.
        assert tab.get_by_role("textbox", name="Transcript", exact=True).count() == 1
        assert tab.get_by_role("textbox", name="Speaker names", exact=True).count() == 1
        assert tab.locator(f"#{layout.PLAYER_ID}").get_attribute("aria-label") == "Recording of talk"
        for name in ("talk.srt", "talk.txt", "talk.json"):
            tab.get_by_role("link", name=re.compile(rf"^Download {re.escape(name)} \(\d")).wait_for()
        play_words_by_keyboard(tab, transcript.words)
        screenshot(tab, tmp_path, "keyboard")

        findings = axe_each_tab(tab, tmp_path)
        serious = [f for f in findings if f["impact"] in SERIOUS]
        assert not serious, json.dumps(serious, indent=1)
        print("axe-core findings below serious:", json.dumps(findings, indent=1))
        tab.get_by_role("tab", name="Models").click()
        tab.get_by_role("grid", name="Models", exact=True).wait_for()
    finally:
        context.close()
