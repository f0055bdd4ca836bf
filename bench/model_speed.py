"""Speed of one network step per width preset, measured side by side in one run.

Each preset's :func:`ssr.model.step` runs on the same random packed frame (history carried
over, as in a stream); the table gives the median milliseconds per frame, the frames per
second, and the ratio to the fastest preset in the same run.
"""

from __future__ import annotations

import statistics
import time
from typing import Any


def bench_model(height: int, width: int, presets: list[str], repeat: int, device: str) -> list[dict[str, Any]]:
    """Median step time of each width preset at ``height x width`` on ``device``."""
    import torch

    from ssr.data_tools.contract import PACKED_CHANNELS
    from ssr.model import ModelConfig, SSRNet, initial_state, step

    torch_device = torch.device(device)
    generator = torch.Generator().manual_seed(0)
    packed = torch.rand(1, PACKED_CHANNELS, height, width, generator=generator).to(torch_device)
    rows = []
    for preset in presets:
        model = SSRNet(ModelConfig(width=preset)).to(torch_device).eval()
        state = initial_state(1, height, width, torch_device)
        samples = []
        with torch.inference_mode():
            _, state = step(model, packed, state, reset=True)  # warm-up
            for _ in range(repeat):
                if torch_device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                _, state = step(model, packed, state, reset=False)
                if torch_device.type == "cuda":
                    torch.cuda.synchronize()
                samples.append(time.perf_counter() - start)
        milliseconds = statistics.median(samples) * 1e3
        rows.append({"preset": preset, "parameters": sum(p.numel() for p in model.parameters()),
                     "ms": milliseconds, "fps": 1e3 / milliseconds})
    fastest = min(row["ms"] for row in rows)
    for row in rows:
        row["relative"] = row["ms"] / fastest
    return rows


def print_table(rows: list[dict[str, Any]], height: int, width: int, device: str, threads: int) -> None:
    print(f"SSRNet step at {height}x{width} on {device} ({threads} torch threads), median\n")
    print("| width preset | parameters | ms / frame | FPS | time vs fastest |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['preset']} | {row['parameters']:,} | {row['ms']:.1f} | {row['fps']:.2f} | {row['relative']:.2f}x |")
