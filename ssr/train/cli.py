"""Train an SSR network on ssr-seq data.

Dataset layout: <data>/train/<seq>/ and <data>/val/<seq>/ (ssr-seq sequence folders).
Without a train/ subfolder every sequence under --data is training data; validation then
needs --val-data (or is skipped).

Run folder (--out): config.json (the resolved configuration), last.pt / best.pt
(checkpoints, written atomically; snap_<step>.pt with --snapshot-every), tb/ (TensorBoard), val.jsonl, and at the end
model.safetensors + model.json (load with ssr.load_model("<out>/model")).

Works under torchrun (DistributedDataParallel, gloo on CPU / nccl on CUDA):
  torchrun --nproc-per-node 2 -m ssr.cli train --data D --out R
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from ssr.devices import DEVICE_HELP
from ssr.losses import SPATIAL_LOSSES
from ssr.model.config import (ACCUMULATIONS, ARCHES, HISTORY_MODES, LAYOUTS, OUTPUTS, SIGNALS,
                              WIDTH_PRESETS)

from .recipe import BUILTIN_RECIPES, DEFAULT_RECIPE, TRAIN_KEYS

__all__ = ["add_arguments", "config_from_args", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``ssr train`` flags to ``parser``."""
    parser.add_argument("--data", required=True, help="dataset folder (train/ and val/ sequence folders)")
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument("--val-data", default=None, help="validation dataset when --data has no val/ split")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE, metavar="NAME|FILE.toml",
                        help=f"the settings every flag below defaults to: {' or '.join(BUILTIN_RECIPES)} (built in; "
                             f"default {DEFAULT_RECIPE}: what the bundled model was trained with) or a TOML file of "
                             "the same shape (ssr/train/recipes/*.toml). An explicit flag overrides the recipe; the "
                             "run's config.json records the result and the recipe's name and version "
                             "(docs/training.md)")
    parser.add_argument("--arch", default=None, choices=ARCHES,
                        help="ssr (TFA + U-Net, docs/method.md) or rae: the recurrent denoising autoencoder baseline "
                             "(Chaitanya et al. 2017; the preset's U-Net widths; docs/training.md)")
    parser.add_argument("--preset", default=None, choices=sorted(WIDTH_PRESETS),
                        help="network width preset (channel widths; docs/training.md)")
    parser.add_argument("--accumulation", default=None, choices=ACCUMULATIONS,
                        help="what the TFA state accumulates: log (docs/method.md) or linear irradiance with the "
                             "traced mask as weight (docs/training.md)")
    parser.add_argument("--output", default=None, choices=OUTPUTS,
                        help="direct log-irradiance prediction (docs/method.md) or kernel: per-pixel normalised "
                             "multi-scale kernels over the accumulated linear irradiance (needs "
                             "--accumulation linear)")
    parser.add_argument("--layout", default=None, choices=LAYOUTS,
                        help="spec: docs/method.md's 3x3 TFA nets and full-resolution U-Net convs; fast: 1x1 TFA nets and "
                             "the U-Net's encoder from 1/2 (about a third of the conv MACs; docs/training.md)")
    parser.add_argument("--signal", default=None, choices=SIGNALS,
                        help="--output kernel: what the kernels filter: irradiance (demodulated, remodulated by the "
                             "pixel's albedo) or dual: irradiance and radiance alike, blended per pixel (glossy "
                             "surfaces with textured albedo; docs/training.md)")
    parser.add_argument("--view-floor", type=float, default=None, metavar="F",
                        help="--accumulation linear: floor of the accumulated mask in the network's view of the "
                             "state, log1p(A_irr / max(A_mask, F)) (default 1e-2; models saved before it existed "
                             "use 1e-4). Not a weight: with --init it overrides the weights' value (docs/training.md)")
    parser.add_argument("--specular-floor", type=float, default=None, metavar="K",
                        help="demodulate by albedo + K * (1 - roughness) * (1 - metallic) instead of the G-buffer "
                             "albedo: a floor under smooth dielectrics, whose specular coat does not follow their "
                             "diffuse texture (default 0). Stored with the model; the runtime packs frames with it. "
                             "Not a weight: with --init it overrides the weights' value (docs/training.md)")
    parser.add_argument("--history", default=None, choices=HISTORY_MODES,
                        help="how the accumulated signal follows time: learned (the TFA's blend, SPEC) or rule: "
                             "reprojection taps tested against the previous depth and normal, a per-pixel sample "
                             "count that traced pixels raise, capped by --history-cap and the roughness; the network "
                             "reads the mean, the samples' spread and the count (--accumulation linear --output "
                             "kernel; pair it with --burn-in so the loss sees warm histories; docs/training.md)")
    parser.add_argument("--history-cap", type=float, default=None, metavar="N",
                        help="--history rule: the most samples a rough surface's history counts (default 32)")
    parser.add_argument("--kernel-sizes", default=None, metavar="K4,K2,K1",
                        help="--output kernel: kernel side per U-Net scale, coarsest first: 1/4, 1/2 and full "
                             "resolution; odd; 1 at full resolution blends each "
                             "pixel's own accumulated samples with the coarser scale (default 5 per coarse "
                             "scale, 3 at full resolution)")
    parser.add_argument("--steps", type=int, default=None, help="optimisation steps (lr halves at 1/3 and 2/3)")
    parser.add_argument("--batch", type=int, default=None, help="clips per step over all processes")
    parser.add_argument("--crop", type=int, default=None, help="square crop size in pixels")
    parser.add_argument("--clip", type=int, default=None, help="frames per clip")
    parser.add_argument("--burn-in", type=int, default=None, metavar="N",
                        help="stream up to N frames (uniform 0..N per clip) without gradients before each clip, "
                             "so the loss sees warm streams too (default 0: cold clips, as docs/method.md)")
    parser.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    parser.add_argument("--val-every", type=int, default=None, help="validate every N steps (0: only at the end)")
    parser.add_argument("--val-frames", type=int, default=None, help="frames per validation sequence (0: all)")
    parser.add_argument("--checkpoint-every", type=int, default=None, help="write last.pt every N steps (0: at validation)")
    parser.add_argument("--snapshot-every", type=int, default=None, metavar="N",
                        help="also keep every N-th step's checkpoint as snap_<step>.pt (0: none), for "
                             "model selection on held-out scenes after the run")
    parser.add_argument("--log-every", type=int, default=10, help="TensorBoard scalar interval")
    parser.add_argument("--seed", type=int, default=0, help="seed of model init and clip sampling")
    parser.add_argument("--scenes", default="", help="comma-separated sequence/scene names to train on")
    parser.add_argument("--no-tfa", action="store_true", help="ablation: no temporal feature accumulator")
    parser.add_argument("--no-warped-prev", action="store_true", help="ablation: no warped previous output")
    parser.add_argument("--full-spp", action="store_true", help="ablation: 1-spp input (no subpixel pattern)")
    parser.add_argument("--resume", action="store_true", help="continue from <out>/last.pt with its saved config")
    parser.add_argument("--stop-after", type=int, default=None, help="stop (resumably) after this global step")
    parser.add_argument("--time-limit", type=float, default=None, metavar="MINUTES",
                        help="stop (resumably, checkpoint written) once this many minutes of training "
                             "have passed, start-up not counted; for machines with a wall-clock limit")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--num-workers", type=int, default=0, help="threads reading EXR frames at start-up")
    parser.add_argument("--spatial-loss", default=None, choices=SPATIAL_LOSSES,
                        help="spatial loss term: smape (docs/method.md) or relmse (noise2noise relative MSE, unbiased on "
                             "noisy references; docs/training.md). Default: smape, or with --init the loss the "
                             "initial weights were trained with")
    parser.add_argument("--init", default=None, metavar="WEIGHTS",
                        help="fine-tune: start from saved weights (<run>/model) or a checkpoint (<run>/last.pt); the architecture is taken "
                             "from them (--preset, --accumulation, --output, --layout, --signal, --kernel-sizes and the ablation flags are ignored; --history, --history-cap, --view-floor and --specular-floor, which no weight depends on, apply), "
                             "and so is the spatial loss unless --spatial-loss is given")
    parser.add_argument("--skip-incomplete", action="store_true",
                        help="leave out sequences whose frames are not all written yet (train while the "
                             "dataset renders; --resume rescans)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")


