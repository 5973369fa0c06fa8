"""Jobs the app owns (app/jobs.py): the registry alone, then the served studio through gradio_client
and raw HTTP: an API cancel stops a long job and frees the model at once, a dropped connection does
not stop it, a second client of the same owner attaches, another login neither sees nor cancels it.

The long jobs are real transcriptions of minutes of speech-like audio with the tiny Parakeet."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file

from tests.media import speechlike, write_audio
from tests.test_app import transcribe
from transcribe_studio.app.access import Access
from transcribe_studio.app.jobs import JobRegistry, JobState
from transcribe_studio.errors import Cancelled
from transcribe_studio.media.decode import SAMPLE_RATE
from transcribe_studio.models import PARAKEET, nemo_asr

WAIT_S = 60
LONG_MINUTES = 4
PASS_SECONDS = 15.0  # the long file in 16 model passes...
PASS_EXTRA_S = 0.4   # ...each made this much slower, so its passes take several seconds in all


# --- the registry alone -----------------------------------------------------------

def steps(n: int, each_s: float = 0.05, log: list | None = None):
    """Work of ``n`` steps: reports progress before each, answers after each."""
    def work(progress):
        for i in range(n):
            progress(i / n, f"step {i + 1} of {n}")
            time.sleep(each_s)
            if log is not None:
                log.append(i)
            yield i
    return work


def test_jobs_run_one_at_a_time_in_order_and_submit_returns_at_once():
    registry, ran = JobRegistry(), []
    started = time.monotonic()
    jobs = [registry.submit(None, [f"f{i}"], PARAKEET, steps(3, log=ran)) for i in range(3)]
    assert time.monotonic() - started < 0.1
    assert [j.state for j in jobs[1:]] == [JobState.QUEUED] * 2 and jobs[2].progress().ahead == 2
    for job in jobs:
        assert job.wait(WAIT_S)
    assert [j.state for j in jobs] == [JobState.DONE] * 3 and ran == [0, 1, 2] * 3
    assert [j.results for j in jobs] == [[0, 1, 2]] * 3
    assert jobs[0].ended <= jobs[1].started and jobs[1].ended <= jobs[2].started


def test_a_cancelled_job_stops_at_its_next_step_and_a_queued_one_never_starts():
    registry, ran = JobRegistry(), []
    running = registry.submit("ann", ["long"], PARAKEET, steps(100, log=ran))
    queued = registry.submit("ann", ["next"], PARAKEET, steps(1, log=ran))
    while not ran:
        time.sleep(0.01)
    assert registry.cancel("ann", queued.id) == [queued]
    assert registry.cancel("ann", running.id) == [running]
    assert running.wait(1.0) and running.state is JobState.CANCELLED and len(ran) < 10
    assert queued.wait(1.0) and queued.state is JobState.CANCELLED and queued.results == []


def test_an_owner_sees_and_cancels_only_its_own_jobs():
    registry = JobRegistry()
    anns = registry.submit("ann", ["ann.wav"], PARAKEET, steps(20))
    assert registry.current("bob") is None and registry.active("bob") == []
    assert registry.get(anns.id, "bob") is None and registry.get(anns.id, None) is None
    assert registry.cancel("bob") == [] and registry.cancel("bob", anns.id) == []
    assert registry.cancel(None) == []  # no login is not every login
    assert registry.current("ann") is anns and registry.get(anns.id, "ann") is anns
    assert anns.wait(WAIT_S) and anns.state is JobState.DONE and not anns.cancel_requested


def test_a_failing_job_fails_alone_and_the_estimate_comes_from_measured_speed():
    registry = JobRegistry()

    def broken(progress):
        progress(0.5, "half")
        raise RuntimeError("boom")
        yield  # a generator

    failed = registry.submit(None, ["bad.wav"], PARAKEET, broken)
    slow = registry.submit(None, ["slow.wav"], PARAKEET, steps(10, each_s=0.3))
    assert failed.wait(WAIT_S) and failed.state is JobState.FAILED and failed.error is not None
    deadline = time.monotonic() + WAIT_S
    while slow.progress().remaining is None and time.monotonic() < deadline:
        time.sleep(0.05)
    report = slow.progress()
    total = report.elapsed + report.remaining  # ~3 s in all: 10 steps of 0.3 s
    assert report.state is JobState.RUNNING and 2.0 < total < 4.5, report
    assert slow.wait(WAIT_S) and slow.state is JobState.DONE


def test_cancelled_raised_before_any_answer_is_a_cancel_not_a_failure():
    registry = JobRegistry()
    gate = threading.Event()

    def work(progress):
        gate.wait(WAIT_S)
        progress(0.1, "after the gate")  # raises: cancel was asked meanwhile
        yield "never"

    job = registry.submit(None, ["x"], PARAKEET, work)
    registry.cancel(None)
    assert job.progress().cancelling
    gate.set()
    assert job.wait(WAIT_S) and job.state is JobState.CANCELLED and job.results == [] and job.error is None
    with pytest.raises(Cancelled):
        job.report(0.2, "late")


# --- the served studio --------------------------------------------------------------

@pytest.fixture(scope="module")
def long_wav(tmp_path_factory) -> Path:
    """Minutes of speech-like audio (30 s made once, repeated): the tiny Parakeet takes seconds on it."""
    half_minute = speechlike(30.0, seed=7)
    folder = tmp_path_factory.mktemp("long_speech")
    return write_audio(folder / "long-talk.wav", np.tile(half_minute, LONG_MINUTES * 2), SAMPLE_RATE)


@pytest.fixture(autouse=True)
def slow_passes(request, monkeypatch):
    """For the served-studio tests: short Parakeet passes, each a little slower (the real pass runs),
    so a long job spends seconds in its model passes, where only the job's flag can stop it."""
    if "serve_studio" not in request.fixturenames:
        return
    real = nemo_asr._one_pass_with_fallback

    def slower(model, samples):
        time.sleep(PASS_EXTRA_S)
        return real(model, samples)

    monkeypatch.setattr(nemo_asr, "_one_pass_with_fallback", slower)
    monkeypatch.setattr(nemo_asr, "CPU_PASS_SECONDS", PASS_SECONDS)


