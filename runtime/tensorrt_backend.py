"""The frame-stream denoise API on TensorRT (NVIDIA GPUs; TensorRT 10 or 11).

:class:`TensorRTStream` is the stream loop over :class:`TensorRTBackend`, which streams an
engine built by ``ssr export --format tensorrt``:

* the engine is deserialised once and runs in **one** execution context;
* every tensor lives in device buffers allocated once per frame size (torch CUDA
  tensors); the recurrent state (``acc``, ``prev_out``) has two buffer pairs that swap
  roles every frame by re-pointing the I/O addresses with ``set_tensor_address`` (plus a
  pair that stays zero for stream starts), so state never leaves the GPU and a failed
  step leaves the committed state intact;
* each frame is one ``execute_async_v3`` on the backend's CUDA stream; the host waits
  only for the colour it returns.

Dynamic engines run any size within their profile that is a multiple of 4 directly and
pad other sizes outside the graph, exactly as :class:`ssr.runtime.onnx_backend.OnnxBackend`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ssr.data_tools.contract import GRAPH_CHANNELS, GRAPH_INPUTS, GRAPH_OUTPUTS
from ssr.data_tools.pack import unpack_color
from ssr.streaming import StreamLoop

from .state_buffers import MAX_CACHED_SIZES, ZERO_PAIR, next_pair, pad_into, padded_size

__all__ = ["TENSORRT_UNAVAILABLE", "TensorRTBackend", "TensorRTStream", "tensorrt_unavailable_reason"]

TENSORRT_UNAVAILABLE = "TensorRT needs an NVIDIA GPU and the tensorrt package; not available here"


def tensorrt_unavailable_reason() -> str | None:
    """None when ``import tensorrt`` works and a CUDA device is present, else why not."""
    try:
        import tensorrt  # noqa: F401
    except ImportError as error:
        return f"{TENSORRT_UNAVAILABLE} (import tensorrt failed: {error})"
    try:
        import torch
    except ImportError:
        return f"{TENSORRT_UNAVAILABLE} (torch is missing, so CUDA cannot be checked)"
    if not torch.cuda.is_available():
        return f"{TENSORRT_UNAVAILABLE} (no CUDA device)"
    return None


@dataclass(frozen=True)
class TensorRTState:
    """Which device buffer pair holds the stream state (at the padded size)."""

    size: tuple[int, int]
    pair: int


class TensorRTBackend:
    """TensorRT inference backend for :class:`ssr.streaming.StreamLoop`.

    Args:
        engine_path: a serialised engine (``ssr export --format tensorrt``).
        device: the CUDA device of the buffers (default ``cuda``).
        tensorrt: the ``tensorrt`` module (tests pass a stand-in; default: import it).

    Raises:
        RuntimeError: TensorRT or CUDA unavailable, or the engine cannot be deserialised.
        ValueError: the engine's tensors are not those of an SSR step graph.
    """

    def __init__(self, engine_path: str | os.PathLike[str], device: str = "cuda", tensorrt: Any = None) -> None:
        import torch

        if tensorrt is None:
            reason = tensorrt_unavailable_reason()
            if reason is not None:
                raise RuntimeError(reason)
            import tensorrt
        self.trt = tensorrt
        self.torch = torch
        self.device = torch.device(device)
        if not os.path.isfile(engine_path):
            raise FileNotFoundError(f"TensorRT engine not found: {engine_path} (build one with `ssr export --format tensorrt`)")
        self.engine_path = os.fspath(engine_path)
        self.logger = tensorrt.Logger(tensorrt.Logger.WARNING)
        self.runtime = tensorrt.Runtime(self.logger)
        with open(self.engine_path, "rb") as handle:
            self.engine = self.runtime.deserialize_cuda_engine(handle.read())
        if self.engine is None:
            raise RuntimeError(f"{self.engine_path}: TensorRT could not deserialise the engine "
                               "(built by another TensorRT version or for another GPU?)")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == tensorrt.TensorIOMode.INPUT]
        if sorted(inputs) != sorted(GRAPH_INPUTS) or sorted(set(names) - set(inputs)) != sorted(GRAPH_OUTPUTS):
            raise ValueError(f"{self.engine_path}: not an SSR step engine (tensors {names})")
        shape = tuple(self.engine.get_tensor_shape("packed"))
        self.engine_size: tuple[int, int] | None = None if min(shape[2:]) < 0 else (int(shape[2]), int(shape[3]))
        """``(H, W)`` of a static engine, None for a dynamic one."""
        self.context = self.engine.create_execution_context()
        if self.device.type == "cuda":
            self.stream = torch.cuda.Stream(device=self.device)
            self.stream_handle = self.stream.cuda_stream
        else:  # only a stand-in TensorRT runs on host memory
            self.stream, self.stream_handle = None, 0
        self._buffers: dict[tuple[int, int], dict[str, Any]] = {}
        self._bound_size: tuple[int, int] | None = None
        from .onnx_backend import load_sidecar

        sidecar = load_sidecar(Path(self.engine_path).with_suffix(".onnx")) or {}
        self.model_config: dict[str, Any] = dict(sidecar.get("model_config", {}))
        """The model config in the sidecar of the ONNX graph the engine was built from
        (``ssr export`` writes ``<engine stem>.onnx`` and its ``.onnx.json`` next to the
        engine); empty without one. Read once, here."""
        self.specular_floor = float(self.model_config.get("specular_floor", 0.0))
        """The model's ``ModelConfig.specular_floor`` (0 without a sidecar): the demodulation
        floor :class:`ssr.streaming.StreamLoop` packs frames with."""

    @property
    def subpixel(self) -> bool:
        """From the sidecar's model config (:attr:`model_config`); True without one."""
        return bool(self.model_config.get("subpixel", True))

    def _padded(self, height: int, width: int) -> tuple[int, int]:
        return padded_size(self.engine_size, height, width, self.engine_path)

    def _buffers_for(self, size: tuple[int, int]) -> dict[str, Any]:
        if size not in self._buffers:
            torch = self.torch
            if len(self._buffers) >= MAX_CACHED_SIZES:
                self._buffers.pop(next(iter(self._buffers)))
            height, width = size

            def zeros(name: str) -> Any:
                channels = GRAPH_CHANNELS[name]
                shape = (1, 1, 1, 1) if name == "reset" else (1, channels, height, width)
                return torch.zeros(shape, dtype=torch.float32, device=self.device)

            self._buffers[size] = {
                "packed": zeros("packed"), "reset": zeros("reset"), "color": zeros("color"),
                "states": [(zeros("acc"), zeros("prev_out")) for _ in range(3)],
                "host_packed": np.zeros((GRAPH_CHANNELS["packed"], height, width), np.float32),
            }
        return self._buffers[size]

    def _bind_shapes(self, size: tuple[int, int]) -> None:
        if self._bound_size == size:
            return
        height, width = size
        for name in ("packed", "acc", "prev_out"):
            if not self.context.set_input_shape(name, (1, GRAPH_CHANNELS[name], height, width)):
                raise ValueError(f"{self.engine_path}: {height}x{width} is outside the engine's optimisation profile")
        self.context.set_input_shape("reset", (1, 1, 1, 1))
        self._bound_size = size

    def initial_state(self, height: int, width: int) -> TensorRTState:
        size = self._padded(height, width)
        self._buffers_for(size)
        return TensorRTState(size, ZERO_PAIR)

    def run(self, packed: np.ndarray, state: TensorRTState, reset: bool) -> tuple[np.ndarray, TensorRTState]:
        height, width = packed.shape[1:]
        size = self._padded(height, width)
        if state.size != size:
            raise ValueError(f"stream state is {state.size}, frame needs {size}: reset the stream")
        buffers = self._buffers_for(size)
        host = buffers["host_packed"]
        pad_into(host, packed)
        target = next_pair(state.pair)
        acc, prev_out = buffers["states"][state.pair]
        acc_new, out_log = buffers["states"][target]
        torch = self.torch
        with torch.cuda.stream(self.stream) if self.stream is not None else contextlib.nullcontext():
            buffers["packed"][0].copy_(torch.from_numpy(host), non_blocking=False)
            buffers["reset"].fill_(1.0 if reset else 0.0)
            self._bind_shapes(size)
            addresses = {"packed": buffers["packed"], "acc": acc, "prev_out": prev_out, "reset": buffers["reset"],
                         "color": buffers["color"], "acc_new": acc_new, "out_log": out_log}
            for name, tensor in addresses.items():
                self.context.set_tensor_address(name, tensor.data_ptr())
            if not self.context.execute_async_v3(self.stream_handle):
                raise RuntimeError(f"{self.engine_path}: execute_async_v3 failed")
            color = buffers["color"][0].cpu()  # waits for this stream's work
        return unpack_color(color.numpy(), height, width), TensorRTState(size, target)


class TensorRTStream(StreamLoop):
    """The stream loop over :class:`TensorRTBackend` (same arguments)."""

    def __init__(self, engine_path: str | os.PathLike[str], device: str = "cuda", tensorrt: Any = None) -> None:
        super().__init__(TensorRTBackend(engine_path, device, tensorrt))
