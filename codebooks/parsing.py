"""One parser per variable type, shared by `validate` and `cast`: text or typed columns in, typed Arrow arrays out.

Columns arrive as text (CSV read as strings) or typed (Parquet, Stata, SAS); every parser accepts both and reports
which present values it could not read, vectorised with pyarrow.compute (register files have tens of millions of rows).
A text column of few distinct values (or one that comes dictionary-encoded) is parsed once per distinct value.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from codebooks.errors import CodebookError
from codebooks.model import Codebook, Variable

#: Text that reads as a boolean (the codebooks write booleans as 1/0; true/false are accepted too).
TRUE_VALUES = ("1", "true", "True", "TRUE")
FALSE_VALUES = ("0", "false", "False", "FALSE")

Frame = pd.DataFrame | pa.Table

_INTEGER_TEXT = r"^-?[0-9]{1,18}$"
_NUMBER_TEXT = {".": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$",
                ",": r"^[+-]?([0-9]+(,[0-9]*)?|,[0-9]+)([eE][+-]?[0-9]+)?$"}
#: The date format pieces codebooks may use: %Y, %m, %d and literal text between them.
DATE_FORMAT = re.compile(r"(?:%[Ymd]|[^%])+")
_DATE_PIECES = re.compile(r"%[Ymd]|[^%]+")
_DATE_FIELDS = {"%Y": (pc.year, 4), "%m": (pc.month, 2), "%d": (pc.day, 2)}
_ARROW_TYPES = {"string": pa.string(), "categorical": pa.string(), "integer": pa.int64(), "number": pa.float64(),
                "date": pa.date32(), "boolean": pa.bool_()}


@dataclass(frozen=True)
class Parsed:
    """A column read as its variable's type: values (null where missing or unreadable) and where it was unreadable."""

    values: pa.Array
    #: True where a value was present but could not be read as the variable's type.
    invalid: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        """True where the value is missing (empty, null or a missing-value code), not merely unreadable."""
        return self.values.is_null().to_numpy(zero_copy_only=False) & ~self.invalid


def column_arrays(frame: Frame) -> dict[str, pa.Array]:
    """Every column of a pandas DataFrame or Arrow table as one Arrow array, by name."""
    if not isinstance(frame, (pa.Table, pd.DataFrame)):
        raise CodebookError(f"expected a pandas DataFrame or a pyarrow Table, not {type(frame).__name__}")
    names = [str(name) for name in (frame.column_names if isinstance(frame, pa.Table) else frame.columns)]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise CodebookError(f"column '{duplicated[0]}' appears more than once")
    if isinstance(frame, pa.Table):
        return {name: _single(column) for name, column in zip(names, frame.columns, strict=True)}
    return {name: _from_pandas(frame[column]) for name, column in zip(names, frame.columns, strict=True)}


def parse(column: pa.Array, variable: Variable) -> Parsed:
    """Read one column as `variable`'s type; values that cannot be read are null in `values` and True in `invalid`."""
    parsed, encoded = parse_distinct(column, variable)
    if encoded is None:
        return parsed
    return Parsed(parsed.values.take(encoded.indices), encoded.spread(parsed.invalid))


def parse_distinct(column: pa.Array, variable: Variable) -> tuple[Parsed, Distinct | None]:
    """`parse` of the column's distinct values where that pays, with how its rows map to them (`distinct`);
    else of its rows, and None."""
    encoded = distinct(column)
    if encoded is None:
        return _parse_values(text_or_typed(column), variable), None
    return _parse_values(encoded.dictionary, variable), encoded


@dataclass(frozen=True)
class Distinct:
    """A column as its distinct values and, per row, which one (null where the row is null)."""

    dictionary: pa.Array
    indices: pa.Array

    @functools.cached_property
    def positions(self) -> np.ndarray:
        """The indices as numpy, -1 where the row is null."""
        return self.indices.fill_null(-1).to_numpy(zero_copy_only=False)

    def spread(self, per_value: np.ndarray, *, null: bool = False) -> np.ndarray:
        """A boolean per distinct value as one per row (`null` for the null rows)."""
        if not per_value.any() and not (null and self.indices.null_count):
            return np.zeros(len(self.indices), dtype=bool)
        return np.r_[per_value.astype(bool), null][self.positions]


#: Rows of a text column looked at to decide whether to work on its distinct values, and the largest share of
#: distinct values for which that pays (hashing a column of nearly unique values costs more than it saves).
_SAMPLE_ROWS = 4096
_DISTINCT_SHARE = 0.25


def distinct(column: pa.Array | pa.ChunkedArray) -> Distinct | None:
    """A text column of few distinct values (codes, years, dates, a person's number on each of their rows) as its
    dictionary, so each value is parsed and checked once; None where that does not pay (short columns, nearly
    unique text). A column that comes dictionary-encoded is used as it is."""
    column = _single(column)
    if pa.types.is_dictionary(column.type):
        values = text_or_typed(column.dictionary)
        if pa.types.is_string(values.type) and len(values) <= _DISTINCT_SHARE * len(column):
            return Distinct(values, column.indices)
        return None
    if not pa.types.is_string(column.type) or len(column) < 4 * _SAMPLE_ROWS or mostly_distinct(column):
        return None
    encoded = pc.dictionary_encode(column)
    return Distinct(encoded.dictionary, encoded.indices)


