"""Deciding links: one-to-one assignment that refuses to guess between near-equal candidates.

A false link is worse than a missing one: when a record's best candidates are within `margin` bits of
weight of each other (less than 2^margin times as likely), none of them is linked and all go to review.
"""

from __future__ import annotations

import numpy as np


def assign(left: np.ndarray, right: np.ndarray, weight: np.ndarray, above: np.ndarray, *,
           one_to_one: bool, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(linked, ambiguous) masks over the pairs; only pairs marked `above` (the threshold) can be either.

    One-to-one: pairs are taken greedily by weight (ties by left then right position, so the result is
    deterministic). A pair whose records are both free is linked unless a pair sharing one of its records,
    with the other record also free, comes within `margin` of its weight: then that whole group is
    ambiguous, and its records stay unlinked.
    """
    linked = np.zeros(len(left), dtype=bool)
    ambiguous = np.zeros(len(left), dtype=bool)
    if not one_to_one:
        linked[:] = above
        return linked, ambiguous
    candidates = np.flatnonzero(above)
    order = candidates[np.lexsort((right[candidates], left[candidates], -weight[candidates]))]
    lefts, rights, weights = left.tolist(), right.tolist(), weight.tolist()
    by_left, by_right = _groups(lefts, order), _groups(rights, order)
    used_left: set[int] = set()
    used_right: set[int] = set()
    for k in order.tolist():
        i, j = lefts[k], rights[k]
        if i in used_left or j in used_right:
            continue
        floor = weights[k] - margin
        rivals = _rivals(by_left[i], k, floor, weights, rights, used_right)
        rivals += _rivals(by_right[j], k, floor, weights, lefts, used_left)
        if rivals:
            group = [k, *rivals]
            ambiguous[group] = True
            used_left.update(lefts[r] for r in group)
            used_right.update(rights[r] for r in group)
        else:
            linked[k] = True
            used_left.add(i)
            used_right.add(j)
    return linked, ambiguous


def _groups(records: list[int], order: np.ndarray) -> dict[int, list[int]]:
    """Pair indices per record, in `order` (best first)."""
    groups: dict[int, list[int]] = {}
    for k in order.tolist():
        groups.setdefault(records[k], []).append(k)
    return groups


def _rivals(group: list[int], k: int, floor: float, weights: list[float], others: list[int],
            used: set[int]) -> list[int]:
    """Pairs of the group (best first) other than k, within the floor, whose other record is still free."""
    rivals = []
    for r in group:
        if weights[r] < floor:
            break
        if r != k and others[r] not in used:
            rivals.append(r)
    return rivals
