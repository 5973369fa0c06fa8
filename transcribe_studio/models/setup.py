"""``python setup_local_models.py``: fetch and verify the models once, so the app runs offline.

* Parakeet: the published ``.nemo`` file at a pinned commit, downloaded straight
  into ``local_models/`` (an interrupted download continues where it stopped,
  see :mod:`downloads`), checked by size and SHA-256, then moved into place.
* Canary-Qwen: its pinned files and the pinned Qwen tokenizer and config into
  the Hugging Face cache, plus the overlay that makes loading offline (see
  :mod:`hub_cache`).
* The speaker diarizer (optional, ``--skip-diarizer``): like Parakeet, but its
  size and SHA-256 come from the Hub at the first download and are recorded
  beside the file (see "the speaker diarizer" below).

Idempotent: what is already there and verified is not downloaded again. A
verified Parakeet file gets a small ``.verified`` note (size, mtime, hash) so
later runs need not re-hash 2.5 GB. ``--check`` verifies without downloading.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from dataclasses import fields
from pathlib import Path

from ..entry import command_line_parser, start
from ..errors import DiskError, ModelFileError, report
from ..files import atomic_write_text
from ..settings import SETUP_COMMAND, Settings
from . import hub_cache
from .downloads import download_resumable, file_metadata
from .nemo_asr import check_nemo_file
from .spec import all_specs

DISK_MARGIN_BYTES = 200_000_000


# --- Parakeet -------------------------------------------------------------

def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def sha256_of(path: Path) -> str:
    from tqdm.auto import tqdm

    digest = hashlib.sha256()
    with open(path, "rb") as f, tqdm(total=path.stat().st_size, unit="B", unit_scale=True,
                                     desc=f"Verifying {path.name}", leave=False) as bar:
        while block := f.read(8 * 1024 * 1024):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def parakeet_problem(settings: Settings) -> str | None:
    """None if the Parakeet file is present and verified, else what is wrong with it."""
    path = settings.parakeet_path
    if not path.is_file():
        return f"{path} does not exist"
    return _verified_problem(path, settings.parakeet_size, settings.parakeet_sha256)


def is_custom_parakeet(settings: Settings) -> bool:
    """The Parakeet file is the user's own model, not the pinned download (which the app loads just as well).

    Its size differs from the pinned one and either ``PARAKEET_NEMO`` points elsewhere than the default or
    no verified download was ever recorded there. Such a file is checked as a .nemo archive
    (:func:`custom_parakeet_status`), never against the pinned size and SHA-256, and never replaced.
    """
    path = settings.parakeet_path
    if not path.is_file() or path.stat().st_size == settings.parakeet_size:
        return False
    default = next(f.default for f in fields(Settings) if f.name == "parakeet_path")
    return path.resolve() != Path(default).resolve() or not _marker(path).is_file()


def custom_parakeet_status(settings: Settings) -> str:
    """Check the user's own Parakeet file is a readable .nemo (ModelFileError if not) and say what it is."""
    check_nemo_file(settings.parakeet_path, "Parakeet")
    return f"OK, {settings.parakeet_path} is a custom file, not verified against the pinned download."


def _note(path: Path, sha256: str) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def _remember_verified(path: Path, sha256: str) -> None:
    try:
        atomic_write_text(_marker(path), json.dumps(_note(path, sha256)))
    except OSError:
        pass  # verification still holds; it will just be repeated next time


def ensure_free_space(folder: Path, needed: int, what: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed + DISK_MARGIN_BYTES:
        raise DiskError(f"{what} needs about {needed / 1e9:.1f} GB in {folder}, but only {free / 1e9:.1f} GB "
                        "is free.")


def download_parakeet(settings: Settings) -> Path:
    return download_verified(settings.parakeet_repo, settings.parakeet_filename, settings.parakeet_revision,
                             settings.parakeet_path, settings.parakeet_size, settings.parakeet_sha256, "Parakeet")


def download_verified(repo: str, filename: str, revision: str, target: Path, size: int, sha256: str,
                      label: str) -> Path:
    """Download ``filename`` at ``revision`` to ``target`` (resumably), check its SHA-256 and structure."""
    staging = target.with_name(filename)
    partial = staging.with_name(staging.name + ".part")
    already = partial.stat().st_size if partial.exists() else 0
    ensure_free_space(target.parent, size - already, f"The {label} model")
    print(f"Downloading {filename} from {repo} at {revision[:12]}"
          + (f", continuing at {already:,} bytes" if already else "") + " ...")
    download_resumable(repo, filename, revision, staging, size)
    if sha256_of(staging) != sha256:
        staging.unlink(missing_ok=True)
        raise ModelFileError(f"The downloaded {filename} does not match the expected SHA-256; it was deleted.",
                             next_steps=f"Run `{SETUP_COMMAND}` again; if it fails again, check the pinned "
                                        "revision and hash settings.")
    os.replace(staging, target)
    check_nemo_file(target, label)
    _remember_verified(target, sha256)
    return target


# --- the speaker diarizer ---------------------------------------------------
# Its size and SHA-256 are not pinned in the code (our machines cannot reach the Hub to learn
# them): the first networked download takes both from the Hub's metadata for the pinned commit
# (an LFS file's ETag is its SHA-256), verifies the bytes, and records them beside the file in
# ``<file>.source.json``. Every later --check, setup and load verifies against that record.

def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".source.json")


