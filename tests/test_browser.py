"""The studio in a real headless Chromium (Playwright, sync API), served in-process on 127.0.0.1
with the tiny real models: upload, transcribe, click a segment to seek the player, download the SRT,
cancel a batch, History (open, delete) and the Models tab.

Skipped, with the reason, where Playwright or Chromium is missing (``tests/run.sh`` installs
both when it can). Never ``playwright install``: the tests drive Debian's ``/usr/bin/chromium``.
Each test keeps a screenshot in its ``tmp_path`` and a copy in the git-ignored ``.test-tmp/screens/``
(for docs/screenshots/; never the system temp folder).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

from tests.media import speechlike, write_audio  # noqa: E402
from transcribe_studio.app import layout, views  # noqa: E402
from transcribe_studio.models import CANARY, PARAKEET, get, nemo_asr  # noqa: E402
from transcribe_studio.models import spec as specs  # noqa: E402
from transcribe_studio.models.spec import label  # noqa: E402
from transcribe_studio.outputs.writers import write_outputs  # noqa: E402
from transcribe_studio.transcription.transcript import Segment, Transcript, Word  # noqa: E402

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium")) if p and os.access(p, os.X_OK)), None)
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (/usr/bin/chromium; `apt-get install chromium`, as tests/run.sh does "
                "when run as root)", allow_module_level=True)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENS = Path(__file__).resolve().parents[1] / ".test-tmp" / "screens"
TIMEOUT_MS = 15_000
SEGMENTS, FILES = layout.SEGMENTS_LABEL, layout.FILES_LABEL
SRT_CUE = re.compile(r"^(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})$")


# --- fixtures ------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def studio(serve_studio, studio_settings, shared_cache):
    """(app, url) of the studio on the session's cache (tiny models, loaded once per session)."""
    return serve_studio(studio_settings, shared_cache)


@pytest.fixture
def page(browser, studio):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1000, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.goto(studio[1])
    transcribe_button(tab).wait_for()
    yield tab
    context.close()


def transcribe_button(page):
    return page.get_by_role("button", name="Transcribe", exact=True)


def grid(page, label: str):
    """A Dataframe, found by its label (its grid's accessible name)."""
    return page.get_by_role("grid", name=label, exact=True)


def grid_rows(table) -> list[list[str]]:
    """The body rows' cell texts (Gradio renders a virtual table: rows with role=row in .virtual-body)."""
    return table.locator(".virtual-body [role=row]").evaluate_all(
        "rows => rows.map(r => Array.from(r.querySelectorAll('[role=gridcell]')).map(c => c.innerText.trim()))")


def body_text(table, text: str):
    """A cell text in a Dataframe's visible body (its hidden sizing table repeats the first row)."""
    return table.locator(".virtual-body").get_by_text(text, exact=True)


def block(page, label: str):
    """The component block whose label is exactly ``label`` (File, Audio, Textbox)."""
    return page.locator("div.block").filter(has=page.locator(
        "[data-testid=block-label], [data-testid=block-info]", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))


def textbox(page, label: str):
    return block(page, label).locator("textarea, input")


def screenshot(page, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENS / shot.name)
    return shot


def upload(page, *paths: Path) -> None:
    files = block(page, "Audio or video files")
    files.locator("input[type=file]").set_input_files([str(p) for p in paths])
    for path in paths:  # uploaded: the list links each file on the server
        files.locator(f"a[data-testid=download-link][download='{path.name}']").wait_for()


def typed(box, text: str, tries: int = 4) -> None:
    """``text`` typed into ``box`` and the box left (Tab), as a person does before pressing a button, until the
    box holds it: on a busy machine the page may still be drawing itself from its load events, and a box drawn
    again after the typing comes back empty (a person would see that and type again)."""
    for attempt in range(tries):
        box.fill(text)
        box.press("Tab")
        try:
            box.page.wait_for_function("([el, text]) => el.value === text", arg=[box.element_handle(), text],
                                       timeout=3000)
            return
        except Exception:  # noqa: BLE001 - drawn again meanwhile: type it again
            if attempt == tries - 1:
                raise