def mostly_distinct(column: pa.Array, share: float = _DISTINCT_SHARE) -> bool:
    """Whether more than `share` of a column's values differ, judged on evenly spaced rows and on a run of
    neighbouring rows (a file sorted by person keeps each person's rows together)."""
    step = max(len(column) // _SAMPLE_ROWS, 1)
    samples = (column.take(pa.array(np.arange(0, len(column), step)[:_SAMPLE_ROWS])), column.slice(0, _SAMPLE_ROWS))
    return all(pc.count_distinct(sample).as_py() > share * len(sample) for sample in samples if len(sample))


def text_or_typed(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One array: text as `string` (dictionaries decoded, large and view strings cast), typed columns as they are."""
    column = _single(column)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_large_string(column.type) or pa.types.is_string_view(column.type):
        column = column.cast(pa.string())
    return column


def _parse_values(column: pa.Array, variable: Variable) -> Parsed:
    if pa.types.is_null(column.type):
        return Parsed(pa.nulls(len(column), _ARROW_TYPES[variable.type]), np.zeros(len(column), dtype=bool))
    text = pa.types.is_string(column.type)
    if text:
        column = _blank_to_null(column, variable)
    values, invalid = _PARSERS[variable.type](column, variable, text)
    invalid_np = invalid.fill_null(False).to_numpy(zero_copy_only=False) if invalid is not None \
        else np.zeros(len(column), dtype=bool)
    return Parsed(values, invalid_np)


def cast(frame: Frame, codebook: Codebook) -> Frame:
    """The frame with every column typed by its codebook variable (same kind of frame back: pandas or Arrow).

    pandas: dates → datetime64[ns], integers → Int64, numbers → float64, booleans → boolean, strings and
    categorical codes → string. Arrow: date32, int64, float64, bool, string. A column without a codebook entry, or a
    value that cannot be read as its type, is an error naming the column and rows (never the value).
    """
    arrays = column_arrays(frame)
    unknown = [name for name in arrays if name not in codebook.names]
    if unknown:
        raise CodebookError(f"column '{unknown[0]}' is not in codebook '{codebook.name}' "
                            f"({len(unknown)} such column(s))")
    typed: dict[str, pa.Array] = {}
    for name, column in arrays.items():
        parsed = parse(column, codebook.variable(name))
        if parsed.invalid.any():
            rows = np.flatnonzero(parsed.invalid)
            examples = ", ".join(str(r + 1) for r in rows[:5])
            raise CodebookError(f"column '{name}': {len(rows)} value(s) cannot be read as "
                                f"{describe_type(codebook.variable(name))} (rows {examples})")
        typed[name] = parsed.values
    if isinstance(frame, pa.Table):
        return pa.table(typed)
    return pd.DataFrame({name: _to_pandas(values, codebook.variable(name)).set_axis(frame.index)
                         for name, values in typed.items()})


def describe_type(variable: Variable) -> str:
    """What a readable value of this variable looks like, in words (no data values)."""
    if variable.type == "date":
        return f"a date ({variable.date_format} when written as text)"
    if variable.type == "number":
        return f"a number (decimal separator '{variable.decimal}')"
    if variable.type == "boolean":
        return "a boolean (1/0 or true/false)"
    return {"integer": "an integer", "string": "text", "categorical": "a code"}[variable.type]


def describe_range(variable: Variable) -> str:
    """The variable's valid range in symbols ("0 – 340", "≥ 1", "≤ 2100"); no data values."""
    low, high = (b.isoformat() if isinstance(b, dt.date) else b for b in (variable.minimum, variable.maximum))
    if low is None:
        return f"≤ {high}"
    return f"≥ {low}" if high is None else f"{low} – {high}"


# -------------------------------------------------------------------------------------------------------- parsers

def _parse_text(column: pa.Array, variable: Variable, text: bool) -> tuple[pa.Array, pa.Array | None]:
    if text:
        return column, None
    if pa.types.is_integer(column.type):
        return column.cast(pa.string()), None
    if pa.types.is_floating(column.type):
        return _integral_to_text(column)
    return pa.nulls(len(column), pa.string()), column.is_valid()


def _parse_integer(column: pa.Array, variable: Variable, text: bool) -> tuple[pa.Array, pa.Array | None]:
    if text:
        trimmed = pc.replace_substring_regex(pc.utf8_trim_whitespace(column), r"^\+", "")
        ok = pc.match_substring_regex(trimmed, _INTEGER_TEXT)
        return pc.if_else(ok, trimmed, None).cast(pa.int64()), pc.invert(ok)
    if pa.types.is_integer(column.type):
        return column.cast(pa.int64()), None
    if pa.types.is_floating(column.type):
        ok = _integral(column)
        return pc.if_else(ok, column, None).cast(pa.int64()), pc.invert(ok)
    return pa.nulls(len(column), pa.int64()), column.is_valid()


def _parse_number(column: pa.Array, variable: Variable, text: bool) -> tuple[pa.Array, pa.Array | None]:
    if text:
        trimmed = pc.utf8_trim_whitespace(column)
        ok = pc.match_substring_regex(trimmed, _NUMBER_TEXT[variable.decimal])
        dotted = pc.replace_substring(trimmed, ",", ".") if variable.decimal == "," else trimmed
        return pc.if_else(ok, dotted, None).cast(pa.float64()), pc.invert(ok)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_decimal(column.type):
        return column.cast(pa.float64()), None
    return pa.nulls(len(column), pa.float64()), column.is_valid()


def _parse_date(column: pa.Array, variable: Variable, text: bool) -> tuple[pa.Array, pa.Array | None]:
    if text:
        trimmed = pc.utf8_trim_whitespace(column)
        stamps = pc.strptime(trimmed, format=variable.date_format, unit="s", error_is_null=True)
        # Arrow's strptime is lenient (31 Feb rolls over, short fields pass); a value is valid only if it prints back.
        ok = pc.equal(_print_dates(stamps, variable.date_format), trimmed)
        ok = pc.fill_null(ok, False)
        return pc.if_else(ok, stamps, None).cast(pa.date32()), pc.and_(column.is_valid(), pc.invert(ok))
    if pa.types.is_date(column.type):
        return column.cast(pa.date32()), None
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.date32(), safe=False), None
    return pa.nulls(len(column), pa.date32()), column.is_valid()


def _parse_boolean(column: pa.Array, variable: Variable, text: bool) -> tuple[pa.Array, pa.Array | None]:
    if text:
        trimmed = pc.utf8_trim_whitespace(column)
        true = pc.is_in(trimmed, value_set=pa.array(TRUE_VALUES))
        false = pc.is_in(trimmed, value_set=pa.array(FALSE_VALUES))
        ok = pc.or_(true, false)
        return pc.if_else(ok, true, None), pc.and_(column.is_valid(), pc.invert(ok))
    if pa.types.is_boolean(column.type):
        return column, None
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        ok = pc.is_in(column.cast(pa.float64()), value_set=pa.array([0.0, 1.0]))
        return pc.if_else(ok, pc.equal(column, 1), None), pc.and_(column.is_valid(), pc.invert(ok))
    return pa.nulls(len(column), pa.bool_()), column.is_valid()


_PARSERS = {"string": _parse_text, "categorical": _parse_text, "integer": _parse_integer, "number": _parse_number,
            "date": _parse_date, "boolean": _parse_boolean}


# -------------------------------------------------------------------------------------------------------- helpers

def _blank_to_null(column: pa.Array, variable: Variable) -> pa.Array:
    """Empty text and the variable's missing-value codes are missing (null)."""
    codes = ("",) + variable.missing_values
    stripped = column if variable.type in ("string", "categorical") else pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.is_in(stripped, value_set=pa.array(codes)), None, column)


