"""SSRNet through what users run to export it: ``ssr export`` (``ssr.export.onnx.export_onnx``
and its ``check_parity``), then the graph streamed by ``OnnxStream`` like the torch model.

The model's side of the export: the default layout at a size that is not a multiple of 4
(the graph pads inside itself) and the ``fast`` layout (whose graph must keep the slow CPU
ops out) both leave ``ssr export`` with its parity check passed and stream a real sequence
with a cut (a reset over a live state) like torch. The exporter's own options, the runtime
backends and the command's errors are tests/export/test_onnx_export.py's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from ssr.cli import main as ssr_main  # noqa: E402
from ssr.data_tools.format import Sequence  # noqa: E402
from ssr.data_tools.synthetic import write_synthetic_sequence  # noqa: E402
from ssr.export.onnx import check_parity, load_sidecar  # noqa: E402
from ssr.model import ModelConfig, SSRNet, save_model  # noqa: E402
from ssr.runtime.onnx_backend import OnnxStream  # noqa: E402
from ssr.runtime.stream import FrameStream  # noqa: E402

torch.set_num_threads(1)

CONFIGS = {
    "default-14x10": (ModelConfig(width="tiny"), 14, 10),
    "fast-16x12": (ModelConfig(width="fast", accumulation="linear", output="kernel", layout="fast"), 16, 12),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_ssr_export_graph_passes_its_check_and_streams_like_torch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    config, height, width = CONFIGS[name]
    torch.manual_seed(0)
    model = SSRNet(config).eval()
    save_model(model, tmp_path / "weights")
    out = tmp_path / "model.onnx"
    assert ssr_main(["export", "--model", str(tmp_path / "weights"), "--out", str(out),
                     "--height", str(height), "--width", str(width)]) == 0
    printed = capsys.readouterr().out
    assert f"parity torch vs onnxruntime ({height}x{width}, 3 frames)" in printed
    onnx.checker.check_model(str(out))
    sidecar = load_sidecar(out)
    assert sidecar["dynamic"] is False
    graph = onnx.load(str(out)).graph
    if config.layout == "fast":
        ops = {node.op_type for node in graph.node}
        assert "Softmax" not in ops and "Where" not in ops  # the slow CPU ops are written out
    # another random stream than the command's, longer
    assert check_parity(model, out, height, width, frames=5, seed=3) <= 1e-4
    # a real sequence read from disk, with a cut at frame 3: the graph's reset select must
    # ignore the live state there, as torch's does
    sequence = Sequence(write_synthetic_sequence(tmp_path / "plane", width=width, height=height, frames=5,
                                                 cuts=(0, 3)))
    onnx_stream, torch_stream = OnnxStream(out), FrameStream(model)
    outputs = []
    for index, cut, frame in sequence.frames():
        have, want = onnx_stream.denoise(frame, cut=cut), torch_stream.denoise(frame, cut=cut)
        assert have.shape == (height, width, 3)
        np.testing.assert_allclose(have, want, rtol=1e-3, atol=1e-4, err_msg=f"{name} frame {index}")
        outputs.append(have)
    assert onnx_stream.frames_since_reset == 2
    # the cut really restarted the stream: frame 3 equals frame 3 denoised on its own
    alone = OnnxStream(out).denoise(sequence.read_frame(3), cut=True)
    np.testing.assert_array_equal(outputs[3], alone)


@pytest.mark.parametrize("history", ["learned", "rule"])
def test_a_native_stage_graph_at_an_odd_size_streams_as_torch(tmp_path: Path, history: str) -> None:
    """The deployed path (``--pixel-stages native``, always dynamic) at a size that is not a
    multiple of 4: the runtime pads the frame, and the native stages, told the frame's
    extent, warp against the frame's edge and fill the border with the edge's values, as
    the torch model's replicate padding of its U-Net input. Before they were told, the last
    2 rows and columns were up to 0.28 off after a few frames (docs/export.md)."""
    from ssr.export.onnx import export_onnx
    from ssr.model import load_model

    net = load_model(None)
    if history == "rule":
        net = SSRNet(ModelConfig.from_dict({**net.config.to_dict(), "history": "rule"}))
        net.load_state_dict(load_model(None).state_dict(), strict=False)
        net.eval()
    graph = export_onnx(net, tmp_path / "native.onnx", height=16, width=16, pixel_stages="native")
    height, width = 30, 42
    sequence = Sequence(write_synthetic_sequence(tmp_path / "plane", width=width, height=height, frames=12))
    onnx_stream, torch_stream = OnnxStream(graph), FrameStream(net)
    for index, cut, frame in sequence.frames():
        have, want = onnx_stream.denoise(frame, cut=cut), torch_stream.denoise(frame, cut=cut)
        np.testing.assert_allclose(have, want, rtol=1e-3, atol=1e-4, err_msg=f"{history} frame {index}")
