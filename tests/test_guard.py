"""The served app under attack, through HTTP: foreign Host names (DNS rebinding), other sites' requests,
over-limit uploads, files the app did not write, login guessing, and Gradio's run history."""

import dataclasses
import time
from urllib.parse import urlsplit

import httpx

from transcribe_studio.app.access import Access
from transcribe_studio.files import atomic_write_text


def _port(url: str) -> int:
    return urlsplit(url).port


def test_a_foreign_host_is_refused_and_loopback_names_are_served(serve_studio, studio_settings):
    _, url = serve_studio(studio_settings)
    port = _port(url)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
        assert httpx.get(url + "config", headers={"Host": host}).status_code == 200, host
    for host in (f"rebind.attacker.example:{port}", "rebind.attacker.example", f"127.0.0.1.attacker.example:{port}"):
        answer = httpx.get(url + "config", headers={"Host": host})
        assert answer.status_code == 400 and "Invalid host" in answer.text, host
        answer = httpx.post(url + "gradio_api/upload", headers={"Host": host}, files={"files": ("a.txt", b"x")})
        assert answer.status_code == 400, host


def test_requests_from_other_sites_are_refused(serve_studio, studio_settings):
    _, url = serve_studio(studio_settings)
    upload = {"files": ("a.wav", b"RIFF....")}
    port = _port(url)
    other_local_apps = [f"http://127.0.0.1:{port + 1}", f"http://localhost:{port - 1}", "http://localhost",
                        f"http://127.0.0.1:{port}x"]  # another port of this machine is another site
    for origin in ("https://evil.example", "null", f"http://rebind.attacker.example:{port}", *other_local_apps):
        answer = httpx.post(url + "gradio_api/upload", headers={"Origin": origin}, files=upload)
        assert answer.status_code == 403, origin
        assert httpx.get(url + "gradio_api/info", headers={"Origin": origin}).status_code == 403
    same_site = httpx.post(url + "gradio_api/upload", headers={"Origin": url.rstrip("/")}, files=upload)
    assert same_site.status_code == 200, same_site.text


def test_an_upload_over_the_limit_is_refused_at_the_upload(serve_studio, studio_settings):
    limited = dataclasses.replace(studio_settings, max_file_mb=0.01)  # 10 000 bytes
    _, url = serve_studio(limited)
    over = httpx.post(url + "gradio_api/upload", files={"files": ("big.wav", b"\0" * 20_000)})
    assert over.status_code == 413, over.text
    under = httpx.post(url + "gradio_api/upload", files={"files": ("small.wav", b"\0" * 5_000)})
    assert under.status_code == 200, under.text


def test_only_what_the_app_wrote_is_served(serve_studio, studio_settings):
    app, url = serve_studio(studio_settings)
    output_dir = studio_settings.output_dir
    planted = atomic_write_text(output_dir / "private-notes.txt", "not the app's")
    (output_dir / "logs").mkdir()
    log = atomic_write_text(output_dir / "logs" / "studio.log", "a log line")
    store = app.studio_history
    entry = store.open_entry("talk.wav")
    transcript = atomic_write_text(entry / "talk.txt", "hello")
    store.finish(entry)
    assert httpx.get(f"{url}gradio_api/file={transcript}").text == "hello"  # what the app wrote is served
    for path in (planted, log, studio_settings.parakeet_path):
        answer = httpx.get(f"{url}gradio_api/file={path}")
        assert answer.status_code in (403, 404) and "not the app's" not in answer.text, path


def test_history_serves_only_the_types_it_writes_and_never_sniffed(serve_studio, studio_settings):
    app, url = serve_studio(studio_settings)
    store = app.studio_history
    entry = store.open_entry("talk.wav")
    transcript = atomic_write_text(entry / "talk.txt", "hello")
    page = atomic_write_text(entry / "notes.html", "<script>fetch('/gradio_api/info')</script>")
    picture = atomic_write_text(entry / "image.svg", "<svg onload=alert(1)></svg>")
    original = atomic_write_text(entry / ".original.json", '{"text": "the model\'s own"}')
    (entry / ".undo").mkdir()
    before_replace = atomic_write_text(entry / ".undo" / "talk.json", '{"text": "the model\'s own"}')
    store.finish(entry)
    served = httpx.get(f"{url}gradio_api/file={transcript}")
    assert served.text == "hello" and served.headers["x-content-type-options"] == "nosniff"
    for path in (page, picture, original, before_replace):
        answer = httpx.get(f"{url}gradio_api/file={path}")
        assert answer.status_code == 403 and "script" not in answer.text and "own" not in answer.text, path
    escaped = httpx.get(f"{url}gradio_api/file={str(page).replace('.html', '%2Ehtml')}")
    assert escaped.status_code == 403


