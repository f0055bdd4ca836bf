"""The README's main job, end to end at a tiny size: render -> denoise -> images + metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mitsuba")

from ssr.cli import main  # noqa: E402


@pytest.mark.slow
@pytest.mark.render
def test_demo_renders_denoises_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--width", "32", "--height", "32", "--frames", "4",
                 "--spp-ref", "16", "--no-flip"])
    assert code == 0
    for sub in ("sequence", "preview", "denoised", "side_by_side"):
        assert len(list((out / sub).glob("frame_*"))) >= 4, sub
    assert (out / "denoised" / "frame_00003.exr").is_file()
    png = (out / "side_by_side" / "frame_00000.png").read_bytes()
    assert png.startswith(b"\x89PNG") and int.from_bytes(png[16:20], "big") == 3 * 32 + 2 * 2
    report = json.loads((out / "metrics" / "report.json").read_text())
    assert report["sequences"], report.keys()
    assert (out / "metrics" / "report.md").read_text().count("|") > 10
