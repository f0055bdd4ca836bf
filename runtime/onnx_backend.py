"""The frame-stream denoise API on ONNX Runtime (no torch needed at run time).

:class:`OnnxStream` has the interface of :class:`ssr.runtime.stream.FrameStream` but runs
a graph written by :func:`ssr.export.onnx.export_onnx` (``ssr export``)::

    from ssr.runtime.onnx_backend import OnnxStream

    stream = OnnxStream("model.onnx")                  # or providers=["CUDAExecutionProvider"]
    for frame, camera_cut in engine_frames():          # dict of float32 [H, W, C] layers
        rgb = stream.denoise(frame, cut=camera_cut)    # float32 [H, W, 3], linear HDR

The recurrent state is held as NumPy arrays at the frame size: ``acc`` ``float32
[1, 14, H, W]`` and ``prev_out`` ``float32 [1, 3, H, W]``.

Sizes:

- **static graph** (exported without ``--dynamic``): only the export size runs; another
  size raises ``ValueError``.
- **dynamic graph**: the graph itself needs H and W to be multiples of 4. Other sizes are
  padded *outside* the graph: the packed frame and the state are replicate-padded at the
  bottom/right to the next multiple of 4, the graph runs at the padded size, and the
  outputs (colour and the new state) are cropped back. At multiples of 4 the result equals
  :class:`FrameStream`'s (within float tolerance). At other sizes it differs slightly near
  the bottom/right edges, because the torch model pads only the U-Net input while here the
  warps and the TFA also see the padded border.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .stream import StreamBase

__all__ = ["OnnxStream"]

_INPUTS = ("packed", "acc", "prev_out", "reset")
_OUTPUTS = ("color", "acc_new", "out_log")
_MULTIPLE = 4


def _graph_size(session: Any) -> tuple[int, int] | None:
    """``(H, W)`` fixed by the graph's ``packed`` input, None when H and W are dynamic."""
    inputs = {node.name: node.shape for node in session.get_inputs()}
    outputs = {node.name for node in session.get_outputs()}
    shape = inputs.get("packed")
    if set(inputs) != set(_INPUTS) or not set(_OUTPUTS) <= outputs or shape is None or len(shape) != 4:
        raise ValueError(
            f"not an SSR step graph (inputs {sorted(inputs)}, outputs {sorted(outputs)}; expected "
            f"inputs {list(_INPUTS)} and outputs {list(_OUTPUTS)}, as written by `ssr export`)"
        )
    if isinstance(shape[2], int) and isinstance(shape[3], int):
        return shape[2], shape[3]
    return None


def _read_sidecar(onnx_path: str) -> dict[str, Any] | None:
    """``<onnx_path>.json`` (written by ``ssr export``) or None when absent."""
    path = Path(onnx_path)
    path = path.with_name(path.name + ".json")
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else None


def _pad_bottom_right(array: np.ndarray, pad_h: int, pad_w: int) -> np.ndarray:
    """Replicate-pad the last two axes of ``[1, C, H, W]`` by ``pad_h`` rows and ``pad_w`` columns."""
    if pad_h == 0 and pad_w == 0:
        return array
    return np.pad(array, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="edge")


class OnnxStream(StreamBase):
    """Stateful frame-by-frame denoiser on ONNX Runtime.

    Args:
        onnx_path: a graph written by :func:`ssr.export.onnx.export_onnx`.
        providers: onnxruntime execution providers (default ``["CPUExecutionProvider"]``).
        threads: intra-op thread count (default: onnxruntime's choice).

    The stream resets (no history reused) at its first frame, when ``cut=True``, after
    :meth:`reset`, and automatically when the frame size changes. A frame that fails
    validation (or does not fit a static graph) raises :class:`ValueError` and leaves the
    state untouched.

    Raises:
        FileNotFoundError: ``onnx_path`` does not exist.
        ValueError: the graph is not an SSR step graph.
    """

    def __init__(
        self,
        onnx_path: str | os.PathLike[str],
        providers: list[str] | None = None,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort

        if not os.path.isfile(onnx_path):
            raise FileNotFoundError(f"ONNX model not found: {onnx_path} (write one with `ssr export`)")
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        self.onnx_path = os.fspath(onnx_path)
        self.session = ort.InferenceSession(
            self.onnx_path, sess_options=options, providers=providers or ["CPUExecutionProvider"]
        )
        self.graph_size: tuple[int, int] | None = _graph_size(self.session)
        """``(H, W)`` of a static graph, None for a dynamic one."""
        self.sidecar: dict[str, Any] | None = _read_sidecar(self.onnx_path)
        """The export sidecar (``<onnx_path>.json``), None when absent."""
        super().__init__()

    @property
    def subpixel(self) -> bool:
        """True when the model expects 1/4-spp subpixel input (from the sidecar; True without one)."""
        config = (self.sidecar or {}).get("model_config", {})
        return bool(config.get("subpixel", True))

    def _check_size(self, height: int, width: int) -> None:
        if self.graph_size is not None and self.graph_size != (height, width):
            raise ValueError(
                f"{self.onnx_path} was exported for {self.graph_size[0]}x{self.graph_size[1]} frames "
                f"(static shape), got a {height}x{width} frame; re-export with `ssr export --height "
                f"{height} --width {width}` or with --dynamic"
            )

    def _run(self, packed_hw: np.ndarray, start: bool) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """One step of the graph on ``float32 [19, H, W]``; raises for a size a static
        graph cannot run (before anything changes)."""
        packed = packed_hw[None]  # [1, 19, H, W]
        height, width = packed.shape[2:]
        self._check_size(height, width)
        if start:
            acc = np.zeros((1, 14, height, width), np.float32)
            prev_out = np.zeros((1, 3, height, width), np.float32)
        else:
            assert self._state is not None
            acc, prev_out = self._state
        pad_h, pad_w = (-height) % _MULTIPLE, (-width) % _MULTIPLE
        if self.graph_size is not None:
            pad_h = pad_w = 0  # a static graph pads inside itself
        feeds = {
            "packed": _pad_bottom_right(packed, pad_h, pad_w),
            "acc": _pad_bottom_right(acc, pad_h, pad_w),
            "prev_out": _pad_bottom_right(prev_out, pad_h, pad_w),
            "reset": np.full((1, 1, 1, 1), 1.0 if start else 0.0, np.float32),
        }
        color, acc_new, out_log = self.session.run(list(_OUTPUTS), feeds)
        crop = (slice(None), slice(None), slice(0, height), slice(0, width))
        new_state = (np.ascontiguousarray(acc_new[crop]), np.ascontiguousarray(out_log[crop]))
        result = np.ascontiguousarray(color[crop][0].transpose(1, 2, 0), dtype=np.float32)
        return result, new_state
