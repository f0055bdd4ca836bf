"""Select and initialise the Mitsuba 3 variant used by the renderer.

``cuda_ad_rgb`` when a CUDA device is usable, otherwise ``llvm_ad_rgb`` on the CPU, which
needs libLLVM (found by Dr.Jit, or named by ``DRJIT_LIBLLVM_PATH``). Every failure is turned
into a :class:`RendererUnavailable` that says what to install.
"""

from __future__ import annotations

import glob
import os
from types import ModuleType

__all__ = ["RendererUnavailable", "load_mitsuba", "active_variant"]

_LLVM_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libLLVM-19.so",
    "/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1",
    "/usr/lib/llvm-19/lib/libLLVM.so",
    "/usr/lib/aarch64-linux-gnu/libLLVM-19.so",
)
_INSTALL_HINT = (
    "The CPU renderer uses Mitsuba's llvm_ad_rgb variant, which needs libLLVM 19: install it "
    "with `apt-get install libllvm19` (or point DRJIT_LIBLLVM_PATH at libLLVM.so), and "
    "install Mitsuba with `pip install 'ssr-engine[render]'` (mitsuba==3.9.1)."
)


class RendererUnavailable(RuntimeError):
    """Mitsuba 3 (or the libLLVM / CUDA back-end it needs) cannot be used here."""


def _default_llvm_path() -> None:
    """Point Dr.Jit at a known libLLVM when the user did not name one."""
    if os.environ.get("DRJIT_LIBLLVM_PATH"):
        return
    for pattern in _LLVM_CANDIDATES + ("/usr/lib/x86_64-linux-gnu/libLLVM*.so*",):
        for candidate in sorted(glob.glob(pattern)):
            if os.path.isfile(candidate):
                os.environ["DRJIT_LIBLLVM_PATH"] = candidate
                return


def _cuda_available(dr: ModuleType) -> bool:
    try:
        return bool(dr.has_backend(dr.JitBackend.CUDA))
    except Exception:  # noqa: BLE001 - any failure means "no CUDA"
        return False


def _llvm_available(dr: ModuleType) -> bool:
    try:
        return bool(dr.has_backend(dr.JitBackend.LLVM))
    except Exception:  # noqa: BLE001
        return False


def load_mitsuba(variant: str | None = None) -> ModuleType:
    """Import Mitsuba, set the variant and return the ``mitsuba`` module.

    Args:
        variant: ``None`` picks ``cuda_ad_rgb`` when CUDA works, else ``llvm_ad_rgb``.
            Setting ``SSR_MI_VARIANT`` in the environment has the same effect.

    Raises:
        RendererUnavailable: Mitsuba is not installed or neither back-end is usable.
    """
    _default_llvm_path()
    try:
        import drjit as dr
        import mitsuba as mi
    except ImportError as exc:
        raise RendererUnavailable(f"cannot import Mitsuba 3 ({exc}). {_INSTALL_HINT}") from None
    wanted = variant or os.environ.get("SSR_MI_VARIANT")
    if wanted is None:
        if _cuda_available(dr):
            wanted = "cuda_ad_rgb"
        elif _llvm_available(dr):
            wanted = "llvm_ad_rgb"
        else:
            raise RendererUnavailable(
                "neither CUDA nor the LLVM back-end of Dr.Jit is available "
                f"(DRJIT_LIBLLVM_PATH={os.environ.get('DRJIT_LIBLLVM_PATH')!r}). {_INSTALL_HINT}"
            )
    if mi.variant() != wanted:
        try:
            mi.set_variant(wanted)
        except (ImportError, AttributeError, RuntimeError) as exc:
            raise RendererUnavailable(f"Mitsuba variant {wanted!r} is unavailable: {exc}. {_INSTALL_HINT}") from None
    return mi


def active_variant() -> str:
    """The Mitsuba variant in use (after :func:`load_mitsuba`)."""
    import mitsuba as mi

    return str(mi.variant())
