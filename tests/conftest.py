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

# Writes by this process that the session fails for, each (audit event, path), filled by the hook below:
# into the system temp folder, and into the checkout outside what a test run may write (_CHECKOUT_OK_*).
SYSTEM_TEMP_WRITES: list[tuple[str, str]] = []
CHECKOUT_WRITES: list[tuple[str, str]] = []
SYSTEM_TEMP, CHECKOUT = "system temp", "checkout"
_CHECKOUT = os.path.realpath(_REPO)
# Ours to write: the test temp folders (inside the checkout by default, perhaps elsewhere).
_OURS = [os.path.realpath(TEST_TMP), os.path.join(_CHECKOUT, ".test-tmp")]
# Inside the checkout, a test run may write only these (at the top, or as any folder on the way): Python's
# bytecode, pytest's cache (made as pytest-cache-files-*, then renamed) and the virtual environment. The rest is
# the developer's: the sources, outputs/, logs/, local_models/ (a test that wrote there could overwrite or, by a
# startup clean-up, delete their files).
_CHECKOUT_OK_TOP = {".test-tmp", ".venv", ".pytest_cache"}
_CHECKOUT_OK_TOP_PREFIXES = ("pytest-cache-files-",)
_CHECKOUT_OK_ANYWHERE = {"__pycache__", ".pytest_cache"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | getattr(os, "O_TMPFILE", 0)
# The audit events that create, write, move or delete a file or folder: for each, where in its arguments the path
# is and the folder descriptor it is relative to (None: none). A rename or move also empties its source: in the
# checkout that counts, in the system temp folder (shared with every other program) only new names do.
_CREATES = {"os.mkdir": (0, 2), "os.symlink": (1, 2), "os.link": (1, 3), "os.rename": (1, 3),
            "shutil.copyfile": (1, None), "shutil.copytree": (1, None), "shutil.move": (1, None)}
_REMOVES = {"os.remove": (0, 1), "os.rmdir": (0, 1), "shutil.rmtree": (0, 1), "os.rename": (0, 2),
            "shutil.move": (0, None)}


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def write_place(path) -> str | None:
    """Where a write to ``path`` lands, if it is somewhere the suite must not write: SYSTEM_TEMP or CHECKOUT.

    The folder the path names is resolved (symlinks, ``..``) and the innermost of the known folders holding it
    decides, so nesting works either way: a checkout cloned under ``/tmp`` is the checkout (its ``.test-tmp/`` ours)
    and not the system temp folder, and a stand-in system temp folder inside ``.test-tmp/`` is system temp.
    """
    if isinstance(path, int):
        return None  # a file descriptor: its path was checked when it was opened
    path = os.fsdecode(os.fspath(path))
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    known = ([(ours, None) for ours in _OURS] + [(_CHECKOUT, CHECKOUT)]
             + [(temp, SYSTEM_TEMP) for temp in _SYSTEM_TEMP])
    holding = [(len(root), place) for root, place in known if _inside(folder, root)]
    if not holding:
        return None
    place = max(holding, key=lambda found: found[0])[1]
    if place == CHECKOUT:
        parts = os.path.relpath(os.path.join(folder, os.path.basename(path)), _CHECKOUT).split(os.sep)
        if (parts[0] in _CHECKOUT_OK_TOP or parts[0].startswith(_CHECKOUT_OK_TOP_PREFIXES)
                or _CHECKOUT_OK_ANYWHERE & set(parts)):
            return None
    return place


def _is_system_temp(path) -> bool:
    return write_place(path) == SYSTEM_TEMP


def _relative_to_fd(path, dir_fd):
    """``path`` as the call that raised the event meant it: relative to ``dir_fd`` when it gives one (shutil.rmtree
    removes each entry by its bare name that way), else to the working folder; None when that cannot be told."""
    if dir_fd is None or isinstance(path, int) or os.path.isabs(os.fsdecode(os.fspath(path))):
        return path
    try:
        return os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), os.fsdecode(os.fspath(path)))
    except OSError:  # not Linux: not knowable here
        return None


def write_targets(event: str, args: tuple) -> list[tuple[str, str]]:
    """(place, path) for each path the audit event writes, moves or deletes where the suite must not."""
    if event == "open":  # the event carries no folder descriptor: a relative path is taken as the working folder's
        path, mode, flags = args
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
        candidates = [(path, (SYSTEM_TEMP, CHECKOUT))] if writes and path is not None else []
    else:
        candidates = []
        for table, watched in ((_CREATES, (SYSTEM_TEMP, CHECKOUT)), (_REMOVES, (CHECKOUT,))):
            if event in table:
                at, fd_at = table[event]
                dir_fd = args[fd_at] if fd_at is not None and fd_at < len(args) else None
                target = _relative_to_fd(args[at], dir_fd)
                if event == "os.mkdir" and target is not None and os.path.lexists(target):
                    continue  # makedirs(exist_ok=True) of a folder that is there: it fails, nothing is written
                candidates.append((target, watched))
    found = []
    for target, watched in candidates:
        try:
            place = write_place(target) if target is not None else None
            if place in watched:
                found.append((place, os.fsdecode(os.fspath(target))))
        except Exception:  # noqa: BLE001 - a watcher must never break the code it watches
            pass
    return found


def system_temp_target(event: str, args: tuple):
    """The path an audit event creates or writes in the system temp folder, or None."""
    return next((path for place, path in write_targets(event, args) if place == SYSTEM_TEMP), None)


def checkout_target(event: str, args: tuple):
    """The path an audit event creates, writes, moves or deletes in the checkout (outside .test-tmp/), or None."""
    return next((path for place, path in write_targets(event, args) if place == CHECKOUT), None)


