"""The native full-resolution stages (``ssr_stages.h``) against the torch model, and the
``--pixel-stages native`` graph streamed by the ONNX Runtime backend.

A fast-layout kernel model with seeded random weights; streams of
:func:`ssr.export.onnx.random_stream_inputs` (motion up to 1.5 px, so warps cross the
frame border) with a reset at frame 0 and a cut in the middle.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ssr.data_tools import stages
from ssr.data_tools.contract import (HISTORY_CAP_MIN, HISTORY_DEPTH_REL, HISTORY_DEPTH_SLOPE, HISTORY_NORMAL_COS,
                                     HISTORY_ROUGHNESS_FULL, HISTORY_VARIANCE_REL, LEGACY_VIEW_FLOOR, STAGE_CHANNELS, STAGE_FEATURE_PREV,
                                     STAGE_SIGNAL_PLANES)
from ssr.export.onnx import ParityError, check_parity, export_onnx, random_stream_inputs, write_metadata
from ssr.runtime.stage_weights import STAGE_WEIGHT_NAMES, decode_stage_weights, encode_stage_weights
from ssr.model import SSRNet
from ssr.model.config import VIEW_FLOOR, ModelConfig
from ssr.model.kernel import MASK_FLOOR, VIEW_BOUND
from ssr.model.network import LOG_IRRADIANCE_MAX
from ssr.model.pixel_stages import UNetTrunk, check_native_stages, stage_weight_arrays

native = pytest.importorskip("ssr._native")


def fast_net(seed: int = 0, kernel: int = 3, signal: str = "irradiance",
             view_floor: float = VIEW_FLOOR, history: str = "learned") -> SSRNet:
    torch.manual_seed(seed)
    config = ModelConfig(width="fast", layout="fast", accumulation="linear", output="kernel",
                         kernel_sizes=(5, 5, kernel), signal=signal,
                         view_floor=view_floor, history=history, history_cap=8.0)
    return SSRNet(config).eval()


def coherent_stream(height: int, width: int, frames: int, seed: int = 3) -> list[np.ndarray]:
    """A stream whose G-buffer keeps some of a rule history (:func:`random_stream_inputs`)."""
    return random_stream_inputs(height, width, frames, seed=seed, coherent=True)


def stage_buffers(net: SSRNet, height: int, width: int) -> dict[str, np.ndarray]:
    """NaN-filled stage outputs (an unwritten element shows up as NaN)."""
    c0, c1 = net.config.preset.unet[:2]
    full = {"acc_new": 14, "guide": c0, "prev": 3}
    half = {"down": c1, "prev_half": 3, "signal_half": STAGE_SIGNAL_PLANES[net.config.signal]}
    out = {name: np.full((1, c, height, width), np.nan, np.float32) for name, c in full.items()}
    out.update({name: np.full((1, c, height // 2, width // 2), np.nan, np.float32) for name, c in half.items()})
    return out


def native_step(net: SSRNet, packed: np.ndarray, acc: np.ndarray | None, prev: np.ndarray | None, reset: bool,
                num_threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """accumulate -> torch trunk -> resolve; returns (color HWC, acc_new, out_log)."""
    _, _, height, width = packed.shape
    weights, kernel = stage_weight_arrays(net), net.config.kernel_sizes[-1]
    planes = STAGE_SIGNAL_PLANES[net.config.signal]
    b = stage_buffers(net, height, width)
    rule = net.config.history == "rule"
    valid = np.full((1, 1, height, width), np.nan, np.float32) if rule else None
    stages.accumulate(packed, acc, prev, reset, weights, kernel, b["acc_new"], b["guide"], b["prev"], b["down"],
                      b["prev_half"], b["signal_half"], num_threads, signal_planes=planes,
                      view_floor=net.config.view_floor, history_cap=net.config.history_cap if rule else 0.0,
                      history_valid=valid)
    with torch.no_grad():
        coarse, carry = UNetTrunk(net)(*(torch.from_numpy(b[name]) for name in ("down", "prev_half", "signal_half")))
    out_log = np.full((1, 3, height, width), np.nan, np.float32)
    color = np.full((height, width, 3), np.nan, np.float32)
    stages.resolve(coarse.numpy(), carry.numpy(), b["guide"], b["prev"], b["acc_new"], packed, reset, weights, kernel,
                   out_log, color, num_threads, signal_planes=planes, history_valid=valid)
    return color, b["acc_new"], out_log


@pytest.mark.parametrize("kernel, size, signal, view_floor, history",
                         [(3, (20, 28), "irradiance", VIEW_FLOOR, "learned"),
                          (5, (20, 28), "irradiance", VIEW_FLOOR, "learned"),
                          (3, (20, 36), "dual", VIEW_FLOOR, "learned"),
                          (3, (20, 28), "dual", LEGACY_VIEW_FLOOR, "learned"),
                          (3, (20, 28), "irradiance", 0.3, "learned"),
                          (3, (20, 28), "irradiance", VIEW_FLOOR, "rule"),
                          (5, (20, 28), "dual", VIEW_FLOOR, "rule")],
                         ids=["k3", "k5", "dual", "dual-legacy-floor", "floor-0.3", "rule", "dual-rule"])
def test_native_stages_match_the_torch_model_over_a_stream(kernel: int, size: tuple[int, int], signal: str,
                                                           view_floor: float, history: str) -> None:
    """Also for a ``signal="dual"`` model (7-plane signal, the radiance blend at full
    resolution), for the legacy and an unusual log-view floor (``ModelConfig.view_floor``)
    and for the rule history (``ModelConfig.history="rule"``: validity-tested taps, sample
    counts, caps) over a G-buffer coherent enough to keep some of it."""
    net = fast_net(kernel=kernel, signal=signal, view_floor=view_floor, history=history)
    height, width = size
    acc_t, prev_t = torch.zeros(1, 14, height, width), torch.zeros(1, 3, height, width)
    acc_n, prev_n = np.zeros((1, 14, height, width), np.float32), np.zeros((1, 3, height, width), np.float32)
    frames = 8 if history == "rule" else 6
    stream = coherent_stream(height, width, frames) if history == "rule" else random_stream_inputs(height, width, 6, seed=3)
    for index, packed in enumerate(stream):
        reset = index in (0, frames // 2)  # stream start and a cut
        with torch.no_grad():
            color_t, acc_t, prev_t = net(torch.from_numpy(packed), acc_t, prev_t,
                                         torch.full((1, 1, 1, 1), float(reset)))
        color_n, acc_n, prev_n = native_step(net, packed, acc_n, prev_n, reset)
        want = color_t[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(acc_n, acc_t.numpy(), rtol=1e-4, atol=1e-4, err_msg=f"acc_new, frame {index}")
        np.testing.assert_allclose(prev_n, prev_t.numpy(), rtol=1e-4, atol=1e-4, err_msg=f"out_log, frame {index}")
        np.testing.assert_allclose(color_n, want, rtol=1e-4, atol=1e-4, err_msg=f"color, frame {index}")
    if history == "rule":  # the stream kept history somewhere and lost it somewhere
        counts = acc_n[0, 13]
        assert counts.max() >= 2.0 and (counts == 0).any()


def test_native_stages_match_torch_across_column_chunks() -> None:
    """Rows wider than the native chunk (512 columns): 2 full chunks and a ragged one.

    The torch side is stepped on the state warped by the native ``warp_planes`` (exact:
    at this width torch's grid_sample samples ~1e-4 px off, its normalised coordinates
    round-trip, and the TFA and the division by a small border coverage amplify that past
    the tolerance); everything after the warp is compared."""
    from ssr.data_tools.warp import warp_planes

    net = fast_net(seed=4)
    height, width = 8, 1040
    acc_t, prev_t = torch.zeros(1, 14, height, width), torch.zeros(1, 3, height, width)
    acc_n = prev_n = None
    for index, packed in enumerate(random_stream_inputs(height, width, 3, seed=6)):
        motion_x, motion_y = packed[0, 17], packed[0, 18]
        warped = [np.zeros_like(state.numpy()) for state in (acc_t, prev_t)]
        warp_planes(acc_t.numpy(), motion_x, motion_y, out=warped[0])
        warp_planes(prev_t.numpy(), motion_x, motion_y, out=warped[1])
        with torch.no_grad():
            color_t, acc_t, prev_t = net.forward_prewarped(torch.from_numpy(packed), torch.from_numpy(warped[0]),
                                                           torch.from_numpy(warped[1]),
                                                           torch.full((1, 1, 1, 1), float(index == 0)))
        color_n, acc_n, prev_n = native_step(net, packed, acc_n, prev_n, index == 0)
        np.testing.assert_allclose(acc_n, acc_t.numpy(), rtol=1e-4, atol=1e-4, err_msg=f"acc_new, frame {index}")
        np.testing.assert_allclose(prev_n, prev_t.numpy(), rtol=1e-4, atol=1e-4, err_msg=f"out_log, frame {index}")
        np.testing.assert_allclose(color_n, color_t[0].permute(1, 2, 0).numpy(), rtol=1e-4, atol=1e-4,
                                   err_msg=f"color, frame {index}")


def test_native_stages_do_not_depend_on_the_thread_count() -> None:
    net = fast_net()
    frames = random_stream_inputs(64, 48, 2, seed=5)
    first = native_step(net, frames[0], None, None, True, num_threads=1)
    results = [native_step(net, frames[1], first[1], first[2], False, num_threads=threads) for threads in (1, 2, 3)]
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_stage_planes_hold_what_the_header_documents() -> None:
    net = fast_net()
    packed = random_stream_inputs(8, 12, 1, seed=2)[0]
    b = stage_buffers(net, 8, 12)
    weights = stage_weight_arrays(net)
    stages.accumulate(packed, None, None, True, weights, 3, b["acc_new"], b["guide"], b["prev"], b["down"],
                      b["prev_half"], b["signal_half"])
    # at a reset the history is x_t itself, so A_t = x_values: linear irradiance, the rest copied
    np.testing.assert_allclose(b["acc_new"][0, :3], np.expm1(packed[0, :3]), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(b["acc_new"][0, 3:], packed[0, 3:14])
    # prev = the log view of A_t's irradiance at a reset
    view = np.log1p(b["acc_new"][0, :3] / np.maximum(b["acc_new"][0, 13], 1e-4))
    np.testing.assert_allclose(b["prev"][0], view, rtol=1e-5, atol=1e-5)
    features = np.concatenate((packed[0, :14], np.concatenate((view, b["acc_new"][0, 3:])), packed[0, 14:17],
                               b["prev"][0]))
    assert features.shape[0] == STAGE_CHANNELS["features"] and STAGE_FEATURE_PREV == 31
    guide = np.maximum(np.einsum("oi,ihw->ohw", weights["enc0_w"], features) + weights["enc0_b"][:, None, None], 0)
    np.testing.assert_allclose(b["guide"][0], guide, rtol=1e-4, atol=1e-5)
    blocks = features.reshape(34, 4, 2, 6, 2)  # (i, y, dy, x, dx)
    down = np.einsum("oiab,iyaxb->oyx", weights["down1_w"], blocks) + weights["down1_b"][:, None, None]
    np.testing.assert_allclose(b["down"][0], np.maximum(down, 0), rtol=1e-4, atol=1e-5)
    pooled = b["acc_new"][0, [0, 1, 2, 13]].reshape(4, 4, 2, 6, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(b["signal_half"][0], pooled, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(b["prev_half"][0], b["prev"][0].reshape(3, 4, 2, 6, 2).mean(axis=(2, 4)),
                               rtol=1e-6, atol=1e-7)


def test_native_constants_equal_the_python_contract() -> None:
    assert native.STAGE_FEATURE_PLANES == STAGE_CHANNELS["features"]
    assert tuple(STAGE_WEIGHT_NAMES) == tuple(stage_weight_arrays(fast_net()))
    assert native.STAGE_SIGNAL_PLANES == STAGE_CHANNELS["signal_half"] == STAGE_CHANNELS["carry"]
    assert native.STAGE_FEATURE_PREV == STAGE_FEATURE_PREV
    assert native.STAGE_MASK_FLOOR == pytest.approx(MASK_FLOOR)
    assert native.STAGE_VIEW_BOUND == pytest.approx(VIEW_BOUND)
    assert native.STAGE_LEGACY_VIEW_FLOOR == pytest.approx(LEGACY_VIEW_FLOOR)
    assert native.STAGE_LOG_MAX == pytest.approx(LOG_IRRADIANCE_MAX)
    assert native.STAGE_HISTORY_CAP_MIN == pytest.approx(HISTORY_CAP_MIN)
    assert native.STAGE_HISTORY_ROUGHNESS_FULL == pytest.approx(HISTORY_ROUGHNESS_FULL)
    assert native.STAGE_HISTORY_NORMAL_COS == pytest.approx(HISTORY_NORMAL_COS)
    assert native.STAGE_HISTORY_DEPTH_REL == pytest.approx(HISTORY_DEPTH_REL)
    assert native.STAGE_HISTORY_DEPTH_SLOPE == pytest.approx(HISTORY_DEPTH_SLOPE)
    assert native.STAGE_HISTORY_VARIANCE_REL == pytest.approx(HISTORY_VARIANCE_REL)


def test_stage_errors_name_the_argument() -> None:
    net = fast_net()
    weights = stage_weight_arrays(net)
    packed = random_stream_inputs(8, 8, 1)[0]
    b = stage_buffers(net, 8, 8)
    outs = [b[name] for name in ("acc_new", "guide", "prev", "down", "prev_half", "signal_half")]
    with pytest.raises(ValueError, match="must be even"):
        stages.accumulate(np.zeros((1, 19, 7, 8), np.float32), None, None, True, weights, 3, *outs)
    with pytest.raises(ValueError, match="'guide' must have shape \\(8, 8, 8\\)"):
        stages.accumulate(packed, None, None, True, weights, 3, outs[0], np.zeros((1, 7, 8, 8), np.float32), *outs[2:])
    with pytest.raises(ValueError, match="'acc' and 'prev_out' are required"):
        stages.accumulate(packed, None, None, False, weights, 3, *outs)
    with pytest.raises(ValueError, match="stage weight 'emb_w1' must have shape \\(12, 14\\)"):
        stages.accumulate(packed, None, None, True, {**weights, "emb_w1": weights["emb_w1"][:, :13].copy()}, 3, *outs)
    with pytest.raises(ValueError, match="stage weight 'head_w' must have shape \\(27, 8\\)"):
        stages.accumulate(packed, None, None, True, weights, 5, *outs)
    with pytest.raises(ValueError, match="'dec0_b' is missing"):
        stages.accumulate(packed, None, None, True, {k: v for k, v in weights.items() if k != "dec0_b"}, 3, *outs)
    with pytest.raises(ValueError, match="overlaps"):
        stages.accumulate(packed, None, None, True, weights, 3, outs[0], outs[0][:, :8], *outs[2:])
    half = np.zeros((1, 4, 4, 4), np.float32)
    resolve_args = (half[:, :3], half, b["guide"], b["prev"], b["acc_new"], packed, True, weights)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        stages.resolve(*resolve_args, 2, np.zeros((1, 3, 8, 8), np.float32), np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="'color' must be C-contiguous \\(h, w, 3\\) with h <= 8"):
        stages.resolve(*resolve_args, 3, np.zeros((1, 3, 8, 8), np.float32), np.zeros((9, 8, 3), np.float32))
    with pytest.raises(ValueError, match="'coarse' must have shape \\(3, 4, 4\\)"):
        stages.resolve(half, *resolve_args[1:], 3, np.zeros((1, 3, 8, 8), np.float32), np.zeros((8, 8, 3), np.float32))
    # the rule history: a cap below the mirrors' one, and its valid plane, required and shaped
    with pytest.raises(ValueError, match="history_cap must be 0 \\(the learned TFA history\\) or finite and >= 2"):
        stages.accumulate(packed, None, None, True, weights, 3, *outs, history_cap=1.0,
                          history_valid=np.zeros((1, 1, 8, 8), np.float32))
    with pytest.raises(ValueError, match="needs 'history_valid' \\(1, H, W\\)"):
        stages.accumulate(packed, None, None, True, weights, 3, *outs, history_cap=8.0)
    with pytest.raises(ValueError, match="'history_valid' must have shape \\(1, 8, 8\\)"):
        stages.accumulate(packed, None, None, True, weights, 3, *outs, history_cap=8.0,
                          history_valid=np.zeros((1, 1, 8, 6), np.float32))


def test_stage_weight_record_round_trips_and_rejects_garbage() -> None:
    arrays = stage_weight_arrays(fast_net())
    decoded = decode_stage_weights(encode_stage_weights(arrays))
    for name, array in arrays.items():
        np.testing.assert_array_equal(decoded[name], array)
    with pytest.raises(ValueError, match="m.onnx: metadata 'ssr.stage_weights' is not a stage weight record"):
        decode_stage_weights('{"ref_w1": 3}', "m.onnx")


def test_only_fast_kernel_models_take_native_stages() -> None:
    spec = SSRNet(ModelConfig(width="tiny", accumulation="linear", output="kernel"))
    with pytest.raises(ValueError, match="layout='spec' \\(needs 'fast'"):
        check_native_stages(spec)
    with pytest.raises(ValueError, match="output='direct'"):
        check_native_stages(SSRNet(ModelConfig(width="fast", layout="fast", accumulation="linear")))


def test_dual_signal_native_stage_graph_has_parity(tmp_path: Path) -> None:
    """``signal="dual"``: 7-plane ``signal_half`` / ``carry`` in the graph, recorded in its
    metadata, and the ONNX Runtime stream equal to torch's."""
    import onnx

    net = fast_net(seed=7, signal="dual")
    path = export_onnx(net, tmp_path / "dual_native.onnx", height=16, width=16, pixel_stages="native")
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["ssr.signal_planes"] == "7"
    assert model.graph.input[2].type.tensor_type.shape.dim[1].dim_value == 7  # signal_half
    sidecar = json.loads(Path(f"{path}.json").read_text())
    assert [entry["shape"][1] for entry in sidecar["outputs"]] == [3, 7]  # coarse, carry
    assert check_parity(net, path, 20, 24, frames=4) <= 1e-4


