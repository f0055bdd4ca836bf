"""The OIDN peer denoises, and `ssr bench quality` scores SSR and OIDN side by side."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyoidn")
pytest.importorskip("torch")

from ssr.bench.peers import OidnDenoiser, oidn_denoise  # noqa: E402
from ssr.cli import main  # noqa: E402
from ssr.data_tools.format import Sequence  # noqa: E402
from ssr.data_tools.synthetic import write_synthetic_sequence  # noqa: E402


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quality")
    write_synthetic_sequence(root / "ds" / "val" / "seq_a", width=24, height=24, frames=5)
    write_synthetic_sequence(root / "ds" / "val" / "seq_b", width=24, height=24, frames=5, cuts=(0, 3), seed=1)
    return root


def test_oidn_denoise_reduces_error_on_a_noisy_frame(dataset: Path) -> None:
    frame = Sequence(dataset / "ds" / "val" / "seq_a", apply_pattern=False).read_frame(2)
    color = frame["color"].copy()
    out = oidn_denoise(color, frame["albedo"], frame["normal"])
    assert out.shape == (24, 24, 3) and out.dtype == np.float32
    assert np.isfinite(out).all()
    assert np.array_equal(color, frame["color"])  # input untouched
    assert _rmse(out, frame["reference"]) < 0.7 * _rmse(frame["color"], frame["reference"])
    # The cached filter is reused for the same size and rebuilt for another.
    again = oidn_denoise(color, frame["albedo"], frame["normal"])
    np.testing.assert_array_equal(again, out)
    assert oidn_denoise(color[:16, :20], frame["albedo"][:16, :20], frame["normal"][:16, :20]).shape == (16, 20, 3)


def test_oidn_denoiser_rejects_bad_input() -> None:
    denoiser = OidnDenoiser("fast")
    try:
        with pytest.raises(ValueError, match="albedo"):
            denoiser(np.zeros((8, 8, 3), np.float32), np.zeros((8, 9, 3), np.float32), np.zeros((8, 8, 3), np.float32))
        bad = np.full((8, 8, 3), np.nan, np.float32)
        assert np.isfinite(denoiser(bad, np.zeros_like(bad), np.zeros_like(bad))).all()
    finally:
        denoiser.close()
    with pytest.raises(ValueError, match="quality"):
        OidnDenoiser("best")


def test_bench_quality_end_to_end(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from ssr.bench.cli import QUALITY_METHODS
    from ssr.bench.quality import METHODS
    from ssr.model import ModelConfig, SSRNet, save_model

    assert QUALITY_METHODS == METHODS
    torch.manual_seed(0)
    save_model(SSRNet(ModelConfig(width="tiny")), tmp_path / "model")
    save_model(SSRNet(ModelConfig(width="tiny", arch="rae")), tmp_path / "rae")
    out = tmp_path / "report"
    fps = {"machine": {"cpu": "test"}, "rows": [
        {"height": 1080, "width": 1920, "method": "oidn-fast", "path": "full", "median_ms": 2042.0},
        {"height": 1080, "width": 1920, "method": "ssr-onnxruntime-cpu-int8", "path": "full stream", "median_ms": 1350.0},
        {"height": 1080, "width": 1920, "method": "ssr-torch-cpu", "path": "full stream", "median_ms": 6227.0}]}
    (tmp_path / "fps.json").write_text(json.dumps(fps))
    code = main(["bench", "quality", "--data", str(dataset / "ds"), "--split", "val",
                 "--model", str(tmp_path / "model"), "--no-flip", "--no-vdp", "--out", str(out),
                 "--json", str(tmp_path / "bench.json"), "--variants", f"again={tmp_path / 'model'},base={tmp_path / 'rae'}",
                 "--fps-report", str(tmp_path / "fps.json")])
    assert code == 0
    table = capsys.readouterr().out
    assert "SSR − OIDN high" in table and "| seq_b | OIDN high" in table and "ms / frame" in table
    assert "Colour bias by material" in table and "Display range only" in table and "by frame index" in table
    # the speed columns come from the fps report: SSR's fastest full-path backend, OIDN fast
    assert "| SSR (ours), 1/4 spp | 1350.0 |" in table and "| OIDN fast, 1 spp (4x) | 2042.0 |" in table
    report = json.loads((out / "report.json").read_text())
    assert json.loads((tmp_path / "bench.json").read_text()) == report
    assert (out / "report.md").read_text().startswith("# SSR vs Intel Open Image Denoise")
    assert [s["name"] for s in report["sequences"]] == ["seq_a", "seq_b"]
    assert report["methods"] == ["ssr", "ssr:again", "ssr:base", *METHODS[1:]]
    assert report["labels"]["ssr:again"] == "SSR again, 1/4 spp" and report["labels"]["ssr:base"] == "RAE base, 1/4 spp"
    assert report["variants"]["ssr:again"]["model_config"]["width"] == "tiny"
    assert "flip_hdr" not in report["metrics"] and "psnr_gamma" in report["metrics"] and "relmse" in report["metrics"]
    for entry in report["sequences"]:
        assert entry["frames"] == 5 and len(entry["per_frame"]) == 5
        # the same weights as a variant stream to the same numbers
        assert entry["ssr:again"]["all"]["psnr_srgb"] == pytest.approx(entry["ssr"]["all"]["psnr_srgb"])
        for method in METHODS:
            assert entry[method]["all"]["frames"] == 5
            assert np.isfinite(entry[method]["all"]["psnr_srgb"])
            assert entry[method]["all"]["temporal_srgb"] is not None
        # OIDN is a real denoiser: it beats the 1-spp input it was given, at both qualities.
        for peer in ("oidn_high", "oidn_fast"):
            assert entry[peer]["all"]["rmse_linear"] < entry["input"]["all"]["rmse_linear"]
        assert entry["ssr_minus_oidn"]["psnr_srgb"] == pytest.approx(
            entry["ssr"]["all"]["psnr_srgb"] - entry["oidn_high"]["all"]["psnr_srgb"])
        # Temporal error is undefined at cuts, for every method.
        for record in entry["per_frame"]:
            undefined = record["frame"] in entry["cuts"]
            for method in METHODS:
                assert (record[method]["temporal_srgb"] is None) == undefined
    average = report["average"]
    assert average["oidn_high"]["all"]["frames"] == average["ssr"]["all"]["frames"] == 10
    # the pooled bias table: the unprocessed input is unbiased in expectation; its sums are
    # exactly the sums of the frames
    for method in METHODS:
        assert set(report["bias"][method]) == {"metal", "glass", "glossy", "diffuse", "miss"}
        assert set(report["bias_display"][method]) == set(report["bias"][method])
    assert sum(report["bias"]["input"][m]["pixels"] for m in report["bias"]["input"]) == 10 * 24 * 24
    curve = report["curves"]["by_frame"]
    assert set(curve) == {*METHODS, "ssr:again", "ssr:base"} and all(len(v) == 5 for v in curve.values())
    assert curve["ssr"][0] == pytest.approx(np.mean([e["per_frame"][0]["ssr"]["psnr_gamma"] for e in report["sequences"]]))
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(report["sheets"]) == ["sheets/seq_a.png", "sheets/seq_b.png"]
    assert all((out / s).is_file() for s in report["sheets"])
    _check_figures_and_page(out, report)
    # each SSR network's history length at the sheet frame; none for the RAE baseline
    for entry in report["sequences"]:
        figures = out / "figures" / entry["name"]
        assert (figures / "history_ssr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (figures / "history_ssr-again.png").is_file() and not (figures / "history_ssr-base.png").exists()
    # PSNR by frames since the cut: the first window is the mean of each sequence's frames 0-3
    windows = report["windows"]["by_metric"]["psnr_srgb"]
    expected = np.mean([np.mean([r["ssr"]["psnr_srgb"] for r in e["per_frame"] if r["frames_since_cut"] < 4])
                        for e in report["sequences"]])
    assert windows["ssr"][0] == pytest.approx(expected) and windows["ssr"][3] is None
    assert "by frames since the last cut" in table
    # 5-frame sequences have no converged frames (>= 16 since the cut)
    assert average["ssr"]["converged"]["frames"] == 0 and average["ssr"]["steady"]["frames"] > 0
    timing = report["timing"]
    assert timing["ssr_frames_timed"] == 9  # warm-up left out
    assert timing["ssr_ms_per_frame"] > 0 and all(v > 0 for v in timing["peers_ms_per_frame"].values())


def test_bench_quality_method_subset_and_errors(dataset: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "quality", "--data", str(dataset / "ds" / "val" / "seq_a"), "--no-flip",
                 "--methods", "ssr,input", "--max-frames", "2", "--no-progress"])
    assert code == 0
    table = capsys.readouterr().out
    assert "OIDN" not in table.split("## Time per frame")[0].split("## Average")[1]
    # the video score is on by default: one JOD per method, input (1 spp, not denoised) below 10
    assert "FovVideoVDP JOD ↑" in table
    assert main(["bench", "quality", "--data", str(dataset / "ds"), "--split", "val", "--methods", "relax"]) == 2
    assert "methods" in capsys.readouterr().err
    assert main(["bench", "quality", "--data", str(dataset / "ds"), "--split", "val", "--variants", "nopath"]) == 2
    assert "NAME=WEIGHTS" in capsys.readouterr().err


def test_half_resolution_traced_takes_the_pattern_pixels() -> None:
    from ssr.bench.quality import half_resolution_traced
    from ssr.data_tools.format import subpixel_mask

    frame = {name: np.random.default_rng(0).random((6, 8, 3), dtype=np.float32) for name in ("color", "albedo", "normal")}
    for index in range(4):
        half = half_resolution_traced(frame, index)
        mask = subpixel_mask(index, 6, 8) > 0
        assert half["color"].shape == (3, 4, 3)
        np.testing.assert_array_equal(half["color"].reshape(-1, 3), frame["color"][mask])


def test_material_classes_partition_the_frame() -> None:
    from ssr.bench.materials import BiasAccumulator, material_classes

    depth = np.ones((4, 4, 1), np.float32)
    depth[0, 0] = 0
    transparent = np.zeros((4, 4, 3), np.float32)
    transparent[1, 1] = 0.9
    metallic = np.zeros((4, 4, 1), np.float32)
    metallic[2, 2] = 1
    roughness = np.ones((4, 4, 1), np.float32)
    roughness[3, 3] = 0.1
    classes = material_classes({"depth": depth, "transparent": transparent, "metallic": metallic,
                                "roughness": roughness})
    assert sum(m.astype(int) for m in classes.values()).tolist() == np.ones((4, 4), int).tolist()
    assert classes["miss"][0, 0] and classes["glass"][1, 1] and classes["metal"][2, 2] and classes["glossy"][3, 3]
    bias = BiasAccumulator()
    reference = np.full((4, 4, 3), 2.0, np.float32)
    output = reference * np.array([1.0, 0.5, 2.0], np.float32)
    bias.add(output, reference, classes)
    table = bias.table()
    assert table["diffuse"]["ratio"] == pytest.approx([1.0, 0.5, 2.0]) and table["diffuse"]["worst"] == pytest.approx(1.0)
    assert table["diffuse"]["pixels"] == 12
    assert table["miss"]["pixels"] == 1 and table["miss"]["ratio"] == pytest.approx([1.0, 0.5, 2.0])
    dark = BiasAccumulator()
    dark.add(output * 0.1, reference * 0.1, classes)
    assert dark.table()["miss"]["ratio"] is None  # a summed reference below MIN_REFERENCE_SUM is not reported


def test_display_range_bias_leaves_out_highlights() -> None:
    """A method exact below 1 and 20 % dark on highlights: the pooled ratio is dark, the
    display-range ratio is exact, and only pixels with every reference channel <= 1 count."""
    from ssr.bench.materials import BiasAccumulator

    classes = {name: np.zeros((2, 4), bool) for name in ("metal", "glass", "glossy", "miss")}
    classes["diffuse"] = np.ones((2, 4), bool)
    reference = np.full((2, 4, 3), 0.5, np.float32)
    reference[0] = 8.0  # four highlight pixels
    reference[1, 0, 2] = 1.5  # one channel above 1 takes the pixel out of the display range
    output = reference.copy()
    output[0] *= 0.8
    bias = BiasAccumulator()
    bias.add(output, reference, classes)
    pooled, display = bias.table()["diffuse"], bias.table("display")["diffuse"]
    assert pooled["pixels"] == 8 and display["pixels"] == 3
    assert pooled["worst"] > 0.15 and display["ratio"] == pytest.approx([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="pixels must be one of"):
        bias.table("bright")
def test_bench_quality_needs_data(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:  # argparse: a required flag of the quality harness
        main(["bench", "quality"])
    assert exit_info.value.code == 2
    assert "--data" in capsys.readouterr().err


def _check_figures_and_page(out: Path, report: dict) -> None:
    """Per sequence: one PNG per panel, a FLIP map per method (not for inputs/reference),
    an animated GIF with one frame per scored frame; index.html is well formed and every
    file it references exists."""
    from html.parser import HTMLParser

    from PIL import Image

    for entry in report["sequences"]:
        figures = entry["figures"]
        assert set(figures["panels"]) >= {"reference", "input 1/4 spp", "SSR (ours)", "SSR again"}
        assert "reference" not in figures["flip"] and "SSR (ours)" in figures["flip"]
        for path in [*figures["panels"].values(), *figures["flip"].values()]:
            assert (out / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(out / figures["strip"]) as gif:
            assert gif.n_frames == entry["frames"]

    class Page(HTMLParser):
        VOID = {"meta", "img", "br", "link", "input"}

        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.sources: list[str] = []
            self.errors: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            if tag == "img" and values.get("src"):
                self.sources.append(str(values["src"]))
            for name, value in attrs:
                if name == "onmouseover" and value:
                    self.sources += [part.strip(" '") for part in value.split(",")[1:3] if part.strip(" '")]
            if tag not in self.VOID:
                self.stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if not self.stack or self.stack.pop() != tag:
                self.errors.append(f"unbalanced </{tag}>")

    page = Page()
    text = (out / "index.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    page.feed(text)
    assert not page.errors and not page.stack
    assert "curves.png" in page.sources and any(s.endswith("strip.gif") for s in page.sources)
    assert any("/flip_" in s for s in page.sources)
    missing = [s for s in page.sources if not (out / s).is_file()]
    assert not missing, missing
    assert "<th>PSNR sRGB (dB)</th>" in text and ">Average<" in text
    assert "ms / frame 1920x1080 (bench fps)" in text and "<td>1350.0</td>" in text


def test_bench_quality_scores_an_exported_graph_beside_torch(dataset: Path, tmp_path: Path) -> None:
    """``--variants name=graph.onnx`` streams an ``ssr export`` graph (here the native-stage
    form, with the rule history) through ONNX Runtime on the same frames as the torch model:
    the deployed path on the quality protocol, within export parity of torch, with its
    history map."""
    import torch

    from ssr.bench.quality import quality_report
    from ssr.export.onnx import export_onnx
    from ssr.metrics import MetricSet
    from ssr.model import ModelConfig, SSRNet, save_model

    torch.manual_seed(1)
    net = SSRNet(ModelConfig(width="fast", layout="fast", accumulation="linear", output="kernel", signal="dual",
                             history="rule")).eval()
    save_model(net, tmp_path / "model")
    graph = export_onnx(net, tmp_path / "native.onnx", height=24, width=24, dynamic=True, pixel_stages="native")
    report = quality_report(tmp_path / "model", [dataset / "ds" / "val" / "seq_b"], methods=["ssr", "input"],
                            variants={"native": graph}, metrics=MetricSet(flip=False, video=False),
                            out_dir=tmp_path / "out")
    assert report["methods"] == ["ssr", "ssr:native", "input"]
    assert report["labels"]["ssr:native"] == "SSR native (ONNX Runtime), 1/4 spp"
    assert report["variants"]["ssr:native"]["model_config"]["history"] == "rule"
    entry = report["sequences"][0]
    assert entry["ssr:native"]["all"]["psnr_srgb"] == pytest.approx(entry["ssr"]["all"]["psnr_srgb"], abs=0.01)
    assert (tmp_path / "out" / "figures" / "seq_b" / "history_ssr-native.png").is_file()