def wait_for_text(page, pattern: str | re.Pattern, timeout_ms: int = TIMEOUT_MS):
    page.get_by_text(pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))).first.wait_for(
        timeout=timeout_ms)


def clock_seconds(text: str) -> float:
    """'0:01.280' or '1:00:01.280' -> seconds."""
    *hours, minutes, seconds = text.split(":")
    return (int(hours[0]) * 3600 if hours else 0) + int(minutes) * 60 + float(seconds)


def srt_seconds(h, m, s, ms) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def seek_to_segment(page, row: int, start: float) -> None:
    """Click segment ``row``'s start time: the Recording player's <audio> seeks to ``start`` seconds (a seek,
    seen by its ``seeked`` event: playing from 0 would pass ``start`` too)."""
    audio = page.locator(f"#{layout.PLAYER_ID}")
    audio.wait_for(state="attached")
    audio.evaluate("el => { window.seeks = []; el.addEventListener('seeked', () => window.seeks.push(el.currentTime)); }")
    grid(page, SEGMENTS).locator(f"[data-testid=cell-{row}-0]").click()
    page.wait_for_function("t => window.seeks.some(s => Math.abs(s - t) < 0.05)", arg=start)


def play_from_word(page, index: int, start: float) -> None:
    """Click word ``index`` of the read-along under the player: the <audio> seeks to its ``start`` and plays."""
    audio = page.locator(f"#{layout.PLAYER_ID}")
    audio.evaluate("el => { window.seeks = []; el.addEventListener('seeked', () => window.seeks.push(el.currentTime)); }")
    page.locator(f"#{views.READ_ALONG_ID} span").nth(index).click()
    page.wait_for_function("t => window.seeks.some(s => Math.abs(s - t) < 0.05)", arg=start)
    page.wait_for_function(f"i => document.querySelectorAll('#{views.READ_ALONG_ID} span')[i].style.background",
                           arg=index)  # it plays, and the word playing is highlighted


def start_a_batch_held_at_its_second_file(page, tmp_path, monkeypatch):
    """Transcribe part1-3.wav from the page and wait until the second file has started (and is held):
    returns (release, calls) as :func:`hold_the_second_file` does."""
    clips = [write_audio(tmp_path / f"part{i}.wav", speechlike(2.0, seed=i), 16000) for i in range(1, 4)]
    second_started, release, calls = hold_the_second_file(monkeypatch)
    upload(page, *clips)
    transcribe_button(page).click()
    assert second_started.wait(timeout=TIMEOUT_MS / 1000), "the second file never started"
    return release, calls


def hold_the_second_file(monkeypatch):
    """One file per model call (batches of one on the CPU), the real call wrapped so that the second waits for
    ``release``: returns (second_started, release, calls)."""
    second_started, release = threading.Event(), threading.Event()
    calls = []
    spec = get(PARAKEET)

    def held_at_the_second_file(model, pieces, settings):
        calls.append(len(pieces))
        if len(calls) == 2:
            second_started.set()
            release.wait(timeout=TIMEOUT_MS / 1000)  # until Cancel was pressed
        return spec.transcribe_batch(model, pieces, settings)

    monkeypatch.setattr(nemo_asr, "CPU_BATCH_ITEMS", 1)
    monkeypatch.setitem(specs._SPECS, PARAKEET, dataclasses.replace(spec, transcribe_batch=held_at_the_second_file))
    return second_started, release, calls


# --- tests -----------------------------------------------------------------------

