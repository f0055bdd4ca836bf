"""Model configuration: width presets and ablation switches.

A :class:`ModelConfig` fully determines the network's architecture; it is stored next to
the weights (``<path>.json``) so a checkpoint can be rebuilt without the training code.

Width presets (channel counts):

========= ============= ============ ====================================
preset    TFA hidden    TFA embed k  U-Net features at scales 1, 1/2, 1/4
========= ============= ============ ====================================
``tiny``  8             8            8, 12, 16
``small`` 16            16           16, 24, 32
``base``  32            32           32, 48, 64
``lean``  12            16           16, 24, 32
``fast``  12            8            8, 24, 32
========= ============= ============ ====================================

``lean`` is ``small`` with a narrower TFA: with a kernel-predicting output
(``output="kernel"``) it stays inside the ``small`` model's conv budget (issue 7: at most
30.9k MACs per pixel; :func:`ssr.model.cost.conv_macs_per_pixel` counts them). ``fast`` is
meant for ``layout="fast"`` (issue 8), where scale 1 only holds a thin guide (``c0``).

Layouts (``ModelConfig.layout``):

* ``"spec"`` (docs/method.md): the TFA's nets are 3x3 convs and the U-Net has two 3x3 convs in
  its encoder and two in its decoder at full resolution;
* ``"fast"``: the same TFA and U-Net structure with the work moved off full resolution:
  the TFA's nets are 1x1 convs (per-pixel scores), the encoder starts at 1/2 with a 2x2
  stride-2 conv over the full-resolution features, and full resolution keeps only a 1x1
  guide conv (``c0`` channels) and the decoder head (a 3x3 conv to ``c0``, a 1x1 conv to the
  head). About a third of ``spec``'s conv MACs at equal widths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from ssr.data_tools.contract import (HISTORY_CAP_MIN, HISTORY_MODES, LEGACY_VIEW_FLOOR, RULE_HISTORY_CAP,
                                     SPECULAR_FLOOR)

__all__ = [
    "ACCUMULATIONS", "ARCHES", "HISTORY_MODES", "LAYOUTS", "OUTPUTS", "SIGNALS",
    "WIDTH_PRESETS", "ModelConfig", "WidthPreset",
]


@dataclass(frozen=True)
class WidthPreset:
    """Channel counts of one width preset.

    Attributes:
        tfa_hidden: channels after the first conv of the reference/embedding nets.
        tfa_embed: embedding size ``k`` whose dot products give the TFA scores.
        unet: feature channels of the U-Net at scales 1, 1/2 and 1/4.
    """

    tfa_hidden: int
    tfa_embed: int
    unet: tuple[int, int, int]


WIDTH_PRESETS: dict[str, WidthPreset] = {
    "tiny": WidthPreset(tfa_hidden=8, tfa_embed=8, unet=(8, 12, 16)),
    "small": WidthPreset(tfa_hidden=16, tfa_embed=16, unet=(16, 24, 32)),
    "base": WidthPreset(tfa_hidden=32, tfa_embed=32, unet=(32, 48, 64)),
    "lean": WidthPreset(tfa_hidden=12, tfa_embed=16, unet=(16, 24, 32)),
    "fast": WidthPreset(tfa_hidden=12, tfa_embed=8, unet=(8, 24, 32)),
}

ACCUMULATIONS = ("log", "linear")
OUTPUTS = ("direct", "kernel")
ARCHES = ("ssr", "rae")
LAYOUTS = ("spec", "fast")
SIGNALS = ("irradiance", "dual")

VIEW_FLOOR = 1e-2
"""Default denominator floor of :func:`ssr.model.kernel.log_view`'s ``A_irr / max(A_mask, floor)``
(``ModelConfig.view_floor``). Right after a reset or a disocclusion a third of the pixels
hold a warped ``A_mask`` below 1e-4: a bilinear tap that barely touches a traced pixel.
There the ratio is ``irradiance x weight / floor``, linear in a weight that float32
coordinate rounding moves by ~1e-5 (more at 2K widths), so with a 1e-4 floor two correct
warps gave features up to 2.4 apart and visibly different frames (docs/benchmarks-history.md section
14). At 1e-2 the same perturbation moves the view by ~1e-3 of the irradiance; ``A_mask``,
a network input of its own, still tells how much history there is."""


_REMOVED_FIELDS = {"tfa_untraced": "learned", "levels": 3, "deep_width": 64}
"""ModelConfig fields that left with their option, and the value today's model equals."""


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of :class:`ssr.model.SSRNet`.

    Attributes:
        width: one of :data:`WIDTH_PRESETS` (``tiny``, ``small``, ``base``).
        use_tfa: False ablates the temporal feature accumulator: ``A_t := x_t``.
        use_warped_prev: False drops the warped previous output ``W(y_{t-1})`` from the
            reconstruction network's inputs at every scale.
        subpixel: True when trained on 1/4-spp subpixel input (the default); False for
            the paper's 1-spp "w/o-SS" setting. A data-reading option
            (``Sequence(apply_pattern=subpixel)``), recorded here so inference reads
            frames the way the model was trained.
        accumulation: what the TFA state accumulates in its irradiance channels:
            ``"log"`` (docs/method.md: ``log1p`` irradiance, 0 at untraced pixels) or ``"linear"``
            (linear irradiance and, with the same weights, the traced mask, so
            ``A_irr / A_mask`` is a weighted mean of traced samples; :mod:`ssr.model.kernel`).
        output: ``"direct"`` (the U-Net predicts log irradiance, docs/method.md) or ``"kernel"``
            (it predicts per-pixel normalised kernels applied at 1/4, 1/2 and full
            resolution to the accumulated linear irradiance, blended across scales and
            with the warped previous output; needs ``accumulation="linear"``).
        kernel_sizes: kernel side at every U-Net scale, coarsest first: 1/4, 1/2, 1
            (``output="kernel"`` only). Empty (the default):
            5 at every coarse scale and 3 at full resolution.
        arch: ``"ssr"`` (TFA + reconstruction U-Net, docs/method.md) or ``"rae"``: the recurrent
            denoising autoencoder baseline (:mod:`ssr.model.rae`; uses the preset's U-Net
            widths, has no TFA, no warped previous output, a direct output).
        layout: ``"spec"`` (docs/method.md's full-resolution convs) or ``"fast"`` (1x1 TFA nets,
            the U-Net's encoder from 1/2; see the module docstring). ``arch="ssr"`` only.
        signal: what the kernels of an ``output="kernel"`` model filter: ``"irradiance"``
            (the accumulated demodulated irradiance, remodulated by the pixel's albedo) or
            ``"dual"``: that and, with the same kernels, the radiance (irradiance times
            each pixel's own albedo), blended per pixel at full resolution with a predicted
            weight. Smoothing in demodulated space brightens glossy surfaces whose diffuse
            albedo is textured (their specular light does not scale with the albedo it was
            divided by); radiance does not have that bias (:mod:`ssr.model.kernel`).
        view_floor: ``accumulation="linear"``: the floor of the accumulated mask in the
            network's view of the state, ``log1p(A_irr / max(A_mask, view_floor))``
            (:data:`VIEW_FLOOR`, 1e-2). Weights saved before this field existed load with
            1e-4 (:data:`ssr.data_tools.contract.LEGACY_VIEW_FLOOR`), the value
            they were trained with. No weights depend on it; a fine-tune may change it.
        specular_floor: the demodulation albedo the model's input is packed with,
            ``albedo + specular_floor * (1 - roughness) * (1 - metallic)``
            (:func:`ssr.data_tools.contract.specular_floor_offset`): a floor under the
            albedo of smooth dielectrics, whose specular coat does not follow their diffuse
            texture. 0 (the default, and every model saved before the field existed):
            the G-buffer albedo. The runtime packs each frame with the model's value.
        history: how the state's signal follows time: ``"learned"`` (the TFA's blend,
            SPEC) or ``"rule"`` (:mod:`ssr.model.history`: reprojection taps tested against
            the previous frame's depth and normal, a per-pixel sample count that only traced
            pixels raise, capped per pixel by :attr:`history_cap` and the roughness; the TFA
            still blends albedo, roughness and metallic). Needs ``accumulation="linear"``,
            ``output="kernel"`` and the TFA.
        history_cap: ``history="rule"``: the most samples a rough surface's history counts
            (:data:`~ssr.data_tools.contract.RULE_HISTORY_CAP`, 32).
    """

    width: str = "small"
    use_tfa: bool = True
    use_warped_prev: bool = True
    subpixel: bool = True
    accumulation: str = "log"
    output: str = "direct"
    kernel_sizes: tuple[int, ...] = ()
    arch: str = "ssr"
    layout: str = "spec"
    signal: str = "irradiance"
    view_floor: float = VIEW_FLOOR
    specular_floor: float = SPECULAR_FLOOR
    history: str = "learned"
    history_cap: float = RULE_HISTORY_CAP

    def __post_init__(self) -> None:
        if self.arch not in ARCHES:
            raise ValueError(f"ModelConfig.arch must be one of {ARCHES}, got {self.arch!r}")
        if self.arch == "rae" and (not self.use_tfa or not self.use_warped_prev or self.accumulation != "log"
                                   or self.output != "direct"):
            raise ValueError('ModelConfig: arch="rae" is the RAE baseline as published (recurrent encoder, direct '
                             "output); the TFA / warped-previous-output / accumulation / output options apply to "
                             'arch="ssr" only')
        if self.layout not in LAYOUTS:
            raise ValueError(f"ModelConfig.layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.arch == "rae" and self.layout != "spec":
            raise ValueError('ModelConfig: layout="fast" applies to arch="ssr" only')
        if self.width not in WIDTH_PRESETS:
            raise ValueError(
                f"ModelConfig.width must be one of {sorted(WIDTH_PRESETS)}, got {self.width!r}"
            )
        if self.accumulation not in ACCUMULATIONS:
            raise ValueError(f"ModelConfig.accumulation must be one of {ACCUMULATIONS}, got {self.accumulation!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"ModelConfig.output must be one of {OUTPUTS}, got {self.output!r}")
        if self.output == "kernel" and self.accumulation != "linear":
            raise ValueError('ModelConfig: output="kernel" filters linear irradiance; it needs accumulation="linear"')
        if self.signal not in SIGNALS:
            raise ValueError(f"ModelConfig.signal must be one of {SIGNALS}, got {self.signal!r}")
        if self.signal != "irradiance" and self.output != "kernel":
            raise ValueError('ModelConfig: signal="dual" chooses what the kernels filter; it needs output="kernel"')
        if not float(self.view_floor) > 0:
            raise ValueError(f"ModelConfig.view_floor must be > 0, got {self.view_floor!r}")
        object.__setattr__(self, "view_floor", float(self.view_floor))
        if not 0 <= float(self.specular_floor) < float("inf"):
            raise ValueError(f"ModelConfig.specular_floor must be a finite number >= 0, got {self.specular_floor!r}")
        object.__setattr__(self, "specular_floor", float(self.specular_floor))
        if self.history not in HISTORY_MODES:
            raise ValueError(f"ModelConfig.history must be one of {HISTORY_MODES}, got {self.history!r}")
        if self.history == "rule" and (self.arch != "ssr" or not self.use_tfa or self.accumulation != "linear"
                                       or self.output != "kernel"):
            raise ValueError("ModelConfig: history='rule' counts linear samples that the kernels filter; it needs "
                             "arch='ssr', use_tfa=True, accumulation='linear', output='kernel'")
        if not HISTORY_CAP_MIN <= float(self.history_cap) < float("inf"):
            raise ValueError(f"ModelConfig.history_cap must be a finite number >= {HISTORY_CAP_MIN}, "
                             f"got {self.history_cap!r}")
        object.__setattr__(self, "history_cap", float(self.history_cap))
        sizes = tuple(int(k) for k in self.kernel_sizes) or (5, 5, 3)
        if len(sizes) != 3 or any(k < 1 or k % 2 == 0 for k in sizes):
            raise ValueError(f"ModelConfig.kernel_sizes must be 3 odd sizes >= 1 (one per U-Net scale, "
                             f"coarsest first), got {self.kernel_sizes!r}")
        object.__setattr__(self, "kernel_sizes", sizes)

    @property
    def preset(self) -> WidthPreset:
        """The channel counts of :attr:`width`."""
        return WIDTH_PRESETS[self.width]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (lists, not tuples: equal to its own JSON round trip)."""
        data = asdict(self)
        data["kernel_sizes"] = list(self.kernel_sizes)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        data = dict(data)
        # options that lost their A/B and left (docs/research-log.md): configs saved with
        # them describe today's model only at the value that meant "off"
        for name, off in _REMOVED_FIELDS.items():
            value = data.pop(name, off)
            if value != off:
                raise ValueError(f"ModelConfig: {name}={value!r} is no longer supported (the option was measured, "
                                 f"not adopted and removed; only models with {name}={off!r} load)")
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"ModelConfig: unknown keys {sorted(unknown)}")
        # configs written before view_floor existed describe models trained with the legacy floor
        return cls(**{"view_floor": LEGACY_VIEW_FLOOR, **dict(data)})
