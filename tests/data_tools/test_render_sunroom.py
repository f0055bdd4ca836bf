"""The ``builtin:sun<seed>`` family (data_tools/render/sunroom.py): names, determinism,
textures, the window, and a tiny real render whose light comes through the window."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ssr.data_tools.render.dataset import DEFAULT_CONFIG, plan_dataset
from ssr.data_tools.render.procedural import builtin_scene, parse_builtin_name
from ssr.data_tools.render.sunroom import plaster_texture, tile_texture, wood_texture


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return np.round(value.astype(np.float64), 6).tolist()
    return value


def test_sun_names_parse_and_are_refused_when_malformed() -> None:
    assert parse_builtin_name("builtin:sun7") == ("sun7", 7)
    assert parse_builtin_name("builtin:sun007") == ("sun7", 7)
    for bad in ("builtin:sun", "builtin:sun-1", "builtin:sunx"):
        with pytest.raises(ValueError, match="sun<seed>"):
            parse_builtin_name(bad)


def test_sunrooms_are_deterministic_and_differ_by_seed() -> None:
    first, again, other = builtin_scene("builtin:sun3"), builtin_scene("builtin:sun3"), builtin_scene("builtin:sun4")
    assert first.name == "builtin:sun3"
    assert json.dumps(_plain(first.elements), sort_keys=True) == json.dumps(_plain(again.elements), sort_keys=True)
    assert json.dumps(_plain(first.elements), sort_keys=True) != json.dumps(_plain(other.elements), sort_keys=True)
    # a sunroom is not a plain room of the same seed
    assert set(builtin_scene("builtin:3").elements) != set(first.elements)


@pytest.mark.parametrize("seed", range(6))
def test_sunroom_has_a_window_a_sun_a_sky_and_textures(seed: int) -> None:
    scene = builtin_scene(f"builtin:sun{seed}")
    elements = scene.elements
    assert elements["sun"]["type"] == "directional" and elements["sky"]["type"] == "constant"
    pieces = [key for key in elements if key.startswith("wall_") and key.count("_") == 2]
    assert 3 <= len(pieces) <= 4, pieces  # the window wall is split around the opening
    assert sum(key.startswith("wall_") and key.count("_") == 1 for key in elements) == 3
    # the sun points down (into the room through the window)
    assert elements["sun"]["direction"][1] < 0
    bitmaps = [json.dumps(_plain(e), default=str).count('"bitmap"') for e in elements.values()]
    assert sum(bitmaps) >= 3
    assert len(scene.moving) == 2


def test_textures_are_linear_rgb_in_range() -> None:
    rng = np.random.default_rng(0)
    base = np.array([0.5, 0.4, 0.3])
    for texture in (tile_texture(rng, base), wood_texture(rng), plaster_texture(rng, base)):
        assert texture.dtype == np.float32 and texture.shape[2] == 3 and texture.shape[0] == texture.shape[1]
        assert 0.0 < texture.min() and texture.max() <= 0.95
        assert texture.std() > 0.01  # not flat
    tiles = tile_texture(np.random.default_rng(1), base)
    assert np.isclose(tiles[0, :, 0], tiles[0, 0, 0]).all()  # the first row is a grout line


def test_sun_dataset_config_plans_train_only(tmp_path: Path) -> None:
    config_path = DEFAULT_CONFIG.parent / "dataset_sun.json"
    config = json.loads(config_path.read_text())
    entries = plan_dataset(config, config_dir=config_path.parent, scenes_dir=tmp_path)
    assert entries and all(entry.split == "train" for entry in entries)
    assert len({entry.name for entry in entries}) == len(entries)
    assert all(entry.name.startswith("builtin-sun") for entry in entries)


@pytest.mark.render
def test_tiny_sunroom_render_is_lit_through_the_window(tmp_path: Path) -> None:
    try:
        from .test_render_helpers import require_renderer
    except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
        from test_render_helpers import require_renderer
    require_renderer()
    from ssr.data_tools import Sequence, validate_sequence
    from ssr.data_tools.render import RenderConfig, render_sequence

    out = render_sequence(RenderConfig(scene="builtin:sun2", out=tmp_path / "sun2", width=24, height=24, frames=2,
                                       spp_ref=8, path="pan", speed=1.5, seed=2, max_depth=4, shadow_rays=2,
                                       albedo_samples=4), progress=False)
    validate_sequence(out)
    frame = Sequence(out, apply_pattern=False).read_frame(0, ("reference", "albedo"))
    assert np.isfinite(frame["reference"]).all() and frame["reference"].mean() > 0.01
    assert frame["albedo"].std() > 0.01
