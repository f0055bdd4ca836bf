"""Tests of `ssr denoise` (ssr.runtime.denoise) and `ssr eval` (ssr.runtime.evaluate_cli over the
ssr.evaluate library) on a tiny sequence, on torch and on an exported ONNX graph."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
OpenEXR = pytest.importorskip("OpenEXR")

from ssr.runtime import denoise as denoise_cmd  # noqa: E402
from ssr.runtime import evaluate_cli as eval_cmd  # noqa: E402
from ssr.evaluate import evaluate  # noqa: E402
from ssr.data_tools.format import Sequence, make_meta, write_frame, write_meta  # noqa: E402
from ssr.metrics import FRAME_METRICS, TEMPORAL_METRIC  # noqa: E402
from ssr.model import ModelConfig, SSRNet, save_model  # noqa: E402

HEIGHT, WIDTH, FRAMES, CUTS = 16, 20, 7, [0, 5]


def _write_sequence(seq_dir: Path, seed: int = 0) -> Path:
    """A tiny `sampling: full` sequence: a textured plane panning 1 px/frame to the left."""
    rng = np.random.default_rng(seed)
    texture = rng.uniform(0.2, 1.0, (HEIGHT, WIDTH + FRAMES, 3)).astype(np.float32)
    light = rng.uniform(0.5, 2.0, (HEIGHT, WIDTH + FRAMES, 3)).astype(np.float32)
    normal = np.zeros((HEIGHT, WIDTH, 3), np.float32)
    normal[..., 2] = 1.0
    for t in range(FRAMES):
        albedo = texture[:, t : t + WIDTH]
        reference = albedo * light[:, t : t + WIDTH]
        motion = np.zeros((HEIGHT, WIDTH, 2), np.float32)
        if t not in CUTS:
            motion[..., 0] = -1.0  # the surface at x was at x - 1 in the previous frame
        write_frame(seq_dir / f"frame_{t:05d}.exr", {
            "color": reference * rng.exponential(1.0, reference.shape).astype(np.float32),
            "albedo": albedo,
            "normal": normal,
            "depth": np.full((HEIGHT, WIDTH, 1), 2.0, np.float32),
            "motion": motion,
            "reference": reference,
        })
    write_meta(seq_dir, make_meta(width=WIDTH, height=HEIGHT, frame_count=FRAMES, cuts=CUTS,
                                  reference_spp=64, scene="test plane", renderer="numpy"))
    return seq_dir


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dataset")
    _write_sequence(root / "val" / "plane_a", seed=1)
    _write_sequence(root / "val" / "plane_b", seed=2)
    _write_sequence(root / "train" / "plane_c", seed=3)
    return root


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny"
    save_model(SSRNet(ModelConfig(width="tiny")), path)
    return path


def _parse(module, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(argv)


def _read_exr(path: Path) -> dict[str, np.ndarray]:
    with OpenEXR.File(str(path), separate_channels=True) as exr:
        return {name: channel.pixels for name, channel in exr.channels().items()}


# ----------------------------------------------------------------------------- denoise


def test_denoise_writes_numbered_float_color_frames_and_pngs(dataset: Path, model_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "denoised"
    args = _parse(denoise_cmd, ["--model", str(model_path), "--data", str(dataset / "val" / "plane_a"),
                                "--out", str(out), "--png"])
    assert denoise_cmd.run(args) == 0
    assert sorted(p.name for p in out.glob("*.exr")) == [f"frame_{t:05d}.exr" for t in range(FRAMES)]
    assert sorted(p.name for p in out.glob("*.png")) == [f"frame_{t:05d}.png" for t in range(FRAMES)]
    channels = _read_exr(out / "frame_00003.exr")
    assert sorted(channels) == ["color.B", "color.G", "color.R"]
    for pixels in channels.values():
        assert pixels.dtype == np.float32 and pixels.shape == (HEIGHT, WIDTH)
        assert np.isfinite(pixels).all() and (pixels >= 0).all()
    png = (out / "frame_00003.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == WIDTH and int.from_bytes(png[20:24], "big") == HEIGHT


def test_denoise_output_matches_the_stream_with_cuts(dataset: Path, model_path: Path, tmp_path: Path) -> None:
    from ssr.runtime.stream import FrameStream

    seq_dir = dataset / "val" / "plane_b"
    written = denoise_cmd.denoise_sequence(model_path, seq_dir, tmp_path / "out", progress=False)
    sequence = Sequence(seq_dir)
    stream = FrameStream(model_path)
    for t, path in enumerate(written):
        expected = stream.denoise(sequence.read_frame(t), cut=sequence.is_cut(t))
        channels = _read_exr(path)
        got = np.stack([channels[f"color.{c}"] for c in "RGB"], axis=-1)
        assert np.array_equal(got, expected)


def test_denoise_reports_a_bad_input_folder(model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = _parse(denoise_cmd, ["--model", str(model_path), "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert denoise_cmd.run(args) == 2
    assert "meta.json" in capsys.readouterr().err


# ----------------------------------------------------------------------------- eval


def test_eval_writes_reports_with_per_cut_breakdown(dataset: Path, model_path: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "report"
    args = _parse(eval_cmd, ["--model", str(model_path), "--data", str(dataset), "--split", "val", "--out", str(out)])
    assert eval_cmd.run(args) == 0
    printed = capsys.readouterr().out
    assert "| plane_a |" in printed and "**Average**" in printed

    report = json.loads((out / "report.json").read_text())
    names = list(FRAME_METRICS) + [TEMPORAL_METRIC]
    assert report["metrics"] == names
    assert [s["name"] for s in report["sequences"]] == ["plane_a", "plane_b"]
    seq = report["sequences"][0]
    assert seq["cuts"] == CUTS and seq["frames"] == FRAMES
    # cut frames 0 and 5: frames 0-3 and 5-6 are "after_cut", frame 4 is steady
    assert [r["phase"] for r in seq["per_frame"]] == ["after_cut"] * 4 + ["steady"] + ["after_cut"] * 2
    assert seq["denoised"]["all"]["frames"] == FRAMES
    assert seq["denoised"]["after_cut"]["frames"] == 6 and seq["denoised"]["steady"]["frames"] == 1
    for phase in ("all", "after_cut", "steady"):
        for name in names:
            assert math.isfinite(seq["denoised"][phase][name]), (phase, name)
    # no temporal error at cut frames (no history), present elsewhere
    temporal = [r["denoised"][TEMPORAL_METRIC] for r in seq["per_frame"]]
    assert temporal[0] is None and temporal[5] is None and all(v is not None for v in temporal[1:5])
    # steady-state mean is frame 4's value
    assert seq["denoised"]["steady"]["psnr_srgb"] == pytest.approx(seq["per_frame"][4]["denoised"]["psnr_srgb"])
    # the noisy input baseline is reported alongside
    assert seq["input"]["all"]["frames"] == FRAMES and math.isfinite(seq["input"]["all"]["psnr_linear"])
    average = report["average"]["denoised"]["all"]["psnr_srgb"]
    both = [s["denoised"]["all"]["psnr_srgb"] for s in report["sequences"]]
    assert average == pytest.approx(sum(both) / 2)

    markdown = (out / "report.md").read_text()
    assert "PSNR sRGB (dB)" in markdown and "HDR-FLIP" in markdown and "Temporal sRGB" in markdown
    assert "input (1-spp full colour)" in markdown
    assert "plane_a / after cut (6 frames)" in markdown and "plane_a / steady (1 frames)" in markdown


def test_evaluate_library_scores_a_perfect_baseline_and_restores_train_mode(dataset: Path) -> None:
    from ssr.metrics import MetricSet

    torch.manual_seed(0)
    net = SSRNet(ModelConfig(width="tiny")).train()
    report = evaluate(net, [dataset / "train" / "plane_c"], metrics=MetricSet(flip=False), max_frames=3)
    assert net.training
    seq = report["sequences"][0]
    assert seq["frames"] == 3 and len(seq["per_frame"]) == 3
    assert "flip_hdr" not in seq["denoised"]["all"]
    assert seq["denoised"]["steady"]["frames"] == 0 and seq["denoised"]["steady"]["psnr_srgb"] is None


def test_eval_rejects_a_missing_split(dataset: Path, model_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = _parse(eval_cmd, ["--model", str(model_path), "--data", str(dataset), "--split", "test"])
    assert eval_cmd.run(args) == 2
    err = capsys.readouterr().err
    assert "split 'test' not found" in err and "val" in err


def test_eval_needs_the_reference_layer(model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    seq_dir = tmp_path / "noref"
    _write_sequence(seq_dir)
    frame_path = seq_dir / "frame_00000.exr"
    channels = _read_exr(frame_path)
    layers = {
        "color": np.stack([channels[f"color.{c}"] for c in "RGB"], -1),
        "albedo": np.stack([channels[f"albedo.{c}"] for c in "RGB"], -1),
        "normal": np.stack([channels[f"normal.{c}"] for c in "XYZ"], -1),
        "depth": channels["depth.Z"],
        "motion": np.stack([channels[f"motion.{c}"] for c in "XY"], -1),
    }
    write_frame(frame_path, layers)
    args = _parse(eval_cmd, ["--model", str(model_path), "--data", str(seq_dir)])
    assert eval_cmd.run(args) == 2
    err = capsys.readouterr().err
    assert "frame_00000.exr" in err and "reference" in err


def test_eval_scores_an_exported_graph_like_torch(dataset: Path, model_path: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    """`ssr eval --model m.onnx` streams ONNX Runtime through the same loop and scorer as torch:
    the deployed path's report matches the torch report of the same weights."""
    pytest.importorskip("onnxruntime")
    from ssr.cli import main as ssr_main

    graph = tmp_path / "tiny.onnx"
    assert ssr_main(["export", "--model", str(model_path), "--out", str(graph),
                     "--height", str(HEIGHT), "--width", str(WIDTH)]) == 0
    reports = {}
    for name, flags in {"torch": ["--model", str(model_path)], "onnx": ["--model", str(graph)]}.items():
        out = tmp_path / f"report_{name}"
        args = _parse(eval_cmd, [*flags, "--data", str(dataset), "--split", "val", "--no-flip", "--no-progress",
                                 "--out", str(out)])
        assert eval_cmd.run(args) == 0
        reports[name] = json.loads((out / "report.json").read_text())
    capsys.readouterr()
    assert reports["torch"]["backend"] == "torch" and reports["onnx"]["backend"] == "onnxruntime"
    for torch_seq, onnx_seq in zip(reports["torch"]["sequences"], reports["onnx"]["sequences"]):
        for have, want in zip(onnx_seq["per_frame"], torch_seq["per_frame"]):
            assert have["denoised"]["psnr_srgb"] == pytest.approx(want["denoised"]["psnr_srgb"], abs=0.01)
    # a graph named with the wrong backend is refused with the reason
    args = _parse(eval_cmd, ["--model", str(graph), "--backend", "torch", "--data", str(dataset), "--split", "val"])
    assert eval_cmd.run(args) == 2
    assert "--backend torch runs saved weights" in capsys.readouterr().err