@pytest.fixture
def short_wav(tmp_path) -> Path:
    return write_audio(tmp_path / "short.wav", speechlike(2.0, seed=1), SAMPLE_RATE)


def running_job(app, owner=None, timeout=WAIT_S):
    """The owner's job once it is past decoding (a model pass has been reported)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = app.studio_jobs.current(owner)
        if job is not None and job.state is JobState.RUNNING and "part" in job.note:
            return job
        time.sleep(0.05)
    raise AssertionError("the long job never reached its model passes")


def sources(app, login: str | None = None) -> list[str]:
    return sorted(e.source for e in app.studio_histories.for_login(login).entries())


def test_an_api_cancel_stops_a_long_job_and_the_next_job_runs_at_once(serve_studio, studio_settings, shared_cache,
                                                                      long_wav, short_wav):
    app, url = serve_studio(studio_settings, shared_cache)
    long_job = Client(url, verbose=False).submit([handle_file(str(long_wav))], None, PARAKEET, ["txt"],
                                                 api_name="/transcribe")
    job = running_job(app)
    assert job.progress().remaining is None or job.progress().remaining > 3  # far from done
    assert job.fraction < 0.5
    long_job.cancel()
    cancelled_at = time.monotonic()
    text, *_, message, _ = transcribe(Client(url, verbose=False), [short_wav], formats=["txt"])
    took = time.monotonic() - cancelled_at
    assert text and "1 of 1 file(s) transcribed" in message
    assert took < 3.0, f"the next job took {took:.1f} s after the cancel"
    assert job.state is JobState.CANCELLED and job.fraction < 0.9
    assert sources(app) == ["short.wav"]  # nothing of the cancelled file
    assert sorted(p.name for p in app.studio_history.root.iterdir()) == [e.id for e in app.studio_history.entries()]


def _join_and_drop(url: str, files: list[Path], session: str, cookies=None) -> None:
    """Start /transcribe over raw HTTP, read its stream until the job runs, then drop the connection."""
    with httpx.Client(base_url=url, cookies=cookies, timeout=WAIT_S) as http:
        uploaded = http.post("gradio_api/upload", files=[("files", (f.name, f.read_bytes())) for f in files]).json()
        config = http.get("config").json()
        fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "transcribe")
        data = [[{"path": p, "meta": {"_type": "gradio.FileData"}, "orig_name": f.name}
                 for p, f in zip(uploaded, files)], None, PARAKEET, ["txt"], "", True, False]  # raw: every input
        joined = http.post("gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session})
        assert joined.status_code == 200, joined.text
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_generating":
                    return  # the job runs and streams progress: hang up


def test_a_dropped_connection_does_not_stop_the_job(serve_studio, studio_settings, shared_cache, long_wav):
    app, url = serve_studio(studio_settings, shared_cache)
    _join_and_drop(url, [long_wav], "dropped-session")
    job = running_job(app)
    assert job.wait(WAIT_S * 3), "the job did not finish"
    assert job.state is JobState.DONE and not job.cancel_requested
    assert sources(app) == ["long-talk.wav"]


def test_a_second_client_of_the_same_owner_attaches_and_sees_progress(serve_studio, studio_settings, shared_cache,
                                                                      long_wav):
    app, url = serve_studio(studio_settings, shared_cache)
    Client(url, verbose=False).submit([handle_file(str(long_wav))], None, PARAKEET, ["txt"], api_name="/transcribe")
    job = running_job(app)
    watcher = Client(url, verbose=False).submit(api_name="/current_job")  # a reloaded page does this on load
    text, segments, downloads, files, message, status = watcher.result(timeout=WAIT_S * 3)
    assert job.state is JobState.DONE and "1 of 1 file(s) transcribed" in message and text
    progress = [out[4] for out in watcher.outputs()[:-1] if out and isinstance(out[4], str)]
    assert any(m.startswith("**Working**") and "long-talk.wav" in m for m in progress), progress


def test_another_login_neither_sees_nor_cancels_a_job(serve_studio, studio_settings, shared_cache, long_wav):
    logins = Access(host="127.0.0.1", credentials=[("ann", "secret"), ("bob", "hunter2")])
    app, url = serve_studio(studio_settings, shared_cache, access=logins)
    ann, bob = Client(url, auth=("ann", "secret"), verbose=False), Client(url, auth=("bob", "hunter2"), verbose=False)
    ann.submit([handle_file(str(long_wav))], None, PARAKEET, ["txt"], api_name="/transcribe")
    job = running_job(app, owner="ann")
    assert job.owner == "ann" and app.studio_jobs.current("bob") is None
    text, *_, message, _ = bob.predict(api_name="/current_job")  # nothing of bob's runs: empty at once
    assert (text, message) == ("", "")
    assert bob.predict(api_name="/cancel") == "Nothing of yours is running to cancel."
    assert job.wait(WAIT_S * 3) and job.state is JobState.DONE and not job.cancel_requested
    assert sources(app, "ann") == ["long-talk.wav"] and sources(app, "bob") == []


def test_the_pages_cancel_is_answered_while_every_queue_worker_is_busy(serve_studio, studio_settings, shared_cache,
                                                                       long_wav):
    """Each page watching a job holds one of Gradio's queue workers until the job ends (40 by default:
    40 open pages or API watchers), so the page's Cancel must not be a queued event: it would wait for
    the job it should stop. Here the queue has two workers, both held: the job's own watcher and a
    second page attached to it."""
    app, url = serve_studio(studio_settings, shared_cache, max_threads=2)
    Client(url, verbose=False).submit([handle_file(str(long_wav))], None, PARAKEET, ["txt"], api_name="/transcribe")
    job = running_job(app)
    Client(url, verbose=False).submit(api_name="/current_job")
    time.sleep(1.0)  # the second watcher is attached: both workers are held
    assert press_as_the_page_does(app, url, "cancel", [None]).startswith("**Cancelling")
    assert job.wait(WAIT_S) and job.state is JobState.CANCELLED


def press_as_the_page_does(app, url: str, api_name: str, data: list):
    """Send an event's request as Gradio's page does: a queued event joins the queue (as gradio_client
    does), one with ``queue=False`` is posted straight to ``/run/predict``. Its first output."""
    fn = next(fn for fn in app.fns.values() if fn.api_name == api_name)
    if fn.queue:
        return Client(url, verbose=False).predict(*data[1:], api_name=f"/{api_name}")  # State inputs: not in the API
    answer = httpx.post(f"{url}gradio_api/run/predict", timeout=WAIT_S,
                        json={"data": data, "fn_index": fn._id, "session_hash": "page-session"})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"][0]


def test_cancel_after_the_pages_job_finished_keeps_its_summary():
    from transcribe_studio.app import handlers

    registry = JobRegistry()
    job = registry.submit(None, ["talk.wav"], PARAKEET, steps(1))
    assert job.wait(WAIT_S)
    job.result = handlers.api.Transcription(message="1 of 1 file(s) transcribed (1 s).")
    page = handlers.Handlers(None, None, registry)
    # the summary stays, the answer under it
    assert page.cancel({"job": job.id}) == f"1 of 1 file(s) transcribed (1 s).\n\n{handlers.NOTHING_TO_CANCEL}"
    assert page.cancel(None) == handlers.NOTHING_TO_CANCEL  # an API caller (no page state) gets the text


def _queued_event(app, owner: str):
    """The Gradio queue event of ``owner``'s running ``/transcribe``: what a raw ``/cancel`` names."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for event_id, event in list(app._queue.event_ids_to_events.items()):
            if event.username == owner and event.fn.api_name == "transcribe":
                return {"session_hash": event.session_hash, "fn_index": event.fn._id, "event_id": event_id}
        time.sleep(0.05)
    raise AssertionError(f"no running event of {owner}'s")


