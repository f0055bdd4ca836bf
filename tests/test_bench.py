"""`ssr bench` runs both packing paths on the same frame and reports their ratio."""

from __future__ import annotations

import json
from pathlib import Path

from ssr.cli import main


def test_bench_pack_reports_both_paths(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "--sizes", "9x14,16x16", "--repeat", "2", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| 9x14 |" in table and "speed-up" in table
    results = json.loads(out.read_text())["results"]
    assert [(r["height"], r["width"]) for r in results] == [(9, 14), (16, 16)]
    for row in results:
        assert row["numpy_ms"] > 0 and row["native_ms"] > 0
        assert abs(row["speedup"] - row["numpy_ms"] / row["native_ms"]) < 1e-9


def test_bench_model_compares_presets(tmp_path: Path, capsys) -> None:
    out = tmp_path / "model.json"
    assert main(["bench", "--what", "model", "--sizes", "16x24", "--repeat", "1", "--presets", "tiny,small",
                 "--json", str(out)]) == 0
    assert "| tiny |" in capsys.readouterr().out
    rows = json.loads(out.read_text())["results"]
    assert [row["preset"] for row in rows] == ["tiny", "small"]
    assert rows[0]["parameters"] < rows[1]["parameters"]
    assert min(row["relative"] for row in rows) == 1.0
