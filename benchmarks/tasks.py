"""The measurements, each run in its own process (see :mod:`benchmarks.zygote`).

Every function returns a JSON-able dict. Times are ``time.perf_counter`` seconds
of the measured call only; memory is this process's RSS in MiB (``rss_*``) and
its peak since the fork or the last ``reset_peak`` (``peak_rss_mb``).

The app side always goes through the app's own functions
(each model spec's ``load``, ``ModelCache``,
``engine.transcribe``, ``batch.transcribe_file``); the raw side is the plain
NeMo call a user of NeMo would write for the same result.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks import common

SAMPLE_RATE = 16000
ALL_FORMATS = ("txt", "srt", "vtt", "json", "csv")


def _settings(spec: dict):
    """Settings of the app for a measurement: ``spec`` holds paths as strings."""
    from transcribe_studio.settings import Settings

    values = dict(spec)
    for key in ("parakeet_path", "output_dir", "hf_cache_dir"):
        if values.get(key) is not None:
            values[key] = Path(values[key])
    return Settings(**values)


def _params(model) -> dict:
    params = list(model.parameters())
    return {"parameters": sum(p.numel() for p in params),
            "parameter_bytes": sum(p.numel() * p.element_size() for p in params),
            "dtypes": sorted({str(p.dtype).replace("torch.", "") for p in params})}


def _after_load(model, seconds: float) -> dict:
    peak, anon = common.peak_rss_mb(), common.anon_peak_mb()
    common.release_free_memory()
    return {"seconds": seconds, "peak_rss_mb": peak, "peak_anon_mb": anon, "rss_after_mb": common.rss_mb(),
            **_params(model)}


# --- figure 2: Parakeet cold load ---------------------------------------------------------------

def read_file(path: str, mode: str = "stream", block_mb: int = 16) -> dict:
    """Read ``path`` whole from the page cache (warmed before).

    ``memory``: ``open(path, 'rb').read()``, the bytes end in this process's memory, as a loader's must.
    ``stream``: through one reused ``block_mb`` buffer: the page cache's transfer rate, nothing kept.
    """
    started = time.perf_counter()
    if mode == "memory":
        with open(path, "rb") as f:
            data = f.read()
        seconds, total = time.perf_counter() - started, len(data)
        del data
        return {"seconds": seconds, "bytes": total, "mode": mode}
    buffer = memoryview(bytearray(block_mb << 20))
    total = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buffer)
            if not n:
                break
            total += n
    return {"seconds": time.perf_counter() - started, "bytes": total, "mode": mode}


def _loaded(cache, key: str):
    """The model from the app's cache, through the one way in a job has."""
    with cache.use(key) as model:
        return model


def parakeet_app_load(settings: dict) -> dict:
    import torch

    from transcribe_studio.models import get

    s = _settings(settings)
    started = time.perf_counter()
    model = get("parakeet").load(s, torch.device("cpu"))
    return _after_load(model, time.perf_counter() - started)


def parakeet_raw_restore(path: str) -> dict:
    import torch
    from nemo.collections.asr.models import ASRModel

    started = time.perf_counter()
    model = ASRModel.restore_from(path, map_location=torch.device("cpu"))
    return _after_load(model, time.perf_counter() - started)


# --- figure 3: Canary load ----------------------------------------------------------------------

def canary_app_load(settings: dict) -> dict:
    import torch

    from transcribe_studio.models import get

    s = _settings(settings)
    started = time.perf_counter()
    model = get("canary").load(s, torch.device("cpu"))
    return _after_load(model, time.perf_counter() - started)


def canary_app_load_gpu_path(settings: dict) -> dict:
    """``load_canary(settings, torch.device("cuda"))`` on a CPU machine, with moves to a CUDA device skipped.

    The app casts Canary to bf16 only on CUDA; this runs the app's own GPU-branch code (every dtype cast
    included) so its memory can be compared with the raw load + bf16 cast on a machine with no GPU.
    """
    import torch

    from transcribe_studio.models import get

    original = torch.nn.Module.to

    def to_without_cuda_moves(module, *args, **kwargs):
        device, dtype, non_blocking, _ = torch._C._nn._parse_to(*args, **kwargs)
        if device is not None and device.type == "cuda":
            return module if dtype is None else original(module, dtype)
        return original(module, *args, **kwargs)

    s = _settings(settings)
    torch.nn.Module.to = to_without_cuda_moves
    try:
        started = time.perf_counter()
        model = get("canary").load(s, torch.device("cuda"))
        seconds = time.perf_counter() - started
    finally:
        torch.nn.Module.to = original
    return _after_load(model, seconds)