def _logged_in(url: str, login: str, password: str) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=WAIT_S)
    assert http.post("login", data={"username": login, "password": password}).status_code == 200
    return http


def test_a_raw_cancel_needs_the_jobs_own_login_and_never_runs_the_job_again(serve_studio, studio_settings,
                                                                           shared_cache, long_wav):
    logins = Access(host="127.0.0.1", credentials=[("ann", "secret"), ("bob", "hunter2")])
    app, url = serve_studio(studio_settings, shared_cache, access=logins)
    Client(url, auth=("ann", "secret"), verbose=False).submit([handle_file(str(long_wav))], None, PARAKEET, ["txt"],
                                                               api_name="/transcribe")
    job = running_job(app, owner="ann")
    cancel = _queued_event(app, "ann")
    assert httpx.post(url + "gradio_api/cancel", json=cancel).status_code in (401, 403)  # no login
    assert _logged_in(url, "bob", "hunter2").post("gradio_api/cancel", json=cancel).status_code == 403
    time.sleep(0.5)
    assert job.state is JobState.RUNNING and not job.cancel_requested

    assert _logged_in(url, "ann", "secret").post("gradio_api/cancel", json=cancel).status_code == 200
    assert job.wait(WAIT_S) and job.state is JobState.CANCELLED
    time.sleep(2.0)  # long enough for Gradio to have started the handler again, had it
    assert app.studio_jobs.current("ann") is None
    assert app.studio_histories.for_login("ann").entries() == []


