"""End-to-end renders of tiny sequences: format, G-buffer sanity, meta, resume, shards."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

try:
    from .test_render_helpers import require_renderer
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from test_render_helpers import require_renderer

require_renderer()

from ssr.data_tools import Sequence, validate_sequence  # noqa: E402
from ssr.data_tools.format import read_exr_layers  # noqa: E402
from ssr.data_tools.render import FRAME_LAYERS, RenderConfig, render_sequence  # noqa: E402

pytestmark = pytest.mark.render

SIZE = 24
FRAMES = 5


def _config(out: Path, **overrides) -> RenderConfig:
    settings = dict(scene="builtin", out=out, width=SIZE, height=SIZE, frames=FRAMES, spp_ref=8, path="cut",
                    speed=1.5, seed=3, max_depth=3, shadow_rays=2, albedo_samples=4,
                    albedo_filter="centre")
    settings.update(overrides)
    return RenderConfig(**settings)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "builtin-cut"
    return render_sequence(_config(out), progress=False)


def test_sequence_is_valid_and_complete(rendered: Path) -> None:
    report = validate_sequence(rendered)
    assert report.ok, report.summary()
    for frame in range(FRAMES):
        layers, _ = read_exr_layers(rendered / f"frame_{frame:05d}.exr")
        assert set(FRAME_LAYERS) <= set(layers), f"frame {frame} lacks {set(FRAME_LAYERS) - set(layers)}"


def test_meta_records_pattern_cuts_and_camera(rendered: Path) -> None:
    seq = Sequence(rendered)
    meta = seq.meta
    assert meta["sampling"] == "full" and meta["spp"] == 1 and meta["reference_spp"] == 8
    assert meta["shadow_rays"] == 2
    assert meta["cuts"] == [0, FRAMES // 2]  # the cut preset cuts half-way
    assert meta["scene"] == "builtin:room"
    to_world = np.asarray(meta["camera"]["to_world"])
    assert to_world.shape == (FRAMES, 4, 4)
    assert 54.9 < meta["camera"]["fov_y_deg"] < 55.1
    # pattern: the reader masks color/shadow with PATTERN[t % 4]
    frame = seq.read_frame(1)
    assert frame["mask"][1::2, 1::2].min() == 1 and frame["mask"][0::2, :].max() == 0


def test_gbuffer_sanity(rendered: Path) -> None:
    seq = Sequence(rendered, apply_pattern=False)
    metallic_seen = 0.0
    for t in range(FRAMES):
        f = seq.read_frame(t)
        depth = f["depth"][..., 0]
        assert (depth > 0).mean() > 0.95  # the built-in room is closed
        lengths = np.linalg.norm(f["normal"], axis=-1)
        assert np.all(np.abs(lengths[depth > 0] - 1) < 0.01)
        for name in ("albedo", "reference_albedo", "roughness", "metallic", "shadow", "transparent"):
            assert f[name].min() >= 0 and f[name].max() <= 1, name
        assert f["shadow"].max() > 0.5 and f["shadow"].min() < 0.5  # lit and shadowed parts
        metallic_seen = max(metallic_seen, float(f["metallic"].max()))
        assert f["color"].min() >= 0 and f["reference"].min() >= 0
        # reference converges towards the noisy colour's mean
        assert abs(f["reference"].mean() - f["color"].mean()) < 0.5 * f["reference"].mean() + 0.05
        # normals face the camera: dot(normal, view ray) < 0
        to_world = np.asarray(seq.meta["camera"]["to_world"][t])
        forward = to_world[:3, 2]
        assert np.mean(f["normal"][depth > 0] @ forward < 0.05) > 0.95
    assert metallic_seen == 1  # the metal objects were seen
    cut = seq.read_frame(FRAMES // 2)
    assert np.all(cut["motion"] == 0)
    assert np.all(seq.read_frame(0)["motion"] == 0)
    assert np.abs(seq.read_frame(1)["motion"]).max() > 0.5


def test_colour_seeds_differ_per_frame(rendered: Path) -> None:
    seq = Sequence(rendered, apply_pattern=False)
    first, second = seq.read_frame(3)["color"], seq.read_frame(4)["color"]
    assert not np.array_equal(first, second)


def test_resume_and_shards_reproduce_identical_files(rendered: Path, tmp_path: Path) -> None:
    resumed = tmp_path / "resumed"
    shutil.copytree(rendered, resumed)
    originals = {t: (rendered / f"frame_{t:05d}.exr").read_bytes() for t in range(FRAMES)}
    (resumed / "frame_00003.exr").unlink()
    (resumed / "frame_00004.exr").unlink()
    (resumed / "frame_00002.exr").write_bytes(originals[2][:200])  # truncated, as if killed
    # odd frames on shard 1/2, even ones on shard 0/2
    render_sequence(_config(resumed, shard=(1, 2)), progress=False)
    assert not (resumed / "frame_00004.exr").exists()
    render_sequence(_config(resumed, shard=(0, 2)), progress=False)
    for t in range(FRAMES):
        assert (resumed / f"frame_{t:05d}.exr").read_bytes() == originals[t], f"frame {t} differs"
    assert (resumed / "meta.json").read_text() == (rendered / "meta.json").read_text()


def test_refuses_to_mix_different_sequences(rendered: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    shutil.copytree(rendered, mixed)
    with pytest.raises(ValueError, match="different sequence"):
        render_sequence(_config(mixed, seed=4), progress=False)


@pytest.mark.parametrize(
    "overrides, message",
    [({"frames": 0}, "frames"), ({"spp_ref": 0}, "spp_ref"), ({"path": "zigzag"}, "path"),
     ({"albedo_strata": 4}, "albedo_strata"), ({"shard": (2, 2)}, "shard"), ({"speed": float("nan")}, "speed"),
     ({"albedo_filter": "gauss"}, "albedo_filter")],
)
def test_bad_config_is_rejected(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_sequence(_config(tmp_path / "bad", **overrides), progress=False)
    assert not (tmp_path / "bad").exists()


def test_unknown_scene_is_a_clear_error(tmp_path: Path) -> None:
    from ssr.data_tools.render.scene_source import SceneLoadError

    with pytest.raises(SceneLoadError, match="not found"):
        render_sequence(_config(tmp_path / "x", scene=str(tmp_path / "missing.xml")), progress=False)
    with pytest.raises(SceneLoadError, match="builtin"):
        render_sequence(_config(tmp_path / "x", scene="builtin:garden"), progress=False)


def test_box_albedo_render_and_conversion_agree(rendered: Path, tmp_path: Path) -> None:
    """albedo_filter="box" writes reference_albedo as the albedo and changes nothing else;
    converting a centre render gives the same frames and meta without re-rendering."""
    import json

    from ssr.data_tools.render import box_albedo_sequence

    boxed = render_sequence(_config(tmp_path / "box", albedo_filter="box"), progress=False)
    assert RenderConfig(scene="builtin", out=tmp_path / "unused").albedo_filter == "box"  # the default
    converted = box_albedo_sequence(rendered, tmp_path / "converted")
    centre_meta = json.loads((rendered / "meta.json").read_text())
    assert "albedo_filter" not in centre_meta["render_config"]  # older sequences keep resuming
    assert json.loads((boxed / "meta.json").read_text())["render_config"]["albedo_filter"] == "box"
    assert json.loads((converted / "meta.json").read_text())["render_config"] == \
        json.loads((boxed / "meta.json").read_text())["render_config"]
    for frame in range(FRAMES):
        centre, _ = read_exr_layers(rendered / f"frame_{frame:05d}.exr")
        box, _ = read_exr_layers(boxed / f"frame_{frame:05d}.exr")
        conv, _ = read_exr_layers(converted / f"frame_{frame:05d}.exr")
        np.testing.assert_array_equal(box["albedo"], box["reference_albedo"])
        assert not np.array_equal(box["albedo"], centre["albedo"])  # the room has edges
        for name in FRAME_LAYERS:
            np.testing.assert_array_equal(conv[name], box[name], err_msg=f"frame {frame} {name}")
            if name != "albedo":
                np.testing.assert_array_equal(box[name], centre[name], err_msg=f"frame {frame} {name}")
    # resuming the converted folder as a box render re-renders nothing
    before = {p.name: p.stat().st_mtime_ns for p in converted.glob("*.exr")}
    render_sequence(_config(converted, albedo_filter="box"), progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in converted.glob("*.exr")} == before


def test_box_albedo_conversion_names_a_frame_without_reference_albedo(rendered: Path, tmp_path: Path) -> None:
    from ssr.data_tools.format import FormatError, write_frame
    from ssr.data_tools.render import box_albedo_sequence

    source = tmp_path / "src"
    shutil.copytree(rendered, source)
    layers, _ = read_exr_layers(source / "frame_00001.exr")
    del layers["reference_albedo"]
    write_frame(source / "frame_00001.exr", layers)
    with pytest.raises(FormatError, match=r"frame_00001\.exr.*reference_albedo.*missing"):
        box_albedo_sequence(source, tmp_path / "out")
