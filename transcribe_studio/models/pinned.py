"""A model file downloaded once from the Hugging Face Hub at a pinned commit, verified, then used offline.

:class:`PinnedFile` holds everything about one such file (its repository,
commit, file name, where it lives in ``local_models/``, its size and SHA-256)
and gives a spec what it needs: the settings that move it (flag and
environment variable each), the setup and check steps, and why it cannot load.

* **Download**: straight into ``local_models/``, resumably (:mod:`.downloads`:
  an interrupted download continues where it stopped), checked by size and
  SHA-256 and as a ``.nemo`` archive, then moved into place.
* **Size and SHA-256** are pinned in the code where known. Where they are not
  (our machines cannot reach the Hub to learn them), the first networked
  download takes both from the Hub's metadata for the pinned commit (an LFS
  file's ETag is its SHA-256), verifies the bytes, and records them beside the
  file in ``<file>.source.json``; every later check and load verifies against
  that record.
* **Idempotent**: a verified file gets a small ``.verified`` note (size, mtime,
  hash) so later runs need not hash gigabytes again.
* **Your own file**: a file at the setting's path whose size is not the pinned
  one (elsewhere than the default path, or never verified there) is checked as a
  ``.nemo`` archive and reported as custom; setup never replaces it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import DiskError, InvalidRevisionError, ModelFileError
from ..files import atomic_write_text
from ..settings import PROJECT_ROOT, SETUP_COMMAND, Settings
from .downloads import download_resumable, file_metadata
from .nemo_asr import check_nemo_file
from .spec import ModelOption

DISK_MARGIN_BYTES = 200_000_000
LOCAL_MODELS = PROJECT_ROOT / "local_models"

_COMMIT = re.compile(r"[0-9a-f]{40}")


def validate_revision(revision: str, what: str) -> str:
    """Accept only a full 40-hex Hub commit; explain the common mix-up otherwise."""
    if _COMMIT.fullmatch(revision or ""):
        return revision
    hint = ""
    if re.fullmatch(r"[0-9a-f]{32}", revision or ""):
        hint = (" It has 32 hex characters, the shape of the md5 folder name NeMo gives its own download cache "
                f"(for example ~/.cache/torch/NeMo/.../hf_hub_cache/<repository>/{revision}); that name is not a "
                "Hub commit and the Hub does not know it.")
    raise InvalidRevisionError(
        f"The {what} revision '{revision}' is not a Hugging Face commit.{hint} A commit is exactly 40 hexadecimal "
        "characters, as shown in the repository's 'Files and versions' history.",
        next_steps="Unset the variable or flag that sets it to use the tested default, or give a full "
                   "40-character commit.")


def revision_option(name: str, default: str, env: str, flag: str, what: str) -> ModelOption:
    """The setting of a pinned commit, checked to be a full 40-hex commit."""
    return ModelOption(name, default, env, flag, f"{what} commit (40 hex characters)", setup=True,
                       check=lambda value: validate_revision(value, what) and None)


@dataclass(frozen=True)
class PinnedFile:
    """One model file at a pinned commit. Its settings are ``<key>_path``, ``<key>_repo``, ``<key>_revision``,
    ``<key>_filename`` (and ``<key>_sha256``, ``<key>_size`` where pinned), moved by ``<ENV>_NEMO``,
    ``<ENV>_REPO``, ... and ``--<flag>-nemo``, ``--<flag>-repo``, ..."""
    key: str                  # "parakeet": the settings' prefix
    label: str                # "Parakeet": in messages
    repo: str
    revision: str
    filename: str             # the file's name in the repository
    local_name: str           # its name in local_models/: "parakeet.nemo"
    env: str                  # "PARAKEET": the environment variables' prefix
    size: int | None = None   # None with sha256 None: taken from the Hub at the first download and recorded
    sha256: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def default_path(self) -> Path:
        return LOCAL_MODELS / self.local_name

    def options(self) -> tuple[ModelOption, ...]:
        """The settings that say where the file comes from (setup takes them too)."""
        k, e, f = self.key, self.env, self.flag
        found = [ModelOption(f"{k}_path", self.default_path, f"{e}_NEMO", f"{f}-nemo", f"{self.label} .nemo file",
                             setup=True),
                 ModelOption(f"{k}_repo", self.repo, f"{e}_REPO", f"{f}-repo",
                             f"Hub repository of the {self.label} file", setup=True),
                 revision_option(f"{k}_revision", self.revision, f"{e}_REVISION", f"{f}-revision", self.label),
                 ModelOption(f"{k}_filename", self.filename, f"{e}_FILENAME", f"{f}-filename",
                             ".nemo file name in that repository", setup=True)]
        if self.sha256 is not None:
            found += [ModelOption(f"{k}_sha256", self.sha256, f"{e}_SHA256", f"{f}-sha256",
                                  "expected SHA-256 of the .nemo file", setup=True),
                      ModelOption(f"{k}_size", self.size, f"{e}_SIZE", f"{f}-size",
                                  "expected size of the .nemo file in bytes", setup=True)]
        return tuple(found)

    # --- what the settings say ---------------------------------------------------------------

    def path(self, settings: Settings) -> Path:
        return getattr(settings, f"{self.key}_path")

    def _pin(self, settings: Settings) -> tuple[str, str, str]:
        return tuple(getattr(settings, f"{self.key}_{name}") for name in ("repo", "filename", "revision"))

    def _expected(self, settings: Settings, record: dict | None) -> tuple[int, str] | None:
        if self.sha256 is not None:
            return int(getattr(settings, f"{self.key}_size")), str(getattr(settings, f"{self.key}_sha256"))
        return (int(record["size"]), str(record["sha256"])) if record else None

    # --- the spec's steps --------------------------------------------------------------------

    def problem(self, settings: Settings, strict: bool = False) -> str | None:
        """None if the file is present and verified, else what is wrong with it.

        A file with no record of its download (one the user put there) passes unless ``strict`` (setup, --check)."""
        path = self.path(settings)
        if not path.is_file():
            return f"{path} does not exist"
        record = self.record(settings)
        if strict and record is not None and (record.get("repo"), record.get("revision")) != (
                self._pin(settings)[0], self._pin(settings)[2]):
            return f"{path} was downloaded from another repository or revision"
        expected = self._expected(settings, record)
        if expected is None:
            return f"{path} has no record of a verified download" if strict else None
        return _verified_problem(path, *expected)

    def is_custom(self, settings: Settings) -> bool:
        """The file is the user's own model, not the pinned download (which the app loads just as well).

        Its size differs from the pinned one and either the setting points elsewhere than the default
        or no verified download was ever recorded there."""
        path = self.path(settings)
        if self.sha256 is None or not path.is_file() or path.stat().st_size == self._expected(settings, None)[0]:
            return False
        return path.resolve() != self.default_path.resolve() or not _marker(path).is_file()

    def setup(self, settings: Settings) -> str:
        """Download what is missing or wrong; a line saying the file is ready."""
        if self.is_custom(settings):
            return self._custom_status(settings)
        if self.problem(settings, strict=True) is None:
            return f"OK, {self.path(settings)} is present and verified."
        return f"OK, downloaded and verified {self.download(settings)}."

    def check(self, settings: Settings) -> str:
        """A line saying the file is ready, downloading nothing; ModelFileError if it is not."""
        if self.is_custom(settings):
            return self._custom_status(settings)
        problem = self.problem(settings, strict=True)
        if problem is not None:
            raise ModelFileError(f"{problem}.", next_steps=f"Run `{SETUP_COMMAND}` to download it.")
        return f"OK, {self.path(settings)} is present and verified."

    def check_before_load(self, settings: Settings) -> Path:
        """The file, checked as a .nemo archive and against its download record; ModelFileError if damaged."""
        path = self.path(settings)
        check_nemo_file(path, self.label)
        problem = None if self.is_custom(settings) else self.problem(settings)
        if problem is not None:
            raise ModelFileError(f"{problem}.", next_steps=f"Run `{SETUP_COMMAND}` to download it again.")
        return path

    def _custom_status(self, settings: Settings) -> str:
        check_nemo_file(self.path(settings), self.label)
        return f"OK, {self.path(settings)} is a custom file, not verified against the pinned download."

    # --- download ----------------------------------------------------------------------------

    def download(self, settings: Settings) -> Path:
        """Fetch the file at the pinned commit, verified; where its hash is not pinned, record the Hub's."""
        repo, filename, revision = self._pin(settings)
        expected = self._expected(settings, None)
        if expected is None:
            expected = _hub_size_and_sha256(repo, filename, revision)
        target = self.path(settings)
        if not target.is_file() or _verified_problem(target, *expected) is not None:
            download_verified(repo, filename, revision, target, *expected, self.label)
        if self.sha256 is None:
            record = {"repo": repo, "revision": revision, "filename": filename, "size": expected[0],
                      "sha256": expected[1]}
            atomic_write_text(_record_path(target), json.dumps(record, indent=2) + "\n")
        return target

    def record(self, settings: Settings) -> dict | None:
        """What setup recorded about the download (repo, revision, filename, size, sha256), or None."""
        try:
            record = json.loads(_record_path(self.path(settings)).read_text(encoding="utf-8"))
            return record if isinstance(record, dict) and {"size", "sha256"} <= set(record) else None
        except (OSError, ValueError):
            return None


