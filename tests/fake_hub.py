"""A tiny local stand-in for the Hugging Face Hub's file server, for tests.

Why: tests of our download/setup code should run the *real*
``huggingface_hub.hf_hub_download`` (cache layout, ETags, error mapping,
retries) without touching the network. ``FakeHub`` serves files on
127.0.0.1 the way huggingface.co does, so pointing ``endpoint=`` (or the
``HF_ENDPOINT`` env var of a subprocess, set before huggingface_hub is
imported) at ``hub.endpoint`` is all a test needs.

What it imitates (checked against huggingface_hub 2.4's file_download.py and
utils/_http.py):

* ``HEAD``/``GET /{repo_id}/resolve/{revision}/{filename}``. ``revision`` is a
  full 40-hex commit or a ref set with :meth:`FakeHub.set_ref` (no short
  hashes). Every answer carries ``X-Repo-Commit``.
  - regular file: ``200`` with ``ETag: "<git blob sha1>"`` and ``Content-Length``;
  - LFS file (``lfs=True``): ``302`` to a second "CDN" server (another port, so
    another origin: huggingface_hub drops the ``Authorization`` header there,
    as for real signed CDN URLs) with ``X-Linked-Etag: "<sha256>"`` and
    ``X-Linked-Size``. The CDN serves ``/lfs/<sha256>``.
  - ``Range: bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` answer ``206`` with
    ``Content-Range`` (``416`` past the end); bodies are streamed.
* errors as huggingface.co sends them, via ``X-Error-Code``: unknown repo ->
  401 (404 with a token) ``RepoNotFound``; gated repo -> 401 (no token) / 403
  (wrong token) ``GatedRepo``; unknown revision -> 404 ``RevisionNotFound``;
  unknown file -> 404 ``EntryNotFound`` (with ``X-Repo-Commit``, so the client
  records it under ``.no_exist/``).
* ``GET /api/models/{repo_id}[/revision/{revision}]`` (``HfApi.model_info``,
  ``repo_info``): ``id``, ``sha``, ``gated`` and ``siblings``; like the real
  Hub, siblings carry ``size``/``blobId``/``lfs`` only with ``?blobs=true``
  (``files_metadata=True``).
* ``GET /api/models/{repo_id}/tree/{revision}[/{path}]`` (``list_repo_tree``,
  used by ``snapshot_download``): files only, no pagination.
* ``GET /api/agent-harnesses``: an empty registry. huggingface_hub 2.4 fetches
  it from ``HF_ENDPOINT`` when it first builds request headers in a process,
  unless ``$HF_HOME/.agent_harnesses.json`` is under a day old, so it can show
  up in :attr:`FakeHub.requests`.

No Xet headers (``X-Xet-Hash``, ``Link: ...; rel="xet-auth"``) are ever sent,
so huggingface_hub uses its plain HTTP download even with ``hf_xet``
installed; ``HF_HUB_DISABLE_XET`` is not needed.

Only the standard library is used; the servers run in daemon threads.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["FakeHub", "Request"]

_COMMIT_RE = re.compile(r"[0-9a-f]{40}")
_RANGE_RE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE)
_CHUNK = 64 * 1024


class Request(NamedTuple):
    """One request the fake hub (or its CDN) received."""

    method: str  # "HEAD" or "GET"
    path: str  # URL path as sent (percent-encoded, no query), e.g. "/org/m/resolve/main/config.json"
    range: str | None  # the Range header, if any
    authorization: str | None  # the Authorization header, if any
    cdn: bool  # True when the CDN server (LFS blobs) answered


@dataclass
class _File:
    data: bytes | Path
    size: int
    blob_id: str  # git blob sha1 (of the LFS pointer for LFS files)
    sha256: str | None  # set for LFS files
    pointer_size: int = 0  # size of the LFS pointer file


@dataclass
class _Repo:
    commits: dict[str, dict[str, _File]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    gated: bool = False


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """Serves files over HTTP on 127.0.0.1 like huggingface.co's resolve endpoint.

    Usage::

        with FakeHub() as hub:
            hub.add_file("org/model", COMMIT, "config.json", b"{}")
            hub.set_ref("org/model", "main", COMMIT)
            hf_hub_download("org/model", "config.json", revision=COMMIT,
                            cache_dir=tmp, endpoint=hub.endpoint)
            assert [r.method for r in hub.requests if "/resolve/" in r.path] == ["HEAD", "GET"]
    """

    def __init__(self, token: str = "hf_fake_hub_test_token") -> None:
        self.token = token  # what gated repos accept, as "Authorization: Bearer <token>"
        self.requests: list[Request] = []
        self._repos: dict[str, _Repo] = {}
        self._lfs: dict[str, _File] = {}  # sha256 -> file, served by the CDN
        self._fail: tuple[int, int] | None = None  # (bytes, how many more GETs to cut)
        self._lock = threading.Lock()
        self._hub: http.server.ThreadingHTTPServer | None = None
        self._cdn: http.server.ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ setup

    def add_file(self, repo_id: str, commit: str, filename: str, data: bytes | Path, *, lfs: bool = False) -> None:
        """Put ``filename`` (e.g. "config.json" or "sub/dir/f.bin") in ``repo_id`` at ``commit`` (40 hex).

        ``data`` is bytes, or a Path streamed from disk (read once now for its hashes).
        With ``lfs=True`` the file behaves like a Git LFS file: sha256 ETag, redirect to the CDN.
        """
        if not _COMMIT_RE.fullmatch(commit):
            raise ValueError(f"commit must be 40 lowercase hex characters, got {commit!r}")
        if isinstance(data, Path):
            size = data.stat().st_size
            sha256, sha1 = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % size)
            with data.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    sha256.update(chunk)
                    sha1.update(chunk)
            sha256_hex, blob_id = sha256.hexdigest(), sha1.hexdigest()
        else:
            data = bytes(data)
            size = len(data)
            sha256_hex, blob_id = hashlib.sha256(data).hexdigest(), _git_blob_sha1(data)
        if lfs:
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256_hex}\nsize {size}\n"
            entry = _File(data, size, _git_blob_sha1(pointer.encode()), sha256_hex, len(pointer))
            self._lfs[sha256_hex] = entry
        else:
            entry = _File(data, size, blob_id, None)
        self._repos.setdefault(repo_id, _Repo()).commits.setdefault(commit, {})[filename] = entry

    def set_ref(self, repo_id: str, ref_name: str, commit: str) -> None:
        """Make ``ref_name`` (branch or tag, e.g. "main") point at ``commit``."""
        if not _COMMIT_RE.fullmatch(commit):
            raise ValueError(f"commit must be 40 lowercase hex characters, got {commit!r}")
        repo = self._repos.setdefault(repo_id, _Repo())
        repo.commits.setdefault(commit, {})
        repo.refs[ref_name] = commit

    def gate(self, repo_id: str) -> None:
        """Gate ``repo_id``: 401/403 ``GatedRepo`` unless ``Authorization: Bearer <self.token>`` is sent."""
        self._repos.setdefault(repo_id, _Repo()).gated = True

    def fail_after_bytes(self, n: int | None, times: int = 1) -> None:
        """Cut the next ``times`` file GETs after ``n`` body bytes (headers announce the full length,
        then the connection is closed). ``None`` cancels.

        huggingface_hub 2.4 retries a cut download *within the same call* (up to 5 times, with a
        Range header): ``times=1`` makes the call succeed after one resume; ``times>=6`` makes it raise.
        """
        with self._lock:
            self._fail = None if n is None else (n, times)

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>`` of the hub; pass as ``endpoint=`` or ``HF_ENDPOINT``."""
        if self._hub is None:
            raise RuntimeError("FakeHub is not started; use it as a context manager")
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn_endpoint(self) -> str:
        """Where LFS files are redirected to (another port, i.e. not a Hub origin)."""
        if self._cdn is None:
            raise RuntimeError("FakeHub is not started; use it as a context manager")
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    # -------------------------------------------------------------- lifecycle

    def __enter__(self) -> FakeHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            server_version = "FakeHub/1.0"
            # HTTP/1.0: one request per connection, so no keep-alive sockets outlive a test.

            def do_HEAD(self) -> None:
                hub._handle(self, head=True)

            def do_GET(self) -> None:
                hub._handle(self, head=False)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._hub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._cdn = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        for server in (self._hub, self._cdn):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name="FakeHub", daemon=True).start()

    def stop(self) -> None:
        for server in (self._hub, self._cdn):
            if server is not None:
                server.shutdown()
                server.server_close()

    # --------------------------------------------------------------- handling

    def _handle(self, h: http.server.BaseHTTPRequestHandler, *, head: bool) -> None:
        cdn = h.server is self._cdn
        url = urlsplit(h.path)
        auth = h.headers.get("Authorization")
        self.requests.append(Request(h.command, url.path, h.headers.get("Range"), auth, cdn))
        try:
            if cdn:
                entry = self._lfs.get(url.path.removeprefix("/lfs/"))
                if entry is None:
                    return self._send_error(h, head, 404, None, "Not found")
                return self._send_file(h, head, entry, {})
            if url.path == "/api/agent-harnesses":  # huggingface_hub's user-agent telemetry registry
                return self._send(h, head, 200, {"Content-Type": "application/json"},
                                  b'{"standardEnvVars": [], "harnesses": {}}')
            if url.path.startswith("/api/models/"):
                return self._api_models(h, head, url.path.removeprefix("/api/models/"), parse_qs(url.query))
            if "/resolve/" in url.path:
                return self._resolve(h, head, url.path)
            self._send_error(h, head, 404, None, "Not found")
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def _lookup(self, h, head: bool, repo_id: str, revision: str) -> tuple[_Repo, str] | None:
        """Repo + commit for a request, or None after sending the Hub's error answer."""
        auth = h.headers.get("Authorization")
        repo = self._repos.get(repo_id)
        if repo is None:
            self._send_error(h, head, 404 if auth else 401, "RepoNotFound", "Repository not found")
            return None
        if repo.gated and auth != f"Bearer {self.token}":
            if auth is None:
                msg = (f"Access to model {repo_id} is restricted. You must have access to it"
                       " and be authenticated to access it. Please log in.")
                self._send_error(h, head, 401, "GatedRepo", msg)
            else:
                msg = (f"Access to model {repo_id} is restricted and you are not in the authorized list."
                       f" Visit https://huggingface.co/{repo_id} to ask for access.")
                self._send_error(h, head, 403, "GatedRepo", msg)
            return None
        commit = revision if revision in repo.commits else repo.refs.get(revision)
        if commit is None:
            self._send_error(h, head, 404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return None
        return repo, commit

    def _resolve(self, h, head: bool, path: str) -> None:
        repo_part, _, rest = path.partition("/resolve/")
        revision, _, filename = rest.partition("/")
        found = self._lookup(h, head, unquote(repo_part.lstrip("/")), unquote(revision))
        if found is None:
            return
        repo, commit = found
        entry = repo.commits[commit].get(unquote(filename))
        if entry is None:
            return self._send_error(h, head, 404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": commit})
        headers = {"X-Repo-Commit": commit, "ETag": f'"{entry.blob_id}"'}
        if entry.sha256 is None:
            return self._send_file(h, head, entry, headers)
        headers.update({
            "X-Linked-Etag": f'"{entry.sha256}"',
            "X-Linked-Size": str(entry.size),
            "Location": f"{self.cdn_endpoint}/lfs/{entry.sha256}",
        })
        self._send(h, head, 302, headers, b"")

    def _api_models(self, h, head: bool, rest: str, query: dict[str, list[str]]) -> None:
        tree_path = None
        if "/tree/" in rest:
            repo_part, _, tail = rest.partition("/tree/")
            revision, _, tree_path = tail.partition("/")
            tree_path = unquote(tree_path).strip("/")
        elif "/revision/" in rest:
            repo_part, _, revision = rest.partition("/revision/")
        else:
            repo_part, revision = rest, "main"
        repo_id = unquote(repo_part.strip("/"))
        found = self._lookup(h, head, repo_id, unquote(revision))
        if found is None:
            return
        repo, commit = found
        files = sorted(repo.commits[commit].items())
        if tree_path is not None:  # list_repo_tree: all files under the path (as if recursive), no folders
            prefix = f"{tree_path}/" if tree_path else ""
            body = [{"type": "file", "oid": e.blob_id, "size": e.size, "path": name,
                     **({"lfs": {"oid": e.sha256, "size": e.size, "pointerSize": e.pointer_size}}
                        if e.sha256 else {})}
                    for name, e in files if name.startswith(prefix)]
        else:
            blobs = query.get("blobs", [""])[0].lower() in ("1", "true")
            siblings = [{"rfilename": name,
                         **({"size": e.size, "blobId": e.blob_id} if blobs else {}),
                         **({"lfs": {"sha256": e.sha256, "size": e.size, "pointerSize": e.pointer_size}}
                            if blobs and e.sha256 else {})}
                        for name, e in files]
            body = {"_id": repo_id, "id": repo_id, "modelId": repo_id, "sha": commit, "private": False,
                    "gated": "manual" if repo.gated else False, "disabled": False,
                    "lastModified": "2024-01-01T00:00:00.000Z", "tags": [], "siblings": siblings}
        self._send(h, head, 200, {"Content-Type": "application/json", "X-Repo-Commit": commit},
                   json.dumps(body).encode())

    # ---------------------------------------------------------------- writing

    def _send_error(self, h, head: bool, status: int, code: str | None, message: str,
                    extra: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/json", "X-Error-Message": message, **(extra or {})}
        if code is not None:
            headers["X-Error-Code"] = code
        self._send(h, head, status, headers, json.dumps({"error": message}).encode())

    @staticmethod
    def _send(h, head: bool, status: int, headers: dict[str, str], body: bytes) -> None:
        h.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            h.send_header(key, value)
        h.end_headers()
        if not head:
            h.wfile.write(body)

    def _send_file(self, h, head: bool, entry: _File, headers: dict[str, str]) -> None:
        size, start, end, status = entry.size, 0, entry.size - 1, 200
        match = _RANGE_RE.fullmatch(h.headers.get("Range") or "")
        if match and (match.group(1) or match.group(2)):
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last), size - 1) if last else size - 1
            else:
                start, end = max(size - int(last), 0), size - 1
            if start >= size or start > end:
                return self._send(h, head, 416, {"Content-Range": f"bytes */{size}"}, b"")
            status = 206
            headers = {**headers, "Content-Range": f"bytes {start}-{end}/{size}"}
        length = end - start + 1
        h.send_response(status)
        headers = {**headers, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream",
                   "Content-Length": str(length)}
        for key, value in headers.items():
            h.send_header(key, value)
        h.end_headers()
        if head:
            return
        with self._lock:
            limit = length
            if self._fail is not None:
                n, times = self._fail
                limit = min(n, length)
                self._fail = (n, times - 1) if times > 1 else None
        for chunk in self._chunks(entry, start, limit):
            h.wfile.write(chunk)
        if limit < length:  # simulate a dropped connection mid-body
            h.wfile.flush()
            h.close_connection = True

    @staticmethod
    def _chunks(entry: _File, start: int, length: int):
        if isinstance(entry.data, Path):
            with entry.data.open("rb") as f:
                f.seek(start)
                while length > 0:
                    chunk = f.read(min(_CHUNK, length))
                    if not chunk:
                        return
                    length -= len(chunk)
                    yield chunk
        else:
            view = memoryview(entry.data)
            for offset in range(start, start + length, _CHUNK):
                yield view[offset:min(offset + _CHUNK, start + length)]
