"""The served studio under load, through gradio_client: many clients at once, a cancelled job,
a login, idle unloading and Ask Canary, all with the tiny real models (NeMo is never mocked;
``engine.transcribe`` is at most wrapped by a recorder that calls the real function)."""

from __future__ import annotations

import argparse
import dataclasses
import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AuthenticationError

from tests.media import speechlike, write_audio
from tests.test_app import transcribe
from transcribe_studio.app import access
from transcribe_studio.app.access import Access
from transcribe_studio.errors import ConfigurationError
from transcribe_studio.formatting import clock
from transcribe_studio.media.decode import SAMPLE_RATE
from transcribe_studio.models import CANARY, PARAKEET, ModelCache, get, nemo_asr
from transcribe_studio.models.canary_llm import NOTE
from transcribe_studio.models.spec import label

WAIT_S = 30


@pytest.fixture
def recorder(registered, monkeypatch):
    """Record the model work: wrap each model spec's ``transcribe`` and ``transcribe_batch`` (called inside
    ``cache.use``, with the model in hand; on the CPU one window per call) to note each call's (start, end,
    seconds of audio) around the real function.

    ``recorder.hold_call(n)`` makes the n-th call (1-based) set ``recorder.held`` and wait for
    ``recorder.release`` before it runs."""

    class Recorder:
        def __init__(self):
            self.calls: list[tuple[float, float, float]] = []
            self.hold: int | None = None
            self.held, self.release = threading.Event(), threading.Event()
            self.lock = threading.Lock()
            self.started = 0

        def hold_call(self, n: int) -> None:
            self.hold = n

    rec = Recorder()

    def wrap(real):
        def recording(model, audio, *args, **kwargs):  # audio: one recording, or a batch's pieces
            with rec.lock:
                rec.started += 1
                number = rec.started
            start = time.perf_counter()
            try:
                if number == rec.hold:
                    rec.held.set()
                    rec.release.wait(timeout=WAIT_S)
                time.sleep(0.05)  # every call lasts a while, so that two at once would overlap
                return real(model, audio, *args, **kwargs)
            finally:
                samples = sum(map(len, audio)) if isinstance(audio, list) else len(audio)
                rec.calls.append((start, time.perf_counter(), samples / SAMPLE_RATE))
        return recording

    monkeypatch.setattr(nemo_asr, "CPU_BATCH_ITEMS", 1)
    for key in (PARAKEET, CANARY):
        spec = get(key)
        registered(dataclasses.replace(spec, transcribe=wrap(spec.transcribe),
                                       transcribe_batch=wrap(spec.transcribe_batch)))
    return rec


def assert_one_at_a_time(calls) -> None:
    spans = sorted(calls)
    for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
        assert start >= end, f"transcriptions of {first:.2f} s and {second:.2f} s audio overlapped"


def seconds(value: str) -> float:
    *hours, minutes, secs = value.split(":")
    return (int(hours[0]) * 3600 if hours else 0) + int(minutes) * 60 + float(secs)


# --- many clients ------------------------------------------------------------------

def test_eight_clients_at_once_each_get_their_own_answer_one_load_one_job_at_a_time(
        serve_studio, studio_settings, tmp_path, recorder):
    cache = ModelCache(studio_settings)  # fresh: the first requests all find Parakeet unloaded
    app, url = serve_studio(studio_settings, cache)
    durations = [1.0 + 0.25 * i for i in range(8)]
    clips = [write_audio(tmp_path / f"client{i}.wav", speechlike(d, seed=i), SAMPLE_RATE)
             for i, d in enumerate(durations)]
    clients = [Client(url, verbose=False) for _ in clips]
    answers: dict[int, tuple] = {}
    errors: list[BaseException] = []
    gate = threading.Barrier(len(clients))

    def one(i: int) -> None:
        try:
            gate.wait(timeout=WAIT_S)
            job = clients[i].submit([handle_file(str(clips[i]))], None, PARAKEET, ["txt", "srt"],
                                    api_name="/transcribe")
            answers[i] = job.result(timeout=WAIT_S)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * WAIT_S)
    assert not errors, errors
    assert sorted(answers) == list(range(8))

    for i, (text, segments, downloads, table, message, status) in answers.items():
        assert text and "1 of 1 file(s) transcribed" in message
        assert sorted(Path(d).name for d in downloads) == [f"client{i}.json", f"client{i}.srt", f"client{i}.txt"]
        [(name, state, details)] = table["data"]
        assert (name, state) == (f"client{i}.wav", "done")
        assert details.startswith(f"{clock(durations[i])} of audio"), details
        assert segments["data"] and seconds(segments["data"][-1][1]) <= durations[i]

    entries = {e.source: e for e in app.studio_history.entries()}
    assert {name: e.duration for name, e in entries.items()} == {
        f"client{i}.wav": pytest.approx(d) for i, d in enumerate(durations)}
    assert cache.load_count == {PARAKEET: 1, CANARY: 0, "parakeet-v3": 0, "canary-1b-v2": 0, "diarizer": 0}
    assert sorted(d for _, _, d in recorder.calls) == pytest.approx(durations)
    assert_one_at_a_time(recorder.calls)


