"""Test environment: no network, a private Hugging Face cache, tiny real NeMo models,
and nothing written to the system temp folder.

The HF_* variables are set before anything imports huggingface_hub, which reads
them at import time. HF_HUB_OFFLINE=1 makes any accidental download fail loudly.

**Temporary files.** Everything temporary goes under the repository's git-ignored
``.test-tmp/``: ``tests/run.sh`` sets ``TMPDIR`` (so :mod:`tempfile`, and so
Gradio, gradio_client, NeMo and pytest follow), ``GRADIO_TEMP_DIR`` and
``--basetemp``; the block below does the same when pytest is run directly.
(gradio_client needs this too: ``Client`` downloads each result file into
``gettempdir()/<token_hex(20)>/`` and moves it out, leaving an empty 40-hex
folder behind, in ``/tmp`` if ``gettempdir()`` were left alone.)
The system temp folder is watched with an audit hook (:func:`_watch_system_temp`):
every folder or file that *this process* creates or opens for writing there is
recorded, and the session fails if there are any. A listing of ``/tmp`` before
and after would not do: the machine's ``/tmp`` is shared, and other processes
(other test runs included) create the very same names (40-hex folders,
``gradio/``) meanwhile. Subprocesses the tests start inherit ``TMPDIR``.
"""

import os
import sys
import tempfile

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The system temp folder(s) the suite must not write to: what tempfile chose before we moved it
# (tests/run.sh passes the original TMPDIR on), and /tmp, which some libraries hard-code.
_SYSTEM_TEMP = {os.path.realpath(p) for p in
                (os.environ.get("STUDIO_SYSTEM_TMPDIR") or tempfile.gettempdir(), "/tmp", "/var/tmp")}
TEST_TMP = os.environ.get("STUDIO_TEST_TMPDIR") or os.path.join(_REPO, ".test-tmp", "tmp")
os.makedirs(TEST_TMP, exist_ok=True)
os.environ["TMPDIR"] = TEST_TMP
os.environ["GRADIO_TEMP_DIR"] = os.path.join(TEST_TMP, "gradio")
tempfile.tempdir = None  # forget a temp folder tempfile may have cached already
assert os.path.realpath(tempfile.gettempdir()) == os.path.realpath(TEST_TMP)

_SESSION_DIR = tempfile.mkdtemp(prefix="studio-tests-")

# Writes into the system temp folder by this process: (audit event, path), filled by the hook below.
SYSTEM_TEMP_WRITES: list[tuple[str, str]] = []
_OURS = [os.path.realpath(TEST_TMP), os.path.realpath(_REPO)]
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | getattr(os, "O_TMPFILE", 0)


def _is_system_temp(path) -> bool:
    if isinstance(path, int):
        return False  # a file descriptor: its path was checked when it was opened
    path = os.fsdecode(os.fspath(path))
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    if any(folder == ours or folder.startswith(ours + os.sep) for ours in _OURS):
        return False  # e.g. a checkout that itself lies under /tmp
    return any(folder == temp or folder.startswith(temp + os.sep) for temp in _SYSTEM_TEMP)


def system_temp_target(event: str, args: tuple):
    """The path an audit event creates or writes in the system temp folder, or None."""
    if event == "open":
        path, mode, flags = args
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
        targets = [path] if writes and path is not None else []
    elif event in ("os.mkdir", "os.symlink", "os.link"):
        targets = [args[1] if event != "os.mkdir" else args[0]]
    elif event in ("os.rename", "shutil.copyfile", "shutil.copytree", "shutil.move"):
        targets = [args[1]]
    else:
        return None
    for target in targets:
        try:
            if _is_system_temp(target):
                return os.fsdecode(os.fspath(target))
        except Exception:  # noqa: BLE001 - a watcher must never break the code it watches
            pass
    return None


def _watch_system_temp(event: str, args: tuple) -> None:
    if event in ("open", "os.mkdir", "os.symlink", "os.link", "os.rename", "shutil.copyfile",
                 "shutil.copytree", "shutil.move"):
        target = system_temp_target(event, args)
        if target is not None:
            SYSTEM_TEMP_WRITES.append((event, target))


sys.addaudithook(_watch_system_temp)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = os.path.join(_SESSION_DIR, "hf_home")
os.environ["HF_HUB_CACHE"] = os.path.join(_SESSION_DIR, "hf_home", "hub")
os.environ["STUDIO_LOG_FILE"] = os.path.join(_SESSION_DIR, "studio.log")
os.environ.pop("HF_TOKEN", None)
for _name in ("PARAKEET_NEMO", "CANARY_REPO", "CANARY_REVISION", "QWEN_REPO", "QWEN_REVISION", "STUDIO_DEVICE",
              "PARAKEET_REPO", "PARAKEET_REVISION", "PARAKEET_FILENAME", "PARAKEET_SHA256", "PARAKEET_SIZE", "DIARIZER_NEMO", "DIARIZER_REPO", "DIARIZER_REVISION",
              "DIARIZER_FILENAME"):
    os.environ.pop(_name, None)


# --- shared fixtures --------------------------------------------------------

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests import tiny_models  # noqa: E402
from transcribe_studio.models.canary import QWEN_REPO, QWEN_REVISION
from transcribe_studio.models.canary import REPO as CANARY_REPO
from transcribe_studio.models.canary import REVISION as CANARY_REVISION
from transcribe_studio.settings import Settings


@pytest.fixture(scope="session")
def tiny_parakeet(tmp_path_factory) -> Path:
    """A tiny real Parakeet-architecture .nemo (FastConformer + TDT, random weights)."""
    return tiny_models.build_tiny_parakeet(tmp_path_factory.mktemp("parakeet") / "parakeet.nemo")


