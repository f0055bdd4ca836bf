"""ONNX export (ssr.export.onnx), the onnxruntime backend (OnnxStream) and `ssr export`.

Tiny untrained models at 8-20 px: the point is that the exported graph computes exactly
what the torch model computes, frame after frame, with the state carried over.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from ssr.data_tools.format import Sequence  # noqa: E402
from ssr.data_tools.synthetic import write_synthetic_sequence  # noqa: E402
from ssr.cli import main as ssr_main  # noqa: E402
from ssr.export.onnx import (  # noqa: E402
    INPUT_NAMES,
    OUTPUT_NAMES,
    ParityError,
    check_parity,
    export_onnx,
    load_sidecar,
    random_stream_inputs,
    sidecar_path,
)
from ssr.model import ModelConfig, SSRNet, save_model  # noqa: E402
from ssr.runtime.onnx_backend import OnnxStream  # noqa: E402
from ssr.runtime.stream import FrameStream  # noqa: E402
from ssr.runtime.tensorrt_backend import TENSORRT_UNAVAILABLE, tensorrt_unavailable_reason  # noqa: E402

torch.set_num_threads(1)


def _tiny(seed: int = 0) -> SSRNet:
    torch.manual_seed(seed)
    return SSRNet(ModelConfig(width="tiny")).eval()


@pytest.fixture(scope="module")
def net() -> SSRNet:
    return _tiny(0)


@pytest.fixture(scope="module")
def dynamic_onnx(net: SSRNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(net, tmp_path_factory.mktemp("dyn") / "ssr.onnx", height=16, width=16, dynamic=True)


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Sequence:
    """12 x 16, 5 frames, cuts at 0 and 3 (the format's 1/4-spp subpixel input)."""
    path = write_synthetic_sequence(tmp_path_factory.mktemp("seq") / "plane", width=16, height=12, frames=5,
                                    cuts=(0, 3))
    return Sequence(path)


def _frames(seq: Sequence) -> list[tuple[dict[str, np.ndarray], bool]]:
    return [(seq.read_frame(t), seq.is_cut(t)) for t in range(len(seq))]


# --- export + parity -------------------------------------------------------------------


def test_static_export_matches_torch_over_a_stream(net: SSRNet, tmp_path: Path) -> None:
    # 14 x 10 is not a multiple of 4: a static graph pads inside itself (traced constants)
    path = export_onnx(net, tmp_path / "static.onnx", height=14, width=10)
    onnx.checker.check_model(str(path))
    diff = check_parity(net, path, 14, 10, frames=3)
    assert 0.0 <= diff <= 1e-4
    with pytest.raises(ValueError, match="exported for 14x10 .static shape"):
        check_parity(net, path, 16, 16)


@pytest.mark.parametrize("warp_mode", ["inside", "outside"])
@pytest.mark.parametrize("config", [
    ModelConfig(width="lean", accumulation="linear", output="kernel"),
    ModelConfig(width="tiny", arch="rae"),
    ModelConfig(width="fast", layout="fast", accumulation="linear", output="kernel", signal="dual"),
], ids=["kernel", "rae", "fast-dual"])
def test_every_architecture_exports_with_parity(tmp_path: Path, config: ModelConfig, warp_mode: str) -> None:
    """The kernel-predicting output, the RAE baseline and a fast dual model trace to ONNX and
    stream like torch."""
    torch.manual_seed(2)
    model = SSRNet(config).eval()
    path = export_onnx(model, tmp_path / "model.onnx", height=16, width=16, dynamic=True, warp=warp_mode)
    assert check_parity(model, path, 12, 20, frames=3) < 1e-3
    assert np.isfinite(check_parity(model, path, 16, 16, frames=2))


def test_rule_history_model_exports_with_its_taps_inside(tmp_path: Path, sequence: Sequence) -> None:
    """A history="rule" model's validity-tested taps trace into the graph; its ONNX stream
    follows torch over a real sequence with a cut, and the warp-outside form (a state warped
    without its taps' tests) is refused; native pixel stages run it
    (tests/runtime/test_native_stages.py)."""
    torch.manual_seed(2)
    model = SSRNet(ModelConfig(width="fast", layout="fast", accumulation="linear", output="kernel", signal="dual",
                               history="rule")).eval()
    path = export_onnx(model, tmp_path / "rule.onnx", height=12, width=16, dynamic=True)
    assert check_parity(model, path, 12, 20, frames=3) < 1e-3
    torch_stream, onnx_stream = FrameStream(model), OnnxStream(path)
    for index, (frame, cut) in enumerate(_frames(sequence)):
        np.testing.assert_allclose(onnx_stream.denoise(frame, cut=cut), torch_stream.denoise(frame, cut=cut),
                                   rtol=0, atol=1e-4, err_msg=f"frame {index}")
    with pytest.raises(ValueError, match="history='rule'"):
        export_onnx(model, tmp_path / "outside.onnx", height=16, width=16, dynamic=True, warp="outside")


def test_dynamic_export_matches_torch_at_several_sizes(net: SSRNet, dynamic_onnx: Path) -> None:
    graph = onnx.load(str(dynamic_onnx)).graph
    packed = next(i for i in graph.input if i.name == "packed")
    dims = [d.dim_param or d.dim_value for d in packed.type.tensor_type.shape.dim]
    assert dims == [1, 19, "height", "width"]
    for height, width in [(16, 16), (12, 20), (8, 8)]:
        assert check_parity(net, dynamic_onnx, height, width, frames=3) <= 1e-4
    with pytest.raises(ValueError, match="multiples of 4, got 14x10"):
        check_parity(net, dynamic_onnx, 14, 10)


def test_dynamic_export_needs_a_multiple_of_4_trace_size(net: SSRNet, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        export_onnx(net, tmp_path / "bad.onnx", height=14, width=16, dynamic=True)
    assert not (tmp_path / "bad.onnx").exists()


def test_parity_check_catches_a_different_model(net: SSRNet, dynamic_onnx: Path) -> None:
    with pytest.raises(ParityError, match="differs from torch by .* in '.*' at frame \\d \\(torch .*\\) "
                                          "\\(> atol 0.0001 \\+ rtol 0.001 x \\|torch\\|\\)"):
        check_parity(_tiny(seed=1), dynamic_onnx, 8, 8, frames=2)
    # the tolerance is relative too: a generous rtol passes what atol alone rejects, and back
    worst = check_parity(net, dynamic_onnx, 8, 8, frames=2)
    with pytest.raises(ParityError):
        check_parity(_tiny(seed=1), dynamic_onnx, 8, 8, frames=2, rtol=0.0)
    assert check_parity(net, dynamic_onnx, 8, 8, frames=2, atol=0.0, rtol=1.0) == worst


def test_sidecar_describes_the_graph(tmp_path: Path) -> None:
    model = SSRNet(ModelConfig(width="tiny", use_warped_prev=False)).eval()
    weights = save_model(model, tmp_path / "weights" / "m")
    path = export_onnx(tmp_path / "weights" / "m", tmp_path / "out" / "m.onnx", height=8, width=12, opset=17)
    assert sidecar_path(path) == tmp_path / "out" / "m.onnx.json"
    side = json.loads(sidecar_path(path).read_text())
    assert side == load_sidecar(path)
    assert side["format"] == "ssr-onnx" and side["version"] == 1
    assert side["model_config"] == model.config.to_dict()
    assert side["opset"] == 17 and side["dynamic"] is False and side["export_size"] == [8, 12]
    assert [i["name"] for i in side["inputs"]] == list(INPUT_NAMES)
    assert [o["name"] for o in side["outputs"]] == list(OUTPUT_NAMES)
    shapes = {t["name"]: t["shape"] for t in side["inputs"] + side["outputs"]}
    assert shapes == {"packed": [1, 19, 8, 12], "acc": [1, 14, 8, 12], "prev_out": [1, 3, 8, 12],
                      "reset": [1, 1, 1, 1], "color": [1, 3, 8, 12], "acc_new": [1, 14, 8, 12],
                      "out_log": [1, 3, 8, 12]}
    assert side["source_weights"]["path"] == str(weights.resolve())
    assert side["source_weights"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    # the graph really has these names, shapes and opset
    graph_model = onnx.load(str(path))
    assert [i.name for i in graph_model.graph.input] == list(INPUT_NAMES)
    assert [o.name for o in graph_model.graph.output] == list(OUTPUT_NAMES)
    for value in list(graph_model.graph.input) + list(graph_model.graph.output):
        assert [d.dim_value for d in value.type.tensor_type.shape.dim] == shapes[value.name]
    assert any(o.domain in ("", "ai.onnx") and o.version == 17 for o in graph_model.opset_import)
    # without the warped previous output the graph ignores prev_out, but still takes it
    assert check_parity(tmp_path / "weights" / "m", path, 8, 12, frames=2) <= 1e-4


# --- OnnxStream (onnxruntime backend) ----------------------------------------------------


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_onnx_stream_equals_frame_stream_with_a_cut(net: SSRNet, sequence: Sequence, tmp_path: Path,
                                                    dynamic: bool) -> None:
    path = export_onnx(net, tmp_path / "m.onnx", height=12, width=16, dynamic=dynamic)
    torch_stream, onnx_stream = FrameStream(net), OnnxStream(path)
    assert onnx_stream.subpixel is True and onnx_stream.graph_size == (None if dynamic else (12, 16))
    outputs = []
    for index, (frame, cut) in enumerate(_frames(sequence)):
        want = torch_stream.denoise(frame, cut=cut)
        got = onnx_stream.denoise(frame, cut=cut)
        assert got.shape == (12, 16, 3) and got.dtype == np.float32 and got.flags["C_CONTIGUOUS"]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4, err_msg=f"frame {index}")
        assert onnx_stream.frames_since_reset == torch_stream.frames_since_reset
        outputs.append(got)
    assert onnx_stream.frames_since_reset == 2 and onnx_stream.size == (12, 16)  # cut at frame 3
    # the history is used: frame 2 differs from the same frame denoised on its own
    fresh = OnnxStream(path)
    assert not np.allclose(fresh.denoise(sequence.read_frame(2)), outputs[2], atol=1e-4)
    # and forgotten after reset(): the same as a fresh stream
    onnx_stream.reset()
    assert onnx_stream.size is None
    np.testing.assert_array_equal(onnx_stream.denoise(sequence.read_frame(4)), OnnxStream(path).denoise(
        sequence.read_frame(4)))


def test_onnx_stream_pads_other_sizes_outside_a_dynamic_graph(net: SSRNet, dynamic_onnx: Path,
                                                              tmp_path: Path) -> None:
    """At 14 x 10 the documented semantics: replicate-pad the input to 16 x 12, keep the
    state at 16 x 12, crop the colour."""
    seq = Sequence(write_synthetic_sequence(tmp_path / "odd", width=10, height=14, frames=3))
    stream = OnnxStream(dynamic_onnx)
    acc, prev = torch.zeros(1, 14, 16, 12), torch.zeros(1, 3, 16, 12)

    def pad(t: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(t, (0, 2, 0, 2), mode="replicate")

    from ssr.data_tools.pack import pack_frame
    from ssr.runtime.stream import check_frame

    for index in range(3):
        frame = seq.read_frame(index)
        packed = torch.from_numpy(pack_frame(check_frame(frame)))[None]
        with torch.no_grad():
            color, acc, prev = net(pad(packed), acc, prev, torch.full((1, 1, 1, 1), float(index == 0)))
        want = color[0, :, :14, :10].permute(1, 2, 0).numpy()
        got = stream.denoise(frame)
        assert got.shape == (14, 10, 3)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4, err_msg=f"frame {index}")
    # a size change resets automatically
    small = Sequence(write_synthetic_sequence(tmp_path / "small", width=8, height=8, frames=2)).read_frame(1)
    out = stream.denoise(small)
    assert stream.size == (8, 8) and stream.frames_since_reset == 1
    np.testing.assert_array_equal(out, OnnxStream(dynamic_onnx).denoise(small))


def test_bad_frames_raise_and_leave_the_state_untouched(net: SSRNet, sequence: Sequence, tmp_path: Path) -> None:
    path = export_onnx(net, tmp_path / "static.onnx", height=12, width=16)
    frames = [sequence.read_frame(t) for t in range(3)]
    reference = OnnxStream(path)
    expected = [reference.denoise(f) for f in frames]

    stream = OnnxStream(path)
    stream.denoise(frames[0])
    stream.denoise(frames[1])
    nan_frame = {name: layer.copy() for name, layer in frames[2].items()}
    nan_frame["color"][0, 0, 1] = np.nan
    with pytest.raises(ValueError, match="layer 'color': 1 NaN/Inf"):
        stream.denoise(nan_frame)
    wrong_size = Sequence(write_synthetic_sequence(tmp_path / "big", width=20, height=12, frames=1)).read_frame(0)
    with pytest.raises(ValueError, match=r"exported for 12x16 frames \(static shape\), got a 12x20 frame"):
        stream.denoise(wrong_size)
    assert stream.size == (12, 16) and stream.frames_since_reset == 2
    np.testing.assert_array_equal(stream.denoise(frames[2]), expected[2])


def test_onnx_stream_rejects_missing_and_foreign_graphs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="ssr export"):
        OnnxStream(tmp_path / "nope.onnx")
    # a valid ONNX graph that is not an SSR step
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(foreign))
    with pytest.raises(ValueError, match="not an SSR step graph"):
        OnnxStream(foreign)


