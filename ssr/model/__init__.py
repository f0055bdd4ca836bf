"""The SSR network: temporal feature accumulator + reconstruction U-Net (docs/method.md)."""

from .config import WIDTH_PRESETS, ModelConfig, WidthPreset
from .network import SSRNet, StreamState, initial_state, remodulate, step
from .tfa import TemporalFeatureAccumulator
from .unet import ReconstructionUNet
from .warp import Warp, warp
from .weights import DEFAULT_WEIGHTS, load_model, save_model

__all__ = [
    "DEFAULT_WEIGHTS",
    "WIDTH_PRESETS",
    "ModelConfig",
    "ReconstructionUNet",
    "SSRNet",
    "StreamState",
    "TemporalFeatureAccumulator",
    "Warp",
    "WidthPreset",
    "initial_state",
    "load_model",
    "remodulate",
    "save_model",
    "step",
    "warp",
]
