"""The frame-stream denoise API on ONNX Runtime (no torch needed at run time).

:class:`OnnxStream` is the stream loop (:class:`ssr.streaming.StreamLoop`) over
:class:`OnnxBackend`, which runs a graph written by :func:`ssr.export.onnx.export_onnx`
(``ssr export``)::

    from ssr.runtime.onnx_backend import OnnxStream

    stream = OnnxStream("model.onnx")                  # or providers=["CUDAExecutionProvider"]
    for frame, camera_cut in engine_frames():          # dict of float32 [H, W, C] layers
        rgb = stream.denoise(frame, cut=camera_cut)    # float32 [H, W, 3], linear HDR

Streaming without per-frame allocation: the session is created once with full graph
optimisation and memory-pattern planning; inputs and outputs are bound with I/O binding to
buffers allocated once per frame size, and the recurrent state (``acc`` ``[1, 14, H, W]``,
``prev_out`` ``[1, 3, H, W]``) lives in two buffer pairs that swap roles every frame (and a
third that stays zero for stream starts): the graph reads one pair and writes the other,
so a failed step leaves the last committed state intact.

Sizes:

- **static graph** (exported without ``--dynamic``): only the export size runs; another
  size raises ``ValueError``.
- **dynamic graph**: the graph needs H and W to be multiples of 4. Other sizes are padded
  *outside* the graph: the packed frame is replicate-padded at the bottom/right to the
  next multiple of 4, the graph and its state run at the padded size, and the colour is
  cropped back. At multiples of 4 the result equals the torch backend's (within float
  tolerance). At other sizes so does a native-stage graph's (its stages take the frame's
  extent: the warp sees the frame's edge, the border replicates the edge's values, as the
  torch model's padding of its U-Net input), while a graph that warps itself sees the
  padded frame's edge and differs in the last rows and columns (docs/export.md).

The graph's I/O contract (:mod:`ssr.data_tools.contract`) is checked when the session
opens, from the ``ssr.*`` ``metadata_props`` of the model and its ``<model>.onnx.json``
sidecar.
"""

from __future__ import annotations

import json
import os
from functools import partial
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ssr.data_tools.contract import (
    CONTRACT_VERSION,
    GRAPH_CHANNELS,
    GRAPH_INPUTS,
    GRAPH_INPUTS_NATIVE,
    GRAPH_INPUTS_PREWARPED,
    GRAPH_OUTPUTS,
    GRAPH_OUTPUTS_NATIVE,
    LEGACY_VIEW_FLOOR,
    OUTPUT_CHANNELS,
    SIZE_MULTIPLE,
    SLICES,
    STAGE_CHANNELS,
    STAGE_SIGNAL_PLANES,
    STATE_CHANNELS,
    HISTORY_CAP_MIN,
)
from ssr.data_tools import stages
from ssr.data_tools.pack import unpack_color
from ssr.data_tools.warp import warp_planes
from ssr.streaming import StreamLoop

from .stage_weights import decode_stage_weights
from .stage_weights import widths as stage_widths
from .state_buffers import MAX_CACHED_SIZES, ZERO_PAIR, next_pair, pad_into, padded_size

__all__ = [
    "EXPORT_FORMAT",
    "OnnxBackend",
    "OnnxStream",
    "check_run_size",
    "graph_size",
    "load_sidecar",
    "read_metadata",
    "sidecar_path",
]

EXPORT_FORMAT = "ssr-onnx"


def sidecar_path(onnx_path: str | os.PathLike[str]) -> Path:
    """``<onnx_path>.json``: e.g. ``model.onnx`` -> ``model.onnx.json``."""
    path = Path(onnx_path)
    return path.with_name(path.name + ".json")


