"""Faults an unlucky user meets: taken ports, unwritable folders, symlink loops, a History folder removed
mid-batch, damaged model files, NaN audio; and the modes of the files the app creates."""

import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.conftest import tone
from tests.test_app import ROOT, app_env, free_port, served_app  # noqa: F401 - served_app: a fixture
from tests.test_cli import cli_env, run_cli

POSIX = os.name == "posix"


def _writable(folder: Path) -> bool:
    try:
        (folder / ".probe").touch()
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


@pytest.fixture
def read_only_folder(tmp_path) -> Path:
    """A folder that exists and cannot be written to: a 0500 folder, or for root (whom permissions do not
    stop) a kernel folder of /sys."""
    if not POSIX:
        pytest.skip("POSIX permissions")
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    for candidate in (folder, Path("/sys/kernel")):
        if candidate.is_dir() and not _writable(candidate):
            return candidate
    pytest.skip("no read-only folder available")


def test_a_port_in_use_exits_2_naming_the_flag_without_a_traceback(tmp_path, tiny_parakeet, pristine_canary_cache):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([sys.executable, "transcribe_ui.py", "--port", str(port), "--output-dir",
                                 str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=240,
                                env=app_env(tmp_path, PARAKEET_NEMO=str(tiny_parakeet),
                                            HF_HUB_CACHE=str(pristine_canary_cache)))
    assert result.returncode == 2, result.stderr
    assert "--port" in result.stderr and f"Port {port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Open http" not in result.stdout  # the URL would be the other program's
    assert "share=True" not in result.stdout + result.stderr


@pytest.mark.parametrize("port", ["0", "70000"])
def test_an_invalid_port_exits_2(tmp_path, tiny_parakeet, port):
    result = subprocess.run([sys.executable, "transcribe_ui.py", "--port", port, "--output-dir", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=240,
                            env=app_env(tmp_path, PARAKEET_NEMO=str(tiny_parakeet)))
    assert result.returncode == 2 and "--port" in result.stderr and "Traceback" not in result.stderr


def test_the_app_refuses_an_output_folder_it_cannot_create(tmp_path, tiny_parakeet, read_only_folder):
    locked = read_only_folder
    result = subprocess.run([sys.executable, "transcribe_ui.py", "--port", str(free_port()), "--output-dir",
                             str(locked / "outputs")], cwd=ROOT, capture_output=True, text=True, timeout=240,
                            env=app_env(tmp_path, PARAKEET_NEMO=str(tiny_parakeet)))
    assert result.returncode == 2 and "--output-dir" in result.stderr and str(locked / "outputs") in result.stderr
    assert "Traceback" not in result.stderr


def test_the_cli_fails_before_transcribing_into_a_read_only_output_dir(tmp_path, tiny_parakeet, canary_cache,
                                                                       wav_file, read_only_folder):
    out = read_only_folder
    log = tmp_path / "cli.log"
    result = run_cli(cli_env(tmp_path, tiny_parakeet, canary_cache), str(wav_file), "--output-dir", str(out))
    assert result.returncode == 2, result.stderr
    assert "--output-dir" in result.stderr and str(out) in result.stderr and "Traceback" not in result.stderr
    assert "==" not in result.stdout and "Transcribing" not in (log.read_text() if log.exists() else "")


def test_a_symlink_loop_in_a_folder_is_skipped_and_the_rest_run(tmp_path, tiny_parakeet, canary_cache, wav_file):
    folder = tmp_path / "recordings"
    folder.mkdir()
    shutil.copy(wav_file, folder / "good.wav")
    os.symlink(folder / "loop.wav", folder / "loop.wav")  # a link to itself
    os.symlink(tmp_path / "gone.mp3", folder / "dangling.mp3")
    out = tmp_path / "out"
    result = run_cli(cli_env(tmp_path, tiny_parakeet, canary_cache), str(folder), "--output-dir", str(out),
                     "--format", "txt")
    assert "Traceback" not in result.stderr
    assert f"Skipped {folder / 'loop.wav'}: a symbolic link that loops back on itself" in result.stderr
    assert f"Skipped {folder / 'dangling.mp3'}" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["good.txt"]
    assert "1 of 1 file(s) transcribed" in result.stdout


def test_a_history_folder_removed_mid_batch_fails_that_file_only(shared_cache, tmp_path, wav_file, monkeypatch):
    from transcribe_studio.app import api
    from transcribe_studio.outputs import history
    from transcribe_studio.outputs.history import HistoryStore

    store = HistoryStore(tmp_path / "outputs" / "history")
    files = [shutil.copy(wav_file, tmp_path / f"{name}.wav") for name in ("first", "second", "third")]
    removed = []
    real_open = history.JobEntries.open

    def removed_once_made(entries, source):  # the user (or a cleaner) deletes the folder under the running job
        folder = real_open(entries, source)
        if source.name == "second.wav":
            shutil.rmtree(store.root)
            removed.append(folder)
        return folder

    monkeypatch.setattr(history.JobEntries, "open", removed_once_made)
    answer = api.transcribe(shared_cache, store, files, model="parakeet", formats=["txt"])
    assert removed
    outcomes = {row[0]: row[1] for row in answer.files}
    assert outcomes == {"first.wav": "done", "second.wav": "failed", "third.wav": "done"}, answer.files
    failure = next(row[2] for row in answer.files if row[0] == "second.wav")
    assert "Traceback" not in failure and "Something unexpected" not in failure, failure
    assert [e.source for e in store.entries()] == ["third.wav"]


def test_a_history_delete_that_fails_for_a_disk_reason_is_explained(tmp_path, monkeypatch):
    import errno

    from transcribe_studio.app.handlers import Handlers
    from transcribe_studio.app.histories import Histories
    from transcribe_studio.files import atomic_write_text
    from transcribe_studio.outputs import history
    from transcribe_studio.outputs.history import HistoryStore

    histories = Histories(tmp_path / "outputs", HistoryStore)
    store = histories.shared
    entry = store.open_entry("talk.wav")
    atomic_write_text(entry / "talk.json", '{"text": "hi", "segments": [], "words": []}')
    entry_id = store.finish(entry)
    real_rmtree = history.shutil.rmtree

    def refuse_once(path, *args, **kwargs):  # one injected fault: the disk refuses, as a read-only mount would
        monkeypatch.setattr(history.shutil, "rmtree", real_rmtree)
        raise PermissionError(errno.EROFS, "Read-only file system", str(path))
    monkeypatch.setattr(history.shutil, "rmtree", refuse_once)

    rows, ids, picked, _, note, _ = Handlers(None, histories).delete_history(entry_id)
    assert "Disk problem" in note and str(entry) in note and "--output-dir" in note, note
    assert ids == [entry_id] and picked == entry_id  # still there, still listed, still selected
    assert "Deleted" in Handlers(None, histories).delete_history(entry_id)[4]


def _with_member(nemo: Path, member: str, data: bytes, out: Path) -> Path:
    """A copy of the archive ``nemo`` whose ``member`` holds ``data`` instead."""
    import io
    import tarfile

    with tarfile.open(nemo) as source, tarfile.open(out, "w") as copy:
        for info in source.getmembers():
            content = source.extractfile(info) if info.isfile() else None
            if Path(info.name).name == member:
                info.size, content = len(data), io.BytesIO(data)
            copy.addfile(info, content)
    return out


@pytest.mark.parametrize("member, data", [
    ("model_config.yaml", b"encoder: [unclosed\n  : : :\n"),  # not YAML
    ("model_config.yaml", b"just a sentence\n"),  # YAML, but no model in it
    ("model_weights.ckpt", bytes(range(256)) * 20),  # not a checkpoint
    ("model_weights.ckpt", b""),  # emptied
    ("model_weights.ckpt", b"\x80\x04K\x05."),  # a pickle of the number 5: read, then no weights in it
])
def test_a_damaged_member_of_a_nemo_file_is_a_model_file_error(tiny_parakeet, tmp_path, member, data):
    from transcribe_studio.errors import ModelFileError
    from transcribe_studio.models import ModelCache
    from transcribe_studio.settings import Settings

    damaged = _with_member(tiny_parakeet, member, data, tmp_path / "parakeet.nemo")
    cache = ModelCache(Settings(parakeet_path=damaged, hf_cache_dir=tmp_path / "hub", device="cpu"))
    with pytest.raises(ModelFileError) as raised:
        cache.load("parakeet")
    message = raised.value.user_message()
    assert str(damaged) in message and member in message and "python setup_local_models.py" in message
    assert "weights_only" not in message and "abstract" not in message and "Traceback" not in message


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_audio_of_nan_or_inf_samples_is_named_as_such(tmp_path, value):
    from transcribe_studio.errors import CorruptMediaError
    from transcribe_studio.media.decode import decode_audio

    path = tmp_path / "float.wav"
    soundfile.write(path, np.full(32000, value, dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(CorruptMediaError) as raised:
        decode_audio(path)
    assert "NaN or infinite" in raised.value.message and "zero" not in raised.value.message


def test_a_few_nan_samples_are_repaired_not_refused(tmp_path):
    from transcribe_studio.media.decode import decode_audio

    samples = tone(2.0)
    samples[100:200] = np.nan
    path = tmp_path / "mostly-fine.wav"
    soundfile.write(path, samples, 16000, subtype="FLOAT")
    audio = decode_audio(path)
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.1


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(not POSIX, reason="POSIX file modes")
def test_everything_the_app_creates_is_private_to_the_user(tmp_path, serve_studio, studio_settings):
    import logging

    from transcribe_studio.files import make_dirs
    from transcribe_studio.logs import _PrivateRotatingFile
    from transcribe_studio.outputs.history import HistoryStore
    from transcribe_studio.outputs.writers import write_outputs
    from transcribe_studio.transcription.transcript import Transcript

    old_umask = os.umask(0o022)  # the usual umask: it would leave 0755 folders and 0644 files
    try:
        written = write_outputs(Transcript(text="private words", segments=[], words=[], model="m", duration=1.0),
                                "talk.wav", tmp_path / "cli-out" / "nested", ["txt", "json"])
        store = HistoryStore(tmp_path / "outputs" / "history")
        entry = store.open_entry("talk.wav")
        write_outputs(Transcript(text="x", segments=[], words=[], model="m", duration=1.0), "talk.wav", entry,
                      ["txt"])
        store.finish(entry, audio=written[0])
        make_dirs(tmp_path / "logs")  # as setup_logging does
        handler = _PrivateRotatingFile(tmp_path / "logs" / "studio.log", maxBytes=200, backupCount=1)
        for n in range(5):  # past maxBytes: rotated, and the new file is private too
            handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, "line %d " + "x" * 80, (n,), None))
        handler.close()
        serve_studio(studio_settings)
    finally:
        os.umask(old_umask)
    folders = [tmp_path / "cli-out", tmp_path / "cli-out" / "nested", store.root, entry,
               tmp_path / "logs", Path(os.environ["GRADIO_TEMP_DIR"]), studio_settings.output_dir]
    files = [*written, *entry.iterdir(), *(tmp_path / "logs").iterdir()]
    assert len(list((tmp_path / "logs").iterdir())) == 2
    assert {str(f): oct(_mode(f)) for f in folders if _mode(f) != 0o700} == {}
    assert {str(f): oct(_mode(f)) for f in files if _mode(f) != 0o600} == {}



# --- requests that write are bounded, and a refused change writes nothing --------------------------------------

def _entry_hashes(folder: Path) -> dict[str, str]:
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_an_edit_far_beyond_a_correction_is_refused_at_once_and_writes_nothing(served_app, wav_file):
    import time

    from gradio_client import Client

    from tests.test_app import transcribe

    app, url = served_app
    client = Client(url, verbose=False)
    transcribe(client, [wav_file])
    entry = app.studio_history.entries()[0]
    folder = entry.files[0].parent
    before = _entry_hashes(folder)
    texts = [s.text for s in app.studio_history.load(entry.id)[0].segments]
    started = time.monotonic()
    _, _, message = client.predict(entry.id, ["word " * 2_000_000] + texts[1:], api_name="/save_edit")  # 10 MB
    assert time.monotonic() - started < 30 and "too long" in message and "What to do" in message
    _, _, message = client.predict(entry.id, ["a\u0001b"] + texts[1:], api_name="/save_edit")
    assert "control character" in message
    assert _entry_hashes(folder) == before  # not even the original transcript was set aside
    for words in (400, 1600):  # edit after edit cannot grow a segment step by step: the bound is the audio's
        _, _, message = client.predict(entry.id, [" ".join(["w"] * words)] + texts[1:], api_name="/save_edit")
    assert "too long" in message and "at most 400" in message, message


def test_a_long_segment_rewritten_whole_aligns_in_linear_memory():
    from transcribe_studio.transcription.align import MAX_TABLE_CELLS, _edit_path
    from transcribe_studio.transcription.align import align as align_words
    from transcribe_studio.transcription.transcript import Word

    timed = [Word(i * 0.2, i * 0.2 + 0.1, f"w{i}") for i in range(3000)]
    texts = [w.text for w in timed[:1500]] + ["new"] + [w.text for w in timed[1501:]]
    assert len(texts) * len(timed) > MAX_TABLE_CELLS
    aligned = align_words(texts, timed, 0.0, 600.0)
    assert [w.start for w in aligned[:1500]] == [w.start for w in timed[:1500]]
    assert aligned[1500].start == timed[1500].start and aligned[1500].text == "new"  # substituted: its times
    small = ["a", "b", "x", "d"], ["a", "b", "c", "d"]
    assert _edit_path(*small) == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_speaker_names_are_bounded_and_a_refused_rename_changes_no_file(served_app, tmp_path):
    from gradio_client import Client

    from tests.test_speakers import TURNS, two_speaker_transcript
    from transcribe_studio.outputs.writers import FORMATS, write_outputs
    from transcribe_studio.transcription.speakers import assign_speakers

    app, url = served_app
    store = app.studio_history
    folder = store.open_entry("talk.wav")
    write_outputs(assign_speakers(two_speaker_transcript(), TURNS), "talk.wav", folder, FORMATS)
    entry_id = store.finish(folder)
    before = _entry_hashes(folder)
    client = Client(url, verbose=False)
    for names, says in (("Speaker 1 = " + "x" * 10_000, "at most 100 characters"),
                        ("Speaker 1 = Dana\u0001X", "control character"),
                        (5, "must be text")):
        _, _, message = client.predict(entry_id, names, api_name="/rename_speakers")
        assert says in message and "What to do" in message and "unexpected" not in message, names
        assert _entry_hashes(folder) == before, names
    _, _, message = client.predict(entry_id, "Speaker 1 = Dana", api_name="/rename_speakers")
    assert message.startswith("Speakers renamed") and _entry_hashes(folder) != before


# --- the upload folder is the user's own ---------------------------------------------------------------------

def test_the_default_upload_folder_is_named_for_the_user_and_made_private(tmp_path, monkeypatch):
    from transcribe_studio.app import startup

    monkeypatch.setattr(startup.tempfile, "gettempdir", lambda: str(tmp_path))
    folder = startup.prepare_upload_folder(environ={})
    assert folder == tmp_path / f"transcribe_studio-{os.getuid()}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to give a folder away")
def test_an_upload_folder_another_user_owns_is_refused(tmp_path):
    from transcribe_studio.app import startup
    from transcribe_studio.errors import ConfigurationError

    planted = tmp_path / "uploads"
    planted.mkdir()
    planted.chmod(0o777)
    os.chown(planted, 65534, 65534)  # nobody's
    with pytest.raises(ConfigurationError, match="belongs to another user"):
        startup.prepare_upload_folder(environ={"GRADIO_TEMP_DIR": str(planted)})
    assert stat.S_IMODE(planted.stat().st_mode) == 0o777  # left as it was: not ours to change


def test_an_upload_folder_that_cannot_be_made_stops_the_start_with_a_message(tmp_path, tiny_parakeet):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = app_env(tmp_path, PARAKEET_NEMO=str(tiny_parakeet), GRADIO_TEMP_DIR=str(blocker / "uploads"))
    result = subprocess.run([sys.executable, "transcribe_ui.py", "--no-preload", "--port", str(free_port())],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "GRADIO_TEMP_DIR" in result.stderr and "Traceback" not in result.stderr
