"""Safe on the user's card, checked on the CPU: the budget, the pass planner, the out-of-memory retry,
precision by capability, the decoder fallback and the CPU-torch notice.

The GPU itself is never faked: budgets and capabilities are injected into the planning functions,
and faults are injected once into real runs of the tiny Parakeet.
"""

import dataclasses

import numpy as np
import pytest
import torch

from tests.conftest import loaded
from tests.media import room_tone, speechlike
from transcribe_studio.classify import report
from transcribe_studio.errors import GPUFailedError, GPUOutOfMemoryError
from transcribe_studio.models import PARAKEET, ModelCache, gpu
from transcribe_studio.settings import Settings
from transcribe_studio.transcription import engine

GB = 1_000_000_000
RATE = 16000


# --- the budget and the planner -------------------------------------------------------------------

def test_the_budget_is_what_is_free_unless_gpu_memory_gb_caps_it():
    device = torch.device("cuda:0")
    free = lambda d: 20 * GB  # noqa: E731
    assert gpu.budget_bytes(Settings(), device, free) == 20 * GB
    capped = Settings(gpu_memory_gb=8)
    assert gpu.budget_bytes(capped, device, free, reserved=2 * GB) == 6 * GB  # the app already holds 2 GB
    assert gpu.budget_bytes(capped, device, lambda d: 3 * GB, reserved=0) == 3 * GB  # never more than is free
    assert gpu.budget_bytes(capped, device, free, reserved=9 * GB) == 0


@pytest.mark.parametrize("budget_gb, minutes", [(8, (6, 10)), (12, (8, 12)), (24, (12, 18))])
def test_passes_follow_the_card(budget_gb, minutes):
    seconds = gpu.pass_seconds_for(budget_gb * GB, "bf16", gpu.MAX_GPU_PASS_SECONDS)
    assert minutes[0] * 60 <= seconds <= minutes[1] * 60
    # the attention of the planned pass fits the budget with the headroom kept
    frames = seconds * gpu.FRAMES_PER_SECOND
    assert gpu.ATTENTION_BYTES_PER_FRAME2["bf16"] * frames ** 2 <= gpu.PASS_HEADROOM * budget_gb * GB * 1.0001
    assert gpu.pass_seconds_for(budget_gb * GB, "fp32", gpu.MAX_GPU_PASS_SECONDS) < seconds


def test_passes_stay_within_the_maximum_and_the_floor():
    assert gpu.pass_seconds_for(200 * GB, "bf16", 300.0) == 300.0
    assert gpu.pass_seconds_for(0, "bf16", gpu.MAX_GPU_PASS_SECONDS) == gpu.MIN_PASS_SECONDS


# --- precision ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("capability, expected", [((7, 5), "fp32"), ((7, 0), "fp32"), ((8, 0), "bf16"),
                                                   ((8, 6), "bf16"), ((9, 0), "bf16")])
def test_bf16_only_where_the_card_has_it(capability, expected):
    precision, why = gpu.choose_precision(torch.device("cuda:1"), capability)
    assert precision == expected and f"{capability[0]}.{capability[1]}" in why


def test_the_cpu_runs_fp32_and_the_models_tab_says_so(settings):
    assert gpu.choose_precision(torch.device("cpu")) == ("fp32", "on the CPU")
    cache = ModelCache(settings)
    loaded(cache, PARAKEET)
    assert cache.status(PARAKEET).describe().endswith("fp32 (on the CPU)")


# --- out of memory: retry at half the length ----------------------------------------------------------

def _long_speech(seconds_each=(20, 18, 22, 17), pause=0.8):
    parts = []
    for i, length in enumerate(seconds_each):
        parts += [speechlike(length, seed=i), room_tone(pause, seed=i)]
    return np.concatenate(parts).astype(np.float32)


def _watch_transcribe(model, fail_on: set[int], error=lambda: torch.OutOfMemoryError("CUDA out of memory.")):
    """Wrap the real ``model.transcribe`` (calling through); record each call's seconds; raise on the given calls."""
    real, calls = model.transcribe, []

    def watched(audio, *args, **kwargs):
        calls.append(len(audio[0]) / RATE)
        if len(calls) in fail_on:
            raise error()
        return real(audio, *args, **kwargs)

    model.transcribe = watched
    return calls


