"""Which torch device a model runs on."""

from __future__ import annotations

from ..errors import ConfigurationError


def resolve_device(setting: str):
    """``auto`` (the GPU if PyTorch sees one), ``cpu``, ``cuda`` or ``cuda:N`` as a torch device."""
    import torch

    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(setting)
    except RuntimeError:
        raise ConfigurationError(f"--device (STUDIO_DEVICE) must be auto, cuda, cuda:N or cpu, not {setting!r}.") \
            from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError(
            f"--device {setting} (STUDIO_DEVICE) asks for a CUDA GPU, but PyTorch sees no usable GPU on this machine.",
            next_steps="Use --device cpu or --device auto (the CPU is slower), or install a CUDA build of PyTorch "
                       "and a current NVIDIA driver.")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigurationError(f"--device {setting} names GPU {device.index}, but this machine has "
                                 f"{torch.cuda.device_count()} (numbered from 0).",
                                 next_steps="Choose one of them, or use --device auto.")
    return device
