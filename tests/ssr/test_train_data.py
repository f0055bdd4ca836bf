"""Training data: augmentation consistency with motion vectors, sampler, reading sequences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssr.model.warp import warp
from ssr.train.data import ClipSampler, PrefetchingSampler, augment_planes, find_sequences, load_packed_sequence, load_sequences
from ssr.data_tools.synthetic import write_synthetic_sequence
from ssr.train.synthetic import synthetic_packed_sequence

torch.set_num_threads(1)


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
@pytest.mark.parametrize("flip", [False, True])
def test_augmentation_commutes_with_warping(turns: int, flip: bool) -> None:
    """aug(warp(prev, motion)) == warp(aug(prev), aug(motion)): motion vectors are rotated right."""
    rng = np.random.default_rng(turns + 4 * flip)
    previous = rng.random((1, 3, 8, 8)).astype(np.float32)
    motion = rng.integers(-2, 3, (1, 2, 8, 8)).astype(np.float32)
    warped = warp(torch.from_numpy(previous), torch.from_numpy(motion)).numpy()
    planes = np.concatenate([warped, motion], axis=1)  # motion in channels 3-4
    augmented = augment_planes(planes, turns, flip, motion=slice(3, 5))
    aug_previous = augment_planes(previous, turns, flip)
    rewarped = warp(torch.from_numpy(aug_previous), torch.from_numpy(augmented[:, 3:5])).numpy()
    np.testing.assert_array_equal(rewarped, augmented[:, :3])
    if turns % 2 == 1 or flip:
        assert not np.array_equal(augmented[:, 3:5], motion)


def test_rotation_maps_motion_as_derived() -> None:
    motion = np.zeros((2, 4, 4), np.float32)
    motion[0] = 1.0  # everything came from the right
    turned = augment_planes(motion, 1, False, motion=slice(0, 2))
    # a counter-clockwise quarter turn: (dx, dy) -> (dy, -dx)
    assert np.all(turned[0] == 0.0) and np.all(turned[1] == -1.0)
    flipped = augment_planes(motion, 0, True, motion=slice(0, 2))
    assert np.all(flipped[0] == -1.0) and np.all(flipped[1] == 0.0)


def test_sampler_is_seeded_restorable_and_rank_specific() -> None:
    sequences = [synthetic_packed_sequence(7, 16, 16, seed=s, name=f"s{s}") for s in range(2)]
    sequences[1].cuts[3] = True
    a = ClipSampler(sequences, clip=5, crop=8, seed=3)
    b = ClipSampler(sequences, clip=5, crop=8, seed=3)
    state = a.state_dict()
    first = a.sample(4)
    np.testing.assert_array_equal(first.packed, b.sample(4).packed)
    assert first.packed.shape == (4, 5, 19, 8, 8)
    assert first.reference.shape == (4, 5, 3, 8, 8) and first.reference_albedo.shape == (4, 5, 3, 8, 8)
    assert np.all(first.reset[:, 0] == 1.0)
    b.load_state_dict(state)
    np.testing.assert_array_equal(first.packed, b.sample(4).packed)
    other_rank = ClipSampler(sequences, clip=5, crop=8, seed=3, rank=1)
    assert not np.array_equal(first.packed, other_rank.sample(4).packed)
    # cuts inside a clip reset the history: sample until a clip from s1 spans frame 3
    resets = np.concatenate([a.sample(8).reset[:, 1:] for _ in range(10)])
    assert resets.max() == 1.0


def test_sampler_rejects_short_sequences() -> None:
    with pytest.raises(ValueError, match="at least 5 frames"):
        ClipSampler([synthetic_packed_sequence(4, 8, 8)], clip=5, crop=8, seed=0)


def test_reads_and_packs_sequences_from_disk(tmp_path) -> None:
    write_synthetic_sequence(tmp_path / "ds" / "train" / "pan_a", frames=5, height=8, width=12, seed=1)
    write_synthetic_sequence(tmp_path / "ds" / "val" / "pan_b", frames=5, height=8, width=12, seed=2)
    train_paths = find_sequences(tmp_path / "ds", "train")
    assert [p.name for p in train_paths] == ["pan_a"]
    assert [p.name for p in find_sequences(tmp_path / "ds", "val")] == ["pan_b"]
    assert find_sequences(tmp_path / "ds", "train", scenes=["nope"]) == []
    loaded = load_sequences(train_paths, subpixel=True, num_workers=2)[0]
    expected = synthetic_packed_sequence(5, 8, 12, seed=1)
    assert loaded.packed.shape == (5, 19, 8, 12)
    np.testing.assert_array_equal(loaded.packed[:, 13], expected.packed[:, 13])  # subpixel mask
    np.testing.assert_array_equal(loaded.packed[:, 17:19], expected.packed[:, 17:19])  # motion
    np.testing.assert_allclose(loaded.packed, expected.packed, rtol=2e-3, atol=2e-3)  # HALF storage
    np.testing.assert_allclose(loaded.reference, expected.reference, rtol=2e-3, atol=2e-3)
    assert loaded.cuts.tolist() == [True, False, False, False, False]
    full = load_packed_sequence(train_paths[0], subpixel=False)
    assert np.all(full.packed[:, 13] == 1.0)
    # a folder of sequences without train/: everything is training data, no val split
    assert [p.name for p in find_sequences(tmp_path / "ds" / "val", "train")] == ["pan_b"]
    assert find_sequences(tmp_path / "ds" / "val", "val") == []


def test_burn_in_sampler_leads_each_clip_with_its_own_count() -> None:
    """Each clip gets 0..burn_in frames before its loss frames: the batch carries the
    largest count, each clip's stream starts (reset) where its own count begins, and the
    loss frames are the plain sampler's kind of clip (clip frames, frame 0 of the window reset)."""
    sequences = [synthetic_packed_sequence(12, 16, 16, seed=s, name=f"s{s}") for s in range(2)]
    burnt = ClipSampler(sequences, clip=4, crop=8, seed=3, burn_in=3)
    seen = set()
    for _ in range(20):
        batch = burnt.sample(4)
        lead = batch.burn_in
        assert 0 <= lead <= 3 and batch.packed.shape == (4, lead + 4, 19, 8, 8)
        assert batch.reference.shape[1] == lead + 4 and np.all(batch.reset[:, 0] == 1.0)
        # no cuts in the synthetic data: the last reset inside the lead is where a clip's stream starts
        starts = [int(np.flatnonzero(row[: lead + 1])[-1]) for row in batch.reset]
        seen.update(lead - s for s in starts)
        assert max(lead - s for s in starts) == lead
    assert seen == {0, 1, 2, 3}
    with pytest.raises(ValueError, match=r"at least 12 frames \(clip length 5 \+ burn-in 7\)"):
        ClipSampler([synthetic_packed_sequence(11, 8, 8)], clip=5, crop=8, seed=0, burn_in=7)
    # burn_in=0 samples exactly what it always did
    np.testing.assert_array_equal(ClipSampler(sequences, clip=4, crop=8, seed=3, burn_in=0).sample(3).packed,
                                  ClipSampler(sequences, clip=4, crop=8, seed=3).sample(3).packed)