# --- ssr export --------------------------------------------------------------------------


def test_export_command_writes_onnx_and_sidecar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_model(_tiny(3), tmp_path / "w")
    out = tmp_path / "exported" / "m.onnx"
    code = ssr_main(["export", "--model", str(tmp_path / "w"), "--out", str(out), "--height", "8", "--width", "12",
                     "--dynamic"])
    assert code == 0
    assert out.is_file() and load_sidecar(out)["dynamic"] is True
    assert "parity torch vs onnxruntime (8x12, 3 frames)" in capsys.readouterr().out


def test_export_command_rejects_bad_dynamic_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_model(_tiny(3), tmp_path / "w")
    code = ssr_main(["export", "--model", str(tmp_path / "w"), "--out", str(tmp_path / "m.onnx"), "--height", "10",
                     "--width", "12", "--dynamic", "--no-check"])
    assert code == 2
    assert "multiple of 4" in capsys.readouterr().err


def test_fp16_graph_keeps_io_state_grids_and_exp_in_float32(net: SSRNet, tmp_path: Path) -> None:
    from ssr.export.fp16 import convert_to_fp16, float32_nodes

    path = export_onnx(net, tmp_path / "m.onnx", height=16, width=16, dynamic=True)
    half = onnx.load(str(convert_to_fp16(path, tmp_path / "m.fp16.onnx")))
    float32, float16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    assert all(v.type.tensor_type.elem_type == float32 for v in (*half.graph.input, *half.graph.output))
    conv_weights = {i.name: i.data_type for i in half.graph.initializer}
    convs = [n for n in half.graph.node if n.op_type == "Conv"]
    assert convs and all(conv_weights.get(n.input[1]) == float16 for n in convs)  # the work is half
    kept = float32_nodes(onnx.load(str(path)).graph)
    assert {n.name for n in onnx.load(str(path)).graph.node if n.op_type in ("GridSample", "Exp")} <= kept
    props = {p.key: p.value for p in half.metadata_props}
    assert props["ssr.precision"] == "fp16" and "ssr.contract_version" in props
    stream32, stream16 = OnnxStream(path), OnnxStream(tmp_path / "m.fp16.onnx")
    for index, packed in enumerate(random_stream_inputs(16, 16, 3)):
        want, have = stream32.step(packed[0], cut=index == 0), stream16.step(packed[0], cut=index == 0)
        np.testing.assert_allclose(have, want, atol=5e-3, rtol=2e-2)


