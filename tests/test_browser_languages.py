"""Languages and models on the page, in a real headless Chromium: with Canary-1B-v2 set up, a person picks the
recording's language and a language to translate into, transcribes, and the downloads and History say so; a model
that must be told the language and was not is refused with what to choose. On the Compare tab, a person measures
the models on their own recordings. The recipe and fixtures are tests/test_browser.py's."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from tests import tiny_models
from tests.media import speechlike, write_audio
from tests.test_browser import (  # noqa: F401 - fixtures are used by name
    block,
    body_text,
    browser,
    grid_rows,
    page,
    screenshot,
    studio,
    transcribe_button,
    upload,
    wait_for_text,
)
from transcribe_studio.models import ModelCache


@pytest.fixture(scope="module")
def tiny_canary_v2(tmp_path_factory):
    return tiny_models.build_tiny_canary_v2(tmp_path_factory.mktemp("canary_v2_page") / "canary-1b-v2.nemo")


@pytest.fixture
def languages_page(browser, serve_studio, studio_settings, tiny_canary_v2):  # noqa: F811
    settings = dataclasses.replace(studio_settings, canary_1b_v2_path=tiny_canary_v2)
    app, url = serve_studio(settings, ModelCache(settings))
    context = browser.new_context(accept_downloads=True, viewport={"width": 1000, "height": 900})
    context.set_default_timeout(20_000)
    tab = context.new_page()
    tab.goto(url)
    transcribe_button(tab).wait_for()
    yield app, tab
    context.close()


def choose(tab, label: str, option: str) -> None:
    """Pick ``option`` in the dropdown labelled ``label``, as a person does: open it, type, press Enter."""
    box = tab.get_by_label(label, exact=True)
    box.click()
    box.fill(option)
    box.press("Enter")
    tab.wait_for_function("([el, value]) => el.value === value", arg=[box.element_handle(), option])


def test_pick_a_language_and_a_translation_and_the_downloads_say_so(languages_page, tmp_path):
    app, tab = languages_page
    talk = write_audio(tmp_path / "rede.wav", speechlike(4.0, seed=3), 16000)
    tab.get_by_role("radio", name="Canary-1B-v2").check()
    upload(tab, talk)
    transcribe_button(tab).click()  # no language chosen: refused, with what to choose
    wait_for_text(tab, re.compile("must be told the recording's language"))
    assert not app.studio_history.entries()

    choose(tab, "Spoken language", "German")
    choose(tab, "Translate to", "French")  # German goes into English only
    transcribe_button(tab).click()
    wait_for_text(tab, re.compile("translates German only into English, not into French"))

    choose(tab, "Translate to", "English")
    transcribe_button(tab).click()
    wait_for_text(tab, "1 of 1 file(s) transcribed")
    screenshot(tab, tmp_path, "languages")
    downloads = block(tab, "Downloads")
    with tab.expect_download() as info:
        downloads.locator("a[data-testid=download-link][download='rede.vtt']").click()
    vtt = tmp_path / "rede.vtt"
    info.value.save_as(vtt)
    assert vtt.read_text(encoding="utf-8").startswith("WEBVTT\nLanguage: en\n")
    with tab.expect_download() as info:
        downloads.locator("a[data-testid=download-link][download='rede.json']").click()
    saved = json.loads(info.value.path().read_text(encoding="utf-8"))
    assert (saved["language"], saved["translated_from"]) == ("en", "de") and saved["text"]

    tab.get_by_role("tab", name="History").click()
    table = tab.get_by_role("grid", name=re.compile("^Finished transcriptions"))
    body_text(table, "rede.wav").wait_for()
    assert grid_rows(table)[0][2] == "Canary-1B-v2 · de → en"


def test_compare_measures_the_ticked_models_and_offers_the_csv(page, studio, tmp_path):  # noqa: F811
    talk = write_audio(tmp_path / "talk.wav", speechlike(3.0, seed=2), 16000)
    reference = tmp_path / "talk.txt"
    reference.write_text("We see a cat and you.", encoding="utf-8")
    page.get_by_role("tab", name="Compare").click()
    files = block(page, "Recordings and their .txt references")
    files.locator("input[type=file]").set_input_files([str(talk), str(reference)])
    files.locator("a[data-testid=download-link][download='talk.txt']").wait_for()
    page.get_by_role("checkbox", name="Canary-Qwen-2.5B").uncheck()  # one model keeps the test short
    page.get_by_role("button", name="Measure").click()
    wait_for_text(page, "1 recording(s) measured.")
    table = page.locator("#compare-table table")
    assert "Parakeet-TDT-0.6B-v2" in table.inner_text() and "Canary-Qwen" not in table.inner_text()
    assert page.locator("del", has_text="cat").count() and page.locator("ins", has_text="man").count()
    with page.expect_download() as info:
        block(page, "Every file's figures and both texts (CSV)").locator("a[data-testid=download-link]").click()
    assert info.value.suggested_filename.startswith("evaluation-")
    assert "we see a cat and you" in info.value.path().read_text(encoding="utf-8")
    screenshot(page, tmp_path, "compare")
