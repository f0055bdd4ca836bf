"""Pictures of one sequence in a ``bench quality`` run: the contact sheet, one full-size
PNG per method at the sheet frame (the HTML report's hover comparison), HDR-FLIP error
maps, and an animated GIF of a zoomed crop over every frame (temporal stability is seen,
not read).

Files, under ``<out_dir>``::

    sheets/<sequence>.png                  contact sheet (bench/sheets.py)
    figures/<sequence>/<panel>.png         every panel at the sheet frame, ACES + sRGB
    figures/<sequence>/flip_<panel>.png    HDR-FLIP map of each method vs the reference
    figures/<sequence>/strip.gif           crop 1 of the sheet, 2x, every frame

All images are linear HDR ``[H, W, 3]`` on input and tone-mapped with
:func:`ssr.data_tools.imaging.tonemap_srgb` for display.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["GIF_FRAME_MS", "STRIP_ZOOM", "SequenceFigures", "panel_slug"]

STRIP_ZOOM = 2
"""Nearest-neighbour zoom of the GIF strip's crop."""
GIF_FRAME_MS = 250
"""Display time of one frame of the GIF strip (4 frames per second)."""
_NOT_METHODS = ("input 1/4 spp", "input 1 spp", "reference")


def panel_slug(label: str) -> str:
    """A file-name-safe form of a panel label.

    >>> panel_slug("SSR lean:kernel, 1/4 spp")
    'ssr-lean-kernel-1-4-spp'
    """
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "panel"


class SequenceFigures:
    """Collects one sequence's panels frame by frame and writes its pictures.

    Args:
        out_dir: the report folder.
        name: the sequence name (file names).
        crop_size: side of the zoomed crops (pixels of the full frame).
    """

    def __init__(self, out_dir: str | Path, name: str, *, crop_size: int) -> None:
        self.out_dir = Path(out_dir)
        self.name = name
        self.crop_size = crop_size
        self._labels: list[str] | None = None
        self._frames: list[list[np.ndarray]] = []
        self._crop: tuple[int, int] | None = None
        self.files: dict[str, Any] = {"sheet": None, "panels": {}, "flip": {}, "strip": None}

    def add(self, panels: Sequence[tuple[str, np.ndarray]], *, sheet: bool, ours: np.ndarray,
            peer: np.ndarray) -> None:
        """One frame's ``panels`` (``(label, linear [H, W, 3])``, the reference last).

        On the ``sheet`` frame also write the contact sheet (crops where ``ours`` and
        ``peer`` differ most), the per-panel PNGs and the FLIP maps.
        """
        from ssr.data_tools.imaging import to_uint8, tonemap_srgb

        labels = [label for label, _ in panels]
        display = [to_uint8(tonemap_srgb(image)) for _, image in panels]
        if self._labels is None:
            self._labels = labels
        if labels == self._labels:  # a frame with a different panel set cannot join the strip
            self._frames.append(display)
        if sheet:
            self._write_sheet(panels, display, ours, peer)

    def _write_sheet(self, panels: Sequence[tuple[str, np.ndarray]], display: Sequence[np.ndarray],
                     ours: np.ndarray, peer: np.ndarray) -> None:
        """``display``: the panels tone-mapped to ``uint8``, as :meth:`add` made them."""
        from ssr.data_tools.imaging import to_uint8, write_png
        from ssr.metrics import flip_hdr_map

        from .sheets import choose_crops, write_contact_sheet

        crops = choose_crops(ours, peer, self.crop_size)
        self._crop = crops[0] if crops else (0, 0)
        sheet = write_contact_sheet(panels, self.out_dir / "sheets" / f"{self.name}.png", crops=crops,
                                    crop_size=self.crop_size)
        self.files["sheet"] = sheet.relative_to(self.out_dir).as_posix()
        folder = self.out_dir / "figures" / self.name
        reference = panels[-1][1]
        for (label, image), shown in zip(panels, display):
            slug = panel_slug(label)
            path = write_png(folder / f"{slug}.png", shown)
            self.files["panels"][label] = path.relative_to(self.out_dir).as_posix()
            if label not in _NOT_METHODS:
                error_map, _ = flip_hdr_map(image, reference)
                path = write_png(folder / f"flip_{slug}.png", to_uint8(error_map))
                self.files["flip"][label] = path.relative_to(self.out_dir).as_posix()

    def finish(self) -> dict[str, Any]:
        """Write the GIF strip; returns the written files (paths relative to ``out_dir``):
        ``sheet``, ``panels`` and ``flip`` (label -> path), ``strip``."""
        from PIL import Image

        from ssr.data_tools.imaging import hstack_images, label_image

        if self._frames and self._labels is not None:
            y, x = self._crop if self._crop is not None else (0, 0)
            size = self.crop_size
            pictures = []
            for panels in self._frames:
                tiles = [label_image(np.kron(image[y:y + size, x:x + size], np.ones((STRIP_ZOOM, STRIP_ZOOM, 1),
                                                                                     np.uint8)), label)
                         for label, image in zip(self._labels, panels)]
                pictures.append(Image.fromarray(hstack_images(tiles)))
            path = self.out_dir / "figures" / self.name / "strip.gif"
            path.parent.mkdir(parents=True, exist_ok=True)
            pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=GIF_FRAME_MS, loop=0)
            self.files["strip"] = path.relative_to(self.out_dir).as_posix()
        self._frames = []
        return self.files
