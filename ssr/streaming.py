"""The stream loop: the one definition of how a denoising stream handles its state.

A :class:`StreamLoop` drives a :class:`Backend` (torch here; ONNX Runtime and TensorRT in
:mod:`ssr.runtime`) one frame at a time::

    loop = StreamLoop(TorchBackend(model))
    for frame, camera_cut in frames:                 # dict of float32 [H, W, C] layers
        rgb = loop.denoise(frame, cut=camera_cut)    # float32 [H, W, 3], linear HDR

It owns, for every caller (``ssr denoise``, ``ssr eval``, training validation, export
parity, the benches):

* **validation at the engine edge**: :func:`check_frame` (frames from disk were checked
  by the reader already and may enter through :meth:`StreamLoop.step` as packed planes);
* **reset**: a frame starts a new stream (fresh state from the backend) at the first
  frame, at ``cut=True``, after :meth:`StreamLoop.reset`, and when the frame size changes;
* **commit**: the backend returns the new state and the loop stores it only after the
  step succeeded, so a bad frame leaves the history untouched.

A backend is anything with ``subpixel``, ``initial_state(height, width)`` and
``run(packed, state, reset) -> (colour, new_state)`` (:class:`Backend`); one that also has
``input_buffer(height, width)`` gets the frame packed straight into the buffer it binds
(no copy).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Protocol

import numpy as np

from ssr.data_tools.contract import FRAME_LAYERS, PACKED_CHANNELS, SLICES
from ssr.data_tools.frame_checks import FrameValueError, find_value_problem
from ssr.data_tools.pack import pack_frame, unpack_color

if TYPE_CHECKING:
    from ssr.model import SSRNet

__all__ = ["Backend", "StreamLoop", "TorchBackend", "check_frame"]

_OPTIONAL_DEFAULTS: dict[str, float] = {"roughness": 0.0, "metallic": 0.0, "transparent": 0.0}
"""Optional layers filled with their docs/format.md default when absent (``shadow`` defaults to
``mask``: lit where traced, 0 elsewhere)."""


def check_frame(frame: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Validate one input frame and return its layers as ``float32 [H, W, C]``.

    Required layers: ``color``, ``albedo``, ``normal``, ``depth``, ``motion``, ``mask``
    (1 where ``color`` was traced this frame). ``roughness``, ``metallic`` and
    ``transparent`` default to 0; ``shadow`` defaults to ``mask``. One-channel layers may
    be ``[H, W]``.

    Raises:
        ValueError: naming the layer and the problem: missing layer, wrong shape,
            non-numeric data; for the values (NaN/Inf, negative ``color``, a normal not
            unit length where ``depth > 0``: the checks of frames read from disk,
            :func:`ssr.data_tools.frame_checks.find_value_problem`) a
            :class:`~ssr.data_tools.frame_checks.FrameValueError` that also names the
            channel.
    """
    if not isinstance(frame, Mapping):
        raise ValueError(f"frame must be a dict of layers, got {type(frame).__name__}")
    if "color" not in frame:
        raise ValueError("frame layer 'color' is missing")
    color = np.asarray(frame["color"])
    if color.ndim != 3 or color.shape[2] != 3 or color.shape[0] == 0 or color.shape[1] == 0:
        raise ValueError(f"frame layer 'color': expected shape [H, W, 3], got {color.shape}")
    height, width = color.shape[:2]
    checked: dict[str, np.ndarray] = {}
    given: dict[str, np.ndarray] = {}  # the layers the caller passed (defaults need no check)
    for name, channels in FRAME_LAYERS.items():
        if name not in frame:
            if name in _OPTIONAL_DEFAULTS:
                checked[name] = np.full((height, width, channels), _OPTIONAL_DEFAULTS[name], np.float32)
                continue
            if name == "shadow" and "mask" in frame:
                continue  # filled from the checked mask below
            raise ValueError(f"frame layer '{name}' is missing")
        layer = np.asarray(frame[name])
        if not (np.issubdtype(layer.dtype, np.floating) or np.issubdtype(layer.dtype, np.integer)):
            raise ValueError(f"frame layer '{name}': expected float data, got dtype {layer.dtype}")
        if layer.ndim == 2 and channels == 1:
            layer = layer[:, :, None]
        if layer.shape != (height, width, channels):
            raise ValueError(
                f"frame layer '{name}': expected shape {(height, width, channels)} "
                f"(size taken from 'color'), got {np.shape(frame[name])}"
            )
        checked[name] = given[name] = np.ascontiguousarray(layer, dtype=np.float32)
    # min/max reductions per layer and one blocked pass over the normals when the frame is valid
    problem = find_value_problem(given)
    if problem is not None:
        raise FrameValueError(problem.layer, problem.channel, problem.problem)
    if "shadow" not in checked:
        checked["shadow"] = checked["mask"].copy()
    return checked


