"""Shared helpers of the renderer tests (no tests here): Mitsuba check, a static scene file, warping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ssr.metrics import warp_previous  # noqa: F401  (re-exported for the motion tests)


def require_renderer() -> None:
    """Skip the calling test module when Mitsuba 3 (llvm_ad_rgb / cuda_ad_rgb) is unusable."""
    try:
        from ssr.data_tools.render.mitsuba_env import RendererUnavailable, load_mitsuba
    except ImportError as exc:  # pragma: no cover - package not installed
        pytest.skip(f"ssr.data_tools.render not importable: {exc}", allow_module_level=True)
    try:
        load_mitsuba()
    except RendererUnavailable as exc:
        pytest.skip(str(exc), allow_module_level=True)


STATIC_SCENE_XML = """<scene version="3.0.0">
  <default name="resx" value="32"/>
  <default name="resy" value="32"/>
  <default name="spp" value="4"/>
  <default name="max_depth" value="4"/>
  <integrator type="path"><integer name="max_depth" value="$max_depth"/></integrator>
  <sensor type="perspective">
    <float name="fov" value="50"/>
    <transform name="to_world"><lookat origin="0, 1.2, 3.2" target="0, 0.8, 0" up="0, 1, 0"/></transform>
    <sampler type="independent"><integer name="sample_count" value="$spp"/></sampler>
    <film type="hdrfilm"><integer name="width" value="$resx"/><integer name="height" value="$resy"/>
      <rfilter type="box"/></film>
  </sensor>
  <bsdf type="diffuse" id="checker">
    <texture type="checkerboard" name="reflectance">
      <rgb name="color0" value="0.1, 0.1, 0.1"/><rgb name="color1" value="0.9, 0.8, 0.7"/>
      <transform name="to_uv"><scale x="6" y="6" z="1"/></transform>
    </texture>
  </bsdf>
  <shape type="rectangle">
    <transform name="to_world"><scale x="4" y="4" z="1"/><rotate x="1" angle="-90"/></transform>
    <ref id="checker"/>
  </shape>
  <shape type="rectangle">
    <transform name="to_world"><scale x="4" y="2" z="1"/><translate y="2" z="-2"/></transform>
    <ref id="checker"/>
  </shape>
  <shape type="sphere">
    <point name="center" x="0.3" y="0.5" z="0"/><float name="radius" value="0.5"/>
    <bsdf type="roughplastic"><rgb name="diffuse_reflectance" value="0.2, 0.5, 0.8"/></bsdf>
  </shape>
  <shape type="rectangle">
    <transform name="to_world"><scale x="0.8" y="0.8" z="1"/><rotate x="1" angle="90"/><translate y="3.5"/></transform>
    <emitter type="area"><rgb name="radiance" value="12, 12, 12"/></emitter>
  </shape>
  <emitter type="constant"><rgb name="radiance" value="0.05, 0.05, 0.05"/></emitter>
</scene>
"""


def write_static_scene(folder: Path) -> Path:
    """A small static scene file (checkerboard floor and wall, a sphere, an area light)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scene.xml"
    path.write_text(STATIC_SCENE_XML)
    return path


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (peak 1) of tone-mapped ``x / (1 + x)`` images over the masked pixels."""
    ta, tb = a / (1 + a), b / (1 + b)
    mse = float(np.mean((ta[mask] - tb[mask]) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-12))
