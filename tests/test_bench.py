"""`ssr bench` runs both packing paths on the same frame and reports their ratio."""

from __future__ import annotations

import json
from pathlib import Path

from ssr.cli import main
from ssr.data_tools.synthetic import write_synthetic_sequence


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
                 "--plot-size", "32x48", "--rounds", "2"]) == 0
    report = json.loads((out / "report.json").read_text())
    rows = report["rows"]
    assert report["settings"]["rounds"] == 2
    methods = {(r["height"], r["width"], r["method"], r["path"]) for r in rows}
    for size in ((32, 48), (36, 52)):
        for quality_mode in ("fast", "balanced", "high"):
            assert (*size, f"oidn-{quality_mode}", "full (1 spp + albedo + normal)") in methods
        for backend in ("ssr-torch-cpu", "ssr-onnxruntime-cpu-fp32", "ssr-onnxruntime-cpu-fp32-warp-outside"):
            assert (*size, backend, "full stream") in methods and (*size, backend, "network only") in methods
    for row in rows:
        # two rounds, each at least --min-frames: samples pooled
        assert row["rounds"] == 2 and row["frames"] == len(row["samples_ms"]) >= 4
        assert row["min_ms"] <= row["median_ms"] <= row["p95_ms"]
        assert row["vs_oidn_fast"] > 0 and abs(row["fps"] - 1e3 / row["median_ms"]) < 1e-9
        assert row["peak_host_mib"] > 0
    full = {r["method"]: r for r in rows if r["path"] == "full stream" and r["height"] == 32}
    network = {r["method"]: r for r in rows if r["path"] == "network only" and r["height"] == 32}
    # the network-only path times a subset of the full one; compared on the fastest frame,
    # which a loaded machine's preemptions do not move (the medians did, under CI + training load)
    assert all(network[m]["min_ms"] <= full[m]["min_ms"] * 1.5 for m in full)
    assert "vs OIDN fast" in (out / "report.md").read_text() and report["machine"]["versions"]["onnxruntime"]
    from PIL import Image

    assert Image.open(out / "speed_quality.png").size == (900, 600)
    assert main(["bench", "fps", "--backends", "tensorflow"]) == 2


def test_bench_training_plots_real_runs(tmp_path: Path, capsys) -> None:
    """Two real (tiny) ssr train runs -> loss and validation-PSNR plots and the table."""
    for split, seed in (("train", 1), ("val", 2)):
        write_synthetic_sequence(tmp_path / "ds" / split / f"pan_{split}", frames=5, height=16, width=16, seed=seed)
    for name, extra in (("ssr", []), ("rae", ["--recipe", "paper", "--arch", "rae"])):
        assert main(["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / name), "--preset", "tiny",
                     "--steps", "4", "--batch", "1", "--crop", "16", "--val-every", "2", "--log-every", "1",
                     "--device", "cpu", "--no-progress", *extra]) == 0
    capsys.readouterr()
    out = tmp_path / "curves"
    assert main(["bench", "training", "--runs", f"{tmp_path / 'ssr'},{tmp_path / 'rae'}", "--out", str(out),
                 "--json", str(tmp_path / "training.json")]) == 0
    table = capsys.readouterr().out
    assert "| step | ssr | rae |" in table and "| 2 |" in table and "| 4 |" in table
    report = json.loads((tmp_path / "training.json").read_text())
    assert [len(run["loss"]) for run in report["runs"]] == [4, 4]
    assert (out / "training_loss.png").read_bytes()[:4] == b"\x89PNG" and (out / "val_psnr.png").is_file()
    assert (out / "training.md").read_text() == table.split("ssr bench: wrote")[0].rstrip("\n") + "\n"
    assert main(["bench", "training", "--runs", str(tmp_path / "ds")]) == 2
    assert "not an ssr train run folder" in capsys.readouterr().err


def test_speed_quality_points_tie_each_graph_to_the_quality_of_its_own_weights() -> None:
    from ssr.bench.plot import speed_quality_points

    def row(method: str, ms: float, sha: str | None = None, path: str = "full stream") -> dict:
        return {"height": 8, "width": 16, "method": method, "path": path, "median_ms": ms, "source_sha256": sha}

    fps = {"rows": [row("oidn-fast", 10.0, path="full (1 spp + albedo + normal)"), row("ssr-a", 5.0, "aaa"),
                    row("ssr-a", 4.0, "aaa", path="network only"), row("ssr-b", 6.0, "bbb"), row("ssr-c", 7.0, "ccc")]}
    reports = [{"model": "runs/a/best.pt", "model_sha256": "aaa",
                "average": {"ssr": {"all": {"psnr_srgb": 20.0}}, "oidn_fast": {"all": {"psnr_srgb": 22.0}}}},
               {"model": "runs/b/best.pt", "model_sha256": "bbb", "average": {"ssr": {"all": {"psnr_srgb": 19.0}}}}]
    points = {p["label"]: p for p in speed_quality_points(fps, reports, size=(8, 16))}
    assert points["ssr-a"]["quality"] == 20.0 and points["ssr-a"]["ms"] == 5.0
    assert points["ssr-b"]["quality"] == 19.0
    assert points["oidn-fast"]["quality"] == 22.0
    assert not any(label.startswith("ssr-c") for label in points)  # no report for its weights, two candidates
    single = {p["label"]: p for p in speed_quality_points(fps, reports[:1], size=(8, 16))}
    assert single["ssr-c [quality of best.pt]"]["quality"] == 20.0  # the one report, and the label says so
