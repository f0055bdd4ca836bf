"""ssr-seq v1 I/O: round trips, the subpixel pattern, and every docs/format.md check."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssr.data_tools import format as fmt
from ssr.data_tools.format import FormatError, Sequence, subpixel_mask, validate_sequence
from ssr.data_tools.synthetic import synthetic_frame, write_synthetic_sequence


def _write_raw_exr(path: Path, channels: dict[str, np.ndarray]) -> None:
    """An EXR written straight with the bindings: 'another tool' (FLOAT everywhere)."""
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, channels) as exr:
        exr.write(str(path))


def _frame_channels(frame: dict[str, np.ndarray], dtype=np.float32) -> dict[str, np.ndarray]:
    channels = {}
    for name, data in frame.items():
        for index, suffix in enumerate(fmt.LAYERS[name].suffixes):
            channels[f"{name}.{suffix}"] = np.ascontiguousarray(data[:, :, index].astype(dtype))
    return channels


@pytest.fixture
def sequence_dir(tmp_path: Path) -> Path:
    return write_synthetic_sequence(tmp_path / "seq", width=10, height=7, frames=5, cuts=(0, 3))


# ----------------------------------------------------------------------------- pattern


@pytest.mark.parametrize("height,width", [(2, 2), (7, 10), (5, 3), (1, 1)])
def test_pattern_traces_every_pixel_once_per_four_frames(height: int, width: int) -> None:
    for start in range(4):
        total = sum(subpixel_mask(start + t, height, width) for t in range(4))
        # odd sizes: the last row/column lacks the tile partner, so never more than once
        assert total.max() == 1.0
        even = total[: height - height % 2, : width - width % 2]
        assert np.all(even == 1.0)


def test_pattern_matches_format_md() -> None:
    for t, (dx, dy) in enumerate(fmt.PATTERN):
        mask = subpixel_mask(t, 4, 4)
        assert mask[dy, dx] == 1 and mask.sum() == 4


# ----------------------------------------------------------------------------- round trips


def test_round_trip_every_layer(tmp_path: Path) -> None:
    frame = synthetic_frame(2, 6, 9)
    frame["reference"][0, 0] = 1e5  # beyond HALF: the writer must keep FLOAT
    frame["mask"] = subpixel_mask(2, 6, 9)[:, :, None]
    path = fmt.write_frame(tmp_path / "f.exr", frame)
    layers, raw = fmt.read_exr_layers(path)
    assert set(layers) == set(frame)
    for name, data in frame.items():
        kind = raw[f"{name}.{fmt.LAYERS[name].suffixes[0]}"].dtype
        expected_half = fmt.LAYERS[name].write_half and name != "reference"
        assert kind == (np.float16 if expected_half else np.float32), name
        tolerance = 0 if kind == np.float32 else 2e-3
        np.testing.assert_allclose(layers[name], data, rtol=tolerance, atol=tolerance, err_msg=name)
        assert layers[name].dtype == np.float32 and layers[name].shape == data.shape


def test_reference_written_half_when_small(tmp_path: Path) -> None:
    frame = synthetic_frame(0, 4, 4)
    _, raw = fmt.read_exr_layers(fmt.write_frame(tmp_path / "f.exr", {"reference": frame["reference"]}))
    assert raw["reference.R"].dtype == np.float16


def test_reader_accepts_half_and_float_from_another_tool(tmp_path: Path) -> None:
    seq = tmp_path / "other"
    seq.mkdir()
    for t in range(4):
        frame = synthetic_frame(t, 6, 8)
        _write_raw_exr(seq / fmt.frame_filename(t), _frame_channels(frame, np.float16 if t % 2 else np.float32))
    (seq / "meta.json").write_text(json.dumps({
        "format": "ssr-seq", "version": 1, "width": 8, "height": 6, "frame_count": 4, "sampling": "full",
        "spp": 1, "reference_spp": 4096, "shadow_rays": 1, "cuts": [0], "scene": "x", "renderer": "other",
        "some_unknown_key": {"kept": True}}))
    sequence = Sequence(seq)
    frame = sequence.read_frame(1)
    assert frame["color"].dtype == np.float32
    assert sequence.meta["some_unknown_key"] == {"kept": True}
    assert validate_sequence(seq).ok


def test_sequence_applies_pattern_and_defaults(tmp_path: Path) -> None:
    seq = tmp_path / "s"
    frames = [synthetic_frame(t, 4, 6) for t in range(2)]
    for t, frame in enumerate(frames):
        fmt.write_frame(seq / fmt.frame_filename(t), {k: frame[k] for k in ("color", "albedo", "normal", "depth", "motion")})
    fmt.write_meta(seq, fmt.make_meta(width=6, height=4, frame_count=2))
    sequence = Sequence(seq)
    frame = sequence.read_frame(1)
    mask = subpixel_mask(1, 4, 6)
    np.testing.assert_array_equal(frame["mask"][:, :, 0], mask)
    assert np.all(frame["color"][mask == 0] == 0)
    np.testing.assert_array_equal(frame["shadow"][:, :, 0], mask)  # default 1, then masked
    assert np.all(frame["roughness"] == 0) and frame["transparent"].shape == (4, 6, 3)
    full = Sequence(seq, apply_pattern=False).read_frame(1)
    assert np.all(full["mask"] == 1)
    np.testing.assert_allclose(full["color"], frames[1]["color"])
    with pytest.raises(FormatError, match="reference"):
        sequence.read_frame(0, ["color", "reference"])


def test_cuts_exposed(sequence_dir: Path) -> None:
    sequence = Sequence(sequence_dir)
    assert sequence.cuts == [0, 3]
    assert [sequence.is_cut(t) for t in range(5)] == [True, False, False, True, False]


# ----------------------------------------------------------------------------- checks


def _rewrite(seq: Path, index: int, **changes: np.ndarray | None) -> Path:
    frame = synthetic_frame(index, 7, 10)
    for name, value in changes.items():
        if value is None:
            frame.pop(name)
        else:
            frame[name] = value
    path = seq / fmt.frame_filename(index)
    _write_raw_exr(path, _frame_channels(frame))
    return path


def _expect_error(seq: Path, channel: str | None, problem: str) -> FormatError:
    report = validate_sequence(seq)
    assert not report.ok
    error = report.errors[0]
    assert problem in error.problem, error
    if channel is not None:
        assert error.channel == channel, error
    assert str(error.file) in str(error)
    return error


def test_missing_required_channel(sequence_dir: Path) -> None:
    _rewrite(sequence_dir, 1, albedo=None)
    _expect_error(sequence_dir, "albedo.R", "required layer 'albedo' is missing")


def test_incomplete_layer(sequence_dir: Path) -> None:
    path = sequence_dir / fmt.frame_filename(2)
    channels = _frame_channels(synthetic_frame(2, 7, 10))
    del channels["normal.Z"]
    _write_raw_exr(path, channels)
    _expect_error(sequence_dir, "normal.Z", "incomplete")


def test_missing_meta_key(sequence_dir: Path) -> None:
    meta = json.loads((sequence_dir / "meta.json").read_text())
    del meta["sampling"]
    (sequence_dir / "meta.json").write_text(json.dumps(meta))
    error = _expect_error(sequence_dir, None, "'sampling' is missing")
    assert error.file.endswith("meta.json")


def test_size_mismatch(sequence_dir: Path) -> None:
    frame = synthetic_frame(1, 8, 10)
    _write_raw_exr(sequence_dir / fmt.frame_filename(1), _frame_channels(frame))
    _expect_error(sequence_dir, None, "differs from meta.json")


def test_missing_and_extra_frames(sequence_dir: Path) -> None:
    os.remove(sequence_dir / fmt.frame_filename(2))
    _expect_error(sequence_dir, None, "missing frame files frame_00002.exr")
    _rewrite(sequence_dir, 2)
    _rewrite(sequence_dir, 7)
    _expect_error(sequence_dir, None, "extra frame files frame_00007.exr")


def test_nan_reported_with_count(sequence_dir: Path) -> None:
    depth = synthetic_frame(1, 7, 10)["depth"]
    depth[0, :3] = np.nan
    _rewrite(sequence_dir, 1, depth=depth)
    _expect_error(sequence_dir, "depth.Z", "3 NaN/Inf values")


def test_color_nan_can_be_sanitised(sequence_dir: Path) -> None:
    color = synthetic_frame(1, 7, 10)["color"]
    color[2, 2, 1] = np.inf
    color[3, 3, 0] = -1.0
    _rewrite(sequence_dir, 1, color=color)
    with pytest.raises(FormatError, match=r"color\.G.*1 NaN/Inf"):
        Sequence(sequence_dir).read_frame(1)
    frame = Sequence(sequence_dir, sanitize_color=True, apply_pattern=False).read_frame(1)
    assert np.isfinite(frame["color"]).all() and frame["color"].min() >= 0


def test_negative_color(sequence_dir: Path) -> None:
    color = synthetic_frame(1, 7, 10)["color"]
    color[1, 1, 2] = -0.5
    _rewrite(sequence_dir, 1, color=color)
    _expect_error(sequence_dir, "color.B", "1 negative values")


def test_mask_vs_sampling(sequence_dir: Path) -> None:
    _rewrite(sequence_dir, 1, mask=np.ones((7, 10, 1), np.float32))
    _expect_error(sequence_dir, "mask.Y", "sampling is 'full'")
    meta = json.loads((sequence_dir / "meta.json").read_text())
    meta["sampling"] = "subpixel-2x2"
    (sequence_dir / "meta.json").write_text(json.dumps(meta))
    _expect_error(sequence_dir, "mask.Y", "mask is missing")


def test_non_unit_normals(sequence_dir: Path) -> None:
    normal = synthetic_frame(1, 7, 10)["normal"]
    normal[4, 5] = (0, 0, 0.9)
    _rewrite(sequence_dir, 1, normal=normal)
    _expect_error(sequence_dir, "normal", "not unit length where depth > 0 (first at x=5, y=4")


def test_wrong_channel_type(sequence_dir: Path) -> None:
    channels = _frame_channels(synthetic_frame(1, 7, 10))
    channels["roughness.Y"] = np.zeros((7, 10), np.uint32)
    _write_raw_exr(sequence_dir / fmt.frame_filename(1), channels)
    _expect_error(sequence_dir, "roughness.Y", "not HALF or FLOAT")


def test_not_an_exr_and_truncated(sequence_dir: Path) -> None:
    path = sequence_dir / fmt.frame_filename(1)
    data = path.read_bytes()
    path.write_bytes(b"hello world, not an image")
    _expect_error(sequence_dir, None, "not an OpenEXR file")
    path.write_bytes(data[: len(data) // 2])
    _expect_error(sequence_dir, None, "corrupt or truncated")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=600), keep=st.integers(min_value=0, max_value=400), magic=st.booleans())
def test_hostile_bytes_give_format_error(tmp_path: Path, data: bytes, keep: int, magic: bool) -> None:
    """Random bytes, truncated real files, or real headers followed by garbage never crash."""
    seq = tmp_path / "hostile"
    if not seq.exists():
        write_synthetic_sequence(seq, width=6, height=4, frames=1)
        (tmp_path / "good.exr").write_bytes((seq / fmt.frame_filename(0)).read_bytes())
    good = (tmp_path / "good.exr").read_bytes()
    payload = (good[:keep] + data) if magic else data
    (seq / fmt.frame_filename(0)).write_bytes(payload)
    try:
        Sequence(seq).read_frame(0)
    except FormatError as exc:
        assert "frame_00000.exr" in str(exc)


def test_huge_declared_size_rejected(tmp_path: Path) -> None:
    """A header declaring a gigantic data window is refused before any allocation."""
    seq = write_synthetic_sequence(tmp_path / "s", width=6, height=4, frames=1)
    path = seq / fmt.frame_filename(0)
    data = bytearray(path.read_bytes())
    marker = data.find(b"dataWindow\x00box2i\x00")
    assert marker > 0
    value_at = marker + len(b"dataWindow\x00box2i\x00") + 4
    data[value_at + 8: value_at + 16] = np.array([2_000_000_000, 2_000_000_000], "<i4").tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="frame_00000.exr"):
        Sequence(seq).read_frame(0)


def test_write_frame_rejects_bad_layers(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="unknown layer 'colour'"):
        fmt.write_frame(tmp_path / "a.exr", {"colour": np.zeros((2, 2, 3))})
    with pytest.raises(FormatError, match=r"\[H, W, 2\]"):
        fmt.write_frame(tmp_path / "a.exr", {"motion": np.zeros((2, 2, 3))})


def test_list_sequences(tmp_path: Path) -> None:
    write_synthetic_sequence(tmp_path / "ds" / "train" / "a", width=4, height=4, frames=1)
    write_synthetic_sequence(tmp_path / "ds" / "val" / "b", width=4, height=4, frames=1)
    assert [p.name for p in fmt.list_sequences(tmp_path / "ds")] == ["a", "b"]


def test_validation_reads_each_frame_file_once(sequence_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``validate_sequence`` decodes every EXR once: its statistics and the reader's checks
    share the read (and still catch a bad frame)."""
    from ssr.data_tools import reader

    calls: list[str] = []
    real = reader.read_exr

    def counting(path, **kwargs):
        calls.append(Path(path).name)
        return real(path, **kwargs)

    monkeypatch.setattr(reader, "read_exr", counting)
    report = validate_sequence(sequence_dir)
    assert report.ok and report.frames_checked == 5
    assert sorted(calls) == [fmt.frame_filename(t) for t in range(5)]
    assert set(report.channels) >= {"color.R", "normal.Z", "reference.B"}
    depth = synthetic_frame(1, 7, 10)["depth"]
    depth[0, 0] = np.nan
    _rewrite(sequence_dir, 1, depth=depth)
    calls.clear()
    _expect_error(sequence_dir, "depth.Z", "1 NaN/Inf values")
    assert len(calls) == 5