@pytest.fixture(scope="session")
def tiny_diarizer(tmp_path_factory) -> Path:
    """A tiny real streaming Sortformer .nemo (SortformerEncLabelModel, random weights)."""
    return tiny_models.build_tiny_diarizer(tmp_path_factory.mktemp("diarizer") / "diarizer.nemo", streaming=True)


@pytest.fixture(scope="session")
def pristine_canary_cache(tmp_path_factory) -> Path:
    """A Hugging Face cache holding a tiny real SALM as nvidia/canary-qwen-2.5b and its tiny Qwen."""
    hub = tmp_path_factory.mktemp("pristine_hub")
    tiny_models.build_tiny_canary_cache(hub, canary_repo=CANARY_REPO, canary_commit=CANARY_REVISION,
                                        qwen_repo=QWEN_REPO, qwen_commit=QWEN_REVISION)
    return hub


@pytest.fixture
def canary_cache(pristine_canary_cache, tmp_path) -> Path:
    """A private copy a test may damage."""
    copy = tmp_path / "hub"
    shutil.copytree(pristine_canary_cache, copy, symlinks=True)
    return copy


@pytest.fixture
def settings(tiny_parakeet, canary_cache) -> Settings:
    return Settings(parakeet_path=tiny_parakeet, hf_cache_dir=canary_cache, device="cpu")


@pytest.fixture(scope="session")
def shared_cache(tiny_parakeet, pristine_canary_cache, tmp_path_factory):
    """One ModelCache with both tiny models, for tests that only transcribe (loads are slow)."""
    from transcribe_studio.models import ModelCache

    hub = tmp_path_factory.mktemp("shared_hub") / "hub"
    shutil.copytree(pristine_canary_cache, hub, symlinks=True)
    return ModelCache(Settings(parakeet_path=tiny_parakeet, hf_cache_dir=hub, device="cpu"))


def loaded(cache, key: str):
    """The model ``key`` from ``cache``, loaded through the one way in a job has (``use``)."""
    with cache.use(key) as model:
        return model


@pytest.fixture
def registered():
    """``registered(spec)`` makes a model known to the app for one test; the earlier spec comes back after."""
    from transcribe_studio.models import spec as specs

    saved = {s.key: s for s in specs.all_specs()}
    yield specs.register
    for key in [s.key for s in specs.all_specs()]:
        specs.unregister(key)
    for spec in saved.values():
        specs.register(spec)


def tone(seconds: float, rate: int = 16000, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture
def wav_file(tmp_path) -> Path:
    """Three seconds of 44.1 kHz stereo WAV, the kind a user has (not the model's 16 kHz mono)."""
    import soundfile

    path = tmp_path / "speech.wav"
    mono = tone(3.0, rate=44100)
    soundfile.write(path, np.stack([mono, mono * 0.5], axis=1), 44100)
    return path


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
    if SYSTEM_TEMP_WRITES and session.exitstatus == 0:
        session.exitstatus = 1  # the suite wrote to the system temp folder: fail the run


def pytest_terminal_summary(terminalreporter):
    if SYSTEM_TEMP_WRITES:
        terminalreporter.section("written to the system temp folder (tests must use TMPDIR / tmp_path)", red=True)
        for event, path in sorted(set(SYSTEM_TEMP_WRITES))[:50]:
            terminalreporter.line(f"{event}: {path}")


def pytest_configure(config):
    # Third-party deprecation chatter (torch, transformers, gradio, pandas) is not ours to fix.
    for category in ("DeprecationWarning", "FutureWarning", "UserWarning", "pandas.errors.Pandas4Warning"):
        config.addinivalue_line("filterwarnings", f"ignore::{category}")


# --- the studio served in-process (browser and concurrency tests) ----------

@pytest.fixture
def studio_settings(settings, tmp_path) -> Settings:
    """``settings`` with the outputs (and so History) in this test's own folder."""
    import dataclasses

    return dataclasses.replace(settings, output_dir=tmp_path / "outputs")


def listening_addresses(port: int) -> list[str]:
    """The local addresses of the sockets listening on TCP ``port`` on this machine (Linux /proc/net)."""
    import ipaddress
    import socket

    found = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # /proc prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.append(str(ipaddress.ip_address(raw)))
    return found


def assert_serves_on_localhost_only(app, port: int) -> None:
    """The server Gradio started listens on 127.0.0.1 and nowhere else, and says so."""
    assert app.server_name == "127.0.0.1"
    assert app.analytics_enabled is False
    if Path("/proc/net/tcp").exists():
        assert listening_addresses(port) == ["127.0.0.1"], listening_addresses(port)


@pytest.fixture
def serve_studio():
    """A factory: ``serve_studio(settings, cache=None, access=None, **launch_options)`` builds the studio with
    ``build_app``, serves it on a free 127.0.0.1 port with ``launch`` (no thread lock, quiet),
    checks that it listens on 127.0.0.1 only and returns ``(app, url)``; every app it started
    is closed at teardown."""
    import socket

    from transcribe_studio.app.handlers import build_app, launch

    started = []

    def serve(settings, cache=None, access=None, **launch_options):
        app = build_app(settings, cache)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        launch(app, settings, port, access=access, prevent_thread_lock=True, quiet=True, **launch_options)
        started.append(app)
        assert_serves_on_localhost_only(app, port)
        return app, f"http://127.0.0.1:{port}/"

    yield serve
    for app in started:
        app.close()
