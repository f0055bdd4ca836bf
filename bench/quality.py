"""Image quality of SSR against the denoisers a user would otherwise pick (issue 7 protocol).

``ssr bench quality`` streams every sequence once and scores, on every frame and against
the same ``reference``, each method of :data:`METHODS`:

- ``ssr``: our network on the 1/4-spp subpixel input (one traced sample per 2x2 tile),
  through :class:`ssr.streaming.StreamLoop` (what ``ssr denoise`` runs; history reset at cuts);
- ``oidn_high`` / ``oidn_fast``: Intel Open Image Denoise (``RT`` filter, HDR, albedo +
  normal) on the 1-spp colour at every pixel, i.e. **4x** SSR's traced samples, each frame
  on its own (OIDN has no temporal state);
- ``oidn_halfres``: OIDN high on the half-resolution image of the traced samples alone
  (the traced pixel of every 2x2 tile with its albedo and normal; SSR's samples, nothing
  more), upscaled 2x bilinearly: the trivial pipeline SSR must beat;
- ``svgf``: the non-learned SVGF-style temporal filter (:mod:`ssr.bench.svgf`) on SSR's
  1/4-spp input, history reset at cuts;
- ``input``: the raw 1-spp colour (no denoising).

Per frame: :func:`ssr.metrics.compute_frame_metrics` (PSNR / SSIM / RMSE in linear and
ACES+sRGB space, PSNR on ``clip + gamma 2.2``, relMSE, HDR-FLIP) and the warped temporal
error (undefined at a stream's first frame and at cuts), aggregated as ``ssr eval`` does
(per-sequence phase means, then the mean over sequences). Per sequence and method also the
FovVideoVDP video score in JOD (:func:`ssr.metrics.fovvideovdp_jod`; "all" phase only).
Per method also the per-material bias table (:mod:`ssr.bench.materials`) and the per-frame curves. With an
output folder: ``curves.png`` (mean PSNR by frame index), one contact sheet per sequence
(``sheets/<sequence>.png``: the inputs, every method and the reference, two zoomed crops where
SSR and OIDN high differ most), per-panel PNGs, FLIP maps and an animated crop
(:mod:`ssr.bench.figures`) and ``index.html`` (:mod:`ssr.bench.html_report`). It also times one frame of each method on this machine
(SSR: the network forward in eager PyTorch; OIDN: its optimized CPU filter).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence as Seq

import numpy as np

from ssr.evaluate import (
    AFTER_CUT_FRAMES,
    COLUMN_TITLES,
    CONVERGED_FRAMES,
    CutClock,
    average_over_sequences,
    format_value,
    json_ready,
    metric_decimals,
    phase_means,
    score_frame,
)
from ssr.metrics import HIGHER_IS_BETTER, TEMPORAL_METRIC, VIDEO_METRIC, MetricSet, fovvideovdp_jod

from .figures import SequenceFigures
from .materials import DISPLAY_MAX, MATERIALS, BiasAccumulator, material_classes
from .svgf import SvgfDenoiser


class ExportedGraph:
    """A variant scored through ONNX Runtime, the path users deploy (``ssr bench quality
    --variants name=model.onnx``: an ``ssr export`` graph, e.g. ``--pixel-stages native
    --int8``), streamed on the same frames as the torch models.

    Attributes:
        path: the graph.
        backend: its :class:`ssr.runtime.onnx_backend.OnnxBackend` (one session for every sequence).
        config: the model config the graph's metadata records.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from ssr.model.config import ModelConfig
        from ssr.runtime.onnx_backend import OnnxBackend

        self.path = Path(path)
        self.backend = OnnxBackend(self.path)
        recorded = self.backend._metadata_model_config()
        if not recorded:
            raise ValueError(f"{self.path}: the graph carries no 'ssr.model_config' metadata (re-export it with "
                             "`ssr export`)")
        self.config = ModelConfig.from_dict(recorded)

__all__ = [
    "CURVE_METRIC",
    "HEADLINE_METRICS",
    "METHODS",
    "SCORED_LAYERS",
    "format_quality_markdown",
    "half_resolution_traced",
    "quality_report",
    "write_quality_report",
]

METHODS: tuple[str, ...] = ("ssr", "oidn_high", "oidn_fast", "oidn_halfres", "svgf", "input")
"""Keys of the compared methods in the report, in table order."""
PEER_OF_RECORD = "oidn_high"
"""The peer the ``ssr_minus_oidn`` difference (and the issue-7 goal) is taken against."""
HEADLINE_METRICS: tuple[str, ...] = ("psnr_srgb", "psnr_gamma", "ssim_srgb", "flip_hdr", "relmse", "lowfreq_rmse_srgb",
                                     TEMPORAL_METRIC, VIDEO_METRIC)
