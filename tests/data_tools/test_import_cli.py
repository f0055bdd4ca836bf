"""``ssr import`` from the command line: exit codes, messages, overwrite, dataset output."""

from __future__ import annotations

from pathlib import Path

from ssr.cli import main as ssr_main
from ssr.data_tools import list_sequences, validate_sequence

try:
    from .test_import_blender import write_blender_sequence
    from .test_import_oidn import write_oidn_images
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from test_import_blender import write_blender_sequence
    from test_import_oidn import write_oidn_images


def test_import_blender_cli_round_trip(tmp_path: Path, capsys) -> None:
    write_blender_sequence(tmp_path / "shot")
    args = ["import", "--from", "blender", str(tmp_path / "shot"), "--out", str(tmp_path / "out"), "--no-progress"]
    assert ssr_main(args) == 0
    out = capsys.readouterr().out
    assert "imported 1 sequence(s), 4 frame(s)" in out and "motion check" in out
    assert validate_sequence(tmp_path / "out").ok
    assert ssr_main(args) == 2
    assert "already holds a sequence (use --overwrite" in capsys.readouterr().err
    assert ssr_main(args + ["--overwrite"]) == 0


def test_several_sequences_make_a_dataset_folder(tmp_path: Path, capsys) -> None:
    write_oidn_images(tmp_path / "oidn")
    assert ssr_main(["import", "--from", "oidn", str(tmp_path / "oidn"), "--out", str(tmp_path / "data"),
                     "--no-progress"]) == 0
    assert [p.name for p in list_sequences(tmp_path / "data")] == ["kitchen_0001spp", "kitchen_0016spp"]
    assert ssr_main(["check", "--data", str(tmp_path / "data")]) == 0


def test_bad_input_exits_2_with_a_message_and_no_traceback(tmp_path: Path, capsys) -> None:
    assert ssr_main(["import", "--from", "blender", str(tmp_path / "nothing"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "ssr import: error:" in err and "source folder not found" in err and "Traceback" not in err
    (tmp_path / "dump").mkdir()
    assert ssr_main(["import", "--from", "custom", str(tmp_path / "dump"), "--out", str(tmp_path / "out")]) == 2
    assert "--from custom needs a channel map" in capsys.readouterr().err
