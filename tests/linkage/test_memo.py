"""`linkage.memo.PairMemo`: a result remembered for the same two objects, by identity, while both live."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd

from linkage.memo import PairMemo
from linkage.outcomes.persons import distinct_positions


def test_a_pair_is_made_once_and_other_objects_are_made_afresh():
    memo: PairMemo[int] = PairMemo()
    made = []

    def make(a: object, b: object) -> int:
        made.append((a, b))
        return len(made)

    index, values = pd.Index(["a", "b"]), np.array(["b"], dtype=object)
    assert memo.get(index, values, make) == memo.get(index, values, make) == 1
    equal_but_other = np.array(["b"], dtype=object)
    assert memo.get(index, equal_but_other, make) == 2  # identity, not equality: an array could be changed
    assert memo.get(values, index, make) == 3  # the order of the pair counts


def test_an_entry_goes_with_either_object_and_at_most_size_are_kept():
    memo: PairMemo[int] = PairMemo(size=2)
    index = pd.Index(["a"])
    arrays = [np.array([str(i)], dtype=object) for i in range(3)]
    for i in range(3):
        memo.get(index, arrays[i], lambda a, b: 0)
    assert len(memo._entries) == 2 and (id(index), id(arrays[0])) not in memo._entries
    del arrays[2]
    gc.collect()
    assert len(memo._entries) == 1


def test_distinct_positions_are_those_of_get_indexer_and_remembered():
    index = pd.Index(np.array(["p1", "p3", "p5"], dtype=object))
    categories = pd.Categorical(["p5", "p2", "p1"]).categories
    distinct = np.asarray(categories)
    first = distinct_positions(index, distinct)
    assert first.tolist() == index.get_indexer(distinct).tolist() == [0, -1, 2]
    assert distinct_positions(index, distinct) is first