class Backend(Protocol):
    """What a :class:`StreamLoop` needs from an inference backend.

    Optionally also ``specular_floor`` (float): the model's demodulation floor
    (``ModelConfig.specular_floor``) that :meth:`StreamLoop.denoise` packs frames with; a
    backend without it runs a model packed with the G-buffer albedo (0).
    """

    @property
    def subpixel(self) -> bool:
        """True when the model expects 1/4-spp subpixel input."""
        ...

    def initial_state(self, height: int, width: int) -> Any:
        """The state of a new stream at this size."""
        ...

    def run(self, packed: np.ndarray, state: Any, reset: bool) -> tuple[np.ndarray, Any]:
        """One step: ``packed`` ``float32 [19, H, W]``, the previous ``state`` (a fresh one
        when ``reset``) -> ``(colour float32 [H, W, 3] C-contiguous, new state)``. Must not
        modify ``state`` in place when it raises."""
        ...


class StreamLoop:
    """Stateful frame-by-frame denoising over a :class:`Backend` (see the module docstring)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._state: Any = None
        self._size: tuple[int, int] | None = None
        self.frames_since_reset = 0
        """Frames denoised since the last reset (0 = the next frame starts a stream)."""

    @property
    def subpixel(self) -> bool:
        """True when the backend's model expects 1/4-spp subpixel input."""
        return bool(self.backend.subpixel)

    @property
    def state(self) -> Any:
        """The committed state of the stream (the backend's type), None before the first frame."""
        return self._state

    @property
    def size(self) -> tuple[int, int] | None:
        """``(height, width)`` of the stream's current state, None before the first frame."""
        return self._size

    def reset(self) -> None:
        """Forget the history: the next frame starts a new stream."""
        self._state = None
        self._size = None
        self.frames_since_reset = 0

    def step(self, packed: np.ndarray, cut: bool = False) -> np.ndarray:
        """Denoise one already packed frame (``float32 [19, H, W]``, as from
        :func:`ssr.data_tools.pack_frame`; trusted: validated where it was read).

        Returns:
            ``float32 [H, W, 3]`` denoised linear HDR radiance.
        """
        if packed.ndim != 3 or packed.shape[0] != PACKED_CHANNELS:
            raise ValueError(f"packed frame must be [{PACKED_CHANNELS}, H, W], got {packed.shape}")
        height, width = packed.shape[1:]
        start = cut or self._state is None or self._size != (height, width)
        state = self.backend.initial_state(height, width) if start else self._state
        result, new_state = self.backend.run(packed, state, start)
        # commit the state only after everything above succeeded
        self._state, self._size = new_state, (height, width)
        self.frames_since_reset = 1 if start else self.frames_since_reset + 1
        return result

    def denoise(self, frame: Mapping[str, np.ndarray], cut: bool = False) -> np.ndarray:
        """Denoise one frame from a renderer.

        Args:
            frame: dict of ``float32 [H, W, C]`` layers (see :func:`check_frame`):
                ``color`` (noisy linear radiance, 0 where not traced), G-buffers,
                ``mask`` and ``motion`` (docs/format.md conventions).
            cut: True at a camera cut: the history is not reused for this frame.

        Returns:
            ``float32 [H, W, 3]`` denoised linear HDR radiance (C-contiguous).

        Raises:
            ValueError: a bad frame, or one the backend cannot run (the state is left
                unchanged).
        """
        checked = check_frame(frame)
        height, width = checked["color"].shape[:2]
        provide = getattr(self.backend, "input_buffer", None)  # optional: pack straight into the bound input
        target = provide(height, width) if provide is not None else None
        floor = float(getattr(self.backend, "specular_floor", 0.0))
        return self.step(pack_frame(checked, out=target, specular_floor=floor), cut)