def load_sidecar(onnx_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The sidecar written by ``ssr export``, or None when there is none.

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


def read_metadata(session: Any) -> dict[str, str]:
    """The ``ssr.*`` entries of the graph's ``metadata_props`` (written by ``ssr export``)."""
    props = session.get_modelmeta().custom_metadata_map
    return {key: value for key, value in props.items() if key.startswith("ssr.")}


def graph_size(session: Any) -> tuple[int, int] | None:
    """``(H, W)`` fixed by an onnxruntime session's ``packed`` input, or None if dynamic.

    Raises:
        ValueError: the graph's inputs and outputs are not those of an SSR step graph.
    """
    inputs = {node.name: node.shape for node in session.get_inputs()}
    outputs = {node.name for node in session.get_outputs()}
    native = set(inputs) == set(GRAPH_INPUTS_NATIVE)
    shape = inputs.get("down" if native else "packed")
    known = set(inputs) in (set(GRAPH_INPUTS), set(GRAPH_INPUTS_PREWARPED)) or native
    wanted = GRAPH_OUTPUTS_NATIVE if native else GRAPH_OUTPUTS
    if not known or not set(wanted) <= outputs or shape is None or len(shape) != 4:
        raise ValueError(
            f"not an SSR step graph (inputs {sorted(inputs)}, outputs {sorted(outputs)}; expected "
            f"inputs {list(GRAPH_INPUTS)} and outputs {list(GRAPH_OUTPUTS)}, or with native pixel stages "
            f"{list(GRAPH_INPUTS_NATIVE)} -> {list(GRAPH_OUTPUTS_NATIVE)}, as written by `ssr export`)"
        )
    if isinstance(shape[2], int) and isinstance(shape[3], int):
        return (2 * shape[2], 2 * shape[3]) if native else (shape[2], shape[3])
    return None


def check_run_size(session: Any, height: int, width: int) -> None:
    """Raise ``ValueError`` unless the graph of ``session`` runs at ``height x width`` as is."""
    fixed = graph_size(session)
    if fixed is not None and fixed != (height, width):
        raise ValueError(
            f"this ONNX graph was exported for {fixed[0]}x{fixed[1]} (static shape) and cannot run at "
            f"{height}x{width}; re-export with `ssr export --height {height} --width {width}` or with --dynamic"
        )
    if fixed is None and (height % SIZE_MULTIPLE or width % SIZE_MULTIPLE):
        raise ValueError(
            f"a dynamic-shape SSR graph needs H and W to be multiples of {SIZE_MULTIPLE}, got "
            f"{height}x{width} (OnnxBackend pads outside the graph)"
        )


def _check_contract(onnx_path: str, metadata: dict[str, str], sidecar: dict[str, Any] | None) -> None:
    version = metadata.get("ssr.contract_version") or (sidecar or {}).get("contract_version")
    if version is not None and int(version) != CONTRACT_VERSION:
        raise ValueError(f"{onnx_path}: exported for frame contract version {version}, this runtime "
                         f"implements version {CONTRACT_VERSION}; re-export the model")
    channels = metadata.get("ssr.channels")
    if channels is not None and json.loads(channels) != GRAPH_CHANNELS:
        raise ValueError(f"{onnx_path}: graph channel counts {channels} differ from the contract's {GRAPH_CHANNELS}")


@dataclass
class _Buffers:
    """Everything bound for one padded size: inputs, colour output, two state pairs."""

    packed: np.ndarray
    reset: np.ndarray
    color: np.ndarray | None
    """The graph's ``color`` output (None for native stages: they write the HWC image)."""
    states: list[tuple[np.ndarray, np.ndarray]]
    warped: tuple[np.ndarray, np.ndarray] | None = None
    native: dict[str, np.ndarray] | None = None
    """Native pixel stages: ``guide``, ``prev`` and the graph's half-resolution tensors."""
    binding: Any = None
    """Native pixel stages: the I/O binding of those buffers (made at the first frame)."""


@dataclass(frozen=True)
class OnnxState:
    """The stream state: which buffer pair holds ``acc``/``prev_out`` (at the padded size)."""

    size: tuple[int, int]
    pair: int


class OnnxBackend:
    """ONNX Runtime inference backend for :class:`ssr.streaming.StreamLoop`.

    Args:
        onnx_path: a graph written by ``ssr export``.
        providers: onnxruntime execution providers (default ``["CPUExecutionProvider"]``).
        threads: intra-op thread count (default: onnxruntime's choice, the physical cores),
            and the worker threads of a native-stage graph's fused passes (default: one per
            core), so that ``threads=1`` leaves the other cores to a renderer.
        io_binding: bind preallocated buffers (default); False uses ``session.run``.
        spin: let ONNX Runtime's idle worker threads spin-wait (its default). Off by default
            here: spinning workers took the cores from the native stages that run between
            graph runs (docs/benchmarks-history.md section 8) and would from a renderer too.

    Raises:
        FileNotFoundError: ``onnx_path`` does not exist.
        ValueError: the graph is not an SSR step graph, or its contract differs.
    """

    def __init__(
        self,
        onnx_path: str | os.PathLike[str],
        providers: list[str] | None = None,
        threads: int | None = None,
        io_binding: bool = True,
        spin: bool = False,
    ) -> None:
        import onnxruntime as ort

        if not os.path.isfile(onnx_path):
            raise FileNotFoundError(f"ONNX model not found: {onnx_path} (write one with `ssr export`)")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_mem_pattern = True
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        self.native_threads = int(threads) if threads else 0
        """Worker threads of the native stages (0: one per core)."""
        if not spin:  # idle workers sleep: the native stages (and a renderer) need the cores between runs
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.onnx_path = os.fspath(onnx_path)
        self.session = ort.InferenceSession(
            self.onnx_path, sess_options=options, providers=providers or ["CPUExecutionProvider"]
        )
        self.graph_size: tuple[int, int] | None = graph_size(self.session)
        """``(H, W)`` of a static graph, None for a dynamic one."""
        self.sidecar: dict[str, Any] | None = load_sidecar(self.onnx_path)
        """The export sidecar (``<onnx_path>.json``), None when absent."""
        self.metadata = read_metadata(self.session)
        """The graph's ``ssr.*`` metadata_props."""
        _check_contract(self.onnx_path, self.metadata, self.sidecar)
        self.io_binding = io_binding
        input_names = {node.name for node in self.session.get_inputs()}
        self.native_stages = "signal_half" in input_names
        """True for graphs exported with ``pixel_stages="native"``: every full-resolution
        stage runs here (:mod:`ssr.data_tools.stages`) around the graph."""
        self.warp_outside = "warped_acc" in input_names or self.native_stages
        """True when the state is warped natively here (``warp="outside"`` or native stages)."""
        self.stage_weights: dict[str, np.ndarray] | None = None
        """The full-resolution layers' weights of a native-stage graph (``ssr.stage_weights``)."""
        self.kernel_size = 0
        self.view_floor = LEGACY_VIEW_FLOOR
        """The model's ``ModelConfig.view_floor``, which the native accumulate stage applies
        (metadata ``ssr.model_config``; graphs of models saved before it existed: the legacy
        1e-4)."""
        self.history_cap = 0.0
        """0 for a learned-history model; a ``history="rule"`` model's ``ModelConfig.history_cap``,
        which the native accumulate stage applies (metadata ``ssr.model_config``)."""
        self.signal_planes = STAGE_SIGNAL_PLANES["irradiance"]
        """Planes of ``signal_half`` / ``carry`` (7 for a ``signal="dual"`` model; metadata
        ``ssr.signal_planes``, 4 in graphs exported before it existed)."""
        self.specular_floor = self._model_specular_floor()
        """The model's ``ModelConfig.specular_floor`` (metadata or sidecar; 0 in graphs exported
        before it existed): the demodulation floor :class:`ssr.streaming.StreamLoop` packs
        frames with."""
        if self.native_stages:
            if "ssr.stage_weights" not in self.metadata or "ssr.kernel_size" not in self.metadata:
                raise ValueError(f"{self.onnx_path}: a native-stage graph must carry 'ssr.stage_weights' and "
                                 "'ssr.kernel_size' metadata (re-export with `ssr export --pixel-stages native`)")
            self.stage_weights = decode_stage_weights(self.metadata["ssr.stage_weights"], self.onnx_path)
            self.kernel_size = int(self.metadata["ssr.kernel_size"])
            self.signal_planes = int(self.metadata.get("ssr.signal_planes", self.signal_planes))
            if self.signal_planes not in STAGE_SIGNAL_PLANES.values():
                raise ValueError(f"{self.onnx_path}: metadata 'ssr.signal_planes' is {self.signal_planes}, "
                                 f"expected one of {sorted(STAGE_SIGNAL_PLANES.values())}")
            self.view_floor = self._model_view_floor()
            self.history_cap = self._model_history_cap()
        self._buffers: dict[tuple[int, int], _Buffers] = {}
        self._last_run: Any = None
        self.recorded_feeds: list[dict[str, np.ndarray]] | None = None
        """Set to a list to keep a copy of every step's graph inputs (INT8 calibration)."""

    def state_arrays(self, state: OnnxState) -> tuple[np.ndarray, np.ndarray]:
        """``(acc [1, 14, Hp, Wp], prev_out [1, 3, Hp, Wp])`` of ``state`` (views, padded size)."""
        return self._buffers[state.size].states[state.pair]

    def rerun(self) -> None:
        """Run the graph alone once more on the inputs bound by the last :meth:`run` (the
        network-only time of the benchmarks; it rewrites the same outputs)."""
        if self._last_run is None:
            raise RuntimeError("rerun() needs a run() first")
        self._last_run()

    def _metadata_model_config(self) -> dict[str, Any]:
        """The graph's ``ssr.model_config`` metadata as a dict (empty when the graph has none)."""
        return json.loads(self.metadata["ssr.model_config"]) if "ssr.model_config" in self.metadata else {}

    def _model_view_floor(self) -> float:
        config = self._metadata_model_config()
        value = config.get("view_floor", LEGACY_VIEW_FLOOR)
        if not isinstance(value, (int, float)) or not 0 < float(value) < float("inf"):
            raise ValueError(f"{self.onnx_path}: metadata 'ssr.model_config' has view_floor {value!r}, "
                             "expected a finite number > 0")
        return float(value)

    def _model_history_cap(self) -> float:
        config = self._metadata_model_config()
        if config.get("tfa_untraced", "learned") != "learned":
            raise ValueError(f"{self.onnx_path}: metadata 'ssr.model_config' has tfa_untraced "
                             f"{config['tfa_untraced']!r}, an option this version no longer runs; re-train or "
                             "re-export a learned-TFA model")
        history = config.get("history", "learned")
        if history == "learned":
            return 0.0
        cap = config.get("history_cap")
        if history != "rule" or not isinstance(cap, (int, float)) or not HISTORY_CAP_MIN <= float(cap) < float("inf"):
            raise ValueError(f"{self.onnx_path}: metadata 'ssr.model_config' has history {history!r} with history_cap "
                             f"{cap!r}, expected 'learned', or 'rule' with a finite cap >= {HISTORY_CAP_MIN}")
        return float(cap)

    def _model_config(self) -> dict[str, Any]:
        """The model config of the graph's metadata, else of its sidecar (empty without either)."""
        if "ssr.model_config" in self.metadata:
            return self._metadata_model_config()
        return dict((self.sidecar or {}).get("model_config", {}))

    def _model_specular_floor(self) -> float:
        value = self._model_config().get("specular_floor", 0.0)
        if not isinstance(value, (int, float)) or not 0 <= float(value) < float("inf"):
            raise ValueError(f"{self.onnx_path}: the model config has specular_floor {value!r}, "
                             "expected a finite number >= 0")
        return float(value)

    @property
    def subpixel(self) -> bool:
        """True when the model expects 1/4-spp subpixel input (metadata or sidecar; True without)."""
        return bool(self._model_config().get("subpixel", True))

    def _padded(self, height: int, width: int) -> tuple[int, int]:
        return padded_size(self.graph_size, height, width, self.onnx_path)

    def _buffers_for(self, size: tuple[int, int]) -> _Buffers:
        if size not in self._buffers:
            height, width = size
            if len(self._buffers) >= MAX_CACHED_SIZES:
                self._buffers.pop(next(iter(self._buffers)))
            self._buffers[size] = _Buffers(
                packed=np.zeros((1, GRAPH_CHANNELS["packed"], height, width), np.float32),
                reset=np.zeros((1, 1, 1, 1), np.float32),
                color=None if self.native_stages else np.zeros((1, OUTPUT_CHANNELS, height, width), np.float32),
                states=[(np.zeros((1, STATE_CHANNELS, height, width), np.float32),
                         np.zeros((1, OUTPUT_CHANNELS, height, width), np.float32)) for _ in range(3)],
                warped=(np.zeros((1, STATE_CHANNELS, height, width), np.float32),
                        np.zeros((1, OUTPUT_CHANNELS, height, width), np.float32))
                if self.warp_outside and not self.native_stages else None,
                native=self._native_buffers(height, width) if self.native_stages else None,
            )
        return self._buffers[size]

    def _native_buffers(self, height: int, width: int) -> dict[str, np.ndarray]:
        assert self.stage_weights is not None
        guide, down = stage_widths(self.stage_weights)
        full = {"guide": guide, "prev": STAGE_CHANNELS["prev"]}
        if self.history_cap > 0:  # a rule-history model's valid reprojection weight, between the stages
            full["history_valid"] = 1
        half = {"down": down, "prev_half": STAGE_CHANNELS["prev_half"], "coarse": STAGE_CHANNELS["coarse"],
                "signal_half": self.signal_planes, "carry": self.signal_planes}
        buffers = {name: np.zeros((1, channels, height, width), np.float32) for name, channels in full.items()}
        buffers.update({name: np.zeros((1, channels, height // 2, width // 2), np.float32)
                        for name, channels in half.items()})
        return buffers

    def input_buffer(self, height: int, width: int) -> np.ndarray | None:
        """The bound ``packed`` input as a writable ``[19, H, W]`` view when the frame needs no
        padding (the stream loop packs into it directly), else None."""
        size = self._padded(height, width)
        if size != (height, width):
            return None
        return self._buffers_for(size).packed[0]

    def initial_state(self, height: int, width: int) -> OnnxState:
        size = self._padded(height, width)
        self._buffers_for(size)
        return OnnxState(size, ZERO_PAIR)

    def run(self, packed: np.ndarray, state: OnnxState, reset: bool) -> tuple[np.ndarray, OnnxState]:
        height, width = packed.shape[1:]
        size = self._padded(height, width)
        if state.size != size:
            raise ValueError(f"stream state is {state.size}, frame needs {size}: reset the stream")
        buffers = self._buffers_for(size)
        # the run closures below capture the session, never `self`: a backend -> closure ->
        # backend cycle kept every dropped stream's GiB of buffers alive until a GC pass
        session = self.session
        pad_into(buffers.packed[0], packed)  # replicate-pads bottom/right outside the graph
        buffers.reset.fill(1.0 if reset else 0.0)
        target = next_pair(state.pair)
        acc, prev_out = buffers.states[state.pair]
        acc_new, out_log = buffers.states[target]
        if self.native_stages:
            return self._run_native(buffers, acc, prev_out, acc_new, out_log, reset, height, width), \
                OnnxState(size, target)
        assert buffers.color is not None
        if self.warp_outside:
            assert buffers.warped is not None
            if not reset:  # at a reset the graph ignores the history
                motion_x, motion_y = buffers.packed[0, SLICES["motion"].start], buffers.packed[0, SLICES["motion"].start + 1]
                warp_planes(acc, motion_x, motion_y, out=buffers.warped[0])
                warp_planes(prev_out, motion_x, motion_y, out=buffers.warped[1])
            feeds = {"packed": buffers.packed, "warped_acc": buffers.warped[0], "warped_prev": buffers.warped[1],
                     "reset": buffers.reset}
        else:
            feeds = {"packed": buffers.packed, "acc": acc, "prev_out": prev_out, "reset": buffers.reset}
        if self.recorded_feeds is not None:
            self.recorded_feeds.append({name: array.copy() for name, array in feeds.items()})
        if self.io_binding:
            binding = self.session.io_binding()
            for name, array in feeds.items():
                binding.bind_cpu_input(name, array)
            for name, array in (("color", buffers.color), ("acc_new", acc_new), ("out_log", out_log)):
                binding.bind_output(name, "cpu", 0, np.float32, list(array.shape), array.ctypes.data)
            self._last_run = partial(session.run_with_iobinding, binding)
        else:
            def unbound() -> None:
                color, acc_out, log_out = session.run(list(GRAPH_OUTPUTS), feeds)
                buffers.color[...], acc_new[...], out_log[...] = color, acc_out, log_out

            self._last_run = unbound
        self._last_run()
        result = unpack_color(buffers.color, height, width)  # native crop + CHW -> HWC + clamp
        return result, OnnxState(size, target)

    def _run_native(self, buffers: _Buffers, acc: np.ndarray, prev_out: np.ndarray, acc_new: np.ndarray,
                    out_log: np.ndarray, reset: bool, height: int, width: int) -> np.ndarray:
        """One step of a native-stage graph: accumulate -> half-resolution graph -> resolve."""
        assert buffers.native is not None and self.stage_weights is not None
        planes, weights, kernel, session = buffers.native, self.stage_weights, self.kernel_size, self.session
        stages.accumulate(buffers.packed, acc, prev_out, reset, weights, kernel, acc_new, planes["guide"],
                          planes["prev"], planes["down"], planes["prev_half"], planes["signal_half"],
                          self.native_threads, self.signal_planes, self.view_floor, self.history_cap,
                          planes.get("history_valid"), (height, width))
        feeds = {name: planes[name] for name in GRAPH_INPUTS_NATIVE}
        if self.recorded_feeds is not None:
            self.recorded_feeds.append({name: array.copy() for name, array in feeds.items()})
        if self.io_binding:
            if buffers.binding is None:  # the same buffers every frame: bind once per size
                binding = self.session.io_binding()
                for name, array in feeds.items():
                    binding.bind_cpu_input(name, array)
                for name in GRAPH_OUTPUTS_NATIVE:
                    array = planes[name]
                    binding.bind_output(name, "cpu", 0, np.float32, list(array.shape), array.ctypes.data)
                buffers.binding = binding
            bound = buffers.binding
            self._last_run = partial(session.run_with_iobinding, bound)
        else:
            def unbound() -> None:
                planes["coarse"][...], planes["carry"][...] = session.run(list(GRAPH_OUTPUTS_NATIVE), feeds)

            self._last_run = unbound
        self._last_run()
        color = np.empty((height, width, OUTPUT_CHANNELS), np.float32)
        stages.resolve(planes["coarse"], planes["carry"], planes["guide"], planes["prev"], acc_new, buffers.packed,
                       reset, weights, kernel, out_log, color, self.native_threads, self.signal_planes,
                       planes.get("history_valid"))
        return color


class OnnxStream(StreamLoop):
    """Stateful frame-by-frame denoiser on ONNX Runtime: the stream loop over
    :class:`OnnxBackend` (same arguments). It resets at its first frame, at ``cut=True``,
    after :meth:`reset` and when the frame size changes; a frame that fails validation
    (or does not fit a static graph) raises :class:`ValueError` and leaves the state
    untouched."""

    def __init__(
        self,
        onnx_path: str | os.PathLike[str],
        providers: list[str] | None = None,
        threads: int | None = None,
        io_binding: bool = True,
        spin: bool = False,
    ) -> None:
        super().__init__(OnnxBackend(onnx_path, providers, threads, io_binding, spin))

    @property
    def onnx_path(self) -> str:
        return self.backend.onnx_path  # type: ignore[attr-defined, no-any-return]

    @property
    def graph_size(self) -> tuple[int, int] | None:
        return self.backend.graph_size  # type: ignore[attr-defined, no-any-return]

    @property
    def sidecar(self) -> dict[str, Any] | None:
        return self.backend.sidecar  # type: ignore[attr-defined, no-any-return]
