"""The TensorRT build path and streaming backend, against a stand-in ``tensorrt`` module.

TensorRT cannot be installed on the CI machines, so this stand-in implements the subset of
the documented TensorRT 10.x / 11.x Python API the project uses, with the differences that
matter: 11.x has no ``BuilderFlag.FP16`` / ``OBEY_PRECISION_CONSTRAINTS`` (strong typing
only), 10.x accepts ``NetworkDefinitionCreationFlag.STRONGLY_TYPED``, 8.x/9.x lack the
name-based execution API. It records every call, and its execution context really
computes on the bound (host) addresses, so state swapping between frames is observable.
The real thing runs in ``test_onnx_export.py::test_tensorrt_engine_streams_like_onnxruntime``
wherever a GPU with TensorRT is present.
"""

from __future__ import annotations

import ctypes
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

from ssr.data_tools.contract import GRAPH_CHANNELS, GRAPH_INPUTS, GRAPH_OUTPUTS  # noqa: E402
from ssr.export.onnx import export_onnx  # noqa: E402
from ssr.export.tensorrt import build_tensorrt_engine  # noqa: E402
from ssr.model import ModelConfig, SSRNet  # noqa: E402
from ssr.runtime.tensorrt_backend import TensorRTBackend  # noqa: E402
from ssr.streaming import StreamLoop  # noqa: E402


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, *entry) -> None:
        self.calls.append(entry)

    def named(self, name: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == name]


class _Flags:
    """An enum namespace that records every attribute read (and lacks removed members)."""

    def __init__(self, record: _Recorder, kind: str, members: dict[str, int]) -> None:
        self._record, self._kind, self._members = record, kind, members

    def __getattr__(self, name: str) -> int:
        self._record("enum", self._kind, name)
        if name not in self._members:
            raise AttributeError(f"type object '{self._kind}' has no attribute '{name}'")
        return self._members[name]


def _view(address: int, shape: tuple[int, ...]) -> np.ndarray:
    count = int(np.prod(shape))
    return np.ctypeslib.as_array((ctypes.c_float * count).from_address(address)).reshape(shape)


