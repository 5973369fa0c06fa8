"""The command line, run as a user runs it: a subprocess, real models, real files."""

import os
import subprocess
import sys
from pathlib import Path

from tests.fake_hub import FakeHub
from transcribe_studio.models import hub_cache
from transcribe_studio.settings import CANARY_REPO, CANARY_REVISION, Settings

ROOT = Path(__file__).resolve().parent.parent


def cli_env(tmp_path, parakeet: Path, hub: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(PARAKEET_NEMO=str(parakeet), HF_HUB_CACHE=str(hub), HF_HOME=str(tmp_path / "hf_home"),
               HF_HUB_OFFLINE="1", STUDIO_DEVICE="cpu", STUDIO_LOG_FILE=str(tmp_path / "cli.log"),
               PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def run_cli(env, *args):
    return subprocess.run([sys.executable, "-m", "transcribe_studio", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_parakeet_batch_with_one_bad_file(tmp_path, tiny_parakeet, canary_cache, wav_file):
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"not audio at all" * 64)
    out = tmp_path / "out"
    result = run_cli(cli_env(tmp_path, tiny_parakeet, canary_cache), str(bad), str(wav_file), "--model", "parakeet",
                     "--output-dir", str(out), "--format", "txt,srt")
    assert result.returncode == 1
    assert f"== {wav_file} ==" in result.stdout  # the good file still finished
    assert sorted(p.name for p in out.iterdir()) == ["speech.srt", "speech.txt"]
    assert "FAILED" in result.stderr and "broken.mp3" in result.stderr
    assert "1 of 2 file(s) transcribed" in result.stderr and "Traceback" not in result.stderr
    assert "Traceback" in (tmp_path / "cli.log").read_text()  # the details went to the log


def test_the_seed_revision_exits_with_status_2(tmp_path, tiny_parakeet, canary_cache, wav_file):
    env = cli_env(tmp_path, tiny_parakeet, canary_cache, CANARY_REVISION="2399591399e4e6438fa7804f2f1f1660")
    result = run_cli(env, str(wav_file), "--model", "canary")
    assert result.returncode == 2 and "not a Hugging Face commit" in result.stderr


def test_canary_fully_cached_makes_no_network_call_even_online(tmp_path, tiny_parakeet, canary_cache, wav_file):
    with FakeHub() as hub:  # an empty Hub that logs every request
        env = cli_env(tmp_path, tiny_parakeet, canary_cache, HF_HUB_OFFLINE="0", HF_ENDPOINT=hub.endpoint)
        result = run_cli(env, str(wav_file), "--model", "canary")
    assert result.returncode == 0, result.stderr
    assert "!!" in result.stdout  # the tiny SALM's greedy output
    assert [r for r in hub.requests if "/resolve/" in r.path or "/api/models" in r.path] == []


def test_canary_missing_a_file_goes_online_once_then_never_again(tmp_path, tiny_parakeet, canary_cache,
                                                                  pristine_canary_cache, wav_file):
    settings = Settings(hf_cache_dir=canary_cache)
    weights = hub_cache.canary_snapshot(settings) / "model.safetensors"
    data = weights.read_bytes()
    os.unlink(weights.resolve())
    weights.unlink()
    with FakeHub() as hub:
        hub.add_file(CANARY_REPO, CANARY_REVISION, "model.safetensors", data, lfs=True)
        env = cli_env(tmp_path, tiny_parakeet, canary_cache, HF_HUB_OFFLINE="0", HF_ENDPOINT=hub.endpoint)
        first = run_cli(env, str(wav_file), "--model", "canary")
        assert first.returncode == 0, first.stderr
        fetched = [r for r in hub.requests if r.method == "GET" and "/resolve/" in r.path]
        assert [r.path.rsplit("/", 1)[-1] for r in fetched] == ["model.safetensors"]
        second = run_cli(env, str(wav_file), "--model", "canary")
        assert second.returncode == 0, second.stderr
        assert [r for r in hub.requests if r.method == "GET" and "/resolve/" in r.path] == fetched
    assert weights.read_bytes() == data


def test_canary_not_cached_offline_is_explained(tmp_path, tiny_parakeet, wav_file):
    result = run_cli(cli_env(tmp_path, tiny_parakeet, tmp_path / "empty_hub"),
                     str(wav_file), "--model", "canary")
    assert result.returncode == 1
    assert "Model not downloaded yet" in result.stderr and "setup_local_models.py" in result.stderr
    assert "Traceback" not in result.stderr
