"""Both loaders and the cache, on tiny real NeMo models, through the app's own code paths."""

import dataclasses
import threading
import time

import pytest

from tests.conftest import loaded
from transcribe_studio.errors import ModelFileError, NeedsNetworkError, StudioError
from transcribe_studio.media.decode import decode_audio
from transcribe_studio.models import (
    CANARY,
    PARAKEET,
    ModelCache,
    ModelState,
    get,
    hub_cache,
)
from transcribe_studio.models.nemo_asr import check_nemo_file
from transcribe_studio.models.spec import label
from transcribe_studio.settings import Settings
from transcribe_studio.transcription import engine

# --- Parakeet ---------------------------------------------------------------

def test_parakeet_restores_the_nemo_file_and_gives_word_timestamps(settings, wav_file):
    cache = ModelCache(settings)
    transcript = engine.transcribe(cache, PARAKEET, decode_audio(wav_file))
    assert type(loaded(cache, PARAKEET)).__name__ == "EncDecRNNTBPEModel"
    assert transcript.text and transcript.model == "Parakeet-TDT-0.6B-v2"
    assert abs(transcript.duration - 3.0) < 0.01
    assert transcript.words and transcript.segments
    for item in transcript.words + transcript.segments:
        assert 0.0 <= item.start <= item.end <= transcript.duration
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)
    assert cache.status(PARAKEET).state is ModelState.LOADED and cache.load_count[PARAKEET] == 1


