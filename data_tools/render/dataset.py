"""``ssr make-dataset``: render a training/validation dataset from a JSON config.

Config (the bundled default is ``default_dataset.json`` next to this module)::

    {
      "defaults": {"width": 128, "height": 128, "frames": 16, "spp_ref": 128,
                   "max_depth": 6, "shadow_rays": 4, "speed": 1.5},
      "scenes": [
        {"scene": "staircase",                       # <scenes-dir>/staircase/scene.xml
         "train": [{"path": "truck", "seed": 1}, ...],
         "val":   [{"path": "pan", "seed": 101}]},  # must differ from every train (path, seed)
        {"scene": "staircase/scene_rand2.xml", "train": [...]},   # a material variant
        {"scene": "bathroom", "test": [{"path": "truck", "seed": 201}]},  # held-out scene
        {"scene": "builtin:3", "train": [{"path": "cut", "seed": 1, "speed": 2.0}]}
      ]
    }

A ``scene`` is ``builtin[:name]``, a path (absolute, or relative to the config file) to a
scene file / folder, or a folder name under the scenes dir. Every entry of ``train`` /
``val`` may override any default. Sequences go to ``<out>/<split>/<name>`` (split ``train``, ``val`` or
``test``) with ``name = <scene>[-randN]-<path>-s<seed>`` (``-randN`` for a
``scene_randN.xml`` material variant). A scene listed under ``test`` (with any of its
material variants) must appear in no other split: the test split holds whole scenes out. ``--shard i/N`` renders every
N-th sequence; re-running resumes (finished frames are skipped).

The scenes dir is ``--scenes-dir``, else ``$SSR_SCENES_DIR``, else the first existing
the development scenes folder beside the checkout (``scenes`` in a ``shared`` folder next to it, or the same
relative to the working directory).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .procedural import parse_builtin_name
from .sequence import DEFAULT_ALBEDO_FILTER, RenderConfig
from .sharding import parse_shard, shard_items

__all__ = ["DEFAULT_CONFIG", "SPLITS", "DatasetEntry", "add_arguments", "plan_dataset", "resolve_scenes_dir", "run"]

DEFAULT_CONFIG = Path(__file__).with_name("default_dataset.json")
_RENDER_KEYS = {"width", "height", "frames", "spp_ref", "max_depth", "shadow_rays", "speed", "path", "seed",
                "albedo_filter"}
_REQUIRED_KEYS = ("width", "height", "frames", "spp_ref", "max_depth", "shadow_rays", "speed")
_REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DatasetEntry:
    """One sequence of the dataset: split, folder name, scene spec, render settings."""

    split: str
    name: str
    scene: str
    settings: dict[str, Any]

    def render_config(self, out_root: Path) -> RenderConfig:
        """The sequence's :class:`RenderConfig`, rendering to ``<out_root>/<split>/<name>``.

        Raises:
            ValueError: a required setting is missing or a value is invalid (naming the entry).
        """
        missing = [key for key in _REQUIRED_KEYS if key not in self.settings]
        if missing:
            raise ValueError(f"dataset config: {self.split}/{self.name} lacks render setting(s) {', '.join(missing)} "
                             "(give them in 'defaults' or in the entry)")
        settings = self.settings
        config = RenderConfig(
            scene=self.scene, out=Path(out_root) / self.split / self.name, width=settings["width"],
            height=settings["height"], frames=settings["frames"], spp_ref=settings["spp_ref"], path=settings["path"],
            speed=float(settings["speed"]), seed=int(settings["seed"]), max_depth=settings["max_depth"],
            shadow_rays=settings["shadow_rays"], albedo_filter=settings["albedo_filter"],
        )
        try:
            config.check()
        except ValueError as exc:
            raise ValueError(f"dataset config: {self.split}/{self.name}: {exc}") from None
        return config


def resolve_scenes_dir(explicit: str | os.PathLike[str] | None) -> Path | None:
    """The scenes folder (see the module docstring); None when none exists."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SSR_SCENES_DIR")
    if env:
        return Path(env)
    for candidate in (_REPO_ROOT / ".." / "shared" / "scenes", Path.cwd() / ".." / "shared" / "scenes"):
        if candidate.is_dir():
            return candidate.resolve()
    return None


SPLITS = ("train", "val", "test")


def _scene_label(scene: str) -> str:
    """Folder-name label: ``builtin-3``, ``staircase``, ``staircase-rand2``."""
    if scene.startswith("builtin"):
        return scene.replace(":", "-")
    path = Path(scene)
    if not path.name.endswith(".xml"):
        return path.name
    return path.parent.name if path.stem == "scene" else f"{path.parent.name}-{path.stem.replace('scene_', '')}"


def _scene_family(scene: str) -> str:
    """The scene a spec belongs to, variants included (``staircase/scene_rand2.xml`` -> ``staircase``)."""
    if scene.startswith("builtin"):
        return scene
    path = Path(scene)
    return path.parent.name if path.name.endswith(".xml") else path.name


def _resolve_scene(scene: str, config_dir: Path, scenes_dir: Path | None) -> str:
    if scene == "builtin" or scene.startswith("builtin:"):
        parse_builtin_name(scene)  # a ValueError listing the accepted names
        return scene
    candidates = [Path(scene)] if Path(scene).is_absolute() else [config_dir / scene]
    if scenes_dir is not None:
        candidates.insert(0, scenes_dir / scene)
    for candidate in candidates:
        if candidate.is_file() or (candidate / "scene.xml").is_file():
            return str(candidate if candidate.is_file() else candidate / "scene.xml")
    where = f"scenes dir {scenes_dir}" if scenes_dir is not None else "no scenes dir (give --scenes-dir or set SSR_SCENES_DIR)"
    raise ValueError(f"dataset scene {scene!r} not found ({where}; also looked in {config_dir})")


