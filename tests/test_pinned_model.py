"""Adding a pinned-download model is one module (tests/pinned_model.py): its flag, its environment variable
and its setup step work in every command, and the model it downloads transcribes, through the real setup
against a local fake of the Hub and the real CLI."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import pinned_model, tiny_models
from tests.test_setup import env, hub  # noqa: F401 - fixtures: the fake Hub and the setup's environment

ROOT = Path(__file__).resolve().parent.parent
WITH_MODEL = ("import sys, tests.pinned_model as m; from transcribe_studio.models import register; register(m.SPEC); "
              "from transcribe_studio.commands.{command} import main; sys.exit(main())")


@pytest.fixture(scope="module")
def tiny_ctc_bytes(tmp_path_factory) -> bytes:
    return tiny_models.build_tiny_ctc(tmp_path_factory.mktemp("pinned") / "tiny-ctc.nemo").read_bytes()


@pytest.fixture
def model_env(env, hub, tiny_ctc_bytes, tmp_path):  # noqa: F811 - the imported fixtures
    hub.add_file(pinned_model.REPO, pinned_model.REVISION, pinned_model.FILENAME, tiny_ctc_bytes, lfs=True)
    env["TINY_CTC_NEMO"] = str(tmp_path / "models" / "tiny.nemo")
    return env


def run(env, command: str, *args):
    return subprocess.run([sys.executable, "-c", WITH_MODEL.format(command=command), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


def test_its_flags_and_variables_are_in_every_command(model_env):
    setup_help = run(model_env, "setup", "--help").stdout
    for flag in ("--tiny-ctc-nemo", "--tiny-ctc-repo", "--tiny-ctc-revision", "--tiny-ctc-filename",
                 "--skip-tiny-ctc"):
        assert flag in setup_help
    cli_help = run(model_env, "cli", "--help").stdout
    assert "TINY_CTC_NEMO" in cli_help and "tiny-ctc: Tiny-CTC-Pinned" in cli_help


def test_setup_downloads_it_verified_and_the_cli_transcribes_with_it(model_env, hub, tiny_ctc_bytes, wav_file,
                                                                      tmp_path):
    only_it = ["--skip-canary", "--skip-diarizer"]
    first = run(model_env, "setup", *only_it)
    assert first.returncode == 0, first.stderr
    assert "Tiny-CTC-Pinned: OK, downloaded and verified" in first.stdout
    model = Path(model_env["TINY_CTC_NEMO"])  # where its variable put it, not local_models/
    assert model.read_bytes() == tiny_ctc_bytes
    record = json.loads(model.with_name(model.name + ".source.json").read_text())
    assert record["sha256"] == hashlib.sha256(tiny_ctc_bytes).hexdigest()
    assert record["revision"] == pinned_model.REVISION

    again = run(model_env, "setup", "--check", *only_it)
    assert again.returncode == 0 and "Tiny-CTC-Pinned: OK" in again.stdout, again.stderr

    out = tmp_path / "out"
    cli = run(model_env, "cli", str(wav_file), "--model", "tiny-ctc", "--output-dir", str(out), "--format", "json",
              "--device", "cpu")
    assert cli.returncode == 0, cli.stderr
    saved = json.loads((out / "speech.json").read_text())
    assert saved["model"] == "Tiny-CTC-Pinned" and saved["metadata"]["model_source"]["file"] == str(model)


def test_a_damaged_download_is_caught_by_the_check(model_env):
    assert run(model_env, "setup", "--skip-canary", "--skip-diarizer").returncode == 0
    model = Path(model_env["TINY_CTC_NEMO"])
    data = bytearray(model.read_bytes())
    data[-100] ^= 0xFF
    model.write_bytes(bytes(data))
    check = run(model_env, "setup", "--check", "--skip-canary", "--skip-diarizer")
    assert check.returncode == 1 and "Tiny-CTC-Pinned: FAILED" in check.stderr and "SHA-256" in check.stderr


def test_its_revision_setting_is_checked_like_every_pin(model_env):
    model_env["TINY_CTC_REVISION"] = "main"
    result = run(model_env, "setup", "--check")
    assert result.returncode == 2 and "not a Hugging Face commit" in result.stderr
