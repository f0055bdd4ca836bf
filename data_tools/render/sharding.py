"""``--shard i/N``: split work items across machines (item k goes to shard k mod N)."""

from __future__ import annotations

from typing import Sequence, TypeVar

__all__ = ["parse_shard", "shard_items"]

T = TypeVar("T")


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/N"`` -> ``(i, N)`` with ``0 <= i < N``; ``None`` -> ``(0, 1)``."""
    if text is None or text == "":
        return 0, 1
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise ValueError(f"--shard must look like i/N (e.g. 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {text!r}: need N >= 1 and 0 <= i < N")
    return index, count


def shard_items(items: Sequence[T], shard: tuple[int, int]) -> list[T]:
    """The items of shard ``(i, N)``: every N-th item starting at i."""
    index, count = shard
    return [item for position, item in enumerate(items) if position % count == index]