def test_an_out_of_memory_pass_is_retried_at_half_the_length_and_said_once(settings):
    cache = ModelCache(dataclasses.replace(settings, parakeet_pass_seconds=60.0))
    model = loaded(cache, PARAKEET)
    calls = _watch_transcribe(model, fail_on={1})
    try:
        audio = _long_speech()
        transcript = engine.transcribe(cache, PARAKEET, audio)
    finally:
        del model.transcribe
    assert calls[0] > 2 * gpu.MIN_PASS_SECONDS
    halves, covered = [], 0.0
    for seconds in calls[1:]:  # the failed pass again, in parts of at most half its length
        if covered >= calls[0] - 0.5:
            break
        halves.append(seconds)
        covered += seconds
    assert len(halves) >= 2 and all(h <= calls[0] / 2 + 1e-6 for h in halves)
    assert sum(calls[1:]) >= len(audio) / RATE - 2.0  # nothing lost: the parts cover the failed pass and the rest
    assert len(transcript.notes) == 1 and "--parakeet-pass-seconds" in transcript.notes[0]
    assert model.cfg.decoding.greedy.use_cuda_graph_decoder is False  # no CUDA graphs after running out
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts) and transcript.words[-1].end > 60


def test_running_out_even_on_short_passes_names_both_settings(settings):
    cache = ModelCache(dataclasses.replace(settings, parakeet_pass_seconds=60.0))
    model = loaded(cache, PARAKEET)
    calls = _watch_transcribe(model, fail_on=set(range(1, 100)))
    try:
        with pytest.raises(GPUOutOfMemoryError) as caught:
            engine.transcribe(cache, PARAKEET, _long_speech())
    finally:
        del model.transcribe
    assert min(calls) >= gpu.MIN_PASS_SECONDS - 1 and len(calls) < 10  # halved down to the floor, then stopped
    advice = report(caught.value).user_message()
    assert "--parakeet-pass-seconds" in advice and "--gpu-memory-gb" in advice


# --- the decoder: CUDA graphs off after a failure inside it -------------------------------------------

def _fail_inside_the_decoder_once(model, message="CUDA failure! 35"):
    """Make NeMo's greedy TDT decoder (called by rnnt_decoding.py) raise once; NeMo rebuilds it afterwards."""
    inner = model.decoding.decoding
    real = inner.forward

    def failing(*args, **kwargs):
        inner.forward = real
        raise RuntimeError(message)

    inner.forward = failing


def test_a_decoder_failure_switches_cuda_graphs_off_and_the_pass_is_retried(settings, wav_file):
    from transcribe_studio.media.decode import decode_audio

    cache = ModelCache(settings)
    model = loaded(cache, PARAKEET)
    engine.transcribe(cache, PARAKEET, decode_audio(wav_file))  # the first call sets up timestamped decoding
    assert model.cfg.decoding.greedy.get("use_cuda_graph_decoder", True)
    _fail_inside_the_decoder_once(model)
    transcript = engine.transcribe(cache, PARAKEET, decode_audio(wav_file))
    assert transcript.text and transcript.words
    assert model.cfg.decoding.greedy.use_cuda_graph_decoder is False
    assert model.decoding.decoding.decoding_computer.allow_cuda_graphs is False  # the rebuilt decoder too
    # once off, a second failure is not retried again: it reaches the user, classified
    _fail_inside_the_decoder_once(model, "decoder broke again")
    with pytest.raises(RuntimeError, match="decoder broke again"):
        engine.transcribe(cache, PARAKEET, decode_audio(wav_file))


def test_a_sticky_cuda_error_says_restart_and_is_not_retried(settings, wav_file):
    from transcribe_studio.media.decode import decode_audio

    cache = ModelCache(settings)
    model = loaded(cache, PARAKEET)
    calls = _watch_transcribe(model, fail_on={1},
                              error=lambda: RuntimeError("CUDA error: an illegal memory access was encountered"))
    try:
        with pytest.raises(GPUFailedError) as caught:
            engine.transcribe(cache, PARAKEET, decode_audio(wav_file))
    finally:
        del model.transcribe
    assert len(calls) == 1 and "Restart the app" in caught.value.user_message()
    assert report(RuntimeError("CUDA error: an illegal memory access")).kind == "gpu_failed"


# --- a CPU-only torch on a machine with an NVIDIA GPU ------------------------------------------------

def test_a_cpu_only_torch_beside_an_nvidia_gpu_is_named_with_the_fix():
    notice = gpu.cpu_torch_notice(cuda_build="", nvidia_gpu="NVIDIA driver found")
    assert "CPU-only build" in notice and "pip install --force-reinstall torch --index-url" in notice
    assert gpu.cpu_torch_notice(cuda_build="12.8", nvidia_gpu="NVIDIA driver found") is None
    assert gpu.cpu_torch_notice(cuda_build="", nvidia_gpu="") is None


def test_the_page_shows_the_cpu_torch_notice_with_its_command(monkeypatch):
    from transcribe_studio.app import views

    notice = gpu.cpu_torch_notice(cuda_build="", nvidia_gpu="NVIDIA driver found")
    monkeypatch.setattr(gpu, "cpu_torch_notice", lambda: notice)
    shown = views.compute_device_note.__wrapped__()
    assert "CPU-only build" in shown and f"```\n{gpu.CUDA_TORCH_COMMAND}\n```" in shown
