"""The frame-stream denoise API (torch backend).

A renderer hands :class:`FrameStream` one frame at a time and gets the denoised linear
HDR colour back; the stream keeps the recurrent state (the accumulated 14-channel state
``A_{t-1}`` and the previous output ``y_{t-1}``) between calls::

    from ssr.runtime.stream import FrameStream

    stream = FrameStream("model.safetensors", device="cuda")
    for frame, camera_cut in engine_frames():          # dict of float32 [H, W, C] layers
        rgb = stream.denoise(frame, cut=camera_cut)    # float32 [H, W, 3], linear HDR

This is the **torch backend**: it runs :func:`ssr.model.step` (one frame of
:class:`ssr.model.SSRNet`) eagerly under ``torch.inference_mode``. The ONNX Runtime
backend with the same interface is :class:`ssr.runtime.onnx_backend.OnnxStream`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ssr.data_tools.pack import pack_frame

if TYPE_CHECKING:
    from ssr.model import SSRNet, StreamState

__all__ = ["FRAME_LAYERS", "FrameStream", "StreamBase", "check_frame"]

FRAME_LAYERS: dict[str, int] = {
    "color": 3,
    "albedo": 3,
    "normal": 3,
    "depth": 1,
    "roughness": 1,
    "metallic": 1,
    "shadow": 1,
    "mask": 1,
    "transparent": 3,
    "motion": 2,
}
"""Input layers of one frame and their channel counts (docs/internals.md)."""

_OPTIONAL_DEFAULTS: dict[str, float] = {"roughness": 0.0, "metallic": 0.0, "transparent": 0.0}
"""Optional layers filled with their FORMAT.md default when absent (``shadow`` defaults to
``mask``: lit where traced, 0 elsewhere)."""


def check_frame(frame: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Validate one input frame and return its layers as ``float32 [H, W, C]``.

    Required layers: ``color``, ``albedo``, ``normal``, ``depth``, ``motion``, ``mask``
    (1 where ``color`` was traced this frame). ``roughness``, ``metallic`` and
    ``transparent`` default to 0; ``shadow`` defaults to ``mask``. One-channel layers may
    be ``[H, W]``.

    Raises:
        ValueError: naming the layer and the problem: missing layer, wrong shape,
            non-numeric data, NaN/Inf values, negative ``color``.
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
        layer = np.ascontiguousarray(layer, dtype=np.float32)
        nonfinite = int((~np.isfinite(layer)).sum())
        if nonfinite:
            raise ValueError(f"frame layer '{name}': {nonfinite} NaN/Inf values")
        checked[name] = layer
    negative = int((checked["color"] < 0).sum())
    if negative:
        raise ValueError(f"frame layer 'color': {negative} negative values")
    if "shadow" not in checked:
        checked["shadow"] = checked["mask"].copy()
    return checked


class StreamBase:
    """What every runtime backend shares: history bookkeeping around one frame step.

    A subclass implements :meth:`_run` (one packed frame -> denoised colour + new state)
    and :attr:`subpixel`. :meth:`denoise` validates and packs the frame, decides whether
    the frame starts a stream (first frame, ``cut``, :meth:`reset`, a size change), and
    commits the new state only after the step succeeded, so a bad frame leaves the
    history untouched.
    """

    def __init__(self) -> None:
        self._state: Any = None
        self._size: tuple[int, int] | None = None
        self.frames_since_reset = 0
        """Frames denoised since the last reset (0 = the next frame starts a stream)."""

    @property
    def subpixel(self) -> bool:  # pragma: no cover - every backend overrides it
        raise NotImplementedError

    @property
    def size(self) -> tuple[int, int] | None:
        """``(height, width)`` of the stream's current state, None before the first frame."""
        return self._size

    def reset(self) -> None:
        """Forget the history: the next frame starts a new stream."""
        self._state = None
        self._size = None
        self.frames_since_reset = 0

    def _run(self, packed: np.ndarray, start: bool) -> tuple[np.ndarray, Any]:
        """One step on ``packed`` ``float32 [19, H, W]``; ``start`` = no history.

        Returns ``(colour float32 [H, W, 3] C-contiguous, new state)``; must not touch
        ``self._state``.
        """
        raise NotImplementedError  # pragma: no cover

    def denoise(self, frame: Mapping[str, np.ndarray], cut: bool = False) -> np.ndarray:
        """Denoise one frame.

        Args:
            frame: dict of ``float32 [H, W, C]`` layers (see :func:`check_frame`):
                ``color`` (noisy linear radiance, 0 where not traced), G-buffers,
                ``mask`` and ``motion`` (FORMAT.md conventions).
            cut: True at a camera cut: the history is not reused for this frame.

        Returns:
            ``float32 [H, W, 3]`` denoised linear HDR radiance (C-contiguous).

        Raises:
            ValueError: a bad frame, or one the backend cannot run (the state is left
                unchanged).
        """
        packed = pack_frame(check_frame(frame))
        height, width = packed.shape[1:]
        start = cut or self._state is None or self._size != (height, width)
        result, new_state = self._run(packed, start)
        # commit the state only after everything above succeeded
        self._state, self._size = new_state, (height, width)
        self.frames_since_reset = 1 if start else self.frames_since_reset + 1
        return result


class FrameStream(StreamBase):
    """Stateful frame-by-frame denoiser (torch backend).

    Args:
        model: an :class:`ssr.model.SSRNet`, a path to saved weights
            (:func:`ssr.model.load_model`), or None for the bundled default weights.
        device: torch device string, ``"cpu"`` or ``"cuda"``. A given ``SSRNet`` is moved
            there and switched to eval mode.

    The stream resets (no history reused) at its first frame, when ``cut=True``, after
    :meth:`reset`, and automatically when the frame size changes. A frame that fails
    validation raises :class:`ValueError` and leaves the state untouched, so the next good
    frame continues the stream as if the bad one never came.
    """

    def __init__(self, model: "SSRNet | str | os.PathLike[str] | None" = None, device: str = "cpu") -> None:
        import torch

        from ssr.model import load_model

        self.device = torch.device(device)
        if model is None or isinstance(model, (str, os.PathLike)):
            net = load_model(model, device=str(self.device))
        else:
            net = model.to(self.device)
        self.model = net.eval()
        super().__init__()

    @property
    def subpixel(self) -> bool:
        """True when the model expects 1/4-spp subpixel input (``model.config.subpixel``)."""
        return bool(getattr(getattr(self.model, "config", None), "subpixel", True))

    def _run(self, packed: np.ndarray, start: bool) -> tuple[np.ndarray, "StreamState"]:
        import torch

        from ssr.model import initial_state, step

        height, width = packed.shape[1:]
        with torch.inference_mode():
            packed_t = torch.from_numpy(packed)[None].to(self.device)
            state = initial_state(1, height, width, device=self.device) if start else self._state
            color, new_state = step(self.model, packed_t, state, reset=start)
            result = color[0].permute(1, 2, 0).float().cpu().numpy()
        return np.ascontiguousarray(result, dtype=np.float32), new_state
