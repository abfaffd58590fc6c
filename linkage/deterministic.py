"""Deterministic linkage: a record belongs to the person of the population spine who has the same pseudonym.

The population register is the spine (current personnummer → pseudonym). Old numbers were mapped to the current
one before pseudonymising (`linkage.changes`), so one pseudonym is one person across every register. The join
builds a hash table over the spine (the small side) once and probes each register's pseudonyms against it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.errors import InputError
from linkage.ingest import PSEUDONYM, ROW, Ingested

#: How a record was linked, or why it was not.
LINK_METHODS = ("deterministic", "probabilistic", "ambiguous", "unlinked", "not_in_population")
LINK_METHOD = "link_method"


def spine(population: Ingested) -> pd.DataFrame:
    """The persons of the population register with a pseudonym, one row each (a number twice is an error).

    Keeps the register's own columns (never names or numbers) plus `row`, `birth_date`, `sex`, `id_kind`.
    """
    frame = population.frame
    persons = frame[frame[PSEUDONYM].notna()].reset_index(drop=True)
    repeated = persons[PSEUDONYM].duplicated(keep=False).to_numpy()
    if repeated.any():
        rows = persons.loc[repeated, ROW].to_numpy()[:2]
        raise InputError(f"population: rows {rows[0]} and {rows[1]} hold the same person's number "
                         f"({int(repeated.sum())} rows involved); the spine needs one row per person")
    return persons


def link_deterministic(frame: pd.DataFrame, persons: pd.DataFrame | pa.Array) -> pd.Categorical:
    """`link_method` of each record: deterministic where its pseudonym is a person of the spine,
    not_in_population where it has a pseudonym of someone else, unlinked where it has none (yet)."""
    spine_ids = persons if isinstance(persons, (pa.Array, pa.ChunkedArray)) else arrow(persons[PSEUDONYM])
    if isinstance(spine_ids, pa.ChunkedArray):
        spine_ids = spine_ids.combine_chunks()
    ids = arrow(frame[PSEUDONYM])
    found = pc.is_in(ids, value_set=spine_ids).to_numpy(zero_copy_only=False)
    has_id = ids.is_valid().to_numpy(zero_copy_only=False)
    codes = np.where(found, 0, np.where(has_id, LINK_METHODS.index("not_in_population"),
                                        LINK_METHODS.index("unlinked")))
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(LINK_METHODS))


def arrow(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A pandas column as Arrow (zero-copy for Arrow-backed columns)."""
    return pa.array(series, from_pandas=True)
