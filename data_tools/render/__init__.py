"""Mitsuba 3 renderer for ssr-seq v1 sequences and datasets (import as ``ssr.data_tools.render``).

* :func:`render_sequence` / :class:`RenderConfig` - one sequence (``ssr render``);
* :mod:`.dataset` - training/validation datasets from a config (``ssr make-dataset``);
* :mod:`.procedural` - the built-in scenes (``builtin``, ``builtin:room``, ``builtin:<seed>``);
* :mod:`.camera_paths` - camera path presets.

Mitsuba is imported only when something is rendered. See docs/rendering.md.
"""

from .camera_paths import PRESETS
from .mitsuba_env import RendererUnavailable
from .sequence import ALBEDO_FILTERS, FRAME_LAYERS, RenderConfig, box_albedo_sequence, render_sequence

__all__ = ["ALBEDO_FILTERS", "FRAME_LAYERS", "PRESETS", "RenderConfig", "RendererUnavailable", "box_albedo_sequence",
           "render_sequence"]
