"""The EXR reader accepts what users' tools write (tiled, multi-part, any compression,
UINT masks) and still refuses damaged files cleanly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssr.cli import main as ssr_main
from ssr.data_tools import format as fmt
from ssr.data_tools.exr import read_exr
from ssr.data_tools.format import FormatError, Sequence, validate_sequence
from ssr.data_tools.synthetic import write_synthetic_sequence


def _tiles(size: int = 8, mode=OpenEXR.ONE_LEVEL) -> OpenEXR.TileDescription:
    tiles = OpenEXR.TileDescription()
    tiles.xSize, tiles.ySize, tiles.mode = size, size, mode
    return tiles


def _raw_channels(path: Path) -> dict[str, np.ndarray]:
    with OpenEXR.File(str(path), separate_channels=True) as exr:
        return {name: channel.pixels.copy() for name, channel in exr.channels().items()}


def _rewrite(path: Path, header: dict) -> None:
    channels = _raw_channels(path)
    with OpenEXR.File(header, channels) as exr:
        exr.write(str(path))


@pytest.fixture
def sequence_dir(tmp_path: Path) -> Path:
    return write_synthetic_sequence(tmp_path / "seq", width=21, height=13, frames=3)


def test_tiled_copy_of_a_valid_sequence_passes_ssr_check(sequence_dir: Path, tmp_path: Path, capsys) -> None:
    before = [Sequence(sequence_dir).read_frame(t) for t in range(3)]
    for t in range(3):
        _rewrite(sequence_dir / fmt.frame_filename(t),
                 {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": _tiles()})
    assert read_exr(sequence_dir / fmt.frame_filename(0)).header["type"] == OpenEXR.tiledimage
    assert validate_sequence(sequence_dir).ok
    assert ssr_main(["check", "--data", str(sequence_dir)]) == 0
    assert "1/1 sequences valid" in capsys.readouterr().out
    after = [Sequence(sequence_dir).read_frame(t) for t in range(3)]
    for frame_before, frame_after in zip(before, after):
        for name in frame_before:
            np.testing.assert_array_equal(frame_before[name], frame_after[name], err_msg=name)


LOSSLESS = ["NO_COMPRESSION", "RLE_COMPRESSION", "ZIPS_COMPRESSION", "ZIP_COMPRESSION", "PIZ_COMPRESSION"]
LOSSY = ["PXR24_COMPRESSION", "B44_COMPRESSION", "B44A_COMPRESSION", "DWAA_COMPRESSION", "DWAB_COMPRESSION"]


@pytest.mark.parametrize("compression", LOSSLESS + LOSSY)
def test_every_compression_reads(sequence_dir: Path, compression: str) -> None:
    path = sequence_dir / fmt.frame_filename(1)
    original = _raw_channels(path)
    _rewrite(path, {"compression": getattr(OpenEXR, compression), "type": OpenEXR.scanlineimage})
    image = read_exr(path)
    assert set(image.channels) == set(original)
    for name, pixels in original.items():
        if compression in LOSSLESS:
            np.testing.assert_array_equal(image.channels[name], pixels, err_msg=name)
        else:
            np.testing.assert_allclose(image.channels[name], pixels, rtol=0.05, atol=0.05, err_msg=name)
    assert validate_sequence(sequence_dir).ok or compression in LOSSY  # lossy may bend unit normals


def test_multi_part_frame_reads_layers_from_any_part(sequence_dir: Path) -> None:
    path = sequence_dir / fmt.frame_filename(0)
    expected = Sequence(sequence_dir).read_frame(0)
    channels = _raw_channels(path)
    gbuffer = {k: v for k, v in channels.items() if not k.startswith(("color", "reference"))}
    beauty = {k: v for k, v in channels.items() if k.startswith(("color", "reference"))}
    parts = [OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, beauty, name="beauty"),
             OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": _tiles(16)},
                          gbuffer, name="gbuffer")]
    with OpenEXR.File(parts) as exr:
        exr.write(str(path))
    image = read_exr(path)
    assert image.parts == ["beauty", "gbuffer"] and "gbuffer.normal.X" in image.channels
    frame = Sequence(sequence_dir).read_frame(0)
    for name in expected:
        np.testing.assert_array_equal(frame[name], expected[name], err_msg=name)


def test_channel_in_two_parts_is_only_reachable_by_part_name(tmp_path: Path) -> None:
    ones, twos = np.ones((4, 5), np.float32), np.full((4, 5), 2, np.float32)
    def header() -> dict:
        return {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}

    with OpenEXR.File([OpenEXR.Part(header(), {"Y": ones}, name="a"), OpenEXR.Part(header(), {"Y": twos}, name="b")]) as exr:
        exr.write(str(tmp_path / "two.exr"))
    image = read_exr(tmp_path / "two.exr")
    assert "Y" not in image.channels and image.channel("b.Y").max() == 2
    with pytest.raises(FormatError, match=r"channel not found \(the file has: a.Y, b.Y\)"):
        image.channel("Y")


def test_uint_mask_accepted_uint_colour_refused(sequence_dir: Path, tmp_path: Path) -> None:
    seq = write_synthetic_sequence(tmp_path / "masked", width=6, height=4, frames=1)
    meta = fmt.read_meta(seq)
    meta["sampling"] = "subpixel-2x2"
    fmt.write_meta(seq, meta)
    path = seq / fmt.frame_filename(0)
    channels = _raw_channels(path)
    channels["mask.Y"] = fmt.subpixel_mask(0, 4, 6).astype(np.uint32)
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, channels) as exr:
        exr.write(str(path))
    frame = Sequence(seq).read_frame(0)
    assert frame["mask"].dtype == np.float32 and frame["mask"].sum() == 6
    channels["color.R"] = np.ones((4, 6), np.uint32)
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, channels) as exr:
        exr.write(str(path))
    with pytest.raises(FormatError, match="channel type UINT is not HALF or FLOAT") as info:
        Sequence(seq).read_frame(0)
    assert info.value.channel == "color.R"


def test_mip_mapped_tiles_refused_with_a_reason(sequence_dir: Path) -> None:
    path = sequence_dir / fmt.frame_filename(0)
    _rewrite(path, {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.tiledimage,
                    "tiles": _tiles(8, OpenEXR.MIPMAP_LEVELS)})
    with pytest.raises(FormatError, match="mip/rip-mapped tiled image"):
        read_exr(path)


@pytest.fixture(scope="module")
def tiled_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    seq = write_synthetic_sequence(tmp_path_factory.mktemp("tiled") / "seq", width=19, height=11, frames=1)
    path = seq / fmt.frame_filename(0)
    _rewrite(path, {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": _tiles()})
    return path.read_bytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(min_value=0.0, max_value=0.999), flip=st.integers(min_value=0, max_value=10**6),
       noise=st.binary(min_size=0, max_size=64))
def test_damaged_tiled_files_give_format_errors(tmp_path: Path, tiled_bytes: bytes, cut: float, flip: int, noise: bytes) -> None:
    data = bytearray(tiled_bytes[: int(len(tiled_bytes) * cut)] + noise)
    if len(data) > 8:
        index = 8 + flip % (len(data) - 8)
        data[index] ^= 0xFF
    path = tmp_path / "damaged.exr"
    path.write_bytes(bytes(data))
    try:
        image = read_exr(path)
    except FormatError as exc:
        assert str(path) in str(exc)
        return
    for pixels in image.channels.values():  # survived the damage: still a well-formed image
        assert pixels.shape == (image.height, image.width)
