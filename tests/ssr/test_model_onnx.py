"""ONNX export of SSRNet (opset 17) runs in onnxruntime and matches torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssr.model import ModelConfig, SSRNet

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

torch.set_num_threads(1)


@pytest.mark.parametrize("size", [(16, 16), (14, 10)])
def test_onnx_export_matches_torch(tmp_path, size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(width="tiny")).eval()
    height, width = size
    generator = torch.Generator().manual_seed(1)
    packed = torch.rand(1, 19, height, width, generator=generator)
    packed[:, 17:19] = (packed[:, 17:19] - 0.5) * 3.0
    acc = torch.rand(1, 14, height, width, generator=generator)
    prev_out = torch.rand(1, 3, height, width, generator=generator)
    path = tmp_path / "ssr.onnx"
    names = ["packed", "acc", "prev_out", "reset"]
    torch.onnx.export(
        model,
        (packed, acc, prev_out, torch.zeros(1, 1, 1, 1)),
        str(path),
        input_names=names,
        output_names=["color", "acc_new", "out_log"],
        opset_version=17,
        dynamo=False,
    )
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for reset_value in (0.0, 1.0):
        reset = torch.full((1, 1, 1, 1), reset_value)
        with torch.no_grad():
            expected = model(packed, acc, prev_out, reset)
        feeds = {n: t.numpy() for n, t in zip(names, (packed, acc, prev_out, reset))}
        outputs = session.run(None, feeds)
        for got, want in zip(outputs, expected):
            np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("reset_value", [0.0, 1.0])
def test_fast_layout_exports_and_matches_torch(tmp_path, reset_value: float) -> None:
    """layout="fast" through ONNX Runtime, at a reset (the graph's arithmetic reset select,
    ssr.model.network._select_reset) and mid-stream."""
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(width="fast", accumulation="linear", output="kernel", layout="fast")).eval()
    generator = torch.Generator().manual_seed(2)
    packed = torch.rand(1, 19, 16, 12, generator=generator)
    packed[:, 17:19] = (packed[:, 17:19] - 0.5) * 3.0
    acc = torch.rand(1, 14, 16, 12, generator=generator)
    prev_out = torch.rand(1, 3, 16, 12, generator=generator)
    reset = torch.full((1, 1, 1, 1), reset_value)
    path = tmp_path / "fast.onnx"
    torch.onnx.export(model, (packed, acc, prev_out, reset), str(path),
                      input_names=["packed", "acc", "prev_out", "reset"],
                      output_names=["color", "acc_new", "out_log"], opset_version=17, dynamo=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"packed": packed.numpy(), "acc": acc.numpy(), "prev_out": prev_out.numpy(), "reset": reset.numpy()}
    with torch.no_grad():
        expected = model(packed, acc, prev_out, reset)
    for got, want in zip(session.run(None, feeds), expected):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-4)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "Softmax" not in ops and "Where" not in ops  # the slow CPU ops are written out
