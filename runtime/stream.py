"""The frame-stream denoise API (torch backend).

A renderer hands :class:`FrameStream` one frame at a time and gets the denoised linear
HDR colour back; the stream keeps the recurrent state (the accumulated 14-channel state
``A_{t-1}`` and the previous output ``y_{t-1}``) between calls::

    from ssr.runtime.stream import FrameStream

    stream = FrameStream("model.safetensors", device="cuda")
    for frame, camera_cut in engine_frames():          # dict of float32 [H, W, C] layers
        rgb = stream.denoise(frame, cut=camera_cut)    # float32 [H, W, 3], linear HDR

:class:`FrameStream` is :class:`ssr.streaming.StreamLoop` (the one stream loop: validation,
reset at first frame / cut / size change / :meth:`reset`, commit after a successful
step) over :class:`ssr.streaming.TorchBackend`. The same loop drives the ONNX Runtime
backend (:class:`ssr.runtime.onnx_backend.OnnxStream`); :func:`ssr.runtime.open_stream`
picks a backend by name.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ssr.data_tools.contract import FRAME_LAYERS
from ssr.streaming import StreamLoop, TorchBackend, check_frame

if TYPE_CHECKING:
    from ssr.model import SSRNet

__all__ = ["FRAME_LAYERS", "FrameStream", "check_frame"]


class FrameStream(StreamLoop):
    """Stateful frame-by-frame denoiser (torch backend).

    Args:
        model: an :class:`ssr.model.SSRNet`, a path to saved weights
            (:func:`ssr.model.load_model`), or None for the bundled default weights.
        device: any torch device string (``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...). A given
            ``SSRNet`` is moved there and switched to eval mode.

    The stream resets (no history reused) at its first frame, when ``cut=True``, after
    :meth:`reset`, and automatically when the frame size changes. A frame that fails
    validation raises :class:`ValueError` and leaves the state untouched, so the next good
    frame continues the stream as if the bad one never came.
    """

    def __init__(self, model: "SSRNet | str | os.PathLike[str] | None" = None, device: str = "cpu") -> None:
        super().__init__(TorchBackend(model, device))

    @property
    def model(self) -> "SSRNet":
        return self.backend.model  # type: ignore[attr-defined, no-any-return]

    @property
    def device(self):  # noqa: ANN201 - torch.device
        return self.backend.device  # type: ignore[attr-defined]