# --- cancelling ----------------------------------------------------------------------

def _start_a_batch_and_hold_its_second_file(url, tmp_path, recorder):
    clips = [write_audio(tmp_path / f"part{i}.wav", speechlike(1.0 + i, seed=i), SAMPLE_RATE) for i in (1, 2, 3)]
    recorder.hold_call(2)
    job = Client(url, verbose=False).submit([handle_file(str(c)) for c in clips], None, PARAKEET, ["txt", "srt"],
                                            api_name="/transcribe")
    assert recorder.held.wait(timeout=WAIT_S), "the second file never started"
    return job, clips


def test_a_cancelled_batch_keeps_finished_files_and_the_app_serves_on(serve_studio, studio_settings, shared_cache,
                                                                       tmp_path, recorder):
    """``Job.cancel()`` (Gradio's /cancel) on a running batch, while its second file is being transcribed.

    Gradio closes the watching handler at its next ``yield`` (a fraction of a second); the app's job
    registry hears an explicit cancel and sets the job's flag. The model call in flight finishes,
    the job stops at its next progress step: the second file is saved, as the first; the third never starts.
    In a batch the longest files go first: part3 (4 s), then part2 (3 s), held."""
    app, url = serve_studio(studio_settings, shared_cache)
    store = app.studio_history
    job, clips = _start_a_batch_and_hold_its_second_file(url, tmp_path, recorder)
    assert [e.source for e in store.entries()] == ["part3.wav"]  # finished and saved before the cancel
    running = app.studio_jobs.current(None)
    job.cancel()
    deadline = time.monotonic() + 2.0
    while not running.cancel_requested and time.monotonic() < deadline:
        time.sleep(0.02)
    assert running.cancel_requested, "the cancel did not reach the job within 2 s"
    recorder.release.set()
    assert running.wait(WAIT_S)

    text, *_, message, _ = transcribe(Client(url, verbose=False), [clips[0]], formats=["txt"])
    assert text and "1 of 1 file(s) transcribed" in message  # the app serves on
    assert [round(d) for *_, d in sorted(recorder.calls)] == [4, 3, 2]  # part1 (2 s) never started, then ran alone
    entries = store.entries()
    assert sorted(e.source for e in entries) == ["part1.wav", "part2.wav", "part3.wav"]
    assert sorted(p.name for p in store.root.iterdir()) == sorted(e.id for e in entries)  # no half-written folder
    for entry in entries:
        transcript, _, _ = store.load(entry.id)
        assert transcript.text and entry.audio is not None and entry.audio.stat().st_size > 0
        stem = Path(entry.source).stem
        assert {p.name for p in entry.files} >= {f"{stem}.json", f"{stem}.txt"}
        assert all(p.stat().st_size > 0 for p in entry.files)


def test_a_cancelled_job_keeps_the_model_until_its_step_ends(serve_studio, studio_settings, shared_cache,
                                                              tmp_path, recorder):
    _, url = serve_studio(studio_settings, shared_cache)
    job, clips = _start_a_batch_and_hold_its_second_file(url, tmp_path, recorder)
    cancelling = threading.Thread(target=job.cancel)
    cancelling.start()
    waiting = Client(url, verbose=False).submit([handle_file(str(clips[0]))], None, PARAKEET, ["txt"],
                                                api_name="/transcribe")
    deadline = time.monotonic() + 2.0  # does the waiting job reach the model while the held one has it?
    while recorder.started < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    recorder.release.set()
    cancelling.join(timeout=WAIT_S)
    text, *_ = waiting.result(timeout=WAIT_S)
    assert text and len(recorder.calls) == 3
    assert_one_at_a_time(recorder.calls)


# --- access --------------------------------------------------------------------------

def test_a_login_is_required_when_credentials_are_set(serve_studio, studio_settings, shared_cache, wav_file):
    import httpx

    _, url = serve_studio(studio_settings, shared_cache,
                          access=Access(host="127.0.0.1", credentials=[("ann", "secret")]))
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(url, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, auth=("ann", "wrong"), verbose=False)
    # Not only the client library: the API itself answers 401 without the login cookie.
    assert httpx.post(f"{url}gradio_api/call/transcribe", json={"data": [[], None, PARAKEET, ["txt"]]}).status_code \
        in (401, 403)
    assert httpx.get(f"{url}config").status_code in (401, 403)
    # Logged in, the same call is told what is wrong with it (the stranger above was told nothing of the inputs).
    with httpx.Client() as session:
        assert session.post(f"{url}login", data={"username": "ann", "password": "secret"}).status_code == 200
        answer = session.post(f"{url}gradio_api/call/transcribe", json={"data": [[]]})
        assert answer.status_code == 422 and "/transcribe takes" in answer.json()["error"], answer.text
        # the inputs /gradio_api/info lists with defaults may be left out
        answer = session.post(f"{url}gradio_api/call/transcribe", json={"data": [[], None, PARAKEET, ["txt"]]})
        assert answer.status_code == 200 and "event_id" in answer.json(), answer.text

    client = Client(url, auth=("ann", "secret"), verbose=False)
    text, _, downloads, _, message, _ = transcribe(client, [wav_file])
    assert text and "1 of 1 file(s) transcribed" in message and downloads


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    access.add_arguments(parser)
    return parser


