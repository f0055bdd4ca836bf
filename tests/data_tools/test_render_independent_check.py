"""`ssr render` output checked by an independent docs/format.md checker.

The checker below reads the files with the OpenEXR bindings and json only; it shares no
code with ``ssr.data_tools.format``, so a bug in our reader cannot hide a bug in our writer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

try:
    from .test_render_helpers import require_renderer
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from test_render_helpers import require_renderer

require_renderer()

from ssr.data_tools.render import RenderConfig, render_sequence  # noqa: E402

pytestmark = pytest.mark.render

# docs/format.md: channel -> writer type (FLOAT for color/depth/motion, reference FLOAT or HALF)
REQUIRED = {"color": "RGB", "albedo": "RGB", "normal": "XYZ", "depth": "Z", "motion": "XY"}
OPTIONAL = {"roughness": "Y", "metallic": "Y", "shadow": "Y", "transparent": "RGB", "mask": "Y",
            "reference": "RGB", "reference_albedo": "RGB"}
FLOAT_LAYERS = {"color", "depth", "motion"}
META_KEYS = {"format": str, "version": int, "width": int, "height": int, "frame_count": int, "sampling": str,
             "spp": (int, float), "reference_spp": (int, type(None)), "shadow_rays": int, "cuts": list,
             "scene": str, "renderer": str}


def independent_check(seq: Path) -> list[str]:
    """Every docs/format.md rule we can check from the outside; returns the problems found."""
    problems: list[str] = []
    meta = json.loads((seq / "meta.json").read_text())
    for key, kind in META_KEYS.items():
        if not isinstance(meta.get(key), kind):
            problems.append(f"meta.json: {key} missing or not {kind}")
    if meta.get("format") != "ssr-seq" or meta.get("version") != 1:
        problems.append("meta.json: format/version")
    if 0 not in meta["cuts"]:
        problems.append("meta.json: frame 0 is not a cut")
    names = sorted(p.name for p in seq.iterdir() if p.suffix == ".exr")
    if names != [f"frame_{i:05d}.exr" for i in range(meta["frame_count"])]:
        problems.append(f"frame files {names}")
    camera = meta.get("camera")
    if camera is not None:
        matrices = np.asarray(camera["to_world"], float)
        if matrices.shape != (meta["frame_count"], 4, 4) or not np.allclose(matrices[:, 3], [0, 0, 0, 1]):
            problems.append("camera.to_world is not one affine 4x4 per frame")
    for name in names:
        index = int(re.findall(r"\d+", name)[0])
        with OpenEXR.File(str(seq / name), separate_channels=True) as exr:
            header = exr.header()
            if header["compression"] != OpenEXR.ZIP_COMPRESSION or header["type"] != OpenEXR.scanlineimage:
                problems.append(f"{name}: not a ZIP scanline image")
            channels = {k: v.pixels.copy() for k, v in exr.channels().items()}
        for layer, suffixes in {**REQUIRED, **OPTIONAL}.items():
            present = [f"{layer}.{s}" in channels for s in suffixes]
            if layer in REQUIRED and not all(present):
                problems.append(f"{name}: required {layer} missing")
            if any(present) and not all(present):
                problems.append(f"{name}: {layer} incomplete")
            if all(present):
                kinds = {channels[f"{layer}.{s}"].dtype for s in suffixes}
                if layer in FLOAT_LAYERS and kinds != {np.dtype(np.float32)}:
                    problems.append(f"{name}: {layer} must be FLOAT, is {kinds}")
                if layer not in FLOAT_LAYERS | {"reference"} and kinds != {np.dtype(np.float16)}:
                    problems.append(f"{name}: {layer} must be HALF, is {kinds}")
        for channel, pixels in channels.items():
            if pixels.shape != (meta["height"], meta["width"]):
                problems.append(f"{name}: {channel} size {pixels.shape}")
            if not np.isfinite(pixels).all():
                problems.append(f"{name}: {channel} has NaN/Inf")
        color = np.stack([channels[f"color.{c}"] for c in "RGB"], -1).astype(np.float32)
        if color.min() < 0:
            problems.append(f"{name}: negative color")
        if ("mask.Y" in channels) != (meta["sampling"] == "subpixel-2x2"):
            problems.append(f"{name}: mask vs sampling")
        depth = channels["depth.Z"].astype(np.float32)
        normal = np.stack([channels[f"normal.{c}"] for c in "XYZ"], -1).astype(np.float32)
        length = np.linalg.norm(normal, axis=-1)
        if (np.abs(length - 1)[depth > 0] > 0.01).any():
            problems.append(f"{name}: non-unit normals where depth > 0")
        if (length[depth <= 0] > 0).any():
            problems.append(f"{name}: normals not 0 where the ray misses")
        for layer in ("albedo", "reference_albedo"):
            values = np.stack([channels[f"{layer}.{c}"] for c in "RGB"], -1).astype(np.float32)
            if values.min() < 0 or values.max() > 1.001:
                problems.append(f"{name}: {layer} outside [0, 1]")
        for layer in ("roughness", "metallic", "shadow"):
            values = channels[f"{layer}.Y"].astype(np.float32)
            if values.min() < 0 or values.max() > 1.001:
                problems.append(f"{name}: {layer} outside [0, 1]")
        if index in meta["cuts"] and (np.abs(channels["motion.X"]).max() > 0 or np.abs(channels["motion.Y"]).max() > 0):
            problems.append(f"{name}: motion not 0 at a cut")
    return problems


def test_rendered_sequence_passes_independent_checker(tmp_path: Path) -> None:
    seq = render_sequence(RenderConfig(scene="builtin", out=tmp_path / "seq", width=20, height=16, frames=5,
                                       spp_ref=8, path="cut", seed=5, max_depth=3, shadow_rays=2,
                                       albedo_samples=4), progress=False)
    assert independent_check(seq) == []


def test_independent_checker_catches_a_broken_file(tmp_path: Path) -> None:
    """The checker itself can fail: a HALF colour channel and a bad normal are reported."""
    seq = render_sequence(RenderConfig(scene="builtin", out=tmp_path / "seq", width=12, height=12, frames=2,
                                       spp_ref=4, path="static", seed=1, max_depth=2, shadow_rays=1,
                                       albedo_samples=4), progress=False)
    path = seq / "frame_00001.exr"
    with OpenEXR.File(str(path), separate_channels=True) as exr:
        channels = {k: v.pixels.copy() for k, v in exr.channels().items()}
    channels["color.R"] = channels["color.R"].astype(np.float16)
    hit = np.argwhere(channels["depth.Z"] > 0)[0]
    channels["normal.X"][tuple(hit)] = np.float16(0.5)
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, channels) as exr:
        exr.write(str(path))
    problems = independent_check(seq)
    assert any("color must be FLOAT" in p for p in problems), problems
    assert any("non-unit normals" in p for p in problems), problems
