"""The RAE baseline (ssr.model.rae, issue 10): the shared state contract, recurrence,
training on a tiny clip and `ssr train --arch rae` (ONNX parity: tests/export)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from ssr.data_tools.contract import SLICES, STATE_CHANNELS
from ssr.model import ModelConfig, SSRNet, initial_state, load_model, step
from ssr.model.cost import conv_macs_per_pixel
from ssr.model.rae import hidden_planes
from ssr.data_tools.synthetic import write_synthetic_sequence

torch.set_num_threads(1)
RAE = ModelConfig(width="tiny", arch="rae")


def _frame(seed: int, height: int = 12, width: int = 20) -> torch.Tensor:
    packed = torch.rand(1, 19, height, width, generator=torch.Generator().manual_seed(seed))
    packed[:, SLICES["motion"]] = 0.0
    return packed


def test_state_holds_hidden_planes_and_the_current_albedo() -> None:
    torch.manual_seed(0)
    net = SSRNet(RAE).eval()
    assert net.tfa is None and net.unet is None
    packed = _frame(0)
    color, state = step(net, packed, initial_state(1, 12, 20), True)
    assert color.shape == (1, 3, 12, 20) and state.acc.shape == (1, STATE_CHANNELS, 12, 20)
    torch.testing.assert_close(state.acc[:, SLICES["albedo"]], packed[:, SLICES["albedo"]])
    hidden = torch.cat([state.acc[:, planes] for planes in hidden_planes()], dim=1)
    assert hidden.shape[1] == STATE_CHANNELS - 3 and hidden.abs().max() <= 1.0
    # coarse levels are stored nearest-upsampled: constant over 2x2 (level 1) tiles
    level1 = state.acc[:, hidden_planes()[1]]
    torch.testing.assert_close(level1[..., 0::2, 0::2], level1[..., 1::2, 1::2])
    assert torch.all(color >= 0) and torch.isfinite(color).all()


def test_history_matters_except_at_a_reset() -> None:
    torch.manual_seed(1)
    net = SSRNet(RAE).eval()
    packed = _frame(1)
    fresh = initial_state(1, 12, 20)
    _, state = step(net, _frame(2), fresh, True)
    with torch.no_grad():
        after_history, _ = step(net, packed, state, False)
        without_history, _ = step(net, packed, fresh, False)
        reset_with_history, _ = step(net, packed, state, True)
        reset_fresh, _ = step(net, packed, fresh, True)
    assert (after_history - without_history).abs().max() > 1e-6
    torch.testing.assert_close(reset_with_history, reset_fresh)


def test_config_validation_and_budget() -> None:
    with pytest.raises(ValueError, match="arch must be one of"):
        ModelConfig(arch="nsrr")
    for options in ({"use_tfa": False}, {"use_warped_prev": False}, {"output": "kernel", "accumulation": "linear"}):
        with pytest.raises(ValueError, match='arch="rae"'):
            ModelConfig(arch="rae", **options)
    assert ModelConfig.from_dict(RAE.to_dict()) == RAE
    assert ModelConfig.from_dict({"width": "small"}).arch == "ssr"  # sidecars written before the field
    # the baseline costs less than the shipped budget (30.9k conv MACs per pixel)
    assert conv_macs_per_pixel(SSRNet(ModelConfig(width="small", arch="rae"))) < 30_888


def test_rae_learns_a_tiny_clip(fit_one_clip) -> None:
    torch.manual_seed(0)
    history = fit_one_clip(SSRNet(ModelConfig(width="small", arch="rae")), 40, 3e-3)
    assert history[-1] < 0.5 * history[0], history[::10]


def test_cli_trains_an_rae(tmp_path, capsys) -> None:
    from ssr.train.cli import add_arguments, run

    for split, seed in (("train", 1), ("val", 2)):
        write_synthetic_sequence(tmp_path / "ds" / split / f"pan_{split}", frames=5, height=16, width=16, seed=seed)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    common = ["--data", str(tmp_path / "ds"), "--preset", "tiny", "--steps", "2", "--batch", "2", "--crop", "16",
              "--device", "cpu", "--no-progress", "--arch", "rae"]
    # over the shipped recipe (fast kernel model) the RAE is refused, pointing at the baseline recipe
    assert run(parser.parse_args(common + ["--out", str(tmp_path / "refused")])) == 2
    assert "starts from --recipe paper" in capsys.readouterr().err
    common += ["--recipe", "paper"]
    assert run(parser.parse_args(common + ["--out", str(tmp_path / "run")])) == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["arch"] == "rae"
    model = load_model(tmp_path / "run" / "model")
    assert model.config.arch == "rae" and model.rae is not None
    assert run(parser.parse_args(common + ["--out", str(tmp_path / "bad"), "--no-tfa"])) == 2
    assert 'arch="rae"' in capsys.readouterr().err
    assert np.isfinite(sum(p.detach().sum().item() for p in model.parameters()))
