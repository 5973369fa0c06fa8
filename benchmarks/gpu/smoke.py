"""Smoke check of the NeMo stack on the lent GPU machine (also runs on a CPU).

    source benchmarks/gpu/install.sh && python3 benchmarks/gpu/smoke.py

Prints the versions in use (and where each comes from: the carried wheels in
/tmp/site or the machine's own site-packages), CUDA availability / device name /
compute capability, then proves the stack works end to end with tiny random-weight
models built by ``tests/tiny_models.py`` (the same builders as the test suite):

* imports: ``ASRModel``, ``SALM``, ``silero_vad``, ``benchmarks.full_models``, and the
  app package's engine path without gradio / av;
* Parakeet-TDT (``EncDecRNNTBPEModel``): build, ``save_to`` a .nemo, ``ASRModel.restore_from``,
  ``transcribe([array], timestamps=True, batch_size=1, num_workers=0)``;
* Canary-Qwen (``SALM``): build, ``save_pretrained``, ``SALM.from_pretrained(local_dir)``,
  ``generate`` with audio and text-only (LoRA off, as the app's assistant does);
* Silero VAD: the .jit model from the wheel, ``get_speech_timestamps``.

Models run on CUDA when there is one. Exit status 0 only if every step passed.
Under a minute on a 2-core CPU.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
for _key, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                     "TOKENIZERS_PARALLELISM": "false", "WANDB_MODE": "disabled"}.items():
    os.environ.setdefault(_key, _value)

SAMPLE_RATE = 16000
RESULTS: list[tuple[str, bool, float, str]] = []


def step(name):
    """Run the decorated function now; record OK / FAIL with its time and a one-line result."""

    def run(fn):
        started = time.perf_counter()
        try:
            note = fn() or ""
            ok = True
        except Exception:  # noqa: BLE001 - report and go on to the next step
            traceback.print_exc()
            note, ok = f"{sys.exc_info()[0].__name__}: {sys.exc_info()[1]}", False
        took = time.perf_counter() - started
        RESULTS.append((name, ok, took, note))
        print(f"[smoke] {'OK  ' if ok else 'FAIL'} {name} ({took:.1f} s) {note}", flush=True)
        return fn

    return run


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def _where(module: str) -> str:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001
        return f"import failed: {type(exc).__name__}: {exc}"
    path = str(getattr(mod, "__file__", "") or "")
    return "carried (/tmp/site)" if "/tmp/site/" in path or os.environ.get("SITE", "\0") in path else path


def device():
    import torch

    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def speechlike(seconds: float, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (tone + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@contextlib.contextmanager
def keep_threads():
    import torch

    n = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(n)


# --------------------------------------------------------------------------- steps


@step("versions")
def _versions():
    import torch

    print(f"  python {platform.python_version()} ({sys.executable}), {platform.machine()}")
    print(f"  PYTHONPATH={os.environ.get('PYTHONPATH', '')}")
    rows = [("torch", "torch"), ("torchaudio", "torchaudio"), ("nemo_toolkit", "nemo"), ("lightning", "lightning"),
            ("pytorch-lightning", "pytorch_lightning"), ("transformers", "transformers"),
            ("huggingface_hub", "huggingface_hub"), ("peft", "peft"), ("accelerate", "accelerate"),
            ("numpy", "numpy"), ("scipy", "scipy"), ("numba", "numba"), ("omegaconf", "omegaconf"),
            ("hydra-core", "hydra"), ("lhotse", "lhotse"), ("librosa", "librosa"), ("soundfile", "soundfile"),
            ("datasets", "datasets"), ("pydantic", "pydantic"), ("sentencepiece", "sentencepiece"),
            ("tokenizers", "tokenizers"), ("safetensors", "safetensors"), ("silero-vad", "silero_vad"),
            ("nemo-wandb-stub", "wandb")]
    for dist, module in rows:
        print(f"  {dist:20s} {_version(dist):16s} {_where(module)}")
    return f"torch {torch.__version__}"


@step("cuda")
def _cuda():
    import torch

    print(f"  torch.version.cuda={torch.version.cuda} cudnn={torch.backends.cudnn.version()}")
    if not torch.cuda.is_available():
        return "no CUDA device (CPU run)"
    lines = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        cc = torch.cuda.get_device_capability(i)
        lines.append(f"cuda:{i} {props.name} cc {cc[0]}.{cc[1]} {props.total_memory / 2**30:.1f} GiB")
    x = torch.randn(1024, 1024, device="cuda")
    (x @ x).sum().item()
    # NeMo's TDT/RNNT greedy_batch decoding uses CUDA graphs with conditional nodes when cuda-python allows.
    from nemo.core.utils.cuda_python_utils import check_cuda_python_cuda_graphs_conditional_nodes_supported

    try:
        check_cuda_python_cuda_graphs_conditional_nodes_supported()
        graphs = "CUDA-graph conditional nodes: supported"
    except Exception as exc:  # noqa: BLE001
        graphs = f"CUDA-graph conditional nodes: NOT supported ({exc})"
    return "; ".join(lines) + f"; bf16 {torch.cuda.is_bf16_supported()}; {graphs}"


@step("imports (ASRModel, SALM, silero_vad, benchmarks.full_models)")
def _imports():
    from nemo.collections.asr.models import ASRModel  # noqa: F401
    from nemo.collections.speechlm2.models import SALM  # noqa: F401

    with keep_threads():
        import silero_vad  # noqa: F401  (sets torch.set_num_threads(1) on import)
    import benchmarks.full_models  # noqa: F401

    return "ok"


@step("app package (all but its Gradio UI) imports without gradio / av")
def _app():
    import pkgutil

    import transcribe_studio

    names = [m.name for m in pkgutil.walk_packages(transcribe_studio.__path__, "transcribe_studio.")
             if not m.name.startswith(("transcribe_studio.app", "transcribe_studio.ui", "transcribe_studio.__main__"))]
    for name in names:
        importlib.import_module(name)
    heavy = [m for m in ("gradio", "av") if m in sys.modules]
    if heavy:
        raise RuntimeError(f"importing the app's modules pulled in {heavy}")
    return f"{len(names)} modules ({', '.join(n.split('.', 1)[1] for n in names[:6])}, ...)"


TMP = Path(tempfile.mkdtemp(prefix="gpu_smoke_"))


@step("Parakeet-TDT tiny: build, save_to, restore_from, transcribe(timestamps=True)")
def _parakeet():
    import torch
    from nemo.collections.asr.models import ASRModel

    from tests import tiny_models

    path = tiny_models.build_tiny_parakeet(TMP / "tiny_parakeet.nemo")
    with tiny_models._quiet_nemo():
        model = ASRModel.restore_from(str(path), map_location=device())
    model = model.to(device()).eval()
    audio = speechlike(3.0)
    with torch.inference_mode():
        hyp = model.transcribe([audio], timestamps=True, batch_size=1, num_workers=0, verbose=False)[0]
    words = hyp.timestamp.get("word", []) if isinstance(hyp.timestamp, dict) else []
    segments = hyp.timestamp.get("segment", []) if isinstance(hyp.timestamp, dict) else []
    if not hyp.text.startswith("we see") or not words:
        raise RuntimeError(f"unexpected transcript {hyp.text!r} / {len(words)} word stamps")
    first = words[0]
    return (f"{type(model).__name__} on {next(model.parameters()).device}: {hyp.text[:40]!r}..., "
            f"{len(words)} words, {len(segments)} segments, first word {first.get('word')!r} "
            f"{first.get('start')}-{first.get('end')} s")


@step("Canary-Qwen tiny (SALM): build, save_pretrained, from_pretrained(local dir), generate")
def _canary():
    import torch
    from nemo.collections.speechlm2.models import SALM

    from tests import tiny_models

    built = tiny_models.build_tiny_canary_cache(TMP / "hub", canary_commit="c" * 40, qwen_commit="d" * 40)
    local = TMP / "canary_local"
    local.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(Path(built["canary_snapshot"]) / name, local / name)  # follows the cache's symlinks
    cfg = json.loads((local / "config.json").read_text())
    cfg["pretrained_llm"] = str(built["qwen_snapshot"])  # a local dir instead of the Hub id
    (local / "config.json").write_text(json.dumps(cfg, indent=2))

    with tiny_models._quiet_nemo():
        model = SALM.from_pretrained(str(local))
    model = model.to(device()).eval()
    audio = torch.from_numpy(speechlike(2.0)).unsqueeze(0)
    lens = torch.tensor([audio.shape[1]], dtype=torch.int64)
    prompt = [{"role": "user", "content": f"Transcribe the following: {model.audio_locator_tag}"}]
    with torch.inference_mode():
        ids = model.generate(prompts=[prompt], audios=audio.to(model.device), audio_lens=lens.to(model.device),
                             max_new_tokens=8)
        asr_text = model.tokenizer.ids_to_text(ids[0].cpu())
        with model.llm.disable_adapter():
            chat = model.generate(prompts=[[{"role": "user", "content": "Say hello."}]], max_new_tokens=4)
    if not asr_text:
        raise RuntimeError("empty text from generate(audios=...)")
    return (f"{type(model).__name__} on {model.device}, LLM {type(model.llm).__name__}: "
            f"audio -> {len(ids[0])} ids {asr_text[:20]!r}; text-only -> {len(chat[0])} ids")


@step("Silero VAD: load_silero_vad(onnx=False), get_speech_timestamps")
def _vad():
    import numpy as np
    import torch

    with keep_threads():
        import silero_vad

        model = silero_vad.load_silero_vad(onnx=False)
    audio = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), speechlike(2.0, seed=3), np.zeros(SAMPLE_RATE, np.float32)])
    stamps = silero_vad.get_speech_timestamps(torch.from_numpy(audio), model, sampling_rate=SAMPLE_RATE)
    return f"silero-vad {_version('silero-vad')}: {len(stamps)} span(s) in 4 s of synthetic audio"


shutil.rmtree(TMP, ignore_errors=True)
failed = [name for name, ok, _, _ in RESULTS if not ok]
total = sum(took for _, _, took, _ in RESULTS)
print(f"[smoke] {len(RESULTS) - len(failed)} passed, {len(failed)} failed ({total:.1f} s)")
sys.exit(1 if failed else 0)
