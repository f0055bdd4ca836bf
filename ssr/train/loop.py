"""The training loop: unroll :func:`ssr.model.step` over clips, docs/method.md's loss, Adam.

One optimisation step draws a batch of clips (:class:`ClipSampler`), streams each clip
through the network frame by frame (state reset at the clip's first frame and at cuts),
computes :func:`ssr.losses.clip_loss` and takes an Adam step; the learning rate halves
at 1/3 and 2/3 of the steps. Every ``val_every`` steps the validation sequences are
streamed at full resolution and PSNR/SSIM (linear HDR, :mod:`ssr.metrics`) are logged;
``best.pt`` keeps the best PSNR, ``last.pt`` the latest state. Resuming from ``last.pt``
restores model, optimizer, scheduler, RNGs and sampler states, so the continuation is
bit-identical to an uninterrupted run. At the end the weights are exported with
:func:`ssr.model.save_model` to ``<run>/model``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ssr.data_tools import list_sequences
from ssr.evaluate import SELECTION_METRIC
from ssr.losses import clip_loss
from ssr.model import SSRNet, StreamState, initial_state, load_model, save_model, step
from ssr.model.history import core_step
from ssr.model.network import reset_tensor
from ssr.streaming import StreamLoop, TorchBackend
from ssr.data_tools.contract import ALBEDO_EPS, SLICES

from .checkpoint import (BEST, LAST, capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint,
                         snapshot_name)
from .config import TrainConfig
from .data import ClipBatch, ClipSampler, PackedSequence, PrefetchingSampler, find_sequences, load_sequences
from .distributed import DistributedContext, init_distributed

__all__ = ["ClipUnroller", "TrainResult", "noisy_color", "train", "validate"]


class ClipUnroller(nn.Module):
    """Streams clips through an :class:`SSRNet` with :func:`ssr.model.step`.

    Wrapping the whole unroll in one module gives DistributedDataParallel a single
    forward per backward.
    """

    def __init__(self, net: SSRNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, packed: Tensor, reset: Tensor, burn_in: int = 0) -> tuple[Tensor, Tensor]:
        """Denoise clips.

        Args:
            packed: ``[B, T, 19, H, W]`` packed frames.
            reset: ``[B, T]`` reset flags (1 at the first frame and at cuts).
            burn_in: the first ``burn_in`` frames are streamed without gradients and not
                returned (:class:`ssr.train.data.ClipBatch`).

        Returns:
            ``(colors [B, T - burn_in, 3, H, W] linear HDR, albedo_acc [B, 3, H, W] of the
            last frame)``.
        """
        batch, frames, _, height, width = packed.shape
        state = initial_state(batch, height, width, packed.device, packed.dtype)
        config = self.net.config
        with torch.no_grad():
            if config.history == "rule":
                # the rule core alone: the signal exactly as the network's steps would leave it
                # (it depends on no weight), the G-buffer and previous output as after a reset
                acc, prev_out = state
                for t in range(burn_in):
                    flags = reset_tensor(reset[:, t], batch, packed.device, packed.dtype)
                    acc, prev_out = core_step(acc, prev_out, packed[:, t], flags, config.history_cap,
                                              config.view_floor)
                state = StreamState(acc, prev_out)
            else:
                for t in range(burn_in):
                    _, state = step(self.net, packed[:, t], state, reset[:, t])
        colors = []
        for t in range(burn_in, frames):
            color, state = step(self.net, packed[:, t], state, reset[:, t])
            colors.append(color)
        return torch.stack(colors, dim=1), state.acc[:, SLICES["albedo"]]


@dataclass
class TrainResult:
    """What a call to :func:`train` achieved."""

    step: int
    finished: bool
    last_loss: dict[str, float] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)
    model_path: Path | None = None


def noisy_color(packed: Tensor) -> Tensor:
    """Re-modulated noisy input colour ``[B, 3, H, W]`` from packed planes (for previews)."""
    return torch.expm1(packed[:, SLICES["irradiance"]]) * (packed[:, SLICES["albedo"]] + ALBEDO_EPS)


@torch.no_grad()
def validate(
    net: SSRNet, sequences: Sequence[PackedSequence], device: torch.device, max_frames: int = 0
) -> tuple[dict[str, float], np.ndarray | None]:
    """Stream full validation sequences and score every frame as the benchmark does
    (:func:`ssr.evaluate.score_frame`, HDR-FLIP left out for speed): the mean over frames of
    each metric. ``best.pt`` is chosen by :data:`ssr.evaluate.SELECTION_METRIC` (PSNR on the
    benchmark's tone map, what ``ssr bench quality`` ranks by).

    Returns:
        ``({metric: mean, ..., "frames": n}, preview)`` where ``preview`` is a tone-mapped
        ``float32 [H, 3W, 3]`` (noisy | denoised | reference) of the first sequence's last
        validated frame, or None without sequences.
    """
    from ssr.evaluate import score_frame
    from ssr.metrics import MetricSet, tonemap_srgb

    chosen = MetricSet(flip=False, video=False)
    was_training = net.training
    net.eval()
    values: dict[str, list[float]] = {}
    frames_scored = 0
    preview: np.ndarray | None = None
    stream = StreamLoop(TorchBackend(net, device=str(device)))
    for index, seq in enumerate(sequences):
        frames = seq.frame_count if max_frames <= 0 else min(max_frames, seq.frame_count)
        stream.reset()  # every sequence starts a stream
        previous: tuple[np.ndarray, np.ndarray] | None = None
        for t in range(frames):
            cut = bool(seq.cuts[t])
            denoised = stream.step(seq.packed[t], cut=cut)
            reference = seq.reference[t].transpose(1, 2, 0)
            motion = seq.packed[t, SLICES["motion"]].transpose(1, 2, 0)
            scores = score_frame(denoised, reference, chosen, motion=motion,
                                 history=None if cut or previous is None else previous)
            for name, value in scores.items():
                if value is not None and math.isfinite(value):
                    values.setdefault(name, []).append(float(value))
            frames_scored += 1
            previous = (denoised, reference)
            if index == 0 and t == frames - 1:
                noisy = noisy_color(torch.from_numpy(seq.packed[t : t + 1]))[0].permute(1, 2, 0).numpy()
                preview = np.concatenate([tonemap_srgb(img) for img in (noisy, denoised, reference)], axis=1)
    net.train(was_training)
    if not frames_scored:
        return {}, None
    metrics = {name: float(np.mean(scores)) for name, scores in values.items()}
    metrics["frames"] = float(frames_scored)
    return metrics, preview


def _to_device(batch: ClipBatch, device: torch.device) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return tuple(torch.from_numpy(a).to(device) for a in (batch.packed, batch.reference, batch.reference_albedo, batch.reset))  # type: ignore[return-value]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _validation_paths(config: TrainConfig) -> list[Path]:
    """``<data>/val`` sequences, or those of ``--val-data`` (its ``val/`` split, or all)."""
    if config.val_data is None:
        return find_sequences(config.data, "val", config.scenes, config.skip_incomplete)
    root = Path(config.val_data)
    if (root / "val").is_dir():
        return find_sequences(root, "val", config.scenes, config.skip_incomplete)
    return list_sequences(root)


def _prepare_run_dir(config: TrainConfig, resume: bool) -> Path:
    run = config.run_dir
    last = run / LAST
    if resume and not last.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint {last} to resume from")
    if not resume and last.is_file():
        raise FileExistsError(f"{run} already holds a training run ({last}); pass --resume or choose another --out")
    return run


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    stop_at: int | None = None,
    train_sequences: Sequence[PackedSequence] | None = None,
    val_sequences: Sequence[PackedSequence] | None = None,
    progress: bool = True,
    time_limit: float | None = None,
    prefetch: bool | None = None,
) -> TrainResult:
    """Train (or resume training) an SSR network.

    Args:
        config: the run's configuration (on resume, pass the saved ``config.json``).
        resume: continue from ``<out>/last.pt``.
        stop_at: stop after this global step (a resumable interruption), before ``steps``.
        train_sequences, val_sequences: preloaded data; default: read ``config.data``.
        progress: show a tqdm bar (rank 0).
        time_limit: stop (resumably, with a checkpoint) after the first step that ends this
            many seconds after the loop started (data loading not counted); every process
            stops at the same step. For leased machines with a hard wall-clock limit.
        prefetch: draw the next batch of clips on a worker thread during each step
            (:class:`PrefetchingSampler`; the same clips, checkpoints and resumes). Default:
            on for CUDA devices, off on CPU, where both would compete for the same cores.

    Returns:
        :class:`TrainResult`.
    """
    ctx = init_distributed(config.device)
    try:
        return _train(ctx, config, resume, stop_at, train_sequences, val_sequences, progress, time_limit, prefetch)
    finally:
        ctx.shutdown()


def _train(
    ctx: DistributedContext,
    config: TrainConfig,
    resume: bool,
    stop_at: int | None,
    train_sequences: Sequence[PackedSequence] | None,
    val_sequences: Sequence[PackedSequence] | None,
    progress: bool,
    time_limit: float | None = None,
    prefetch: bool | None = None,
) -> TrainResult:
    from tqdm import tqdm

    run = _prepare_run_dir(config, resume)
    device = ctx.device
    if train_sequences is None:
        paths = find_sequences(config.data, "train", config.scenes, config.skip_incomplete)
        if not paths:
            raise FileNotFoundError(f"no training sequences found under {config.data}")
        train_sequences = load_sequences(paths, config.model.subpixel, config.num_workers, config.model.specular_floor)
    if val_sequences is None:
        val_paths = _validation_paths(config) if ctx.is_main else []
        val_sequences = (load_sequences(val_paths, config.model.subpixel, config.num_workers, config.model.specular_floor)
                         if ctx.is_main else [])

    _seed_everything(config.seed)
    net = SSRNet(config.model).to(device)
    unroller: nn.Module = ClipUnroller(net)
    if ctx.distributed:
        from torch.nn.parallel import DistributedDataParallel

        unroller = DistributedDataParallel(unroller, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, betas=(0.9, 0.999), eps=1e-8)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=config.milestones, gamma=0.5)
    sampler = ClipSampler(train_sequences, config.clip, config.crop, config.seed, rank=ctx.rank,
                          burn_in=config.burn_in)
    per_rank_batch = max(1, math.ceil(config.batch / ctx.world_size))

    global_step = 0
    best_psnr = -math.inf
    if resume:
        checkpoint = load_checkpoint(run / LAST, map_location=device)
        net.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        samplers = checkpoint["samplers"]
        if len(samplers) != ctx.world_size:
            raise ValueError(f"checkpoint was written by {len(samplers)} processes, resuming with {ctx.world_size}")
        sampler.load_state_dict(samplers[ctx.rank])
        restore_rng_state(checkpoint["rng"])
        global_step = int(checkpoint["step"])
        best_psnr = float(checkpoint.get("best_psnr", -math.inf))
    else:
        if config.init is not None:
            initial = load_model(config.init)
            # the view and specular floors and the history rule are not weights: a fine-tune may change them
            floors = {"view_floor": config.model.view_floor, "specular_floor": config.model.specular_floor,
                      "history": config.model.history, "history_cap": config.model.history_cap}
            if dataclasses.replace(initial.config, **floors) != config.model:
                raise ValueError(f"--init {config.init}: the weights are a {initial.config.to_dict()} model, "
                                 f"the run trains {config.model.to_dict()}")
            net.load_state_dict(initial.state_dict())
        if ctx.is_main:
            run.mkdir(parents=True, exist_ok=True)
            config.save(run / "config.json")
    ctx.barrier()

    writer = None
    if ctx.is_main:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=str(run / "tb"), purge_step=global_step if resume else None)

    use_prefetch = device.type == "cuda" if prefetch is None else prefetch
    prefetcher = PrefetchingSampler(sampler, per_rank_batch) if use_prefetch else None
    end_step = config.steps if stop_at is None else min(stop_at, config.steps)
    bar = tqdm(total=config.steps, initial=global_step, disable=not (progress and ctx.is_main), dynamic_ncols=True, desc="train")
    last_loss: dict[str, float] = {}
    validation: dict[str, float] = {}
    unroller.train()
    started = time.perf_counter()

    def write_checkpoint(is_best: bool, is_snapshot: bool = False) -> None:
        sampler_states = ctx.gather_objects((prefetcher or sampler).state_dict())
        if not ctx.is_main:
            return
        payload = {
            "step": global_step,
            "model": net.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": capture_rng_state(),
            "samplers": sampler_states,
            "best_psnr": best_psnr,
            "config": config.to_dict(),
        }
        save_checkpoint(run / LAST, payload)
        if is_best:
            save_checkpoint(run / BEST, payload)
        if is_snapshot:
            save_checkpoint(run / snapshot_name(global_step), payload)

    def run_validation() -> tuple[dict[str, float], bool]:
        nonlocal best_psnr
        if not ctx.is_main or not val_sequences:
            return {}, False
        metrics, preview = validate(net, val_sequences, device, config.val_frames)
        improved = metrics.get(SELECTION_METRIC, -math.inf) > best_psnr  # best_psnr: of SELECTION_METRIC
        if improved:
            best_psnr = metrics[SELECTION_METRIC]
        assert writer is not None
        for name, value in metrics.items():
            writer.add_scalar(f"val/{name}", value, global_step)
        if preview is not None:
            writer.add_image("val/noisy_denoised_reference", preview, global_step, dataformats="HWC")
        with open(run / "val.jsonl", "a") as handle:
            handle.write(json.dumps({"step": global_step, **metrics}) + "\n")
        return metrics, improved

    while global_step < end_step:
        clips = prefetcher.sample() if prefetcher is not None else sampler.sample(per_rank_batch)
        packed, reference, reference_albedo, reset = _to_device(clips, device)
        lead = clips.burn_in  # frames streamed without gradients before the loss frames
        colors, albedo_acc = unroller(packed, reset, lead)
        losses = clip_loss(colors, reference[:, lead:], packed[:, lead:, SLICES["motion"]], albedo_acc,
                           reference_albedo[:, -1], spatial_kind=config.spatial_loss)
        optimizer.zero_grad(set_to_none=True)
        losses.total.backward()
        optimizer.step()
        scheduler.step()
        global_step += 1
        last_loss = losses.scalars()
        bar.update(1)
        bar.set_postfix(loss=f"{last_loss['total']:.4f}")
        if writer is not None and (global_step % max(1, config.log_every) == 0 or global_step == end_step):
            for name, value in last_loss.items():
                writer.add_scalar(f"train/{name}", value, global_step)
            writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], global_step)
        is_val_step = config.val_every > 0 and global_step % config.val_every == 0
        is_ckpt_step = config.checkpoint_every > 0 and global_step % config.checkpoint_every == 0
        is_snap_step = config.snapshot_every > 0 and global_step % config.snapshot_every == 0
        out_of_time = time_limit is not None and ctx.broadcast_object(time.perf_counter() - started >= time_limit)
        if is_val_step or is_ckpt_step or is_snap_step or global_step == end_step or out_of_time:
            improved = False
            if is_val_step or global_step == config.steps:
                validation, improved = run_validation()
            write_checkpoint(improved, is_snap_step)
        if out_of_time:
            if ctx.is_main:
                tqdm.write(f"time limit of {time_limit:.0f} s reached at step {global_step}")
            break
    bar.close()
    if prefetcher is not None:
        prefetcher.close()

    finished = global_step >= config.steps
    model_path: Path | None = None
    if finished and ctx.is_main:
        metadata: dict[str, Any] = {
            "steps": global_step,
            "validation": validation,
            "train_loss": last_loss,
            "train_config": config.to_dict(),
            "seconds": time.perf_counter() - started,
        }
        model_path = save_model(net, run / "model", metadata=metadata)
    if writer is not None:
        writer.close()
    ctx.barrier()
    return TrainResult(global_step, finished, last_loss, validation, model_path)
