"""Faults a long day brings: a full or read-only output disk, a model file damaged while the app runs."""

import dataclasses
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.conftest import assert_serves_on_localhost_only
from tests.test_app import free_port, transcribe
from transcribe_studio.app.handlers import build_app
from transcribe_studio.models import PARAKEET, ModelCache


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB filesystem of its own (tmpfs), so filling it harms nothing else."""
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler.bin"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def serve(settings, cache):
    from gradio_client import Client

    from transcribe_studio.app.handlers import launch

    app = build_app(settings, cache)
    port = free_port()
    launch(app, settings, port, prevent_thread_lock=True, quiet=True)
    assert_serves_on_localhost_only(app, port)
    return app, Client(f"http://127.0.0.1:{port}/", verbose=False)


@pytest.fixture
def short_wav(tmp_path) -> Path:
    path = tmp_path / "note.wav"
    rng = np.random.default_rng(0)
    soundfile.write(path, (0.2 * rng.standard_normal(16000)).astype(np.float32), 16000)
    return path


def test_a_full_output_disk_is_explained_and_earlier_results_survive(settings, small_disk, short_wav):
    settings = dataclasses.replace(settings, output_dir=small_disk / "outputs")
    app, client = serve(settings, ModelCache(settings))
    try:
        text, *_ = transcribe(client, [short_wav], formats=("txt", "srt"))
        assert text
        first = app.studio_history.entries()[0]
        saved = {p: p.read_bytes() for p in first.files}

        filler = fill(small_disk)
        text, _, downloads, table, message, _ = transcribe(client, [short_wav], formats=("txt", "srt"))
        assert table["data"][0][1] == "failed" and "Disk problem" in message and "disk is full" in message
        assert "Traceback" not in message and downloads in (None, [])
        assert [e.id for e in app.studio_history.entries()] == [first.id]  # no half-written entry listed
        assert {p: p.read_bytes() for p in first.files} == saved  # earlier results untouched

        filler.unlink()
        text, *_ = transcribe(client, [short_wav], formats=("txt",))
        assert text and len(app.studio_history.entries()) == 2  # still serving once there is room
    finally:
        app.close()


def test_a_read_only_output_folder_is_explained(settings, small_disk, short_wav):
    settings = dataclasses.replace(settings, output_dir=small_disk / "outputs")
    app, client = serve(settings, ModelCache(settings))
    try:
        assert transcribe(client, [short_wav])[0]
        subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
        _, _, _, table, message, _ = transcribe(client, [short_wav])
        assert table["data"][0][1] == "failed" and "Disk problem" in message
        assert len(app.studio_history.entries()) == 1
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=False)
        app.close()


def test_a_model_file_damaged_while_the_app_runs_is_caught_before_the_next_load(settings, tiny_parakeet, tmp_path,
                                                                                  short_wav):
    nemo = tmp_path / "parakeet.nemo"
    shutil.copy(tiny_parakeet, nemo)
    settings = dataclasses.replace(settings, parakeet_path=nemo, output_dir=tmp_path / "outputs")
    cache = ModelCache(settings)
    app, client = serve(settings, cache)
    try:
        assert transcribe(client, [short_wav])[0]
        cache.unload(PARAKEET)
        nemo.write_bytes(tiny_parakeet.read_bytes()[: nemo.stat().st_size // 3])  # a truncated copy
        _, _, _, table, message, status = transcribe(client, [short_wav])
        assert table["data"][0][1] == "failed"
        assert "Model file missing or damaged" in message and str(nemo) in message
        assert "failed" in status and cache.load_count[PARAKEET] == 1  # it was not loaded

        shutil.copy(tiny_parakeet, nemo)  # repaired: the next request loads it again
        assert transcribe(client, [short_wav])[0] and cache.load_count[PARAKEET] == 2
    finally:
        app.close()
