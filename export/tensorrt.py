"""Build a TensorRT engine from an SSR step graph, right on TensorRT 10 and 11.

* **Strongly typed** networks only: precision comes from the ONNX graph
  (:mod:`ssr.export.fp16` writes the half-precision graph with its float32 islands), so
  the build never touches ``BuilderFlag.FP16`` / ``OBEY_PRECISION_CONSTRAINTS`` (removed in
  TensorRT 11, deprecated since 10.12). ``STRONGLY_TYPED`` is requested where the enum has
  it (required on 10.x, ignored on 11.x); TensorRT < 10 is refused.
* **Opsets 16-19**: opset 20 exports GridSample with ``mode="linear"``, which the TensorRT
  ONNX importer does not map.
* Channel counts of the optimisation profile come from the frame contract, and every
  profile size must be a multiple of the graph's size multiple.
* The engine is deserialised and run once after the build (:func:`check_engine_parity`
  compares it with ONNX Runtime on a short stream), so a broken engine never ships.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ssr.data_tools.contract import GRAPH_CHANNELS, SIZE_MULTIPLE
from ssr.runtime.tensorrt_backend import TENSORRT_UNAVAILABLE, tensorrt_unavailable_reason

__all__ = [
    "MAX_TENSORRT_OPSET",
    "MIN_TENSORRT_OPSET",
    "TENSORRT_UNAVAILABLE",
    "build_tensorrt_engine",
    "check_engine_parity",
    "tensorrt_unavailable_reason",
]

MIN_TENSORRT_OPSET, MAX_TENSORRT_OPSET = 16, 19
_PROFILED_INPUTS = ("packed", "acc", "prev_out")


def _major(trt: Any) -> int:
    try:
        return int(str(trt.__version__).split(".")[0])
    except (AttributeError, ValueError):
        return 0


def _graph_opset(onnx_path: Path) -> int:
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def build_tensorrt_engine(
    onnx_path: str | os.PathLike[str],
    engine_path: str | os.PathLike[str],
    *,
    dynamic_range: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None = None,
    workspace_mib: int = 1024,
    tensorrt: Any = None,
) -> Path:
    """Parse an SSR ONNX graph (float32, or the fp16 graph of :mod:`ssr.export.fp16`) and
    write the serialised, strongly typed engine.

    Args:
        onnx_path: graph written by ``ssr export`` (opset 16-19).
        engine_path: destination of the serialised engine (plan).
        dynamic_range: for a dynamic graph, ``((min_h, min_w), (opt_h, opt_w), (max_h,
            max_w))`` of the optimisation profile of ``packed``, ``acc`` and ``prev_out``
            (``reset`` is always ``[1, 1, 1, 1]``), multiples of 4; None for a static graph.
        workspace_mib: builder workspace memory pool limit.
        tensorrt: the ``tensorrt`` module to use (tests pass a stand-in; default: import it).

    Raises:
        RuntimeError: TensorRT/CUDA missing or too old, the parser rejected the graph, or
            the build failed.
        ValueError: an opset TensorRT cannot import, or profile sizes that are not
            multiples of 4 / not ordered min <= opt <= max.
    """
    path = Path(onnx_path)
    opset = _graph_opset(path)
    if not MIN_TENSORRT_OPSET <= opset <= MAX_TENSORRT_OPSET:
        raise ValueError(f"{path}: opset {opset}; TensorRT builds need opset {MIN_TENSORRT_OPSET}-"
                         f"{MAX_TENSORRT_OPSET} (opset 20 exports GridSample as mode='linear', which the "
                         "TensorRT ONNX importer does not map): re-export with --opset 17")
    if dynamic_range is not None:
        for h, w in dynamic_range:
            if h % SIZE_MULTIPLE or w % SIZE_MULTIPLE or h < 1 or w < 1:
                raise ValueError(f"TensorRT profile size {h}x{w} is not a positive multiple of {SIZE_MULTIPLE}")
        (h0, w0), (h1, w1), (h2, w2) = dynamic_range
        if not (h0 <= h1 <= h2 and w0 <= w1 <= w2):
            raise ValueError(f"TensorRT profile sizes must be ordered min <= opt <= max, got {dynamic_range}")
    if tensorrt is None:
        reason = tensorrt_unavailable_reason()
        if reason is not None:
            raise RuntimeError(reason)
        import tensorrt
    trt = tensorrt
    if _major(trt) < 10:
        raise RuntimeError(f"TensorRT {getattr(trt, '__version__', '?')} is too old: the name-based "
                           "execution API (execute_async_v3) needs TensorRT 10 or newer")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    strongly_typed = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if strongly_typed is not None:
        flags |= 1 << int(strongly_typed)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mib) << 20)
    if dynamic_range is not None:
        profile = builder.create_optimization_profile()
        for name in _PROFILED_INPUTS:
            shapes = [(1, GRAPH_CHANNELS[name], h, w) for h, w in dynamic_range]
            profile.set_shape(name, *shapes)
        config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {path} (see the log above)")
    out = Path(engine_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(serialized))
    return out


def check_engine_parity(
    engine_path: str | os.PathLike[str], onnx_path: str | os.PathLike[str], height: int, width: int,
    frames: int = 3, atol: float = 1e-3,
) -> float:
    """Stream random frames through the built engine and ONNX Runtime; the max abs colour
    difference (``ParityError`` beyond ``atol``)."""
    import numpy as np

    from ssr.runtime.onnx_backend import OnnxBackend
    from ssr.runtime.tensorrt_backend import TensorRTBackend
    from ssr.streaming import StreamLoop

    from .onnx import ParityError, random_stream_inputs

    engine_loop = StreamLoop(TensorRTBackend(engine_path))
    onnx_loop = StreamLoop(OnnxBackend(onnx_path))
    worst = 0.0
    for index, packed in enumerate(random_stream_inputs(height, width, frames)):
        have = engine_loop.step(packed[0], cut=index == 0)
        want = onnx_loop.step(packed[0], cut=index == 0)
        if not np.isfinite(have).all():
            raise ParityError(f"{engine_path}: frame {index} has NaN/Inf")
        worst = max(worst, float(np.abs(have - want).max()))
    if worst > atol:
        raise ParityError(f"{engine_path}: TensorRT differs from ONNX Runtime by {worst:.3g} (> {atol:g})")
    return worst
