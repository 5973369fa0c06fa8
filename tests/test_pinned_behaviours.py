"""Behaviours no other test pinned down, each with the tiny real models (NeMo is never mocked; a model's load or
transcribe is at most wrapped to count, record or slow down the real call):

* a model loaded by the Models tab's Load (or the startup preload) while a job asks for it loads once;
* under ``--listen`` the Host allow-list takes this machine's names and loopback, and refuses foreign names;
* ``--max-file-mb`` fails a file over the limit in a real CLI run, and the files under it still succeed;
* Canary-Qwen's words past its first window get the times of the Parakeet words in their own window;
* a launched app's idle-unload thread unloads a model by itself.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.media import room_tone, speechlike, write_audio
from transcribe_studio.app import api, startup
from transcribe_studio.app.access import Access
from transcribe_studio.media.decode import SAMPLE_RATE
from transcribe_studio.models import CANARY, PARAKEET, ModelCache, get
from transcribe_studio.models.canary import QWEN_REPO, QWEN_REVISION
from transcribe_studio.transcription import engine
from transcribe_studio.transcription.merge import transcript_of

WAIT_S = 30


# --- (a) one load when the Models tab's Load (or the preload) and a job ask for the same model at once -----------

@pytest.fixture
def slow_counted_parakeet(registered):
    """Parakeet's spec with its real loader wrapped: each call is counted, says it started, and takes half a second
    longer, so that a second request arrives while the first is loading."""

    class Loads:
        count = 0
        started = threading.Event()

    real = get(PARAKEET)

    def counting_loader(settings, device):
        Loads.count += 1
        Loads.started.set()
        time.sleep(0.5)
        return real.load(settings, device)

    registered(dataclasses.replace(real, load=counting_loader))
    return Loads


def _job(cache: ModelCache, models: list) -> None:
    """What a transcription job does first: take the model through ``use``, the one way in for a job."""
    with cache.use(PARAKEET) as model:
        models.append(model)


@pytest.mark.parametrize("first", ["load", "job"])
def test_a_load_and_a_job_at_the_same_time_load_the_model_once(settings, slow_counted_parakeet, first):
    cache = ModelCache(settings)
    models: list = []
    if first == "load":  # the app's startup preload (cache.load on its own thread), then a job meanwhile
        loading = startup.preload(cache, PARAKEET)
        assert loading is not None and slow_counted_parakeet.started.wait(WAIT_S)
        _job(cache, models)
        loading.join(WAIT_S)
    else:  # a job is loading the model when the user presses the Models tab's Load
        job = threading.Thread(target=_job, args=(cache, models))
        job.start()
        assert slow_counted_parakeet.started.wait(WAIT_S)
        rows, note, _ = api.load_model(cache, PARAKEET)
        assert "is loaded" in note, note
        job.join(WAIT_S)
        assert not job.is_alive()
    assert slow_counted_parakeet.count == 1 and cache.load_count[PARAKEET] == 1
    assert len(models) == 1 and models[0] is cache._entries[PARAKEET].model  # the job got the one loaded copy


# --- (b) the Host allow-list under --listen ---------------------------------------------------------------------

def test_under_listen_this_machines_names_are_served_and_foreign_hosts_refused(serve_studio, studio_settings):
    # --listen's allow-list, served on 127.0.0.1 all the same: the Host check does not depend on the address the
    # socket listens on, and a test must not open the studio to the network.
    listening = Access(host="127.0.0.1", listen=True, allowed_hosts=["studio.lan"], credentials=[("ann", "secret")])
    _, url = serve_studio(studio_settings, access=listening)
    port = int(url.rsplit(":", 1)[1].strip("/"))
    own = socket.gethostname().lower() or "nameless"
    by_name = [f"{own}:{port}", own] if own not in ("localhost", "nameless") else []  # this machine's own name
    login = {"username": "ann", "password": "secret"}
    for host in (*by_name, f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"studio.lan:{port}",
                 f"Studio.LAN:{port}"):
        with httpx.Client(headers={"Host": host}) as client:
            assert client.get(url + "config").status_code == 401, host  # past the Host check: asked to log in
            answer = client.post(url + "login", data=login)
            assert answer.status_code == 200, (host, answer.status_code, answer.text[:200])
            assert client.get(url + "config").status_code == 200, host
    for host in (f"rebind.attacker.example:{port}", "rebind.attacker.example", f"{own}.attacker.example:{port}",
                 f"127.0.0.1.attacker.example:{port}", f"lan:{port}"):
        answer = httpx.get(url + "config", headers={"Host": host})
        assert answer.status_code == 400 and "Invalid host" in answer.text, host
        answer = httpx.post(url + "login", headers={"Host": host}, data=login)
        assert answer.status_code == 400 and "Invalid host" in answer.text, host  # refused before the login


# --- (c) --max-file-mb in a real CLI run ---------------------------------------------------------------------

def test_the_cli_fails_a_file_over_max_file_mb_and_transcribes_the_one_under_it(tmp_path, tiny_parakeet, capsys):
    from transcribe_studio.commands import cli

    big = write_audio(tmp_path / "long meeting.wav", speechlike(2.0, seed=1), SAMPLE_RATE)  # 64 KB
    small = write_audio(tmp_path / "memo.wav", speechlike(0.25, seed=2), SAMPLE_RATE)  # 8 KB
    assert big.stat().st_size > 10_000 > small.stat().st_size
    out = tmp_path / "out"
    status = cli.main([str(big), str(small), "--model", "parakeet", "--max-file-mb", "0.01", "--output-dir", str(out),
                       "--format", "txt", "--device", "cpu", "--parakeet-nemo", str(tiny_parakeet)])
    printed = capsys.readouterr()
    assert status == 1, printed.err
    [failure] = [line for line in printed.err.splitlines() if "FAILED" in line]
    assert str(big) in failure and "too large" in failure.lower(), failure
    assert "limit of 10.0 kB" in failure, failure  # the limit is named
    assert "1 of 2 file(s) transcribed" in printed.err and "Traceback" not in printed.err
    assert f"== {small} ==" in printed.out and f"== {big} ==" not in printed.out
    assert sorted(p.name for p in out.iterdir()) == ["memo.txt"]


# --- (d) Canary-Qwen's word times past its first window ----------------------------------------------------------

def _respell_token_zero(hub: Path, token: str) -> None:
    """Make the tiny Canary's text words: its LLM's logits are all equal, so greedy decoding emits token 0 ("!")
    every step, one long "word" a window. Swapping ids 0 and ``token``'s in the cached Qwen tokenizer (the files
    Canary's load copies beside its checkpoint) makes the same real generation spell ``token`` over and over."""
    from huggingface_hub.file_download import repo_folder_name

    snapshot = hub / repo_folder_name(repo_id=QWEN_REPO, repo_type="model") / "snapshots" / QWEN_REVISION
    for name in ("vocab.json", "tokenizer.json"):
        path = snapshot / name
        data = json.loads(path.read_text(encoding="utf-8"))
        vocab = data if name == "vocab.json" else data["model"]["vocab"]
        zero = next(t for t, i in vocab.items() if i == 0)
        vocab[zero], vocab[token] = vocab[token], 0
        path.unlink()  # a symlink into this test's copy of the blobs: replaced by the file itself
        path.write_text(json.dumps(data), encoding="utf-8")


