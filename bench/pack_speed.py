"""Speed of the per-frame input packing, native C++ vs the NumPy reference.

Both implementations pack the same random frame (a real subpixel mask, positive colour,
valid depth) in the same process; the report gives the median time of each and their
ratio, the number that matters (absolute times depend on the machine).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable

import numpy as np


def random_frame(height: int, width: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A frame of plausible values for every packed layer, ``float32 [H, W, C]``."""
    from ssr.data_tools.format import subpixel_mask
    from ssr.data_tools.pack import PACK_LAYERS

    rng = np.random.default_rng(seed)
    frame = {name: rng.random((height, width, channels), dtype=np.float32) for name, channels in PACK_LAYERS}
    frame["mask"] = subpixel_mask(1, height, width)[:, :, None]
    frame["color"] *= 4.0
    normal = rng.standard_normal((height, width, 3)).astype(np.float32)
    frame["normal"] = normal / np.linalg.norm(normal, axis=-1, keepdims=True)
    return frame


def _median_seconds(function: Callable[[], Any], repeat: int) -> float:
    function()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_pack(height: int, width: int, repeat: int, threads: int) -> dict[str, Any]:
    """Median seconds of the NumPy reference and the native packing of one frame."""
    from ssr import _native
    from ssr.data_tools.pack import PACK_LAYERS, PACKED_CHANNELS, pack_frame_reference

    frame = random_frame(height, width)
    layers = [np.ascontiguousarray(frame[name]) for name, _ in PACK_LAYERS]
    out = np.empty((PACKED_CHANNELS, height, width), np.float32)
    numpy_s = _median_seconds(lambda: pack_frame_reference(frame), repeat)
    native_s = _median_seconds(lambda: _native.pack_frame(*layers, out, threads), repeat)
    np.testing.assert_allclose(out, pack_frame_reference(frame), rtol=1e-5, atol=1e-6)
    return {
        "height": height, "width": width, "threads": _native.resolve_threads(threads, height, width),
        "numpy_ms": numpy_s * 1e3, "native_ms": native_s * 1e3, "speedup": numpy_s / native_s,
    }


def print_table(rows: list[dict[str, Any]], repeat: int) -> None:
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}"
    print(f"pack_frame, median of {repeat} ({machine})\n")
    print("| frame (HxW) | native threads | NumPy reference (ms) | native (ms) | speed-up |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['height']}x{row['width']} | {row['threads']} | {row['numpy_ms']:.2f} | "
              f"{row['native_ms']:.2f} | {row['speedup']:.1f}x |")