def test_listen_and_share_need_a_login_and_auth_files_are_read(tmp_path):
    parse = _parser().parse_args
    for flags in (["--listen"], ["--share"], ["--listen", "--share"]):
        with pytest.raises(ConfigurationError, match="login is required"):
            access.from_args(parse(flags))
    private = access.from_args(parse([]))
    assert (private.host, private.share, private.credentials, private.warnings) == ("127.0.0.1", False, [], [])

    listening = access.from_args(parse(["--listen", "--auth", "ann:secret"]))
    assert listening.host == "0.0.0.0" and listening.credentials == [("ann", "secret")]
    assert listening.warnings and "every network interface" in listening.warnings[0]

    logins = tmp_path / "logins.txt"
    logins.write_text("# team\nann:secret\n\n  bob:pa:ss  \n", encoding="utf-8")
    shared = access.from_args(parse(["--share", "--auth-file", str(logins), "--auth", "cy:pw"]))
    assert shared.share and shared.host == "127.0.0.1"
    assert shared.credentials == [("cy", "pw"), ("ann", "secret"), ("bob", "pa:ss")]
    assert any("public share link" in w for w in shared.warnings)

    logins.write_text("ann:secret\nnobody\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="USER:PASSWORD"):
        access.from_args(parse(["--listen", "--auth-file", str(logins)]))
    with pytest.raises(ConfigurationError, match="cannot be read"):
        access.from_args(parse(["--listen", "--auth-file", str(tmp_path / "missing.txt")]))


# --- idle unloading ------------------------------------------------------------------

def _models(client) -> dict[str, str]:
    """The Models table's state column, read through an endpoint that loads nothing."""
    rows, _, status = client.predict(api_name="/unload_model_canary")
    return {row[0]: row[3] for row in rows["data"]}


def test_idle_models_unload_and_the_next_job_loads_again(serve_studio, studio_settings, wav_file):
    cache = ModelCache(studio_settings)
    _, url = serve_studio(studio_settings, cache)
    client = Client(url, verbose=False)
    transcribe(client, [wav_file])
    assert cache.load_count[PARAKEET] == 1 and _models(client)[label(PARAKEET)].startswith("loaded on cpu")

    cache.idle_unload_minutes = 5
    soon = time.monotonic() + 60
    assert cache.unload_idle(now=soon) == []  # used a moment ago
    assert cache.unload_idle(now=soon + 5 * 60) == [PARAKEET]
    assert _models(client)[label(PARAKEET)] == "not loaded"
    *_, status = transcribe(client, [wav_file])
    assert "Parakeet-TDT-0.6B-v2 was unloaded after 5 idle minutes" in status
    assert cache.load_count[PARAKEET] == 2 and cache.is_loaded(PARAKEET)

    rows, note, status = client.predict(api_name="/unload_model_parakeet")
    assert "unloaded" in note and not cache.is_loaded(PARAKEET)
    assert {row[0]: row[3] for row in rows["data"]}[label(PARAKEET)] == "not loaded"
    text, *_ = transcribe(client, [wav_file])
    assert text and cache.load_count[PARAKEET] == 3


# --- Ask Canary ----------------------------------------------------------------------

def test_ask_canary_through_the_api(serve_studio, studio_settings, shared_cache):
    _, url = serve_studio(studio_settings, shared_cache)
    client = Client(url, verbose=False)
    transcript = "We agreed to ship on Friday. Ann will write the release notes by Thursday."
    for answer, _ in (client.predict(transcript, api_name="/summarise"),
                      client.predict(transcript, api_name="/action_items"),
                      client.predict(transcript, "Who writes the notes?", api_name="/ask")):
        text, _, note = answer.partition("\n\n---\n")
        assert text.strip() and note == f"*{NOTE}*"
        assert "Generated by Canary-Qwen" in note
    assert shared_cache.is_loaded(CANARY)
    asked = client.submit(transcript, api_name="/summarise")
    final, _ = asked.result(timeout=WAIT_S * 4)
    first, _ = asked.outputs()[0]  # the answer area says at once that it is working
    assert first.startswith("*Asking Canary-Qwen-2.5B for a summary...") and "Generated by" in final

    answer, status = client.predict("", api_name="/summarise")
    assert answer.startswith("**No transcript to work from.**") and "**What to do:**" in answer
    assert "Generated by" not in answer and "Traceback" not in answer
    answer, _ = client.predict(transcript, "   ", api_name="/ask")
    assert answer.startswith("**No question.**")
