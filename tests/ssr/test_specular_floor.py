"""The demodulation albedo's specular floor (``ModelConfig.specular_floor``,
:func:`ssr.data_tools.contract.specular_floor_offset`): packing, training data, the
stream loop and the saved config all agree on it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ssr.data_tools.contract import ALBEDO_EPS, SLICES, specular_floor_offset
from ssr.data_tools.pack import PACK_LAYERS, PackError, native_available, pack_frame, pack_frame_reference
from ssr.model import ModelConfig, SSRNet, load_model, save_model
from ssr.streaming import StreamLoop, TorchBackend
from ssr.train.data import load_packed_sequence
from ssr.data_tools.synthetic import write_synthetic_sequence

torch.set_num_threads(1)


def _frame(seed: int = 0, height: int = 8, width: int = 12) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = {name: rng.random((height, width, channels)).astype(np.float32) for name, channels in PACK_LAYERS}
    frame["mask"] = (rng.random((height, width, 1)) < 0.3).astype(np.float32)
    frame["color"] *= 5 * frame["mask"]
    frame["metallic"] = (rng.random((height, width, 1)) < 0.3).astype(np.float32)
    frame["normal"] = frame["normal"] / np.linalg.norm(frame["normal"], axis=-1, keepdims=True)  # unit, as FORMAT says
    return frame


def test_offset_is_the_floor_on_smooth_dielectrics_only() -> None:
    roughness = np.array([0.0, 0.25, 1.0, 0.0, 1.5], np.float32)
    metallic = np.array([0.0, 0.0, 0.0, 1.0, 0.0], np.float32)
    np.testing.assert_allclose(specular_floor_offset(roughness, metallic, 0.2), [0.2, 0.15, 0.0, 0.0, 0.0])
    torch_offset = specular_floor_offset(torch.from_numpy(roughness), torch.from_numpy(metallic), 0.2)
    np.testing.assert_allclose(torch_offset.numpy(), [0.2, 0.15, 0.0, 0.0, 0.0])


def test_reference_packer_demodulates_by_the_floored_albedo() -> None:
    frame = _frame()
    packed = pack_frame_reference(frame, specular_floor=0.2)
    offset = specular_floor_offset(frame["roughness"], frame["metallic"], 0.2)
    albedo = frame["albedo"] + offset
    np.testing.assert_allclose(packed[SLICES["albedo"]], albedo.transpose(2, 0, 1), rtol=1e-6)
    traced = frame["mask"][..., 0] == 1
    expected = np.where(traced[None], np.log1p(frame["color"] / (albedo + ALBEDO_EPS)).transpose(2, 0, 1), 0)
    np.testing.assert_allclose(packed[SLICES["irradiance"]], expected, rtol=1e-5, atol=1e-6)
    plain = pack_frame_reference(frame)
    # every other plane is the floor-free packing's; floor 0 is exactly the old contract
    np.testing.assert_array_equal(np.delete(packed, np.r_[0:6], axis=0), np.delete(plain, np.r_[0:6], axis=0))
    np.testing.assert_array_equal(pack_frame_reference(frame, specular_floor=0.0), plain)
    # radiance is unchanged by the floor: it only moves what is divided and multiplied back
    radiance = np.expm1(packed[0:3]) * (packed[3:6] + ALBEDO_EPS)
    np.testing.assert_allclose(radiance, np.expm1(plain[0:3]) * (plain[3:6] + ALBEDO_EPS), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("native", [False, True])
def test_pack_frame_agrees_with_the_reference(native: bool) -> None:
    if native and not native_available():
        pytest.skip("ssr._native is not built")
    frame = _frame(seed=3)
    reference = pack_frame_reference(frame, specular_floor=0.3)
    np.testing.assert_allclose(pack_frame(frame, native=native, specular_floor=0.3), reference, rtol=1e-5, atol=1e-5)
    if native:
        from ssr import _native

        layers = [np.ascontiguousarray(frame[name]) for name, _ in PACK_LAYERS]
        with pytest.raises(ValueError, match="argument 'specular_floor' must be a finite number >= 0"):
            _native.pack_frame(*layers, np.empty_like(reference), specular_floor=-1.0)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_bad_floor_is_refused_by_name(bad: float) -> None:
    with pytest.raises(PackError, match="specular_floor must be a finite number >= 0"):
        pack_frame_reference(_frame(), specular_floor=bad)
    with pytest.raises(PackError, match="specular_floor"):
        pack_frame(_frame(), specular_floor=bad)
    with pytest.raises(ValueError, match="ModelConfig.specular_floor"):
        ModelConfig(specular_floor=bad)


def test_config_round_trip_and_old_configs_load_without_a_floor(tmp_path) -> None:
    config = ModelConfig(width="tiny", accumulation="linear", output="kernel", specular_floor=0.2)
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    save_model(SSRNet(config), tmp_path / "model")
    assert load_model(tmp_path / "model").config.specular_floor == 0.2
    sidecar = json.loads((tmp_path / "model.json").read_text())
    del sidecar["model_config"]["specular_floor"]
    (tmp_path / "model.json").write_text(json.dumps(sidecar))
    assert load_model(tmp_path / "model").config.specular_floor == 0.0


def test_training_data_and_albedo_target_use_the_floor(tmp_path) -> None:
    path = tmp_path / "seq"
    write_synthetic_sequence(path, frames=3, height=8, width=12, seed=4)
    plain = load_packed_sequence(path)
    floored = load_packed_sequence(path, specular_floor=0.25)
    offset = specular_floor_offset(plain.packed[:, 10:11], plain.packed[:, 11:12], np.float32(0.25))
    assert float(offset.max()) > 0
    np.testing.assert_allclose(floored.packed[:, SLICES["albedo"]], plain.packed[:, SLICES["albedo"]] + offset, atol=1e-6)
    np.testing.assert_allclose(floored.reference_albedo, plain.reference_albedo + offset, atol=1e-6)
    np.testing.assert_array_equal(floored.reference, plain.reference)


def test_stream_packs_each_frame_with_the_model_floor() -> None:
    torch.manual_seed(0)
    net = SSRNet(ModelConfig(width="tiny", accumulation="linear", output="kernel", specular_floor=0.2)).eval()
    backend = TorchBackend(net)
    assert backend.specular_floor == 0.2
    frame = _frame(seed=5, height=16, width=16)
    denoised = StreamLoop(backend).denoise(frame)
    np.testing.assert_array_equal(denoised, StreamLoop(backend).step(pack_frame(frame, specular_floor=0.2)))
    assert not np.allclose(denoised, StreamLoop(backend).step(pack_frame(frame)))
