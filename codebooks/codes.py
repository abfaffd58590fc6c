"""Which classification codes fall in a code group: ICD-10 ranges ("F10-F19") and ATC prefixes ("N05A").

The code lists name the groups an outcome uses; this is the one place that says what membership means.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from codebooks.errors import CodebookError


def match_codes(values: pd.Series | pa.Array | pa.ChunkedArray, groups: Iterable[str]) -> np.ndarray:
    """True where a code falls in any of `groups`; missing codes never match.

    A group "A00-B99" holds every code whose first characters (as many as the bounds have) lie between the bounds,
    so "F321" is in "F00-F99" and "X609" in "X60-X84"; any other group is a prefix, so "N06AB06" is in "N06A".
    Codes are compared upper-cased without dots or spaces ("f32.1" is F321).
    """
    if isinstance(values, pd.Series):
        values = pa.array(values.astype("string"), from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    text = values.cast(pa.string()) if not pa.types.is_string(values.type) else values
    text = pc.utf8_upper(pc.replace_substring_regex(text, r"[.\s]", ""))
    found = np.zeros(len(text), dtype=bool)
    for group in groups:
        found |= pc.fill_null(_in_group(text, group), False).to_numpy(zero_copy_only=False)
    return found


def _in_group(text: pa.Array, group: str) -> pa.Array:
    group = group.strip().upper()
    if "-" not in group:
        if not group:
            raise CodebookError("an empty code group")
        return pc.starts_with(text, group)
    low, _, high = group.partition("-")
    if len(low) != len(high) or not low:
        raise CodebookError(f"code range '{group}': both ends need the same number of characters")
    head = pc.utf8_slice_codeunits(text, 0, len(low))
    long_enough = pc.greater_equal(pc.utf8_length(text), len(low))
    return pc.and_(long_enough, pc.and_(pc.greater_equal(head, low), pc.less_equal(head, high)))
