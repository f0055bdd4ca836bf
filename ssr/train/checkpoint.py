"""Atomic training checkpoints with every piece of state needed for exact resumption.

A checkpoint (``torch.save`` dict) holds the step, model / optimizer / scheduler state,
the Python, NumPy and torch (CPU and CUDA) RNG states, every rank's clip-sampler state
and the best validation score so far. Files are written to a temporary name, fsynced
and renamed over the target, so a crash never leaves a torn checkpoint.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["BEST", "LAST", "capture_rng_state", "load_checkpoint", "restore_rng_state", "save_checkpoint",
           "snapshot_name"]

LAST = "last.pt"
BEST = "best.pt"


def snapshot_name(step: int) -> str:
    """File name of the kept checkpoint of ``step`` (``TrainConfig.snapshot_every``): ``snap_<step>.pt``."""
    return f"snap_{step}.pt"


def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy global and torch RNG states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` atomically (temp file + fsync + ``os.replace``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return target


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (our own trusted file)."""
    target = Path(path)
    if not target.is_file():
        raise FileNotFoundError(f"checkpoint not found: {target}")
    return torch.load(target, map_location=map_location, weights_only=False)