def test_a_raw_cancel_from_another_page_session_neither_stops_nor_restarts_the_job(serve_studio, studio_settings,
                                                                                   shared_cache, long_wav):
    app, url = serve_studio(studio_settings, shared_cache)
    Client(url, verbose=False).submit([handle_file(str(long_wav))], None, PARAKEET, ["txt"], api_name="/transcribe")
    job = running_job(app)
    cancel = {**_queued_event(app, None), "session_hash": "another-page"}
    assert httpx.post(url + "gradio_api/cancel", json=cancel).status_code == 403
    assert job.wait(WAIT_S * 3) and job.state is JobState.DONE and not job.cancel_requested
    time.sleep(1.0)
    assert app.studio_jobs.current(None) is None and sources(app) == ["long-talk.wav"]


def test_progress_follows_the_work_never_goes_back_and_has_an_estimate_from_the_start(serve_studio, studio_settings,
                                                                                    shared_cache, long_wav):
    app, url = serve_studio(studio_settings, shared_cache)
    Client(url, verbose=False).submit([handle_file(str(long_wav))], None, PARAKEET, ["txt"], api_name="/transcribe")
    while (job := app.studio_jobs.current(None)) is None:
        time.sleep(0.01)
    reports = []
    while not job.wait(0.05):
        report = job.progress()
        if report.state is JobState.RUNNING:
            reports.append((report.fraction, report.remaining))
    assert job.state is JobState.DONE and job.progress().fraction == 1.0
    fractions = [fraction for fraction, _ in reports]
    assert fractions == sorted(fractions) and max(fractions) < 1.0  # 100 % only once done
    assert all(remaining is not None and remaining >= 1.0 for fraction, remaining in reports if fraction > 0)
    assert sum(remaining is None for _, remaining in reports) <= 1  # the estimate is there from the start


def test_a_files_progress_is_split_by_what_each_stage_costs(shared_cache):
    from transcribe_studio.models import CANARY
    from transcribe_studio.progress import staged
    from transcribe_studio.transcription.costs import job_costs
    from transcribe_studio.transcription.engine import Options

    costs = job_costs(shared_cache, CANARY, Options(word_timings=True, speakers=True))
    shares = costs.shares()
    assert list(shares) == ["decode", "passes", "timing", "speakers"] and sum(shares.values()) == pytest.approx(1)
    assert shares["passes"] > shares["timing"] > shares["decode"]  # on the CPU: Canary-Qwen slowest by far
    assert costs.seconds(60.0) > costs.seconds(30.0) > 0
    seen = []
    stage = staged(lambda fraction, note: seen.append(round(fraction, 6)), shares)
    stage("decode")(1.0, "decoded")
    stage("passes")(0.5, "half")
    stage("speakers")(1.0, "done")
    stage("unknown")(0.7, "just a note")
    assert seen == [round(shares["decode"], 6), round(shares["decode"] + shares["passes"] / 2, 6), 1.0, 0.0]
