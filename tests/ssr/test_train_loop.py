"""Training loop: a tiny model overfits, resume is bit-identical, `ssr train` end to end."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from ssr.model import ModelConfig, SSRNet, load_model
from ssr.train import TrainConfig, train
from ssr.train.checkpoint import load_checkpoint
from ssr.train.cli import add_arguments, run
from ssr.data_tools.synthetic import write_synthetic_sequence
from ssr.train.synthetic import synthetic_packed_sequence

torch.set_num_threads(1)


def test_small_model_overfits_one_clip(fit_one_clip) -> None:
    torch.manual_seed(0)
    history = fit_one_clip(SSRNet(ModelConfig(width="small")), 60, 3e-3)
    assert history[-1] < 0.25 * history[0], history[::10]


def _config(out, steps: int = 6) -> TrainConfig:
    return TrainConfig(
        data="unused", out=str(out), model=ModelConfig(width="tiny"), steps=steps, batch=2, crop=8,
        clip=4, lr=1e-3, val_every=2, device="cpu", seed=5,
    )


def test_resume_is_bit_identical(tmp_path) -> None:
    sequences = [synthetic_packed_sequence(6, 12, 12, seed=s, name=f"s{s}") for s in range(2)]
    val = [synthetic_packed_sequence(4, 12, 12, seed=9, name="v")]
    straight = train(_config(tmp_path / "straight"), train_sequences=sequences, val_sequences=val, progress=False)
    interrupted = train(_config(tmp_path / "resumed"), stop_at=3, train_sequences=sequences, val_sequences=val, progress=False)
    assert interrupted.step == 3 and not interrupted.finished and interrupted.model_path is None
    resumed = train(
        TrainConfig.load(tmp_path / "resumed" / "config.json"), resume=True,
        train_sequences=sequences, val_sequences=val, progress=False,
    )
    assert straight.finished and resumed.finished and resumed.step == 6
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "resumed" / "last.pt")
    assert a["step"] == b["step"] == 6
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    for key, state in a["optimizer"]["state"].items():
        assert torch.equal(state["exp_avg_sq"], b["optimizer"]["state"][key]["exp_avg_sq"])
    assert a["scheduler"] == b["scheduler"]
    assert straight.validation == resumed.validation
    # the learning rate halved twice (at steps 2 and 4)
    assert a["scheduler"]["_last_lr"][0] == pytest.approx(1e-3 / 4)
    # without --resume an existing run is not overwritten
    with pytest.raises(FileExistsError):
        train(_config(tmp_path / "straight"), train_sequences=sequences, val_sequences=val, progress=False)


def test_prefetching_trains_the_same_clips_and_resumes_bit_identically(tmp_path) -> None:
    """The CUDA default (a worker thread drawing the next batch) changes nothing but speed."""
    sequences = [synthetic_packed_sequence(6, 12, 12, seed=s, name=f"s{s}") for s in range(2)]
    plain = train(_config(tmp_path / "plain"), train_sequences=sequences, val_sequences=[], progress=False,
                  prefetch=False)
    train(_config(tmp_path / "pre"), stop_at=3, train_sequences=sequences, val_sequences=[], progress=False,
          prefetch=True)
    resumed = train(TrainConfig.load(tmp_path / "pre" / "config.json"), resume=True, train_sequences=sequences,
                    val_sequences=[], progress=False, prefetch=True)
    assert plain.finished and resumed.finished
    a = load_checkpoint(tmp_path / "plain" / "last.pt")
    b = load_checkpoint(tmp_path / "pre" / "last.pt")
    assert a["samplers"] == b["samplers"]
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name


def test_cli_trains_exports_and_loads(tmp_path) -> None:
    for split, seed in (("train", 1), ("val", 2)):
        write_synthetic_sequence(tmp_path / "ds" / split / f"pan_{split}", frames=5, height=16, width=16, seed=seed)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "run"
    args = parser.parse_args(
        ["--data", str(tmp_path / "ds"), "--out", str(out), "--recipe", "paper", "--preset", "tiny", "--steps", "3",
         "--batch", "2", "--crop", "16", "--val-every", "2", "--device", "cpu", "--no-warped-prev", "--no-progress"]
    )
    assert run(args) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"] == "paper@1" and config["lr"] == 1e-4 and config["clip"] == 5
    assert config["model"] == {"width": "tiny", "use_tfa": True, "use_warped_prev": False, "subpixel": True,
                               "accumulation": "log", "output": "direct", "kernel_sizes": [5, 5, 3], "arch": "ssr",
                               "layout": "spec", "signal": "irradiance",
                               "view_floor": 1e-2, "specular_floor": 0.0,
                               "history": "learned", "history_cap": 32.0}
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file()
    assert len((out / "val.jsonl").read_text().splitlines()) == 2  # steps 2 and 3 (the end)
    assert any((out / "tb").iterdir())
    model = load_model(out / "model")
    assert model.config.use_warped_prev is False and not model.training
    metadata = json.loads((out / "model.json").read_text())["metadata"]
    assert metadata["steps"] == 3 and "psnr_srgb" in metadata["validation"] and "temporal_srgb" in metadata["validation"]


def test_the_shipped_recipe_is_the_default_and_flags_override_it(tmp_path) -> None:
    """Without --recipe ``ssr train`` trains the shipped recipe (the bundled model's
    architecture and optimisation); an explicit flag wins over the recipe; a recipe file of
    the same shape works; a bad recipe names the file and the key."""
    from ssr.model.weights import load_model
    from ssr.train.cli import config_from_args
    from ssr.train.recipe import load_recipe

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    default = config_from_args(parser.parse_args(["--data", "d", "--out", "o"]))
    bundled = load_model().config
    assert default.recipe == "shipped@1" and default.model == bundled
    shipped = load_recipe("shipped").train
    assert (default.steps, default.crop, default.lr, default.spatial_loss) == (
        shipped["steps"], shipped["crop"], shipped["lr"], shipped["spatial_loss"])
    told = config_from_args(parser.parse_args(["--data", "d", "--out", "o", "--crop", "32", "--signal", "irradiance",
                                               "--history", "rule", "--burn-in", "8"]))
    assert (told.crop, told.model.signal, told.model.history, told.burn_in) == (32, "irradiance", "rule", 8)
    assert told.model.layout == "fast" and told.steps == shipped["steps"]
    mine = tmp_path / "mine.toml"
    mine.write_text('name = "mine"\nversion = 3\n[model]\nwidth = "tiny"\n[train]\nsteps = 7\n')
    custom = config_from_args(parser.parse_args(["--data", "d", "--out", "o", "--recipe", str(mine)]))
    assert (custom.recipe, custom.model.width, custom.model.layout, custom.steps) == ("mine@3", "tiny", "spec", 7)
    mine.write_text('name = "mine"\nversion = 3\n[train]\nstep = 7\n')
    with pytest.raises(ValueError, match="mine.toml: \\[train\\] has unknown keys \\['step'\\]"):
        config_from_args(parser.parse_args(["--data", "d", "--out", "o", "--recipe", str(mine)]))
    with pytest.raises(ValueError, match="--recipe 'nope': not a built-in recipe"):
        config_from_args(parser.parse_args(["--data", "d", "--out", "o", "--recipe", "nope"]))


def test_cli_fine_tunes_from_weights_and_skips_incomplete_sequences(tmp_path, capsys) -> None:
    """--init starts from saved weights (architecture taken from them); --skip-incomplete
    trains while a sequence is still being written."""
    from ssr.model import ModelConfig, SSRNet, save_model

    for split, seed in (("train", 1), ("val", 2)):
        write_synthetic_sequence(tmp_path / "ds" / split / f"pan_{split}", frames=5, height=16, width=16, seed=seed)
    partial = write_synthetic_sequence(tmp_path / "ds" / "train" / "partial", frames=5, height=16, width=16, seed=3)
    (partial / "frame_00004.exr").unlink()
    torch.manual_seed(0)
    start = SSRNet(ModelConfig(width="tiny", accumulation="linear", output="kernel"))
    save_model(start, tmp_path / "start")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    common = ["--data", str(tmp_path / "ds"), "--steps", "1", "--batch", "1", "--crop", "16", "--lr", "1e-9",
              "--device", "cpu", "--no-progress", "--preset", "base"]
    assert run(parser.parse_args(common + ["--out", str(tmp_path / "tuned"), "--init", str(tmp_path / "start"),
                                           "--skip-incomplete"])) == 0
    assert "skipping 1 sequence(s) still being written: partial" in capsys.readouterr().out
    tuned = load_model(tmp_path / "tuned" / "model")
    assert tuned.config == start.config  # from the weights, not --preset base
    for name, tensor in start.state_dict().items():  # lr 1e-9: one step barely moves them
        torch.testing.assert_close(tuned.state_dict()[name], tensor, atol=1e-6, rtol=0)
    # the view floor is not a weight: --view-floor overrides the weights' value in a fine-tune
    assert run(parser.parse_args(common + ["--out", str(tmp_path / "floor"), "--init", str(tmp_path / "start"),
                                           "--skip-incomplete", "--view-floor", "0.05"])) == 0
    floored = load_model(tmp_path / "floor" / "model")
    assert floored.config.view_floor == 0.05 and floored.config.width == start.config.width
    capsys.readouterr()
    assert run(parser.parse_args(common + ["--out", str(tmp_path / "bad"), "--init", str(tmp_path / "nothing")])) == 2
    assert "--init" in capsys.readouterr().err
    with pytest.raises(Exception, match="frame_00004"):  # without the flag the partial sequence is an error
        run(parser.parse_args(common + ["--out", str(tmp_path / "strict")]))


def test_burn_in_trains_and_is_saved_with_the_run(tmp_path) -> None:
    """`--burn-in` reaches the config, the loop trains with warm clips, and a config whose
    burn-in leaves no sequence long enough fails with the lengths in the message."""
    from ssr.train.cli import config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--data", "d", "--out", "o", "--burn-in", "3"])
    assert config_from_args(args).burn_in == 3
    sequences = [synthetic_packed_sequence(7, 12, 12, seed=s, name=f"s{s}") for s in range(2)]
    config = TrainConfig(**{**_config(tmp_path / "warm", steps=3).to_dict(), "burn_in": 3,
                            "model": ModelConfig(width="tiny", accumulation="linear", output="kernel")})
    result = train(config, train_sequences=sequences, val_sequences=[], progress=False)
    assert result.finished and torch.isfinite(torch.tensor(result.last_loss["total"]))
    assert json.loads((tmp_path / "warm" / "config.json").read_text())["burn_in"] == 3
    with pytest.raises(ValueError, match=r"clip length 4 \+ burn-in 4"):
        train(TrainConfig(**{**config.to_dict(), "out": str(tmp_path / "long"), "burn_in": 4}),
              train_sequences=sequences, val_sequences=[], progress=False)
    with pytest.raises(ValueError, match="burn_in must be >= 0"):
        TrainConfig(data="d", out="o", burn_in=-1)


def test_snapshots_keep_every_nth_checkpoint(tmp_path) -> None:
    """`--snapshot-every N` keeps snap_<step>.pt at every N-th step beside last.pt; each holds
    that step's weights (loadable like any checkpoint), and a negative value is refused."""
    from ssr.model import load_model
    from ssr.train.cli import config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args(["--data", "d", "--out", "o", "--snapshot-every", "2"])).snapshot_every == 2
    sequences = [synthetic_packed_sequence(5, 12, 12, seed=s, name=f"s{s}") for s in range(2)]
    run = tmp_path / "snaps"
    config = TrainConfig(**{**_config(run, steps=5).to_dict(), "snapshot_every": 2, "val_every": 0})
    result = train(config, train_sequences=sequences, val_sequences=[], progress=False)
    assert result.finished
    assert sorted(p.name for p in run.glob("snap_*.pt")) == ["snap_2.pt", "snap_4.pt"]
    snap_2, snap_4 = (torch.load(run / f"snap_{n}.pt", weights_only=False) for n in (2, 4))
    assert (snap_2["step"], snap_4["step"]) == (2, 4)
    name = next(iter(snap_4["model"]))
    assert not torch.equal(snap_2["model"][name], snap_4["model"][name])
    loaded = load_model(run / "snap_4.pt")
    assert torch.equal(loaded.state_dict()[name], snap_4["model"][name])
    with pytest.raises(ValueError, match="snapshot_every must be >= 0"):
        TrainConfig(data="d", out="o", snapshot_every=-1)


