"""``--watch``: a folder a recorder syncs into, looked at scan by scan; each file transcribed once it is complete.

The scans are driven by hand (``FolderWatch.scan``) with a short interval, so a test decides what changes between
two of them; a sleep of one interval lets a file count as unchanged for that long.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.media import speechlike, write_audio
from transcribe_studio.models import ModelCache
from transcribe_studio.transcription.watch import SCANS_ENV, FolderWatch, WatchOptions, stop_on_ctrl_c

INTERVAL = 0.05  # seconds
RATE = 16000


@pytest.fixture
def cache(settings) -> ModelCache:
    return ModelCache(settings)  # its own output folder: what one test finished must not count as done in another


@pytest.fixture
def inbox(tmp_path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def watcher(cache, inbox, formats=("txt", "json"), **kwargs) -> FolderWatch:
    return FolderWatch(cache, "parakeet", [inbox], formats, watch=WatchOptions(INTERVAL), **kwargs)


def recording(path: Path, seconds: float = 1.0, seed: int = 0) -> Path:
    return write_audio(path, speechlike(seconds, seed=seed), RATE)


def outputs(cache) -> list[str]:
    folder = cache.settings.output_dir
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def scan_after_interval(watching: FolderWatch, stop=None):
    time.sleep(INTERVAL)
    return watching.scan(stop)


def test_a_new_file_is_transcribed_once_it_is_stable(cache, inbox, capsys):
    watching = watcher(cache, inbox)
    assert watching.scan() == []
    memo = recording(inbox / "memo.wav")
    assert watching.scan() == []  # seen once: it may still be being written
    [result] = scan_after_interval(watching)
    assert result.ok and result.source == memo
    assert outputs(cache) == ["memo.json", "memo.txt"]
    assert scan_after_interval(watching) == []  # done: not again
    [line] = [line for line in capsys.readouterr().err.splitlines() if str(memo) in line]
    assert line.startswith("OK      ") and "memo.txt" in line


def test_a_file_still_growing_waits_until_it_stops_changing(cache, inbox, tmp_path):
    whole = recording(tmp_path / "whole.wav", seconds=1.5).read_bytes()
    growing = inbox / "dictation.wav"
    growing.write_bytes(whole[:len(whole) // 3])
    watching = watcher(cache, inbox)
    assert watching.scan() == []
    for end in (2 * len(whole) // 3, len(whole)):
        with growing.open("ab") as file:
            file.write(whole[growing.stat().st_size:end])
        assert scan_after_interval(watching) == []  # it changed since the last scan
    [result] = scan_after_interval(watching)
    assert result.ok
    saved = json.loads((cache.settings.output_dir / "dictation.json").read_text())
    assert saved["duration"] == pytest.approx(1.5, abs=0.01)  # the whole file, not the part first seen


def test_files_done_before_are_skipped_on_a_restart_and_a_changed_one_is_done_again(cache, inbox):
    memo = recording(inbox / "memo.wav")
    first = watcher(cache, inbox)
    first.scan()
    [_] = scan_after_interval(first)

    restarted = watcher(cache, inbox)
    assert restarted.scan() == [] and scan_after_interval(restarted) == []

    saved = (cache.settings.output_dir / "memo.txt").stat().st_mtime_ns
    os.utime(memo, ns=(saved + 10**9, saved + 10**9))  # modified after its outputs were written
    assert restarted.scan() == []  # changed: it must be stable again first
    [again] = scan_after_interval(restarted)
    assert again.ok and again.source == memo

    with_srt = watcher(cache, inbox, formats=("txt", "json", "srt"))  # a format it has no output in yet
    with_srt.scan()
    [_] = scan_after_interval(with_srt)
    assert outputs(cache) == ["memo.json", "memo.srt", "memo.txt"]


def test_a_file_replaced_under_an_old_date_is_done_again_in_the_same_run(cache, inbox, tmp_path):
    """A sync tool may keep the device's dates: the new recording is then older than the outputs of the last one."""
    memo = recording(inbox / "memo.wav")
    watching = watcher(cache, inbox)
    watching.scan()
    [_] = scan_after_interval(watching)
    dated = memo.stat().st_mtime_ns
    memo.write_bytes(recording(tmp_path / "longer.wav", seconds=1.5, seed=3).read_bytes())
    os.utime(memo, ns=(dated - 10**9, dated - 10**9))
    watching.scan()
    [again] = scan_after_interval(watching)
    assert again.ok
    assert json.loads((cache.settings.output_dir / "memo.json").read_text())["duration"] == pytest.approx(1.5, abs=0.01)


def test_a_file_that_fails_is_reported_once_and_tried_again_only_when_it_changes(cache, inbox, capsys):
    broken = inbox / "broken.mp3"
    broken.write_bytes(b"not audio at all" * 64)
    watching = watcher(cache, inbox)
    watching.scan()
    [failure] = scan_after_interval(watching)
    assert not failure.ok
    for _ in range(3):
        assert scan_after_interval(watching) == []
    assert capsys.readouterr().err.count("FAILED") == 1

    with broken.open("ab") as file:
        file.write(b"more of it")
    watching.scan()
    [again] = scan_after_interval(watching)
    assert not again.ok and [r.source for r in watching.results] == [broken, broken]
    assert outputs(cache) == []