def diarizer_record(settings: Settings) -> dict | None:
    """What setup recorded about the diarizer file (repo, revision, filename, size, sha256), or None."""
    try:
        record = json.loads(_record_path(settings.diarizer_path).read_text(encoding="utf-8"))
        return record if isinstance(record, dict) and {"size", "sha256"} <= set(record) else None
    except (OSError, ValueError):
        return None


def diarizer_problem(settings: Settings, require_record: bool = False) -> str | None:
    """None if the diarizer file is present and matches its download record, else what is wrong.

    Without a record (a file the user put there), only ``require_record`` (setup, --check) objects.
    """
    path = settings.diarizer_path
    if not path.is_file():
        return f"{path} does not exist"
    record = diarizer_record(settings)
    if record is None:
        return f"{path} has no record of a verified download" if require_record else None
    if require_record and (record.get("repo"), record.get("revision")) != (settings.diarizer_repo,
                                                                          settings.diarizer_revision):
        return f"{path} was downloaded from another repository or revision"
    return _verified_problem(path, int(record["size"]), str(record["sha256"]))


def _verified_problem(path: Path, size: int, sha256: str) -> str | None:
    """None if ``path`` has ``size`` bytes and the SHA-256 ``sha256`` (remembered once hashed)."""
    if path.stat().st_size != size:
        return f"{path} has {path.stat().st_size:,} bytes, expected {size:,}"
    try:
        if json.loads(_marker(path).read_text()) == _note(path, sha256):
            return None
    except (OSError, ValueError):
        pass
    if sha256_of(path) != sha256:
        return f"{path} has the wrong SHA-256 (damaged or a different model)"
    _remember_verified(path, sha256)
    return None


def download_diarizer(settings: Settings) -> Path:
    """Fetch the diarizer at the pinned commit, verified against the Hub's size and SHA-256, and record both."""
    repo, filename, revision = settings.diarizer_repo, settings.diarizer_filename, settings.diarizer_revision
    meta = file_metadata(repo, filename, revision)
    sha256 = (meta.etag or "").strip('"').lower()
    if len(sha256) != 64 or meta.size is None:
        raise ModelFileError(f"The Hub gives no SHA-256 for {filename} in {repo} at {revision[:12]}, so its "
                             "download cannot be verified.",
                             next_steps="Check the diarizer repository, file name and revision settings.")
    target = settings.diarizer_path
    record = {"repo": repo, "revision": revision, "filename": filename, "size": meta.size, "sha256": sha256}
    if not target.is_file() or _verified_problem(target, meta.size, sha256) is not None:
        download_verified(repo, filename, revision, target, meta.size, sha256, "speaker diarizer")
    atomic_write_text(_record_path(target), json.dumps(record, indent=2) + "\n")
    return target


# --- Canary ---------------------------------------------------------------

def canary_download_bytes(missing: list[hub_cache.PinnedFile]) -> int:
    return sum(file_metadata(m.repo, m.filename, m.revision).size or 0 for m in missing)


def download_canary(settings: Settings, missing: list[hub_cache.PinnedFile]) -> None:
    if missing and not settings.offline:
        ensure_free_space(settings.hub_cache, canary_download_bytes(missing), "Canary-Qwen")
        print(f"Downloading {len(missing)} Canary-Qwen file(s) into {settings.hub_cache} ...")
    hub_cache.ensure_canary_files(settings)


# --- command line ---------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = command_line_parser("Download and verify the models once, so the app runs offline.", setup_only=True)
    parser.prog = SETUP_COMMAND
    parser.add_argument("--check", action="store_true",
                        help="only verify what is present; download nothing (default: off, set up what is missing)")
    parser.set_defaults(skip=set())
    for spec in all_specs():
        if spec.setup is not None and spec.required_at_startup is None:
            parser.add_argument(f"--skip-{spec.key}", dest="skip", action=_AddKey, const=spec.key, nargs=0,
                                help=f"do not set up {spec.label} (it is then fetched on its first use; default: off)")
    return parser


class _AddKey(argparse.Action):
    """``--skip-canary``: add the model's key to ``args.skip``."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.skip = set(namespace.skip) | {self.const}


def main(argv: list[str] | None = None) -> int:
    args, settings, _ = start(build_parser(), argv, transcribes=False)
    failed = False
    for spec in all_specs():
        if spec.setup is None:
            continue
        if spec.key in args.skip:
            print(f"{spec.label}: skipped (--skip-{spec.key}); it is fetched on first use instead.")
            continue
        try:
            print(f"{spec.label}: {(spec.check if args.check else spec.setup)(settings)}")
        except Exception as exc:  # noqa: BLE001 - classified, traceback to the log file only: printed once here
            failed = True
            print(f"{spec.label}: FAILED. {report(exc, spec.label).user_message()}", file=sys.stderr)
    if failed:
        return 1
    print("All set. Start the app with: python transcribe_ui.py")
    return 0
