"""What the user's card can take: the memory budget, the precision, and how long a Parakeet pass fits.

Why these numbers:

* **Budget.** What ``torch.cuda.mem_get_info`` reports free on the chosen
  device, at the moment a job plans its passes (so a model already loaded is
  already subtracted). ``--gpu-memory-gb`` caps it for users who share the card
  with other programs; the cap also goes to torch
  (``set_per_process_memory_fraction``), so a capped run behaves like a smaller
  card instead of taking memory the other programs expect to have.
* **Parakeet's attention.** Its encoder uses full ``rel_pos`` attention: per
  layer it materialises the (1, 8, T, 2T-1) position scores, a padded copy in
  ``rel_shift``, the T x T scores, mask and softmax
  (``asr/parts/submodules/multi_head_attention.py``). Measured on one
  full-size layer: about 119 bytes x T^2 in bf16 and 234 in fp32, T = frames at
  12.5 per second. Layers run one after the other, so that is the transient
  peak of a pass; everything else in a pass grows linearly and is covered by
  :data:`PASS_HEADROOM`. A 20-minute pass (T = 15,000) needs ~27 GB, so the
  pass length follows the budget: ~9 min on 8 GB, ~13 on 12 GB, ~18 on 24 GB.
* **Precision.** bf16 only where the hardware has it: compute capability 8.0
  (Ampere) or newer, asked of the chosen device.
  ``torch.cuda.is_bf16_supported()`` also says yes under emulation on Turing
  and Volta (RTX 20xx, T4, V100), and answers for the current device, not the
  chosen one.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import threading
from pathlib import Path

from ..errors import StudioError
from ..settings import Settings

log = logging.getLogger(__name__)

# Parakeet's transient attention memory per layer, bytes per frame^2, by precision (measured, see above).
ATTENTION_BYTES_PER_FRAME2 = {"bf16": 119.0, "fp32": 234.0}
FRAMES_PER_SECOND = 12.5
# Share of the budget a pass may plan to use: the rest covers the linear terms, the allocator's
# fragmentation and the decoder. A pass that still runs out is retried at half the length.
PASS_HEADROOM = 0.7
# The shortest pass worth planning or retrying: shorter ones lose context at every cut.
MIN_PASS_SECONDS = 15.0
# The longest pass on a GPU when the settings leave it at 0: the model card's "up to 24 minutes", with margin.
MAX_GPU_PASS_SECONDS = 20 * 60.0
# The batched path (many files' windows in one call): besides the attention, a piece holds activations that
# grow with its length, the subsampling convolutions' the largest (256 channels at 50 frames a second over 64 mel
# bins before the last stride): an estimate per second of audio, to be confirmed by the GPU check's batch sizes.
ACTIVATION_BYTES_PER_SECOND = {"bf16": 4_000_000.0, "fp32": 8_000_000.0}
# The most pieces in one call: the Open ASR Leaderboard's batch size for Parakeet (NeMo's throughput recipe).
MAX_BATCH_ITEMS = 128
BF16_MIN_CAPABILITY = (8, 0)
# PyTorch's own index of CUDA 12.8 builds (drivers from 570 on); pip's default on Windows is CPU-only.
CUDA_TORCH_COMMAND = "pip install --force-reinstall torch --index-url https://download.pytorch.org/whl/cu128"

_capped: set[str] = set()
_cap_lock = threading.Lock()


def _device_index(device) -> int:
    import torch

    return device.index if device.index is not None else torch.cuda.current_device()


def free_bytes(device) -> int:
    import torch

    return torch.cuda.mem_get_info(device)[0]


def apply_cap(settings: Settings, device) -> None:
    """Tell torch the most this process may take on ``device`` (once per device; nothing without a cap)."""
    if device.type != "cuda" or not settings.gpu_memory_gb:
        return
    import torch

    with _cap_lock:
        if str(device) in _capped:
            return
        total = torch.cuda.get_device_properties(device).total_memory
        fraction = min(settings.gpu_memory_gb * 1e9 / total, 1.0)
        torch.cuda.set_per_process_memory_fraction(fraction, _device_index(device))
        _capped.add(str(device))
        log.info("GPU memory capped at %.1f GB (%.0f %% of %s)", settings.gpu_memory_gb, fraction * 100, device)


def budget_bytes(settings: Settings, device, free=free_bytes, reserved=None) -> int:
    """GPU memory a job may still use on ``device``: what is free, within ``--gpu-memory-gb`` if set.

    ``free(device)`` and ``reserved`` (bytes this process holds) are torch's unless given.
    """
    available = free(device)
    if not settings.gpu_memory_gb:
        return available
    if reserved is None:
        import torch

        reserved = torch.cuda.memory_reserved(device)
    return max(0, min(available, int(settings.gpu_memory_gb * 1e9) - reserved))


def pass_seconds_for(budget: int, precision: str, maximum: float) -> float:
    """The longest Parakeet pass whose attention fits ``budget`` bytes, within [MIN_PASS_SECONDS, maximum]."""
    frames = math.sqrt(PASS_HEADROOM * max(budget, 0) / ATTENTION_BYTES_PER_FRAME2[precision])
    return max(min(frames / FRAMES_PER_SECOND, maximum), min(MIN_PASS_SECONDS, maximum))


def batch_items_for(budget: int, precision: str, longest_seconds: float, maximum: int = MAX_BATCH_ITEMS) -> int:
    """How many pieces of ``longest_seconds`` (a batch pads to its longest) fit ``budget`` bytes in one call."""
    frames = longest_seconds * FRAMES_PER_SECOND
    per_piece = ATTENTION_BYTES_PER_FRAME2[precision] * frames ** 2 + ACTIVATION_BYTES_PER_SECOND[precision] * \
        longest_seconds
    return max(1, min(maximum, int(PASS_HEADROOM * max(budget, 0) // max(per_piece, 1.0))))


def reusable_bytes(device) -> int:
    """What torch holds on ``device`` for reuse (reserved, not allocated): free to the next batch, though
    not to ``mem_get_info``."""
    import torch

    return max(0, torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))


def precision_of(model) -> str:
    """"bf16" or "fp32": the dtype of the model's weights."""
    import torch

    return "bf16" if next(model.parameters()).dtype == torch.bfloat16 else "fp32"


