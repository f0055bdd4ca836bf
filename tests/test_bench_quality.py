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

    from ssr.model import ModelConfig, SSRNet, save_model

    torch.manual_seed(0)
    save_model(SSRNet(ModelConfig(width="tiny")), tmp_path / "model")
    out = tmp_path / "report"
    code = main(["bench", "quality", "--data", str(dataset / "ds"), "--split", "val",
                 "--model", str(tmp_path / "model"), "--no-flip", "--out", str(out),
                 "--json", str(tmp_path / "bench.json")])
    assert code == 0
    table = capsys.readouterr().out
    assert "SSR − OIDN" in table and "| seq_b | OIDN" in table and "ms / frame" in table
    report = json.loads((out / "report.json").read_text())
    assert json.loads((tmp_path / "bench.json").read_text()) == report
    assert (out / "report.md").read_text().startswith("# SSR vs Intel Open Image Denoise")
    assert [s["name"] for s in report["sequences"]] == ["seq_a", "seq_b"]
    assert "flip_hdr" not in report["metrics"]
    for entry in report["sequences"]:
        assert entry["frames"] == 5 and len(entry["per_frame"]) == 5
        for method in ("ssr", "oidn", "input"):
            assert entry[method]["all"]["frames"] == 5
            assert np.isfinite(entry[method]["all"]["psnr_srgb"])
            assert entry[method]["all"]["temporal_srgb"] is not None
        # OIDN is a real denoiser: it beats the 1-spp input it was given.
        assert entry["oidn"]["all"]["rmse_linear"] < entry["input"]["all"]["rmse_linear"]
        assert entry["ssr_minus_oidn"]["psnr_srgb"] == pytest.approx(
            entry["ssr"]["all"]["psnr_srgb"] - entry["oidn"]["all"]["psnr_srgb"])
        # Temporal error is undefined at cuts, for both methods.
        for record in entry["per_frame"]:
            undefined = record["frame"] in entry["cuts"]
            assert (record["oidn"]["temporal_srgb"] is None) == undefined
            assert (record["ssr"]["temporal_srgb"] is None) == undefined
    average = report["average"]
    assert average["oidn"]["all"]["frames"] == average["ssr"]["all"]["frames"] == 10
    assert report["ssr_minus_oidn"]["all"]["better"]["psnr_srgb"] in ("ssr", "oidn", "tie")
    assert report["timing"]["ssr_frames_timed"] == report["timing"]["oidn_frames_timed"] == 9  # warm-up left out
    assert report["timing"]["ssr_ms_per_frame"] > 0 and report["timing"]["oidn_ms_per_frame"] > 0


def test_bench_quality_needs_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "quality"]) == 2
    assert "--data" in capsys.readouterr().err
