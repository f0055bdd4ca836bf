"""Per-BSDF material properties for the G-buffer: roughness, metallic, transmission tint.

Each distinct BSDF of a scene is classified once, from its lobe flags and its parameters
(``mi.traverse``), into a :class:`MaterialInfo`. The G-buffer looks the table up per pixel
by the BSDF's registry id (``dr.reinterpret_array(UInt32, si.bsdf())``).

Rules (docs/format.md):
* roughness: the microfacet ``alpha`` of the specular lobe (``sqrt(alpha_u * alpha_v)`` for
  anisotropic ones; ``roughness ** 2`` for ``principled``), clamped to [0, 1]; 1 for purely
  diffuse BSDFs; 0 for smooth (delta) specular lobes, including the coat of ``plastic``;
* metallic: 1 for conductors (reflection only, no diffuse lobe, no transmission), the
  ``metallic`` parameter for ``principled``, else 0;
* transparent: the ``specular_transmittance`` (default 1) of dielectrics (BSDFs with a
  delta or glossy transmission lobe), 0 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MaterialInfo", "MaterialTable", "classify_bsdf"]


@dataclass(frozen=True)
class MaterialInfo:
    roughness: float
    metallic: float
    transmittance: tuple[float, float, float]
    has_diffuse: bool


def _scalar_params(mi: Any, bsdf: Any) -> dict[str, np.ndarray]:
    """Parameter name (without the ``.value`` suffix) -> small float64 array."""
    out: dict[str, np.ndarray] = {}
    params = mi.traverse(bsdf)
    for key in params.keys():
        try:
            value = np.array(params[key], dtype=np.float64).ravel()
        except (TypeError, ValueError, RuntimeError):
            continue
        if value.size == 0 or value.size > 3:
            continue  # textures (bitmaps) and structured values are skipped
        name = key[: -len(".value")] if key.endswith(".value") else key
        out[name] = value
    return out


def _find(params: dict[str, np.ndarray], leaf: str) -> np.ndarray | None:
    for key, value in params.items():
        if key == leaf or key.endswith("." + leaf):
            return value
    return None


def classify_bsdf(mi: Any, bsdf: Any) -> MaterialInfo:
    """Classify one BSDF (see the module docstring)."""
    flags_enum = mi.BSDFFlags
    flags = int(bsdf.flags())

    def has(flag: Any) -> bool:
        return bool(flags & int(flag))

    diffuse = has(flags_enum.DiffuseReflection) or has(flags_enum.DiffuseTransmission)
    transmissive = has(flags_enum.DeltaTransmission) or has(flags_enum.GlossyTransmission)
    glossy = has(flags_enum.GlossyReflection) or has(flags_enum.GlossyTransmission)
    delta = has(flags_enum.DeltaReflection) or has(flags_enum.DeltaTransmission)
    params = _scalar_params(mi, bsdf)
    is_principled = _find(params, "base_color") is not None and _find(params, "metallic") is not None

    if is_principled:
        rough = _find(params, "roughness")
        roughness = float(rough[0]) ** 2 if rough is not None else 0.25
    elif glossy:
        alpha = _find(params, "alpha")
        alpha_u, alpha_v = _find(params, "alpha_u"), _find(params, "alpha_v")
        if alpha is not None:
            roughness = float(alpha[0])
        elif alpha_u is not None and alpha_v is not None:
            roughness = float(np.sqrt(alpha_u[0] * alpha_v[0]))
        else:
            roughness = 0.1  # textured alpha: a typical value
    elif delta:
        roughness = 0.0
    else:
        roughness = 1.0  # purely diffuse (or null)

    if is_principled:
        metallic = float(_find(params, "metallic")[0])  # type: ignore[index]
    elif not diffuse and not transmissive and (glossy or delta):
        metallic = 1.0
    else:
        metallic = 0.0

    if transmissive and not is_principled:
        tint = _find(params, "specular_transmittance")
        if tint is None or tint.size not in (1, 3):
            tint_rgb = np.ones(3)  # default (or textured): clear
        else:
            tint_rgb = np.broadcast_to(tint, (3,))
        transmittance = tuple(float(v) for v in np.clip(tint_rgb, 0.0, 1.0))
    elif transmissive:
        spec_trans = _find(params, "spec_trans")
        amount = float(spec_trans[0]) if spec_trans is not None else 0.0
        transmittance = (amount, amount, amount)
    else:
        transmittance = (0.0, 0.0, 0.0)
    return MaterialInfo(float(np.clip(roughness, 0.0, 1.0)), float(np.clip(metallic, 0.0, 1.0)), transmittance, diffuse)  # type: ignore[arg-type]


class MaterialTable:
    """Registry-id-indexed arrays of :class:`MaterialInfo` for every BSDF of a scene.

    Index 0 (no BSDF: a miss) gives roughness 0, metallic 0, transmittance 0, no diffuse.
    """

    def __init__(self, mi: Any, scene: Any) -> None:
        import drjit as dr

        infos: dict[int, MaterialInfo] = {}
        for shape in scene.shapes():
            bsdf = shape.bsdf()
            if bsdf is None:
                continue
            key = int(dr.reinterpret_array(mi.UInt32, mi.BSDFPtr(bsdf))[0])
            if key not in infos:
                infos[key] = classify_bsdf(mi, bsdf)
        size = max(infos, default=0) + 1
        self.roughness = np.zeros(size, np.float32)
        self.metallic = np.zeros(size, np.float32)
        self.transmittance = np.zeros((size, 3), np.float32)
        self.has_diffuse = np.zeros(size, bool)
        for key, info in infos.items():
            self.roughness[key] = info.roughness
            self.metallic[key] = info.metallic
            self.transmittance[key] = info.transmittance
            self.has_diffuse[key] = info.has_diffuse
        self.infos = infos

    def lookup(self, bsdf_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-pixel (roughness [N], metallic [N], transmittance [N, 3], has_diffuse [N])."""
        ids = np.where(bsdf_ids < self.roughness.size, bsdf_ids, 0)
        return self.roughness[ids], self.metallic[ids], self.transmittance[ids], self.has_diffuse[ids]