def canary_raw_load(repo: str, revision: str, cast_bf16: bool, cache_dir: str | None = None) -> dict:
    """NeMo's plain ``SALM.from_pretrained(repo, revision=...)`` (HF_HUB_OFFLINE=1, the same cache), then the cast."""
    import torch
    from nemo.collections.speechlm2.models import SALM

    started = time.perf_counter()
    model = SALM.from_pretrained(repo, revision=revision, cache_dir=cache_dir)
    if cast_bf16:
        model = model.to(torch.bfloat16)
    return _after_load(model, time.perf_counter() - started)


def canary_prepare(settings: dict) -> dict:
    """Lay the app's pinned-Qwen overlay beside the checkpoint once, so raw NeMo also loads offline."""
    from transcribe_studio.models import hub_cache

    started = time.perf_counter()
    snapshot = hub_cache.ensure_canary_files(_settings(settings))
    return {"seconds": time.perf_counter() - started, "snapshot": str(snapshot)}


# --- raw NeMo calls on 16 kHz audio ---------------------------------------------------------------

def raw_parakeet(model, audio):
    """``model.transcribe([audio16k], timestamps=True)``: the same text and word/segment times the app writes.

    (``timestamps=True`` is sticky on the model, and the app's subtitles need it: with it
    on both sides, each side does the same decoding and neither pays a strategy switch.)
    """
    import torch

    with torch.inference_mode():
        return model.transcribe([audio], timestamps=True, verbose=False)


def raw_canary(model, audio, batch_size: int, window_seconds: float = 40.0) -> list[str]:
    """What raw NeMo must do for audio past Canary's 40 s: fixed windows, ``batch_size`` per ``generate``.

    Written out here rather than calling ``models.canary.transcribe`` on purpose: the baseline must be the
    raw NeMo call, so that a slowdown in the app's own code shows up in the ratio instead of on both sides.
    """
    import torch

    from transcribe_studio.models.canary import MAX_NEW_TOKENS as CANARY_MAX_NEW_TOKENS
    from transcribe_studio.models.canary import PROMPT as CANARY_PROMPT

    step = int(window_seconds * SAMPLE_RATE)
    spans = [(start, min(start + step, len(audio))) for start in range(0, len(audio), step)]
    prompt = [{"role": "user", "content": CANARY_PROMPT.format(tag=model.audio_locator_tag)}]
    texts = []
    for first in range(0, len(spans), batch_size):
        batch = spans[first:first + batch_size]
        longest = max(end - start for start, end in batch)
        audios = torch.zeros(len(batch), longest, dtype=torch.float32)
        for row, (start, end) in enumerate(batch):
            audios[row, : end - start] = torch.from_numpy(audio[start:end])
        lens = torch.tensor([end - start for start, end in batch], dtype=torch.int64)
        with torch.inference_mode():
            ids = model.generate(prompts=[prompt] * len(batch), audios=audios.to(model.device),
                                 audio_lens=lens.to(model.device), max_new_tokens=CANARY_MAX_NEW_TOKENS)
        texts += [model.tokenizer.ids_to_text(row.cpu()) for row in ids]
    return texts


def _raw(name: str, model, audio, batch_size: int):
    return raw_parakeet(model, audio) if name == "parakeet" else raw_canary(model, audio, batch_size)


# --- figure 4: a second request ---------------------------------------------------------------------

