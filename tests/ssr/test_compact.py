"""Compact training copies (`ssr compact`): round trip against the EXR sequence, windows,
the training loader, bad files, and the training time limit that leased machines use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ssr.cli import main
from ssr.data_tools.compact import COMPACT_SUFFIX, CompactSequence, write_compact
from ssr.data_tools.format import FormatError
from ssr.model.config import ModelConfig
from ssr.train.config import TrainConfig
from ssr.train.data import find_sequences, load_packed_sequence
from ssr.train.checkpoint import LAST
from ssr.train.loop import train
from ssr.data_tools.format import subpixel_mask, write_sequence
from ssr.data_tools.synthetic import synthetic_frame, write_synthetic_sequence

torch.set_num_threads(1)
RELATIVE = 2.0**-8  # MANTISSA_BITS = 8: rounding error <= 2^-9 relative, with margin


def _dataset(root: Path) -> Path:
    for split, seed in (("train", 1), ("train", 2), ("val", 3)):
        write_synthetic_sequence(root / split / f"pan{seed}", frames=6, height=12, width=16, seed=seed)
    return root


def test_round_trip_matches_the_exr_sequence(tmp_path: Path) -> None:
    source = write_synthetic_sequence(tmp_path / "seq", frames=6, height=12, width=16, seed=7)
    meta = write_compact(source, tmp_path / f"seq{COMPACT_SUFFIX}", frames=5)
    assert (meta["width"], meta["height"], meta["frame_count"], meta["sampling"]) == (16, 12, 5, "subpixel-2x2")
    exr = load_packed_sequence(source, specular_floor=0.2)
    compact = load_packed_sequence(tmp_path / f"seq{COMPACT_SUFFIX}", specular_floor=0.2)
    assert compact.name == "seq" and compact.packed.shape == (5, 19, 12, 16)
    np.testing.assert_allclose(compact.packed, exr.packed[:5], rtol=RELATIVE, atol=1 / 64)
    np.testing.assert_allclose(compact.reference, exr.reference[:5], rtol=RELATIVE, atol=1e-6)
    np.testing.assert_allclose(compact.reference_albedo, exr.reference_albedo[:5], rtol=RELATIVE, atol=1e-3)
    np.testing.assert_array_equal(compact.cuts, exr.cuts[:5])


def test_a_window_keeps_the_subpixel_phase(tmp_path: Path) -> None:
    source = write_synthetic_sequence(tmp_path / "seq", frames=4, height=12, width=16, seed=2)
    for seed in range(6):
        meta = write_compact(source, tmp_path / f"w{seed}{COMPACT_SUFFIX}", crop=6, seed=seed)
        top, left, size_y, size_x = meta["compact"]["window"]
        assert (size_y, size_x) == (6, 6) and top % 2 == 0 and left % 2 == 0
        window = load_packed_sequence(tmp_path / f"w{seed}{COMPACT_SUFFIX}")
        whole = load_packed_sequence(source).packed[:, :, top:top + 6, left:left + 6]
        np.testing.assert_array_equal(window.packed[:, 13], whole[:, 13])  # the traced mask
        np.testing.assert_allclose(window.packed[:, :3], whole[:, :3], rtol=RELATIVE, atol=1e-6)
    with pytest.raises(ValueError, match="even number"):
        write_compact(source, tmp_path / f"odd{COMPACT_SUFFIX}", crop=5)
    with pytest.raises(ValueError, match="must end in"):
        write_compact(source, tmp_path / "plain.npz")


def test_cli_writes_splits_resumes_and_the_trainer_reads_them(tmp_path: Path, capsys) -> None:
    data = _dataset(tmp_path / "data")
    out = tmp_path / "compact"
    assert main(["compact", "--data", str(data), "--out", str(out), "--crop", "8", "--frames", "5", "--no-progress"]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob(f"*{COMPACT_SUFFIX}"))
    assert files == [f"train/pan1{COMPACT_SUFFIX}", f"train/pan2{COMPACT_SUFFIX}", f"val/pan3{COMPACT_SUFFIX}"]
    assert "3 sequence(s)" in capsys.readouterr().out
    first = out / "train" / f"pan1{COMPACT_SUFFIX}"
    first.write_bytes(b"not a zip")  # an existing file is kept (resume) ...
    assert main(["compact", "--data", str(data), "--out", str(out), "--no-progress"]) == 0
    assert first.read_bytes() == b"not a zip"
    with pytest.raises(FormatError, match=r"pan1\.ssrpack\.npz.*cannot read"):  # ... and a bad one is named
        load_packed_sequence(first)
    assert main(["compact", "--data", str(data), "--out", str(out), "--overwrite", "--frames", "5", "--no-progress"]) == 0
    assert [p.name for p in find_sequences(out, "train")] == [f"pan1{COMPACT_SUFFIX}", f"pan2{COMPACT_SUFFIX}"]
    assert [p.name for p in find_sequences(out, "val")] == [f"pan3{COMPACT_SUFFIX}"]
    assert [p.name for p in find_sequences(out, "train", ["pan2"])] == [f"pan2{COMPACT_SUFFIX}"]
    assert main(["compact", "--data", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["check", "--data", str(out)]) == 0
    assert "3/3 sequences valid" in capsys.readouterr().out
    first.write_bytes(b"broken again")
    assert main(["check", "-q", "--data", str(first)]) == 1
    printed = capsys.readouterr().out
    assert "pan1.ssrpack.npz: INVALID" in printed and "0/1 sequences valid" in printed


def test_a_pre_masked_source_must_follow_the_standard_pattern(tmp_path: Path) -> None:
    frames = []
    for index, frame in enumerate(synthetic_frame(t, 8, 8) for t in range(3)):
        mask = subpixel_mask(index, 8, 8)[:, :, None]
        frames.append({**frame, "color": frame["color"] * mask, "mask": mask})
    standard = write_sequence(tmp_path / "standard", frames, sampling="subpixel-2x2", cuts=[0])
    write_compact(standard, tmp_path / f"standard{COMPACT_SUFFIX}")
    np.testing.assert_array_equal(load_packed_sequence(tmp_path / f"standard{COMPACT_SUFFIX}").packed[:, 13],
                                  load_packed_sequence(standard).packed[:, 13])
    other = write_sequence(tmp_path / "other", [{**f, "mask": f["mask"][::-1].copy()} for f in frames],
                           sampling="subpixel-2x2", cuts=[0])
    with pytest.raises(FormatError, match=r"frame_00000\.exr.*mask\.Y.*standard 2x2"):
        write_compact(other, tmp_path / f"other{COMPACT_SUFFIX}")


def test_bad_files_name_the_file_and_layer(tmp_path: Path) -> None:
    source = write_synthetic_sequence(tmp_path / "seq", frames=3, height=8, width=8, seed=1)
    good = tmp_path / f"good{COMPACT_SUFFIX}"
    write_compact(source, good)
    with np.load(good) as archive:
        layers = {name: archive[name] for name in archive.files}

    def broken(name: str, **changes: np.ndarray) -> Path:
        path = tmp_path / f"{name}{COMPACT_SUFFIX}"
        np.savez_compressed(path, **{k: v for k, v in {**layers, **changes}.items() if v is not None})
        return path

    with pytest.raises(FormatError, match=r"missing\.ssrpack\.npz.*motion.*missing"):
        CompactSequence(broken("missing", motion=None))
    nan_color = layers["color"].copy()
    nan_color[0, 0, 0, 0] = np.nan
    with pytest.raises(FormatError, match=r"nan\.ssrpack\.npz.*color.*NaN"):
        CompactSequence(broken("nan", color=nan_color))
    with pytest.raises(FormatError, match=r"shape\.ssrpack\.npz.*depth.*shape"):
        CompactSequence(broken("shape", depth=layers["depth"][:, :4]))
    with pytest.raises(FormatError, match=r"phase\.ssrpack\.npz.*mask.*frame 0"):
        CompactSequence(broken("phase", mask=np.roll(layers["mask"], 1, axis=2)))
    with pytest.raises(FormatError, match="no 'meta' entry"):
        CompactSequence(broken("nometa", meta=None))
    with pytest.raises(ValueError, match="full-spp"):
        load_packed_sequence(good, subpixel=False)
    assert json.loads(layers["meta"].tobytes())["compact"]["source"] == str(source)


def test_training_stops_at_the_time_limit_and_resumes(tmp_path: Path) -> None:
    data = _dataset(tmp_path / "data")
    out = tmp_path / "compact"
    assert main(["compact", "--data", str(data), "--out", str(out), "--no-progress"]) == 0
    config = TrainConfig(data=str(out), out=str(tmp_path / "run"), model=ModelConfig(width="tiny"), steps=4,
                         batch=2, crop=8, clip=3, lr=1e-3, val_every=0, device="cpu", seed=1)
    stopped = train(config, time_limit=1e-9, progress=False)  # out of time after the first step
    assert (stopped.step, stopped.finished) == (1, False)
    assert torch.load(tmp_path / "run" / LAST, weights_only=False)["step"] == 1
    finished = train(config, resume=True, progress=False)
    assert finished.finished and finished.step == 4 and finished.model_path is not None
    assert main(["train", "--data", str(out), "--out", str(tmp_path / "cli"), "--time-limit", "0"]) == 2