"""Metrics shown in the Markdown tables (report.json holds every metric)."""
CURVE_METRIC = "psnr_gamma"
WINDOWS: tuple[tuple[int, int | None], ...] = ((0, 4), (4, 8), (8, 16), (16, 24), (24, 32), (32, 64), (64, None))
"""Windows of frames since the last cut, ``[start, stop)``, of the ``windows`` table: how a
method's score grows with the history a long stream has gathered."""
WINDOW_METRICS = ("psnr_srgb", "psnr_gamma")
LABELS: dict[str, str] = {
    "ssr": "SSR (ours), 1/4 spp",
    "oidn_high": "OIDN high, 1 spp (4x)",
    "oidn_fast": "OIDN fast, 1 spp (4x)",
    "oidn_halfres": "OIDN high, 1/4 spp half-res, upscaled",
    "svgf": "SVGF-style filter, 1/4 spp",
    "input": "Input, 1 spp, not denoised",
}
TRACED_SPP: dict[str, float] = {"ssr": 0.25, "oidn_high": 1.0, "oidn_fast": 1.0, "oidn_halfres": 0.25,
                                "svgf": 0.25, "input": 1.0}
STREAMING = ("ssr", "svgf")
"""Methods with a history (scored in frame order, reset at cuts)."""
SHEET_CROP = 48
SCORED_LAYERS = ("color", "albedo", "normal", "depth", "roughness", "metallic", "shadow", "transparent", "motion",
                 "reference")
"""The layers a scored frame is read with: the peers' inputs, the material classes' G-buffers
and the reference (the network's input is these after the subpixel pattern)."""


def _machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}"


def _median_ms(samples: list[float]) -> float | None:
    return statistics.median(samples) * 1e3 if samples else None


class _ForwardTimer:
    """Times every ``SSRNet.forward`` call through module hooks (no copy of the loop)."""

    def __init__(self, net: Any, device: Any) -> None:
        import torch

        self._sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
        self.samples: list[float] = []
        self._start = 0.0
        self._handles = [net.register_forward_pre_hook(self._pre), net.register_forward_hook(self._post)]

    def _pre(self, *_: Any) -> None:
        self._sync()
        self._start = time.perf_counter()

    def _post(self, *_: Any) -> None:
        self._sync()
        self.samples.append(time.perf_counter() - self._start)

    def take(self) -> list[float]:
        samples, self.samples = self.samples, []
        return samples

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def half_resolution_traced(frame: Mapping[str, np.ndarray], index: int) -> dict[str, np.ndarray]:
    """The traced pixel of every 2x2 tile of frame ``index`` (``subpixel_mask``'s pattern):
    ``color``, ``albedo``, ``normal`` at ``[ceil-or-floor(H/2), .../2, 3]``."""
    from ssr.data_tools.contract import PATTERN

    dx, dy = PATTERN[index % 4]
    return {name: np.ascontiguousarray(frame[name][dy::2, dx::2]) for name in ("color", "albedo", "normal")}