def test_transcribe_listen_to_a_segment_and_download_the_srt(page, studio, tmp_path):
    app, _ = studio
    talk = write_audio(tmp_path / "talk.wav", speechlike(3.0, seed=1), 16000)
    upload(page, talk)
    transcribe_button(page).click()
    wait_for_text(page, "1 of 1 file(s) transcribed")

    entry = app.studio_history.entries()[0]
    transcript, _, _ = app.studio_history.load(entry.id)
    assert transcript.text and len(transcript.segments) >= 2  # the tiny Parakeet's scripted sentence, twice
    assert textbox(page, "Transcript").input_value() == transcript.text
    segments = grid_rows(grid(page, SEGMENTS))
    assert [text for _, _, text in segments] == [s.text for s in transcript.segments]
    assert [clock_seconds(t) for start, end, _ in segments for t in (start, end)] == pytest.approx(
        [t for s in transcript.segments for t in (s.start, s.end)], abs=1e-3)
    assert grid_rows(grid(page, FILES))[0][:2] == ["talk.wav", "done"]

    # Click the second segment: the player of the whole recording moves to its start (the recording's clock).
    seek_to_segment(page, 1, transcript.segments[1].start)
    # The words are under the player; clicking the last one plays from its start.
    words = page.locator(f"#{views.READ_ALONG_ID} span")
    assert words.all_inner_texts() == [w.text for w in transcript.words]
    play_from_word(page, len(transcript.words) - 1, transcript.words[-1].start)

    # Download the SRT from the Downloads list; it parses, with the segments' times.
    downloads = block(page, "Downloads")
    names = downloads.locator("a[data-testid=download-link]").evaluate_all("links => links.map(a => a.download)")
    assert sorted(names) == ["talk.json", "talk.srt", "talk.txt", "talk.vtt"]
    with page.expect_download() as info:
        downloads.locator("a[data-testid=download-link][download='talk.srt']").click()
    srt = tmp_path / "downloaded.srt"
    info.value.save_as(srt)
    assert info.value.suggested_filename == "talk.srt"
    cues = [block.splitlines() for block in srt.read_text(encoding="utf-8").strip().split("\n\n")]
    assert cues and [cue[0] for cue in cues] == [str(n) for n in range(1, len(cues) + 1)]
    times = []
    for cue in cues:
        match = SRT_CUE.match(cue[1])
        assert match, cue
        times.append((srt_seconds(*match.groups()[:4]), srt_seconds(*match.groups()[4:])))
        assert len(cue) >= 3 and all(line.strip() for line in cue[2:])
    assert all(0 <= a < b <= transcript.duration + 1e-3 for a, b in times)
    assert times[0][0] == pytest.approx(transcript.segments[0].start, abs=1e-3)
    assert times[-1][1] == pytest.approx(transcript.segments[-1].end, abs=1e-3)
    screenshot(page, tmp_path, "transcribe")

    # The History tab already lists it (refreshed when the job ended).
    page.get_by_role("tab", name="History").click()
    table = page.get_by_role("grid", name=re.compile("^Finished transcriptions"))
    body_text(table, "talk.wav").wait_for()
    assert [row[:2] for row in grid_rows(table)] == [[entry.created.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                                                      "talk.wav"]]  # local time; no internal id on screen
    assert entry.id not in page.locator("body").inner_text()


def test_cancel_stops_a_batch_after_the_file_in_progress(page, studio, tmp_path, monkeypatch):
    """The Cancel button (not reachable through the API) stops the batch at the next progress step: the model call
    in flight finishes and its file is saved, as the one before; the rest never start, and nothing is half-made."""
    app, _ = studio
    release, calls = start_a_batch_held_at_its_second_file(page, tmp_path, monkeypatch)
    history_dir = app.studio_history.root
    assert len([p for p in history_dir.iterdir()]) == 1  # part1 finished; part2's folder is made when it is done
    page.get_by_role("button", name="Cancel", exact=True).click()
    wait_for_text(page, "Cancelling after the current step")
    release.set()
    wait_for_text(page, "Cancelled. 2 finished file(s) are saved in History.")

    assert len(calls) == 2  # part3 never started
    entries = app.studio_history.entries()
    assert sorted(e.source for e in entries) == ["part1.wav", "part2.wav"]
    assert sorted(p.name for p in history_dir.iterdir()) == sorted(e.id for e in entries)  # nothing half-made
    assert all({p.name for p in e.files} >= {f"{Path(e.source).stem}.{x}" for x in ("json", "txt", "srt")}
               for e in entries)
    assert [row[:2] for row in grid_rows(grid(page, FILES))] == [["part1.wav", "done"], ["part2.wav", "done"]]
    screenshot(page, tmp_path, "cancel")

    # The page still works: the same batch again runs to the end.
    transcribe_button(page).click()
    wait_for_text(page, "3 of 3 file(s) transcribed")
    assert len(app.studio_history.entries()) == 5