@pytest.mark.skipif(tensorrt_unavailable_reason() is None, reason="TensorRT and CUDA are available")
def test_tensorrt_format_fails_clearly_without_tensorrt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["export", "--out", str(tmp_path / "m.plan"), "--height", "16", "--width", "16", "--format", "tensorrt"]
    assert ssr_main(argv) == 2
    assert "ssr export: error: " + TENSORRT_UNAVAILABLE in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # failed before exporting anything


@pytest.mark.gpu
@pytest.mark.skipif(tensorrt_unavailable_reason() is not None, reason=str(tensorrt_unavailable_reason()))
@pytest.mark.parametrize("fp16", [False, True])
def test_tensorrt_engine_streams_like_onnxruntime(tmp_path: Path, fp16: bool) -> None:  # pragma: no cover - GPU
    save_model(_tiny(3), tmp_path / "w")
    argv = ["export", "--model", str(tmp_path / "w"), "--out", str(tmp_path / "m.plan"), "--height", "16",
            "--width", "16", "--dynamic", "--max-height", "32", "--max-width", "32", "--format", "tensorrt"]
    assert ssr_main(argv + (["--fp16"] if fp16 else [])) == 0  # includes the engine-vs-onnxruntime check
    from ssr.runtime.tensorrt_backend import TensorRTStream

    stream, reference = TensorRTStream(tmp_path / "m.plan"), OnnxStream(tmp_path / "m.onnx")
    for index, packed in enumerate(random_stream_inputs(12, 20, 4)):  # padded outside the engine
        np.testing.assert_allclose(stream.step(packed[0], index == 0), reference.step(packed[0], index == 0),
                                   atol=1e-2 if fp16 else 1e-3)