def _upscale(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize ``[h, w, 3]`` -> ``[height, width, 3]`` (``align_corners=False``)."""
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    resized = F.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False)
    return resized[0].permute(1, 2, 0).contiguous().numpy()


def _difference(ssr: Mapping[str, Any] | None, oidn: Mapping[str, Any] | None,
                names: Iterable[str]) -> dict[str, Any] | None:
    """``{metric: ssr - oidn}`` plus ``better: {metric: "ssr" | "oidn" | "tie"}``."""
    if ssr is None or oidn is None:
        return None
    delta: dict[str, Any] = {}
    better: dict[str, str | None] = {}
    for name in names:
        a, b = ssr.get(name), oidn.get(name)
        if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
            delta[name], better[name] = None, None
            continue
        delta[name] = a - b
        if a == b:
            better[name] = "tie"
        else:
            better[name] = "ssr" if (a > b) == HIGHER_IS_BETTER[name] else "oidn"
    return {**delta, "better": better}


class _Peers:
    """The non-streaming methods: ``name -> (frame, index) -> linear [H, W, 3]`` and their timings."""

    def __init__(self, methods: Seq[str]) -> None:
        from .peers import OidnDenoiser

        self.denoisers: dict[str, Any] = {}
        wanted = {"oidn_high": "high", "oidn_fast": "fast", "oidn_halfres": "high"}
        for name, quality in wanted.items():
            if name in methods and quality not in self.denoisers:
                self.denoisers[quality] = OidnDenoiser(quality)  # fails early without pyoidn
        self.seconds: dict[str, list[float]] = {name: [] for name in methods if not _is_network(name)}
        self.methods = [m for m in methods if m not in STREAMING]

    def run(self, name: str, frame: Mapping[str, np.ndarray], index: int) -> np.ndarray:
        start = time.perf_counter()
        if name == "input":
            return frame["color"]
        if name == "oidn_halfres":
            half = half_resolution_traced(frame, index)
            denoised = self.denoisers["high"](half["color"], half["albedo"], half["normal"])
            output = _upscale(denoised, *frame["color"].shape[:2])
        else:
            output = self.denoisers[name.split("_")[1]](frame["color"], frame["albedo"], frame["normal"])
        self.seconds[name].append(time.perf_counter() - start)
        return output

    def close(self) -> None:
        for denoiser in self.denoisers.values():
            denoiser.close()


def _sheet_panels(frame: Mapping[str, np.ndarray], index: int, outputs: Mapping[str, np.ndarray],
                  labels: Mapping[str, str]) -> list[tuple[str, np.ndarray]]:
    from ssr.data_tools.format import apply_subpixel_pattern

    quarter = apply_subpixel_pattern({"color": frame["color"]}, index)["color"]
    panels = [("input 1/4 spp", quarter), ("input 1 spp", frame["color"])]
    panels += [(labels[name].split(",")[0] if name != "oidn_halfres" else "OIDN half-res 1/4 spp", image)
               for name, image in outputs.items() if name != "input"]
    return panels + [("reference", frame["reference"])]


def _write_history_maps(streams: Mapping[str, Any], out_dir: Path, sequence: str, index: int,
                        configs: Mapping[str, Any], size: tuple[int, int]) -> None:
    """``figures/<sequence>/history_<method>.png``: each network's per-pixel history length at
    the sheet frame: the sample count ``N`` of a ``history="rule"`` model (0 .. its cap), the
    TFA's blended traced mask ``A_mask`` (0 .. 1) of a ``history="learned"`` one."""
    from ssr.data_tools.contract import SLICES

    from .figures import panel_slug
    from .plot import write_count_map

    for name, stream in streams.items():
        state, backend = stream.state, stream.backend
        graph = hasattr(backend, "state_arrays")  # ONNX Runtime: the state lives in its padded buffers
        config = getattr(getattr(backend, "model", None), "config", None)
        if graph:
            config = configs.get(name)
        if state is None or config is None or config.arch != "ssr":
            continue
        if graph:
            plane = backend.state_arrays(state)[0][0, SLICES["mask"].start, :size[0], :size[1]].copy()
        else:
            plane = state.acc[0, SLICES["mask"]][0].float().cpu().numpy()
        rule = config.history == "rule"
        write_count_map(plane, config.history_cap if rule else 1.0,
                        out_dir / "figures" / sequence / f"history_{panel_slug(name)}.png",
                        title=f"{sequence} frame {index}, {name}: " + ("samples N" if rule else "A_mask"))


def _window_means(entries: Seq[Mapping[str, Any]], method: str, metric: str) -> list[float | None]:
    """Per :data:`WINDOWS` window, the mean over sequences of each sequence's mean ``metric``
    over its frames in the window (None where no sequence has one)."""
    out: list[float | None] = []
    for start, stop in WINDOWS:
        means = []
        for entry in entries:
            values = [r[method][metric] for r in entry["per_frame"]
                      if r["frames_since_cut"] >= start and (stop is None or r["frames_since_cut"] < stop)
                      and r[method].get(metric) is not None and np.isfinite(r[method][metric])]
            if values:
                means.append(float(np.mean(values)))
        out.append(float(np.mean(means)) if means else None)
    return out


def _is_network(name: str) -> bool:
    return name == "ssr" or name.startswith("ssr:")


def _score_sequence(path: Path, nets: Mapping[str, Any], device: str, methods: Seq[str], labels: Mapping[str, str],
                    peers: _Peers, metrics: MetricSet,
                    max_frames: int | None, progress: bool | None, timer: _ForwardTimer,
                    out_dir: Path | None,
                    sheet_frame: int | None) -> tuple[dict[str, Any], dict[str, BiasAccumulator]]:
    from tqdm import tqdm

    from ssr.data_tools.format import Sequence, apply_subpixel_pattern
    from ssr.streaming import StreamLoop, TorchBackend

    sequence = Sequence(path, apply_pattern=False)
    if sequence.sampling != "full":
        raise ValueError(f"{path}: bench quality needs sequences stored with every pixel traced "
                         f"(sampling: full), got sampling: {sequence.sampling}")
    frame_total = len(sequence) if max_frames is None else min(len(sequence), max_frames)
    chosen_sheet = min(frame_total - 1, sheet_frame if sheet_frame is not None else frame_total - 1)
    figures = SequenceFigures(out_dir, sequence.name, crop_size=SHEET_CROP) if out_dir is not None else None
    names = metrics.names() + (TEMPORAL_METRIC,)
    videos: dict[str, list[np.ndarray]] | None = {name: [] for name in (*methods, "reference")} if metrics.video else None
    streams = {name: StreamLoop(net.backend if isinstance(net, ExportedGraph) else TorchBackend(net, device=device))
               for name, net in nets.items()}
    svgf = SvgfDenoiser() if "svgf" in methods else None
    bias = {name: BiasAccumulator() for name in methods}
    records: list[dict[str, Any]] = []
    previous: dict[str, np.ndarray] | None = None
    clock = CutClock()
    bar = tqdm(range(frame_total), desc=f"quality {sequence.name}", unit="frame",
               disable=None if progress is None else not progress)
    for index in bar:
        frame = sequence.read_frame(index, SCORED_LAYERS)
        reference = frame["reference"]
        cut = sequence.is_cut(index)
        outputs: dict[str, np.ndarray] = {}
        for name in methods:
            if _is_network(name):
                net_input = apply_subpixel_pattern(frame, index) if nets[name].config.subpixel else frame
                outputs[name] = streams[name].denoise(net_input, cut=cut)
            elif name == "svgf" and svgf is not None:
                quarter = apply_subpixel_pattern(frame, index)
                start = time.perf_counter()
                outputs[name] = svgf(quarter, quarter["mask"], cut=cut)
                peers.seconds["svgf"].append(time.perf_counter() - start)
            else:
                outputs[name] = peers.run(name, frame, index)
        classes = material_classes(frame)
        record: dict[str, Any] = clock.tick(index, cut=cut)
        has_history = previous is not None and not cut
        for name, output in outputs.items():
            record[name] = score_frame(output, reference, metrics, motion=frame["motion"],
                                       history=(previous[name], previous["reference"]) if has_history else None)
            bias[name].add(output, reference, classes)
        records.append(record)
        previous = {**outputs, "reference": reference}
        if videos is not None:
            for name, image in previous.items():
                videos[name].append(np.clip(image, 0.0, 6.0e4).astype(np.float16))  # display only
        if figures is not None and index == chosen_sheet and out_dir is not None:
            _write_history_maps(streams, out_dir, sequence.name, index, {n: net.config for n, net in nets.items()},
                                reference.shape[:2])
        if figures is not None:
            figures.add(_sheet_panels(frame, index, outputs, labels), sheet=index == chosen_sheet,
                        ours=outputs.get("ssr", frame["color"]), peer=outputs.get(PEER_OF_RECORD, frame["color"]))
    forward = timer.take()
    scored = {name: phase_means(records, name, names) for name in methods}
    if videos is not None:
        reference_video = np.stack(videos["reference"]).astype(np.float32)
        for name in methods:
            jod = fovvideovdp_jod(np.stack(videos[name]).astype(np.float32), reference_video,
                                  exposure=metrics.exposure)
            for phase, block in scored[name].items():
                block[VIDEO_METRIC] = jod if phase == "all" else None  # one score per whole sequence
    entry = {
        "name": sequence.name, "path": str(sequence.path), "width": sequence.width, "height": sequence.height,
        "cuts": [c for c in sequence.cuts if c < frame_total], "frames": frame_total,
        "network_input": "subpixel-2x2" if nets["ssr"].config.subpixel else "1-spp full",
        **scored,
        "bias": {name: bias[name].table() for name in methods},
        "per_frame": records,
        "figures": figures.finish() if figures is not None else None,
        "_forward": forward,
    }
    entry["ssr_minus_oidn"] = (_difference(entry["ssr"]["all"], entry[PEER_OF_RECORD]["all"], names)
                               if "ssr" in methods and PEER_OF_RECORD in methods else None)
    return entry, bias


def quality_report(
    model: Any,
    sequences: Iterable[str | Path],
    *,
    device: str = "cpu",
    metrics: MetricSet | None = None,
    max_frames: int | None = None,
    methods: Seq[str] = METHODS,
    progress: bool | None = False,
    out_dir: str | Path | None = None,
    sheet_frame: int | None = None,
    variants: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Score every method of ``methods`` on every sequence (see the module docstring).

    Args:
        model: an :class:`ssr.model.SSRNet`, a weights path, or None (bundled model).
        sequences: ssr-seq sequence folders stored with every pixel traced.
        device: torch device of the network (OIDN always runs on its CPU device).
        metrics: per-frame metrics (default: all, HDR-FLIP included).
        max_frames: only the first N frames of each sequence.
        methods: a subset of :data:`METHODS` (``ssr`` first when present).
        progress: tqdm bars (None: only on a terminal).
        out_dir: where contact sheets go (``sheets/<name>.png``); None writes none.
        sheet_frame: the frame of each sequence on its sheet (default: the last scored).
        variants: more networks scored in the same run (``{name: SSRNet or weights path}``:
            ablations, other recipes, the RAE baseline), reported as methods ``ssr:<name>`` after
            ``ssr`` and labelled "SSR <name>" (a baseline architecture: "RAE <name>").

    Returns:
        A JSON-ready dict (docs/evaluation.md): ``sequences`` (per sequence: per-method
        phase means, ``bias`` tables, ``ssr_minus_oidn`` against OIDN high, ``timing``,
        ``per_frame``), ``average`` (mean over sequences per method), ``bias`` (pooled over
        every frame of every sequence), ``curves`` (mean :data:`CURVE_METRIC` by frame
        index), ``ssr_minus_oidn`` (on the averages) and ``timing``.
    """
    import torch

    from ssr.model import load_model

    from .peers import oidn_version

    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"bench quality: methods must be a non-empty subset of {', '.join(METHODS)}, got {unknown}")
    methods = [m for m in METHODS if m in methods]
    if "ssr" not in methods:
        raise ValueError("bench quality: methods must include ssr (the model under test)")
    variant_keys = [f"ssr:{name}" for name in (variants or {})]
    methods = methods[:1] + variant_keys + methods[1:]
    labels = {**{m: LABELS[m] for m in methods if m in LABELS},
              **{key: f"SSR {key[4:]}, 1/4 spp" for key in variant_keys}}
    chosen = metrics or MetricSet()
    names = chosen.names() + (TEMPORAL_METRIC,) + ((VIDEO_METRIC,) if chosen.video else ())
    paths = [Path(p) for p in sequences]
    if not paths:
        raise ValueError("bench quality: no sequences to score")
    peers = _Peers(methods)
    torch_device = torch.device(device)
    model_sha256: str | None = None  # matches `ssr bench fps` rows of graphs exported from these weights
    if model is None or isinstance(model, (str, os.PathLike)):
        import hashlib

        from ssr.model.weights import weights_file

        model_label = "bundled default" if model is None else str(model)
        net = load_model(model, device=torch_device)
        model_sha256 = hashlib.sha256(weights_file(model).read_bytes()).hexdigest()
    else:
        model_label = type(model).__name__
        net = model
    nets = {"ssr": net}
    for name, variant in (variants or {}).items():
        if isinstance(variant, (str, os.PathLike)) and str(variant).endswith(".onnx"):
            variant_net: Any = ExportedGraph(variant)
            labels[f"ssr:{name}"] = f"SSR {name} (ONNX Runtime), 1/4 spp"
        else:
            variant_net = (load_model(variant, device=torch_device)
                           if variant is None or isinstance(variant, (str, os.PathLike)) else variant)
        nets[f"ssr:{name}"] = variant_net
        if variant_net.config.arch != "ssr":  # a baseline architecture, e.g. the RAE
            labels[f"ssr:{name}"] = f"{variant_net.config.arch.upper()} {name}, 1/4 spp"
    entries: list[dict[str, Any]] = []
    pooled = {name: BiasAccumulator() for name in methods}
    ssr_seconds: list[float] = []
    timer = _ForwardTimer(net, torch_device)
    try:
        for path in paths:
            entry, bias = _score_sequence(path, nets, device, methods, labels, peers, chosen, max_frames, progress,
                                          timer, None if out_dir is None else Path(out_dir), sheet_frame)
            forward = entry.pop("_forward")
            if not ssr_seconds and len(forward) > 1:
                forward = forward[1:]  # the run's first call (kernel selection) is warm-up
            ssr_seconds += forward
            entry["timing"] = {"ssr_ms": _median_ms(forward)}
            for name in methods:
                pooled[name].merge(bias[name])
            entries.append(entry)
    finally:
        timer.remove()
        peers.close()

    average = {method: average_over_sequences(entries, method, names) for method in methods}
    longest = max(e["frames"] for e in entries)
    curves = {}
    for method in methods:
        curve = []
        for index in range(longest):
            values = [r[method][CURVE_METRIC] for e in entries for r in e["per_frame"]
                      if r["frame"] == index and CURVE_METRIC in r[method]]
            curve.append(float(np.mean(values)) if values else None)
        curves[method] = curve
    windows = {metric: {method: _window_means(entries, method, metric) for method in methods}
               for metric in WINDOW_METRICS if metric in names}
    peer_timing = {name: _median_ms(seconds[1:] if len(seconds) > 1 else seconds)
                   for name, seconds in peers.seconds.items() if name != "input"}
    return {
        "what": "quality",
        "model": model_label,
        "model_sha256": model_sha256,
        "model_config": net.config.to_dict(),
        "variants": {key: {"model": str((variants or {})[key[4:]]) if isinstance((variants or {})[key[4:]], (str, os.PathLike))
                           else type(nets[key]).__name__, "model_config": nets[key].config.to_dict()}
                     for key in variant_keys},
        "device": str(torch_device),
        "methods": methods,
        "labels": labels,
        "traced_spp": {m: TRACED_SPP.get(m, 0.25) for m in methods},
        "metrics": list(names),
        "headline_metrics": [n for n in HEADLINE_METRICS if n in names],
        "higher_is_better": {name: HIGHER_IS_BETTER[name] for name in names},
        "after_cut_frames": AFTER_CUT_FRAMES,
        "tonemap_exposure": chosen.exposure,
        "peer_of_record": PEER_OF_RECORD,
        "oidn": {"version": oidn_version(), "device": "cpu", "filter": "RT", "hdr": True,
                 "aux": "albedo + normal, not declared clean"},
        "materials": list(MATERIALS),
        "sequences": entries,
        "average": average,
        "bias": {name: pooled[name].table() for name in methods},
        "bias_display": {name: pooled[name].table("display") for name in methods},
        "curves": {"metric": CURVE_METRIC, "by_frame": curves},
        "windows": {"frames_since_cut": [list(w) for w in WINDOWS], "by_metric": windows},
        "sheets": [e["figures"]["sheet"] for e in entries if e["figures"] and e["figures"]["sheet"]],
        "ssr_minus_oidn": {
            phase: (_difference(average["ssr"][phase], average[PEER_OF_RECORD][phase], names)
                    if "ssr" in methods and PEER_OF_RECORD in methods else None)
            for phase in ("all", "after_cut", "steady", "converged")
        },
        "timing": {
            "machine": _machine(),
            "ssr_ms_per_frame": _median_ms(ssr_seconds),
            "ssr_frames_timed": len(ssr_seconds),
            "ssr_path": f"eager PyTorch {torch.__version__} on {torch_device}, {torch.get_num_threads()} threads; "
                        "network forward only (packing, I/O and metrics excluded)",
            "peers_ms_per_frame": peer_timing,
            "peer_path": "OIDN optimized CPU device (all cores, automatic thread count); filter execute incl. "
                         "input copy (half-res: plus the bilinear upscale); SVGF: eager PyTorch, "
                         f"{torch.get_num_threads()} threads",
            "statistic": "median over all frames of all sequences (each method's first frame left out: warm-up)",
        },
    }


# ----------------------------------------------------------------------------- Markdown


def _signed(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:+.{metric_decimals(name)}f}"


def _header(first: list[str], names: list[str], extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    arrows = {True: " ↑", False: " ↓"}
    cells = first + [COLUMN_TITLES.get(n, n) + arrows[HIGHER_IS_BETTER[n]] for n in names] + list(extra)
    aligns = ["---"] * len(first) + ["---:"] * (len(names) + len(extra))
    return ["| " + " | ".join(cells) + " |", "|" + "|".join(aligns) + "|"]


def _row(cells: list[str], names: list[str], values: Mapping[str, Any] | None,
         extra: tuple[str, ...] | list[str] = ()) -> str:
    shown = [format_value(n, None if values is None else values.get(n)) for n in names]
    return "| " + " | ".join(cells + shown + list(extra)) + " |"


def _bias_cell(block: Mapping[str, Any] | None) -> str:
    if not block or block.get("ratio") is None:
        return "-"
    r, g, b = block["ratio"]
    return f"{r:.2f} / {g:.2f} / {b:.2f}"


def _bias_table(intro: str, tables: Mapping[str, Any], methods: Seq[str], labels: Mapping[str, str],
                materials: Seq[str]) -> list[str]:
    """One bias table in Markdown: ``intro`` followed by the pixel count per class, the header
    and a row per method (R / G / B per class, the worst deviation)."""
    counts = ", ".join(f"{m} {tables[methods[0]][m]['pixels']}" for m in materials)
    lines = [f"{intro} Pixels per class: {counts}.", "",
             "| Method | " + " | ".join(materials) + " | worst |", "|---|" + "---:|" * (len(materials) + 1)]
    for method in methods:
        table = tables[method]
        worst = [table[m]["worst"] for m in materials if table[m]["worst"] is not None]
        cells = " | ".join(_bias_cell(table[m]) for m in materials)
        lines.append(f"| {labels[method]} | {cells} | " + (f"{max(worst):.0%} |" if worst else "- |"))
    return lines


def format_quality_markdown(report: Mapping[str, Any]) -> str:
    """The quality report as Markdown: averages, bias table, per-frame curve, per-sequence rows, timing."""
    names = list(report["headline_metrics"])
    methods = list(report["methods"])
    labels = report["labels"]
    timing = report["timing"]
    ms = {"ssr": timing["ssr_ms_per_frame"], **timing["peers_ms_per_frame"]}
    sequences = report["sequences"]
    frames = sum(s["frames"] for s in sequences)
    sizes = ", ".join(sorted({f"{s['width']}x{s['height']}" for s in sequences}))
    peer = report["peer_of_record"]
    lines = [
        "# SSR vs Intel Open Image Denoise and the other peers",
        "",
        f"Model `{report['model']}` on {report['device']}; {len(sequences)} sequence(s), {frames} frame(s), "
        f"{sizes}. SSR sees 1/4 spp; OIDN "
        f"{report['oidn']['version']} (`RT`, HDR, albedo + normal) denoises the 1-spp colour (4x the samples) "
        "frame by frame; OIDN half-res denoises SSR's own traced samples as a half-resolution image and "
        "upscales it. sRGB = ACES + sRGB tone map; γ2.2 = `clip(x, 0, 1) ** (1/2.2)`; Temporal = warped "
        "frame-difference error vs the reference's (docs/evaluation.md).",
        "",
        "## Average over sequences, all frames",
        "",
        *_header(["Method", "traced spp"], names, ["ms / frame"]),
    ]
    for method in methods:
        block = report["average"][method]
        lines.append(_row([labels[method], f"{report['traced_spp'][method]:g}"], names,
                          block["all"] if block else None,
                          [f"{ms[method]:.1f}" if ms.get(method) is not None else "-"]))
    diff = report["ssr_minus_oidn"]["all"]
    if diff is not None:
        lines.append(f"| **SSR − {labels[peer].split(',')[0]}** | | "
                     + " | ".join(_signed(n, diff.get(n)) for n in names) + " | |")
    per_frame = [n for n in names if n != VIDEO_METRIC]  # the video score is per whole sequence
    for phase, title in (("steady", f"steady-state frames (frames since cut >= {report['after_cut_frames']})"),
                         ("converged", f"converged frames (frames since cut >= {CONVERGED_FRAMES})")):
        phase_methods = [m for m in methods
                         if report["average"][m] and report["average"][m].get(phase, {}).get("frames", 0) > 0]
        if not phase_methods:
            continue
        lines += ["", f"## Average, {title}", "", *_header(["Method", "frames"], per_frame)]
        for method in phase_methods:
            block = report["average"][method][phase]
            lines.append(_row([labels[method], str(block["frames"])], per_frame, block))
        diff = report["ssr_minus_oidn"].get(phase)
        if diff is not None:
            lines.append("| **SSR − OIDN high** | | " + " | ".join(_signed(n, diff.get(n)) for n in per_frame) + " |")
    speed = report.get("speed")
    if speed:
        sizes = sorted({size for row in speed["ms_per_frame"].values() for size in row},
                       key=lambda size: int(size.split("x")[0]) * int(size.split("x")[1]))
        lines += ["", f"## Speed: full streaming path, ms per frame (`ssr bench fps`, {speed['source']})", "",
                  "| Method | " + " | ".join(sizes) + " |", "|---|" + "---:|" * len(sizes)]
        for method in methods:
            # variants are not timed: `ssr bench fps` runs one model (its --model)
            row = {} if method.startswith("ssr:") else speed["ms_per_frame"].get(method, {})
            if row:
                lines.append(f"| {labels[method]} | " + " | ".join(
                    f"{row[size]:.1f}" if size in row else "-" for size in sizes) + " |")
    lines += ["", "## Colour bias by material (mean output / mean reference, R / G / B; 1.00 = unbiased)", ""]
    lines += _bias_table("Pooled over every frame of every sequence; classes from the G-buffers (docs/evaluation.md).",
                         report["bias"], methods, labels, report["materials"])
    if "bias_display" in report:  # reports written before the display-range table lack it
        lines += [""] + _bias_table(
            f"Display range only: pixels whose reference is <= {DISPLAY_MAX:g} in every channel (what "
            "`clip + gamma 2.2` shows unclipped; the table above is dominated by HDR highlights).",
            report["bias_display"], methods, labels, report["materials"])
    for metric, rows in report.get("windows", {}).get("by_metric", {}).items():
        spans = [f"{a}-{b - 1}" if b is not None else f"{a}+" for a, b in report["windows"]["frames_since_cut"]]
        lines += ["", f"## {COLUMN_TITLES.get(metric, metric)} by frames since the last cut (mean over sequences)", "",
                  "| Method | " + " | ".join(spans) + " |", "|---|" + "---:|" * len(spans)]
        for method, values in rows.items():
            lines.append(f"| {labels[method]} | " + " | ".join("-" if v is None else f"{v:.2f}" for v in values) + " |")
    curve = report["curves"]
    lines += ["", f"## {COLUMN_TITLES.get(curve['metric'], curve['metric'])} by frame index (mean over sequences)",
              "", "| Method | " + " | ".join(str(i) for i in range(len(next(iter(curve["by_frame"].values())))))
              + " |", "|---|" + "---:|" * len(next(iter(curve["by_frame"].values())))]
    for method, values in curve["by_frame"].items():
        lines.append(f"| {labels[method]} | " + " | ".join("-" if v is None else f"{v:.2f}" for v in values) + " |")
    lines += ["", "## Per sequence, all frames", "", *_header(["Sequence", "Method"], names)]
    for entry in sequences:
        for method in methods:
            block = entry[method]
            lines.append(_row([entry["name"], labels[method]], names, block["all"] if block else None))
        diff = entry["ssr_minus_oidn"]
        if diff is not None:
            lines.append(f"| {entry['name']} | **SSR − OIDN high** | "
                         + " | ".join(_signed(n, diff.get(n)) for n in names) + " |")
    if report["sheets"]:
        lines += ["", "## Contact sheets", "",
                  "Per sequence also full-size panels, HDR-FLIP maps and an animated crop (`figures/`), tied "
                  "together in `index.html` (open it from disk).", ""]
        lines += [f"- [{Path(s).stem}]({s})" for s in report["sheets"]]
    lines += [
        "",
        "## Time per frame on this machine",
        "",
        f"{timing['machine']}; {timing['statistic']}. Not an engine-to-engine comparison: OIDN runs its "
        "optimized CPU path, SSR runs eager PyTorch (the deployable ONNX Runtime / TensorRT paths are "
        "benchmarked by `ssr bench fps`).",
        "",
        f"SSR: {timing['ssr_path']} ({timing['ssr_frames_timed']} frames). OIDN: {timing['peer_path']}.",
        "",
        "| Method | ms / frame |",
        "|---|---:|",
        f"| {labels['ssr']} | {_format_ms(timing['ssr_ms_per_frame'])} |" if "ssr" in methods else "",
    ]
    for name, value in timing["peers_ms_per_frame"].items():
        lines.append(f"| {labels[name]} | {_format_ms(value)} |")
    return "\n".join(lines) + "\n"


def _format_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def write_quality_report(report: Mapping[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``<out_dir>/report.json``, ``report.md``, ``curves.png`` (the per-frame
    curves) and ``index.html`` (bench/html_report.py); returns the JSON and Markdown paths."""
    import json

    from .html_report import write_html_report
    from .plot import write_curve_plot

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "report.json", out / "report.md"
    json_path.write_text(json.dumps(json_ready(report), indent=2, allow_nan=False) + "\n")
    md_path.write_text(format_quality_markdown(report))
    curve = report["curves"]
    write_curve_plot({report["labels"][m]: v for m, v in curve["by_frame"].items()}, out / "curves.png",
                     title=f"{COLUMN_TITLES.get(curve['metric'], curve['metric'])} by frame, mean over "
                           f"{len(report['sequences'])} sequence(s)", y_label=COLUMN_TITLES.get(curve["metric"], ""))
    write_html_report(report, out)
    return json_path, md_path
