"""The archive command on a local Ray against the batch command, on the same folder, in one run.

    python -m benchmarks.archive --nemo /tmp/cs/full/parakeet.nemo --files 60 --out DIR [--two-nodes 12]

(the folder is :mod:`benchmarks.folder`'s: ``--files`` speech-like 16 kHz WAV files of 2-60 s, seeded). Both
commands run whole, as a user runs them, each in its own process tree on the same CPU model file:

* ``cli``: ``python -m transcribe_studio FOLDER --output-dir ... --quiet`` (the batched path);
* ``archive``: ``python -m transcribe_studio.archive FOLDER --output-dir ... --quiet``: a private local Ray with
  this machine's CPUs (decode tasks, one transcribing actor), the manifest written as files finish.

For each: wall time from start to exit (model load included: both load it once), throughput (seconds of audio a
second), and the peak of the process tree's summed RSS (Ray's own processes and workers included), sampled every
0.2 s. Then the archive's throughput against the CLI's (goal >= 0.8x) and whether every transcript is the same.

``--two-nodes N``: N of the files through ``run_archive`` on a simulated two-node Ray
(``ray.cluster_utils.Cluster``, one CPU each, two workers): how many files each node's worker finished.
``archive.json`` and ``archive.md`` go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402
from benchmarks.folder import audio_seconds, write_folder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FORMATS = "txt,json"


def tree_rss_mb(pid: int) -> float:
    import psutil

    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 1e6


def run_command(argv: list[str], env: dict) -> dict:
    """Run to its end; wall time, exit status and the process tree's RSS peak."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_mb(process.pid))
            done.wait(0.2)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    done.set()
    sampler.join()
    return {"wall_s": round(time.perf_counter() - started, 1), "rc": process.returncode,
            "peak_tree_rss_mb": round(peak[0]), "stderr_tail": err[-1500:], "stdout_tail": out[-500:]}


def transcripts(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix().split("/")[-1]: path.read_text()
            for path in sorted(folder.rglob("*.txt"))}


def compare_commands(files_dir: Path, nemo: Path, out: Path, env: dict) -> dict:
    seconds = sum(audio_seconds(p) for p in files_dir.glob("*.wav"))
    flags = ["--format", FORMATS, "--quiet", "--parakeet-nemo", str(nemo), "--device", "cpu"]
    rows = {}
    for way, module in (("cli", "transcribe_studio"), ("archive", "transcribe_studio.archive")):
        target = out / f"{way}-outputs"
        subprocess.run(["rm", "-rf", str(target)], check=True)
        row = run_command([sys.executable, "-m", module, str(files_dir), "--output-dir", str(target), *flags], env)
        row["rtfx"] = round(seconds / row["wall_s"], 2)
        rows[way] = row
        say(f"{way}: {row['wall_s']} s, RTFx {row['rtfx']}, peak tree RSS {row['peak_tree_rss_mb']} MB, rc {row['rc']}")
    cli, archived = transcripts(out / "cli-outputs"), transcripts(out / "archive-outputs")
    return {"files": len(list(files_dir.glob("*.wav"))), "audio_s": round(seconds, 1), "ways": rows,
            "archive_over_cli": round(rows["archive"]["rtfx"] / rows["cli"]["rtfx"], 3),
            "same_transcripts": cli == archived, "transcripts_compared": len(cli)}


def two_nodes(files_dir: Path, nemo: Path, count: int, out: Path) -> dict:
    """``count`` files on a simulated two-node Ray: which node's worker finished each."""
    import ray
    from ray.cluster_utils import Cluster

    from transcribe_studio.archive import Manifest
    from transcribe_studio.archive.places import place
    from transcribe_studio.archive.run import ArchiveOptions, run_archive
    from transcribe_studio.settings import Settings

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    subset = files_dir.parent / "two-nodes-in"
    subset.mkdir(exist_ok=True)
    for path in sorted(files_dir.glob("*.wav"))[:count]:
        if not (subset / path.name).exists():
            os.link(path, subset / path.name)
    destination = out / "two-nodes-outputs"
    subprocess.run(["rm", "-rf", str(destination)], check=True)
    started = time.perf_counter()
    try:
        outcome = run_archive([str(subset)], str(destination), "parakeet", ["txt"],
                              Settings(parakeet_path=nemo, device="cpu"),
                              archive=ArchiveOptions(workers=2, files_per_batch=2, cpus_per_decode=0.5,
                                                     cpus_per_worker=0.5, threads_per_worker=1))
    finally:
        ray.shutdown()
        cluster.shutdown()
    by_node: dict[str, int] = {}
    for row in Manifest(place(destination)).rows():
        node = next(a["ray_node"] for a in row.attempts if a.get("finished"))[:8]
        by_node[node] = by_node.get(node, 0) + 1
    return {"files": count, "wall_s": round(time.perf_counter() - started, 1), "counts": outcome.counts(),
            "files_by_node": by_node}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def report(results: dict) -> str:
    lines = ["# Archive on a local Ray against the batch command", "",
             f"{results['compare']['files']} files, {results['compare']['audio_s']} s of audio, CPU model.", "",
             "| command | wall | RTFx | peak RSS of the process tree |", "|---|---|---|---|"]
    for way, row in results["compare"]["ways"].items():
        lines.append(f"| {way} | {row['wall_s']} s | {row['rtfx']} | {row['peak_tree_rss_mb']} MB |")
    lines += ["", f"Archive over CLI: {results['compare']['archive_over_cli']}x (goal >= 0.8x). Same transcripts: "
                  f"{results['compare']['same_transcripts']} ({results['compare']['transcripts_compared']} files)."]
    if "two_nodes" in results:
        two = results["two_nodes"]
        lines += ["", f"Two simulated nodes: {two['files']} files in {two['wall_s']} s; files finished by each node: "
                      f"{two['files_by_node']}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nemo", type=Path, required=True)
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--two-nodes", type=int, default=0, metavar="N")
    parser.add_argument("--skip-compare", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    files_dir = args.out / "in"
    write_folder(files_dir, args.files, workers=os.cpu_count() or 1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results: dict = {"machine": {"cpus": os.cpu_count()}}
    if not args.skip_compare:
        results["compare"] = compare_commands(files_dir, args.nemo, args.out, env)
        common.write_json(args.out / "archive.json", results)  # kept if the two-node run fails
    if args.two_nodes:
        results["two_nodes"] = two_nodes(files_dir, args.nemo, args.two_nodes, args.out)
        say(f"two nodes: {results['two_nodes']}")
    common.write_json(args.out / "archive.json", results)
    if "compare" in results:
        (args.out / "archive.md").write_text(report(results))
    print(json.dumps(results, indent=1)[:3000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