def test_a_reloaded_page_shows_the_running_job_and_its_cancel_stops_it(page, studio, tmp_path, monkeypatch):
    """A reload does not stop the job (it runs in the app's job registry); the new page attaches to
    it on load, shows its progress in the one progress area, and its Cancel stops it."""
    app, _ = studio
    release, calls = start_a_batch_held_at_its_second_file(page, tmp_path, monkeypatch)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.reload()
    transcribe_button(page).wait_for()
    wait_for_text(page, "1 of 3 files")  # the progress of the running job, shown again
    shown = page.locator(f"#{layout.MESSAGE_ID}").bounding_box()
    assert shown["y"] + 40 <= 768, shown  # in the first screen: where the job is, not below the fold
    wait_for_text(page, re.compile(r"Working .* 3\d%"))
    assert page.locator(".progress-text, .eta-bar").count() == 0  # Gradio's own progress is not shown
    job = app.studio_jobs.current(None)
    assert job is not None and not job.cancel_requested
    screenshot(page, tmp_path, "reload-attached")
    page.get_by_role("button", name="Cancel", exact=True).click()
    wait_for_text(page, "Cancelling after the current step")
    release.set()
    wait_for_text(page, "Cancelled. 2 finished file(s) are saved in History.")
    assert len(calls) == 2 and sorted(e.source for e in app.studio_history.entries()) == ["part1.wav", "part2.wav"]


def test_transcribe_pressed_during_a_running_job_queues_the_new_files_and_says_so(page, studio, tmp_path,
                                                                                  monkeypatch):
    """A press while a job runs (or cancels) is never dropped: the new files queue behind it, the progress
    says what is queued next, and they run when it ends."""
    app, _ = studio
    release, calls = start_a_batch_held_at_its_second_file(page, tmp_path, monkeypatch)
    later = write_audio(tmp_path / "later.wav", speechlike(2.0, seed=9), 16000)
    upload(page, later)  # onto the list still showing the running batch's files: only the new one is queued
    transcribe_button(page).click()
    wait_for_text(page, re.compile(r"Queued next:.*later\.wav"))
    page.set_viewport_size({"width": 1366, "height": 768})
    page.reload()  # the reloaded page follows the running job, then the one queued after it
    wait_for_text(page, re.compile(r"Queued next:.*later\.wav"))
    queued = page.get_by_text(re.compile(r"Queued next:")).first.bounding_box()
    assert queued["y"] + queued["height"] <= 768, queued  # in the first screen
    page.get_by_role("button", name="Cancel", exact=True).click()  # cancels the running batch, not what waits
    wait_for_text(page, "Cancelling after the current step")
    release.set()
    wait_for_text(page, "1 of 1 file(s) transcribed")  # the queued job ran, and the page shows it
    assert sorted(e.source for e in app.studio_history.entries()) == ["later.wav", "part1.wav", "part2.wav"]
    assert grid_rows(grid(page, FILES))[0][:2] == ["later.wav", "done"]
    page.get_by_role("tab", name="History").click()  # refreshed once the queued job ended too
    body_text(page.get_by_role("grid", name=re.compile("^Finished transcriptions")), "later.wav").wait_for()


