"""The speed-quality plot (the paper's Figure 7 shape): milliseconds per frame (log axis)
against PSNR, one point per method, drawn with Pillow (no plotting dependency).

Speed comes from an ``ssr bench fps`` report (the full path at one resolution), quality
from one or more ``ssr bench quality`` reports (SSR, and OIDN at the quality each report
ran with).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

__all__ = ["speed_quality_points", "write_count_map", "write_curve_plot", "write_speed_quality_plot"]

CURVE_COLOURS = ((200, 30, 30), (30, 80, 200), (30, 150, 60), (150, 90, 0), (120, 120, 120), (140, 40, 160))


def _canvas(width: int, height: int) -> tuple[Any, Any, Any]:
    """A white RGB image, its drawing context and the default font."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (width, height), "white")
    return image, ImageDraw.Draw(image), ImageFont.load_default()


def _y_ticks(draw: Any, font: Any, y_of: Callable[[float], float], y_lo: float, y_hi: float, *, left: int,
             steps: int, decimals: int) -> None:
    """``steps + 1`` evenly spaced ticks and labels on the y axis at x = ``left``."""
    for step in range(steps + 1):
        value = y_lo + (y_hi - y_lo) * step / steps
        y = y_of(value)
        draw.line([left - 5, y, left, y], fill="black")
        draw.text((10, y - 6), f"{value:.{decimals}f}", fill="black", font=font)


