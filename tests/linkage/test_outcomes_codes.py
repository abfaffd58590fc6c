"""Code columns: factorised once into small codes, and read as numbers once per distinct value, whatever form the
column comes in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.outcomes.codes import factorized, numbers

values_strategy = st.lists(st.one_of(st.none(), st.text("FXN0123 ", min_size=1, max_size=4)), max_size=60)


def forms(values: list[str | None]) -> dict[str, pd.Series]:
    half = len(values) // 2
    chunked = pa.chunked_array([pa.array(values[:half], pa.string()), pa.array(values[half:], pa.string())])
    return {"object": pd.Series(values, dtype=object), "category": pd.Series(values, dtype="category"),
            "arrow chunks": pd.Series(pd.arrays.ArrowExtensionArray(chunked))}


@settings(max_examples=150, deadline=None)
@given(values=values_strategy, sort=st.booleans())
def test_codes_give_back_every_value_and_minus_one_where_missing(values, sort):
    for name, series in forms(values).items():
        codes, uniques = factorized(series, sort=sort)
        assert codes.dtype.kind == "i" and codes.dtype.itemsize == (1 if len(uniques) <= 128 else 2), name
        back = [None if c < 0 else uniques[c] for c in codes]
        assert back == values, name
        assert len(set(uniques)) == len(uniques) and set(uniques) == {v for v in values if v is not None}, name
        if sort:
            assert list(uniques) == sorted(uniques), name


def test_many_distinct_values_get_wider_codes():
    values = pd.Series([f"{i:05d}" for i in range(300)], dtype=pd.ArrowDtype(pa.string()))
    codes, uniques = factorized(values)
    assert codes.dtype == np.int16 and (uniques[codes] == values.to_numpy(dtype=object)).all()


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(["2013", " 2014", "2015.0", "x", "", "-1", "1e3"])),
                       max_size=40))
def test_numbers_are_read_as_pandas_reads_them_row_by_row(values):
    for name, series in forms(values).items():
        expected = pd.to_numeric(series.astype(object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        np.testing.assert_array_equal(numbers(series), expected, err_msg=name)
    typed = pd.Series([2013, None, 2015], dtype="Int64")
    np.testing.assert_array_equal(numbers(typed), [2013.0, np.nan, 2015.0])