def second_request(settings: dict, models: list[str], seconds: float = 4.0) -> dict:
    from tests import media
    from transcribe_studio.models import ModelCache
    from transcribe_studio.transcription import engine

    cache = ModelCache(_settings(settings))
    audio = media.speechlike(seconds, seed=3)
    out = {}
    for name in models:
        before = cache.load_count[name]
        started = time.perf_counter()
        engine.transcribe(cache, name, audio)
        first = time.perf_counter() - started
        after_first = cache.load_count[name]
        started = time.perf_counter()
        engine.transcribe(cache, name, audio)
        second = time.perf_counter() - started
        out[name] = {"loads_first_request": after_first - before,
                     "loads_second_request": cache.load_count[name] - after_first,
                     "first_request_seconds": first, "second_request_seconds": second}
    return out


# --- figure 5: app end to end against raw NeMo, same loaded model -----------------------------------

def end_to_end(settings: dict, model_name: str, source: str, runs: int, warmups: int = 1) -> dict:
    from transcribe_studio.media import windows as long_audio
    from transcribe_studio.media.decode import decode_audio
    from transcribe_studio.models import ModelCache, get
    from transcribe_studio.outputs.writers import write_outputs
    from transcribe_studio.transcription import batch

    s = _settings(settings)
    cache = ModelCache(s)
    model = _loaded(cache, model_name)
    source = Path(source)
    audio = decode_audio(source)  # the same 16 kHz audio the raw call gets
    out_dir = s.output_dir / f"e2e_{model_name}"

    def app_once():
        started = time.perf_counter()
        result = batch.transcribe_file(cache, model_name, source, ALL_FORMATS, output_dir=out_dir)
        if not result.ok:
            raise RuntimeError(result.error.user_message())
        return time.perf_counter() - started, result

    def raw_once():
        started = time.perf_counter()
        _raw(model_name, model, audio, s.batch_size)
        return time.perf_counter() - started

    for _ in range(warmups):
        app_once()
        raw_once()
    app_times, raw_times = [], []
    result = None
    for i in range(runs):  # interleaved, alternating which goes first, so drift hits both alike
        if i % 2:
            raw_times.append(raw_once())
            seconds, result = app_once()
            app_times.append(seconds)
        else:
            seconds, result = app_once()
            app_times.append(seconds)
            raw_times.append(raw_once())

    # Where the app's extra time goes: its stages timed alone (each cheap next to the model).
    def timed(fn, repeat=3):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - started)
        return common.median(times), value

    decode_s, _ = timed(lambda: decode_audio(source))
    window_s = get(model_name).window_seconds(s, model)
    plan_s, spans = timed(lambda: long_audio.plan(audio, window_s))
    write_s, _ = timed(lambda: write_outputs(result.transcript, source, out_dir / "stage", ALL_FORMATS,
                                             metadata=batch.provenance(cache, model_name)))
    return {"app": common.spread(app_times), "raw": common.spread(raw_times),
            "audio_seconds": len(audio) / SAMPLE_RATE, "app_windows": len(spans),
            "raw_windows": (1 if model_name == "parakeet" else -(-len(audio) // int(40 * SAMPLE_RATE))),
            "stages": {"decode_seconds": decode_s, "plan_seconds": plan_s, "write_seconds": write_s},
            "text_chars": len(result.transcript.text)}


# --- figure 6: scaling ------------------------------------------------------------------------------

def scaling(settings: dict, model_name: str, source: str, side: str) -> dict:
    """One length through the app (``side='app'``: decode, windows, model, writers) or raw NeMo (the whole
    16 kHz audio in one ``transcribe`` call; 40 s windows for Canary), after an 8 s warm-up through the same
    path. Peak memory is reset once the model is loaded and warm."""
    from tests import media
    from transcribe_studio.media.decode import decode_audio
    from transcribe_studio.models import ModelCache
    from transcribe_studio.transcription import batch, engine

    s = _settings(settings)
    cache = ModelCache(s)
    model = _loaded(cache, model_name)
    # A short warm-up through the same path: first-call set-up is not what scaling is about.
    warm = media.speechlike(8.0, seed=9)
    if side == "app":
        engine.transcribe(cache, model_name, warm)
    else:
        _raw(model_name, model, warm, s.batch_size)
    del warm
    common.release_free_memory()
    rss_model = common.rss_mb()
    source = Path(source)
    out = {"rss_model_mb": rss_model}
    if side == "app":
        common.reset_peak()
        started = time.perf_counter()
        result = batch.transcribe_file(cache, model_name, source, ALL_FORMATS, output_dir=s.output_dir / "scaling")
        out["seconds"] = time.perf_counter() - started
        if not result.ok:
            out["error"] = result.error.user_message()
        else:
            out["audio_seconds"] = result.transcript.duration
            out["segments"] = len(result.transcript.segments)
    else:
        audio = decode_audio(source)
        common.reset_peak()
        out["rss_audio_mb"] = common.rss_mb()
        started = time.perf_counter()
        _raw(model_name, model, audio, s.batch_size)
        out["seconds"] = time.perf_counter() - started
        out["audio_seconds"] = len(audio) / SAMPLE_RATE
        out["windows"] = 1 if model_name == "parakeet" else -(-len(audio) // int(40 * SAMPLE_RATE))
    out["peak_rss_mb"] = common.peak_rss_mb()
    out["working_mb"] = out["peak_rss_mb"] - rss_model
    out["peak_anon_mb"] = common.anon_peak_mb()
    return out


# --- figure 7: GPU ---------------------------------------------------------------------------------

def gpu(settings: dict, parakeet_path: str, canary_repo: str, canary_revision: str, source: str,
        runs: int = 3) -> dict:
    """Real-time factor (seconds of processing per second of audio) through the app against raw NeMo at the same
    batch size, raw NeMo in fp32 and in bf16. Run in a fresh process (never forked: CUDA)."""
    import torch

    if not torch.cuda.is_available():
        return {"taken": False, "reason": "torch.cuda.is_available() is False"}
    from nemo.collections.asr.models import ASRModel
    from nemo.collections.speechlm2.models import SALM

    from transcribe_studio.media.decode import decode_audio
    from transcribe_studio.models import ModelCache
    from transcribe_studio.transcription import batch

    s = _settings({**settings, "device": "cuda"})
    source = Path(source)
    audio = decode_audio(source)
    seconds = len(audio) / SAMPLE_RATE
    out = {"taken": True, "device": torch.cuda.get_device_name(0), "audio_seconds": seconds,
           "batch_size": s.batch_size, "bf16_supported": torch.cuda.is_bf16_supported()}

    def rtf(fn) -> dict:
        fn()  # warm-up (CUDA kernels, graphs)
        times = []
        for _ in range(runs):
            torch.cuda.synchronize()
            started = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - started) / seconds)
        return common.spread(times)

    cache = ModelCache(s)
    for name in ("parakeet", "canary"):
        entry = {}
        try:
            app_model = _loaded(cache, name)
            entry["app_dtype"] = str(next(app_model.parameters()).dtype).replace("torch.", "")
            entry["app"] = rtf(lambda: batch.transcribe_file(cache, name, source, ALL_FORMATS,
                                                             output_dir=s.output_dir / "gpu"))
            cache.unload(name)
            del app_model
            torch.cuda.empty_cache()
            for dtype in (torch.float32, torch.bfloat16):
                if dtype is torch.bfloat16 and not torch.cuda.is_bf16_supported():
                    continue
                if name == "parakeet":
                    model = ASRModel.restore_from(parakeet_path, map_location="cuda").eval()
                else:
                    model = SALM.from_pretrained(canary_repo, revision=canary_revision).eval()
                model = model.to(dtype).to("cuda")
                entry[f"raw_{str(dtype).replace('torch.', '')}"] = rtf(lambda: _raw(name, model, audio, s.batch_size))
                del model
                torch.cuda.empty_cache()
        except Exception as exc:  # noqa: BLE001 - reported
            entry["error"] = f"{type(exc).__name__}: {exc}"
        out[name] = entry
    return out


# --- machine ---------------------------------------------------------------------------------------

def machine() -> dict:
    import torch

    info = {"torch_threads": torch.get_num_threads(), "cuda_available": torch.cuda.is_available()}
    if info["cuda_available"]:
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


TASKS = {fn.__name__: fn for fn in (read_file, parakeet_app_load, parakeet_raw_restore, canary_app_load,
                                     canary_app_load_gpu_path,
                                     canary_raw_load, canary_prepare, second_request, end_to_end, scaling, gpu,
                                     machine)}