def test_namesakes_in_two_folders_keep_the_names_a_whole_run_gives_them(cache, inbox):
    """The later "talk" is "talk-2", as without --watch, even when it arrives after the first was done."""
    (inbox / "a").mkdir()
    (inbox / "b").mkdir()
    first = recording(inbox / "a" / "talk.wav", seed=1)
    watching = watcher(cache, inbox)
    watching.scan()
    [_] = scan_after_interval(watching)
    second = recording(inbox / "b" / "talk.wav", seconds=1.5, seed=2)
    watching.scan()
    done = scan_after_interval(watching)
    # the first again, so that run_batch numbers the second (files done together come in any order)
    assert sorted(r.source for r in done) == [first, second]
    assert outputs(cache) == ["talk-2.json", "talk-2.txt", "talk.json", "talk.txt"]
    durations = {name: json.loads((cache.settings.output_dir / name).read_text())["duration"]
                 for name in ("talk.json", "talk-2.json")}
    assert durations == {"talk.json": pytest.approx(1.0, abs=0.01), "talk-2.json": pytest.approx(1.5, abs=0.01)}
    assert scan_after_interval(watching) == []


def test_stop_between_scans(cache, inbox):
    stop = threading.Event()
    watching = watcher(cache, inbox)
    thread = threading.Thread(target=watching.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while watching.scans < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(timeout=60)
    assert watching.scans >= 2 and not thread.is_alive()


def test_stop_between_files_leaves_the_rest_for_the_next_run(cache, inbox):
    for name in ("a.wav", "b.wav"):
        recording(inbox / name)
    stop = threading.Event()
    watching = watcher(cache, inbox, on_result=lambda result: stop.set())
    watching.scan(stop)
    assert [r.source.name for r in scan_after_interval(watching, stop)] == ["a.wav"]
    assert outputs(cache) == ["a.json", "a.txt"]

    restarted = watcher(cache, inbox)
    restarted.scan()
    assert [r.source.name for r in scan_after_interval(restarted)] == ["b.wav"]


def test_the_first_ctrl_c_sets_stop_and_a_second_stops_at_once(cache, inbox):
    original = signal.getsignal(signal.SIGINT)
    stop = threading.Event()
    with stop_on_ctrl_c(stop, watcher(cache, inbox)):
        signal.raise_signal(signal.SIGINT)
        assert stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is original


# --- the command line ---------------------------------------------------------------------------------------------

def cli_args(tiny_parakeet, out: Path, *inputs) -> list[str]:
    return [*map(str, inputs), "--watch", "--watch-interval", str(INTERVAL), "--model", "parakeet",
            "--format", "txt", "--output-dir", str(out), "--device", "cpu", "--parakeet-nemo", str(tiny_parakeet)]


def test_the_cli_watches_a_folder_for_a_number_of_scans(tiny_parakeet, inbox, tmp_path, monkeypatch, capsys):
    from transcribe_studio.commands import cli

    memo = recording(inbox / "memo.wav")
    monkeypatch.setenv(SCANS_ENV, "3")
    status = cli.main(cli_args(tiny_parakeet, tmp_path / "out", inbox, memo))  # memo twice: still one file
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert f"Watching {inbox}, {memo} for new audio and video files (Ctrl+C stops)." in printed.err
    assert f"OK      {memo}" in printed.err
    assert f"== {memo} ==" in printed.out and "1 of 1 file(s) transcribed." in printed.out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["memo.txt"]


def test_the_cli_refuses_watch_without_a_folder(tiny_parakeet, wav_file, tmp_path, capsys):
    from transcribe_studio.commands import cli

    status = cli.main(cli_args(tiny_parakeet, tmp_path / "out", wav_file))
    err = capsys.readouterr().err
    assert status == 2
    assert "--watch needs a folder to watch" in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_ends_a_watch_with_a_summary_and_status_0(tiny_parakeet, inbox, tmp_path):
    """The real thing: the CLI as a process, stopped by SIGINT (what Ctrl+C sends) once its file is done."""
    memo = recording(inbox / "memo.wav")
    env = {k: v for k, v in os.environ.items() if k != SCANS_ENV}
    env.update(STUDIO_LOG_FILE=str(tmp_path / "cli.log"), PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "transcribe_studio",
                                    *cli_args(tiny_parakeet, tmp_path / "out", inbox)],
                                   env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            deadline = time.monotonic() + 240
            while f"OK      {memo}" not in errors.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, errors.read_text()
                time.sleep(0.1)
            process.send_signal(signal.SIGINT)
            out, _ = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 0, errors.read_text()
    assert "1 of 1 file(s) transcribed." in out and "Traceback" not in errors.read_text()