def test_a_recording_named_like_a_page_is_kept_as_data_not_as_a_page(serve_studio, studio_settings, wav_file,
                                                                       tmp_path):
    from gradio_client import Client, handle_file

    app, url = serve_studio(studio_settings)
    evil = tmp_path / "evil.html"
    evil.write_bytes(wav_file.read_bytes())  # a valid WAV, named like a page
    Client(url, verbose=False).predict([], handle_file(str(evil)), "parakeet", ["txt"], api_name="/transcribe")
    (entry,) = app.studio_history.entries()
    assert entry.audio is not None and entry.audio.name == "audio.bin"
    assert not [p for p in entry.audio.parent.iterdir() if p.suffix == ".html"]
    answer = httpx.get(f"{url}gradio_api/file={entry.audio}")
    assert answer.status_code == 200 and "text/html" not in answer.headers.get("content-type", "")


def test_gradio_run_history_is_off(serve_studio, studio_settings):
    app, url = serve_studio(studio_settings)
    assert app.run_history is False
    config = httpx.get(url + "config").json()
    assert config["run_history"] is False and "runs" not in config.get("footer_links", [])


def test_repeated_wrong_logins_from_one_client_are_slowed_down(serve_studio, studio_settings):
    _, url = serve_studio(studio_settings, access=Access(credentials=[("ann", "right")]))

    def login(password: str) -> httpx.Response:
        return httpx.post(url + "login", data={"username": "ann", "password": password})

    assert [login("wrong").status_code for _ in range(5)] == [400] * 5
    blocked = login("right")  # even the right password waits: a guesser cannot tell
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    time.sleep(1.2)
    assert login("wrong").status_code == 400
    assert login("right").status_code == 429  # the wait doubled after another wrong try
    time.sleep(2.2)
    assert login("right").status_code == 200
    assert login("wrong").status_code == 400  # a right login cleared the count


def _logins(url: str):
    def login(user: str, password: str, **headers) -> int:
        return httpx.post(url + "login", data={"username": user, "password": password}, headers=headers).status_code
    return login


def test_a_fresh_forwarded_address_on_each_try_does_not_escape_the_back_off(serve_studio, studio_settings):
    _, url = serve_studio(studio_settings, access=Access(credentials=[("ann", "right")]))
    login = _logins(url)
    tries = [login("ann", "wrong", **{"X-Forwarded-For": f"10.0.0.{n}"}) for n in range(1, 8)]
    assert tries[:5] == [400] * 5 and 429 in tries[5:], tries


def test_another_accounts_right_login_does_not_clear_a_guessers_count(serve_studio, studio_settings):
    _, url = serve_studio(studio_settings, access=Access(credentials=[("ann", "right"), ("bob", "his")]))
    login = _logins(url)
    assert [login("ann", "wrong") for _ in range(4)] == [400] * 4
    assert login("bob", "his") == 200
    assert login("ann", "wrong") == 400 and login("ann", "right") == 429


def test_someone_elses_wrong_logins_do_not_lock_out_a_user_at_the_same_address(serve_studio, studio_settings):
    _, url = serve_studio(studio_settings, access=Access(credentials=[("ann", "right"), ("bob", "his")]))
    login = _logins(url)
    assert [login("ann", "wrong") for _ in range(6)][-1] == 429
    assert login("bob", "his") == 200  # same address, another account: not slowed


def test_guessing_at_one_account_from_many_addresses_is_slowed_too():
    from transcribe_studio.app.guard import LoginBackoff

    backoff = LoginBackoff(app=None, account_free_tries=20)
    for n in range(20):
        backoff._record([("pair", "ann", f"10.0.{n}.1"), ("account", "ann")], ok=False)
    assert backoff.blocked_until[("account", "ann")] > time.monotonic()
    assert ("account", "bob") not in backoff.blocked_until


