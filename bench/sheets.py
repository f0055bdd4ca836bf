"""Contact sheets: one frame of every method side by side, labelled, with zoomed crops
chosen where two methods differ most (so the sheet shows what the numbers hide).

Layout (all panels ACES + sRGB tone-mapped, :func:`ssr.data_tools.imaging.tonemap_srgb`)::

    [label]        [label]      ...            one row of full frames
    [crop 1, zoomed] [crop 1, zoomed] ...      one row per crop, same window in every panel,
    [crop 2, zoomed] ...                       centred under its panel
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["choose_crops", "write_contact_sheet"]

def _box_sum(image: np.ndarray, size: int) -> np.ndarray:
    """Sum over every ``size x size`` window (valid positions only) of a 2-D array."""
    integral = np.pad(image, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size] + integral[:-size, :-size]


def choose_crops(a: np.ndarray, b: np.ndarray, size: int, count: int = 2) -> list[tuple[int, int]]:
    """Top-left corners of ``count`` non-overlapping ``size x size`` windows where the
    tone-mapped images ``a`` and ``b`` (``[H, W, 3]`` linear) differ most."""
    from ssr.data_tools.imaging import tonemap_srgb

    height, width = a.shape[:2]
    size = min(size, height, width)
    energy = _box_sum(np.abs(tonemap_srgb(a) - tonemap_srgb(b)).mean(axis=-1), size)
    corners: list[tuple[int, int]] = []
    for _ in range(count):
        y, x = np.unravel_index(int(np.argmax(energy)), energy.shape)
        corners.append((int(y), int(x)))
        energy[max(0, y - size + 1):y + size, max(0, x - size + 1):x + size] = -np.inf
        if not np.isfinite(energy).any():
            break
    return corners


def write_contact_sheet(panels: Sequence[tuple[str, np.ndarray]], path: str | Path, *,
                        crops: Sequence[tuple[int, int]], crop_size: int, zoom: int | None = None) -> Path:
    """Write the sheet of ``panels`` (``(label, linear [H, W, 3])``) to a PNG at ``path``.

    Each crop row shows the same window of every panel, enlarged ``zoom`` times (nearest
    neighbour; default: as large as fits the panel width, at most 6x) and centred under
    its panel, so the columns line up.
    """
    from ssr.data_tools.imaging import hstack_images, label_image, to_uint8, tonemap_srgb, vstack_images, write_png

    display = [to_uint8(tonemap_srgb(image)) for _, image in panels]
    panel_width = display[0].shape[1]
    side = min(crop_size, display[0].shape[0], panel_width)
    factor = zoom if zoom is not None else max(1, min(6, panel_width // max(1, side)))
    rows = [hstack_images([label_image(image, label) for (label, _), image in zip(panels, display)])]
    for y, x in crops:
        zoomed = []
        for image in display:
            tile = np.kron(image[y:y + side, x:x + side], np.ones((factor, factor, 1), np.uint8))
            left = max(0, (image.shape[1] - tile.shape[1]) // 2)
            right = max(0, image.shape[1] - tile.shape[1] - left)
            zoomed.append(np.pad(tile, ((0, 0), (left, right), (0, 0)), constant_values=255))
        rows.append(hstack_images(zoomed))
    width = max(row.shape[1] for row in rows)
    rows = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)), constant_values=255) for row in rows]
    return write_png(path, vstack_images(rows))
