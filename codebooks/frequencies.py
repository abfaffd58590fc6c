"""Small-cell-safe frequency tables for codebook documents: counts below k are shown as "<k", never as the count.

Why: a codebook travels with the extract and may be shown outside the secure zone; a count of 2 in a kommun can point
at a child. Direct identifiers never get frequencies.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from codebooks.errors import CodebookError
from codebooks.model import Text, Variable
from codebooks.parsing import parse

DEFAULT_K = 5
MISSING = Text(sv="(saknas)", en="(missing)")
OTHER = Text(sv="(andra eller oläsbara värden)", en="(other or unreadable values)")
_BOOLEAN = ((True, "1", Text(sv="Ja", en="Yes")), (False, "0", Text(sv="Nej", en="No")))


@dataclass(frozen=True)
class Frequency:
    """One row of a frequency table; `shown` is the count as it may be published ("<5", "≥5" or the number)."""

    code: str
    label: Text
    shown: str


def frequencies(column: pa.Array | pa.ChunkedArray, variable: Variable, *, k: int = DEFAULT_K) -> tuple[Frequency, ...]:
    """Counts per category (categorical, boolean and integer-coded variables) with small cells suppressed.

    Cells below `k` (zero included) show "<k". While the hidden cells add up to less than `k` (so their total, got
    from the file's row count, would itself be a small cell), the smallest shown cell is hidden too and shows "≥k"
    (secondary suppression).
    """
    if k < 1:
        raise CodebookError(f"the small-cell threshold k must be at least 1, not {k}")
    if not has_frequencies(variable):
        raise CodebookError(f"variable '{variable.name}' gets no frequency table "
                            f"({'a direct identifier' if variable.role == 'direct_identifier' else 'not categorical'})")
    parsed = parse(column, variable)
    values = parsed.values
    counted = pc.value_counts(values.drop_null()) if len(values) else pa.StructArray.from_arrays(
        [pa.array([], values.type), pa.array([], pa.int64())], names=["values", "counts"])
    by_value = dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True))
    rows: list[tuple[str, Text, int]] = []
    if variable.type == "boolean":
        rows = [(code, label, by_value.pop(value, 0)) for value, code, label in _BOOLEAN]
    else:
        rows = [(str(c.code), c.label, by_value.pop(c.code, 0)) for c in variable.categories]
    other = sum(by_value.values()) + int(parsed.invalid.sum())
    if other:
        rows.append(("", OTHER, other))
    rows.append(("", MISSING, int(parsed.missing.sum())))
    shown = _suppress([n for _code, _label, n in rows], k)
    return tuple(Frequency(code, label, text) for (code, label, _n), text in zip(rows, shown, strict=True))


def has_frequencies(variable: Variable) -> bool:
    """Whether documents may show a frequency table for `variable`."""
    return variable.role != "direct_identifier" and (variable.type == "boolean" or bool(variable.categories))


def _suppress(counts: list[int], k: int) -> list[str]:
    hidden = [n < k for n in counts]
    secondary: set[int] = set()
    while 0 < sum(n for n, h in zip(counts, hidden, strict=True) if h) < k:
        visible = [i for i, h in enumerate(hidden) if not h]
        if not visible:
            break
        smallest = min(visible, key=counts.__getitem__)
        hidden[smallest] = True
        secondary.add(smallest)
    return [f"≥{k}" if i in secondary else f"<{k}" if h else str(n)
            for i, (n, h) in enumerate(zip(counts, hidden, strict=True))]
