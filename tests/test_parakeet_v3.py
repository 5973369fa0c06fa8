"""Parakeet-TDT-0.6B-v3, the optional multilingual model: a tiny real one of its kind (v2's class, a tokenizer
trained on several European languages) loaded offline from its own file through the app's loader, and run as v2
is, through the CLI; a missing file says how to get it."""

from __future__ import annotations

import json

import pytest

from tests import tiny_models
from tests.media import speechlike, write_audio
from transcribe_studio.commands import cli
from transcribe_studio.models import get, transcribers


@pytest.fixture(scope="session")
def tiny_parakeet_v3(tmp_path_factory):
    return tiny_models.build_tiny_parakeet(tmp_path_factory.mktemp("parakeet_v3") / "parakeet-v3.nemo",
                                           corpus=tiny_models.EUROPEAN_TEXT, sentence=tiny_models.EUROPEAN_SENTENCE)


def test_v3_is_offered_after_the_english_models_and_is_optional_in_setup():
    assert [spec.key for spec in transcribers()][2] == "parakeet-v3"  # after the English models
    spec = get("parakeet-v3")
    assert not spec.setup_by_default and spec.required_at_startup is None
    assert "25 European languages" in spec.summary


def test_v3_loads_from_its_own_file_and_transcribes_other_scripts_with_word_times(tiny_parakeet_v3, tmp_path,
                                                                                    capsys):
    files = [tmp_path / "in" / "gruss.wav", tmp_path / "in" / "zweite.wav"]
    for index, path in enumerate(files):
        path.parent.mkdir(exist_ok=True)
        write_audio(path, speechlike(5.0 + index, seed=index), 16000)  # long enough a text to tell its language
    out = tmp_path / "out"
    argv = [str(files[0].parent), "--model", "parakeet-v3", "--parakeet-v3-nemo", str(tiny_parakeet_v3),
            "--device", "cpu", "--output-dir", str(out), "--format", "txt,json"]
    assert cli.main(argv) == 0, capsys.readouterr().err
    saved = json.loads((out / "gruss.json").read_text(encoding="utf-8"))
    assert "grüße" in saved["text"] and saved["words"] and all(w["end"] >= w["start"] for w in saved["words"])
    assert saved["metadata"]["model"] == "Parakeet-TDT-0.6B-v3"
    assert saved["language"] == "de"  # found in the text ("grüße. grüße. ..."), v3 hearing many languages
    assert (out / "zweite.txt").read_text(encoding="utf-8").startswith("grüße")


def test_a_missing_v3_file_says_how_to_get_it(tmp_path, capsys):
    source = tmp_path / "a.wav"
    write_audio(source, speechlike(1.0), 16000)
    argv = [str(source), "--model", "parakeet-v3", "--parakeet-v3-nemo", str(tmp_path / "none.nemo"),
            "--device", "cpu", "--output-dir", str(tmp_path / "out")]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "setup_local_models.py --with-parakeet-v3" in err and "Traceback" not in err


def test_the_transcribe_tab_offers_v3_once_its_file_is_there(tiny_parakeet_v3, tmp_path):
    from transcribe_studio.app.handlers import offered
    from transcribe_studio.settings import Settings

    assert "parakeet-v3" not in [s.key for s in offered(Settings(parakeet_v3_path=tmp_path / "none.nemo"))]
    assert [s.key for s in offered(Settings(parakeet_v3_path=tiny_parakeet_v3))][-1] == "parakeet-v3"
