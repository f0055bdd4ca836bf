"""The README's `ssr import` worked example runs end to end (tiny sizes): render a Mitsuba
``aov`` sequence, import it, train a few steps on it, denoise it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ssr.cli import main as ssr_main
from ssr.data_tools import Sequence

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.render


def test_readme_import_example(tmp_path: Path) -> None:
    pytest.importorskip("mitsuba")
    from ssr.data_tools.render.mitsuba_env import RendererUnavailable, load_mitsuba

    try:
        load_mitsuba()
    except RendererUnavailable as exc:
        pytest.skip(str(exc))
    aovs = tmp_path / "aovs"
    subprocess.run([sys.executable, str(ROOT / "examples" / "mitsuba_aov_sequence.py"), str(aovs), "--frames", "3",
                    "--width", "32", "--height", "24", "--spp-ref", "16"], check=True, capture_output=True)
    assert ssr_main(["import", "--from", "mitsuba", str(aovs), "--out", str(tmp_path / "data" / "room"), "--reference",
                     str(aovs / "reference"), "--aov", "color=image", "--aov", "albedo=alb", "--aov", "normal=nn",
                     "--aov", "depth=dd.y", "--spp-ref", "16", "--no-progress"]) == 0
    sequence = Sequence(tmp_path / "data" / "room")
    assert sequence.cuts == [0] and sequence.meta["reference_spp"] == 16  # camera sidecar: history kept
    assert sequence.read_frame(2, ["reference"])["reference"].max() > 0
    assert ssr_main(["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--steps", "2",
                     "--crop", "16", "--batch", "1", "--clip", "3", "--preset", "tiny", "--no-progress"]) == 0
    assert ssr_main(["denoise", "--model", str(tmp_path / "run" / "model"), "--data", str(tmp_path / "data" / "room"),
                     "--out", str(tmp_path / "denoised")]) == 0
    denoised = sorted((tmp_path / "denoised").glob("frame_*.exr"))
    assert len(denoised) == 3
    from ssr.data_tools.exr import read_exr

    assert np.isfinite(read_exr(denoised[-1]).channel("color.R")).all()
