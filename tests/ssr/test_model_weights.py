"""save_model / load_model round trip and clear errors."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from ssr.model import ModelConfig, SSRNet, load_model, save_model

torch.set_num_threads(1)


def test_round_trip_restores_config_and_weights(tmp_path) -> None:
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(width="tiny", use_warped_prev=False, subpixel=False))
    tensors = save_model(model, tmp_path / "run" / "model", metadata={"steps": 3})
    assert tensors == tmp_path / "run" / "model.safetensors"
    sidecar = json.loads((tmp_path / "run" / "model.json").read_text())
    assert sidecar["model_config"] == {"width": "tiny", "use_tfa": True, "use_warped_prev": False, "subpixel": False,
                                       "accumulation": "log", "output": "direct", "kernel_sizes": [5, 5, 3],
                                       "arch": "ssr", "layout": "spec", "signal": "irradiance",
                                       "view_floor": 1e-2, "specular_floor": 0.0,
                                       "history": "learned", "history_cap": 32.0}
    assert sidecar["metadata"] == {"steps": 3}
    loaded = load_model(tmp_path / "run" / "model.safetensors")
    assert not loaded.training
    assert loaded.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_weights_saved_before_view_floor_load_with_the_legacy_floor(tmp_path) -> None:
    """A sidecar without ``view_floor`` (weights saved before it existed, e.g. the bundled
    model) loads with the 1e-4 those weights were trained with; new configs default to 1e-2;
    a non-positive floor is refused."""
    from ssr.data_tools.contract import LEGACY_VIEW_FLOOR
    from ssr.model.config import VIEW_FLOOR

    model = SSRNet(ModelConfig(width="tiny", accumulation="linear", output="kernel"))
    assert model.config.view_floor == VIEW_FLOOR == 1e-2
    save_model(model, tmp_path / "old")
    sidecar_path = tmp_path / "old.json"
    sidecar = json.loads(sidecar_path.read_text())
    del sidecar["model_config"]["view_floor"]
    sidecar_path.write_text(json.dumps(sidecar))
    assert load_model(tmp_path / "old").config.view_floor == LEGACY_VIEW_FLOOR == 1e-4
    assert ModelConfig.from_dict({"width": "tiny", "view_floor": 0.05}).view_floor == 0.05
    with pytest.raises(ValueError, match="view_floor must be > 0"):
        ModelConfig(view_floor=0.0)


def test_missing_weights_raise_file_not_found(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="model weights not found"):
        load_model(tmp_path / "nothing")


def test_mismatched_weights_are_rejected(tmp_path) -> None:
    save_model(SSRNet(ModelConfig(width="tiny")), tmp_path / "m")
    sidecar = json.loads((tmp_path / "m.json").read_text())
    sidecar["model_config"]["width"] = "small"
    (tmp_path / "m.json").write_text(json.dumps(sidecar))
    with pytest.raises(ValueError, match="do not match"):
        load_model(tmp_path / "m")


def test_training_checkpoints_load_like_weights(tmp_path) -> None:
    """`ssr bench quality --model <run>/last.pt` works: a checkpoint's config + weights."""
    from ssr.train import TrainConfig, train
    from ssr.train.synthetic import synthetic_packed_sequence

    config = TrainConfig(data="unused", out=str(tmp_path / "run"), model=ModelConfig(width="tiny", arch="rae"),
                         steps=4, batch=1, crop=8, clip=3, device="cpu", val_every=0)
    train(config, stop_at=2, train_sequences=[synthetic_packed_sequence(4, 8, 8)], val_sequences=[], progress=False)
    loaded = load_model(tmp_path / "run" / "last.pt")
    assert loaded.config.arch == "rae" and not loaded.training
    payload = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, payload["model"][name]), name
    if importlib.util.find_spec("onnxruntime") is not None:  # `ssr export --model <run>/last.pt`
        import hashlib

        from ssr.export.onnx import export_onnx, load_sidecar

        graph = export_onnx(tmp_path / "run" / "last.pt", tmp_path / "g.onnx", height=8, width=8)
        source = load_sidecar(graph)["source_weights"]
        assert source["sha256"] == hashlib.sha256((tmp_path / "run" / "last.pt").read_bytes()).hexdigest()
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_model(tmp_path / "run" / "missing.pt")
    torch.save({"step": 1}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not an ssr train checkpoint"):
        load_model(tmp_path / "foreign.pt")


def test_load_training_config_reads_weights_and_checkpoints(tmp_path) -> None:
    """The run configuration recorded with saved weights: the bundled model's, None for
    weights saved outside `ssr train`, a clear error for a missing file."""
    from ssr.model import ModelConfig, SSRNet, save_model
    from ssr.model.weights import load_training_config

    bundled = load_training_config()
    assert bundled is not None and bundled["spatial_loss"] in ("smape", "relmse") and bundled["steps"] > 0
    save_model(SSRNet(ModelConfig(width="tiny")), tmp_path / "bare")
    assert load_training_config(tmp_path / "bare") is None
    with pytest.raises(FileNotFoundError, match="nothing"):
        load_training_config(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="last.pt"):
        load_training_config(tmp_path / "last.pt")
