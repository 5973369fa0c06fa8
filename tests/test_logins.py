"""Each login's History its own, through the served app and HTTP (no mocks of Gradio or Starlette): under
logins bob can neither list, open, edit, rename, download nor fetch alice's transcripts; with
``--shared-history`` every login sees the one History."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client, handle_file

from transcribe_studio.app.access import Access
from transcribe_studio.app.histories import login_folder
from transcribe_studio.models import PARAKEET

LOGINS = Access(host="127.0.0.1", credentials=[("alice", "her-secret"), ("bob", "his-secret")])


def _client(url: str, login: str) -> Client:
    return Client(url, auth=(login, dict(LOGINS.credentials)[login]), verbose=False)


def _logged_in(url: str, login: str) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=30)
    answer = http.post("login", data={"username": login, "password": dict(LOGINS.credentials)[login]})
    assert answer.status_code == 200, answer.text
    return http


def _alices_entry(app, url: str, wav_file) -> tuple[str, list]:
    alice = _client(url, "alice")
    *_, message, _ = alice.predict([handle_file(str(wav_file))], None, PARAKEET, ["txt", "srt"],
                                   api_name="/transcribe")
    assert "1 of 1 file(s) transcribed" in message, message
    rows = alice.predict(api_name="/history")
    assert len(rows) == 1, rows
    return rows[0][0], app.studio_histories.for_login("alice").entries()[0].files


def test_bob_cannot_list_open_edit_rename_or_fetch_alices_history(serve_studio, studio_settings, shared_cache,
                                                                    wav_file):
    app, url = serve_studio(studio_settings, shared_cache, access=LOGINS)
    entry_id, files = _alices_entry(app, url, wav_file)
    assert files[0].is_relative_to(studio_settings.output_dir / "logins" / login_folder("alice"))
    before = {f: f.read_bytes() for f in files}

    bob = _client(url, "bob")
    assert bob.predict(api_name="/history") == []
    *_, message = bob.predict(entry_id, ["bob was here"], api_name="/save_edit")
    assert "bob was here" not in message and "There is no History entry" in message, message
    *_, message = bob.predict(entry_id, "Speaker 1 = Bob", api_name="/rename_speakers")
    assert "There is no History entry" in message, message
    assert {f: f.read_bytes() for f in files} == before

    as_bob, as_alice = _logged_in(url, "bob"), _logged_in(url, "alice")
    for file in files:
        assert as_bob.get(f"gradio_api/file={file}").status_code == 403, file
        assert as_alice.get(f"gradio_api/file={file}").status_code == 200, file
    assert app.studio_history.entries() == []  # nothing went to the History without logins


def test_alices_download_all_zip_is_hers_alone(serve_studio, studio_settings, shared_cache, wav_file):
    app, url = serve_studio(studio_settings, shared_cache, access=LOGINS)
    entry_id, _ = _alices_entry(app, url, wav_file)
    from transcribe_studio.app import api

    path, message = api.download_all(app.studio_histories.for_login("alice"), [entry_id])
    assert path and "One zip" in message
    assert _logged_in(url, "bob").get(f"gradio_api/file={path}").status_code == 403
    assert _logged_in(url, "alice").get(f"gradio_api/file={path}").status_code == 200
    with pytest.raises(Exception, match="no History entry"):
        app.studio_histories.for_login("bob").zip_entries([entry_id])


def test_a_shared_history_is_every_logins(serve_studio, studio_settings, shared_cache, wav_file):
    from tests.conftest import assert_serves_on_localhost_only
    from tests.test_app import free_port
    from transcribe_studio.app.handlers import build_app, launch

    app = build_app(studio_settings, shared_cache, shared_history=True)
    port = free_port()
    launch(app, studio_settings, port, access=LOGINS, prevent_thread_lock=True, quiet=True)
    try:
        assert_serves_on_localhost_only(app, port)
        url = f"http://127.0.0.1:{port}/"
        entry_id, files = _alices_entry(app, url, wav_file)
        assert [row[0] for row in _client(url, "bob").predict(api_name="/history")] == [entry_id]
        assert _logged_in(url, "bob").get(f"gradio_api/file={files[0]}").status_code == 200
    finally:
        app.close()


def test_login_folders_are_distinct_even_where_case_is_ignored():
    names = ["alice", "Alice", "../alice", "a l i c e", "", "ä"]
    folders = [login_folder(name) for name in names]
    assert len({f.lower() for f in folders}) == len(names)
    assert all("/" not in f and not f.startswith(".") for f in folders)


def test_every_file_route_keeps_alices_files_hers(serve_studio, studio_settings, shared_cache, wav_file):
    app, url = serve_studio(studio_settings, shared_cache, access=LOGINS)
    _, files = _alices_entry(app, url, wav_file)
    as_bob = _logged_in(url, "bob")
    for file in files:
        for route in (f"gradio_api/file={file}", f"gradio_api/file/{file}", f"gradio_api/file//{file}"):
            assert as_bob.get(route).status_code in (403, 404), route
        answer = _logged_in(url, "alice").get(f"gradio_api/file/{file}")
        assert answer.status_code == 200 and answer.headers["x-content-type-options"] == "nosniff"
