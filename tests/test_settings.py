import argparse
from pathlib import Path

import pytest

from transcribe_studio.errors import ConfigurationError, InvalidRevisionError
from transcribe_studio.models.canary import QWEN_REVISION
from transcribe_studio.models.canary import REVISION as CANARY_REVISION
from transcribe_studio.models.pinned import validate_revision
from transcribe_studio.settings import Settings

SEED_REVISION = "2399591399e4e6438fa7804f2f1f1660"


def parse(argv, environ=None):
    parser = argparse.ArgumentParser()
    Settings.add_arguments(parser)
    return Settings.from_args(parser.parse_args(argv), environ=environ or {})


def test_defaults_are_the_pinned_commits():
    settings = Settings().validate()
    assert settings.canary_repo == "nvidia/canary-qwen-2.5b"
    assert settings.canary_revision == CANARY_REVISION == "b1469e1bba1cfe140205529c79c434ca47180960"
    assert settings.qwen_revision == QWEN_REVISION == "70d244cc86ccca08cf5af4e1e306ecf908b1ad5e"
    assert settings.parakeet_path.parts[-2:] == ("local_models", "parakeet.nemo")


def test_environment_overrides_default_and_flag_overrides_environment(tmp_path):
    env = {"PARAKEET_NEMO": str(tmp_path / "env.nemo"), "CANARY_REVISION": "a" * 40, "PARAKEET_SIZE": "12"}
    from_env = parse([], env)
    assert from_env.parakeet_path == tmp_path / "env.nemo"
    assert from_env.canary_revision == "a" * 40
    assert from_env.parakeet_size == 12
    from_flag = parse(["--parakeet-nemo", str(tmp_path / "flag.nemo"), "--canary-revision", "b" * 40], env)
    assert from_flag.parakeet_path == tmp_path / "flag.nemo"
    assert from_flag.canary_revision == "b" * 40


def test_hub_cache_follows_huggingface_hub(tmp_path):
    from huggingface_hub import constants

    assert Settings().hub_cache == Path(constants.HF_HUB_CACHE)
    assert Settings(hf_cache_dir=tmp_path).hub_cache == tmp_path
    assert Settings().offline is True  # conftest sets HF_HUB_OFFLINE=1 before the import


def test_seed_md5_revision_is_refused_with_an_explanation():
    with pytest.raises(InvalidRevisionError) as caught:
        parse(["--canary-revision", SEED_REVISION]).validate()
    message = caught.value.user_message()
    assert SEED_REVISION in message
    assert "md5" in message and "40 hexadecimal" in message
    assert caught.value.kind == "invalid_revision"


@pytest.mark.parametrize("revision", ["main", "", "B1469E1BBA1CFE140205529C79C434CA47180960", "g" * 40, "a" * 41])
def test_anything_but_a_40_hex_commit_is_refused(revision):
    with pytest.raises(InvalidRevisionError):
        validate_revision(revision, "Canary")


def test_qwen_revision_is_validated_too():
    with pytest.raises(InvalidRevisionError, match="Qwen"):
        Settings(qwen_revision="main").validate()


def test_non_numeric_size_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="PARAKEET_SIZE"):
        parse([], {"PARAKEET_SIZE": "big"})
