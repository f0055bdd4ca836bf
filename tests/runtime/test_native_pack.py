"""The native packer ``ssr._native.pack_frame`` against the NumPy reference.

Frames are made here with a seeded generator: [H, W, C] float32 layers in the layout of
``ssr.data_tools.format``, masks from the real subpixel pattern (``subpixel_mask``).
Every test but the ``SSR_REQUIRE_NATIVE`` guard skips when the extension is not built.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssr.data_tools.format import subpixel_mask
from ssr.data_tools.pack import PACK_LAYERS, native_available, pack_frame, pack_frame_reference

LAYERS = PACK_LAYERS


@pytest.fixture(scope="module")
def native() -> ModuleType:
    """The compiled module; skips the test when it is not built."""
    return pytest.importorskip("ssr._native")


def make_frame(
    height: int, width: int, seed: int, frame_index: int = 0, valid_depth: bool = True
) -> dict[str, np.ndarray]:
    """A random frame with plausible value ranges; misses (depth 0) on ~20% of pixels."""
    rng = np.random.default_rng(seed)
    frame = {name: rng.random((height, width, c), dtype=np.float32) for name, c in LAYERS}
    mask = subpixel_mask(frame_index, height, width)[:, :, None]
    frame["mask"] = mask
    # HDR colour with fireflies, only where traced
    color = rng.exponential(2.0, (height, width, 3))
    color[rng.random((height, width, 1)).repeat(3, axis=2) < 0.02] *= 1000.0
    frame["color"] = (color * mask).astype(np.float32)
    frame["shadow"] = frame["shadow"] * mask
    normal = rng.normal(size=(height, width, 3)).astype(np.float32)
    frame["normal"] = normal / np.linalg.norm(normal, axis=2, keepdims=True).clip(1e-6)
    depth = rng.uniform(0.5, 80.0, (height, width, 1)).astype(np.float32)
    misses = rng.random((height, width, 1)) < 0.2
    frame["depth"] = np.where(misses | (not valid_depth), 0.0, depth).astype(np.float32)
    frame["motion"] = rng.normal(0.0, 3.0, (height, width, 2)).astype(np.float32)
    return frame


def native_pack(
    native: ModuleType, frame: dict[str, np.ndarray], num_threads: int = 0
) -> np.ndarray:
    """Run the native packer into a NaN-filled buffer (so unwritten planes show up)."""
    height, width = frame["color"].shape[:2]
    out = np.full((19, height, width), np.nan, np.float32)
    result = native.pack_frame(*(frame[name] for name, _ in LAYERS), out, num_threads=num_threads)
    assert result is None
    return out


def assert_matches_reference(packed: np.ndarray, frame: dict[str, np.ndarray]) -> None:
    expected = pack_frame_reference(frame)
    assert packed.shape == expected.shape
    np.testing.assert_allclose(packed, expected, rtol=1e-6, atol=1e-6)


def test_native_required_when_asked() -> None:
    """CI sets SSR_REQUIRE_NATIVE=1: a missing extension is then a failure, not a skip."""
    if os.environ.get("SSR_REQUIRE_NATIVE") != "1":
        pytest.skip("SSR_REQUIRE_NATIVE is not set")
    assert native_available(), "ssr._native is not built but SSR_REQUIRE_NATIVE=1"


@pytest.mark.parametrize("height, width", [(1, 1), (3, 5), (17, 33), (64, 63)])
@pytest.mark.parametrize("num_threads", [0, 1, 2, 7])
def test_matches_reference(native: ModuleType, height: int, width: int, num_threads: int) -> None:
    frame = make_frame(height, width, seed=height * 1000 + width, frame_index=height + width)
    assert_matches_reference(native_pack(native, frame, num_threads), frame)


@pytest.mark.parametrize("frame_index", range(4))
def test_every_pattern_phase(native: ModuleType, frame_index: int) -> None:
    frame = make_frame(10, 12, seed=frame_index, frame_index=frame_index)
    packed = native_pack(native, frame, num_threads=3)
    assert_matches_reference(packed, frame)
    traced = subpixel_mask(frame_index, 10, 12) == 1
    assert np.all(packed[0:3][:, ~traced] == 0.0)
    assert np.all(packed[0:3][:, traced] > 0.0)
    np.testing.assert_array_equal(packed[13], subpixel_mask(frame_index, 10, 12))


@pytest.mark.parametrize("num_threads", [1, 2, 7])
def test_no_valid_depth_gives_zero_plane(native: ModuleType, num_threads: int) -> None:
    frame = make_frame(9, 14, seed=5, valid_depth=False)
    packed = native_pack(native, frame, num_threads)
    assert_matches_reference(packed, frame)
    assert np.all(packed[9] == 0.0)


def test_depth_normalised_by_frame_maximum(native: ModuleType) -> None:
    frame = make_frame(8, 8, seed=11)
    frame["depth"][:] = 0.0
    frame["depth"][7, 7, 0] = 40.0  # the maximum sits in the last band of rows
    frame["depth"][0, 1, 0] = 10.0
    frame["depth"][3, 3, 0] = -5.0  # invalid: treated like a miss
    frame["depth"][4, 4, 0] = np.nan  # invalid: never counts
    packed = native_pack(native, frame, num_threads=4)
    assert packed[9, 7, 7] == 1.0
    assert packed[9, 0, 1] == 0.25
    assert packed[9, 3, 3] == 0.0
    assert packed[9, 4, 4] == 0.0
    assert_matches_reference(packed, frame)


def test_known_values(native: ModuleType) -> None:
    """Hand-computed planes of a 1x2 frame: traced and untraced pixel."""
    frame = {name: np.zeros((1, 2, c), np.float32) for name, c in LAYERS}
    frame["mask"][0, 0] = 1.0
    frame["albedo"][:] = 0.996
    frame["color"][0, 0] = np.e - 1.0
    frame["color"][0, 1] = 5.0  # not traced: ignored
    frame["motion"][0, 1] = (1.5, -2.0)
    frame["transparent"][0, 0] = (0.1, 0.2, 0.3)
    packed = native_pack(native, frame, num_threads=1)
    np.testing.assert_allclose(packed[0:3, 0, 0], 1.0, rtol=1e-6)
    assert np.all(packed[0:3, 0, 1] == 0.0)
    np.testing.assert_array_equal(packed[17:19, 0, 1], [1.5, -2.0])
    np.testing.assert_array_equal(packed[14:17, 0, 0], np.float32([0.1, 0.2, 0.3]))
    np.testing.assert_array_equal(packed[13], [[1.0, 0.0]])


def test_special_values_match_reference(native: ModuleType) -> None:
    """Non-finite and out-of-range inputs follow the same IEEE float32 arithmetic."""
    frame = make_frame(4, 6, seed=21, frame_index=0)  # traced pixels: even rows and columns
    frame["color"][0, 0] = (np.inf, np.nan, -5.0)  # inf, NaN, log1p(< -1) = NaN
    frame["albedo"][0, 2] = (-0.004, 0.0, 1.0)  # division by zero
    frame["color"][1, 1] = np.nan  # untraced: ignored
    frame["depth"][2, 2] = np.inf  # the maximum is +inf: finite depths become 0
    frame["motion"][3, 5] = (np.nan, -np.inf)
    with np.errstate(all="ignore"):
        expected = pack_frame_reference(frame)
    packed = native_pack(native, frame, num_threads=2)
    np.testing.assert_allclose(packed, expected, rtol=1e-6, atol=1e-6)  # NaN == NaN here
    assert np.isinf(packed[0, 0, 0]) and np.isnan(packed[1, 0, 0]) and np.isnan(packed[2, 0, 0])
    assert packed[0:3, 1, 1].tolist() == [0.0, 0.0, 0.0]


def test_result_independent_of_thread_count(native: ModuleType) -> None:
    frame = make_frame(31, 20, seed=3)
    single = native_pack(native, frame, num_threads=1)
    for num_threads in (2, 5, 31, 64):
        np.testing.assert_array_equal(native_pack(native, frame, num_threads), single)


def test_concurrent_calls_from_python_threads(native: ModuleType) -> None:
    """The GIL is released while packing; concurrent calls must not interfere."""
    from concurrent.futures import ThreadPoolExecutor

    frames = [make_frame(40, 24 + index, seed=index, frame_index=index) for index in range(6)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda frame: native_pack(native, frame, 2), frames))
    for packed, frame in zip(results, frames):
        assert_matches_reference(packed, frame)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    num_threads=st.integers(0, 9),
    seed=st.integers(0, 2**16),
    frame_index=st.integers(0, 3),
)
def test_property_matches_reference(
    native: ModuleType, height: int, width: int, num_threads: int, seed: int, frame_index: int
) -> None:
    valid_depth = seed % 5 != 0
    frame = make_frame(height, width, seed=seed, frame_index=frame_index, valid_depth=valid_depth)
    assert_matches_reference(native_pack(native, frame, num_threads), frame)


@pytest.mark.parametrize("height, width", [(0, 4), (3, 0)])
def test_empty_frame(native: ModuleType, height: int, width: int) -> None:
    frame = {name: np.zeros((height, width, c), np.float32) for name, c in LAYERS}
    out = np.empty((19, height, width), np.float32)
    native.pack_frame(*(frame[name] for name, _ in LAYERS), out)
    assert pack_frame_reference(frame).shape == (19, height, width)


@pytest.mark.parametrize("bad_index", range(len(LAYERS)))
def test_wrong_input_shape_names_argument(native: ModuleType, bad_index: int) -> None:
    frame = make_frame(6, 7, seed=1)
    name, channels = LAYERS[bad_index]
    frame[name] = np.zeros((6, 7, channels + 1), np.float32)
    out = np.empty((19, 6, 7), np.float32)
    with pytest.raises(ValueError, match=f"'{name}'") as error:
        native.pack_frame(*(frame[n] for n, _ in LAYERS), out)
    assert f"({6 if name != 'color' else 'H'}, " in str(error.value)
    assert f"got (6, 7, {channels + 1})" in str(error.value)


@pytest.mark.parametrize("shape", [(6, 7), (6, 8, 1), (5, 7, 1), (6, 7, 1, 1)])
def test_wrong_depth_rank_or_size(native: ModuleType, shape: tuple[int, ...]) -> None:
    frame = make_frame(6, 7, seed=1)
    frame["depth"] = np.zeros(shape, np.float32)
    out = np.empty((19, 6, 7), np.float32)
    with pytest.raises(ValueError, match=r"'depth' must have shape \(H, W, 1\) = \(6, 7, 1\)"):
        native.pack_frame(*(frame[n] for n, _ in LAYERS), out)


@pytest.mark.parametrize("shape", [(18, 6, 7), (19, 7, 6), (19, 42), (19, 6, 7, 1)])
def test_wrong_output_shape(native: ModuleType, shape: tuple[int, ...]) -> None:
    frame = make_frame(6, 7, seed=1)
    out = np.zeros(shape, np.float32)
    with pytest.raises(ValueError, match=r"'out' must have shape \(19, H, W\) = \(19, 6, 7\)"):
        native.pack_frame(*(frame[n] for n, _ in LAYERS), out)
    assert np.all(out == 0.0)


def test_non_contiguous_output_rejected(native: ModuleType) -> None:
    frame = make_frame(6, 7, seed=1)
    storage = np.zeros((19, 6, 14), np.float32)
    with pytest.raises(ValueError, match="'out' must be C-contiguous"):
        native.pack_frame(*(frame[n] for n, _ in LAYERS), storage[:, :, ::2])
    assert np.all(storage == 0.0)


def test_output_of_wrong_dtype_or_readonly_rejected(native: ModuleType) -> None:
    frame = make_frame(6, 7, seed=1)
    with pytest.raises(TypeError):
        native.pack_frame(*(frame[n] for n, _ in LAYERS), np.zeros((19, 6, 7), np.float64))
    readonly = np.zeros((19, 6, 7), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(TypeError):
        native.pack_frame(*(frame[n] for n, _ in LAYERS), readonly)
    assert np.all(readonly == 0.0)


def test_output_aliasing_an_input_rejected(native: ModuleType) -> None:
    frame = make_frame(6, 7, seed=1)
    storage = np.zeros(19 * 6 * 7 + 6 * 7 * 3, np.float32)
    frame["color"] = storage[: 6 * 7 * 3].reshape(6, 7, 3)
    out = storage[6 * 7 * 3 - 1 : -1].reshape(19, 6, 7)  # one float of overlap
    with pytest.raises(ValueError, match="overlaps"):
        native.pack_frame(*(frame[n] for n, _ in LAYERS), out)


def test_negative_thread_count_rejected(native: ModuleType) -> None:
    frame = make_frame(4, 4, seed=1)
    with pytest.raises(ValueError, match="num_threads"):
        native.pack_frame(*(frame[n] for n, _ in LAYERS), np.empty((19, 4, 4), np.float32), -1)


def test_non_contiguous_and_float64_inputs_are_converted(native: ModuleType) -> None:
    frame = make_frame(12, 10, seed=2)
    strided = dict(frame)
    strided["color"] = np.asfortranarray(frame["color"])
    strided["normal"] = np.ascontiguousarray(frame["normal"][:, ::-1])[:, ::-1]
    strided["motion"] = frame["motion"].astype(np.float64)
    assert not strided["normal"].flags.c_contiguous
    np.testing.assert_array_equal(native_pack(native, strided), native_pack(native, frame))


def test_read_only_inputs_accepted(native: ModuleType) -> None:
    frame = make_frame(5, 5, seed=4)
    for layer in frame.values():
        layer.flags.writeable = False
    assert_matches_reference(native_pack(native, frame), frame)


def test_thread_helpers(native: ModuleType) -> None:
    default = native.num_threads_default()
    assert 1 <= default <= 16
    assert native.resolve_threads(0, 3, 5) == 1  # small frame: calling thread only
    assert native.resolve_threads(0, 1024, 2048) == min(default, 1024 * 2048 // 32768)
    assert native.resolve_threads(7, 64, 63) == 7
    assert native.resolve_threads(7, 3, 5) == 3  # at least one row per worker
    assert native.resolve_threads(1000, 4096, 4096) == 64
    with pytest.raises(ValueError):
        native.resolve_threads(-1, 4, 4)


def test_module_metadata(native: ModuleType) -> None:
    assert native.version() == native.__version__
    assert native.version().count(".") >= 2


def test_native_constants_equal_the_python_contract(native: ModuleType) -> None:
    """The C header and ssr.data_tools.contract define the same frame contract."""
    from ssr.data_tools import contract

    assert native.PACKED_PLANES == contract.PACKED_CHANNELS
    assert native.STATE_PLANES == contract.STATE_CHANNELS
    assert native.ALBEDO_EPS == np.float32(contract.ALBEDO_EPS)
    assert native.PLANES == {p.name: (p.start, p.channels) for p in contract.PACKED_PLANES}


def test_pack_frame_dispatches_to_native(native: ModuleType) -> None:
    """The public pack_frame uses the native path and agrees with the reference."""
    frame = make_frame(16, 9, seed=8, frame_index=2)
    out = np.full((19, 16, 9), np.nan, np.float32)
    result = pack_frame(frame, out=out, native=True)
    assert result is out
    assert_matches_reference(out, frame)


# A plain C99 engine-side caller of the C core (no Python): known values, error codes.
C_CALLER = textwrap.dedent(
    r"""
    #include <stdio.h>
    #include <string.h>
    #include "ssr_pack.h"

    #define H 3
    #define W 4
    #define N (H * W)

    int main(void) {
        static float color[N * 3], albedo[N * 3], normal[N * 3], depth[N], rough[N],
            metal[N], shadow[N], mask[N], transparent[N * 3], motion[N * 2];
        static float out[SSR_PACK_PLANES * N];
        for (int i = 0; i < N; ++i) {
            for (int c = 0; c < 3; ++c) {
                color[3 * i + c] = 1.718281828f;
                albedo[3 * i + c] = 1.0f - SSR_PACK_ALBEDO_EPS;
            }
            depth[i] = (float)i;  /* pixel 0 is a miss, the maximum is N - 1 */
            mask[i] = (float)(i % 2);
            motion[2 * i + 1] = -(float)i;
        }
        ssr_frame_view frame = {H, W, color, albedo, normal, depth, rough, metal, shadow,
                                mask, transparent, motion};
        int status = ssr_pack_frame(&frame, out, 2);
        if (status != SSR_PACK_OK) { printf("status %d\n", status); return 1; }
        printf("irr %.5f %.5f\n", out[0], out[1]);
        printf("depth %.5f %.5f\n", out[9 * N + 0], out[9 * N + N - 1]);
        printf("motion_y %.1f\n", out[18 * N + 5]);
        printf("null %d\n", ssr_pack_frame(NULL, out, 0));
        printf("threads %d\n", ssr_pack_frame(&frame, out, -1));
        frame.height = -1;
        printf("size %d\n", ssr_pack_frame(&frame, out, 0));
        frame.height = H;
        printf("alias %d\n", ssr_pack_frame(&frame, color, 0));
        printf("string %s\n", ssr_pack_status_string(SSR_PACK_ERROR_ALIASING));
        printf("resolve %d\n", ssr_pack_resolve_threads(0, H, W));
        return 0;
    }
    """
)


@pytest.mark.slow
def test_c_interface_from_plain_c(tmp_path: Path) -> None:
    """ssr_pack.h compiles as C99 and the C core links and runs without Python."""
    c_compiler = shutil.which("cc") or shutil.which("gcc")
    cxx_compiler = shutil.which("c++") or shutil.which("g++")
    if c_compiler is None or cxx_compiler is None:
        pytest.skip("no C/C++ compiler on PATH")
    repo_root = Path(__file__).resolve().parents[2]
    include_dir = repo_root / "runtime" / "include"
    (tmp_path / "caller.c").write_text(C_CALLER)
    commands = [
        [c_compiler, "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{include_dir}", "-c",
         str(tmp_path / "caller.c"), "-o", str(tmp_path / "caller.o")],
        [cxx_compiler, "-std=c++17", "-O1", "-Wall", "-Wextra", f"-I{include_dir}",
         "-c", str(repo_root / "runtime" / "native" / "pack.cpp"), "-o", str(tmp_path / "pack.o")],
        [cxx_compiler, str(tmp_path / "caller.o"), str(tmp_path / "pack.o"), "-pthread",
         "-o", str(tmp_path / "caller")],
    ]  # fmt: skip
    for command in commands:
        built = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert built.returncode == 0, built.stderr
    ran = subprocess.run([str(tmp_path / "caller")], capture_output=True, text=True, timeout=30)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = dict(line.split(" ", 1) for line in ran.stdout.strip().splitlines())
    assert lines["irr"] == "0.00000 1.00000"  # mask 0 at pixel 0, log1p(e - 1) at pixel 1
    assert lines["depth"] == "0.00000 1.00000"
    assert lines["motion_y"] == "-5.0"
    assert lines["null"] == "1"  # SSR_PACK_ERROR_NULL_POINTER
    assert lines["threads"] == "3"  # SSR_PACK_ERROR_INVALID_THREADS
    assert lines["size"] == "2"  # SSR_PACK_ERROR_INVALID_SIZE
    assert lines["alias"] == "4"  # SSR_PACK_ERROR_ALIASING
    assert "overlaps" in lines["string"]
    assert lines["resolve"] == "1"


@pytest.mark.parametrize("threads", [0, 1, 3])
def test_unpack_color_native_equals_reference(native: ModuleType, threads: int) -> None:
    from ssr.data_tools.pack import unpack_color, unpack_color_reference

    rng = np.random.default_rng(threads)
    planes = rng.normal(size=(1, 3, 19, 23)).astype(np.float32)
    planes[0, 1, 2, 3] = np.nan
    planes[0, 2, 0, 0] = np.inf
    for height, width in ((19, 23), (17, 20), (1, 1)):
        out = np.full((height, width, 3), -5, np.float32)
        native.unpack_color(planes, height, width, out, threads)
        expected = unpack_color_reference(planes, height, width)
        np.testing.assert_array_equal(out, expected)
        assert np.all(out >= 0) and unpack_color(planes, height, width).flags.c_contiguous
    with pytest.raises(ValueError, match="does not fit planes"):
        native.unpack_color(planes, 20, 23, np.empty((20, 23, 3), np.float32), 0)
    with pytest.raises(ValueError, match="must be C-contiguous float32"):
        native.unpack_color(planes, 19, 23, np.empty((19, 23, 4), np.float32), 0)


@pytest.mark.parametrize("threads", [0, 1, 3])
def test_warp_planes_native_equals_reference_and_torch(native: ModuleType, threads: int) -> None:
    from ssr.data_tools.warp import warp_planes_reference

    rng = np.random.default_rng(threads)
    src = rng.normal(size=(1, 14, 13, 19)).astype(np.float32)
    motion_x = rng.uniform(-25, 25, (13, 19)).astype(np.float32)  # many taps outside the frame
    motion_y = rng.uniform(-4, 4, (13, 19)).astype(np.float32)
    motion_x[0, 0], motion_y[1, 1] = np.nan, np.inf
    out = np.full_like(src, 7.0)
    native.warp_planes(src, motion_x, motion_y, out, threads)
    reference_motion_x = np.nan_to_num(motion_x, nan=1e9)
    reference_motion_y = np.nan_to_num(motion_y, posinf=1e9)
    np.testing.assert_allclose(out, warp_planes_reference(src, reference_motion_x, reference_motion_y), atol=1e-5)
    torch = pytest.importorskip("torch")
    from ssr.model.warp import warp

    finite_x, finite_y = np.nan_to_num(motion_x, nan=0.0), np.nan_to_num(motion_y, posinf=0.0)
    native.warp_planes(src, finite_x, finite_y, out, threads)
    expected = warp(torch.from_numpy(src), torch.from_numpy(np.stack([finite_x, finite_y])[None])).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    with pytest.raises(ValueError, match="motion planes must have shape"):
        native.warp_planes(src, motion_x[:, :5], motion_y, out, threads)
