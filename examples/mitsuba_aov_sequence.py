"""Stand-in for "your renderer": a short Mitsuba 3 sequence written the way Mitsuba users
write G-buffers, with the ``aov`` integrator (for the ``ssr import`` worked example).

    python examples/mitsuba_aov_sequence.py OUT [--frames 8] [--width 96] [--height 64]

Writes ``OUT/render_0001.exr ...`` (1 spp: radiance ``image.R/G/B`` plus AOVs ``alb``
(albedo), ``nn`` (shading normal), ``dd.y`` (depth)), ``OUT/reference/render_0001.exr ...``
(256 spp) and ``OUT/camera.json`` (the camera sidecar ``ssr import`` reads; Mitsuba's
convention). Import it with:

    ssr import --from mitsuba OUT --out data/room --reference OUT/reference \\
        --aov color=image --aov albedo=alb --aov normal=nn --aov depth=dd.y
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ssr.data_tools.render.mitsuba_env import load_mitsuba


def scene_dict(mi, to_world, width: int, height: int, spp: int, seed: int) -> dict:
    def diffuse(rgb):
        return {"type": "diffuse", "reflectance": {"type": "rgb", "value": rgb}}

    checker = {"type": "diffuse", "reflectance": {"type": "checkerboard", "color0": {"type": "rgb", "value": [0.15, 0.15, 0.2]},
                                                  "color1": {"type": "rgb", "value": [0.8, 0.75, 0.7]},
                                                  "to_uv": mi.ScalarTransform4f().scale([8, 8, 1])}}
    T = mi.ScalarTransform4f
    return {
        "type": "scene",
        "integrator": {"type": "aov", "aovs": "alb:albedo,nn:sh_normal,dd.y:depth",
                       "image": {"type": "path", "max_depth": 5}},
        "sensor": {"type": "perspective", "fov": 50, "fov_axis": "y", "to_world": to_world,
                   "film": {"type": "hdrfilm", "width": width, "height": height, "rfilter": {"type": "box"}},
                   "sampler": {"type": "independent", "sample_count": spp, "seed": seed}},
        "floor": {"type": "rectangle", "to_world": T().rotate([1, 0, 0], -90).scale([2, 2, 1]), "bsdf": checker},
        "back": {"type": "rectangle", "to_world": T().translate([0, 1, -2]).scale([2, 1, 1]), "bsdf": diffuse([0.7, 0.7, 0.7])},
        "left": {"type": "rectangle", "to_world": T().translate([-2, 1, 0]).rotate([0, 1, 0], 90).scale([2, 1, 1]),
                 "bsdf": diffuse([0.7, 0.15, 0.1])},
        "right": {"type": "rectangle", "to_world": T().translate([2, 1, 0]).rotate([0, 1, 0], -90).scale([2, 1, 1]),
                  "bsdf": diffuse([0.1, 0.5, 0.15])},
        "ball": {"type": "sphere", "center": [-0.5, 0.4, -0.3], "radius": 0.4,
                 "bsdf": {"type": "roughconductor", "material": "Au", "alpha": 0.2}},
        "box": {"type": "cube", "to_world": T().translate([0.6, 0.3, 0.2]).rotate([0, 1, 0], 30).scale(0.3),
                "bsdf": diffuse([0.2, 0.3, 0.8])},
        "lamp": {"type": "rectangle", "to_world": T().translate([0, 1.99, 0]).rotate([1, 0, 0], 90).scale(0.4),
                 "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [15, 15, 15]}}},
        "sky": {"type": "constant", "radiance": {"type": "rgb", "value": [0.1, 0.1, 0.12]}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--spp-ref", type=int, default=256)
    args = parser.parse_args()
    mi = load_mitsuba()
    matrices = []
    for k in range(args.frames):
        angle = math.radians(-12 + 3 * k)
        origin = [3.2 * math.sin(angle), 1.1, 3.2 * math.cos(angle)]
        to_world = mi.ScalarTransform4f().look_at(origin=origin, target=[0, 0.6, 0], up=[0, 1, 0])
        matrices.append([list(map(float, row)) for row in to_world.matrix.numpy()])
        for spp, folder in ((1, args.out), (args.spp_ref, args.out / "reference")):
            folder.mkdir(parents=True, exist_ok=True)
            scene = mi.load_dict(scene_dict(mi, to_world, args.width, args.height, spp, seed=k))
            mi.render(scene)
            scene.sensors()[0].film().write(str(folder / f"render_{k + 1:04d}.exr"))
        print(f"frame {k + 1}/{args.frames}", flush=True)
    (args.out / "camera.json").write_text(json.dumps({"convention": "mitsuba", "fov_y_deg": 50.0, "to_world": matrices}))


if __name__ == "__main__":
    main()