def _broken_copies(tiny_parakeet, tmp_path):
    data = tiny_parakeet.read_bytes()
    empty, truncated, garbage = tmp_path / "empty.nemo", tmp_path / "truncated.nemo", tmp_path / "garbage.nemo"
    empty.write_bytes(b"")
    truncated.write_bytes(data[: len(data) // 2])
    garbage.write_bytes(b"<html>404 Not Found</html>" * 50)
    return {"missing": tmp_path / "nowhere.nemo", "empty": empty, "truncated": truncated, "garbage": garbage}


@pytest.mark.parametrize("case", ["missing", "empty", "truncated", "garbage"])
def test_a_broken_parakeet_file_is_named_with_the_setup_command(case, tiny_parakeet, tmp_path):
    path = _broken_copies(tiny_parakeet, tmp_path)[case]
    with pytest.raises(ModelFileError) as caught:
        check_nemo_file(path)
    message = caught.value.user_message()
    assert str(path) in message and "python setup_local_models.py" in message


def test_a_failed_load_is_classified_and_a_repaired_file_then_loads(tiny_parakeet, tmp_path):
    path = tmp_path / "parakeet.nemo"
    path.write_bytes(tiny_parakeet.read_bytes()[:5000])
    cache = ModelCache(Settings(parakeet_path=path, device="cpu"))
    with pytest.raises(ModelFileError):
        loaded(cache, PARAKEET)
    status = cache.status(PARAKEET)
    assert status.state is ModelState.FAILED and status.error.kind == "model_file"
    assert "failed" in status.describe()
    path.write_bytes(tiny_parakeet.read_bytes())
    assert loaded(cache, PARAKEET) is not None and cache.status(PARAKEET).state is ModelState.LOADED


# --- the cache --------------------------------------------------------------

def test_two_simultaneous_first_requests_load_the_model_once(settings, registered):
    real = get(PARAKEET)

    def slow_real_loader(s, device):
        time.sleep(0.5)  # widen the window in which a second request arrives
        return real.load(s, device)

    registered(dataclasses.replace(real, load=slow_real_loader))
    cache = ModelCache(settings)
    barrier = threading.Barrier(2)
    results = []

    def request():
        barrier.wait()
        results.append(loaded(cache, PARAKEET))

    threads = [threading.Thread(target=request) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    assert cache.status(PARAKEET).state is ModelState.LOADING
    for t in threads:
        t.join()
    assert results[0] is results[1]
    assert cache.load_count[PARAKEET] == 1


def test_unload_frees_the_model_and_the_next_request_loads_again(settings):
    cache = ModelCache(settings)
    first = loaded(cache, PARAKEET)
    assert loaded(cache, PARAKEET) is first and cache.load_count[PARAKEET] == 1
    cache.unload(PARAKEET)
    assert not cache.is_loaded(PARAKEET) and cache.status(PARAKEET).state is ModelState.NOT_LOADED
    assert loaded(cache, PARAKEET) is not first and cache.load_count[PARAKEET] == 2


def test_the_models_tab_says_a_model_that_was_not_loaded_had_nothing_to_unload(serve_studio, studio_settings):
    """Through the served app, as the Models tab's buttons call it."""
    from gradio_client import Client

    cache = ModelCache(studio_settings)
    _, url = serve_studio(studio_settings, cache)
    client = Client(url, verbose=False)
    _, note, _ = client.predict(api_name="/unload_model_parakeet")
    assert note == f"{label(PARAKEET)} was not loaded: there was nothing to unload.", note
    _, note, _ = client.predict(api_name="/load_model_parakeet")
    assert note == f"{label(PARAKEET)} is loaded." and cache.is_loaded(PARAKEET)
    rows, note, _ = client.predict(api_name="/unload_model_parakeet")
    assert note == f"{label(PARAKEET)} was unloaded; its memory is free." and not cache.is_loaded(PARAKEET)
    assert {row[0]: row[3] for row in rows["data"]}[label(PARAKEET)] == "not loaded"
    _, note, _ = client.predict(api_name="/unload_model_parakeet")
    assert "was not loaded" in note


# --- Canary -----------------------------------------------------------------

def test_canary_loads_with_salm_from_pretrained_at_the_pinned_commit_offline(settings, wav_file):
    from nemo.collections.speechlm2.models import SALM
    from peft import PeftModel

    cache = ModelCache(settings)
    transcript = engine.transcribe(cache, CANARY, decode_audio(wav_file))
    model = loaded(cache, CANARY)
    assert isinstance(model, SALM) and isinstance(model.llm, PeftModel)
    assert transcript.text and transcript.segments and transcript.model == "Canary-Qwen-2.5B"
    # The pin works through NeMo's redirect to files beside the checkpoint, not Qwen's `main`.
    snapshot = hub_cache.canary_snapshot(settings)
    assert model.cfg.tokenizer_path == str(snapshot)
    assert model.cfg.pretrained_llm == str(snapshot / "llm_backbone")


def test_canary_missing_a_file_while_offline_needs_the_network_once(settings):
    (hub_cache.canary_snapshot(settings) / "model.safetensors").unlink()
    cache = ModelCache(settings)
    with pytest.raises(NeedsNetworkError) as caught:
        loaded(cache, CANARY)
    assert caught.value.kind == "needs_network_once"
    assert "model.safetensors" in caught.value.message and "setup_local_models.py" in caught.value.next_steps
    assert cache.status(CANARY).state is ModelState.FAILED


def test_a_qwen_commit_that_is_not_cached_is_not_replaced_by_another(settings):
    cache = ModelCache(Settings(parakeet_path=settings.parakeet_path, hf_cache_dir=settings.hf_cache_dir,
                                qwen_revision="c" * 40, device="cpu"))
    with pytest.raises(NeedsNetworkError, match="Qwen"):
        loaded(cache, CANARY)


# --- memory management --------------------------------------------------------

def test_idle_models_are_unloaded_but_busy_ones_are_not(settings):
    cache = ModelCache(dataclasses.replace(settings, idle_unload_minutes=1.0))
    with cache.use(PARAKEET):
        later = time.monotonic() + 3600
        assert cache.unload_idle(now=later) == []  # busy: kept
        assert cache.is_busy(PARAKEET)
        with pytest.raises(StudioError, match="busy"):
            cache.unload(PARAKEET)
    assert cache.unload_idle(now=time.monotonic() + 30) == []  # not idle long enough
    assert cache.unload_idle(now=time.monotonic() + 61) == [PARAKEET]
    assert not cache.is_loaded(PARAKEET) and "after 1 idle minute." in cache.notices[-1]


def test_idle_unloading_is_off_by_default(settings):
    cache = ModelCache(settings)
    loaded(cache, PARAKEET)
    assert cache.unload_idle(now=time.monotonic() + 10**6) == [] and cache.is_loaded(PARAKEET)


def test_a_model_that_does_not_fit_on_the_gpu_unloads_the_other_first(settings):
    import torch

    free = {"bytes": 10**12}
    cache = ModelCache(settings, free_gpu_bytes=lambda device: free["bytes"])
    loaded(cache, PARAKEET)
    cache._make_room(CANARY, torch.device("cuda"))  # plenty of room: nothing happens
    assert cache.is_loaded(PARAKEET) and not cache.notices
    free["bytes"] = 10**9
    cache._make_room(CANARY, torch.device("cuda"))
    assert not cache.is_loaded(PARAKEET)
    assert "Parakeet-TDT-0.6B-v2 was unloaded to make room on the GPU for Canary-Qwen-2.5B" in cache.notices[-1]
    loaded(cache, PARAKEET)
    cache._make_room(CANARY, torch.device("cpu"))  # the CPU never triggers it, however full the GPU
    assert cache.is_loaded(PARAKEET) and len(cache.notices) == 1
    with cache.use(PARAKEET):  # nor is a model unloaded while a job uses it
        cache._make_room(CANARY, torch.device("cuda"))
        assert cache.is_loaded(PARAKEET) and len(cache.notices) == 1


def test_model_rows_describe_source_disk_and_memory(settings):
    from transcribe_studio.app.model_table import rows

    cache = ModelCache(settings)
    loaded(cache, PARAKEET)
    parakeet, canary, parakeet_v3, canary_v2, diarizer = rows(cache)
    for optional, label in ((parakeet_v3, "Parakeet-TDT-0.6B-v3"), (canary_v2, "Canary-1B-v2")):
        assert optional[0] == label and optional[2] == "missing (optional)"
        assert optional[3].startswith("unavailable: file missing")
    assert parakeet[0] == "Parakeet-TDT-0.6B-v2" and str(settings.parakeet_path) in parakeet[1]
    assert parakeet[2].startswith("present") and parakeet[3].startswith("loaded on cpu") and "MB" in parakeet[4]
    assert settings.canary_revision[:12] in canary[1] and canary[2].startswith("cached") and canary[4] == "-"
    assert str(settings.diarizer_path) in diarizer[1] and diarizer[3].startswith("unavailable: file missing")
    (hub_cache.canary_snapshot(settings) / "model.safetensors").unlink()
    assert rows(cache)[1][2].startswith("not cached (1 of 7 files missing")
