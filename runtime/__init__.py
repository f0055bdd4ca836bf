"""Streaming runtime: the frame-stream denoise API over every inference backend.

Import as ``ssr.runtime``. One stream loop (:class:`ssr.streaming.StreamLoop`) drives
every backend; :func:`open_stream` picks one:

* ``torch``: :class:`ssr.streaming.TorchBackend` on any torch device (weights file or the
  bundled model);
* ``onnxruntime``: :class:`ssr.runtime.onnx_backend.OnnxBackend` on a graph written by
  ``ssr export`` (``.onnx``);
* ``tensorrt``: :class:`ssr.runtime.tensorrt_backend.TensorRTBackend` on an engine built by
  ``ssr export --format tensorrt`` (``.plan`` / ``.engine``; NVIDIA GPUs, TensorRT 10/11);
* ``auto``: ``onnxruntime`` for ``.onnx`` files, ``tensorrt`` for ``.plan`` / ``.engine``,
  ``torch`` otherwise.

The compiled packing hot path lives in ``ssr._native``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["BACKENDS", "ENGINE_SUFFIXES", "open_backend", "open_stream", "resolve_backend"]

BACKENDS = ("auto", "torch", "onnxruntime", "tensorrt")
ENGINE_SUFFIXES = (".plan", ".engine")


def resolve_backend(model: Any, backend: str = "auto") -> str:
    """The concrete backend ``auto`` means for ``model`` (a path, an SSRNet or None).

    >>> resolve_backend("model.onnx"), resolve_backend("m.plan"), resolve_backend(None)
    ('onnxruntime', 'tensorrt', 'torch')
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    suffix = Path(model).suffix if isinstance(model, (str, os.PathLike)) else ""
    is_onnx, is_engine = suffix == ".onnx", suffix in ENGINE_SUFFIXES
    if backend == "auto":
        return "onnxruntime" if is_onnx else "tensorrt" if is_engine else "torch"
    if backend == "tensorrt" and not is_engine:
        raise ValueError(f"--backend tensorrt runs a built engine ({' / '.join(ENGINE_SUFFIXES)}), got model "
                         f"{model!r}; build one with `ssr export --format tensorrt`")
    if backend == "onnxruntime" and not is_onnx:
        raise ValueError(f"--backend onnxruntime runs an exported graph (.onnx), got model {model!r}; "
                         "write one with `ssr export`")
    if backend == "torch" and (is_onnx or is_engine):
        raise ValueError(f"--backend torch runs saved weights, got {model!r}")
    return backend


def open_backend(model: Any = None, backend: str = "auto", *, device: str = "cpu", threads: int | None = None) -> Any:
    """The :class:`ssr.streaming.Backend` for ``model`` (what a stream loop runs), for
    callers that drive their own loop (``ssr eval --backend``): the backend of :func:`open_stream`.

    Args:
        model: saved weights (torch), an ``.onnx`` graph (onnxruntime), an engine
            (tensorrt), an ``SSRNet``, or None for the bundled model.
        backend: ``auto``, ``torch``, ``onnxruntime`` or ``tensorrt`` (see the module docstring).
        device: torch device for ``torch``; for ``onnxruntime`` ``cuda`` selects the CUDA
            execution provider; ``tensorrt`` runs on a CUDA device (default ``cuda``).
        threads: intra-op threads of ONNX Runtime (default: its own choice).
    """
    return open_stream(model, backend, device=device, threads=threads).backend  # one choice of backend


def open_stream(model: Any = None, backend: str = "auto", *, device: str = "cpu", threads: int | None = None) -> Any:
    """A :class:`ssr.streaming.StreamLoop` over the chosen backend (:func:`open_backend`'s
    arguments): :class:`~ssr.runtime.stream.FrameStream` (torch),
    :class:`~ssr.runtime.onnx_backend.OnnxStream` or
    :class:`~ssr.runtime.tensorrt_backend.TensorRTStream`.
    """
    chosen = resolve_backend(model, backend)
    if chosen == "tensorrt":
        from .tensorrt_backend import TensorRTStream

        return TensorRTStream(model, device=device if str(device).startswith("cuda") else "cuda")
    if chosen == "onnxruntime":
        from .onnx_backend import OnnxStream

        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if str(device).startswith("cuda") else None
        return OnnxStream(model, providers=providers, threads=threads)
    from .stream import FrameStream

    return FrameStream(model, device=device)
