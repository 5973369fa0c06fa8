"""The models a run measures, built once per run (tiny) or once per machine (full size).

* quick: the tiny real models of the test suite (:mod:`tests.tiny_models`), built into the
  run's temporary folder in about 15 s.
* full: the full-size Parakeet ``.nemo``, Canary-Qwen HF cache and Sortformer ``.nemo`` of
  :mod:`benchmarks.full_models`, built into ``--models-dir`` (default
  ``benchmarks/.models``, git-ignored; ~8 GB) and reused by later runs. Each
  build runs in its own process; its time and peak RSS are recorded.
  Canary-Qwen *generation* at full size is far too slow on a CPU for long audio,
  so the end-to-end, second-request and scaling figures use the tiny SALM for
  Canary in both modes (the report says so).

``python -m benchmarks.models tiny --dir D`` builds the tiny pair (used by the orchestrator).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402

# Bump when a builder changes what it writes, so stale full-size models are rebuilt.
FULL_MODELS_VERSION = 1


def _pins() -> dict:
    from transcribe_studio.models.canary import QWEN_REPO, QWEN_REVISION
    from transcribe_studio.models.canary import REPO as CANARY_REPO
    from transcribe_studio.models.canary import REVISION as CANARY_REVISION

    return {"canary_repo": CANARY_REPO, "canary_commit": CANARY_REVISION, "qwen_repo": QWEN_REPO,
            "qwen_commit": QWEN_REVISION}


def build_tiny(directory: Path) -> dict:
    from tests import tiny_models

    started = time.perf_counter()
    nemo = tiny_models.build_tiny_parakeet(directory / "parakeet.nemo")
    built_parakeet = time.perf_counter()
    tiny_models.build_tiny_canary_cache(directory / "hub", **_pins())
    return {"parakeet": {"path": str(nemo), "bytes": nemo.stat().st_size,
                         "build_seconds": round(built_parakeet - started, 1)},
            "canary": {"hub_cache": str(directory / "hub"),
                       "build_seconds": round(time.perf_counter() - built_parakeet, 1)},
            "peak_rss_mb": round(common.peak_rss_mb())}


def _run_child(argv: list[str], env: dict, log_path: Path, timeout_s: float) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.run(argv, cwd=common.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              timeout=timeout_s)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv[1:4])} failed with status {proc.returncode}; see {log_path}")


def prepare_tiny(directory: Path, env: dict, log_dir: Path) -> dict:
    info_path = directory / "tiny.json"
    _run_child([common.PYTHON, "-m", "benchmarks.models", "tiny", "--dir", str(directory)], env,
               log_dir / "build_models.log", 900)
    info = json.loads(info_path.read_text())
    info["kind"] = "tiny (tests/tiny_models.py)"
    return info


def prepare_full(directory: Path, env: dict, log_dir: Path, rebuild: bool, progress=print) -> dict:
    """Build (or reuse) the full-size models in ``directory``; return what they are and what building cost."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if manifest.get("version") != FULL_MODELS_VERSION:
        manifest = {"version": FULL_MODELS_VERSION}
    pins = _pins()
    nemo = directory / "parakeet.nemo"
    hub = directory / "hub"
    sortformer = directory / "diarizer.nemo"
    jobs = {
        "parakeet": (nemo, ["parakeet", "--out", str(nemo)]),
        "canary": (hub, ["canary", "--out", str(hub)] + [f"--{k.replace('_', '-')}={v}" for k, v in pins.items()]),
        "sortformer": (sortformer, ["sortformer", "--out", str(sortformer)]),
    }
    for name, (target, argv) in jobs.items():
        if not rebuild and name in manifest and target.exists():
            progress(f"  {name}: reusing {target} (built {manifest[name].get('built_at', '?')})")
            continue
        if name == "canary" and hub.exists():
            import shutil

            shutil.rmtree(hub)
        progress(f"  {name}: building the full-size model into {target} (about a minute; 3.5 GB RAM for "
                 f"Parakeet, 11 GB for Canary, 1 GB for Sortformer)...")
        info_path = directory / f"{name}.json"
        started = time.perf_counter()
        _run_child([common.PYTHON, "-m", "benchmarks.full_models"] + argv
                   + ["--info", str(info_path)], env, log_dir / f"build_{name}.log", 3600)
        info = json.loads(info_path.read_text())
        info["process_seconds"] = round(time.perf_counter() - started, 1)
        info["built_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
        manifest[name] = info
        common.write_json(manifest_path, manifest)
    manifest["parakeet"]["path"] = str(nemo)
    manifest["canary"]["hub_cache"] = str(hub)
    manifest["sortformer"]["path"] = str(sortformer)
    manifest["kind"] = "full size (benchmarks/full_models.py), random weights"
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the tiny benchmark models.")
    parser.add_argument("what", choices=["tiny"])
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    info = build_tiny(args.dir)
    common.write_json(args.dir / "tiny.json", info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