def test_removed_options_load_only_where_they_were_off(tmp_path) -> None:
    """Options measured, not adopted and removed (--temporal-loss, --tonemap-weight,
    --color-augment): the flag is gone, a config saved with it loads where it was off and is
    refused, naming it, where it was on; the relMSE spatial term still trains."""
    from ssr.train.cli import config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--data", "d", "--out", "o", "--temporal-loss", "relmse"])
    assert not hasattr(config_from_args(parser.parse_args(["--data", "d", "--out", "o"])), "temporal_loss")
    sequences = [synthetic_packed_sequence(5, 12, 12, seed=s, name=f"s{s}") for s in range(2)]
    config = TrainConfig(**{**_config(tmp_path / "n2n", steps=3).to_dict(), "spatial_loss": "relmse", "val_every": 0})
    result = train(config, train_sequences=sequences, val_sequences=[], progress=False)
    assert result.finished and torch.isfinite(torch.tensor(result.last_loss["temporal"]))
    saved = json.loads((tmp_path / "n2n" / "config.json").read_text())
    assert "temporal_loss" not in saved
    off = {"tonemap_weight": 0.0, "color_augment": False, "temporal_loss": "smape"}
    assert TrainConfig.from_dict({**saved, **off}).steps == config.steps
    for name, on in (("tonemap_weight", 50.0), ("temporal_loss", "relmse")):
        with pytest.raises(ValueError, match=f"{name}={on!r} is no longer supported"):
            TrainConfig.from_dict({**saved, name: on})
    with pytest.raises(ValueError, match="spatial_loss must be smape or relmse"):
        TrainConfig(data="d", out="o", spatial_loss="l2")