def test_canary_words_past_the_first_window_take_the_times_heard_in_their_own_window(settings, registered):
    _respell_token_zero(settings.hf_cache_dir, "Ġwe")  # " we": Parakeet's tiny model says "we see a man and you."
    heard = {}

    def recording(key):
        real = get(key).transcribe

        def call(model, audio, windows, *args, **kwargs):
            # kept as heard, merged as the engine merges them: the retiming gives Canary's transcript new
            # segments and words afterwards
            stretches = list(real(model, audio, windows, *args, **kwargs))
            heard[key] = transcript_of(stretches, len(audio) / SAMPLE_RATE)
            return iter(stretches)
        return call

    for key in (CANARY, PARAKEET):
        registered(dataclasses.replace(get(key), transcribe=recording(key)))
    cache = ModelCache(dataclasses.replace(settings, canary_window_seconds=4.0))
    audio = np.concatenate([part for i in range(3) for part in (speechlike(3.5, seed=i), room_tone(0.5, seed=i))])
    transcript = engine.transcribe(cache, CANARY, audio)

    windows = heard[CANARY].segments  # Canary's text, one segment per window
    assert len(windows) >= 3 and windows[1].start >= 3.0, windows
    assert all(set(w.text.split()) == {"we"} for w in windows), [w.text[:40] for w in windows]
    assert " ".join(w.text for w in transcript.words) == " ".join(w.text for w in windows)
    words = iter(transcript.words)
    checked = 0
    for index, window in enumerate(windows):
        own = [next(words) for _ in window.text.split()]
        assert all(window.start <= w.start <= w.end <= window.end for w in own), index
        if index == 0:
            continue
        timer = [time for t in heard[PARAKEET].words if window.start <= (t.start + t.end) / 2 <= window.end
                 for time in (max(t.start, window.start), min(t.end, window.end))]
        timed = [time for w in own if not w.estimated for time in (w.start, w.end)]
        if len(timer) < 6:
            continue  # a short last window: too few words to tell spread from collapsed
        checked += 1
        # Every Parakeet word of the window gave its times to one of Canary's words, unshifted: spread over the
        # window as heard, not piled up at its end (which an extra shift by the window's start would do).
        assert timed == pytest.approx(timer), (index, window, timed[:5], timer[:5])
        starts, ends = timed[0::2], timed[1::2]
        assert max(starts) - min(starts) >= 0.5 * (window.end - window.start), (index, starts)
        assert sum(end >= window.end - 1e-6 for end in ends) <= 1, (index, ends)
    assert checked >= 2, windows


# --- (e) the launched app's idle-unload thread ------------------------------------------------------------------

def test_the_launched_apps_idle_thread_unloads_an_idle_model_by_itself(serve_studio, settings, monkeypatch):
    real_watch = ModelCache.watch_idle
    started = []

    def watch_often(self, interval_s=30.0):  # the real thread, waking every 0.1 s instead of every 30 s
        started.append(self)
        return real_watch(self, interval_s=0.1)

    monkeypatch.setattr(ModelCache, "watch_idle", watch_often)
    idle = dataclasses.replace(settings, idle_unload_minutes=0.01)  # 0.6 s
    cache = ModelCache(idle.validate())
    serve_studio(idle, cache)
    assert started == [cache]  # launch started the watcher on the app's own cache
    try:
        cache.load(PARAKEET)
        assert cache.is_loaded(PARAKEET)
        deadline = time.monotonic() + 10
        while not cache.notices and time.monotonic() < deadline:  # the notice comes once the memory is given back
            time.sleep(0.05)
        assert not cache.is_loaded(PARAKEET), "the idle thread never unloaded the idle model"
        assert list(cache.notices) == ["Parakeet-TDT-0.6B-v2 was unloaded after 0.01 idle minutes."]
    finally:
        cache.idle_unload_minutes = 0  # the thread lives on (a daemon): make its later wake-ups do nothing