def make_tensorrt(version: str, record: _Recorder, fail_execute: list[bool] | None = None) -> SimpleNamespace:
    major = int(version.split(".")[0])
    builder_flags = {"TF32": 6, "REFIT": 2}
    if major == 10:
        builder_flags.update({"FP16": 0, "OBEY_PRECISION_CONSTRAINTS": 10})
    network_flags = {"STRONGLY_TYPED": 1} if major >= 10 else {"EXPLICIT_BATCH": 0}
    trt = SimpleNamespace(__version__=version)
    trt.BuilderFlag = _Flags(record, "BuilderFlag", builder_flags)
    trt.NetworkDefinitionCreationFlag = _Flags(record, "NetworkDefinitionCreationFlag", network_flags)
    trt.MemoryPoolType = SimpleNamespace(WORKSPACE="workspace")
    trt.TensorIOMode = SimpleNamespace(INPUT="input", OUTPUT="output")

    class Logger:
        WARNING = "warning"

        def __init__(self, level: str) -> None:
            record("Logger", level)

    class Profile:
        def __init__(self) -> None:
            self.shapes: dict[str, tuple] = {}

        def set_shape(self, name, minimum, optimum, maximum) -> None:
            record("set_shape", name, minimum, optimum, maximum)
            self.shapes[name] = (minimum, optimum, maximum)

    class Config:
        def __init__(self) -> None:
            self.profiles: list[Profile] = []

        def set_memory_pool_limit(self, pool, size) -> None:
            record("set_memory_pool_limit", pool, size)

        def set_flag(self, flag) -> None:
            record("set_flag", flag)

        def add_optimization_profile(self, profile) -> int:
            self.profiles.append(profile)
            return len(self.profiles) - 1

    class Network:
        def __init__(self, flags: int) -> None:
            self.flags = flags

    class Builder:
        def __init__(self, logger) -> None:
            record("Builder")

        def create_network(self, flags: int = 0) -> Network:
            record("create_network", flags)
            return Network(flags)

        def create_builder_config(self) -> Config:
            return Config()

        def create_optimization_profile(self) -> Profile:
            return Profile()

        def build_serialized_network(self, network, config) -> bytes:
            record("build_serialized_network", network.flags)
            dynamic = bool(config.profiles)
            return json.dumps({"dynamic": dynamic, "size": [16, 16]}).encode()

    class OnnxParser:
        num_errors = 0

        def __init__(self, network, logger) -> None:
            pass

        def parse_from_file(self, path: str) -> bool:
            record("parse_from_file", path)
            return True

    class Context:
        def __init__(self) -> None:
            self.addresses: dict[str, int] = {}
            self.shapes: dict[str, tuple] = {}

        def set_input_shape(self, name, shape) -> bool:
            record("set_input_shape", name, tuple(shape))
            self.shapes[name] = tuple(shape)
            return True

        def set_tensor_address(self, name, address) -> bool:
            record("set_tensor_address", name, address)
            self.addresses[name] = address
            return True

        def execute_async_v3(self, stream_handle) -> bool:
            record("execute_async_v3", stream_handle, dict(self.addresses))
            if fail_execute and fail_execute[0]:
                return False
            _, _, height, width = self.shapes["packed"]
            view = {name: _view(self.addresses[name], (1, GRAPH_CHANNELS[name], height, width))
                    for name in ("packed", "acc", "prev_out", "color", "acc_new", "out_log")}
            view["color"][...] = view["packed"][:, :3] * 0.5 + view["acc"][:, :3]
            view["acc_new"][...] = view["acc"] + 1.0  # counts the frames since the stream started
            view["out_log"][...] = view["prev_out"] + 2.0
            return True

    class Engine:
        num_io_tensors = len(GRAPH_INPUTS) + len(GRAPH_OUTPUTS)

        def __init__(self, spec: dict) -> None:
            self.spec = spec

        def get_tensor_name(self, index: int) -> str:
            return (*GRAPH_INPUTS, *GRAPH_OUTPUTS)[index]

        def get_tensor_mode(self, name: str) -> str:
            return "input" if name in GRAPH_INPUTS else "output"

        def get_tensor_shape(self, name: str) -> tuple:
            return (1, GRAPH_CHANNELS[name], -1, -1) if self.spec["dynamic"] else (1, GRAPH_CHANNELS[name], 16, 16)

        def create_execution_context(self) -> Context:
            record("create_execution_context")
            return Context()

    class Runtime:
        def __init__(self, logger) -> None:
            pass

        def deserialize_cuda_engine(self, data: bytes) -> Engine:
            record("deserialize_cuda_engine")
            return Engine(json.loads(data))

    trt.Logger, trt.Builder, trt.OnnxParser, trt.Runtime = Logger, Builder, OnnxParser, Runtime
    return trt


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    net = SSRNet(ModelConfig(width="tiny")).eval()
    return export_onnx(net, tmp_path_factory.mktemp("trt") / "m.onnx", height=16, width=16, dynamic=True)


@pytest.mark.parametrize("version", ["10.13.3", "11.4.1"])
def test_build_is_strongly_typed_and_never_touches_precision_flags(graph: Path, tmp_path: Path, version: str) -> None:
    record = _Recorder()
    trt = make_tensorrt(version, record)
    engine = build_tensorrt_engine(graph, tmp_path / "m.plan", dynamic_range=((4, 4), (16, 16), (64, 32)), tensorrt=trt)
    assert engine.is_file()
    (flags,) = [c[1] for c in record.named("create_network")]
    assert flags == 1 << 1  # STRONGLY_TYPED
    assert not [c for c in record.calls if c[:2] == ("enum", "BuilderFlag")] and not record.named("set_flag")
    shapes = {c[1]: c[2:] for c in record.named("set_shape")}
    assert set(shapes) == {"packed", "acc", "prev_out"}
    for name, (minimum, optimum, maximum) in shapes.items():
        assert minimum == (1, GRAPH_CHANNELS[name], 4, 4) and maximum == (1, GRAPH_CHANNELS[name], 64, 32)


