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
]

EXPORT_FORMAT = "ssr-onnx"
DEFAULT_OPSET = 17
"""Opset 17 is the lowest with everything the graph needs (GridSample needs 16)."""
SIZE_MULTIPLE = 4
"""Dynamic-shape graphs need H and W to be multiples of this (two stride-2 U-Net levels)."""
INPUT_NAMES: tuple[str, ...] = ("packed", "acc", "prev_out", "reset")
OUTPUT_NAMES: tuple[str, ...] = ("color", "acc_new", "out_log")
_CHANNELS: dict[str, int] = {"packed": 19, "acc": 14, "prev_out": 3, "color": 3, "acc_new": 14, "out_log": 3}

ModelLike = Union["SSRNet", str, "os.PathLike[str]", None]


class ParityError(AssertionError):
    """The ONNX graph's outputs differ from torch's by more than the tolerance."""


def sidecar_path(onnx_path: str | os.PathLike[str]) -> Path:
    """``<onnx_path>.json``: e.g. ``model.onnx`` -> ``model.onnx.json``."""
    path = Path(onnx_path)
    return path.with_name(path.name + ".json")


def load_sidecar(onnx_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The sidecar written by :func:`export_onnx`, or None when there is none.

    Raises:
        ValueError: the file exists but is not an ``ssr-onnx`` sidecar.
    """
    path = sidecar_path(onnx_path)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ValueError(f"{path}: not an {EXPORT_FORMAT} sidecar (format={data.get('format')!r})")
    return data


def _resolve_model(model: ModelLike) -> tuple["SSRNet", dict[str, Any]]:
    """An eval-mode CPU :class:`SSRNet` and a description of where its weights came from."""
    from ssr.model import DEFAULT_WEIGHTS, SSRNet, load_model
    from ssr.model.weights import weights_paths

    if isinstance(model, SSRNet):
        return model, {"path": None, "sha256": None, "note": "in-memory SSRNet"}
    if model is not None and not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be an SSRNet, a weights path or None, got {type(model).__name__}")
    net = load_model(model, device="cpu")
    tensors_path, _ = weights_paths(DEFAULT_WEIGHTS if model is None else model)
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


def _io_shapes(height: int, width: int, dynamic: bool) -> dict[str, list[int | str]]:
    h: int | str = "height" if dynamic else height
    w: int | str = "width" if dynamic else width
    shapes: dict[str, list[int | str]] = {name: [1, _CHANNELS[name], h, w] for name in _CHANNELS}
    shapes["reset"] = [1, 1, 1, 1]
    return shapes


def graph_size(session: Any) -> tuple[int, int] | None:
    """``(H, W)`` fixed by an onnxruntime session's ``packed`` input, or None if dynamic.

    Raises:
        ValueError: the graph has no ``packed`` input of rank 4 (not an SSR export).
    """
    inputs = {node.name: node.shape for node in session.get_inputs()}
    shape = inputs.get("packed")
    if shape is None or len(shape) != 4 or set(inputs) != set(INPUT_NAMES):
        raise ValueError(f"not an SSR step graph: inputs {inputs} (expected {list(INPUT_NAMES)})")
    height, width = shape[2], shape[3]
    if isinstance(height, int) and isinstance(width, int):
        return height, width
    return None


def check_run_size(session: Any, height: int, width: int) -> None:
    """Raise ``ValueError`` unless the graph of ``session`` runs at ``height x width`` as is."""
    fixed = graph_size(session)
    if fixed is not None and fixed != (height, width):
        raise ValueError(
            f"this ONNX graph was exported for {fixed[0]}x{fixed[1]} (static shape) and cannot run at "
            f"{height}x{width}; re-export with that size or with --dynamic"
        )
    if fixed is None and (height % SIZE_MULTIPLE or width % SIZE_MULTIPLE):
        raise ValueError(
            f"a dynamic-shape SSR graph needs H and W to be multiples of {SIZE_MULTIPLE}, got "
            f"{height}x{width} (pad outside the graph, as ssr.runtime.onnx_backend.OnnxStream does)"
        )


def _restore_pruned_inputs(path: Path, shapes: dict[str, list[int | str]]) -> None:
    """Put back graph inputs the tracer dropped because the model does not read them.

    ``prev_out`` is unused by a ``use_warped_prev=False`` model; the exporter then omits it,
    which would change the interface. An unused graph input is valid ONNX, so it is re-added
    (in :data:`INPUT_NAMES` order) and every export has the same four inputs.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    present = {value.name: value for value in model.graph.input}
    if all(name in present for name in INPUT_NAMES):
        return
    ordered = [
        present[name] if name in present else helper.make_tensor_value_info(name, TensorProto.FLOAT, shapes[name])
        for name in INPUT_NAMES
    ]
    extra = [value for value in model.graph.input if value.name not in INPUT_NAMES]
    del model.graph.input[:]
    model.graph.input.extend(ordered + extra)
    onnx.save(model, str(path))


def random_stream_inputs(height: int, width: int, frames: int, seed: int = 0) -> list[np.ndarray]:
    """Plausible random packed frames for tests: ``frames`` arrays ``float32 [1, 19, H, W]``.

    Log irradiance in [0, 2], albedo in [0.1, 1], unit normals, depth/roughness/metallic in
    [0, 1], a 2x2 subpixel mask and matching shadow, no transparency, motion in [-1.5, 1.5]
    pixels (so warps sample across the frame border too).
    """
    rng = np.random.default_rng(seed)
    stream = []
    for index in range(frames):
        packed = np.zeros((1, 19, height, width), np.float32)
        mask = np.zeros((height, width), np.float32)
        mask[(index // 2) % 2 :: 2, index % 2 :: 2] = 1.0
        packed[0, 0:3] = rng.uniform(0.0, 2.0, (3, height, width)) * mask
        packed[0, 3:6] = rng.uniform(0.1, 1.0, (3, height, width))
        normal = rng.normal(size=(3, height, width))
        packed[0, 6:9] = normal / np.linalg.norm(normal, axis=0, keepdims=True)
        packed[0, 9:12] = rng.uniform(0.0, 1.0, (3, height, width))
        packed[0, 12] = mask * (rng.uniform(size=(height, width)) > 0.3)
        packed[0, 13] = mask
        packed[0, 17:19] = rng.uniform(-1.5, 1.5, (2, height, width))
        stream.append(packed)
    return stream


def export_onnx(
    model: ModelLike,
    path: str | os.PathLike[str],
    *,
    height: int,
    width: int,
    opset: int = DEFAULT_OPSET,
    dynamic: bool = False,
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

    _check_size(height, width, dynamic)
    if opset < 16:
        raise ValueError(f"opset must be >= 16 (GridSample), got {opset}")
    net, source = _resolve_model(model)
    out_path = Path(path)
    out_path.parent.mkdir(parents=True, exist_ok=True)

    was_training = net.training
    device = next(net.parameters()).device
    net.to("cpu").eval()
    generator = torch.Generator().manual_seed(0)
    example = (
        torch.rand(1, 19, height, width, generator=generator),
        torch.rand(1, 14, height, width, generator=generator),
        torch.rand(1, 3, height, width, generator=generator),
        torch.zeros(1, 1, 1, 1),
    )
    dynamic_axes = None
    if dynamic:
        spatial = {2: "height", 3: "width"}
        dynamic_axes = {name: dict(spatial) for name in ("packed", "acc", "prev_out", *OUTPUT_NAMES)}
    try:
        with warnings.catch_warnings():
            # shape arithmetic and `if pad == 0` are traced as constants: expected, see module doc
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # the TorchScript exporter is deprecated but is the one that needs no onnxscript
            for message in (r"You are using the legacy TorchScript", r"The feature will be removed"):
                warnings.filterwarnings("ignore", message=message, category=DeprecationWarning)
            with torch.no_grad():
                torch.onnx.export(
                    net,
                    example,
                    str(out_path),
                    input_names=list(INPUT_NAMES),
                    output_names=list(OUTPUT_NAMES),
                    opset_version=opset,
                    dynamic_axes=dynamic_axes,
                    dynamo=False,
                )
    finally:
        net.to(device).train(was_training)
    _restore_pruned_inputs(out_path, _io_shapes(height, width, dynamic))
    try:
        onnx.checker.check_model(str(out_path))
    except onnx.checker.ValidationError as error:
        raise ValueError(f"{out_path}: onnx.checker rejected the exported graph: {error}") from error

    shapes = _io_shapes(height, width, dynamic)
    sidecar = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "model_config": net.config.to_dict(),
        "opset": opset,
        "dynamic": dynamic,
        "export_size": [height, width],
        "size_multiple": SIZE_MULTIPLE if dynamic else 1,
        "inputs": [{"name": n, "shape": shapes[n], "dtype": "float32"} for n in INPUT_NAMES],
        "outputs": [{"name": n, "shape": shapes[n], "dtype": "float32"} for n in OUTPUT_NAMES],
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
    seed: int = 0,
    providers: list[str] | None = None,
) -> float:
    """Run a short random stream through torch and onnxruntime; return the max abs difference.

    Each backend carries its own state (``acc_new``/``out_log`` fed back as
    ``acc``/``prev_out``); frame 0 is a reset. All three outputs of every frame are
    compared.

    Args:
        model: the torch model the graph was exported from (SSRNet, weights path or None).
        onnx_path: the exported graph.
        height, width: stream size: the export size for a static graph, any multiple of 4
            for a dynamic one (fed to the graph as is, without padding).
        frames: stream length (>= 1).
        atol: tolerance on the absolute difference.
        seed: seed of :func:`random_stream_inputs`.
        providers: onnxruntime execution providers (default: CPU).

    Returns:
        The largest absolute difference over all outputs and frames.

    Raises:
        ParityError: the difference exceeds ``atol`` (or an output is not finite).
        ValueError: ``frames`` < 1; the size does not suit the graph (see
            :func:`check_run_size`).
    """
    import onnxruntime as ort
    import torch

    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    net, _ = _resolve_model(model)
    was_training = net.training
    net.eval()
    session = ort.InferenceSession(str(onnx_path), providers=providers or ["CPUExecutionProvider"])
    check_run_size(session, height, width)
    zeros_acc = np.zeros((1, 14, height, width), np.float32)
    zeros_prev = np.zeros((1, 3, height, width), np.float32)
    torch_state = (torch.from_numpy(zeros_acc), torch.from_numpy(zeros_prev))
    onnx_state = (zeros_acc, zeros_prev)
    worst = 0.0
    device = next(net.parameters()).device
    try:
        for index, packed in enumerate(random_stream_inputs(height, width, frames, seed=seed)):
            reset = np.full((1, 1, 1, 1), 1.0 if index == 0 else 0.0, np.float32)
            with torch.no_grad():
                expected = net(
                    torch.from_numpy(packed).to(device),
                    torch_state[0].to(device),
                    torch_state[1].to(device),
                    torch.from_numpy(reset).to(device),
                )
            expected_np = [t.float().cpu().numpy() for t in expected]
            got = session.run(list(OUTPUT_NAMES), dict(zip(INPUT_NAMES, (packed, *onnx_state, reset))))
            for name, want, have in zip(OUTPUT_NAMES, expected_np, got):
                if want.shape != have.shape:
                    raise ParityError(f"frame {index} '{name}': onnx shape {have.shape} != torch {want.shape}")
                if not np.isfinite(have).all():
                    raise ParityError(f"frame {index} '{name}': onnxruntime output has NaN/Inf")
                worst = max(worst, float(np.abs(have - want).max()))
            torch_state = (expected[1], expected[2])
            onnx_state = (got[1], got[2])
    finally:
        net.train(was_training)
    if worst > atol:
        raise ParityError(
            f"{onnx_path}: onnxruntime differs from torch by {worst:.3g} (> atol {atol:g}) "
            f"over a {frames}-frame {height}x{width} stream"
        )
    return worst
