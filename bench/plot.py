"""The speed-quality plot (the paper's Figure 7 shape): milliseconds per frame (log axis)
against PSNR, one point per method, drawn with Pillow (no plotting dependency).

Speed comes from an ``ssr bench fps`` report (the full path at one resolution), quality
from one or more ``ssr bench quality`` reports (SSR, and OIDN at the quality each report
ran with).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["speed_quality_points", "write_speed_quality_plot"]


def speed_quality_points(fps_report: dict[str, Any], quality_reports: list[dict[str, Any]], *,
                         size: tuple[int, int], metric: str = "psnr_srgb") -> list[dict[str, Any]]:
    """``[{"label", "ms", "quality"}]`` for every method timed at ``size`` (H, W) whose
    quality one of the reports gives."""
    quality: dict[str, float] = {}
    for report in quality_reports:
        average = report.get("average", {})
        ssr = (average.get("ssr") or {}).get("all", {}).get(metric)
        if ssr is not None:
            quality["ssr"] = ssr
        oidn = (average.get("oidn") or {}).get("all", {}).get(metric)
        if oidn is not None:
            quality[f"oidn-{report.get('oidn', {}).get('quality', 'high')}"] = oidn
    points = []
    for row in fps_report["rows"]:
        if (row["height"], row["width"]) != tuple(size) or row["path"] == "network only":
            continue
        key = "ssr" if row["method"].startswith("ssr-") else row["method"]
        if key in quality:
            points.append({"label": row["method"], "ms": row["median_ms"], "quality": quality[key]})
    return points


def write_speed_quality_plot(points: list[dict[str, Any]], path: str | Path, *, title: str,
                             metric_label: str = "PSNR (dB, tone-mapped)") -> Path:
    """Draw ``points`` (see :func:`speed_quality_points`) into a PNG at ``path``."""
    from PIL import Image, ImageDraw, ImageFont

    if not points:
        raise ValueError("speed-quality plot: no method has both a time and a quality number")
    width, height, margin = 900, 600, 80
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
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
    steps = 5
    for index in range(steps + 1):
        value = y_lo + (y_hi - y_lo) * index / steps
        _, y = to_px(10 ** x_lo, value)
        draw.line([margin - 5, y, margin, y], fill="black")
        draw.text((10, y - 6), f"{value:.1f}", fill="black", font=font)
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
    draw.text((margin, 20), title, fill="black", font=font)
    draw.text((width // 2 - 80, height - 30), "milliseconds per frame (log scale, lower is better)", fill="black",
              font=font)
    draw.text((10, margin - 30), metric_label + " (higher is better)", fill="black", font=font)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    return out
