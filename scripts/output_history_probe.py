"""Would a trained model gain from a longer, age-aware temporal accumulation of its output?
A model-free post-process probe (docs/benchmarks-history.md section 17).

Streams each sequence through a model (1/4-spp subpixel input, as ``ssr bench quality``)
and, after it, accumulates the model's output over time, SVGF-style, in demodulated space
(``y = output / (albedo + ALBEDO_EPS)``, remodulated by the frame's albedo after, so that
the repeated bilinear warps do not blur texture): ``y_acc = y + (1 - 1 / n) * (W(y_acc) - y)`` with ``n = min(W(n) + 1, cap)`` the
per-pixel history length, warped by the frame's motion like the model's state and reset to
1 at cuts and at disocclusions (warp coverage < 0.99, warped depth off by more than
``--depth-tolerance`` relative, or warped normal at more than ~25 degrees). ``cap = 1`` is
the model alone. Prints PSNR sRGB (``ssr.metrics.tonemap_srgb``, per frame, as ``psnr_srgb``)
per cap, all frames and frames 8-15 (OIDN is not run: see the bench report).
``--diffuse-only`` keeps the history length at 1 outside the diffuse class of
:func:`ssr.bench.materials.material_classes` (metal, glossy, glass: the model alone).

If a longer output history gains here, the model under-uses its history (it cannot tell
how old the history at a pixel is); if it loses, the output's remaining error is not
temporal noise that averaging removes.

    .venv/bin/python scripts/output_history_probe.py SEQUENCE [SEQUENCE ...] --model WEIGHTS [--caps 1,2,4,8,16]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from ssr.bench.materials import material_classes
from ssr.bench.quality import SCORED_LAYERS
from ssr.data_tools.contract import ALBEDO_EPS
from ssr.data_tools.format import Sequence, apply_subpixel_pattern
from ssr.metrics import psnr, tonemap_srgb
from ssr.model.warp import warp, warp_coverage
from ssr.streaming import StreamLoop, TorchBackend



def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()


def _psnr(test: np.ndarray, reference: np.ndarray) -> float:
    """``psnr_srgb`` of ``ssr bench quality``."""
    return psnr(tonemap_srgb(test), tonemap_srgb(reference), 1.0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", nargs="+", help="ssr-seq folders stored with sampling: full and references")
    parser.add_argument("--model", required=True, help="weights or <run>/last.pt")
    parser.add_argument("--caps", default="1,2,4,8,16", help="history-length caps to try (1 = the model alone)")
    parser.add_argument("--diffuse-only", action="store_true",
                        help="accumulate only at diffuse pixels (bench.materials class); elsewhere the model alone")
    parser.add_argument("--depth-tolerance", type=float, default=0.05, help="relative depth change that rejects history")
    args = parser.parse_args(argv)
    caps = [int(c) for c in args.caps.split(",")]
    torch.set_num_threads(1)
    scores: dict[int, list[list[float]]] = {cap: [] for cap in caps}
    for path in args.sequences:
        sequence = Sequence(path, apply_pattern=False)
        stream = StreamLoop(TorchBackend(args.model))
        history: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        previous_geometry: torch.Tensor | None = None
        per_frame: dict[int, list[float]] = {cap: [] for cap in caps}
        for index in range(len(sequence)):
            frame = sequence.read_frame(index, SCORED_LAYERS)
            cut = sequence.is_cut(index)
            albedo = _chw(frame["albedo"]) + ALBEDO_EPS
            output = _chw(stream.denoise(apply_subpixel_pattern(frame, index), cut=cut)) / albedo
            motion = _chw(frame["motion"])
            geometry = torch.cat((_chw(frame["depth"][..., :1]), _chw(frame["normal"])), dim=1)
            if cut or previous_geometry is None:
                valid = torch.zeros_like(output[:, :1])
            else:
                coverage = warp_coverage(motion)
                warped = warp(previous_geometry, motion) / coverage.clamp(min=1e-3)
                depth, normal = geometry[:, :1], geometry[:, 1:]
                depth_ok = (warped[:, :1] - depth).abs() <= args.depth_tolerance * depth.abs().clamp(min=1e-6)
                normal_ok = (warped[:, 1:] * normal).sum(dim=1, keepdim=True) >= 0.9 * warped[:, 1:].norm(dim=1, keepdim=True)
                valid = ((coverage >= 0.99) & depth_ok & normal_ok).float()
            previous_geometry = geometry
            if args.diffuse_only:
                valid = valid * torch.from_numpy(material_classes(frame)["diffuse"].astype(np.float32))[None, None]
            for cap in caps:
                if cap == 1 or cap not in history or cut:
                    accumulated, length = output, torch.ones_like(output[:, :1])
                else:
                    old, old_length = history[cap]
                    length = torch.clamp(warp(old_length, motion) * valid + 1.0, max=float(cap))
                    accumulated = output + (1.0 - 1.0 / length) * (warp(old, motion) - output)
                history[cap] = (accumulated, length)
                remodulated = (accumulated * albedo)[0].numpy().transpose(1, 2, 0)
                per_frame[cap].append(_psnr(remodulated, frame["reference"]))
        for cap in caps:
            scores[cap].append(per_frame[cap])
        print(sequence.name, " ".join(f"cap {cap}: {np.mean(per_frame[cap]):.2f}" for cap in caps), flush=True)
    print("\nmean PSNR sRGB over sequences (all frames / frames 8+):")
    for cap in caps:
        frames = scores[cap]
        print(f"  cap {cap:3d}  {np.mean([np.mean(f) for f in frames]):6.2f}  {np.mean([np.mean(f[8:]) for f in frames]):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