# --- the deployable runtime from the CLI ------------------------------------------------


def test_graph_carries_its_contract_in_metadata_props(dynamic_onnx: Path) -> None:
    from ssr.data_tools import contract
    from ssr.runtime.onnx_backend import OnnxBackend

    props = {p.key: p.value for p in onnx.load(str(dynamic_onnx)).metadata_props}
    assert props["ssr.contract_version"] == str(contract.CONTRACT_VERSION)
    assert json.loads(props["ssr.channels"]) == contract.GRAPH_CHANNELS
    assert json.loads(props["ssr.inputs"]) == list(contract.GRAPH_INPUTS)
    assert props["ssr.size_multiple"] == str(contract.SIZE_MULTIPLE)
    backend = OnnxBackend(dynamic_onnx)
    assert backend.metadata["ssr.format"] == "ssr-onnx" and backend.subpixel is True


def test_graph_of_another_contract_version_is_refused(net: SSRNet, tmp_path: Path) -> None:
    path = export_onnx(net, tmp_path / "old.onnx", height=8, width=8)
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "ssr.contract_version":
            prop.value = "0"
    onnx.save(model, str(path))
    with pytest.raises(ValueError, match="frame contract version 0"):
        OnnxStream(path)


def test_ssr_denoise_backend_onnxruntime_matches_torch(net: SSRNet, dynamic_onnx: Path, sequence: Sequence,
                                                       tmp_path: Path) -> None:
    from ssr.data_tools.exr import read_exr

    weights = save_model(net, tmp_path / "weights" / "m")
    common = ["--data", str(sequence.path), "--no-progress"]
    assert ssr_main(["denoise", "--model", str(weights), "--out", str(tmp_path / "torch"), *common]) == 0
    assert ssr_main(["denoise", "--model", str(dynamic_onnx), "--backend", "onnxruntime",
                     "--out", str(tmp_path / "ort"), *common]) == 0
    for t in range(len(sequence)):
        name = f"frame_{t:05d}.exr"
        want = read_exr(tmp_path / "torch" / name).channel("color.R")
        have = read_exr(tmp_path / "ort" / name).channel("color.R")
        np.testing.assert_allclose(have, want, atol=1e-4, err_msg=name)
    assert ssr_main(["denoise", "--model", str(weights), "--backend", "onnxruntime",
                     "--out", str(tmp_path / "bad"), *common]) == 2


