"""Adding a model is one spec: a tiny real CTC ``.nemo`` model, registered with ``nemo_asr_spec``
and nothing else, is offered by the CLI and the Models tab and transcribes a file."""

import json

import pytest

from tests import tiny_models
from transcribe_studio.models.nemo_asr import nemo_asr_spec

KEY = "tiny-ctc"
LABEL = "Tiny-CTC-Test"


@pytest.fixture(scope="session")
def tiny_ctc(tmp_path_factory):
    """A tiny real FastConformer-CTC ``EncDecCTCModelBPE`` .nemo (not Parakeet's TDT architecture)."""
    return tiny_models.build_tiny_ctc(tmp_path_factory.mktemp("ctc") / "tiny-ctc.nemo")


@pytest.fixture
def ctc_spec(registered, tiny_ctc):
    return registered(nemo_asr_spec(key=KEY, label=LABEL, summary="a tiny CTC model for the tests",
                                    path=lambda settings: tiny_ctc))


def test_a_third_model_is_offered_by_the_cli_and_listed_in_the_models_tab(ctc_spec, settings, tiny_ctc):
    from transcribe_studio.app.model_table import rows
    from transcribe_studio.commands import cli
    from transcribe_studio.models import ModelCache

    model_option = next(a for a in cli.build_parser()._actions if "--model" in a.option_strings)
    assert model_option.choices == ["parakeet", "canary", "parakeet-v3", "canary-1b-v2", KEY]
    assert f"{KEY}: {LABEL}, a tiny CTC model for the tests" in model_option.help
    table = rows(ModelCache(settings))
    assert [row[0] for row in table] == ["Parakeet-TDT-0.6B-v2", "Canary-Qwen-2.5B", "Parakeet-TDT-0.6B-v3",
                                         "Canary-1B-v2", "Streaming Sortformer 4spk-v2", LABEL]
    assert table[5][1] == f"file {tiny_ctc}" and table[5][2].startswith("present") and table[5][3] == "not loaded"


def test_the_cli_transcribes_a_file_with_the_third_model(ctc_spec, wav_file, tmp_path, capsys):
    from transcribe_studio.commands import cli

    out = tmp_path / "out"
    status = cli.main([str(wav_file), "--model", KEY, "--output-dir", str(out), "--format", "txt,json",
                       "--device", "cpu"])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert sorted(p.name for p in out.iterdir()) == ["speech.json", "speech.txt"]
    saved = json.loads((out / "speech.json").read_text())
    assert saved["text"] and (out / "speech.txt").read_text().strip() == saved["text"]
    assert LABEL in json.dumps(saved) and str(ctc_spec.provenance(None)["file"]) in json.dumps(saved)
    assert f"== {wav_file} ==\n{saved['text']}" in printed.out
