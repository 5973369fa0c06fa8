"""The archive command on a real local Ray (one for the whole module, 2 CPUs) with the tiny real Parakeet.

Few and slow-ish: each run starts Ray workers that import NeMo and load the model. What does not need Ray (the
listing, the manifest's rows, the status, the object-store put) is tested without it, below the Ray tests.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path, PurePosixPath

import pytest

from tests import archive_faults
from tests.media import speechlike, write_audio
from transcribe_studio.archive import Manifest, list_sources
from transcribe_studio.archive.manifest import Row
from transcribe_studio.archive.places import place
from transcribe_studio.commands import archive as archive_cli
from transcribe_studio.errors import NodeNotReadyError
from transcribe_studio.settings import Settings

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    """A private Ray on this machine; every worker gets the tests' one fault (:mod:`tests.archive_faults`)."""
    import tempfile

    # Ray's sockets live under the temp folder (here the run's own): a path past the 107 bytes AF_UNIX allows
    # cannot start it (its session folder's name and the socket's add ~75).
    if len(os.path.join(tempfile.gettempdir(), "ray")) + 75 > 107:
        pytest.skip(f"the temp folder's path ({tempfile.gettempdir()}) is too long for Ray's sockets: run the suite "
                    "from a checkout at a shorter path")
    import secrets

    # As the command does: no usage reports, and a token of the run's own rather than one saved in ~/.ray.
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_TOKEN=secrets.token_hex(32))
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=200 * 1024 * 1024,
             runtime_env={"worker_process_setup_hook": "tests.archive_faults.install",
                          "env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}})
    yield ray
    ray.shutdown()


@pytest.fixture
def archive_settings(tiny_parakeet, tmp_path) -> Settings:
    return Settings(parakeet_path=tiny_parakeet, device="cpu", output_dir=tmp_path / "unused")


def _folder(root: Path, lengths: dict[str, float]) -> Path:
    for name, seconds in lengths.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(path, speechlike(seconds, seed=len(name)), 16000)
    return root


def _kill_a_transcriber() -> int:
    """SIGKILL a live transcribing actor's process (Ray titles it after the actor), waiting for one to be up."""
    import time

    import psutil

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for process in psutil.process_iter(["pid", "cmdline"]):
            if "MapWorker(MapBatches(Transcriber))" in " ".join(process.info["cmdline"] or []):
                os.kill(process.info["pid"], signal.SIGKILL)
                return process.info["pid"]
        time.sleep(0.2)
    raise AssertionError("no transcribing worker to kill")


def _rows(destination: Path) -> dict[str, Row]:
    return {Path(row.location).name: row for row in Manifest(place(destination)).rows()}


def test_an_archive_gives_the_batch_commands_outputs_once_each_and_reports_bad_files(
        local_ray, archive_settings, tmp_path, capsys):
    source = _folder(tmp_path / "interviews", {"2004/a.wav": 1.5, "2004/b.wav": 2.5, "2005/a.wav": 0.9,
                                               "long.wav": 47.0, "c.wav": 3.0})
    (source / "2005" / "corrupt.mp3").write_bytes(b"not audio" * 50)
    (source / "empty.wav").write_bytes(b"")
    destination = tmp_path / "out"
    argv = [str(source), "--output-dir", str(destination), "--format", "txt,srt,json", "--files-per-batch", "3",
            "--parakeet-nemo", str(archive_settings.parakeet_path), "--device", "cpu"]
    assert archive_cli.main(argv) == 1  # two files failed
    rows = _rows(destination)
    assert {name: row.status for name, row in rows.items()} == {
        "a.wav": "done", "b.wav": "done", "long.wav": "done", "c.wav": "done", "corrupt.mp3": "failed",
        "empty.wav": "failed"}
    assert len([r for r in Manifest(place(destination)).rows()]) == 7  # both a.wav: one row each
    assert "not an audio or video file" in rows["corrupt.mp3"].error["message"]
    done = [row for row in Manifest(place(destination)).rows() if row.status == "done"]
    assert all(len(row.attempts) == 1 and row.attempts[0].get("finished") for row in done)

    from transcribe_studio.models import ModelCache
    from transcribe_studio.transcription.batch import collect_inputs, run_batch
    batch_dir = tmp_path / "batch"
    cache = ModelCache(Settings(parakeet_path=archive_settings.parakeet_path, device="cpu", output_dir=batch_dir))
    good = [p for p in collect_inputs([source]) if p.suffix == ".wav" and p.stat().st_size]
    by_source = {r.source: r for r in run_batch(cache, "parakeet", good, ["txt", "srt", "json"])}
    for path in good:
        relative = path.relative_to(source.parent).with_suffix("")
        for extension in ("txt", "srt"):
            assert (destination / f"{relative}.{extension}").read_text() == \
                   by_source[path].outputs[0].with_suffix(f".{extension}").read_text()
        archived = json.loads((destination / f"{relative}.json").read_text())
        batched = json.loads(by_source[path].outputs[0].with_suffix(".json").read_text())
        assert archived["segments"] == batched["segments"] and archived["words"] == batched["words"]

    out = capsys.readouterr()
    assert "5 done, 2 failed" in out.out
    assert archive_cli.main(argv) == 0  # nothing left to do: the earlier run's failures stand
    assert "(and 5 done, 2 failed by earlier runs)" in capsys.readouterr().out
    assert archive_cli.main(argv + ["--retry-failed"]) == 1
    rows = _rows(destination)
    assert len(rows["corrupt.mp3"].attempts) == 2 and len(rows["b.wav"].attempts) == 1


def test_a_worker_lost_mid_run_and_a_file_that_kills_its_worker_lose_and_double_nothing(
        local_ray, archive_settings, tmp_path):
    from transcribe_studio.archive.run import ArchiveOptions, run_archive

    lengths = {f"f{i}.wav": 1.0 + i / 4 for i in range(6)} | {"killer.wav": archive_faults.KILLER_SECONDS,
                                                              archive_faults.DECODER_KILLER: 1.0}
    source = _folder(tmp_path / "in", lengths)
    destination = tmp_path / "out"
    killed = []

    def kill_the_worker_once(row, tally):
        if not killed:  # a transcribing worker dies (SIGKILL, as a lost node) while files are left
            killed.append(_kill_a_transcriber())

    outcome = run_archive([str(source)], str(destination), "parakeet", ["txt"], archive_settings,
                          archive=ArchiveOptions(files_per_batch=3), on_row=kill_the_worker_once)
    rows = _rows(destination)
    assert killed and outcome.counts() == {"done": 6, "failed": 2, "started": 0}
    assert "the worker decoding it stopped at each of 3 tries" in rows[archive_faults.DECODER_KILLER].error["message"]
    assert rows["killer.wav"].status == "failed" and rows["killer.wav"].error["kind"] == "killed_worker"
    assert "stopped the worker transcribing it 2 times" in rows["killer.wav"].error["message"]
    assert [a["alone"] for a in rows["killer.wav"].attempts][-1] is True
    for name in lengths:
        if name not in ("killer.wav", archive_faults.DECODER_KILLER):
            assert rows[name].status == "done"
            assert sum(1 for a in rows[name].attempts if a.get("finished")) == 1, rows[name].attempts
            assert (destination / "in" / f"{Path(name).stem}.txt").is_file()
    assert not (destination / "in" / "killer.txt").exists()


def test_an_interrupted_run_resumes_without_redoing_finished_files(local_ray, archive_settings, tmp_path):
    from transcribe_studio.archive.run import ArchiveOptions, run_archive

    source = _folder(tmp_path / "in", {f"f{i}.wav": 1.0 + i / 3 for i in range(6)})
    destination = tmp_path / "out"

    def interrupt_after_two(row, tally):
        if tally.files_done == 2:
            raise KeyboardInterrupt

    archive = ArchiveOptions(files_per_batch=1)
    with pytest.raises(KeyboardInterrupt):
        run_archive([str(source)], str(destination), "parakeet", ["txt"], archive_settings, archive=archive,
                    on_row=interrupt_after_two)
    first = {name: row for name, row in _rows(destination).items() if row.status == "done"}
    assert len(first) >= 2
    saved = {name: (destination / "in" / f"{Path(name).stem}.txt").stat().st_mtime_ns for name in first}
    outcome = run_archive([str(source)], str(destination), "parakeet", ["txt"], archive_settings, archive=archive)
    assert outcome.already_done == len(first)
    rows = _rows(destination)
    assert all(row.status == "done" for row in rows.values()) and len(rows) == 6
    for name in first:
        assert rows[name].attempts == first[name].attempts  # not transcribed again, not rewritten
        assert (destination / "in" / f"{Path(name).stem}.txt").stat().st_mtime_ns == saved[name]


def test_a_node_without_the_model_file_stops_the_run_before_any_file(local_ray, tmp_path):
    from transcribe_studio.archive.run import run_archive

    source = _folder(tmp_path / "in", {"a.wav": 1.0})
    settings = Settings(parakeet_path=tmp_path / "nowhere" / "parakeet.nemo", device="cpu")
    with pytest.raises(NodeNotReadyError) as caught:
        run_archive([str(source)], str(tmp_path / "out"), "parakeet", ["txt"], settings)
    message = caught.value.user_message()
    assert f"{os.uname().nodename} cannot load Parakeet" in message and "setup_local_models.py" in message
    assert "PARAKEET_NEMO and HF_HOME" in message
    assert not list(Manifest(place(tmp_path / "out")).rows())


# --- without Ray -----------------------------------------------------------------------------------------------

def test_sources_keep_their_folders_and_never_share_outputs(tmp_path):
    root = tmp_path / "tapes"
    for name in ("2004/talk.wav", "2004/talk.mp3", "2004/notes.pdf", "2005/talk.wav", "TALK.wav"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    (tmp_path / "single.wav").write_bytes(b"y")
    listing = tmp_path / "list.txt"
    listing.write_text(f"# what to do\n{root}\n\nsingle.wav\n{tmp_path / 'single.wav'}\nmissing.wav\nlist.txt\n")
    sources, skipped = list_sources([str(listing)])
    assert [s.output for s in sources] == ["tapes/TALK", "tapes/2004/talk", "tapes/2004/talk-2", "tapes/2005/talk",
                                           "single"]
    assert skipped == [(str(tmp_path / "missing.wav"), "does not exist or is not a file"),
                       (str(tmp_path / "list.txt"), "a list that names itself (read once)")]
    from transcribe_studio.archive.sources import _folder_part
    assert _folder_part(PurePosixPath("a/../../b:c/x.wav")) == "a/_/_/b_c/"  # an object key cannot lead out of DEST
    again, _ = list_sources([f"file://{listing}"])
    assert [s.key for s in again] == [s.key for s in sources]
    os.utime(root / "TALK.wav", ns=(1, 1))
    changed, _ = list_sources([str(listing)])
    assert [s.key == c.key for s, c in zip(sources, changed)] == [False, True, True, True, True]


def test_a_row_counts_unfinished_attempts_per_run():
    row = Row("k", "/a.wav", 1, 1, "a")
    row.start("run1", alone=False)
    assert row.suspect("run1") and not row.killed_its_worker("run1") and not row.suspect("run2")
    row.start("run1", alone=True)
    assert row.killed_its_worker("run1")
    row.fail_killed("run1")
    assert row.status == "failed" and "2 times" in row.error["message"]
    row.start("run2", alone=False)
    row.finish(["a.txt"], 3.0)
    assert row.status == "done" and row.attempts[-1]["finished"] and row.error is None


def test_rows_in_an_object_store_are_each_one_put_and_the_status_reads_them(tmp_path, capsys, monkeypatch):
    from pyarrow import fs as pafs

    destination = place(tmp_path / "dest")
    (tmp_path / "dest" / "_manifest").mkdir(parents=True)  # a store has no folders; this stand-in needs them
    store = type(destination)(pafs.SubTreeFileSystem(str(tmp_path / "dest"), pafs.LocalFileSystem()), "",
                              "s3://bucket/dest")
    assert not store.on_disk
    manifest = Manifest(store)
    done, failed = Row("k1", "s3://bucket/a.wav", 1, 1, "a"), Row("k2", "s3://bucket/b.wav", 1, 1, "b")
    done.start("r", False)
    done.finish(["a.txt"], 90.0)
    failed.start("r", False)
    failed.fail("bad_audio", "It is not audio.")
    for row in (done, failed):
        manifest.write(row)
    assert sorted(p.name for p in (tmp_path / "dest" / "_manifest").iterdir()) == ["k1.json", "k2.json"]
    assert manifest.read("k1").outputs == ["a.txt"] and manifest.read("nothing") is None
    (tmp_path / "dest" / "_manifest" / "k3.json").write_text('{"half": ')  # damaged by hand: done again
    assert manifest.read("k3") is None
    assert archive_cli.main(["--status", str(tmp_path / "dest")]) == 1
    out = capsys.readouterr().out
    assert "2 file(s): 1 done (1 min 30 s of audio), 1 failed" in out and "FAILED  s3://bucket/b.wav: It is" in out
    assert archive_cli.main(["--status", str(tmp_path / "nothing here")]) == 2
    assert "holds no archive manifest" in capsys.readouterr().err


def test_the_command_says_what_is_missing_before_starting_anything(tmp_path, capsys):
    assert archive_cli.main([str(tmp_path / "nowhere")]) == 2  # no destination
    assert "--output-dir DEST" in capsys.readouterr().err
    assert archive_cli.main([str(tmp_path / "nowhere"), "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "Skipped" in err and "does not exist" in err and "No audio or video files found" in err
    assert not (tmp_path / "out").exists()  # nothing written: Ray was never started


def test_workers_take_a_gpu_only_where_there_is_one_and_never_against_device_cpu():
    from transcribe_studio.archive.run import ArchiveOptions, _gpus_per_worker, _job

    class Cluster:  # Ray's answer about the cluster's resources, nothing more
        def __init__(self, gpus):
            self.gpus = gpus

        def cluster_resources(self):
            return {"CPU": 16, "GPU": self.gpus}

    auto, cpu = Settings(device="auto"), Settings(device="cpu")
    assert _gpus_per_worker(Cluster(2), ArchiveOptions(), auto) == 1.0
    assert _gpus_per_worker(Cluster(0), ArchiveOptions(), auto) == 0.0
    assert _gpus_per_worker(Cluster(2), ArchiveOptions(), cpu) == 0.0  # --device cpu is kept on a GPU cluster
    assert _gpus_per_worker(Cluster(0), ArchiveOptions(gpus_per_worker=0.5), cpu) == 0.5
    job = _job(auto, "parakeet", ["txt"], None, "/out", ArchiveOptions(gpus_per_worker=1.0))
    assert job.settings.device == "cuda"
    assert _job(auto, "parakeet", ["txt"], None, "/out", ArchiveOptions(gpus_per_worker=0.0)).settings.device == "cpu"