def choose_precision(device, capability=None) -> tuple[str, str]:
    """("bf16" or "fp32", why) for ``device``; ``capability`` (major, minor) may be given, else asked of it."""
    if device.type != "cuda":
        return "fp32", "on the CPU"
    if capability is None:
        import torch

        capability = torch.cuda.get_device_capability(device)
    shown = f"compute capability {capability[0]}.{capability[1]}"
    if tuple(capability) >= BF16_MIN_CAPABILITY:
        return "bf16", f"{shown} has bf16 hardware"
    return "fp32", f"{shown} has no bf16 hardware (it needs 8.0, Ampere or newer)"


def cuda_context_works(device) -> bool:
    """False after a sticky CUDA error: every call on this process's context then fails."""
    import torch

    try:
        (torch.ones(1, device=device) + 1).item()
        torch.cuda.synchronize(device)
        return True
    except Exception:  # noqa: BLE001 - any failure here means the context is gone
        return False


def cpu_torch_notice(cuda_build: str | None = None, nvidia_gpu: str | None = None) -> str | None:
    """A warning when this PyTorch cannot use the NVIDIA GPU this machine has, with the command that fixes it."""
    if cuda_build is None:
        import torch

        cuda_build = torch.version.cuda or ""
    if cuda_build:
        return None
    gpu = nvidia_gpu if nvidia_gpu is not None else _nvidia_gpu_present()
    if not gpu:
        return None
    return (f"This machine has an NVIDIA GPU ({gpu}), but the installed PyTorch is a CPU-only build, so the "
            "models run on the CPU, much more slowly. To use the GPU, install a CUDA build of PyTorch in this "
            "environment and start the app again (or take the command for your CUDA version from the PyTorch "
            f"website's Get Started page):\n{CUDA_TORCH_COMMAND}")


def _nvidia_gpu_present() -> str:
    """A word on the NVIDIA GPU the driver shows, or "" (no driver, no GPU)."""
    version = Path("/proc/driver/nvidia/version")
    if version.is_file():
        return "NVIDIA driver found"
    smi = shutil.which("nvidia-smi") or (os.path.join(os.environ.get("SystemRoot", r"C:\Windows"), "System32",
                                                      "nvidia-smi.exe") if os.name == "nt" else None)
    if smi and os.path.exists(smi):
        return "nvidia-smi found"
    return ""


def require_fit(needed: int, budget: int, what: str) -> None:
    """Raise a clear error when ``what`` needs more GPU memory than the budget."""
    if needed > budget:
        raise StudioError(
            f"{what} needs about {needed / 1e9:.1f} GB of GPU memory, but only {budget / 1e9:.1f} GB is available.",
            next_steps="Unload the other model, close other programs using the GPU, raise --gpu-memory-gb if you "
                       "set it, or run on the CPU with --device cpu (slower).")