_WATCHED = {"open", *_CREATES, *_REMOVES}


def _watch_writes(event: str, args: tuple) -> None:
    if event in _WATCHED:
        for place, target in write_targets(event, args):
            (SYSTEM_TEMP_WRITES if place == SYSTEM_TEMP else CHECKOUT_WRITES).append((event, target))


sys.addaudithook(_watch_writes)

# The hook sees this process only. What the tests' subprocesses (the CLI, the app, the setup) write is kept out of
# the checkout by giving each an output folder and a log file of its own; in case one is missed, the folders they
# would write to by default are listed now and compared at the end of the session.
_DEFAULT_FOLDERS = ("outputs", "logs", "local_models")


def checkout_listing() -> dict[str, tuple[int, int] | None]:
    """Every file (size, modification time) and folder (None) under the checkout's default output folders."""
    listing: dict[str, tuple[int, int] | None] = {}
    for name in _DEFAULT_FOLDERS:
        for folder, _, files in os.walk(os.path.join(_CHECKOUT, name)):
            listing[os.path.relpath(folder, _CHECKOUT)] = None
            for file in files:
                path = os.path.join(folder, file)
                try:
                    status = os.lstat(path)
                except OSError:
                    continue
                listing[os.path.relpath(path, _CHECKOUT)] = (status.st_size, status.st_mtime_ns)
    return listing


def listing_changes(before: dict, after: dict) -> list[tuple[str, str]]:
    """(what happened, path) for each entry that appeared, changed or went between two listings."""
    changes = [("appeared during the run", path) for path in after if path not in before]
    changes += [("changed during the run", path) for path in after if path in before and after[path] != before[path]]
    changes += [("went during the run", path) for path in before if path not in after]
    return [(what, os.path.join(_CHECKOUT, path)) for what, path in sorted(changes, key=lambda c: c[1])]


_LISTING_AT_START = checkout_listing()
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = os.path.join(_SESSION_DIR, "hf_home")
os.environ["HF_HUB_CACHE"] = os.path.join(_SESSION_DIR, "hf_home", "hub")
os.environ["STUDIO_LOG_FILE"] = os.path.join(_SESSION_DIR, "studio.log")
os.environ.pop("HF_TOKEN", None)
# The user's own settings must not steer the suite: every model's variables (from the registry) and the device.
from transcribe_studio.models.spec import options as _model_options  # noqa: E402 - after the HF_* variables

for _name in ["STUDIO_DEVICE", "STUDIO_OUTPUT_DIR"] + [option.env for option in _model_options()]:
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
def settings(tiny_parakeet, canary_cache, tmp_path) -> Settings:
    """The tiny models, on the CPU, with the outputs (and so History) in this test's own folder: the default,
    the checkout's ``outputs/``, is the developer's (an app built on it would clean it up at startup)."""
    return Settings(parakeet_path=tiny_parakeet, hf_cache_dir=canary_cache, device="cpu",
                    output_dir=tmp_path / "outputs")


@pytest.fixture(scope="session")
def shared_cache(tiny_parakeet, pristine_canary_cache, tmp_path_factory):
    """One ModelCache with both tiny models, for tests that only transcribe (loads are slow)."""
    from transcribe_studio.models import ModelCache

    hub = tmp_path_factory.mktemp("shared_hub") / "hub"
    shutil.copytree(pristine_canary_cache, hub, symlinks=True)
    return ModelCache(Settings(parakeet_path=tiny_parakeet, hf_cache_dir=hub, device="cpu",
                               output_dir=tmp_path_factory.mktemp("shared_outputs")))


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
    CHECKOUT_WRITES.extend(listing_changes(_LISTING_AT_START, checkout_listing()))
    if (SYSTEM_TEMP_WRITES or CHECKOUT_WRITES) and session.exitstatus == 0:
        session.exitstatus = 1  # the suite wrote to the system temp folder or into the checkout: fail the run


def pytest_terminal_summary(terminalreporter):
    if SYSTEM_TEMP_WRITES:
        terminalreporter.section("written to the system temp folder (tests must use TMPDIR / tmp_path)", red=True)
        for event, path in sorted(set(SYSTEM_TEMP_WRITES))[:50]:
            terminalreporter.line(f"{event}: {path}")
    if CHECKOUT_WRITES:
        terminalreporter.section("written into the checkout (tests must write under tmp_path: give every app, CLI "
                                 "and setup run its own --output-dir / STUDIO_OUTPUT_DIR and STUDIO_LOG_FILE)",
                                 red=True)
        for event, path in sorted(set(CHECKOUT_WRITES), key=lambda w: (w[1], w[0]))[:50]:
            terminalreporter.line(f"{event}: {path}")
        if any(event.endswith("during the run") for event, _ in CHECKOUT_WRITES):
            terminalreporter.line("(Seen by comparing the checkout's outputs/, logs/ and local_models/ before and "
                                  "after: a subprocess, or the app run by hand from this checkout meanwhile.)")


def pytest_configure(config):
    # Third-party deprecation chatter (torch, transformers, gradio, pandas) is not ours to fix.
    for category in ("DeprecationWarning", "FutureWarning", "UserWarning", "pandas.errors.Pandas4Warning"):
        config.addinivalue_line("filterwarnings", f"ignore::{category}")


# --- the studio served in-process (browser and concurrency tests) ----------

@pytest.fixture
def studio_settings(settings, tmp_path) -> Settings:
    """``settings`` with the outputs (and so History) in this test's own folder (``settings`` has them there too)."""
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
