"""setup_local_models.py against a local fake of the Hub: real downloads, no network."""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.fake_hub import FakeHub
from transcribe_studio.models import canary_v2, hub_cache, parakeet_v3
from transcribe_studio.models.canary import QWEN_REPO, QWEN_REVISION
from transcribe_studio.models.canary import REPO as CANARY_REPO
from transcribe_studio.models.canary import REVISION as CANARY_REVISION
from transcribe_studio.models.diarizer import FILENAME as DIARIZER_FILENAME
from transcribe_studio.models.diarizer import REPO as DIARIZER_REPO
from transcribe_studio.models.diarizer import REVISION as DIARIZER_REVISION
from transcribe_studio.models.parakeet import FILENAME as PARAKEET_FILENAME
from transcribe_studio.models.parakeet import REPO as PARAKEET_REPO
from transcribe_studio.models.parakeet import REVISION as PARAKEET_REVISION
from transcribe_studio.models.parakeet_v3 import FILENAME as V3_FILENAME
from transcribe_studio.models.parakeet_v3 import REPO as V3_REPO
from transcribe_studio.models.parakeet_v3 import REVISION as V3_REVISION
from transcribe_studio.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def fake_nemo_bytes() -> bytes:
    """A small tar shaped like a .nemo (setup checks structure, not weights)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("model_config.yaml", b"target: fake\n"), ("model_weights.ckpt", os.urandom(300_000))):
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def hub():
    with FakeHub() as hub:
        hub.parakeet = fake_nemo_bytes()
        hub.add_file(PARAKEET_REPO, PARAKEET_REVISION, PARAKEET_FILENAME, hub.parakeet, lfs=True)
        hub.diarizer = fake_nemo_bytes()
        hub.add_file(DIARIZER_REPO, DIARIZER_REVISION, DIARIZER_FILENAME, hub.diarizer, lfs=True)
        hub.v3 = fake_nemo_bytes()
        hub.add_file(V3_REPO, V3_REVISION, V3_FILENAME, hub.v3, lfs=True)
        hub.canary_v2 = fake_nemo_bytes() + b"\0" * 512  # another file than v3's
        hub.add_file(canary_v2.REPO, canary_v2.REVISION, canary_v2.FILENAME, hub.canary_v2, lfs=True)
        hub.add_file(CANARY_REPO, CANARY_REVISION, "config.json", b'{"pretrained_llm": "Qwen/Qwen3-1.7B"}')
        hub.add_file(CANARY_REPO, CANARY_REVISION, "model.safetensors", os.urandom(400_000), lfs=True)
        for name in hub_cache.QWEN_FILES:
            hub.add_file(QWEN_REPO, QWEN_REVISION, name, f"qwen {name}".encode())
        yield hub


@pytest.fixture
def env(tmp_path, hub):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    environ.update(HF_ENDPOINT=hub.endpoint, HF_HUB_OFFLINE="0", HF_HOME=str(tmp_path / "hf_home"),
                   HF_HUB_CACHE=str(tmp_path / "hub"), PARAKEET_NEMO=str(tmp_path / "local_models" / "parakeet.nemo"),
                   PARAKEET_SHA256=hashlib.sha256(hub.parakeet).hexdigest(), PARAKEET_SIZE=str(len(hub.parakeet)),
                   DIARIZER_NEMO=str(tmp_path / "local_models" / "diarizer.nemo"),
                   PARAKEET_V3_NEMO=str(tmp_path / "local_models" / "parakeet-v3.nemo"),
                   CANARY_1B_V2_NEMO=str(tmp_path / "local_models" / "canary-1b-v2.nemo"),
                   STUDIO_LOG_FILE=str(tmp_path / "setup.log"), STUDIO_OUTPUT_DIR=str(tmp_path / "outputs"),
                   PYTHONPATH=str(ROOT))
    return environ


def run_setup(env, *args):
    return subprocess.run([sys.executable, str(ROOT / "setup_local_models.py"), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def downloads(hub):
    return [r for r in hub.requests if r.method == "GET" and ("/resolve/" in r.path or r.cdn)]


def settings_for(env) -> Settings:
    return Settings(parakeet_path=Path(env["PARAKEET_NEMO"]), hf_cache_dir=Path(env["HF_HUB_CACHE"]))


def test_setup_downloads_verifies_and_is_idempotent(env, hub):
    first = run_setup(env)
    assert first.returncode == 0, first.stderr
    parakeet = Path(env["PARAKEET_NEMO"])
    assert parakeet.read_bytes() == hub.parakeet
    settings = settings_for(env)
    assert hub_cache.is_cached(settings)
    snapshot = hub_cache.canary_snapshot(settings)
    assert (snapshot / "llm_backbone" / "config.json").read_bytes() == b"qwen config.json"
    assert (snapshot / "tokenizer.json").read_bytes() == b"qwen tokenizer.json"
    fetched = len(downloads(hub))
    resolved = {r.path.rsplit("/", 1)[-1] for r in downloads(hub) if "/resolve/" in r.path}
    assert resolved == {PARAKEET_FILENAME, DIARIZER_FILENAME, *hub_cache.CANARY_FILES, *hub_cache.QWEN_FILES}

    second = run_setup(env)
    assert second.returncode == 0, second.stderr
    assert "present and verified" in second.stdout
    assert len(downloads(hub)) == fetched, "a verified setup must not download again"

    check = run_setup(env, "--check")
    assert check.returncode == 0, check.stderr


def test_check_reports_what_is_missing_without_downloading(env, hub):
    result = run_setup(env, "--check")
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "python setup_local_models.py" in result.stderr
    assert "model.safetensors" in result.stderr
    assert "Traceback" not in result.stderr
    assert downloads(hub) == []


def test_check_detects_a_damaged_parakeet_file(env, hub):
    assert run_setup(env, "--skip-canary").returncode == 0
    parakeet = Path(env["PARAKEET_NEMO"])
    data = bytearray(parakeet.read_bytes())
    data[-1000] ^= 0xFF  # same size, different content
    parakeet.write_bytes(bytes(data))
    result = run_setup(env, "--check", "--skip-canary")
    assert result.returncode == 1 and "SHA-256" in result.stderr


def test_an_interrupted_download_continues_where_it_stopped(env, hub):
    hub.fail_after_bytes(100_000)
    first = run_setup(env, "--skip-canary")
    assert first.returncode == 1
    assert "continues from where it stopped" in first.stderr and "Traceback" not in first.stderr
    partial = Path(env["PARAKEET_NEMO"]).with_name(PARAKEET_FILENAME + ".part")
    assert 0 < partial.stat().st_size < len(hub.parakeet)

    second = run_setup(env, "--skip-canary")
    assert second.returncode == 0, second.stderr
    assert Path(env["PARAKEET_NEMO"]).read_bytes() == hub.parakeet
    assert downloads(hub)[-1].range == "bytes=100000-"  # the server cut after exactly 100,000 bytes


def test_a_download_with_the_wrong_hash_is_not_kept(env, hub):
    env["PARAKEET_SHA256"] = "0" * 64
    result = run_setup(env, "--skip-canary")
    assert result.returncode == 1 and "SHA-256" in result.stderr
    assert not Path(env["PARAKEET_NEMO"]).exists()


def test_a_gated_repository_gives_the_login_advice(env, hub):
    hub.gate(CANARY_REPO)
    result = run_setup(env)
    assert result.returncode == 1
    assert "HF_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert "Parakeet-TDT-0.6B-v2: OK" in result.stdout  # the other model still finished


def test_the_seed_revision_is_refused_before_any_download(env, hub):
    env["CANARY_REVISION"] = "2399591399e4e6438fa7804f2f1f1660"
    result = run_setup(env)
    assert result.returncode == 2 and "md5" in result.stderr
    assert downloads(hub) == []


def test_not_enough_disk_space_is_reported_before_downloading(env, hub, monkeypatch, capsys, tmp_path):
    import shutil as real_shutil

    from transcribe_studio.commands import setup as model_setup
    from transcribe_studio.models import pinned

    monkeypatch.setattr(pinned.shutil, "disk_usage",
                        lambda path: real_shutil._ntuple_diskusage(10**12, 10**12 - 1000, 1000))
    code = model_setup.main(["--skip-canary", "--parakeet-nemo", str(tmp_path / "m" / "parakeet.nemo"),
                             "--diarizer-nemo", str(tmp_path / "m" / "diarizer.nemo")])  # not local_models/
    assert code == 1
    err = capsys.readouterr().err
    assert "Disk problem" in err and "GB" in err


# --- the speaker diarizer: size and SHA-256 from the Hub at the first download, then a record ---

def diarizer_record(env) -> dict:
    import json

    return json.loads(Path(env["DIARIZER_NEMO"] + ".source.json").read_text())


def test_the_diarizer_is_verified_by_the_hubs_metadata_and_recorded(env, hub):
    first = run_setup(env, "--skip-canary")
    assert first.returncode == 0, first.stderr
    diarizer = Path(env["DIARIZER_NEMO"])
    assert diarizer.read_bytes() == hub.diarizer
    assert diarizer_record(env) == {"repo": DIARIZER_REPO, "revision": DIARIZER_REVISION,
                                    "filename": DIARIZER_FILENAME, "size": len(hub.diarizer),
                                    "sha256": hashlib.sha256(hub.diarizer).hexdigest()}
    fetched = len(downloads(hub))
    assert run_setup(env, "--skip-canary").returncode == 0
    assert len(downloads(hub)) == fetched, "a recorded, verified diarizer must not download again"

    data = bytearray(diarizer.read_bytes())
    data[-1000] ^= 0xFF  # same size, different content
    diarizer.write_bytes(bytes(data))
    check = run_setup(env, "--check", "--skip-canary")
    assert check.returncode == 1 and "SHA-256" in check.stderr and "diarizer.nemo" in check.stderr
    assert "Traceback" not in check.stderr


def test_a_diarizer_download_that_does_not_match_the_hub_is_not_kept(env, hub):
    partial = Path(env["DIARIZER_NEMO"]).with_name(DIARIZER_FILENAME + ".part")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"x" * 100_000)  # a partial download of other bytes: continued, then caught by the hash
    result = run_setup(env, "--skip-canary")
    assert result.returncode == 1 and "SHA-256" in result.stderr
    assert not Path(env["DIARIZER_NEMO"]).exists()
    assert not Path(env["DIARIZER_NEMO"] + ".source.json").exists()


def test_the_diarizer_can_be_skipped(env, hub):
    result = run_setup(env, "--skip-canary", "--skip-diarizer")
    assert result.returncode == 0, result.stderr
    assert "skipped (--skip-diarizer)" in result.stdout
    assert not Path(env["DIARIZER_NEMO"]).exists()
    assert DIARIZER_FILENAME not in {r.path.rsplit("/", 1)[-1] for r in downloads(hub)}


OPTIONAL = [(parakeet_v3, "parakeet-v3", "PARAKEET_V3_NEMO", "v3"),
            (canary_v2, "canary-1b-v2", "CANARY_1B_V2_NEMO", "canary_v2")]


@pytest.mark.parametrize("module, key, variable, served", OPTIONAL, ids=[key for _, key, _, _ in OPTIONAL])
def test_an_optional_model_is_set_up_only_when_asked_and_verified_by_the_hubs_metadata(env, hub, module, key,
                                                                                         variable, served):
    plain = run_setup(env, "--skip-canary", "--skip-diarizer")
    assert plain.returncode == 0, plain.stderr
    assert not Path(env[variable]).exists() and module.LABEL not in plain.stdout
    assert module.FILENAME not in {r.path.rsplit("/", 1)[-1] for r in downloads(hub)}
    asked = run_setup(env, "--skip-canary", "--skip-diarizer", f"--with-{key}")
    assert asked.returncode == 0, asked.stderr
    original = getattr(hub, served)
    assert Path(env[variable]).read_bytes() == original
    record = json.loads(Path(env[variable] + ".source.json").read_text())
    assert (record["size"], record["sha256"]) == (len(original), hashlib.sha256(original).hexdigest())
    data = bytearray(original)
    data[-1000] ^= 0xFF  # the same size, other bytes
    Path(env[variable]).write_bytes(bytes(data))
    check = run_setup(env, "--check", "--skip-canary", "--skip-diarizer", f"--with-{key}")
    assert check.returncode == 1 and "SHA-256" in check.stderr and Path(env[variable]).name in check.stderr
    Path(env[variable]).write_bytes(original[:-10])  # cut short: a wrong size
    check = run_setup(env, "--check", "--skip-canary", "--skip-diarizer", f"--with-{key}")
    assert check.returncode == 1 and Path(env[variable]).name in check.stderr


# --- messages: each failure once, the network named, --help, custom files ---

def closed_port() -> str:
    import socket

    with socket.socket() as probe:  # a port nothing listens on once the socket is closed: connection refused
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_no_connection_is_said_once_and_names_the_network(env, tmp_path):
    env["HF_ENDPOINT"] = closed_port()
    result = run_setup(env, "--skip-diarizer")
    assert result.returncode == 1
    failures = [line for line in (result.stdout + result.stderr).splitlines() if "unreachable" in line]
    assert len(failures) == 2, result.stderr  # Parakeet and Canary-Qwen, each printed once
    assert all("FAILED" in line and "network connection" in line for line in failures), failures
    assert "Traceback" not in result.stderr
    assert "Traceback" in (tmp_path / "setup.log").read_text()  # the details are in the log file


def test_check_names_a_missing_canary_not_downloaded_yet(env, hub):
    result = run_setup(env, "--check", "--skip-diarizer")
    canary = [line for line in result.stderr.splitlines() if line.startswith("Canary-Qwen")]
    assert len(canary) == 1 and "Model not downloaded yet" in canary[0], result.stderr
    assert "Something unexpected" not in result.stderr


def test_setup_help_lists_only_setup_options(env):
    result = run_setup(env, "--help")
    assert result.returncode == 0
    for option in ("--check", "--skip-canary", "--parakeet-nemo", "--canary-revision", "--diarizer-nemo"):
        assert option in result.stdout
    for unrelated in ("--device", "--batch-size", "--output-dir", "--max-file-mb", "--gpu-memory-gb",
                      "--idle-unload-minutes", "--vocabulary-weight", "--canary-window-seconds"):
        assert unrelated not in result.stdout


def test_a_custom_parakeet_file_passes_check_and_is_never_replaced(env, hub, tmp_path):
    custom = tmp_path / "my-models" / "finetuned.nemo"
    custom.parent.mkdir()
    custom.write_bytes(fake_nemo_bytes() + b"\0" * 10240)  # a valid .nemo that is not the pinned download
    env["PARAKEET_NEMO"] = str(custom)
    check = run_setup(env, "--check", "--skip-canary", "--skip-diarizer")
    assert check.returncode == 0, check.stderr
    assert "custom file, not verified against the pinned download" in check.stdout
    setup = run_setup(env, "--skip-canary", "--skip-diarizer")
    assert setup.returncode == 0, setup.stderr
    assert downloads(hub) == [] and custom.stat().st_size == len(fake_nemo_bytes()) + 10240

    custom.write_bytes(b"not a nemo archive" * 1000)
    broken = run_setup(env, "--check", "--skip-canary", "--skip-diarizer")
    assert broken.returncode == 1 and "not a readable .nemo archive" in broken.stderr
