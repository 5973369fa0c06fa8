"""Which torch device a model runs on."""

from __future__ import annotations

from ..errors import StudioError


def resolve_device(setting: str):
    """``auto`` (the GPU if PyTorch sees one), ``cpu``, ``cuda`` or ``cuda:N`` as a torch device."""
    import torch

    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise StudioError("A CUDA device was requested but PyTorch sees no usable GPU.",
                          next_steps="Install a CUDA build of PyTorch and a current NVIDIA driver, or use --device cpu.")
    return device