def plan_dataset(config: dict[str, Any], *, config_dir: Path, scenes_dir: Path | None) -> list[DatasetEntry]:
    """Expand a dataset config into its sequences (deterministic order)."""
    if not isinstance(config.get("scenes"), list) or not config["scenes"]:
        raise ValueError("dataset config needs a non-empty 'scenes' list")
    defaults = dict(config.get("defaults", {}))
    unknown = set(defaults) - _RENDER_KEYS
    if unknown:
        raise ValueError(f"dataset config 'defaults' has unknown keys: {sorted(unknown)}")
    entries: list[DatasetEntry] = []
    names: set[str] = set()
    for item in config["scenes"]:
        if not isinstance(item, dict) or "scene" not in item:
            raise ValueError(f"dataset config: every 'scenes' item needs a 'scene' key, got {item!r}")
        scene = _resolve_scene(str(item["scene"]), config_dir, scenes_dir)
        train_keys = {(run.get("path", defaults.get("path", "truck")), run.get("seed", defaults.get("seed", 0)))
                      for run in item.get("train", [])}
        for split in SPLITS:
            for run in item.get(split, []):
                unknown = set(run) - _RENDER_KEYS
                if unknown:
                    raise ValueError(f"dataset config: {item['scene']} {split} entry has unknown keys {sorted(unknown)}")
                settings = {**defaults, **run}
                settings.setdefault("path", "truck")
                settings.setdefault("seed", 0)
                settings.setdefault("albedo_filter", DEFAULT_ALBEDO_FILTER)
                if split == "val" and (settings["path"], settings["seed"]) in train_keys:
                    raise ValueError(f"dataset config: {item['scene']} validation path/seed "
                                     f"{settings['path']}/{settings['seed']} is also used for training")
                name = f"{_scene_label(str(item['scene']))}-{settings['path']}-s{settings['seed']}"
                if (split, name) in names:
                    raise ValueError(f"dataset config: sequence {split}/{name} is listed twice")
                names.add((split, name))  # type: ignore[arg-type]
                entry = DatasetEntry(split, name, scene, settings)
                entry.render_config(Path("."))  # every value checked before anything renders
                entries.append(entry)
    _check_test_held_out(config["scenes"])
    return entries


def _check_test_held_out(items: list[dict[str, Any]]) -> None:
    """A scene family with test sequences may not feed train or val."""
    splits_of: dict[str, set[str]] = {}
    for item in items:
        family = _scene_family(str(item["scene"]))
        splits_of.setdefault(family, set()).update(s for s in SPLITS if item.get(s))
    leaked = sorted(f for f, used in splits_of.items() if "test" in used and used - {"test"})
    if leaked:
        raise ValueError(f"dataset config: test scene(s) {', '.join(leaked)} also appear in train/val "
                         "(the test split holds whole scenes out, material variants included)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``ssr make-dataset`` options."""
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help=f"dataset config JSON (default: the bundled {DEFAULT_CONFIG.name})")
    parser.add_argument("--out", required=True, type=Path, help="dataset folder (train/ and val/ go inside)")
    parser.add_argument("--scenes-dir", default=None, help="folder of Mitsuba scenes (default: $SSR_SCENES_DIR, else the development scenes folder beside the checkout)")
    parser.add_argument("--splits", default=",".join(SPLITS), metavar="LIST",
                        help="comma-separated splits to render, in this order (config order within a split; "
                             "default: %(default)s)")
    parser.add_argument("--shard", default=None, metavar="i/N", help="render only every N-th sequence, starting at i")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Render the dataset; returns the exit status (2 for bad input / missing renderer)."""
    from .mitsuba_env import RendererUnavailable
    from .scene_source import SceneLoadError
    from .sequence import render_sequence

    try:
        config_path = Path(args.config)
        try:
            config = json.loads(config_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read dataset config {config_path}: {exc}") from None
        entries = plan_dataset(config, config_dir=config_path.resolve().parent,
                               scenes_dir=resolve_scenes_dir(args.scenes_dir))
        wanted = [name.strip() for name in str(args.splits).split(",") if name.strip()]
        unknown = sorted(set(wanted) - set(SPLITS))
        if unknown or not wanted:
            raise ValueError(f"--splits {args.splits!r}: choose from {', '.join(SPLITS)}")
        # splits in the order given (e.g. "val,test" renders val first), config order within one
        ordered = [e for split in dict.fromkeys(wanted) for e in entries if e.split == split]
        mine = shard_items(ordered, parse_shard(args.shard))
        start = time.perf_counter()
        for number, entry in enumerate(mine, 1):
            seq_start = time.perf_counter()
            render_sequence(entry.render_config(Path(args.out)), progress=not args.no_progress)
            print(f"[{number}/{len(mine)}] {entry.split}/{entry.name}: {time.perf_counter() - seq_start:.1f} s "
                  f"(total {time.perf_counter() - start:.1f} s)", flush=True)
    except (ValueError, SceneLoadError, RendererUnavailable) as exc:
        print(f"ssr make-dataset: error: {exc}", file=sys.stderr)
        return 2
    print(f"dataset in {args.out}: {len(mine)} sequences in {time.perf_counter() - start:.1f} s")
    return 0