def test_dual_signal_stages_check_the_plane_count() -> None:
    net = fast_net(signal="dual")
    weights = stage_weight_arrays(net)
    packed = random_stream_inputs(8, 8, 1)[0]
    b = stage_buffers(net, 8, 8)
    outs = [b[name] for name in ("acc_new", "guide", "prev", "down", "prev_half", "signal_half")]
    with pytest.raises(ValueError, match="signal_planes must be 4 \\(irradiance\\) or 7 \\(dual\\), got 5"):
        stages.accumulate(packed, None, None, True, weights, 3, *outs, signal_planes=5)
    with pytest.raises(ValueError, match="stage weight 'head_w' must have shape \\(11, 8\\)"):  # a dual head read as irradiance
        stages.accumulate(packed, None, None, True, weights, 3, *outs, signal_planes=4)
    with pytest.raises(ValueError, match="'signal_half' must have shape \\(7, 4, 4\\)"):
        stages.accumulate(packed, None, None, True, weights, 3, *outs[:5], np.zeros((1, 4, 4, 4), np.float32),
                          signal_planes=7)
    stages.accumulate(packed, None, None, True, weights, 3, *outs, signal_planes=7)
    albedo = packed[0, 3:6] + native.ALBEDO_EPS
    radiance = (b["acc_new"][0, :3] * albedo).reshape(3, 4, 2, 4, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(b["signal_half"][0, 4:], radiance, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("signal", ["irradiance", "dual"])
def test_native_stage_graph_streams_like_torch(tmp_path: Path, signal: str) -> None:
    import onnx

    net = fast_net(signal=signal)
    path = export_onnx(net, tmp_path / "native.onnx", height=16, width=16, pixel_stages="native")
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == ["down", "prev_half", "signal_half"]
    assert [o.name for o in model.graph.output] == ["coarse", "carry"]
    props = {p.key: p.value for p in model.metadata_props}
    assert props["ssr.pixel_stages"] == "native" and props["ssr.kernel_size"] == "3"
    assert check_parity(net, path, 20, 24, frames=4) <= 1e-4
    from ssr.runtime.onnx_backend import OnnxStream

    stream = OnnxStream(path)
    assert stream.backend.native_stages
    frame = {"color": np.ones((18, 22, 3), np.float32), "albedo": np.full((18, 22, 3), 0.5, np.float32),
             "normal": np.tile(np.float32([0, 0, 1]), (18, 22, 1)), "depth": np.ones((18, 22), np.float32),
             "motion": np.zeros((18, 22, 2), np.float32), "mask": np.ones((18, 22), np.float32)}
    for _ in range(2):  # not a multiple of 4: padded outside the graph, cropped back
        out = stream.denoise(frame)
        assert out.shape == (18, 22, 3) and np.isfinite(out).all()
    # a flat white, fully traced frame stays flat white
    np.testing.assert_allclose(out, 1.0, rtol=1e-3)
    smaller = {name: layer[:12, :16] for name, layer in frame.items()}  # a size change restarts the stream
    np.testing.assert_allclose(stream.denoise(smaller), 1.0, rtol=1e-3)
    with pytest.raises(ValueError, match="frame layer 'color': 1 NaN/Inf values"):
        stream.denoise({**smaller, "color": np.where(np.arange(12 * 16 * 3).reshape(12, 16, 3) == 5, np.nan,
                                                      smaller["color"]).astype(np.float32)})
    np.testing.assert_allclose(stream.denoise(smaller), 1.0, rtol=1e-3)  # the bad frame left the state alone
    one_thread = OnnxStream(path, threads=1)  # ORT and the native passes on one thread: the same image
    assert one_thread.backend.native_threads == 1
    np.testing.assert_array_equal(one_thread.denoise(frame), OnnxStream(path).denoise(frame))
    write_metadata(path, {"ssr.stage_weights": "not json"})
    with pytest.raises(ValueError, match="native.onnx: metadata 'ssr.stage_weights' is not a stage weight record"):
        OnnxStream(path)


def test_int8_and_fp16_keep_the_linear_signal_in_float32(tmp_path: Path) -> None:
    """`signal_half` is linear HDR irradiance: quantising it to 8 bits cost 0.2 dB."""
    import onnx

    from ssr.export.fp16 import float32_nodes

    path = export_onnx(fast_net(), tmp_path / "native.onnx", height=16, width=16, pixel_stages="native")
    graph = onnx.load(str(path)).graph
    kept = float32_nodes(graph)
    readers = [node for node in graph.node if "signal_half" in node.input]
    assert readers and all(node.name in kept for node in readers)
    down_readers = [node for node in graph.node if "down" in node.input]
    assert down_readers and not any(node.name in kept for node in down_readers)  # the features are quantised


def test_onnx_backend_applies_the_model_view_floor(tmp_path: Path) -> None:
    """A native-stage graph carries its model's ``view_floor`` in ``ssr.model_config``; the
    runtime applies it (parity with torch at a floor far from the legacy one), reads a config
    without it as the legacy 1e-4 (graphs exported before it existed) and refuses a bad one."""
    from ssr.runtime.onnx_backend import OnnxBackend

    net = fast_net(seed=2, view_floor=0.3)
    path = export_onnx(net, tmp_path / "floor.onnx", height=16, width=16, pixel_stages="native")
    assert OnnxBackend(path).view_floor == pytest.approx(0.3)
    assert check_parity(net, path, 20, 24, frames=4) <= 1e-4
    config = net.config.to_dict()
    del config["view_floor"]
    write_metadata(path, {"ssr.model_config": json.dumps(config)})
    assert OnnxBackend(path).view_floor == pytest.approx(LEGACY_VIEW_FLOOR)
    write_metadata(path, {"ssr.model_config": json.dumps({**config, "view_floor": -1})})
    with pytest.raises(ValueError, match="floor.onnx: metadata 'ssr.model_config' has view_floor -1"):
        OnnxBackend(path)


def test_onnx_stream_packs_with_the_model_specular_floor(tmp_path: Path) -> None:
    """A model's ``specular_floor`` travels in ``ssr.model_config``: the ONNX stream packs
    every frame with it and matches the torch stream; a graph without it packs with 0 and a
    bad value is refused when the graph is opened."""
    from ssr.runtime.onnx_backend import OnnxBackend, OnnxStream
    from ssr.runtime.stream import FrameStream

    torch.manual_seed(6)
    net = SSRNet(dataclasses.replace(fast_net().config, signal="dual", specular_floor=0.25)).eval()
    path = export_onnx(net, tmp_path / "spec.onnx", height=16, width=16, pixel_stages="native")
    assert OnnxBackend(path).specular_floor == pytest.approx(0.25)
    rng = np.random.default_rng(0)
    torch_stream, onnx_stream = FrameStream(net), OnnxStream(path)
    for index in range(3):
        mask = np.zeros((16, 20, 1), np.float32)
        mask[index % 2::2, (index // 2) % 2::2] = 1
        frame = {"color": (rng.random((16, 20, 3)) * 2 * mask).astype(np.float32),
                 "albedo": rng.uniform(0.05, 0.9, (16, 20, 3)).astype(np.float32),
                 "roughness": rng.random((16, 20, 1)).astype(np.float32),
                 "normal": np.tile(np.float32([0, 0, 1]), (16, 20, 1)), "depth": np.ones((16, 20), np.float32),
                 "motion": np.zeros((16, 20, 2), np.float32), "mask": mask}
        np.testing.assert_allclose(onnx_stream.denoise(frame), torch_stream.denoise(frame), rtol=1e-3, atol=1e-4)
    config = net.config.to_dict()
    del config["specular_floor"]
    write_metadata(path, {"ssr.model_config": json.dumps(config)})
    assert OnnxBackend(path).specular_floor == 0.0
    write_metadata(path, {"ssr.model_config": json.dumps({**config, "specular_floor": -1})})
    with pytest.raises(ValueError, match="spec.onnx: the model config has specular_floor -1"):
        OnnxBackend(path)


def test_onnx_backend_runs_a_rule_history_model_natively(tmp_path: Path) -> None:
    """A ``history="rule"`` model exports with native pixel stages; the runtime reads the rule
    and its cap from ``ssr.model_config`` and follows torch over a coherent stream with a
    cut; a graph whose config names the removed ``tfa_untraced`` option, or a rule without a
    valid cap, is refused naming the file."""
    from ssr.runtime.onnx_backend import OnnxBackend, OnnxStream
    from ssr.runtime.stream import FrameStream

    net = fast_net(seed=4, signal="dual", history="rule")
    path = export_onnx(net, tmp_path / "rule.onnx", height=16, width=16, pixel_stages="native")
    assert OnnxBackend(path).history_cap == net.config.history_cap == 8.0
    assert check_parity(net, path, 20, 24, frames=5) <= 1e-4
    height, width = 20, 28
    torch_stream, onnx_stream = FrameStream(net), OnnxStream(path)
    for index, packed in enumerate(coherent_stream(height, width, 8, seed=9)):
        planes = packed[0]
        albedo = planes[3:6].transpose(1, 2, 0)
        frame = {"color": (np.expm1(planes[0:3]).transpose(1, 2, 0) * (albedo + 0.004)).astype(np.float32),
                 "albedo": albedo.copy(), "normal": planes[6:9].transpose(1, 2, 0).copy(),
                 "depth": planes[9].copy(), "roughness": planes[10][..., None].copy(),
                 "motion": planes[17:19].transpose(1, 2, 0).copy(), "mask": planes[13].copy(),
                 "transparent": planes[14:17].transpose(1, 2, 0).copy()}
        cut = index == 4
        np.testing.assert_allclose(onnx_stream.denoise(frame, cut=cut), torch_stream.denoise(frame, cut=cut),
                                   rtol=1e-3, atol=1e-4, err_msg=f"frame {index}")
    config = net.config.to_dict()
    write_metadata(path, {"ssr.model_config": json.dumps({**config, "history_cap": 1.0})})
    with pytest.raises(ValueError, match="rule.onnx: metadata 'ssr.model_config' has history 'rule' with history_cap 1.0"):
        OnnxBackend(path)
    write_metadata(path, {"ssr.model_config": json.dumps({**config, "tfa_untraced": "keep"})})
    with pytest.raises(ValueError, match="rule.onnx: metadata 'ssr.model_config' has tfa_untraced 'keep'"):
        OnnxBackend(path)


def test_trained_weights_with_the_rule_history_keep_native_parity(tmp_path: Path) -> None:
    """The bundled model's trained TFA switched to ``history="rule"`` (no weights depend on the
    rule) exports with native stages within the default parity tolerance: its scores read the
    rule view's spread, where samples that agree must read 0 in both runtimes, not float32
    cancellation noise (``HISTORY_VARIANCE_REL``; without it this stream differed by 3e-3)."""
    from ssr.model import load_model

    bundled = load_model()
    rule = SSRNet(dataclasses.replace(bundled.config, history="rule")).eval()
    rule.load_state_dict(bundled.state_dict())
    path = export_onnx(rule, tmp_path / "bundled_rule.onnx", height=32, width=32, pixel_stages="native")
    assert check_parity(rule, path, 32, 32, frames=4) <= 1e-4
