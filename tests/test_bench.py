"""`ssr bench` runs both packing paths on the same frame and reports their ratio."""

from __future__ import annotations

import json
from pathlib import Path

from ssr.cli import main


def test_bench_pack_reports_both_paths(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "pack", "--sizes", "9x14,16x16", "--repeat", "2", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| 9x14 |" in table and "speed-up" in table
    results = json.loads(out.read_text())["results"]
    assert [(r["height"], r["width"]) for r in results] == [(9, 14), (16, 16)]
    for row in results:
        assert row["numpy_ms"] > 0 and row["native_ms"] > 0
        assert abs(row["speedup"] - row["numpy_ms"] / row["native_ms"]) < 1e-9


def test_bench_model_compares_presets(tmp_path: Path, capsys) -> None:
    out = tmp_path / "model.json"
    assert main(["bench", "model", "--sizes", "16x24", "--repeat", "1", "--presets", "tiny,small",
                 "--json", str(out)]) == 0
    assert "| tiny |" in capsys.readouterr().out
    rows = json.loads(out.read_text())["results"]
    assert [row["preset"] for row in rows] == ["tiny", "small"]
    assert rows[0]["parameters"] < rows[1]["parameters"]
    assert min(row["relative"] for row in rows) == 1.0


def test_bench_fps_times_full_path_network_and_oidn_in_one_run(tmp_path: Path, capsys) -> None:
    """Tiny sizes: every backend and every OIDN quality, ratios to OIDN fast, JSON + Markdown + plot."""
    import pytest

    pytest.importorskip("pyoidn")
    quality = tmp_path / "quality.json"
    quality.write_text(json.dumps({"average": {"ssr": {"all": {"psnr_srgb": 25.0}},
                                               "oidn": {"all": {"psnr_srgb": 24.0}}},
                                   "oidn": {"quality": "fast"}}))
    from ssr.export.onnx import export_onnx

    inside = export_onnx(None, tmp_path / "in.onnx", height=16, width=16, dynamic=True)
    outside = export_onnx(None, tmp_path / "out.onnx", height=16, width=16, dynamic=True, warp="outside")
    out = tmp_path / "fps"
    assert main(["bench", "fps", "--sizes", "32x48,36x52", "--min-frames", "2", "--max-seconds", "0.5",
                 "--onnx", f"{inside},{outside}", "--out", str(out), "--quality", str(quality),
                 "--plot-size", "32x48"]) == 0
    report = json.loads((out / "report.json").read_text())
    rows = report["rows"]
    methods = {(r["height"], r["width"], r["method"], r["path"]) for r in rows}
    for size in ((32, 48), (36, 52)):
        for quality_mode in ("fast", "balanced", "high"):
            assert (*size, f"oidn-{quality_mode}", "full (1 spp + albedo + normal)") in methods
        for backend in ("ssr-torch-cpu", "ssr-onnxruntime-cpu-fp32", "ssr-onnxruntime-cpu-fp32-warp-outside"):
            assert (*size, backend, "full stream") in methods and (*size, backend, "network only") in methods
    for row in rows:
        assert row["frames"] >= 2 and row["min_ms"] <= row["median_ms"] <= row["p95_ms"]
        assert row["vs_oidn_fast"] > 0 and abs(row["fps"] - 1e3 / row["median_ms"]) < 1e-9
        assert row["peak_host_mib"] > 0
    full = {r["method"]: r for r in rows if r["path"] == "full stream" and r["height"] == 32}
    network = {r["method"]: r for r in rows if r["path"] == "network only" and r["height"] == 32}
    assert all(network[m]["median_ms"] <= full[m]["median_ms"] * 1.5 for m in full)
    assert "vs OIDN fast" in (out / "report.md").read_text() and report["machine"]["versions"]["onnxruntime"]
    from PIL import Image

    assert Image.open(out / "speed_quality.png").size == (900, 600)
    assert main(["bench", "fps", "--backends", "tensorflow"]) == 2
