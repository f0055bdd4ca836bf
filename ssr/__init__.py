"""SSR engine: real-time Monte Carlo denoising by subpixel sampling reconstruction.

Sub-packages: ``ssr.data_tools`` (format, renderer), ``ssr.model`` (network),
``ssr.train``, ``ssr.runtime`` (streaming API, native extension), ``ssr.export``,
``ssr.bench``. Heavy imports (torch) happen lazily.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_model"]


def load_model(path: Any = None, device: str = "cpu") -> Any:
    """Load a trained SSR network (``None`` = the bundled default model).

    See :func:`ssr.model.load_model`.
    """
    from ssr.model import load_model as _load_model

    return _load_model(path, device=device)
