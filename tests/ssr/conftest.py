"""Shared fixtures of the model tests."""

from __future__ import annotations

from typing import Callable

import pytest
import torch

from ssr.losses import clip_loss
from ssr.model import SSRNet
from ssr.train import ClipUnroller
from ssr.train.synthetic import synthetic_packed_sequence


@pytest.fixture
def fit_one_clip() -> Callable[[SSRNet, int, float], list[float]]:
    """``fit(net, steps, lr) -> [loss per step]``: Adam on one synthetic 5-frame 16x16
    clip with the training loss (first frame a reset)."""

    def fit(net: SSRNet, steps: int, lr: float) -> list[float]:
        seq = synthetic_packed_sequence(5, 16, 16)
        packed = torch.from_numpy(seq.packed)[None]
        reference = torch.from_numpy(seq.reference)[None]
        reference_albedo = torch.from_numpy(seq.reference_albedo)[None, -1]
        reset = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0]])
        unroller = ClipUnroller(net)
        optimizer = torch.optim.Adam(unroller.parameters(), lr=lr)
        history = []
        for _ in range(steps):
            colors, albedo_acc = unroller(packed, reset)
            loss = clip_loss(colors, reference, packed[:, :, 17:19], albedo_acc, reference_albedo).total
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        return history

    return fit