def test_listen_adds_this_machines_names_and_allowed_hosts_share_its_domain():
    import socket

    from transcribe_studio.app.guard import allowed_hosts

    private = allowed_hosts(Access())
    assert private == ["127.0.0.1", "localhost", "[::1]"]
    listening = allowed_hosts(Access(host="0.0.0.0", listen=True, allowed_hosts=["Studio.LAN", "fe80::1"]))
    assert socket.gethostname().lower() in listening and "studio.lan" in listening and "[fe80::1]" in listening
    assert "*.gradio.live" in allowed_hosts(Access(share=True)) and "*.gradio.live" not in listening


def test_logins_from_a_file_or_the_environment_and_a_warning_for_the_command_line(tmp_path, monkeypatch):
    import argparse

    from transcribe_studio.app import access

    parser = argparse.ArgumentParser()
    access.add_arguments(parser)
    monkeypatch.setenv(access.AUTH_ENV, "ann:secret\nbob:pa,ss")
    from_env = access.from_args(parser.parse_args(["--listen"]))
    assert from_env.credentials == [("ann", "secret"), ("bob", "pa,ss")]
    assert not any("ps" in w for w in from_env.warnings)
    monkeypatch.delenv(access.AUTH_ENV)
    on_command_line = access.from_args(parser.parse_args(["--listen", "--auth", "cy:pw"]))
    assert any("command line" in w and "(ps)" in w for w in on_command_line.warnings)


def test_raw_calls_with_too_few_inputs_or_no_endpoint_are_answered_clearly(serve_studio, studio_settings):
    _, url = serve_studio(studio_settings)
    for route in ("run", "call"):
        missing = httpx.post(f"{url}gradio_api/{route}/save_edit", json={"data": ["an entry"]})
        assert missing.status_code == 422, missing.text
        assert "takes 2 input(s) (entry_id, segment_texts)" in missing.json()["error"]
        unknown = httpx.post(f"{url}gradio_api/{route}/no_such_endpoint", json={"data": []})
        assert unknown.status_code == 404 and "/gradio_api/info" in unknown.json()["error"]
    cancel = httpx.post(f"{url}gradio_api/run/cancel", json={"data": []})  # its only input is the page's own
    assert cancel.status_code == 200 and cancel.json()["data"] == ["Nothing of yours is running to cancel."]
    join = httpx.post(f"{url}gradio_api/queue/join", json={"data": [], "fn_index": 10_000, "session_hash": "s"})
    assert join.status_code == 404
    huge = httpx.post(f"{url}gradio_api/run/history", content=b"[" + b" " * (17 * 2**20) + b"]")
    assert huge.status_code == 413


def test_one_upload_of_many_files_is_limited_as_a_whole(serve_studio, studio_settings):
    limited = dataclasses.replace(studio_settings, max_file_mb=0.05, max_upload_mb=0.1)  # 50 kB a file, 100 kB in all
    _, url = serve_studio(limited)
    many = [("files", (f"part{n}.wav", b"\0" * 40_000)) for n in range(4)]
    over = httpx.post(url + "gradio_api/upload", files=many)
    assert over.status_code == 413 and "--max-upload-mb" in over.text, over.text
    assert httpx.post(url + "gradio_api/upload", files=many[:2]).status_code == 200

    def chunks():
        yield b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.wav\"\r\n\r\n"
        yield b"\0" * 1000 + b"\r\n--x--\r\n"
    unsized = httpx.post(url + "gradio_api/upload", content=chunks(),
                         headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert unsized.status_code == 411, unsized.text


def _raw_upload(url: str, declared: int, sent: int) -> None:
    """An upload that says it holds ``declared`` bytes, sends ``sent`` (a lie, or cut short), then hangs up."""
    import socket

    head = b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cut.wav\"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", _port(url))) as sock:
        sock.sendall(b"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n"
                     + f"Content-Length: {declared}\r\n\r\n".encode() + head + b"\0" * (sent - len(head)))
        time.sleep(0.5)