class TorchBackend:
    """Eager PyTorch backend: :func:`ssr.model.step` under ``torch.inference_mode``.

    Args:
        model: an :class:`ssr.model.SSRNet`, a path to saved weights
            (:func:`ssr.model.load_model`), or None for the bundled default weights.
        device: any torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` ...). A
            given ``SSRNet`` is moved there and switched to eval mode.
        channels_last: run the convolutions in NHWC memory format (1.6x faster with oneDNN
            on CPUs at 512x1024). Default: on for a model this backend loads itself, off for
            a given ``SSRNet`` (its parameters are not re-laid out behind the caller's back).
        state_warp: how the state is warped by the frame's motion. ``"torch"`` (default):
            inside the network (``grid_sample``), the form training uses. ``"runtime"``: by
            the runtime's exact bilinear warp (:func:`ssr.data_tools.warp.warp_planes`,
            native when built) before :meth:`SSRNet.forward_prewarped` -- what a graph
            exported with ``warp="outside"`` or native pixel stages receives, so parity
            compares the exported computation on identical inputs (the two warps differ by
            ~1e-4, which a trained network amplifies at a few pixels after a reset:
            docs/benchmarks-history.md section 13).
    """

    def __init__(self, model: "SSRNet | str | os.PathLike[str] | None" = None, device: str = "cpu",
                 channels_last: bool | None = None, state_warp: str = "torch") -> None:
        import torch

        from ssr.model import load_model

        if state_warp not in ("torch", "runtime"):
            raise ValueError(f"TorchBackend: state_warp must be 'torch' or 'runtime', got {state_warp!r}")
        self.state_warp = state_warp
        self.device = torch.device(device)
        owned = model is None or isinstance(model, (str, os.PathLike))
        net = load_model(model, device=str(self.device)) if owned else model.to(self.device)  # type: ignore[union-attr]
        self.channels_last = owned if channels_last is None else channels_last
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.model = net.eval()

    @property
    def subpixel(self) -> bool:
        """``model.config.subpixel`` (True for models without a config)."""
        return bool(getattr(getattr(self.model, "config", None), "subpixel", True))

    @property
    def specular_floor(self) -> float:
        """``model.config.specular_floor`` (0 for models without a config)."""
        return float(getattr(getattr(self.model, "config", None), "specular_floor", 0.0))

    def initial_state(self, height: int, width: int) -> Any:
        from ssr.model import initial_state

        return initial_state(1, height, width, device=self.device)

    def run(self, packed: np.ndarray, state: Any, reset: bool) -> tuple[np.ndarray, Any]:
        import torch

        from ssr.model import step

        with torch.inference_mode():
            packed_t = torch.from_numpy(np.ascontiguousarray(packed))[None].to(self.device)
            if self.channels_last:
                packed_t = packed_t.contiguous(memory_format=torch.channels_last)
            if self.state_warp == "runtime":
                color, new_state = self._step_prewarped(packed, packed_t, state, reset)
            else:
                color, new_state = step(self.model, packed_t, state, reset=reset)
            planes = color[0].float().cpu().numpy()
        return unpack_color(planes), new_state  # native CHW -> HWC (+ clamp at 0)

    def _step_prewarped(self, packed: np.ndarray, packed_t: Any, state: Any, reset: bool) -> tuple[Any, Any]:
        """One frame with the state warped by the runtime (``state_warp="runtime"``)."""
        import torch

        from ssr.data_tools.warp import warp_planes
        from ssr.model import StreamState
        from ssr.model.network import reset_tensor

        motion = SLICES["motion"]
        motion_x, motion_y = packed[motion.start], packed[motion.start + 1]
        warped = [torch.from_numpy(warp_planes(np.ascontiguousarray(part.detach().cpu().float().numpy()),
                                               motion_x, motion_y)).to(self.device)
                  for part in (state.acc, state.prev_out)]
        flag = reset_tensor(reset, 1, self.device, packed_t.dtype)
        color, acc, out_log = self.model.forward_prewarped(packed_t, *warped, flag)
        return color, StreamState(acc, out_log)
