"""The command line, run as a user runs it: a subprocess, real models, real files."""

import os
import subprocess
import sys
from pathlib import Path

from tests.fake_hub import FakeHub
from transcribe_studio.models import hub_cache
from transcribe_studio.models.canary import REPO as CANARY_REPO
from transcribe_studio.models.canary import REVISION as CANARY_REVISION
from transcribe_studio.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def cli_env(tmp_path, parakeet: Path, hub: Path, **extra) -> dict:
    """The CLI's environment: the tiny models, and its outputs and log under ``tmp_path`` (never the checkout's
    ``outputs/`` and ``logs/``, where a run without ``--output-dir`` would write)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(PARAKEET_NEMO=str(parakeet), HF_HUB_CACHE=str(hub), HF_HOME=str(tmp_path / "hf_home"),
               HF_HUB_OFFLINE="1", STUDIO_DEVICE="cpu", STUDIO_LOG_FILE=str(tmp_path / "cli.log"),
               STUDIO_OUTPUT_DIR=str(tmp_path / "outputs"), PYTHONPATH=str(ROOT))
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
    assert {p.stem for p in (tmp_path / "outputs").iterdir()} == {"speech"}  # STUDIO_OUTPUT_DIR, not the checkout


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


# --- what goes where: transcripts on stdout, failures before any load, --device, --help ---

CHATTER = ("NeMo", "Timestamps requested", "INFO", "[NeMo", "lhotse", "Lightning", "UserWarning")


def test_stdout_holds_transcripts_only_and_nemo_logs_to_the_file(tmp_path, tiny_parakeet, canary_cache, wav_file):
    result = run_cli(cli_env(tmp_path, tiny_parakeet, canary_cache), str(wav_file), "--model", "parakeet",
                     "--output-dir", str(tmp_path / "out"), "--format", "txt")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"== {wav_file} ==" and lines[2] == "1 of 1 file(s) transcribed."
    assert len(lines) == 4 and lines[3].startswith("  OK      "), result.stdout  # transcript, then the summary
    for chatter in CHATTER:
        assert chatter not in result.stdout and chatter not in result.stderr, chatter
    assert "nemo_logger" in (tmp_path / "cli.log").read_text()  # NeMo's own lines went to the log file
    assert "\x1b[" not in result.stderr and "\r" not in result.stderr, repr(result.stderr)  # no bars off a terminal


def test_a_missing_path_fails_before_any_model_loads(tmp_path, canary_cache, wav_file):
    damaged = tmp_path / "damaged.nemo"
    damaged.write_bytes(b"not a nemo archive" * 100)  # loading it fails: its message must come after the path's
    missing = tmp_path / "no-such-recording.wav"
    result = run_cli(cli_env(tmp_path, damaged, canary_cache), str(missing), str(wav_file), "--model", "parakeet",
                     "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "File not found" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.index("no-such-recording.wav") < result.stderr.index("damaged.nemo")

    log = tmp_path / "only-missing.log"
    only_missing = run_cli(cli_env(tmp_path, damaged, canary_cache, STUDIO_LOG_FILE=str(log)), str(missing),
                           "--model", "parakeet", "--output-dir", str(tmp_path / "out"))
    assert only_missing.returncode == 1 and "File not found" in only_missing.stderr
    assert "0 of 1 file(s) transcribed" in only_missing.stderr
    assert "damaged.nemo" not in only_missing.stderr + (log.read_text() if log.exists() else "")  # no load tried


def test_cuda_without_a_gpu_exits_2_before_any_work(tmp_path, tiny_parakeet, canary_cache, wav_file):
    import torch

    if torch.cuda.is_available():
        import pytest

        pytest.skip("this machine has a GPU")
    out = tmp_path / "out"
    result = run_cli(cli_env(tmp_path, tiny_parakeet, canary_cache, STUDIO_DEVICE="cuda"), str(wav_file),
                     "--output-dir", str(out))
    assert result.returncode == 2
    assert "no usable GPU" in result.stderr and "--device cpu" in result.stderr
    assert "Traceback" not in result.stderr and not any(out.glob("*"))


def test_help_shows_every_default(tmp_path, tiny_parakeet, canary_cache):
    import re

    result = run_cli(cli_env(tmp_path, tiny_parakeet, canary_cache), "--help")
    assert result.returncode == 0
    options = re.split(r"\n  (?=-)", result.stdout.split("options:", 1)[1])
    undocumented = [o.split()[0] for o in options if o.strip() and "default" not in o and not o.startswith("-h")]
    assert undocumented == [], undocumented


def test_help_names_only_files_that_exist():
    """Help that says "see x.py" must point at a real file, so that renaming a module cannot leave it dangling."""
    import re

    from transcribe_studio.commands.cli import build_parser

    root = Path(__file__).resolve().parent.parent
    named = set(re.findall(r"[\w/]+\.py\b", " ".join(build_parser().format_help().split())))
    missing = [n for n in named if not any(root.rglob(Path(n).name))]
    assert missing == [], missing
