"""Code columns (ICD-10-SE, ATC, register codes) tested once per distinct value, then mapped back to the rows.

Registers hold millions of rows but a few thousand distinct codes, so every test runs on the distinct values.
Membership of a code group ("F10-F19", "X60-X84", the prefix "N05A") is `codebooks.match_codes`, the one rule the
codebooks document.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from codebooks import match_codes

#: Text that reads as "yes" in a boolean register column (1/0 in files, True/False once typed).
TRUE_TEXT = ("1", "TRUE", "1.0")


def factorized(values: pd.Series, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per row the number of its value (-1 where missing), in the smallest signed integer type that holds it, and
    the distinct values (sorted with `sort`; a categorical's categories, used or not). A categorical's own codes
    serve as they are and Arrow data is encoded by Arrow chunk by chunk: no 64-bit code per row of a register of
    tens of millions (fresh memory is what such a pass costs most)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and (not sort or values.cat.categories.is_monotonic_increasing):
        return values.cat.codes.to_numpy(), np.asarray(values.cat.categories)
    if isinstance(values.dtype, pd.ArrowDtype) and not sort:
        encoded = pc.dictionary_encode(values.array.__arrow_array__()).unify_dictionaries()
        uniques = encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([], values.dtype.pyarrow_dtype)
        codes = np.empty(len(values), dtype=_smallest(len(uniques)))
        at = 0
        for chunk in encoded.chunks:
            indices = chunk.indices if chunk.null_count == 0 else chunk.indices.fill_null(-1)
            codes[at:at + len(chunk)] = indices.to_numpy(zero_copy_only=False)
            at += len(chunk)
        return codes, np.asarray(uniques.to_pylist(), dtype=object)
    codes, uniques = pd.factorize(values, sort=sort, use_na_sentinel=True)
    return codes.astype(_smallest(len(uniques)), copy=False), np.asarray(uniques)


def numbers(values: pd.Series) -> np.ndarray:
    """A column's values as float64, NaN where missing or not a number: text (a year, a count) is parsed once per
    distinct value, not once per row of a register."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not isinstance(values.dtype, pd.CategoricalDtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    codes, uniques = factorized(values)
    parsed = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.append(parsed, np.nan)[codes]


def _smallest(distinct: int) -> np.dtype:
    """The smallest signed integer type for codes -1 .. distinct - 1."""
    return np.min_scalar_type(-max(distinct, 1))  # -n fits exactly when n - 1 does


class CodeColumn:
    """A column factorised once; `within`, `equals` and `true` answer per row from the distinct values."""

    def __init__(self, values: pd.Series) -> None:
        self._rows, uniques = factorized(values)
        # Distinct values only (a few thousand codes against millions of rows).
        self._text = [str(u).strip().upper() for u in uniques]

    def _per_row(self, hit: list[bool] | np.ndarray) -> np.ndarray:
        # A missing value (factorised to -1) picks the appended False.
        return np.append(np.asarray(hit, dtype=bool), False)[self._rows]

    def within(self, ranges: Iterable[str]) -> np.ndarray:
        """Rows whose code falls in any of `ranges` ("F10-F19", "X60-X84", or a single prefix "N05A")."""
        return self._per_row(match_codes(pa.array(self._text, type=pa.string()), ranges))

    def equals(self, codes: Iterable[str]) -> np.ndarray:
        """Rows whose value is one of `codes` exactly (after trimming)."""
        wanted = {str(c).strip().upper() for c in codes}
        return self._per_row([text in wanted for text in self._text])

    def true(self) -> np.ndarray:
        """Rows whose value reads as yes (1, true)."""
        return self.equals(TRUE_TEXT)

    def text(self) -> pd.Series:
        """The trimmed, upper-cased values per row as strings (<NA> where missing)."""
        return pd.Series(pd.array(np.array([*self._text, pd.NA], dtype=object)[self._rows], dtype="string"))
