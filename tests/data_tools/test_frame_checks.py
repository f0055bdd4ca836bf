"""One set of frame value checks (data_tools/frame_checks.py) for every path a frame takes:
the same bad frame is refused with the same channel and problem by the EXR reader (and
``ssr check``), by a compact training copy and by the engine's ``check_frame``."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from ssr.data_tools.compact import COMPACT_SUFFIX, CompactSequence, write_compact
from ssr.data_tools.format import FormatError, Sequence, apply_subpixel_pattern, validate_sequence, write_sequence
from ssr.data_tools.frame_checks import FrameValueError, ValueProblem, find_value_problem
from ssr.data_tools.synthetic import synthetic_frame
from ssr.streaming import check_frame

HEIGHT, WIDTH, FRAMES = 8, 10, 2
BAD = 1  # the frame that gets corrupted


def _nan_color(layers: dict[str, np.ndarray]) -> None:
    layers["color"][2, 4, 1] = np.nan


def _negative_color(layers: dict[str, np.ndarray]) -> None:
    layers["color"][3, 5, 2] = -0.5


def _inf_motion(layers: dict[str, np.ndarray]) -> None:
    layers["motion"][1, 2, 1] = np.inf


def _short_normal(layers: dict[str, np.ndarray]) -> None:
    layers["normal"][4, 5] = (0.0, 0.0, 0.875)  # exact in float16: the same |n| in every path
    layers["normal"][6, 1] = (0.0, 0.6, 0.0)


def _miss_with_any_normal(layers: dict[str, np.ndarray]) -> None:
    layers["depth"][0, 0] = 0.0  # a miss: its normal is not checked (docs/format.md writes 0)
    layers["normal"][0, 0] = (0.0, 0.0, 0.0)
    layers["depth"][1, 1] = 0.0
    layers["normal"][1, 1] = (0.0, 3.0, 0.0)


CASES = [
    (_nan_color, ValueProblem("color", "color.G", "1 NaN/Inf values")),
    (_negative_color, ValueProblem("color", "color.B", "1 negative values")),
    (_inf_motion, ValueProblem("motion", "motion.Y", "1 NaN/Inf values")),
    (_short_normal, ValueProblem(
        "normal", "normal", "2 normals are not unit length where depth > 0 (first at x=5, y=4: |n| = 0.8750)")),
    (_miss_with_any_normal, None),
]


def _frames() -> list[dict[str, np.ndarray]]:
    return [synthetic_frame(index, HEIGHT, WIDTH) for index in range(FRAMES)]


def _disk(tmp_path: Path, corrupt: Callable) -> tuple[FormatError | None, FormatError | None]:
    """The error of ``Sequence.read_frame`` and the first of ``validate_sequence``."""
    frames = _frames()
    corrupt(frames[BAD])
    seq = write_sequence(tmp_path / "disk", frames, cuts=[0])
    report = validate_sequence(seq)
    try:
        Sequence(seq).read_frame(BAD)
    except FormatError as error:
        return error, report.errors[0] if report.errors else None
    return None, report.errors[0] if report.errors else None


def _compact(tmp_path: Path, corrupt: Callable) -> FormatError | None:
    good = write_sequence(tmp_path / "good", _frames(), cuts=[0])
    path = tmp_path / f"copy{COMPACT_SUFFIX}"
    write_compact(good, path)
    with np.load(path) as archive:
        arrays = {name: archive[name].copy() for name in archive.files}
    corrupt({name: array[BAD] for name, array in arrays.items() if name != "meta"})  # views: in place
    np.savez_compressed(path, **arrays)
    try:
        CompactSequence(path)
    except FormatError as error:
        return error
    return None


def _in_memory(corrupt: Callable) -> FrameValueError | None:
    frame = apply_subpixel_pattern({k: v for k, v in _frames()[BAD].items() if not k.startswith("reference")}, BAD)
    frame = {name: layer.copy() for name, layer in frame.items()}
    corrupt(frame)
    try:
        check_frame(frame)
    except FrameValueError as error:
        return error
    return None


@pytest.mark.parametrize(("corrupt", "expected"), CASES, ids=[case[0].__name__.strip("_") for case in CASES])
def test_every_path_refuses_the_same_frame_with_the_same_channel_and_problem(
    tmp_path: Path, corrupt: Callable, expected: ValueProblem | None
) -> None:
    frame = _frames()[BAD]
    corrupt(frame)
    assert find_value_problem(frame) == expected
    read, checked = _disk(tmp_path, corrupt)
    compact = _compact(tmp_path, corrupt)
    in_memory = _in_memory(corrupt)
    if expected is None:
        assert read is checked is compact is in_memory is None
        return
    for error in (read, checked):
        assert isinstance(error, FormatError)
        assert (error.channel, error.problem) == (expected.channel, expected.problem)
        assert f"frame_{BAD:05d}.exr [channel {expected.channel}]: {expected.problem}" in str(error)
    assert isinstance(compact, FormatError)
    assert (compact.channel, compact.problem) == (expected.channel, f"frame {BAD}: {expected.problem}")
    assert f"copy{COMPACT_SUFFIX}" in str(compact)
    assert isinstance(in_memory, FrameValueError) and isinstance(in_memory, ValueError)
    assert (in_memory.layer, in_memory.channel, in_memory.problem) == (expected.layer, expected.channel, expected.problem)
    assert str(in_memory).startswith(f"frame layer '{expected.layer}': {expected.problem}")
    if expected.channel != expected.layer:
        assert f"channel {expected.channel}" in str(in_memory)


def test_the_first_problem_follows_one_order() -> None:
    """NaN/Inf in any layer (docs/format.md layer order) before negative colour before normals."""
    frame = synthetic_frame(0, HEIGHT, WIDTH)
    _short_normal(frame)
    assert find_value_problem(frame).layer == "normal"
    _negative_color(frame)
    assert find_value_problem(frame).problem == "1 negative values"
    _inf_motion(frame)
    assert find_value_problem(frame).channel == "motion.Y"
    frame["albedo"][0, 0, 0] = np.nan
    assert find_value_problem(frame).channel == "albedo.R"
    frame["color"][0, 0] = np.inf
    assert find_value_problem(frame) == ValueProblem("color", "color.R", "1 NaN/Inf values")


def test_a_big_frame_is_checked_in_blocks_without_missing_a_pixel() -> None:
    """The blocked passes (min/max and squared lengths) see the last pixel of a 2K frame."""
    height, width = 1024, 2048
    normal = np.zeros((height, width, 3), np.float32)
    normal[..., 2] = 1.0
    depth = np.ones((height, width, 1), np.float32)
    layers = {"color": np.ones((height, width, 3), np.float32), "normal": normal, "depth": depth}
    assert find_value_problem(layers) is None
    normal[-1, -1] = (0.0, 0.0, 1.02)
    assert find_value_problem(layers).problem.startswith("1 normals are not unit length where depth > 0 "
                                                         f"(first at x={width - 1}, y={height - 1}")
    normal[-1, -1] = (0.0, 0.0, 1.0)
    normal[-1, -2, 0] = np.nan
    assert find_value_problem(layers) == ValueProblem("normal", "normal.X", "1 NaN/Inf values")
    normal[-1, -2, 0] = 0.0
    layers["color"][-1, -1, 2] = -np.inf
    assert find_value_problem(layers) == ValueProblem("color", "color.B", "1 NaN/Inf values")