def _add_entry(store, source: str, text: str) -> str:
    words = [Word(0.5 + 0.4 * i, 0.8 + 0.4 * i, w) for i, w in enumerate(text.split())]
    transcript = Transcript(text=text, segments=[Segment(words[0].start, words[-1].end, text)], words=words,
                            model=label(PARAKEET), duration=words[-1].end + 0.5)
    entry_dir = store.open_entry(source)
    write_outputs(transcript, source, entry_dir, ("txt", "srt", "json"),
                  {"model": label(PARAKEET), "source": source})
    return store.finish(entry_dir)


def test_history_lists_opens_and_deletes_an_entry(page, studio, tmp_path):
    app, _ = studio
    store = app.studio_history
    keep = _add_entry(store, "keep.wav", "Kept for later.")
    gone = _add_entry(store, "gone.wav", "Delete me now please.")
    page.reload()
    page.get_by_role("tab", name="History").click()
    table = page.get_by_role("grid", name=re.compile("^Finished transcriptions"))
    body_text(table, "gone.wav").wait_for()
    rows = grid_rows(table)
    assert [row[1] for row in rows] == ["gone.wav", "keep.wav"]  # newest first
    assert rows[0][2] == label(PARAKEET) and rows[0][5] == "Delete me now please."
    assert rows[0][4].endswith(("bytes", "kB"))  # its size

    # Open and Delete with nothing selected say what to do.
    page.get_by_role("button", name="Open", exact=True).click()
    wait_for_text(page, "Select an entry first: click its row in the list, then press open.")
    page.get_by_role("button", name="Delete", exact=True).click()
    wait_for_text(page, "Select an entry first: click its row in the list, then press delete.")

    # Select it and open it: back on the Transcribe tab with its text.
    table.locator("[data-testid=cell-0-1]").click()
    wait_for_text(page, "Selected: gone.wav")
    page.get_by_role("button", name="Open", exact=True).click()
    page.wait_for_function("el => el.value === 'Delete me now please.'",
                           arg=textbox(page, "Transcript").element_handle())
    assert page.get_by_role("tab", name="Transcribe").get_attribute("aria-selected") == "true"

    # Delete asks first: the entry stays until Confirm delete.
    page.get_by_role("tab", name="History").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    wait_for_text(page, "Press Confirm delete to delete it for good.")
    assert (store.root / gone).exists() and len(grid_rows(table)) == 2
    page.get_by_role("button", name="Confirm delete", exact=True).click()
    body_text(table, "gone.wav").wait_for(state="detached")
    wait_for_text(page, "Deleted.")
    assert [row[1] for row in grid_rows(table)] == ["keep.wav"]
    assert [e.id for e in store.entries()] == [keep] and not (store.root / gone).exists()
    assert page.get_by_role("button", name="Confirm delete", exact=True).count() == 0
    screenshot(page, tmp_path, "history")

    page.reload()  # the deletion is on disk, not only on the page
    page.get_by_role("tab", name="History").click()
    body_text(table, "keep.wav").wait_for()
    assert [row[1] for row in grid_rows(table)] == ["keep.wav"]


def test_history_search_finds_file_names_and_words_beyond_the_preview(page, studio):
    store = studio[0].studio_history
    _add_entry(store, "budget-meeting.wav", "We agreed the budget.")
    long_text = " ".join(["filler"] * 60) + " the zeppelin arrives on Tuesday."
    _add_entry(store, "standup.wav", long_text)  # "zeppelin" lies past the 160-character preview
    page.reload()
    page.get_by_role("tab", name="History").click()
    table = page.get_by_role("grid", name=re.compile("^Finished transcriptions"))
    body_text(table, "standup.wav").wait_for()
    search = textbox(page, "Search file names and text")
    search.fill("zeppelin")
    body_text(table, "budget-meeting.wav").wait_for(state="detached")
    assert [row[1] for row in grid_rows(table)] == ["standup.wav"]
    search.fill("BUDGET")  # file names too, any case
    body_text(table, "budget-meeting.wav").wait_for()
    assert [row[1] for row in grid_rows(table)] == ["budget-meeting.wav"]
    # A selection follows the filtered rows: the row clicked is the entry opened.
    table.locator("[data-testid=cell-0-1]").click()
    wait_for_text(page, "Selected: budget-meeting.wav")
    page.get_by_role("button", name="Open", exact=True).click()
    page.wait_for_function("el => el.value === 'We agreed the budget.'",
                           arg=textbox(page, "Transcript").element_handle())


