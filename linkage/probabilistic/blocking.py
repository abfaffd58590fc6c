"""Blocking: which left/right pairs are compared, generated a chunk at a time.

A pass is a list of fields; a pair is a candidate of the pass when it agrees on all of them (a missing
value agrees with nothing). Candidates are the union of the passes: each pair is produced once, by the
first pass it agrees on. Pairs are generated from per-key counts a chunk of positions at a time, so
memory stays bounded however large a block is (recordlinkage's indexers build every pair at once).
Random pairs, for estimating u, are drawn here too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from linkage.probabilistic.compare import Column


#: Random pairs of values compared per comparison to estimate u (see em.py).
RANDOM_PAIRS = 30_000


def random_pairs(left: np.ndarray, right: np.ndarray, size: int = RANDOM_PAIRS) -> tuple[np.ndarray, np.ndarray]:
    """Positions of `size` random pairs of rows with a value present (code >= 0) on both sides, or of all
    such pairs when there are fewer. Drawn with seed 0 from the rows sorted by code, so the values drawn
    do not depend on the order of the rows."""
    left_rows, right_rows = _rows_by_key(left), _rows_by_key(right)
    if len(left_rows) * len(right_rows) <= size:
        return np.repeat(left_rows, len(right_rows)), np.tile(right_rows, len(left_rows))
    rng = np.random.default_rng(0)
    return left_rows[rng.integers(0, len(left_rows), size)], right_rows[rng.integers(0, len(right_rows), size)]


def _rows_by_key(keys: np.ndarray) -> np.ndarray:
    """The positions of the rows with a key (>= 0), by key and, within a key, by position. A stable sort: of keys
    below 2**16 as 16-bit numbers (numpy sorts those by radix, three times faster), else one plain sort of
    key × rows + position where that fits in 64 bits (twice as fast as a stable argsort of 64-bit keys)."""
    rows = np.flatnonzero(keys >= 0)
    present = keys[rows].astype(np.int64)
    if not len(rows):
        return rows
    largest = int(present.max())
    if largest < 1 << 16:
        return rows[np.argsort(present.astype(np.uint16), kind="stable")]
    if largest >= np.iinfo(np.int64).max // len(keys):
        return rows[np.argsort(present, kind="stable")]
    return np.sort(present * len(keys) + rows) % len(keys)


class Blocking:
    """The passes' keys for both tables: equal non-negative keys on a pass mean the pair is a candidate."""

    def __init__(self, passes: Sequence[Sequence[str]], columns: dict[str, Column]):
        self.passes = tuple(tuple(p) for p in passes)
        self.keys = [_pass_keys([columns[name] for name in fields]) for fields in self.passes]
        self._sizes: dict[int, int] = {}

    def sizes(self) -> list[int]:
        """Pairs agreeing on each pass (counting pairs that earlier passes also produce)."""
        return [self._sizes[number] if number in self._sizes else int(_blocks(left, right)[-1].sum())
                for number, (left, right) in enumerate(self.keys)]

    def chunks(self, chunk_size: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(pass index, left positions, right positions) of new candidate pairs, at most chunk_size at a time."""
        for number, (left, right) in enumerate(self.keys):
            left_rows, right_rows, left_start, right_start, right_count, sizes = _blocks(left, right)
            self._sizes[number] = int(sizes.sum())
            offsets = np.concatenate([[0], np.cumsum(sizes)])
            for start in range(0, int(offsets[-1]), chunk_size):
                t = np.arange(start, min(start + chunk_size, int(offsets[-1])), dtype=np.int64)
                block = np.searchsorted(offsets, t, side="right") - 1
                local = t - offsets[block]
                li = left_rows[left_start[block] + local // right_count[block]]
                ri = right_rows[right_start[block] + local % right_count[block]]
                new = ~self.agreement(li, ri, passes=number).any(axis=1)
                yield number, li[new], ri[new]

    def agreement(self, li: np.ndarray, ri: np.ndarray, passes: int | None = None) -> np.ndarray:
        """(pairs × passes) whether each pair agrees on all fields of each pass (the first `passes` only)."""
        keys = self.keys if passes is None else self.keys[:passes]
        hit = np.zeros((len(li), len(keys)), dtype=bool)
        for number, (left, right) in enumerate(keys):
            key = left[li]
            hit[:, number] = (key >= 0) & (key == right[ri])
        return hit


def _pass_keys(columns: list[Column]) -> tuple[np.ndarray, np.ndarray]:
    """One joint code per record for a pass's combination of fields; -1 where any of them is missing."""
    left, right = columns[0].left.astype(np.int64), columns[0].right.astype(np.int64)
    for column in columns[1:]:
        width = np.int64(len(column.values))
        left = np.where((left < 0) | (column.left < 0), -1, left * width + column.left)
        right = np.where((right < 0) | (column.right < 0), -1, right * width + column.right)
        both = np.concatenate([left, right])
        codes = np.where(both < 0, -1, pd.factorize(both)[0])  # keep codes small so the next field fits
        left, right = codes[: len(left)], codes[len(left):]
    return left, right


def _blocks(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows of both tables sorted by key, and for each key present on both sides where its rows start,
    how many right rows it has, and how many pairs it makes."""
    left_rows, right_rows = _rows_by_key(left), _rows_by_key(right)
    left_keys, left_start, left_count = np.unique(left[left_rows], return_index=True, return_counts=True)
    right_keys, right_start, right_count = np.unique(right[right_rows], return_index=True, return_counts=True)
    _, on_left, on_right = np.intersect1d(left_keys, right_keys, assume_unique=True, return_indices=True)
    right_count = right_count[on_right].astype(np.int64)
    sizes = left_count[on_left].astype(np.int64) * right_count
    return left_rows, right_rows, left_start[on_left], right_start[on_right], right_count, sizes
