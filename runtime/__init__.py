"""Streaming runtime: the frame-stream denoise API over every inference backend.

Import as ``ssr.runtime``. One stream loop (:class:`ssr.streaming.StreamLoop`) drives
every backend; :func:`open_stream` picks one:

* ``torch``: :class:`ssr.streaming.TorchBackend` on any torch device (weights file or the
  bundled model);
* ``onnxruntime``: :class:`ssr.runtime.onnx_backend.OnnxBackend` on a graph written by
  ``ssr export`` (``.onnx``);
* ``auto``: ``onnxruntime`` for ``.onnx`` files, ``torch`` otherwise.

The compiled packing hot path lives in ``ssr._native``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["BACKENDS", "open_stream", "resolve_backend"]

BACKENDS = ("auto", "torch", "onnxruntime")


def resolve_backend(model: Any, backend: str = "auto") -> str:
    """The concrete backend ``auto`` means for ``model`` (a path, an SSRNet or None).

    >>> resolve_backend("model.onnx"), resolve_backend(None), resolve_backend("runs/a/model", "torch")
    ('onnxruntime', 'torch', 'torch')
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    is_onnx = isinstance(model, (str, os.PathLike)) and Path(model).suffix == ".onnx"
    if backend == "auto":
        return "onnxruntime" if is_onnx else "torch"
    if backend == "onnxruntime" and not is_onnx:
        raise ValueError(f"--backend onnxruntime runs an exported graph (.onnx), got model {model!r}; "
                         "write one with `ssr export`")
    if backend == "torch" and is_onnx:
        raise ValueError(f"--backend torch runs saved weights, got the ONNX graph {model!r}")
    return backend


def open_stream(model: Any = None, backend: str = "auto", *, device: str = "cpu", threads: int | None = None) -> Any:
    """A :class:`ssr.streaming.StreamLoop` over the chosen backend.

    Args:
        model: saved weights (torch), an ``.onnx`` graph (onnxruntime), an ``SSRNet``, or
            None for the bundled model.
        backend: ``auto``, ``torch`` or ``onnxruntime`` (see the module docstring).
        device: torch device for ``torch``; for ``onnxruntime`` ``cuda`` selects the CUDA
            execution provider.
        threads: intra-op threads of ONNX Runtime (default: its own choice).
    """
    chosen = resolve_backend(model, backend)
    if chosen == "onnxruntime":
        from .onnx_backend import OnnxStream

        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if str(device).startswith("cuda") else None
        return OnnxStream(model, providers=providers, threads=threads)
    from .stream import FrameStream

    return FrameStream(model, device=device)
