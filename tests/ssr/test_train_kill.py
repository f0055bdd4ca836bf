"""`ssr train` killed with SIGKILL (mid-step or mid-save) resumes with nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ssr.train.checkpoint import load_checkpoint
from ssr.data_tools.synthetic import write_synthetic_sequence

STEPS = 24


def _command(data: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ssr.cli", "train", "--data", str(data), "--out", str(out), "--preset", "tiny",
            "--steps", str(STEPS), "--batch", "2", "--crop", "8", "--clip", "3", "--checkpoint-every", "1",
            "--val-every", "0", "--val-frames", "2", "--seed", "3", "--device", "cpu", "--no-progress", *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    for split, seed in (("train", 1), ("val", 2)):
        write_synthetic_sequence(tmp_path / "ds" / split / f"pan_{split}", frames=4, height=12, width=12, seed=seed)
    data = tmp_path / "ds"
    straight = tmp_path / "straight"
    subprocess.run(_command(data, straight), env=_env(), check=True, capture_output=True, timeout=300)

    killed = tmp_path / "killed"
    checkpoint = killed / "last.pt"
    kills = 0
    for attempt in range(3):
        resume = ("--resume",) if checkpoint.exists() else ()
        process = subprocess.Popen(_command(data, killed, *resume), env=_env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen = load_checkpoint(checkpoint)["step"] if checkpoint.exists() else 0
        deadline = time.monotonic() + 120
        # let it write a few more checkpoints, then kill it without warning
        while time.monotonic() < deadline and process.poll() is None:
            if checkpoint.exists():
                try:
                    if load_checkpoint(checkpoint)["step"] >= seen + 3 + attempt:
                        break
                except Exception:
                    pass  # os.replace is atomic, but a read may race a replace on some systems
            time.sleep(0.02)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        state = load_checkpoint(checkpoint)  # the latest checkpoint is never corrupt
        assert 0 < state["step"] <= STEPS
    assert kills >= 1, "training finished before it could be killed; make it longer"
    subprocess.run(_command(data, killed, "--resume"), env=_env(), check=True, capture_output=True, timeout=300)

    a = load_checkpoint(straight / "last.pt")
    b = load_checkpoint(killed / "last.pt")
    assert a["step"] == b["step"] == STEPS
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