def test_models_tab_shows_both_models(page, studio, tmp_path):
    app, _ = studio
    cache = app.studio_cache
    page.get_by_role("tab", name="Models").click()
    table = page.get_by_role("grid").filter(has_text=label(CANARY))
    body_text(table, label(PARAKEET)).wait_for()
    rows = {row[0]: row for row in grid_rows(table)}
    optional = ("parakeet-v3", "canary-1b-v2")
    assert set(rows) == {label(PARAKEET), label(CANARY), *map(label, optional), label("diarizer")}
    for key in optional:
        assert rows[label(key)][2] == "missing (optional)"  # listed, with how to set it up
        assert f"setup_local_models.py --with-{key}" in rows[label(key)][3]
    settings = cache.settings
    assert rows[label(PARAKEET)][1] == f"file {settings.parakeet_path}"
    assert rows[label(PARAKEET)][2].startswith("present, ")
    assert rows[label(CANARY)][1].startswith(f"{settings.canary_repo} @ {settings.canary_revision[:12]}")
    assert rows[label(CANARY)][2].startswith("cached, ")
    for name in (PARAKEET, CANARY):
        assert rows[label(name)][3] == cache.status(name).describe()
    for name in (PARAKEET, CANARY):
        page.get_by_role("button", name=f"Load {label(name)}", exact=True).click()
        wait_for_text(page, f"{label(name)} is loaded.")
    # Both transcribers loaded; the speaker diarizer and the optional models (not set up) stay unloaded.
    page.wait_for_function(
        "([el, idle]) => [...el.querySelectorAll('.virtual-body [role=row]')]"
        ".filter(r => !idle.some(name => r.innerText.includes(name)))"
        ".every(r => r.innerText.includes('loaded on cpu'))",
        arg=[table.element_handle(), [label("diarizer"), *map(label, optional)]])
    screenshot(page, tmp_path, "models")


def test_transcribe_with_nothing_chosen_shows_guidance_and_no_error_badge(page):
    transcribe_button(page).click()
    wait_for_text(page, "Choose one or more audio or video files, or record from the microphone.")
    page.wait_for_timeout(500)  # any late "Error" badge would be there by now
    assert page.get_by_text("Error", exact=True).count() == 0
    assert page.locator(".error, [data-testid=error]").filter(visible=True).count() == 0


def test_a_drop_after_transcribe_starts_a_new_list(page, studio, tmp_path):
    """Gradio adds a drop to the file list; the files already transcribed leave it, so pressing Transcribe
    again does not transcribe them a second time. Without a new drop, Transcribe runs the same list again."""
    app, _ = studio
    first, second = (write_audio(tmp_path / f"{name}.wav", speechlike(2.0, seed=i), 16000)
                     for i, name in enumerate(("first", "second")))

    def transcribe_and_wait(entries: int) -> None:
        transcribe_button(page).click()
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while len(app.studio_history.entries()) < entries and time.monotonic() < deadline:
            time.sleep(0.2)
        wait_for_text(page, "1 of 1 file(s) transcribed")

    upload(page, first)
    transcribe_and_wait(1)
    upload(page, second)
    files = block(page, "Audio or video files")
    files.locator("a[data-testid=download-link][download='first.wav']").wait_for(state="detached")
    transcribe_and_wait(2)
    transcribe_and_wait(3)  # the same list again (another model, say): still just the second file
    sources = sorted(e.source for e in app.studio_history.entries())
    assert sources == ["first.wav", "second.wav", "second.wav"], sources


