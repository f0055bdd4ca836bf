"""ONNX export of one SSR frame step, its JSON sidecar, and a torch/onnxruntime parity check.

The exported graph is :meth:`ssr.model.SSRNet.forward` for batch 1, all tensors
``float32`` NCHW:

========== ================== ==============================================================
name       shape              meaning
========== ================== ==============================================================
packed     ``[1, 19, H, W]``  :func:`ssr.data_tools.pack_frame` planes of this frame
acc        ``[1, 14, H, W]``  accumulated state ``A_{t-1}`` (``acc_new`` of the last frame)
prev_out   ``[1, 3, H, W]``   previous output ``y_{t-1}`` (``out_log`` of the last frame)
reset      ``[1, 1, 1, 1]``   1 at a stream's first frame and at cuts, else 0
color      ``[1, 3, H, W]``   denoised linear HDR radiance
acc_new    ``[1, 14, H, W]``  next frame's ``acc``
out_log    ``[1, 3, H, W]``   next frame's ``prev_out`` (demodulated log irradiance)
========== ================== ==============================================================

**Static** export (default) fixes ``H`` and ``W`` to the export size; any size works (the
U-Net's replicate padding to a multiple of 4 is traced as constants for that size).

**Dynamic** export (``dynamic=True``) names axes 2 and 3 ``height`` and ``width``. The
tracer records the U-Net padding as constants, so it is traced at a size that needs none:
the export size **and every run-time size must be multiples of 4** (:data:`SIZE_MULTIPLE`).
:class:`ssr.runtime.onnx_backend.OnnxStream` pads other sizes outside the graph.

**Native pixel stages** (``pixel_stages="native"``, ``ssr export --pixel-stages native``;
``fast``-layout kernel models only): the graph is :class:`ssr.model.pixel_stages.UNetTrunk`,
the U-Net's half- and quarter-resolution part: inputs ``down`` ``[1, c1, H/2, W/2]``,
``prev_half`` ``[1, 3, H/2, W/2]``, ``signal_half`` ``[1, 4, H/2, W/2]``, outputs ``coarse``
``[1, 3, H/2, W/2]`` and ``carry`` ``[1, 4, H/2, W/2]``; the runtime runs every
full-resolution stage natively around it (``runtime/include/ssr_stages.h``). Always
dynamic-shaped (multiples of 4); the weights of the full-resolution layers are stored in
the graph's ``ssr.stage_weights`` metadata.

Export uses the TorchScript tracer (``dynamo=False``: the dynamo exporter needs
``onnxscript``, which is not a dependency).

Example::

    from ssr.export.onnx import check_parity, export_onnx
    path = export_onnx("runs/small/model", "ssr.onnx", height=720, width=1280)
    check_parity("runs/small/model", path, 64, 64)   # raises ParityError on mismatch
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from ssr.data_tools.contract import (
    CONTRACT_VERSION,
    GRAPH_CHANNELS,
    GRAPH_INPUTS,
    GRAPH_INPUTS_NATIVE,
    GRAPH_INPUTS_PREWARPED,
    GRAPH_OUTPUTS,
    GRAPH_OUTPUTS_NATIVE,
    OUTPUT_CHANNELS,
    PACKED_CHANNELS,
    SIZE_MULTIPLE,
    SLICES,
    STAGE_CHANNELS,
    STAGE_SIGNAL_PLANES,
    STATE_CHANNELS,
)
from ssr.data_tools.format import subpixel_mask
from ssr.runtime.onnx_backend import EXPORT_FORMAT, check_run_size, graph_size, load_sidecar, sidecar_path

if TYPE_CHECKING:
    from ssr.model import SSRNet

__all__ = [
    "DEFAULT_OPSET",
    "EXPORT_FORMAT",
    "INPUT_NAMES",
    "OUTPUT_NAMES",
    "SIZE_MULTIPLE",
    "ParityError",
    "check_parity",
    "check_run_size",
    "export_onnx",
    "graph_size",
    "load_sidecar",
    "random_stream_inputs",
    "sidecar_path",
    "write_metadata",
]

DEFAULT_OPSET = 17
"""Opset 17 is the lowest with everything the graph needs (GridSample needs 16)."""
INPUT_NAMES, OUTPUT_NAMES = GRAPH_INPUTS, GRAPH_OUTPUTS

ModelLike = Union["SSRNet", str, "os.PathLike[str]", None]


class ParityError(AssertionError):
    """The ONNX graph's outputs differ from torch's by more than the tolerance."""


def _resolve_model(model: ModelLike) -> tuple["SSRNet", dict[str, Any]]:
    """An eval-mode CPU :class:`SSRNet` and a description of where its weights came from."""
    from ssr.model import SSRNet, load_model
    from ssr.model.weights import weights_file

    if isinstance(model, SSRNet):
        return model, {"path": None, "sha256": None, "note": "in-memory SSRNet"}
    if model is not None and not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be an SSRNet, a weights path or None, got {type(model).__name__}")
    net = load_model(model, device="cpu")
    tensors_path = weights_file(model)  # saved weights, or a training checkpoint (<run>/last.pt)
    digest = hashlib.sha256(tensors_path.read_bytes()).hexdigest()
    return net, {"path": str(tensors_path.resolve()), "sha256": digest, "bundled": model is None}


def _check_size(height: int, width: int, dynamic: bool) -> None:
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f"export size must be positive, got height={height} width={width}")
    if dynamic and (height % SIZE_MULTIPLE or width % SIZE_MULTIPLE):
        raise ValueError(
            f"a dynamic-shape export must be traced at a size that is a multiple of {SIZE_MULTIPLE} "
            f"(got {height}x{width}); the U-Net padding would otherwise be baked in as constants"
        )


def _io_shapes(height: int, width: int, dynamic: bool, down_channels: int = 0,
               signal_planes: int = STAGE_SIGNAL_PLANES["irradiance"]) -> dict[str, list[int | str]]:
    h: int | str = "height" if dynamic else height
    w: int | str = "width" if dynamic else width
    channels = {**GRAPH_CHANNELS, "warped_acc": GRAPH_CHANNELS["acc"], "warped_prev": GRAPH_CHANNELS["prev_out"]}
    shapes: dict[str, list[int | str]] = {name: [1, channels[name], h, w] for name in channels}
    shapes["reset"] = [1, 1, 1, 1]
    half_h: int | str = "half_height" if dynamic else height // 2
    half_w: int | str = "half_width" if dynamic else width // 2
    for name in ("prev_half", "signal_half", "coarse", "carry"):
        shapes[name] = [1, signal_planes if name in ("signal_half", "carry") else STAGE_CHANNELS[name], half_h, half_w]
    shapes["down"] = [1, down_channels, half_h, half_w]  # the model's c1
    return shapes


def write_metadata(path: str | os.PathLike[str], entries: dict[str, str]) -> None:
    """Store the model's I/O contract in the graph itself (``metadata_props``), so a runtime
    without the sidecar (ONNX Runtime, TensorRT's parser, Unreal NNE) can check it."""
    import onnx

    model = onnx.load(str(path))
    kept = [prop for prop in model.metadata_props if prop.key not in entries]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in entries.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def _restore_pruned_inputs(path: Path, shapes: dict[str, list[int | str]], inputs: tuple[str, ...]) -> None:
    """Put back graph inputs the tracer dropped because the model does not read them.

    ``prev_out`` is unused by a ``use_warped_prev=False`` model; the exporter then omits it,
    which would change the interface. An unused graph input is valid ONNX, so it is re-added
    (in :data:`INPUT_NAMES` order) and every export has the same four inputs.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    present = {value.name: value for value in model.graph.input}
    if all(name in present for name in inputs):
        return
    ordered = [
        present[name] if name in present else helper.make_tensor_value_info(name, TensorProto.FLOAT, shapes[name])
        for name in inputs
    ]
    extra = [value for value in model.graph.input if value.name not in inputs]
    del model.graph.input[:]
    model.graph.input.extend(ordered + extra)
    onnx.save(model, str(path))


def _prewarped_module(net: Any) -> Any:
    """``SSRNet.forward_prewarped`` as the module the exporter traces (``warp="outside"``)."""
    import torch

    class Prewarped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, packed: Any, warped_acc: Any, warped_prev: Any, reset: Any) -> Any:
            return self.net.forward_prewarped(packed, warped_acc, warped_prev, reset)

    return Prewarped()


def random_stream_inputs(height: int, width: int, frames: int, seed: int = 0,
                         coherent: bool = False) -> list[np.ndarray]:
    """Plausible random packed frames for tests: ``frames`` arrays ``float32 [1, 19, H, W]``.

    Log irradiance in [0, 2], albedo in [0.1, 1], unit normals, depth/roughness/metallic in
    [0, 1], a 2x2 subpixel mask and matching shadow, no transparency, motion in [-1.5, 1.5]
    pixels (so warps sample across the frame border too).

    ``coherent=True`` gives the stream a G-buffer that holds still enough for a
    ``history="rule"`` model's validity tests to keep history somewhere and drop it
    elsewhere: a slanted, gently curved surface (normals within the validity cone of their
    neighbours, depth a ramp) with a nearer box moving one pixel a frame, a few pixels whose
    normal flips each frame, a sky corner (misses), a glass patch and roughness from mirror
    to diffuse. (Random normals and depths per frame leave a rule model no valid tap and
    feed its TFA views no real history has.)
    """
    rng = np.random.default_rng(seed)
    stream = []
    for index in range(frames):
        packed = np.zeros((1, PACKED_CHANNELS, height, width), np.float32)
        mask = subpixel_mask(index, height, width)
        planes = packed[0]
        planes[SLICES["irradiance"]] = rng.uniform(0.0, 2.0, (3, height, width)) * mask
        planes[SLICES["albedo"]] = rng.uniform(0.1, 1.0, (3, height, width))
        normal = rng.normal(size=(3, height, width))
        planes[SLICES["normal"]] = normal / np.linalg.norm(normal, axis=0, keepdims=True)
        for name in ("depth", "roughness", "metallic"):
            planes[SLICES[name]] = rng.uniform(0.0, 1.0, (1, height, width))
        planes[SLICES["shadow"]] = mask * (rng.uniform(size=(height, width)) > 0.3)
        planes[SLICES["mask"]] = mask
        planes[SLICES["motion"]] = rng.uniform(-1.5, 1.5, (2, height, width))
        if coherent:
            _hold_gbuffer(planes, index, rng)
        stream.append(packed)
    return stream


def _hold_gbuffer(planes: np.ndarray, index: int, rng: np.random.Generator) -> None:
    """The coherent G-buffer of :func:`random_stream_inputs` for frame ``index``, in place."""
    height, width = planes.shape[-2:]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    normal = np.stack((0.2 * np.sin(x / 5.0), 0.2 * np.cos(y / 4.0), np.ones_like(x)))
    normal[:, rng.random((height, width)) < 0.05] *= -1.0
    planes[SLICES["normal"]] = normal / np.linalg.norm(normal, axis=0, keepdims=True)
    depth = 1.0 + 0.02 * x + 0.01 * y
    depth[(np.abs(x - (width / 3 + index)) < 4) & (np.abs(y - height / 2) < 4)] = 0.5
    depth[:2, :3] = 0.0
    planes[SLICES["depth"]] = depth
    planes[SLICES["roughness"]] = np.clip(x / width + 0.1 * rng.random((height, width)), 0.0, 1.0)
    planes[SLICES["transparent"]] = 0.0
    planes[SLICES["transparent"].start:SLICES["transparent"].stop, -4:, :4] = 0.6


def export_onnx(
    model: ModelLike,
    path: str | os.PathLike[str],
    *,
    height: int,
    width: int,
    opset: int = DEFAULT_OPSET,
    dynamic: bool = False,
    warp: str = "inside",
    pixel_stages: str = "graph",
) -> Path:
    """Export one frame step of ``model`` to ONNX and write the sidecar ``<path>.json``.

    Args:
        model: an :class:`ssr.model.SSRNet`, a weights path (:func:`ssr.model.load_model`),
            or None for the bundled default weights. The model is exported in eval mode on
            the CPU; a given ``SSRNet`` gets its train/eval mode and device restored.
        path: destination ``.onnx`` file (parent folders are created).
        height, width: the export size (the fixed size of a static graph; for
            ``dynamic=True`` the trace size, which must be a multiple of 4).
        opset: ONNX opset (>= 16 for GridSample; 17 by default).
        dynamic: make H and W dynamic axes (``height``, ``width``); run-time sizes must then
            be multiples of :data:`SIZE_MULTIPLE`.
        warp: ``inside`` (the graph warps its state with two GridSample layers: inputs
            ``acc``, ``prev_out``) or ``outside`` (the runtime warps natively before the
            graph: inputs ``warped_acc``, ``warped_prev``; ONNX Runtime's CPU GridSample is
            slow, see docs/export.md).
        pixel_stages: ``graph`` (everything in the graph) or ``native`` (the U-Net's half-
            and quarter-resolution part only; the runtime runs every full-resolution stage
            natively, module docstring). Native implies a dynamic graph with the warp outside.

    Returns:
        The written ``.onnx`` path. The sidecar holds ``format``, ``version``,
        ``model_config``, ``opset``, ``dynamic``, ``export_size``, ``size_multiple``,
        ``inputs``/``outputs`` (``[{"name", "shape", "dtype"}]``, dynamic axes named) and
        ``source_weights`` (``path`` + ``sha256`` of the safetensors file, or null fields
        for an in-memory model).

    Raises:
        ValueError: bad size/opset; onnx.checker rejects the graph.
    """
    import onnx
    import torch

    if pixel_stages not in ("graph", "native"):
        raise ValueError(f"pixel_stages must be 'graph' or 'native', got {pixel_stages!r}")
    native = pixel_stages == "native"
    if native:
        dynamic, warp = True, "outside"
    _check_size(height, width, dynamic)
    if warp not in ("inside", "outside"):
        raise ValueError(f"warp must be 'inside' or 'outside', got {warp!r}")
    inputs = GRAPH_INPUTS_NATIVE if native else GRAPH_INPUTS if warp == "inside" else GRAPH_INPUTS_PREWARPED
    outputs = GRAPH_OUTPUTS_NATIVE if native else OUTPUT_NAMES
    if opset < 16:
        raise ValueError(f"opset must be >= 16 (GridSample), got {opset}")
    net, source = _resolve_model(model)
    if net.config.history == "rule" and warp == "outside" and not native:
        raise ValueError("warp='outside': a history='rule' model tests every reprojection tap against the previous "
                         "G-buffer inside its step; export it with the warp inside (--warp inside)")
    native_metadata: dict[str, str] = {}
    if native:
        from ssr.runtime.stage_weights import encode_stage_weights
        from ssr.model.pixel_stages import check_native_stages, stage_weight_arrays

        check_native_stages(net)
        native_metadata = {"ssr.stage_weights": encode_stage_weights(stage_weight_arrays(net)),
                           "ssr.kernel_size": str(net.config.kernel_sizes[-1]),
                           "ssr.signal_planes": str(STAGE_SIGNAL_PLANES[net.config.signal])}
    out_path = Path(path)
    out_path.parent.mkdir(parents=True, exist_ok=True)

    was_training = net.training
    device = next(net.parameters()).device
    net.to("cpu").eval()
    generator = torch.Generator().manual_seed(0)
    example: tuple[Any, ...] = (
        torch.rand(1, PACKED_CHANNELS, height, width, generator=generator),
        torch.rand(1, STATE_CHANNELS, height, width, generator=generator),
        torch.rand(1, OUTPUT_CHANNELS, height, width, generator=generator),
        torch.zeros(1, 1, 1, 1),
    )
    dynamic_axes = None
    if dynamic:
        spatial = {2: "height", 3: "width"}
        dynamic_axes = {name: dict(spatial) for name in (*inputs[:3], *OUTPUT_NAMES)}
    traced = net if warp == "inside" else _prewarped_module(net)
    if native:
        from ssr.model.pixel_stages import UNetTrunk, trunk_example

        traced, example = UNetTrunk(net, channel_multiple=4), trunk_example(net, height, width)
        dynamic_axes = {name: {2: "half_height", 3: "half_width"} for name in (*inputs, *outputs)}
    try:
        with warnings.catch_warnings():
            # shape arithmetic and `if pad == 0` are traced as constants: expected, see module doc
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # the TorchScript exporter is deprecated but is the one that needs no onnxscript
            for message in (r"You are using the legacy TorchScript", r"The feature will be removed"):
                warnings.filterwarnings("ignore", message=message, category=DeprecationWarning)
            with torch.no_grad():
                torch.onnx.export(
                    traced,
                    example,
                    str(out_path),
                    input_names=list(inputs),
                    output_names=list(outputs),
                    opset_version=opset,
                    dynamic_axes=dynamic_axes,
                    dynamo=False,
                )
    finally:
        net.to(device).train(was_training)
    shapes = _io_shapes(height, width, dynamic, down_channels=net.config.preset.unet[1],
                        signal_planes=STAGE_SIGNAL_PLANES[net.config.signal])
    _restore_pruned_inputs(out_path, shapes, inputs)
    try:
        onnx.checker.check_model(str(out_path))
    except onnx.checker.ValidationError as error:
        raise ValueError(f"{out_path}: onnx.checker rejected the exported graph: {error}") from error

    write_metadata(out_path, {
        "ssr.format": EXPORT_FORMAT,
        "ssr.contract_version": str(CONTRACT_VERSION),
        "ssr.channels": json.dumps(GRAPH_CHANNELS),
        "ssr.inputs": json.dumps(list(inputs)),
        "ssr.warp": warp,
        "ssr.pixel_stages": pixel_stages,
        "ssr.outputs": json.dumps(list(outputs)),
        "ssr.size_multiple": str(SIZE_MULTIPLE if dynamic else 1),
        "ssr.export_size": json.dumps([height, width]),
        "ssr.dynamic": json.dumps(dynamic),
        "ssr.model_config": json.dumps(net.config.to_dict(), sort_keys=True),
        **native_metadata,
    })
    sidecar = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "model_config": net.config.to_dict(),
        "opset": opset,
        "dynamic": dynamic,
        "export_size": [height, width],
        "size_multiple": SIZE_MULTIPLE if dynamic else 1,
        "contract_version": CONTRACT_VERSION,
        "warp": warp,
        "pixel_stages": pixel_stages,
        "inputs": [{"name": n, "shape": shapes[n], "dtype": "float32"} for n in inputs],
        "outputs": [{"name": n, "shape": shapes[n], "dtype": "float32"} for n in outputs],
        "source_weights": source,
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
    }
    sidecar_path(out_path).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
    return out_path


def check_parity(
    model: ModelLike,
    onnx_path: str | os.PathLike[str],
    height: int,
    width: int,
    frames: int = 3,
    atol: float = 1e-4,
    *,
    rtol: float = 1e-3,
    seed: int = 0,
    providers: list[str] | None = None,
) -> float:
    """Run a short random stream through torch and onnxruntime; return the max abs difference.

    Each backend carries its own state (``acc_new``/``out_log`` fed back as
    ``acc``/``prev_out``); frame 0 is a reset. All three outputs of every frame are
    compared (a ``history="rule"`` model gets the coherent stream, whose G-buffer keeps some
    history valid). For a graph that takes its state pre-warped (``warp="outside"``, native pixel
    stages) torch is stepped with :meth:`SSRNet.forward_prewarped` on the runtime's warp of
    its own state, so the check measures the graph, not torch's ``grid_sample`` against the
    exact bilinear warp.

    Args:
        model: the torch model the graph was exported from (SSRNet, weights path or None).
        onnx_path: the exported graph.
        height, width: stream size: the export size for a static graph, any multiple of 4
            for a dynamic one (fed to the graph as is, without padding).
        frames: stream length (>= 1).
        atol, rtol: an element fails when ``|onnx - torch| > atol + rtol * |torch|`` (NumPy's
            ``allclose`` rule: the colour is linear HDR, where float32 rounding alone grows
            with the value; and a trained TFA's blend weight is the sigmoid of a difference
            of two dot products, which float32 reordering between runtimes moves by up to
            ~6e-4 relative in the state: 2.9e-4 at 0.51 for the bundled model's one-graph
            export, docs/benchmarks-history.md section 13).
        seed: seed of :func:`random_stream_inputs`.
        providers: onnxruntime execution providers (default: CPU).

    Returns:
        The largest absolute difference over all outputs and frames.

    Raises:
        ParityError: a difference exceeds ``atol + rtol * |torch|`` (or an output is not finite).
        ValueError: ``frames`` < 1; the size does not suit the graph (see
            :func:`check_run_size`).
    """
    from ssr.runtime.onnx_backend import OnnxBackend
    from ssr.streaming import StreamLoop, TorchBackend

    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    net, _ = _resolve_model(model)
    was_training = net.training
    onnx_backend = OnnxBackend(onnx_path, providers=providers)
    check_run_size(onnx_backend.session, height, width)
    device = str(next(net.parameters()).device)
    # a graph that gets its state pre-warped is compared with torch stepped on the same warp
    # (a history="rule" model tests its reprojection taps inside its step: torch warps its own,
    # with the same nearest-tap gathers and bilinear weights as the native stage)
    prewarped = onnx_backend.warp_outside and net.config.history != "rule"
    torch_loop = StreamLoop(TorchBackend(net, device=device, state_warp="runtime" if prewarped else "torch"))
    onnx_loop = StreamLoop(onnx_backend)
    worst = 0.0
    failure: tuple[float, float, float, int, str] | None = None  # (excess, difference, torch value, frame, output)
    try:
        stream = random_stream_inputs(height, width, frames, seed=seed, coherent=net.config.history == "rule")
        for index, packed in enumerate(stream):
            want_color = torch_loop.step(packed[0], cut=index == 0)
            have_color = onnx_loop.step(packed[0], cut=index == 0)
            torch_state = torch_loop.state
            onnx_acc, onnx_out_log = onnx_backend.state_arrays(onnx_loop.state)
            pairs = (("color", want_color, have_color),
                     ("acc_new", torch_state.acc[0].cpu().numpy(), onnx_acc[0]),
                     ("out_log", torch_state.prev_out[0].cpu().numpy(), onnx_out_log[0]))
            for name, want, have in pairs:
                if want.shape != have.shape:
                    raise ParityError(f"frame {index} '{name}': onnx shape {have.shape} != torch {want.shape}")
                if not np.isfinite(have).all():
                    raise ParityError(f"frame {index} '{name}': onnxruntime output has NaN/Inf")
                difference = np.abs(have - want)
                worst = max(worst, float(difference.max()))
                excess = difference - (atol + rtol * np.abs(want))
                at = int(np.argmax(excess))
                if excess.flat[at] > 0 and (failure is None or excess.flat[at] > failure[0]):
                    failure = (float(excess.flat[at]), float(difference.flat[at]), float(want.flat[at]), index, name)
    finally:
        net.train(was_training)
    if failure is not None:
        _, difference, value, frame, name = failure
        raise ParityError(
            f"{onnx_path}: onnxruntime differs from torch by {difference:.3g} in '{name}' at frame {frame} "
            f"(torch {value:.4g}) "
            f"(> atol {atol:g} + rtol {rtol:g} x |torch|) over a {frames}-frame {height}x{width} stream"
        )
    return worst