def _print_dates(stamps: pa.Array, date_format: str) -> pa.Array:
    """Dates written in `date_format` (%Y, %m, %d and literal text), built from their parts: much faster than strftime."""
    parts: list[pa.Array | str] = []
    for piece in _DATE_PIECES.findall(date_format):
        if piece in _DATE_FIELDS:
            part, width = _DATE_FIELDS[piece]
            parts.append(pc.utf8_lpad(part(stamps).cast(pa.string()), width, "0"))
        else:
            parts.append(piece)
    return pc.binary_join_element_wise(*parts, "")


def _integral(column: pa.Array) -> pa.Array:
    finite = pc.and_(pc.is_finite(column), pc.less_equal(pc.abs(column), 2.0 ** 62))
    return pc.and_(finite, pc.equal(pc.floor(column), column))


def _integral_to_text(column: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Whole floats (Stata/SAS store codes as doubles) become "1", not "1.0"; other floats are unreadable as codes."""
    ok = _integral(column)
    return pc.if_else(ok, column, None).cast(pa.int64()).cast(pa.string()), pc.invert(ok)


def _single(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _from_pandas(series: pd.Series) -> pa.Array:
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(series.cat.categories.dtype)
    try:
        return _single(pa.array(series, from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects (e.g. numbers and text): read as text
        return _single(pa.array(series.astype("string"), from_pandas=True))


_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}


def _to_pandas(values: pa.Array, variable: Variable) -> pd.Series:
    if variable.type == "date":
        return values.cast(pa.timestamp("ns")).to_pandas()
    if variable.type == "number":
        return pd.Series(values.to_numpy(zero_copy_only=False), dtype="float64")
    return values.to_pandas(types_mapper=_PANDAS_TYPES.get)
