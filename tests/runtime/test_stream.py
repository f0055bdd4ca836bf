"""Tests of ssr.runtime.stream.FrameStream (torch backend, tiny untrained model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ssr.model import ModelConfig, SSRNet, save_model  # noqa: E402
from ssr.runtime.stream import FrameStream  # noqa: E402


def _frame(seed: int, height: int = 16, width: int = 16) -> dict[str, np.ndarray]:
    """A valid random frame: every layer float32 [H, W, C]."""
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=(height, width, 3)).astype(np.float32)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    mask = np.zeros((height, width, 1), np.float32)
    mask[seed % 2 :: 2, (seed // 2) % 2 :: 2] = 1.0
    return {
        "color": (rng.random((height, width, 3)) * 3 * mask).astype(np.float32),
        "albedo": rng.uniform(0.1, 1.0, (height, width, 3)).astype(np.float32),
        "normal": normal,
        "depth": rng.uniform(1.0, 5.0, (height, width, 1)).astype(np.float32),
        "roughness": rng.random((height, width, 1)).astype(np.float32),
        "metallic": np.zeros((height, width, 1), np.float32),
        "shadow": mask.copy(),
        "mask": mask,
        "transparent": np.zeros((height, width, 3), np.float32),
        "motion": rng.uniform(-1.5, 1.5, (height, width, 2)).astype(np.float32),
    }


@pytest.fixture(scope="module")
def net() -> SSRNet:
    torch.manual_seed(0)
    return SSRNet(ModelConfig(width="tiny")).eval()


def _run(stream: FrameStream, frames: list[dict[str, np.ndarray]], cuts: set[int] = frozenset()) -> list[np.ndarray]:
    return [stream.denoise(frame, cut=index in cuts) for index, frame in enumerate(frames)]


def test_output_shape_dtype_and_history_use(net: SSRNet) -> None:
    stream = FrameStream(net)
    frames = [_frame(i) for i in range(3)]
    outputs = _run(stream, frames)
    for out in outputs:
        assert out.shape == (16, 16, 3) and out.dtype == np.float32 and np.isfinite(out).all()
        assert (out >= 0).all()
    assert stream.frames_since_reset == 3 and stream.size == (16, 16)
    # with history, frame 2 differs from the same frame denoised on its own
    alone = FrameStream(net).denoise(frames[2])
    assert not np.allclose(outputs[2], alone)


def test_cut_and_reset_forget_the_history(net: SSRNet) -> None:
    frames = [_frame(i) for i in range(3)]
    fresh = FrameStream(net).denoise(frames[2])
    cut_stream = FrameStream(net)
    with_cut = _run(cut_stream, frames, cuts={2})
    assert np.array_equal(with_cut[2], fresh)
    assert cut_stream.frames_since_reset == 1
    reset_stream = FrameStream(net)
    _run(reset_stream, frames[:2])
    reset_stream.reset()
    assert reset_stream.size is None
    assert np.array_equal(reset_stream.denoise(frames[2]), fresh)


def test_resolution_change_resets_automatically(net: SSRNet) -> None:
    stream = FrameStream(net)
    _run(stream, [_frame(0), _frame(1)])
    small = _frame(2, height=12, width=20)
    out = stream.denoise(small)
    assert out.shape == (12, 20, 3)
    assert stream.frames_since_reset == 1 and stream.size == (12, 20)
    assert np.array_equal(out, FrameStream(net).denoise(small))


def _nan_color(frame: dict[str, np.ndarray]) -> None:
    frame["color"][0, 0, 1] = np.nan


def _negative_color(frame: dict[str, np.ndarray]) -> None:
    frame["color"][3, 3, 0] = -1.0


def _inf_motion(frame: dict[str, np.ndarray]) -> None:
    frame["motion"][1, 2, 0] = np.inf


def _wrong_albedo_shape(frame: dict[str, np.ndarray]) -> None:
    frame["albedo"] = frame["albedo"][:, :8]


def _missing_normal(frame: dict[str, np.ndarray]) -> None:
    del frame["normal"]


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (_nan_color, "layer 'color': 1 NaN/Inf"),
        (_negative_color, "layer 'color': 1 negative"),
        (_inf_motion, "layer 'motion': 1 NaN/Inf"),
        (_wrong_albedo_shape, "layer 'albedo': expected shape"),
        (_missing_normal, "layer 'normal' is missing"),
    ],
)
def test_bad_frame_raises_and_leaves_the_state_untouched(net: SSRNet, corrupt, message: str) -> None:
    frames = [_frame(i) for i in range(3)]
    expected = _run(FrameStream(net), frames)
    stream = FrameStream(net)
    stream.denoise(frames[0])
    stream.denoise(frames[1])
    bad = {name: layer.copy() for name, layer in _frame(99).items()}
    corrupt(bad)
    with pytest.raises(ValueError, match=message):
        stream.denoise(bad)
    assert stream.frames_since_reset == 2
    assert np.array_equal(stream.denoise(frames[2]), expected[2])


def test_optional_layers_default_and_one_channel_layers_may_be_2d(net: SSRNet) -> None:
    full = _frame(0)
    full["roughness"][:] = 0.0
    full["transparent"][:] = 0.0
    minimal = {k: v for k, v in full.items() if k not in ("roughness", "metallic", "transparent", "shadow")}
    minimal["depth"] = minimal["depth"][:, :, 0]
    assert np.array_equal(FrameStream(net).denoise(minimal), FrameStream(net).denoise(full))


def test_model_can_be_loaded_from_a_path(net: SSRNet, tmp_path: Path) -> None:
    save_model(net, tmp_path / "tiny")
    frame = _frame(0)
    loaded = FrameStream(tmp_path / "tiny")
    assert loaded.backend.channels_last and not FrameStream(net).backend.channels_last
    # a loaded model runs channels-last (other conv kernels): equal within float rounding
    np.testing.assert_allclose(loaded.denoise(frame), FrameStream(net).denoise(frame), rtol=1e-5, atol=1e-6)


def test_torch_backend_runtime_state_warp_matches_the_network_warp(net: SSRNet) -> None:
    """``state_warp="runtime"`` (the state warped by ``warp_planes`` before
    ``forward_prewarped``, what a pre-warped graph receives) tracks the network's own
    ``grid_sample`` warp to float rounding on an untrained model, and is a different path."""
    from ssr.data_tools.pack import pack_frame
    from ssr.streaming import StreamLoop, TorchBackend, check_frame

    frames = [pack_frame(check_frame(_frame(i))) for i in range(4)]
    inside = StreamLoop(TorchBackend(net, state_warp="torch"))
    outside = StreamLoop(TorchBackend(net, state_warp="runtime"))
    for index, packed in enumerate(frames):
        want, have = inside.step(packed, cut=index == 0), outside.step(packed, cut=index == 0)
        np.testing.assert_allclose(have, want, atol=1e-4, rtol=1e-3)
    assert outside.frames_since_reset == 4
    with pytest.raises(ValueError, match="state_warp must be 'torch' or 'runtime'"):
        TorchBackend(net, state_warp="native")
