"""`ssr train` under torchrun: two CPU processes with gloo (DistributedDataParallel)."""

from __future__ import annotations

import os
import subprocess
import sys

import torch

from ssr.model import load_model
from ssr.train.checkpoint import load_checkpoint
from ssr.data_tools.synthetic import write_synthetic_sequence


def test_torchrun_two_processes_gloo(tmp_path) -> None:
    for split, seed in (("train", 1), ("val", 2)):
        write_synthetic_sequence(tmp_path / "ds" / split / f"pan_{split}", frames=5, height=16, width=16, seed=seed)
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "ssr.cli", "train", "--data", str(tmp_path / "ds"), "--out", str(out), "--preset", "tiny",
        "--steps", "3", "--batch", "4", "--crop", "8", "--val-every", "3", "--device", "cpu", "--no-progress",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    checkpoint = load_checkpoint(out / "last.pt")
    assert checkpoint["step"] == 3
    samplers = checkpoint["samplers"]
    assert len(samplers) == 2 and samplers[0] != samplers[1]  # each rank draws its own clips
    model = load_model(out / "model")
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, checkpoint["model"][name]), name
    assert result.stdout.count("trained 3 steps") == 1  # only rank 0 reports