def test_names_and_terms_reach_the_job_and_a_bad_list_is_explained(page, studio, tmp_path):
    app, _ = studio
    talk = write_audio(tmp_path / "talk.wav", speechlike(2.0, seed=3), 16000)
    upload(page, talk)
    page.get_by_text("Options: names and terms").click()
    names = page.get_by_role("textbox", name=re.compile("^Names and terms"))
    typed(names, "!!!, ???")  # no letters: refused with its message, nothing runs
    transcribe_button(page).click()
    wait_for_text(page, "The names and terms list cannot be used")
    assert app.studio_history.entries() == []
    typed(names, "Dana Whitfield, Kubernetes")
    transcribe_button(page).click()
    wait_for_text(page, "1 of 1 file(s) transcribed")
    _, metadata, _ = app.studio_history.load(app.studio_history.entries()[0].id)
    assert metadata["settings"]["vocabulary"] == ["Dana Whitfield", "Kubernetes"]
    assert metadata["settings"]["word_timings"] is True


def test_idle_unload_minutes_in_force_are_shown_after_a_reload(page, studio):
    app, _ = studio
    page.get_by_role("tab", name="Models").click()
    idle = textbox(page, "Unload models after this many idle minutes (0: never)")
    idle.fill("1")
    idle.press("Enter")
    wait_for_text(page, "Models unload after 1 idle minute.")
    assert app.studio_cache.idle_unload_minutes == 1
    try:
        page.reload()
        page.get_by_role("tab", name="Models").click()
        page.wait_for_function("el => el.value === '1'", arg=idle.element_handle())
    finally:
        app.studio_cache.idle_unload_minutes = 0  # the session's shared cache


def test_canary_is_marked_unavailable_when_not_cached_and_offline(browser, serve_studio, studio_settings, tmp_path,
                                                                  monkeypatch):
    import dataclasses

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    empty = tmp_path / "empty-hub"
    empty.mkdir()
    _, url = serve_studio(dataclasses.replace(studio_settings, hf_cache_dir=empty))
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(url)
        # Before anyone picks it: its choice says so, and so do the status and the Models tab.
        choice = tab.get_by_text(re.compile(rf"^{re.escape(label(CANARY))} \(unavailable: not in the local cache"))
        choice.wait_for(timeout=TIMEOUT_MS)
        tab.screenshot(path=str(tmp_path / "unavailable.png"), full_page=True)
        wait_for_text(tab, "HF_HUB_OFFLINE is set")
        tab.get_by_role("tab", name="Models").click()
        table = tab.get_by_role("grid").filter(has_text=label(CANARY))
        row = table.locator(".virtual-body [role=row]").filter(has_text=label(CANARY))
        row.get_by_text(re.compile("^unavailable: not in the local cache")).wait_for(timeout=TIMEOUT_MS)
    finally:
        context.close()


def test_parakeet_is_loaded_in_the_background_once_the_page_is_served(browser, studio_settings, tmp_path):
    import socket

    from transcribe_studio.app.handlers import build_app, launch
    from transcribe_studio.models import ModelCache

    cache = ModelCache(studio_settings)
    app = build_app(studio_settings, cache)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launch(app, studio_settings, port, prevent_thread_lock=True, quiet=True, preload=True)
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        assert app.studio_preload is not None
        app.studio_preload.join(timeout=120)
        assert cache.load_count[PARAKEET] == 1 and cache.is_loaded(PARAKEET)
        tab = context.new_page()
        tab.goto(f"http://127.0.0.1:{port}/")
        transcribe_button(tab).wait_for()
        upload(tab, write_audio(tmp_path / "first.wav", speechlike(2.0, seed=5), 16000))
        transcribe_button(tab).click()
        wait_for_text(tab, "1 of 1 file(s) transcribed")
        assert cache.load_count[PARAKEET] == 1  # the first job did no load
    finally:
        context.close()
        app.close()
