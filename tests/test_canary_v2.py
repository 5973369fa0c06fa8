"""Canary-1B-v2, the optional multitask model: a tiny real one of its kind (``EncDecMultiTaskModel`` with the
canary2 prompt and a CTC timer model inside its ``.nemo``) loaded offline from its own file through the app's
loader; the languages a person chooses reach its prompt; what a model cannot do is refused before anything runs;
a translation is recorded as one, in every export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests import tiny_models
from tests.conftest import loaded
from tests.media import speechlike, write_audio
from transcribe_studio.commands import cli
from transcribe_studio.errors import LanguageChoiceError
from transcribe_studio.models import ModelCache, get, transcribers
from transcribe_studio.settings import Settings
from transcribe_studio.transcription import batched, engine
from transcribe_studio.transcription.language import check_choice

KEY = "canary-1b-v2"


@pytest.fixture(scope="module")
def tiny_canary_v2(tmp_path_factory):
    return tiny_models.build_tiny_canary_v2(tmp_path_factory.mktemp("canary_v2") / "canary-1b-v2.nemo")


@pytest.fixture(scope="module")
def cache(tiny_parakeet, tiny_canary_v2, tmp_path_factory):
    return ModelCache(Settings(parakeet_path=tiny_parakeet, canary_1b_v2_path=tiny_canary_v2, device="cpu",
                               output_dir=tmp_path_factory.mktemp("canary_v2_outputs")))


def prompt_seen(model, run) -> list[str]:
    """The prompt tokens the decoder received first while ``run()`` ran (observed, nothing changed)."""
    seen = []
    hook = model.transf_decoder.embedding.token_embedding.register_forward_pre_hook(
        lambda module, args: seen.append(args[0][0].tolist()))
    try:
        run()
    finally:
        hook.remove()
    return [token for token in model.tokenizer.ids_to_tokens(seen[0]) if token.startswith("<|")]


def test_it_is_offered_last_optional_in_setup_and_told_its_languages():
    spec = get(KEY)
    assert [s.key for s in transcribers()][-1] == KEY
    assert not spec.setup_by_default and spec.required_at_startup is None
    assert spec.prompt is not None and spec.vocabulary is None and len(spec.languages) == 25
    assert spec.prompt.writes("de") == ("de", "en") and spec.prompt.writes("en")[0] == "en"
    assert len(spec.prompt.writes("en")) == 25


def test_it_loads_from_its_own_file_with_its_timer_model_beside_it(cache):
    model = loaded(cache, KEY)
    assert type(model).__name__ == "EncDecMultiTaskModel" and not model.training
    timer = model.timestamps_asr_model
    assert type(timer).__name__ == "EncDecCTCModelBPE" and not timer.training
    # NeMo keeps it outside the modules (so the app moves and casts it itself): same device and dtype here
    assert all(module is not timer for module in model.modules())
    ours, its = next(model.parameters()), next(timer.parameters())
    assert (its.device, its.dtype) == (ours.device, ours.dtype)


def test_a_german_recording_gets_german_text_with_word_times(cache):
    audio = speechlike(6.0)
    transcript = engine.transcribe(cache, KEY, audio, options=engine.Options(language="de"))
    assert transcript.text == tiny_models.CANARY_V2_SENTENCE
    assert transcript.language == "de" and not transcript.translated_from
    assert [w.text for w in transcript.words] == tiny_models.CANARY_V2_SENTENCE.split()
    assert all(0 <= w.start <= w.end <= 6.0 for w in transcript.words)
    assert transcript.segments and transcript.segments[-1].end <= 6.0


def test_the_chosen_languages_reach_the_prompt(cache):
    model = loaded(cache, KEY)
    audio = speechlike(3.0)

    def prompt(language, translate_to):
        options = engine.Options(language=language, translate_to=translate_to)
        return prompt_seen(model, lambda: engine.transcribe(cache, KEY, audio, options=options))

    german, into_english = prompt("de", ""), prompt("de", "en")
    assert german[german.index("<|startoftranscript|>") + 2:][:2] == ["<|de|>", "<|de|>"]
    assert into_english[into_english.index("<|startoftranscript|>") + 2:][:2] == ["<|de|>", "<|en|>"]
    from_english = prompt("en", "pl")
    assert "<|en|>" in from_english and "<|pl|>" in from_english and "<|de|>" not in from_english


def test_a_translation_keeps_the_recordings_clock_in_segments_and_says_so_in_every_export(cache, tmp_path):
    from transcribe_studio.outputs.writers import write_outputs

    transcript = engine.transcribe(cache, KEY, speechlike(6.0), options=engine.Options(language="de",
                                                                                        translate_to="en"))
    assert (transcript.language, transcript.translated_from) == ("en", "de")
    assert transcript.words == [] and transcript.segments and transcript.segments[-1].end <= 6.0
    paths = {p.suffix: p for p in write_outputs(transcript, "talk.wav", tmp_path, ["json", "vtt", "md"])}
    saved = json.loads(paths[".json"].read_text(encoding="utf-8"))
    assert (saved["language"], saved["translated_from"]) == ("en", "de")
    assert paths[".vtt"].read_text(encoding="utf-8").startswith("WEBVTT\nLanguage: en\n")
    assert "English (translated from German)" in paths[".md"].read_text(encoding="utf-8")


def test_many_files_at_once_hear_the_same_as_one_at_a_time(cache, tmp_path):
    sources = []
    for index, seconds in enumerate((2.0, 5.0, 3.5)):
        sources.append(tmp_path / f"f{index}.wav")
        write_audio(sources[-1], speechlike(seconds, seed=index), 16000)
    from transcribe_studio.media import decode

    options = engine.Options(language="de", translate_to="en")
    together = {outcome.source: outcome.transcript for outcome in
                batched.transcribe_files(cache, KEY, sources, decode.decode_audio, options=options)}
    for source in sources:
        alone = engine.transcribe(cache, KEY, decode.decode_audio(source), options=options)
        assert together[source].text == alone.text and together[source].language == "en"
        assert together[source].translated_from == "de"


@pytest.mark.parametrize("key, language, translate_to, said", [
    (KEY, "", "", "must be told the recording's language"),
    (KEY, "de", "fr", "translates German only into English, not into French"),
    (KEY, "xx", "", "'xx' is not a language"),
    ("parakeet", "de", "", "does not hear German"),
    ("parakeet", "", "de", "does not translate"),
    ("parakeet-v3", "", "en", "does not translate"),
    ("canary", "pl", "", "does not hear Polish"),
])
def test_what_a_model_cannot_do_is_refused_with_what_to_choose(key, language, translate_to, said):
    with pytest.raises(LanguageChoiceError) as refused:
        check_choice(get(key), language, translate_to)
    assert said in refused.value.user_message()
    if "does not hear" in said:  # the models that can are named
        assert "Canary-1B-v2" in refused.value.user_message()


@pytest.mark.parametrize("key, language, translate_to", [
    (KEY, "de", ""), (KEY, "de", "en"), (KEY, "en", "uk"), ("parakeet", "en", ""), ("parakeet", "", "en"),
    ("parakeet-v3", "pl", ""), ("parakeet-v3", "pl", "pl"), ("canary", "", "")])
def test_what_a_model_can_do_passes(key, language, translate_to):
    check_choice(get(key), language, translate_to)


def test_the_cli_refuses_before_loading_and_writes_nothing(tiny_canary_v2, tmp_path, capsys):
    source = tmp_path / "talk.wav"
    write_audio(source, speechlike(2.0), 16000)
    out = tmp_path / "out"
    argv = [str(source), "--model", KEY, "--canary-1b-v2-nemo", str(tmp_path / "absent.nemo"), "--device", "cpu",
            "--output-dir", str(out)]
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv + ["--translate-to", "EN"])  # no --language: refused before the (absent) file is read
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "must be told the recording's language" in err and "Traceback" not in err
    assert not out.exists()


def test_the_cli_transcribes_and_translates(tiny_canary_v2, tmp_path, capsys):
    source = tmp_path / "rede.wav"
    write_audio(source, np.concatenate([speechlike(4.0), np.zeros(8000, np.float32), speechlike(3.0, seed=1)]),
                16000)
    out = tmp_path / "out"
    argv = [str(source), "--model", KEY, "--canary-1b-v2-nemo", str(tiny_canary_v2), "--device", "cpu",
            "--output-dir", str(out), "--format", "json,srt", "--language", "de", "--translate-to", "en"]
    assert cli.main(argv) == 0, capsys.readouterr().err
    saved = json.loads((out / "rede.json").read_text(encoding="utf-8"))
    assert saved["metadata"]["model"] == "Canary-1B-v2" and saved["text"].startswith("guten tag.")
    assert (saved["language"], saved["translated_from"]) == ("en", "de")
    cues = (out / "rede.srt").read_text(encoding="utf-8")
    assert cues.startswith("1\n00:00:0") and "guten tag." in cues  # on the recording's clock, within its 7.5 s


def test_the_page_offers_the_languages_of_the_models_it_offers(tiny_canary_v2, tmp_path):
    from transcribe_studio.app import api
    from transcribe_studio.app.handlers import _language_texts, offered

    english_only = _language_texts(offered(Settings(parakeet_v3_path=tmp_path / "no.nemo",
                                                    canary_1b_v2_path=tmp_path / "no.nemo")))
    assert [code for _, code in english_only["languages"]] == ["en"]  # one: the choices stay hidden
    both = _language_texts(offered(Settings(parakeet_v3_path=tmp_path / "no.nemo",
                                            canary_1b_v2_path=tiny_canary_v2)))
    assert ("German", "de") in both["languages"] and "Canary-1B-v2 must be told" in both["language_info"]
    cache = ModelCache(Settings(canary_1b_v2_path=tiny_canary_v2, device="cpu"))
    with pytest.raises(LanguageChoiceError):
        api.job_options(cache, model=KEY, language="auto", translate_to="none")
    options = api.job_options(cache, model=KEY, language="de", translate_to="EN")
    assert (options.language, options.translate_to) == ("de", "en")
