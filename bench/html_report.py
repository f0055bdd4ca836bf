"""A static HTML page for a ``bench quality`` report, openable from disk (``index.html``
next to ``report.json``; no network, no server).

It holds the paper's Table-1 shape (PSNR / SSIM / RMSE per sequence and the average, one
column group per method), the averages of every headline metric with ms per frame, the
per-material bias table, the per-frame curves, and per sequence: an image comparison that
switches method on hover (with that method's HDR-FLIP map beside it), the contact sheet and
the animated crop strip. Every image is referenced by a path relative to the page, and
only files that exist are referenced.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Mapping

__all__ = ["TABLE1_METRICS", "format_html_report", "write_html_report"]

TABLE1_METRICS = ("psnr_srgb", "ssim_srgb", "rmse_srgb")
"""The paper's Table 1 columns (on the ACES + sRGB tone map)."""

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.methods span { display: inline-block; margin: 2px; padding: 3px 8px; border: 1px solid #888;
  border-radius: 3px; cursor: pointer; }
.methods span:hover { background: #ffe08a; }
.pair img { margin-right: 8px; image-rendering: pixelated; }
.best { font-weight: bold; }
"""

_SCRIPT = """
function show(id, image, flip, label) {
  document.getElementById(id + '-img').src = image;
  var f = document.getElementById(id + '-flip');
  if (flip) { f.src = flip; f.style.visibility = 'visible'; } else { f.style.visibility = 'hidden'; }
  document.getElementById(id + '-label').textContent = label;
}
"""


def _fmt(name: str, value: Any) -> str:
    from ssr.evaluate import format_value

    return html.escape(format_value(name, value))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["<table>", "<tr>" + "".join(f"<th>{cell}</th>" for cell in header) + "</tr>"]
    lines += ["<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows]
    return lines + ["</table>"]


def _table1(report: Mapping[str, Any]) -> list[str]:
    """Rows = sequences + average; per method the PSNR / SSIM / RMSE of all frames."""
    from ssr.evaluate import COLUMN_TITLES

    methods = list(report["methods"])
    labels = report["labels"]
    metrics = [m for m in TABLE1_METRICS if m in report["metrics"]]
    header = ["<th rowspan=2>Sequence</th>" + "".join(
        f"<th colspan={len(metrics)}>{html.escape(labels[m])}</th>" for m in methods)]
    header.append("".join(f"<th>{html.escape(COLUMN_TITLES.get(n, n))}</th>" for _ in methods for n in metrics))
    lines = ["<table>"] + [f"<tr>{row}</tr>" for row in header]
    rows = [(entry["name"], {m: (entry[m] or {}).get("all") for m in methods}) for entry in report["sequences"]]
    rows.append(("<b>Average</b>", {m: (report["average"][m] or {}).get("all") for m in methods}))
    higher = report["higher_is_better"]
    for name, blocks in rows:
        cells = [name if name.startswith("<b>") else html.escape(name)]
        best = {}
        for metric in metrics:
            values = [v for v in ((blocks[m] or {}).get(metric) for m in methods) if v is not None]
            best[metric] = (max(values) if higher[metric] else min(values)) if values else None
        for method in methods:
            for metric in metrics:
                value = (blocks[method] or {}).get(metric)
                shown = _fmt(metric, value)
                cells.append(f'<span class="best">{shown}</span>' if value is not None and value == best[metric]
                             else shown)
        lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return lines + ["</table>"]


def _averages(report: Mapping[str, Any]) -> list[str]:
    from ssr.evaluate import COLUMN_TITLES

    names = list(report["headline_metrics"])
    timing = report["timing"]
    ms = {"ssr": timing["ssr_ms_per_frame"], **timing["peers_ms_per_frame"]}
    arrows = {True: " &uarr;", False: " &darr;"}
    header = ["Method", "traced spp"] + [html.escape(COLUMN_TITLES.get(n, n)) + arrows[report["higher_is_better"][n]]
                                         for n in names] + ["ms / frame (this machine)"]
    speed = (report.get("speed") or {}).get("ms_per_frame", {})
    sizes = sorted({size for row in speed.values() for size in row},
                   key=lambda size: int(size.split("x")[0]) * int(size.split("x")[1]))
    header += [f"ms / frame {size} (bench fps)" for size in sizes]
    rows = []
    for method in report["methods"]:
        block = (report["average"][method] or {}).get("all") or {}
        timed = speed.get(method, {})
        rows.append([html.escape(report["labels"][method]), f"{report['traced_spp'][method]:g}"]
                    + [_fmt(n, block.get(n)) for n in names]
                    + ["-" if ms.get(method) is None else f"{ms[method]:.1f}"]
                    + [f"{timed[size]:.1f}" if size in timed else "-" for size in sizes])
    return _table(header, rows)


def _bias(report: Mapping[str, Any], key: str = "bias") -> list[str]:
    """The ``report[key]`` bias table (``bias``: every pixel; ``bias_display``: display range)."""
    materials = list(report["materials"])
    rows = []
    for method in report["methods"]:
        table = report[key][method]
        cells = [html.escape(report["labels"][method])]
        for material in materials:
            ratio = table[material].get("ratio")
            cells.append("-" if ratio is None else " / ".join(f"{c:.2f}" for c in ratio))
        rows.append(cells)
    return _table(["Method (R / G / B, 1.00 = unbiased)"] + materials, rows)


def _exists(out: Path, relative: str | None) -> bool:
    return relative is not None and (out / relative).is_file()


def _sequence(out: Path, index: int, entry: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    figures = entry.get("figures") or {}
    name = html.escape(entry["name"])
    lines = [f'<h3 id="seq-{index}">{name} ({entry["width"]}x{entry["height"]}, {entry["frames"]} frames)</h3>']
    panels = {label: path for label, path in (figures.get("panels") or {}).items() if _exists(out, path)}
    flips = {label: path for label, path in (figures.get("flip") or {}).items() if _exists(out, path)}
    if panels:
        ident = f"cmp{index}"
        first = "reference" if "reference" in panels else next(iter(panels))
        lines.append('<p class="methods">Hover a method: ')
        for label, path in panels.items():
            flip = flips.get(label, "")
            arguments = ", ".join(html.escape(repr(v), quote=True) for v in (ident, path, flip, label))
            lines.append(f'<span onmouseover="show({arguments})">{html.escape(label)}</span>')
        lines.append("</p>")
        lines.append(f'<p>Showing: <b id="{ident}-label">{html.escape(first)}</b> (left), its HDR-FLIP error '
                     "map vs the reference (right; black = no visible difference)</p>")
        lines.append(f'<div class="pair"><img id="{ident}-img" src="{html.escape(panels[first], quote=True)}" '
                     f'alt="{name} {html.escape(first)}"><img id="{ident}-flip" src="" alt="FLIP map" '
                     'style="visibility:hidden"></div>')
    if _exists(out, figures.get("strip")):
        lines.append(f'<p>Crop over time (2x, 4 frames/s):<br><img src="{html.escape(figures["strip"], quote=True)}" '
                     f'alt="{name} crop over time"></p>')
    if _exists(out, figures.get("sheet")):
        lines.append(f'<p>Contact sheet (inputs, every method, reference; crops where SSR and '
                     f'{html.escape(labels.get("oidn_high", "OIDN"))} differ most):<br>'
                     f'<img src="{html.escape(figures["sheet"], quote=True)}" alt="{name} contact sheet"></p>')
    return lines


def format_html_report(report: Mapping[str, Any], out_dir: str | Path) -> str:
    """The page for ``report`` whose pictures lie under ``out_dir``."""
    out = Path(out_dir)
    sequences = report["sequences"]
    sizes = ", ".join(sorted({f"{s['width']}x{s['height']}" for s in sequences}))
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        "<title>SSR engine: quality report</title>",
        f"<style>{_STYLE}</style>",
        f"<script>{_SCRIPT}</script>",
        "</head>",
        "<body>",
        "<h1>SSR vs the denoisers a user would otherwise pick</h1>",
        f"<p>Model <code>{html.escape(str(report['model']))}</code>; {len(sequences)} sequence(s), {sizes}. "
        f"SSR and SVGF see 1/4 spp; OIDN {html.escape(str(report['oidn']['version']))} denoises the 1-spp colour "
        "(4x the samples) frame by frame. Metrics: docs/evaluation.md. Machine: "
        f"{html.escape(report['timing']['machine'])}.</p>",
        "<h2>Table 1 shape: per sequence, all frames (ACES + sRGB)</h2>",
        *_table1(report),
        "<h2>Averages over sequences, all frames</h2>",
        *_averages(report),
        "<h2>Colour bias by material (mean output / mean reference)</h2>",
        *_bias(report),
    ]
    if "bias_display" in report:
        lines += ["<h3>Display range only (reference &lt;= 1 in every channel: what clip + gamma 2.2 shows "
                  "unclipped)</h3>", *_bias(report, "bias_display")]
    if _exists(out, "curves.png"):
        lines += ["<h2>Per-frame curve (mean over sequences)</h2>", '<img src="curves.png" alt="per-frame curves">']
    lines += ["<h2>Sequences</h2>", "<ul>"]
    lines += [f'<li><a href="#seq-{i}">{html.escape(e["name"])}</a></li>' for i, e in enumerate(sequences)]
    lines.append("</ul>")
    for index, entry in enumerate(sequences):
        lines += _sequence(out, index, entry, report["labels"])
    lines += ["</body>", "</html>"]
    return "\n".join(lines) + "\n"


def write_html_report(report: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Write ``<out_dir>/index.html``; returns its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    path.write_text(format_html_report(report, out), encoding="utf-8")
    return path