def test_burn_in_unroll_equals_a_stream_that_ran_before_the_clip() -> None:
    """The loss frames of a burnt-in clip are what a plain stream outputs at those frames,
    and the burn-in frames carry no gradient."""
    from ssr.model import ModelConfig, SSRNet
    from ssr.train.loop import ClipUnroller

    torch.manual_seed(0)
    net = SSRNet(ModelConfig(width="tiny", accumulation="linear", output="kernel"))
    seq = synthetic_packed_sequence(7, 8, 8, seed=2, name="s")
    packed = torch.from_numpy(seq.packed[None])
    reset = torch.zeros(1, 7)
    reset[0, 0] = 1.0
    unroller = ClipUnroller(net)
    full, _ = unroller(packed, reset)
    burnt, _ = unroller(packed, reset, burn_in=3)
    assert burnt.shape[1] == 4
    torch.testing.assert_close(burnt, full[:, 3:], rtol=0, atol=0)
    burnt.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    # a reset at the end of the lead makes the clip a cold one: the same as streaming from there
    reset_late = reset.clone()
    reset_late[0, 3] = 1.0
    cold, _ = unroller(packed, reset_late, burn_in=3)
    fresh, _ = unroller(packed[:, 3:], reset[:, :4])
    torch.testing.assert_close(cold, fresh, rtol=0, atol=1e-6)


def test_prefetching_sampler_hands_out_the_samplers_clips_and_state() -> None:
    sequences = [synthetic_packed_sequence(7, 16, 16, seed=s, name=f"s{s}") for s in range(2)]
    plain = ClipSampler(sequences, clip=3, crop=8, seed=4)
    prefetching = PrefetchingSampler(ClipSampler(sequences, clip=3, crop=8, seed=4), batch=2)
    try:
        for _ in range(3):
            state = plain.state_dict()
            assert prefetching.state_dict() == state  # before the batch not yet handed out
            np.testing.assert_array_equal(prefetching.sample().packed, plain.sample(2).packed)
        restored = ClipSampler(sequences, clip=3, crop=8, seed=0)
        restored.load_state_dict(prefetching.state_dict())
        np.testing.assert_array_equal(restored.sample(2).packed, plain.sample(2).packed)
    finally:
        prefetching.close()


def test_augment_planes_writes_into_a_destination() -> None:
    planes = np.random.default_rng(0).random((2, 5, 6, 6)).astype(np.float32)
    for turns in range(4):
        out = np.empty_like(planes)
        result = augment_planes(planes, turns, True, motion=slice(3, 5), out=out)
        assert result is out
        np.testing.assert_array_equal(out, augment_planes(planes, turns, True, motion=slice(3, 5)))