def _kernel_sizes(text: str | None) -> tuple[int, ...]:
    if text is None:
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--kernel-sizes must be comma-separated odd integers (one per U-Net scale), "
                         f"got {text!r}") from None


_MODEL_FLAGS = {"arch": "arch", "preset": "width", "accumulation": "accumulation", "output": "output",
                "layout": "layout", "signal": "signal",
                "history": "history", "history_cap": "history_cap", "view_floor": "view_floor",
                "specular_floor": "specular_floor"}
"""``ssr train`` flag (argparse dest) -> the ModelConfig field it sets over the recipe's."""
_NOT_WEIGHTS = ("history", "history_cap", "view_floor", "specular_floor")
"""ModelConfig fields no weight depends on: with ``--init`` an explicit flag still applies."""


def config_from_args(args: argparse.Namespace):
    """The :class:`~ssr.train.config.TrainConfig` described by parsed arguments: the recipe
    (``--recipe``, :mod:`ssr.train.recipe`), each explicit flag over it; with ``--init`` the
    architecture of the initial weights (and their losses, unless given)."""
    from ssr.model.config import ModelConfig

    from .config import TrainConfig
    from .recipe import load_recipe

    recipe = load_recipe(args.recipe)
    explicit = {dest: getattr(args, dest) for dest in _MODEL_FLAGS if getattr(args, dest, None) is not None}
    if args.kernel_sizes is not None:
        explicit["kernel_sizes"] = _kernel_sizes(args.kernel_sizes)
    train = dict(recipe.train)
    train.update({dest: getattr(args, dest) for dest in TRAIN_KEYS if getattr(args, dest) is not None})
    if args.init:
        from ssr.model.weights import load_model, load_training_config

        try:  # saved weights or a training checkpoint: the architecture comes with them
            model = load_model(args.init).config
            base = load_training_config(args.init) or {}
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"--init {args.init}: cannot read the model config: {error}") from None
        for name in ("spatial_loss",):  # a fine-tune keeps the base run's objective unless told
            if getattr(args, name) is None and base.get(name) is not None:
                train[name] = base[name]
                print(f"ssr train: --{name.replace('_', '-')} {base[name]} (from --init {args.init})", file=sys.stderr)
        overrides = {_MODEL_FLAGS[dest]: value for dest, value in explicit.items() if dest in _NOT_WEIGHTS}
    else:
        model = ModelConfig.from_dict({"view_floor": ModelConfig.view_floor, **recipe.model})
        overrides = {_MODEL_FLAGS.get(dest, dest): value for dest, value in explicit.items()}
    ablations = {"use_tfa": not args.no_tfa, "use_warped_prev": not args.no_warped_prev, "subpixel": not args.full_spp}
    if not args.init:
        overrides.update({name: False for name, on in ablations.items() if not on})
    try:
        model = dataclasses.replace(model, **overrides)
    except ValueError as error:
        raise ValueError(f"{error} (over recipe '{recipe.name}': {recipe.model}; a baseline such as --arch rae "
                         "starts from --recipe paper)") from None
    return TrainConfig(
        data=args.data,
        out=args.out,
        model=model,
        val_data=args.val_data,
        log_every=args.log_every,
        seed=args.seed,
        scenes=[s.strip() for s in args.scenes.split(",") if s.strip()],
        device=args.device,
        num_workers=args.num_workers,
        skip_incomplete=args.skip_incomplete,
        init=args.init,
        recipe=f"{recipe.name}@{recipe.version}",
        **train,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``ssr train``; returns the exit status."""
    from .config import TrainConfig
    from .loop import train

    if args.resume:
        saved = Path(args.out) / "config.json"
        if not saved.is_file():
            print(f"ssr train: --resume: {saved} not found", file=sys.stderr)
            return 2
        config = TrainConfig.load(saved)
        config.device = args.device
        config.num_workers = args.num_workers
    else:
        try:
            config = config_from_args(args)
        except ValueError as error:
            print(f"ssr train: error: {error}", file=sys.stderr)
            return 2
    try:
        import torch

        torch.device(config.device if config.device != "auto" else "cpu")
    except RuntimeError as error:
        print(f"ssr train: error: --device {config.device!r}: {error}", file=sys.stderr)
        return 2
    if args.time_limit is not None and not args.time_limit > 0:
        print(f"ssr train: error: --time-limit must be > 0 minutes, got {args.time_limit}", file=sys.stderr)
        return 2
    time_limit = None if args.time_limit is None else 60.0 * args.time_limit
    result = train(config, resume=args.resume, stop_at=args.stop_after, progress=not args.no_progress,
                   time_limit=time_limit)
    if result.model_path is not None:
        summary = ", ".join(f"{k} {v:.4f}" for k, v in result.validation.items() if k != "frames")
        print(f"trained {result.step} steps; model: {result.model_path}" + (f" ({summary})" if summary else ""))
    elif not result.finished:
        print(f"stopped at step {result.step}; continue with --resume")
    return 0