def test_cut_off_and_lying_uploads_leave_nothing_after_the_sweep(serve_studio, studio_settings):
    import os
    from pathlib import Path

    from transcribe_studio.app import uploads

    _, url = serve_studio(studio_settings)
    folder = Path(os.environ["GRADIO_TEMP_DIR"])
    uploads.sweep(folder, older_than_s=0)
    finished = httpx.post(url + "gradio_api/upload", files={"files": ("kept.wav", b"\0" * 5_000)}).json()[0]

    def leftovers() -> list[str]:
        return sorted(p.name for p in folder.iterdir() if p.name.startswith("tmp") and p.is_file())
    _raw_upload(url, declared=600_000, sent=2_000_000)  # says 600 kB, sends 2 MB
    _raw_upload(url, declared=2_000_000, sent=500_000)  # cut off a quarter of the way
    deadline = time.monotonic() + 10
    while len(leftovers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(leftovers()) >= 2  # what Gradio leaves; the sweep at the start and every hour removes it
    assert uploads.sweep(folder) == []  # fresh: perhaps still arriving, so kept
    assert len(uploads.sweep(folder, older_than_s=0)) >= 2
    assert leftovers() == [] and Path(finished).exists()


def test_a_login_form_is_read_as_gradio_reads_it(serve_studio, studio_settings):
    _, url = serve_studio(studio_settings, access=Access(credentials=[("ann", "right")]))

    def login(form: str) -> int:
        return httpx.post(url + "login", content=form.encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code
    assert [login(f"username=ann{' ' * n}&password=wrong") for n in range(6)][-1] == 429  # Gradio strips spaces
    assert login("username=%20ann%20&password=right") == 429
    assert login("username=decoy&username=ann&password=right") == 400  # which of two names? neither


def test_uploads_by_length_only_and_no_screen_recording_route(serve_studio, studio_settings):
    import socket

    limited = dataclasses.replace(studio_settings, max_file_mb=0.05, max_upload_mb=0.1)
    _, url = serve_studio(limited)
    part = b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.wav\"\r\n\r\n" + b"\0" * 40_000
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for _ in range(4)) + b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", _port(url))) as sock:  # says 100 bytes, sends 160 kB chunked
        sock.sendall(b"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n"
                     b"Transfer-Encoding: chunked\r\nContent-Type: multipart/form-data; boundary=x\r\n\r\n" + body)
        answer = sock.recv(200)
    assert b" 411 " in answer.split(b"\r\n")[0] or b" 400 " in answer.split(b"\r\n")[0], answer
    recording = httpx.post(url + "gradio_api/process_recording", files={"video": ("v.webm", b"\0" * 1000)})
    assert recording.status_code == 404


def test_the_pages_own_endpoints_are_not_called_by_name_and_idle_minutes_stay_in_range(serve_studio,
                                                                                         studio_settings):
    app, url = serve_studio(studio_settings)
    private = next(fn for fn in app.fns.values() if getattr(fn, "api_visibility", "") == "private" and fn.fn)
    assert httpx.post(f"{url}gradio_api/run/{private.api_name}", json={"data": [None] * 3}).status_code == 404
    from transcribe_studio.app.handlers import Handlers

    handlers = Handlers(app.studio_cache, app.studio_histories)
    for wrong in (float("nan"), float("inf"), -5, "abc", 10**9):
        assert "nothing changed" in handlers.set_idle(wrong), wrong
    assert app.studio_cache.idle_unload_minutes == 0
    assert handlers.set_idle(15) == "Models unload after 15 idle minutes."


def test_guessing_at_an_account_does_not_lock_out_a_browser_it_logged_in_from(serve_studio, studio_settings):
    """The account-wide count (a guesser changing address each try) leaves a browser that logged in to the
    account before alone. Guesses come from elsewhere here as an unknown browser would (no cookie); the
    address they count under is the test's own, so the per-address count is raised out of the way."""
    app, url = serve_studio(studio_settings, access=Access(credentials=[("ann", "right")]))
    login = _logins(url)
    known = httpx.Client(base_url=url)
    assert known.post("login", data={"username": "ann", "password": "right"}).status_code == 200
    backoff = _backoff(app)
    backoff.free_tries = 1000
    tries = [login("ann", "wrong") for _ in range(backoff.account_free_tries + 1)]
    assert tries[-1] == 429 and login("ann", "right") == 429  # an unknown browser waits
    assert known.post("login", data={"username": "ann", "password": "right"}).status_code == 200


def _backoff(app):
    """The app's LoginBackoff instance, found in the served middleware stack."""
    layer = app.server_app.middleware_stack if hasattr(app, "server_app") else None
    while layer is not None:
        from transcribe_studio.app.guard import LoginBackoff

        if isinstance(layer, LoginBackoff):
            return layer
        layer = getattr(layer, "app", None)
    raise AssertionError("no LoginBackoff in the served app")
