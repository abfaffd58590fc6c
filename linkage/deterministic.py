"""Deterministic linkage: a record belongs to the person of the population spine who has the same pseudonym.

The population register is the spine (current personnummer → pseudonym). Old numbers were mapped to the current
one before pseudonymising (`linkage.changes`), so one pseudonym is one person across every register. A register's
pseudonyms are categorical (`linkage.ingest`): only its distinct pseudonyms are looked up among the spine's
(`PseudonymSet`), and the rows follow by their codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.errors import InputError
from linkage.ingest import PSEUDONYM, ROW, Ingested, hex_heads, sorted_categories
from linkage.memo import FrameMemo, PairMemo

#: How a record was linked, or why it was not.
LINK_METHODS = ("deterministic", "probabilistic", "ambiguous", "unlinked", "not_in_population")
LINK_METHOD = "link_method"


def spine(population: Ingested) -> pd.DataFrame:
    """The persons of the population register with a pseudonym, one row each (a number twice is an error), sorted by
    pseudonym: every later look-up of persons by pseudonym (the linkages' `PseudonymSet`, a cohort's persons) finds
    them in order and sorts nothing again.

    Keeps the register's own columns (never names or numbers) plus `row`, `birth_date`, `sex`, `id_kind`.
    """
    frame = population.frame
    persons = frame[frame[PSEUDONYM].notna()].reset_index(drop=True)
    order = _sorting(persons[PSEUDONYM])
    persons = persons.take(order).reset_index(drop=True)
    persons[PSEUDONYM] = strings(persons[PSEUDONYM])  # one row per person: nothing to share
    ids = arrow(persons[PSEUDONYM])
    same = np.asarray(pc.equal(ids[1:], ids[:-1]), dtype=bool) if len(ids) > 1 else np.zeros(0, dtype=bool)
    repeated = np.r_[same, False] | np.r_[False, same]
    if repeated.any():
        rows = np.sort(persons.loc[repeated, ROW].to_numpy())[:2]
        raise InputError(f"population: rows {rows[0]} and {rows[1]} hold the same person's number "
                         f"({int(repeated.sum())} rows involved); the spine needs one row per person")
    return persons


def _sorting(pseudonyms: pd.Series) -> np.ndarray:
    """The order that sorts a column of pseudonyms, stable: by the codes of a categorical whose categories are
    sorted (as ingest makes them), else by Arrow's sort of the text."""
    if isinstance(pseudonyms.dtype, pd.CategoricalDtype) and pseudonyms.cat.categories.is_monotonic_increasing:
        return np.argsort(pseudonyms.cat.codes.to_numpy(), kind="stable")
    return pc.sort_indices(plain_text(arrow(pseudonyms))).to_numpy()