def _hub_size_and_sha256(repo: str, filename: str, revision: str) -> tuple[int, str]:
    meta = file_metadata(repo, filename, revision)
    sha256 = (meta.etag or "").strip('"').lower()
    if len(sha256) != 64 or meta.size is None:
        raise ModelFileError(f"The Hub gives no SHA-256 for {filename} in {repo} at {revision[:12]}, so its "
                             "download cannot be verified.",
                             next_steps="Check the repository, file name and revision settings.")
    return meta.size, sha256


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


def ensure_free_space(folder: Path, needed: int, what: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed + DISK_MARGIN_BYTES:
        raise DiskError(f"{what} needs about {needed / 1e9:.1f} GB in {folder}, but only {free / 1e9:.1f} GB "
                        "is free.")


def sha256_of(path: Path) -> str:
    from tqdm.auto import tqdm

    digest = hashlib.sha256()
    with open(path, "rb") as f, tqdm(total=path.stat().st_size, unit="B", unit_scale=True,
                                     desc=f"Verifying {path.name}", leave=False) as bar:
        while block := f.read(8 * 1024 * 1024):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


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


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".source.json")


def _note(path: Path, sha256: str) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def _remember_verified(path: Path, sha256: str) -> None:
    try:
        atomic_write_text(_marker(path), json.dumps(_note(path, sha256)))
    except OSError:
        pass  # verification still holds; it will just be repeated next time