def test_a_fine_tune_keeps_the_base_runs_loss_unless_told(tmp_path, capsys) -> None:
    """--init without --spatial-loss trains with the spatial loss the initial
    weights (or checkpoint) were trained with and says so; explicit flags win; weights that
    record no training run fall back to the recipe's. (A fine-tune that silently went
    back to SMAPE darkened noisy materials: docs/benchmarks-history.md section 15.)"""
    from ssr.model import ModelConfig, SSRNet, save_model

    write_synthetic_sequence(tmp_path / "ds" / "train" / "pan", frames=5, height=16, width=16, seed=1)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    common = ["--data", str(tmp_path / "ds"), "--steps", "1", "--batch", "1", "--crop", "16", "--device", "cpu",
              "--no-progress", "--preset", "tiny", "--accumulation", "linear", "--output", "kernel"]

    def losses(run_name: str) -> str:
        return json.loads((tmp_path / run_name / "config.json").read_text())["spatial_loss"]

    assert run(parser.parse_args(common + ["--out", str(tmp_path / "base"), "--spatial-loss", "smape"])) == 0
    for init in ("base/model", "base/last.pt"):
        capsys.readouterr()
        name = "ft_" + init.replace("/", "_").replace(".", "_")
        assert run(parser.parse_args(common + ["--out", str(tmp_path / name), "--init", str(tmp_path / init)])) == 0
        assert losses(name) == "smape"
        assert "--spatial-loss smape (from --init" in capsys.readouterr().err
    assert run(parser.parse_args(common + ["--out", str(tmp_path / "told"), "--init", str(tmp_path / "base/model"),
                                           "--spatial-loss", "relmse"])) == 0
    assert losses("told") == "relmse"
    save_model(SSRNet(ModelConfig(width="tiny", accumulation="linear", output="kernel")), tmp_path / "bare")
    assert run(parser.parse_args(common + ["--out", str(tmp_path / "from_bare"), "--init", str(tmp_path / "bare")])) == 0
    assert losses("from_bare") == "relmse"  # the shipped recipe's
