"""`ssr check` and `ssr preview` end to end through the real console entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


from ssr.cli import main
from ssr.data_tools import format as fmt
from ssr.data_tools.synthetic import write_synthetic_sequence


def test_check_accepts_valid_and_rejects_broken(tmp_path: Path, capsys) -> None:
    good = write_synthetic_sequence(tmp_path / "ds" / "good", width=8, height=6, frames=3)
    assert main(["check", "--data", str(good)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "3 frames, 8x6" in out and "motion: mean |m|" in out and "color.R" in out

    bad = write_synthetic_sequence(tmp_path / "ds" / "bad", width=8, height=6, frames=3)
    (bad / fmt.frame_filename(1)).write_bytes(b"\x00" * 64)
    assert main(["check", "--data", str(tmp_path / "ds")]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "frame_00001.exr" in out and "1/2 sequences valid" in out


def test_check_missing_folder(tmp_path: Path, capsys) -> None:
    assert main(["check", "--data", str(tmp_path / "nothing")]) == 1


def test_console_script_help_lists_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "ssr.cli", "--help"], capture_output=True, text=True, check=True)
    for command in ("check", "preview", "render", "train", "eval", "denoise", "demo"):
        assert command in result.stdout
    result = subprocess.run([sys.executable, "-m", "ssr.cli", "check", "--help"], capture_output=True, text=True, check=True)
    assert "--quiet" in result.stdout
    result = subprocess.run([sys.executable, "-m", "ssr.cli", "frobnicate"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown command" in result.stderr


def test_preview_writes_contact_sheets(tmp_path: Path) -> None:
    seq = write_synthetic_sequence(tmp_path / "s", width=8, height=6, frames=2)
    assert main(["preview", "--data", str(seq), "--out", str(tmp_path / "prev")]) == 0
    png = (tmp_path / "prev" / "frame_00001.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(png[16:20], "big")
    assert width == 6 * 8 + 5 * 2  # colour, reference, albedo, normals, depth, motion + gaps


def test_preview_overview_has_one_row_per_sequence(tmp_path: Path) -> None:
    from PIL import Image

    for name, width in (("a", 24), ("b", 400)):
        write_synthetic_sequence(tmp_path / "ds" / "train" / name, width=width, height=8, frames=3)
    assert main(["preview", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "prev"), "--overview"]) == 0
    with Image.open(tmp_path / "prev" / "overview.png") as sheet:
        # rows: label strip + frame (the 400-px sequence shrunk 3x to fit 192-px tiles) + gap
        assert sheet.height == (14 + 8) + 2 + (14 + 8 // 3)
        # tiles: 1/4 spp, 1 spp, reference, albedo, normals (sampling "full" synthetic data)
        assert sheet.width == 5 * (400 // 3) + 4 * 2
    assert not (tmp_path / "prev" / "train").exists()  # no per-frame sheets
    # a sequence still being written: a clear error, or left out with --skip-incomplete
    partial = write_synthetic_sequence(tmp_path / "ds" / "train" / "c", width=24, height=8, frames=3)
    (partial / "frame_00002.exr").unlink()
    assert main(["preview", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "p2"), "--overview"]) != 0
    assert main(["preview", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "p2"), "--overview",
                 "--skip-incomplete"]) == 0
    with Image.open(tmp_path / "p2" / "overview.png") as sheet:
        assert sheet.height == (14 + 8) + 2 + (14 + 8 // 3)
    from ssr.evaluate import resolve_sequences

    assert [p.name for p in resolve_sequences(tmp_path / "ds", "train", skip_incomplete=True)] == ["a", "b"]
    assert len(resolve_sequences(tmp_path / "ds", "train")) == 3