class PseudonymSet:
    """Pseudonyms to look others up in, register after register: sorted once as fixed-width bytes (pseudonyms are
    all as long) and searched by bisection — by their heads as numbers where those tell them apart (a spine's
    first 16 hex digits do; its first 8 characters do not) — many times faster than hashing a million
    32-character strings again for each register; text of mixed lengths is looked up by Arrow's hash table.
    `of(persons)` makes the spine's once per persons frame, for deterministic and probabilistic linkage alike."""

    def __init__(self, ids: pa.Array | pa.ChunkedArray):
        self.ids = plain_text(ids)
        fixed = _fixed_width(self.ids)
        self._hex = fixed is not None and _lower_hex(fixed)
        heads = None if fixed is None or fixed.dtype.itemsize < 8 else self._heads_of(fixed)
        order = None if heads is None else np.argsort(heads)
        ordered = None if heads is None else heads[order]
        if ordered is not None and (ordered[1:] > ordered[:-1]).all():  # sorted as machine words
            self._order, self._heads = order, ordered
        else:
            self._order = None if fixed is None else np.argsort(fixed, kind="stable")
            self._heads = None
        self._sorted = None if fixed is None else fixed[self._order]

    @classmethod
    def of(cls, persons: pd.DataFrame) -> PseudonymSet:
        """The pseudonyms of a persons frame (the spine), remembered while its pseudonyms stay the same
        (`FrameMemo`)."""
        return _SETS.get(persons, lambda frame: cls(arrow(frame[PSEUDONYM])))

    def positions(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Per value its position among the set's pseudonyms as given (-1 where absent); a dictionary-encoded
        column is looked up once per distinct value."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
        if pa.types.is_dictionary(values.type):
            found = np.r_[self.positions(values.dictionary), -1]
            return found[values.indices.fill_null(-1).to_numpy(zero_copy_only=False)]
        values = plain_text(values)
        if values.null_count:  # the values there are, looked up alone
            out = np.full(len(values), -1, dtype=np.int64)
            valid = values.is_valid()
            out[valid.to_numpy(zero_copy_only=False)] = self.positions(values.filter(valid))
            return out
        fixed = None if self._sorted is None else _fixed_width(values)
        if fixed is None or fixed.dtype != self._sorted.dtype:
            return pc.index_in(values, value_set=self.ids).fill_null(-1).to_numpy(zero_copy_only=False).astype(
                np.int64)
        # By machine words where the heads tell the members apart (a value's head can only be the one member's with
        # it), else by the bytes; searched in order, which is faster.
        keys, members = (self._heads_of(fixed), self._heads) if self._heads is not None else (fixed, self._sorted)
        order = None if (keys[1:] >= keys[:-1]).all() else np.argsort(keys)
        at = np.minimum(np.searchsorted(members, keys if order is None else keys[order]), len(self._sorted) - 1)
        needles = fixed if order is None else fixed[order]
        found = np.where(self._sorted[at] == needles, self._order[at], -1)
        if order is not None:
            found[order] = found.copy()
        return found

    def _heads_of(self, fixed: np.ndarray) -> np.ndarray:
        """Each value's head as a number ordered as the values are: its first 16 hex digits' 64 bits where the
        members are hex text, else its first 8 bytes."""
        matrix = fixed.view(np.uint8).reshape(len(fixed), fixed.dtype.itemsize)
        if self._hex:
            return hex_heads(matrix)
        return np.ascontiguousarray(matrix[:, :8]).view(">u8").reshape(-1).astype(np.uint64)

    def ranks(self) -> np.ndarray:
        """Each pseudonym's place among them all sorted as text (byte order, as Arrow sorts them): the order made
        for bisection, where there is one, rather than a sort of the text again."""
        order = self._order if self._order is not None else pc.sort_indices(self.ids).to_numpy()
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank

    def contains(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Per value: is it one of the set's pseudonyms?"""
        return self.positions(values) >= 0


#: The spine's set, made once per persons frame (`PseudonymSet.of`).
_SETS: FrameMemo[PseudonymSet] = FrameMemo(PSEUDONYM)


def _lower_hex(fixed: np.ndarray) -> bool:
    """Whether every value (numpy bytes) starts with 16 lowercase hex digits, as pseudonyms do."""
    if fixed.dtype.itemsize < 16:
        return False
    head = fixed.view(np.uint8).reshape(len(fixed), fixed.dtype.itemsize)[:, :16]
    return bool((((head - 48) < 10) | ((head - 97) < 6)).all())  # uint8 wraps: "0"-"9" and "a"-"f" only


def _fixed_width(text: pa.Array) -> np.ndarray | None:
    """Arrow text whose values are all n > 0 bytes long, without nulls, as numpy bytes `S<n>` (no copy); else None."""
    if not len(text) or text.null_count:
        return None
    _, offsets, data = text.buffers()
    ends = np.frombuffer(offsets, dtype=np.int32)[text.offset:text.offset + len(text) + 1]
    width = int(ends[1] - ends[0])
    if width < 1 or int(ends[-1] - ends[0]) != width * len(text) or (np.diff(ends) != width).any():
        return None
    return np.frombuffer(data, dtype=f"S{width}", count=len(text), offset=int(ends[0]))


def link_deterministic(frame: pd.DataFrame, persons: pd.DataFrame | pa.Array | PseudonymSet) -> pd.Categorical:
    """`link_method` of each record: deterministic where its pseudonym is a person of the spine,
    not_in_population where it has a pseudonym of someone else, unlinked where it has none (yet). `persons` may be
    the spine's pseudonyms as a `PseudonymSet`, made once for many registers."""
    if isinstance(persons, (pa.Array, pa.ChunkedArray)):
        persons = PseudonymSet(persons)
    elif isinstance(persons, pd.DataFrame):
        persons = PseudonymSet.of(persons)
    column = frame[PSEUDONYM]
    if isinstance(column.dtype, pd.CategoricalDtype):
        found, codes = category_positions(column.cat.categories, persons) >= 0, column.cat.codes.to_numpy()
    else:
        ids = arrow(column)
        ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        if not pa.types.is_dictionary(ids.type):
            ids = pc.dictionary_encode(ids)
        found = persons.contains(plain_text(ids.dictionary))
        codes = ids.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    method = np.where(found, LINK_METHODS.index("deterministic"), LINK_METHODS.index("not_in_population"))
    method = np.r_[method, LINK_METHODS.index("unlinked")].astype(np.int8)  # code -1: no pseudonym
    return pd.Categorical.from_codes(method[codes], categories=list(LINK_METHODS))


def arrow(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A pandas column as Arrow (zero-copy for Arrow-backed columns)."""
    return pa.array(series, from_pandas=True)


def plain_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Arrow text as one plain string array (chunks combined, a dictionary decoded)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values.cast(pa.string())


def strings(series: pd.Series) -> pd.Series:
    """A column of pseudonyms (categorical or text) as Arrow-backed strings, as pandas keeps text read from Arrow."""
    return pd.Series(pd.arrays.ArrowExtensionArray(plain_text(arrow(series))), index=series.index, name=series.name)


def category_positions(categories: pd.Index, persons: PseudonymSet) -> np.ndarray:
    """Where each of a categorical column's categories (pseudonyms) is in the spine (-1: not a person), found once
    per categories and spine: the deterministic join finds them, and `with_persons` reads them again."""
    return _POSITIONS.get(categories, persons, lambda c, p: p.positions(pa.array(c.to_numpy(), pa.string())))


#: Categories' positions in the spine (`category_positions`), by identity of both (neither changes).
_POSITIONS: PairMemo[np.ndarray] = PairMemo()


def with_persons(column: pd.Series, at: np.ndarray, person: np.ndarray, persons: PseudonymSet) -> pd.Series:
    """A categorical column of pseudonyms with the rows at positions `at` set to the pseudonyms of the spine's
    persons at positions `person` (categories added where new, kept sorted: the few new ones are merged in, the
    rest keep their order). A person's code comes from where the categories are in the spine, so the categories
    are never compared as text but to place the new ones."""
    current = column.array if isinstance(column.dtype, pd.CategoricalDtype) else pd.Categorical(column)
    categories = current.categories
    distinct, which = np.unique(person, return_inverse=True)
    in_spine = category_positions(categories, persons)
    code_of = np.full(len(persons.ids), -1, dtype=np.int32)
    code_of[in_spine[in_spine >= 0]] = np.flatnonzero(in_spine >= 0)
    found = code_of[distinct]
    new = found < 0
    if new.any():
        texts = persons.ids.take(pa.array(distinct[new])).to_numpy(zero_copy_only=False).astype(object)
        added = np.sort(texts)
        old = categories.to_numpy(dtype=object)
        place = np.searchsorted(old, added)  # few values: a bisection each
        shift = np.searchsorted(place, np.arange(len(old)), side="right")  # new ones placed before each old one
        remap = np.r_[np.arange(len(old)) + shift, -1].astype(np.int32)  # code -1 (none): the last, stays -1
        codes = remap[current.codes]  # a new array: the rows' codes are not copied first
        categories = sorted_categories(np.insert(old, place, added))
        found[~new] = remap[found[~new]]
        rank = np.searchsorted(added, texts)
        found[new] = place[rank] + rank  # np.insert puts added[j] at place[j] + j
    else:
        codes = current.codes.astype(np.int32)
    codes[at] = found[which.reshape(-1)]
    dtype = pd.CategoricalDtype(categories) if categories is not current.categories else current.dtype
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=column.index, name=column.name)


def without_unused(column: pd.Series) -> pd.Series:
    """A categorical column with only the categories its rows use (as pandas' `remove_unused_categories`, without
    sorting the codes of tens of millions of rows)."""
    codes = column.cat.codes.to_numpy()
    used = np.bincount(codes[codes >= 0], minlength=len(column.cat.categories)) > 0
    if used.all():
        return column
    renumbered = np.r_[np.cumsum(used) - 1, -1].astype(codes.dtype)[codes]
    categories = sorted_categories(column.cat.categories.to_numpy()[used])
    return pd.Series(pd.Categorical.from_codes(renumbered, dtype=pd.CategoricalDtype(categories)),
                     index=column.index, name=column.name)
