"""Resumable downloads of pinned Hub files.

huggingface_hub 2.4 restarts an interrupted download from byte 0 on the next
call (each attempt writes its own ``.incomplete`` file and deletes it on
failure). For a 2.5 GB Parakeet file and a 5 GB Canary checkpoint on a flaky
connection that can mean never finishing, so we keep the partial file and
continue it with an HTTP Range request. URLs, headers (``HF_TOKEN``,
``HF_ENDPOINT``) and error mapping are huggingface_hub's own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import HubUnreachableError


def file_metadata(repo: str, filename: str, revision: str):
    """huggingface_hub's metadata (size, etag, commit) for one file; raises its named errors."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    return get_hf_file_metadata(hf_hub_url(repo, filename, revision=revision))


def download_resumable(repo: str, filename: str, revision: str, dest: Path, size: int) -> Path:
    """Download to ``dest`` via ``dest.part``, continuing a part left by an earlier run."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status
    from tqdm.auto import tqdm

    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        have = 0
    headers = build_hf_headers()
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        with get_session().stream("GET", hf_hub_url(repo, filename, revision=revision), headers=headers,
                                  follow_redirects=True) as response:
            hf_raise_for_status(response)
            if response.status_code != 206:
                have = 0  # the server sent the whole file: start over
            with open(part, "ab" if have else "wb") as out, tqdm(
                    total=size, initial=have, unit="B", unit_scale=True, desc=filename) as bar:
                for chunk in response.iter_bytes():  # as it arrives: a cut keeps every byte
                    out.write(chunk)
                    bar.update(len(chunk))
    except Exception as exc:  # noqa: BLE001 - only connection drops are re-worded
        if type(exc).__name__ not in {"RemoteProtocolError", "ReadError", "ReadTimeout", "ConnectError"}:
            raise
        got = part.stat().st_size if part.exists() else 0
        raise HubUnreachableError(
            f"The download of {filename} stopped at {got:,} of {size:,} bytes ({exc}).",
            next_steps=_resume_advice(connected=type(exc).__name__ != "ConnectError")) from exc
    got = part.stat().st_size
    if got != size:
        raise HubUnreachableError(f"The download of {filename} ended at {got:,} of {size:,} bytes.",
                                  next_steps=_resume_advice(connected=True))
    os.replace(part, dest)
    return dest


def _resume_advice(connected: bool) -> str:
    """What to do after a download stopped: a connection never made (no network, DNS) is the network's fault."""
    again = "run the setup again: it continues from where it stopped."
    if connected:
        return f"The connection dropped: check the network, then {again}"
    return (f"No network connection (the Hub's address could not be reached): connect to the internet, then "
            f"{again}")


def download_into_hf_cache(repo: str, filename: str, revision: str, hub_cache: Path) -> Path:
    """Place one file in the standard Hugging Face cache layout, resumably.

    ``blobs/<etag>`` plus ``snapshots/<commit>/<filename>`` pointing at it, as
    huggingface_hub writes them, so its own lookups (and NeMo's) find the file.
    """
    from huggingface_hub.file_download import repo_folder_name

    meta = file_metadata(repo, filename, revision)
    repo_dir = hub_cache / repo_folder_name(repo_id=repo, repo_type="model")
    blob = repo_dir / "blobs" / meta.etag
    pointer = repo_dir / "snapshots" / revision / filename
    if not blob.exists():
        download_resumable(repo, filename, revision, blob, meta.size)
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.unlink(missing_ok=True)
    try:
        pointer.symlink_to(os.path.relpath(blob, pointer.parent))
    except OSError:
        # Windows without Developer Mode cannot symlink; huggingface_hub then
        # keeps the file itself in the snapshot, and so do we.
        shutil.move(blob, pointer)
    return pointer
