"""The Live view in a real headless Chromium whose microphone is a WAV file (Chromium's fake capture device): Record,
the captions appear on the page while it listens, Stop, and the whole recording is in History. The recipe is
tests/test_browser.py's; the page is loaded from 127.0.0.1 (a microphone needs a secure context)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile
from playwright import sync_api

from tests.media import speechlike
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, screenshot, textbox

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium")


@pytest.fixture(scope="module")
def talking(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("microphone") / "voice.wav"
    soundfile.write(path, np.tile(speechlike(4.0, rate=48000, seed=8), 3), 48000, subtype="PCM_16")
    return str(path)


@pytest.fixture
def live_page(talking, serve_studio, studio_settings, shared_cache):
    app, url = serve_studio(studio_settings, shared_cache)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                  f"--use-file-for-fake-audio-capture={talking}"])
        context = chromium.new_context(viewport={"width": 1000, "height": 900})
        context.grant_permissions(["microphone"], origin=url.rstrip("/"))
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(url)
        page.get_by_role("tab", name="Live").click()
        yield app, page
        chromium.close()


def test_record_shows_captions_then_stop_saves_the_recording_in_history(live_page, tmp_path):
    app, page = live_page
    page.get_by_role("button", name="Record", exact=True).click()
    captions = page.locator("#live-captions")
    captions.get_by_text(re.compile("we see")).wait_for(timeout=30_000)  # the tiny Parakeet's words, as heard
    page.wait_for_timeout(2500)
    assert "we see" in textbox(page, "Live text").input_value()
    screenshot(page, tmp_path, "live")
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text(re.compile(r"1 of 1 file\(s\) transcribed")).wait_for(timeout=60_000)
    entries = app.studio_history.entries()
    assert len(entries) == 1 and entries[0].source.startswith("live ") and entries[0].duration > 2.0
    assert entries[0].audio is not None  # the recording is kept for its player
