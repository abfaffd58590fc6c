"""Stata (.dta) and SPSS (.sav) files that carry the codebook's variable labels and value labels (via pyreadstat).

Integer-coded categories (1 man, 2 kvinna) and booleans become numbers with value labels; codes that are not plain
integers (kommun `0114`, ICD codes) stay text with a variable label only, so no code loses its leading zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from codebooks.errors import CodebookError
from codebooks.model import Codebook, Text, Variable
from codebooks.parsing import Frame, cast

FORMATS = ("dta", "sav")
#: Stata allows 32-character names, but pyreadstat names each value-label set after its variable plus a running
#: number, and that name must fit in 32 bytes with its terminator; so names are shortened to leave room for the
#: number (31 characters minus its digits). Labels: 80 characters.
STATA_NAME = 31
STATA_LABEL = 80
_BOOLEAN_LABELS = {0: Text(sv="Nej", en="No"), 1: Text(sv="Ja", en="Yes")}


@dataclass(frozen=True)
class Labelled:
    """A frame ready for pyreadstat, with its labels and the names it was given in the file."""

    frame: pd.DataFrame
    column_labels: dict[str, str]
    value_labels: dict[str, dict[int, str]]
    #: codebook name → name in the file (differs only where Stata's 32-character limit shortened it).
    names: dict[str, str]


def labelled(frame: Frame, codebook: Codebook, *, format: str, language: str = "sv") -> Labelled:
    """The frame typed by the codebook, with numeric codes where value labels apply, and its labels in `language`."""
    if format not in FORMATS:
        raise CodebookError(f"unknown labelled format '{format}' (use {' or '.join(FORMATS)})")
    if isinstance(frame, pa.Table):
        frame = frame.to_pandas(date_as_object=False)
    typed = cast(frame, codebook)
    names = _file_names(list(typed.columns), format)
    columns: dict[str, pd.Series] = {}
    column_labels: dict[str, str] = {}
    value_labels: dict[str, dict[int, str]] = {}
    for name in typed.columns:
        variable = codebook.variable(name)
        target = names[name]
        columns[target] = _column(typed[name], variable)
        label = variable.label.get(language)
        column_labels[target] = label[:STATA_LABEL] if format == "dta" else label
        labels = _value_labels(variable, language)
        if labels:
            value_labels[target] = labels
    return Labelled(pd.DataFrame(columns), column_labels, value_labels, names)


def write_labelled(frame: Frame, codebook: Codebook, path: Path | str, *, format: str,
                   language: str = "sv") -> Labelled:
    """Write `frame` as a Stata or SPSS file with the codebook's labels; returns what was written.

    `format` is explicit ("dta" or "sav") so that callers can write to a temporary path and rename it into place.
    """
    import pyreadstat

    result = labelled(frame, codebook, format=format, language=language)
    writer = pyreadstat.write_dta if format == "dta" else pyreadstat.write_sav
    try:
        writer(result.frame, str(path), column_labels=result.column_labels,
               variable_value_labels=result.value_labels)
    except Exception as exc:  # pyreadstat raises its own error types; their messages hold no data values
        raise CodebookError(f"{Path(path).name}: could not be written as {format} ({type(exc).__name__})") from None
    _pin_timestamp(Path(path), format)
    return result


#: ReadStat stamps every file with the wall-clock time of writing; the same data must give the same bytes, so the
#: stamp is overwritten in place with a fixed one of the same length.
_DTA_TIMESTAMP = b"<timestamp>"
_FIXED_DTA_TIME = b"01 Jan 1970 00:00"
_SAV_TIME_AT, _FIXED_SAV_TIME = 92, b"01 Jan 7000:00:00"  # header: creation date (9 bytes) then time (8 bytes)


def _pin_timestamp(path: Path, format: str) -> None:
    with open(path, "r+b") as handle:
        head = handle.read(4096)
        if format == "sav":
            handle.seek(_SAV_TIME_AT)
            handle.write(_FIXED_SAV_TIME)
            return
        at = head.find(_DTA_TIMESTAMP)
        if at >= 0 and head[at + len(_DTA_TIMESTAMP)] == len(_FIXED_DTA_TIME):
            handle.seek(at + len(_DTA_TIMESTAMP) + 1)
            handle.write(_FIXED_DTA_TIME)


def _column(series: pd.Series, variable: Variable) -> pd.Series:
    if variable.type == "date":
        return series.dt.date.astype(object).where(series.notna(), None)
    if variable.type == "boolean" or variable.integer_coded:
        numbers = series.astype("Int64") if variable.type != "categorical" else pd.to_numeric(series).astype("Int64")
        return _numeric(numbers)
    if variable.type == "integer":
        return _numeric(series)
    if variable.type in ("string", "categorical"):
        return series.astype(object).where(series.notna(), None)
    return series


def _numeric(series: pd.Series) -> pd.Series:
    """Nullable integers as int64, or float64 with NaN where values are missing (pyreadstat's missing value)."""
    return series.astype("float64") if series.isna().any() else series.astype("int64")


def _value_labels(variable: Variable, language: str) -> dict[int, str]:
    if variable.type == "boolean":
        return {code: text.get(language) for code, text in _BOOLEAN_LABELS.items()}
    if variable.integer_coded:
        return {int(c.code): c.label.get(language) for c in variable.categories}
    return {}


def _file_names(names: list[str], format: str) -> dict[str, str]:
    if format != "dta":
        return {name: name for name in names}
    width = STATA_NAME - len(str(len(names)))
    short = {name: name[:width] for name in names}
    clashes = sorted({s for s in short.values() if list(short.values()).count(s) > 1})
    if clashes:
        raise CodebookError(f"variables shortened to {width} characters for Stata would share the name "
                            f"'{clashes[0]}'; rename or drop one of them")
    return short
