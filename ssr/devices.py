"""The ``--device`` flag's one meaning in every command: ``auto`` or a torch device string."""

from __future__ import annotations

__all__ = ["DEVICE_HELP", "resolve_device"]

DEVICE_HELP = "auto (default: CUDA when available, else the CPU) or any torch device: cpu, cuda, cuda:1, mps ..."
"""The help text of every command's ``--device``."""


def resolve_device(name: str) -> str:
    """``auto`` -> ``"cuda"`` when torch sees a CUDA device, else ``"cpu"``; any other name
    is returned as given (torch validates it where it is used).

    >>> resolve_device("cpu")
    'cpu'
    """
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
