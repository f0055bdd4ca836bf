"""Saving and loading model weights: ``<path>.safetensors`` + ``<path>.json``.

The JSON sidecar holds ``{"format": "ssr-weights", "version": 1, "model_config": {...},
"metadata": {...}}``; the safetensors file holds the state dict (fp32).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch

from .config import ModelConfig
from .network import SSRNet

__all__ = [
    "DEFAULT_WEIGHTS",
    "WEIGHTS_FORMAT",
    "is_checkpoint",
    "load_model",
    "load_training_config",
    "save_model",
    "weights_file",
    "weights_paths",
]

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "default"
"""Bundled default weights (``ssr/weights/default.safetensors`` + ``.json``)."""
WEIGHTS_FORMAT = "ssr-weights"


def weights_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(<path>.safetensors, <path>.json)``; a given ``.safetensors``/``.json`` suffix is dropped."""
    base = Path(path)
    if base.suffix in (".safetensors", ".json"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".safetensors"), base.with_name(base.name + ".json")


def is_checkpoint(path: str | os.PathLike[str] | None) -> bool:
    """True when ``path`` names an ``ssr train`` checkpoint (``*.pt``) rather than saved weights."""
    return path is not None and Path(path).suffix == ".pt"


def weights_file(path: str | os.PathLike[str] | None) -> Path:
    """The file holding the tensors ``load_model(path)`` reads: the checkpoint itself, or
    ``<path>.safetensors`` (the bundled weights for None)."""
    if is_checkpoint(path):
        return Path(path)  # type: ignore[arg-type]
    return weights_paths(DEFAULT_WEIGHTS if path is None else path)[0]


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def save_model(model: SSRNet, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None) -> Path:
    """Write ``<path>.safetensors`` and ``<path>.json`` (config + ``metadata``).

    Args:
        model: an :class:`SSRNet` (a DDP wrapper is unwrapped).
        path: destination without suffix.
        metadata: JSON-serialisable extra information (training run, step, metrics).

    Returns:
        The path of the ``.safetensors`` file.
    """
    from safetensors.torch import save

    net = getattr(model, "module", model)
    tensors_path, json_path = weights_paths(path)
    tensors_path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: t.detach().to("cpu", torch.float32).contiguous() for name, t in net.state_dict().items()}
    _atomic_write_bytes(tensors_path, save(state, metadata={"format": WEIGHTS_FORMAT}))
    sidecar = {
        "format": WEIGHTS_FORMAT,
        "version": 1,
        "model_config": net.config.to_dict(),
        "metadata": dict(metadata or {}),
    }
    _atomic_write_bytes(json_path, (json.dumps(sidecar, indent=2, sort_keys=True) + "\n").encode())
    return tensors_path


def load_model(path: str | os.PathLike[str] | None = None, device: str | torch.device = "cpu") -> SSRNet:
    """Build an :class:`SSRNet` from saved weights, in eval mode on ``device``.

    Args:
        path: ``<path>`` as given to :func:`save_model` (with or without suffix), or a
            training checkpoint (``<run>/last.pt``, ``best.pt``, ``step_*.pt``: its model
            config and weights); None loads the bundled default weights.
        device: torch device for the parameters.

    Raises:
        FileNotFoundError: the weights or the JSON sidecar are missing.
        ValueError: the sidecar is not an ssr-weights file or the tensors do not match.
    """
    from safetensors.torch import load_file

    if is_checkpoint(path):
        return _load_checkpoint_model(Path(path)).to(device).eval()  # type: ignore[arg-type]
    tensors_path, json_path = weights_paths(DEFAULT_WEIGHTS if path is None else path)
    for file in (tensors_path, json_path):
        if not file.is_file():
            hint = (
                "the bundled default weights are missing from this installation (reinstall the "
                "package), or train a model with `ssr train --data <dataset> --out <run>` and load `<run>/model`"
                if path is None
                else "save weights with ssr.model.save_model or `ssr train`"
            )
            raise FileNotFoundError(f"model weights not found: {file} ({hint})")
    sidecar = json.loads(json_path.read_text())
    if sidecar.get("format") != WEIGHTS_FORMAT:
        raise ValueError(f"{json_path}: not an {WEIGHTS_FORMAT} file (format={sidecar.get('format')!r})")
    model = SSRNet(ModelConfig.from_dict(sidecar["model_config"]))
    state = load_file(str(tensors_path), device="cpu")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(f"{tensors_path}: weights do not match {json_path}: {error}") from error
    return model.to(device).eval()


def load_training_config(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The ``ssr train`` configuration (``TrainConfig`` as a dict) that produced these weights.

    Args:
        path: as for :func:`load_model`: saved weights (``<run>/model``: the sidecar's
            ``metadata.train_config``), a training checkpoint (``<run>/last.pt``: its
            ``config``), or None for the bundled weights.

    Returns:
        The dict, or None when the weights do not record one (weights saved outside
        ``ssr train``).

    Raises:
        FileNotFoundError: the sidecar or checkpoint is missing.
    """
    if is_checkpoint(path):
        if not Path(path).is_file():  # type: ignore[arg-type]
            raise FileNotFoundError(f"model checkpoint not found: {path}")
        config = torch.load(path, map_location="cpu", weights_only=False).get("config")  # type: ignore[arg-type]
    else:
        json_path = weights_paths(DEFAULT_WEIGHTS if path is None else path)[1]
        if not json_path.is_file():
            raise FileNotFoundError(f"model weights not found: {json_path}")
        config = json.loads(json_path.read_text()).get("metadata", {}).get("train_config")
    return dict(config) if isinstance(config, Mapping) else None


def _load_checkpoint_model(path: Path) -> SSRNet:
    """The network of an ``ssr train`` checkpoint (``{"config": {"model": ...}, "model": state}``)."""
    if not path.is_file():
        raise FileNotFoundError(f"model checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
        config = ModelConfig.from_dict(payload["config"]["model"])
        state = payload["model"]
    except (KeyError, TypeError, RuntimeError, EOFError) as error:
        raise ValueError(f"{path}: not an ssr train checkpoint ({type(error).__name__}: {error})") from error
    model = SSRNet(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(f"{path}: checkpoint weights do not match its model config: {error}") from error
    return model
