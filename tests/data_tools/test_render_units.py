"""Unit tests of the renderer's parts: camera maths, paths, materials, shards, dataset plans."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ssr.data_tools.render.camera import PinholeCamera, look_at
from ssr.data_tools.render.dataset import DEFAULT_CONFIG, plan_dataset
from ssr.data_tools.render.procedural import builtin_scene, parse_builtin_name
from ssr.data_tools.render.sharding import parse_shard, shard_items


def test_projection_inverts_pixel_directions() -> None:
    camera = PinholeCamera(40, 30, 50.0)
    pose = look_at(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.5, -1.0]), np.array([0.0, 1.0, 0.0]))
    pixels = camera.pixel_centres()
    points = pose[:3, 3] + camera.pixel_directions(pose, pixels) * 7.0
    assert np.allclose(camera.project(pose, points), pixels, atol=1e-6)
    # camera +x is image-left: a point to the camera's left projects left of the centre
    left_point = pose[:3, 3] + pose[:3, 2] * 5 + pose[:3, 0] * 1
    assert camera.project(pose, left_point)[0] < 20
    up_point = pose[:3, 3] + pose[:3, 2] * 5 + pose[:3, 1] * 1
    assert camera.project(pose, up_point)[1] < 15


def test_builtin_names() -> None:
    assert parse_builtin_name("builtin") == ("room", 0)
    assert parse_builtin_name("builtin:room") == ("room", 0)
    assert parse_builtin_name("builtin:17") == ("17", 17)
    with pytest.raises(ValueError, match="builtin"):
        parse_builtin_name("builtin:-3")
    first, again, other = builtin_scene("builtin:5"), builtin_scene("builtin:5"), builtin_scene("builtin:6")
    assert json.dumps(_plain(first.elements), sort_keys=True) == json.dumps(_plain(again.elements), sort_keys=True)
    assert json.dumps(_plain(first.elements), sort_keys=True) != json.dumps(_plain(other.elements), sort_keys=True)
    kinds = {element["type"] for element in builtin_scene("builtin").elements.values()}
    assert {"sphere", "cube", "cylinder", "rectangle", "point"} <= kinds
    moving = builtin_scene("builtin").moving
    assert len(moving) == 2 and not np.allclose(moving[0].transform(0), moving[0].transform(3))


def test_removed_sunroom_names_are_refused_with_the_accepted_forms(tmp_path: Path) -> None:
    """``builtin:sun<seed>`` was removed (docs/research-log.md): the parser and a dataset plan
    refuse it before any renderer is needed, naming what is accepted."""
    accepted = r"'builtin', 'builtin:room' or 'builtin:<seed>'"
    for bad in ("builtin:sun3", "builtin:sun", "builtin:x"):
        with pytest.raises(ValueError, match=accepted):
            parse_builtin_name(bad)
    config = {"scenes": [{"scene": "builtin:sun3", "train": [{"path": "pan", "seed": 1}]}]}
    with pytest.raises(ValueError, match=accepted):
        plan_dataset(config, config_dir=tmp_path, scenes_dir=tmp_path)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return np.round(value, 9).tolist()
    return value


def test_shards() -> None:
    assert parse_shard(None) == (0, 1)
    assert parse_shard("1/3") == (1, 3)
    for bad in ("3/3", "a/b", "1", "-1/2", "0/0"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)
    items = list(range(7))
    parts = [shard_items(items, (i, 3)) for i in range(3)]
    assert sorted(sum(parts, [])) == items and parts[1] == [1, 4]


_TINY_RENDER = {"width": 8, "height": 8, "frames": 2, "spp_ref": 4, "max_depth": 2, "shadow_rays": 1, "speed": 1.0}
"""Every render setting a dataset entry needs, at the smallest values (plans are not rendered)."""


def _fake_scenes(root: Path, names) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "scene.xml").write_text("<scene version='3.0.0'/>")
    return root


def test_default_dataset_plan(tmp_path: Path) -> None:
    config = json.loads(DEFAULT_CONFIG.read_text())
    names = [item["scene"] for item in config["scenes"] if not item["scene"].startswith("builtin")]
    assert len(names) == 6
    scenes_dir = _fake_scenes(tmp_path / "scenes", names)
    entries = plan_dataset(config, config_dir=DEFAULT_CONFIG.parent, scenes_dir=scenes_dir)
    train = [e for e in entries if e.split == "train"]
    val = [e for e in entries if e.split == "val"]
    assert len(train) == 6 * 2 + 4 and len(val) == 6 + 1
    assert len({e.name for e in entries}) == len(entries)
    for entry in val:  # one validation sequence per scene, on a path/seed not used for training
        same_scene = [e for e in train if e.scene == entry.scene]
        assert all((e.settings["path"], e.settings["seed"]) != (entry.settings["path"], entry.settings["seed"])
                   for e in same_scene)
    assert all(e.settings["frames"] >= 5 and e.settings["spp_ref"] >= 64 for e in entries)


def test_dataset_config_errors(tmp_path: Path) -> None:
    scenes_dir = _fake_scenes(tmp_path / "scenes", ["a"])
    leak = {"defaults": _TINY_RENDER,
            "scenes": [{"scene": "a", "train": [{"path": "pan", "seed": 1}], "val": [{"path": "pan", "seed": 1}]}]}
    with pytest.raises(ValueError, match="also used for training"):
        plan_dataset(leak, config_dir=tmp_path, scenes_dir=scenes_dir)
    with pytest.raises(ValueError, match="not found"):
        plan_dataset({"scenes": [{"scene": "nowhere", "train": [{}]}]}, config_dir=tmp_path, scenes_dir=scenes_dir)
    with pytest.raises(ValueError, match="unknown keys"):
        plan_dataset({"scenes": [{"scene": "a", "train": [{"colour": 1}]}]}, config_dir=tmp_path, scenes_dir=scenes_dir)
    with pytest.raises(ValueError, match="scenes"):
        plan_dataset({}, config_dir=tmp_path, scenes_dir=scenes_dir)
    with pytest.raises(ValueError, match="train/a-truck-s0: invalid render config: albedo_filter must be one of "
                                         "centre, box, got 'gauss'"):
        plan_dataset({"defaults": {**_TINY_RENDER, "albedo_filter": "gauss"}, "scenes": [{"scene": "a", "train": [{}]}]},
                     config_dir=tmp_path, scenes_dir=scenes_dir)
    # every entry's values are checked before anything renders, not when its turn comes
    with pytest.raises(ValueError, match="train/a-truck-s2: invalid render config: frames must be >= 1, got 0"):
        plan_dataset({"defaults": _TINY_RENDER, "scenes": [{"scene": "a", "train": [{"seed": 1}, {"seed": 2, "frames": 0}]}]},
                     config_dir=tmp_path, scenes_dir=scenes_dir)
    with pytest.raises(ValueError, match="train/a-truck-s0 lacks render setting\\(s\\) width, height"):
        plan_dataset({"defaults": {"frames": 2, "spp_ref": 4, "max_depth": 2, "shadow_rays": 1, "speed": 1.0},
                      "scenes": [{"scene": "a", "train": [{}]}]}, config_dir=tmp_path, scenes_dir=scenes_dir)


def test_dataset_config_albedo_filter(tmp_path: Path) -> None:
    scenes_dir = _fake_scenes(tmp_path / "scenes", ["a"])
    config = {"defaults": {**_TINY_RENDER, "albedo_filter": "box"},
              "scenes": [{"scene": "a", "train": [{"seed": 1}, {"seed": 2, "albedo_filter": "centre"}]}]}
    entries = plan_dataset(config, config_dir=tmp_path, scenes_dir=scenes_dir)
    assert [e.settings["albedo_filter"] for e in entries] == ["box", "centre"]
    assert [e.render_config(tmp_path).albedo_filter for e in entries] == ["box", "centre"]
    plain = plan_dataset({"defaults": _TINY_RENDER, "scenes": [{"scene": "a", "train": [{}]}]}, config_dir=tmp_path,
                         scenes_dir=scenes_dir)
    assert plain[0].settings["albedo_filter"] == "box"  # the default
    assert plain[0].render_config(tmp_path).out == tmp_path / "train" / "a-truck-s0"


def test_missing_llvm_is_a_clear_error(tmp_path: Path) -> None:
    """Without libLLVM (and without CUDA) the renderer names libLLVM 19 and how to install it."""
    import importlib.util
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("mitsuba") is None:
        pytest.skip("mitsuba is not installed")
    code = (
        "from ssr.data_tools.render.mitsuba_env import load_mitsuba, RendererUnavailable\n"
        "try:\n    load_mitsuba('llvm_ad_rgb')\nexcept RendererUnavailable as exc:\n    print('ERR', exc)\n"
        "else:\n    print('LOADED')\n"
    )
    env = dict(os.environ, DRJIT_LIBLLVM_PATH=str(tmp_path / "no-libLLVM.so"), CUDA_VISIBLE_DEVICES="")
    env.pop("SSR_MI_VARIANT", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "ERR" in result.stdout, result.stdout + result.stderr
    assert "libllvm19" in result.stdout and "DRJIT_LIBLLVM_PATH" in result.stdout


def test_dataset_v2_extra_keeps_the_hold_out(tmp_path: Path) -> None:
    """dataset_v2_extra.json adds training sequences only; merged with dataset_v2.json it is a
    valid scene-held-out dataset (no test scene or material variant in train, unique names)."""
    render_dir = DEFAULT_CONFIG.parent
    base = json.loads((render_dir / "dataset_v2.json").read_text())
    extra = json.loads((render_dir / "dataset_v2_extra.json").read_text())
    assert all(set(item) - {"scene"} == {"train"} for item in extra["scenes"])
    assert extra["defaults"] == base["defaults"]
    scenes_dir = tmp_path / "scenes"
    for item in base["scenes"] + extra["scenes"]:
        if item["scene"].startswith("builtin"):
            continue
        folder = scenes_dir / item["scene"].split("/")[0]
        folder.mkdir(parents=True, exist_ok=True)
        name = item["scene"].split("/")[1] if "/" in item["scene"] else "scene.xml"
        (folder / name).write_text("<scene version='3.0.0'/>")
    merged = {"defaults": base["defaults"], "scenes": base["scenes"] + extra["scenes"]}
    entries = plan_dataset(merged, config_dir=render_dir, scenes_dir=scenes_dir)
    assert len({(e.split, e.name) for e in entries}) == len(entries)
    assert sum(e.split == "train" for e in entries) == 30 + len(extra["scenes"])