def test_int8_graph_is_calibrated_on_frames_and_stays_close(net: SSRNet, dynamic_onnx: Path, sequence: Sequence,
                                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ssr.export.quantize import int8_quality_cost, quantize_int8

    int8 = quantize_int8(dynamic_onnx, tmp_path / "m.int8.onnx", [sequence.path])
    model = onnx.load(str(int8))
    ops = {n.op_type for n in model.graph.node}
    assert "QLinearConv" in ops and "Conv" not in ops and "GridSample" in ops  # the warps stay float32
    grid_inputs = {n.input[1] for n in model.graph.node if n.op_type == "GridSample"}
    producers = {o: n for n in model.graph.node for o in n.output}
    assert all(producers[name].op_type != "DequantizeLinear" for name in grid_inputs)
    assert {p.key: p.value for p in model.metadata_props}["ssr.precision"] == "int8"
    cost = int8_quality_cost(dynamic_onnx, int8, [sequence.path])
    assert cost["frames"] == len(sequence) and cost["int8_vs_float32"] > 25.0
    save_model(net, tmp_path / "w")
    assert ssr_main(["export", "--model", str(tmp_path / "w"), "--out", str(tmp_path / "e.onnx"), "--height", "12",
                     "--width", "16", "--dynamic", "--int8", "--calibration", str(sequence.path), "--no-check"]) == 0
    assert (tmp_path / "e.int8.onnx").is_file() and "INT8 vs float32 PSNR" in capsys.readouterr().out
    assert ssr_main(["export", "--out", str(tmp_path / "f.onnx"), "--height", "12", "--width", "16",
                     "--int8", "--no-check"]) == 2


def test_warp_outside_graph_has_no_gridsample_and_matches_torch(net: SSRNet, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = export_onnx(net, tmp_path / "out.onnx", height=16, width=16, dynamic=True, warp="outside")
    model = onnx.load(str(path))
    assert "GridSample" not in {n.op_type for n in model.graph.node}
    assert [i.name for i in model.graph.input] == ["packed", "warped_acc", "warped_prev", "reset"]
    assert {p.key: p.value for p in model.metadata_props}["ssr.warp"] == "outside"
    assert check_parity(net, path, 16, 20, frames=4) <= 1e-4  # the runtime's native warp == torch's
    stream = OnnxStream(path)
    assert stream.backend.warp_outside
    assert ssr_main(["export", "--out", str(tmp_path / "m.plan"), "--height", "16", "--width", "16",
                     "--format", "tensorrt", "--warp", "outside"]) == 2
    assert "--warp outside is for ONNX Runtime" in capsys.readouterr().err