def test_build_refuses_what_tensorrt_cannot_build(graph: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a positive multiple of 4"):
        build_tensorrt_engine(graph, tmp_path / "m.plan", dynamic_range=((4, 4), (18, 16), (32, 32)),
                              tensorrt=make_tensorrt("10.13.3", _Recorder()))
    with pytest.raises(RuntimeError, match="too old"):
        build_tensorrt_engine(graph, tmp_path / "m.plan", tensorrt=make_tensorrt("8.6.1", _Recorder()))
    model = onnx.load(str(graph))
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = 20
    onnx.save(model, str(tmp_path / "opset20.onnx"))
    with pytest.raises(ValueError, match="opset 20.*GridSample"):
        build_tensorrt_engine(tmp_path / "opset20.onnx", tmp_path / "m.plan", tensorrt=make_tensorrt("11.4.1", _Recorder()))


def _engine(graph: Path, tmp_path: Path, trt: SimpleNamespace) -> Path:
    return build_tensorrt_engine(graph, tmp_path / "m.plan", dynamic_range=((4, 4), (16, 16), (32, 32)), tensorrt=trt)


def test_backend_streams_with_one_context_and_swapped_state_addresses(graph: Path, tmp_path: Path) -> None:
    record = _Recorder()
    trt = make_tensorrt("11.4.1", record)
    loop = StreamLoop(TensorRTBackend(_engine(graph, tmp_path, trt), device="cpu", tensorrt=trt))
    rng = np.random.default_rng(0)
    frames = [rng.uniform(0, 1, (19, 14, 10)).astype(np.float32) for _ in range(4)]  # 14 x 10: padded to 16 x 12
    outputs = [loop.step(frame, cut=index == 0) for index, frame in enumerate(frames)]
    assert len(record.named("deserialize_cuda_engine")) == 1 and len(record.named("create_execution_context")) == 1
    runs = record.named("execute_async_v3")
    assert len(runs) == 4 and all(run[1] == 0 for run in runs)
    for before, after in zip(runs[1:], runs[2:]):  # the state ping-pongs between two buffer pairs
        assert after[2]["acc"] == before[2]["acc_new"] and after[2]["acc_new"] == before[2]["acc"]
    assert runs[1][2]["acc"] == runs[0][2]["acc_new"]
    assert {c[1] for c in record.named("set_input_shape")} == set(GRAPH_INPUTS)
    assert ("set_input_shape", "packed", (1, 19, 16, 12)) in record.calls
    for index, (frame, output) in enumerate(zip(frames, outputs)):
        # acc counts the frames of the stream: 0 at its first frame
        expected = frame[:3].transpose(1, 2, 0) * 0.5 + index
        np.testing.assert_allclose(output, expected, rtol=1e-6, err_msg=f"frame {index}")
    restarted = loop.step(frames[0], cut=True)  # a cut reads the zero state again
    np.testing.assert_allclose(restarted, frames[0][:3].transpose(1, 2, 0) * 0.5, rtol=1e-6)


def test_failed_execution_raises_and_keeps_the_committed_state(graph: Path, tmp_path: Path) -> None:
    fail = [False]
    trt = make_tensorrt("10.13.3", _Recorder(), fail_execute=fail)
    loop = StreamLoop(TensorRTBackend(_engine(graph, tmp_path, trt), device="cpu", tensorrt=trt))
    frame = np.full((19, 8, 8), 0.25, np.float32)
    loop.step(frame, cut=True)
    loop.step(frame)
    fail[0] = True
    with pytest.raises(RuntimeError, match="execute_async_v3 failed"):
        loop.step(frame)
    fail[0] = False
    np.testing.assert_allclose(loop.step(frame), np.full((8, 8, 3), 0.125 + 2.0), rtol=1e-6)  # third frame