def _finish(image: Any, draw: Any, font: Any, path: str | Path, *, title: str, x_label: tuple[int, str],
            y_label: str, margin: int) -> Path:
    """Write the title (at the plot's left ``margin``), the axis labels (x label at (offset
    from the centre, text); y label above the plot's top ``margin``) and save."""
    width, height = image.size
    draw.text((margin, 20), title, fill="black", font=font)
    draw.text((width // 2 + x_label[0], height - 30), x_label[1], fill="black", font=font)
    draw.text((10, margin - 30), y_label, fill="black", font=font)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    return out


def speed_quality_points(fps_report: dict[str, Any], quality_reports: list[dict[str, Any]], *,
                         size: tuple[int, int], metric: str = "psnr_srgb") -> list[dict[str, Any]]:
    """``[{"label", "ms", "quality"}]`` for every method timed at ``size`` (H, W) whose
    quality one of the reports gives. An SSR graph takes the quality of the report whose
    ``model_sha256`` is the sha256 of the weights it was exported from (its row's
    ``source_sha256``); without such a report, that of the only report with an ``ssr``
    score, labelled with the report's model (a graph of other weights is then plotted with
    a quality it was not measured at: the label says so)."""
    peers: dict[str, float] = {}
    ssr_by_weights: dict[str, float] = {}
    ssr_any: list[tuple[str, float]] = []
    for report in quality_reports:
        average = report.get("average", {})
        for method, block in average.items():
            value = (block or {}).get("all", {}).get(metric)
            if value is None:
                continue
            if method == "ssr":
                ssr_any.append((str(report.get("model", "?")), value))
                if report.get("model_sha256"):
                    ssr_by_weights[report["model_sha256"]] = value
            elif not method.startswith("ssr_"):
                # quality-report keys (oidn_high) -> fps-report method names (oidn-high)
                peers[method.replace("_", "-")] = value
    points = []
    for row in fps_report["rows"]:
        if (row["height"], row["width"]) != tuple(size) or row["path"] == "network only":
            continue
        if not row["method"].startswith("ssr-"):
            if row["method"] in peers:
                points.append({"label": row["method"], "ms": row["median_ms"], "quality": peers[row["method"]]})
            continue
        sha = row.get("source_sha256")
        if sha and sha in ssr_by_weights:
            points.append({"label": row["method"], "ms": row["median_ms"], "quality": ssr_by_weights[sha]})
        elif len(ssr_any) == 1:
            model, value = ssr_any[0]
            points.append({"label": f"{row['method']} [quality of {Path(model).name}]", "ms": row["median_ms"],
                           "quality": value})
    return points


def write_speed_quality_plot(points: list[dict[str, Any]], path: str | Path, *, title: str,
                             metric_label: str = "PSNR (dB, tone-mapped)") -> Path:
    """Draw ``points`` (see :func:`speed_quality_points`) into a PNG at ``path``."""
    if not points:
        raise ValueError("speed-quality plot: no method has both a time and a quality number")
    width, height, margin = 900, 600, 80
    image, draw, font = _canvas(width, height)
    ms = [p["ms"] for p in points]
    quality = [p["quality"] for p in points]
    x_lo, x_hi = math.log10(min(ms)) - 0.15, math.log10(max(ms)) + 0.15
    q_pad = max(0.5, 0.1 * (max(quality) - min(quality)))
    y_lo, y_hi = min(quality) - q_pad, max(quality) + q_pad

    def to_px(value_ms: float, value_q: float) -> tuple[float, float]:
        x = margin + (math.log10(value_ms) - x_lo) / (x_hi - x_lo) * (width - 2 * margin)
        y = height - margin - (value_q - y_lo) / (y_hi - y_lo) * (height - 2 * margin)
        return x, y

    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    for exponent in range(math.floor(x_lo), math.ceil(x_hi) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10 ** exponent
            if x_lo <= math.log10(value) <= x_hi:
                x, _ = to_px(value, y_lo)
                draw.line([x, height - margin, x, height - margin + 5], fill="black")
                draw.text((x - 12, height - margin + 8), f"{value:g}", fill="black", font=font)
    _y_ticks(draw, font, lambda value: to_px(10 ** x_lo, value)[1], y_lo, y_hi, left=margin, steps=5, decimals=1)
    colours = {"ssr": (200, 30, 30), "oidn": (30, 80, 200)}
    placed: list[tuple[float, float]] = []
    dots = [to_px(p["ms"], p["quality"]) for p in points]
    for point in sorted(points, key=lambda p: p["ms"]):
        x, y = to_px(point["ms"], point["quality"])
        colour = colours["ssr" if point["label"].startswith("ssr") else "oidn"]
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=colour)
        label_y = y - 6
        # stack labels upwards until they clear earlier labels and the dots to their right
        while any(abs(label_y - py) < 13 and abs(x - px) < 300 for px, py in placed) or any(
                x < dx < x + 300 and abs(label_y + 6 - dy) < 10 for dx, dy in dots):
            label_y -= 14
        placed.append((x, label_y))
        if label_y != y - 6:
            draw.line([x, y, x + 8, label_y + 6], fill=colour)
        draw.text((x + 9, label_y), f"{point['label']} ({point['ms']:.0f} ms, {point['quality']:.2f})", fill=colour,
                  font=font)
    return _finish(image, draw, font, path, title=title,
                   x_label=(-80, "milliseconds per frame (log scale, lower is better)"),
                   y_label=metric_label + " (higher is better)", margin=margin)


def write_curve_plot(curves: dict[str, list[float | None]], path: str | Path, *, title: str,
                     x_label: str = "frame", y_label: str = "PSNR (dB)", x_ticks: list[str] | None = None) -> Path:
    """Line plot of ``{label: [value per x = 0, 1, ...]}`` (None = no value) into a PNG;
    ``x_ticks`` names the x positions (default: their index; at most ~20 are labelled)."""
    values = [v for curve in curves.values() for v in curve if v is not None and math.isfinite(v)]
    if not values:
        raise ValueError("curve plot: no finite values")
    width, height, margin = 900, 560, 70
    image, draw, font = _canvas(width, height)
    count = max(len(curve) for curve in curves.values())
    y_lo, y_hi = min(values), max(values)
    pad = max(0.25, 0.05 * (y_hi - y_lo))
    y_lo, y_hi = y_lo - pad, y_hi + pad

    def to_px(index: float, value: float) -> tuple[float, float]:
        x = margin + index / max(1, count - 1) * (width - 2 * margin - 160)
        y = height - margin - (value - y_lo) / (y_hi - y_lo) * (height - 2 * margin)
        return x, y

    draw.rectangle([margin, margin, width - margin - 160, height - margin], outline="black")
    every = max(1, -(-count // 20))
    for index in range(count):
        x, _ = to_px(index, y_lo)
        draw.line([x, height - margin, x, height - margin + 4], fill="black")
        if index % every == 0:
            text = x_ticks[index] if x_ticks is not None and index < len(x_ticks) else str(index)
            draw.text((x - 3 * len(text), height - margin + 8), text, fill="black", font=font)
    _y_ticks(draw, font, lambda value: to_px(0, value)[1], y_lo, y_hi, left=margin, steps=5, decimals=2)
    for number, (label, curve) in enumerate(curves.items()):
        colour = CURVE_COLOURS[number % len(CURVE_COLOURS)]
        points = [to_px(i, v) for i, v in enumerate(curve) if v is not None and math.isfinite(v)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        draw.text((width - margin - 150, margin + 14 * number), label, fill=colour, font=font)
    return _finish(image, draw, font, path, title=title, x_label=(-60, x_label), y_label=y_label, margin=margin)


def write_count_map(count: Any, cap: float, path: str | Path, *, title: str) -> Path:
    """A per-pixel history length map: ``count`` ``[H, W]`` (samples per pixel, 0 .. ``cap``)
    as a dark-blue (0) to yellow (``cap``) ramp, shown 2x, with the title, the scale and the
    mean written under it (Pillow only)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    level = np.clip(np.asarray(count, np.float32) / max(float(cap), 1e-6), 0.0, 1.0)
    dark, bright = np.array([20.0, 20.0, 90.0]), np.array([250.0, 230.0, 40.0])
    rgb = (dark + (bright - dark) * level[..., None]).astype(np.uint8)
    picture = Image.fromarray(rgb).resize((rgb.shape[1] * 2, rgb.shape[0] * 2), Image.NEAREST)
    image = Image.new("RGB", (picture.width, picture.height + 36), "white")
    image.paste(picture, (0, 0))
    draw, font = ImageDraw.Draw(image), ImageFont.load_default()
    mean = float(np.mean(count))
    draw.text((4, picture.height + 4), f"{title}: dark blue 0, yellow {cap:g} samples; mean {mean:.2f}",
              fill="black", font=font)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    return out
