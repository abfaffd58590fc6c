"""Minimising an extract: exactly the codebook's variables leave, never a direct identifier, dates coarsened.

Data minimisation (GDPR article 5.1(c)): a table keeps only what its codebook documents, and every date is only as
precise as the request allows; the returned codebook describes what was actually delivered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from codebooks import Codebook, Text, Variable
from linkage.errors import ReglinkError

#: Date precisions, finest first.
PRECISIONS = ("day", "month", "year")
#: A date coarsened to month is delivered as text `YYYY-MM`.
MONTH_PATTERN = "[0-9]{4}-[0-9]{2}"
#: The birth date takes its own precision (`dates.birth` in the request); every other date takes `dates.precision`.
BIRTH_DATE = "fodelsedatum"

_NOTES = {
    "month": Text(sv="Grovgjord till månad (ÅÅÅÅ-MM) i uttaget.",
                  en="Coarsened to month precision (YYYY-MM) in the extract."),
    "year": Text(sv="Grovgjord till år (årtalet) i uttaget.",
                 en="Coarsened to year precision (the year) in the extract."),
}
#: The date_format every non-date variable carries (Variable's default; a codebook round trip expects it).
_ISO_DATE = "%Y-%m-%d"


class MinimiseError(ReglinkError):
    """A table that would deliver more than its codebook allows: a direct identifier or an undocumented column."""


def refuse_direct_identifiers(codebook: Codebook) -> None:
    """Raise if any variable of `codebook` is a direct identifier (the last line of defence before writing)."""
    found = [v.name for v in codebook.with_role("direct_identifier")]
    if found:
        raise MinimiseError(f"codebook '{codebook.name}': variable '{found[0]}' is a direct identifier and can never "
                            f"be delivered ({len(found)} such variable(s))")


def minimise(frame: pd.DataFrame, codebook: Codebook, *, precision: str,
             birth_precision: str) -> tuple[pd.DataFrame, Codebook]:
    """Exactly the codebook's variables in codebook order, dates coarsened; and the codebook of what is delivered.

    `fodelsedatum` is coarsened to `birth_precision`, every other date to `precision` ("day", "month" or "year").
    A frame column without a codebook variable, or a variable without a column, is an error: nothing passes unseen.
    """
    for value, key in ((precision, "precision"), (birth_precision, "birth_precision")):
        _check_precision(value, key)
    refuse_direct_identifiers(codebook)
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        twice = next(c for c in columns if columns.count(c) > 1)
        raise MinimiseError(f"table for codebook '{codebook.name}': column '{twice}' appears more than once")
    undocumented = [c for c in columns if c not in codebook.names]
    if undocumented:
        raise MinimiseError(f"table for codebook '{codebook.name}': column '{undocumented[0]}' has no variable in the "
                            f"codebook ({len(undocumented)} such column(s)); only documented variables may leave")
    absent = [name for name in codebook.names if name not in columns]
    if absent:
        raise MinimiseError(f"table for codebook '{codebook.name}': variable '{absent[0]}' has no column "
                            f"({len(absent)} such variable(s))")
    out: dict[str, pd.api.extensions.ExtensionArray] = {}
    variables: list[Variable] = []
    for variable in codebook.variables:
        values = frame[variable.name]
        if precision_of(variable) is not None:
            values, variable = coarsen(values, variable, birth_precision if variable.name == BIRTH_DATE else precision)
        out[variable.name] = values.array  # positional: rows keep their order whatever the index
        variables.append(variable)
    return pd.DataFrame(out, index=frame.index, copy=False), replace(codebook, variables=tuple(variables))


def precision_of(variable: Variable) -> str | None:
    """How precise a date variable is: "day" (a date), "month" (coarsened to `YYYY-MM`), None for anything else.

    A date coarsened to year is an integer like any other and cannot be coarsened further.
    """
    if variable.type == "date":
        return "day"
    if variable.type == "string" and variable.pattern == MONTH_PATTERN:
        return "month"
    return None


def coarsen(values: pd.Series, variable: Variable, precision: str) -> tuple[pd.Series, Variable]:
    """A date column (or one already at month) at `precision`, and its variable retyped and described so.

    Month: text `YYYY-MM` (string, pattern `[0-9]{4}-[0-9]{2}`); year: the year (nullable Int32, integer with the
    date bounds' years). A column already as coarse or coarser is returned as it is. Missing stays missing.
    """
    _check_precision(precision, "precision")
    current = precision_of(variable)
    if current is None:
        raise MinimiseError(f"variable '{variable.name}' is not a date and cannot be coarsened")
    if PRECISIONS.index(precision) <= PRECISIONS.index(current):  # delivered dates are written as ISO dates
        return values, replace(variable, date_format=_ISO_DATE) if current == "day" else variable
    array = _arrow(values)
    if pa.types.is_null(array.type):  # every value missing
        array = array.cast(pa.string() if current == "month" else pa.date32())
    if current == "month":
        expected = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    else:
        expected = pa.types.is_date(array.type) or pa.types.is_timestamp(array.type)
    if not expected:
        raise MinimiseError(f"column '{variable.name}' does not hold "
                            f"{'dates' if current == 'day' else 'months (YYYY-MM)'} as its codebook says")
    if precision == "month":
        distinct = array.dictionary_encode()  # format each distinct date once: strftime is slow per value
        text = pc.strftime(distinct.dictionary, format="%Y-%m").take(distinct.indices)
        series = text.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
        retyped = replace(variable, type="string", pattern=MONTH_PATTERN, minimum=None, maximum=None)
    else:
        years = pc.utf8_slice_codeunits(array, 0, 4) if current == "month" else pc.year(array)
        series = years.cast(pa.int32()).to_pandas(types_mapper={pa.int32(): pd.Int32Dtype()}.get)
        retyped = replace(variable, type="integer", pattern=None,
                          minimum=_year(variable.minimum), maximum=_year(variable.maximum))
    retyped = replace(retyped, date_format=_ISO_DATE, description=_described(variable, precision))
    return series.set_axis(values.index).rename(values.name), retyped


def _check_precision(value: str, key: str) -> None:
    if value not in PRECISIONS:
        raise MinimiseError(f"{key}: must be one of {', '.join(PRECISIONS)}")


def _arrow(values: pd.Series) -> pa.Array:
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise MinimiseError(f"column '{values.name}' cannot be read as dates") from None
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _year(bound: object) -> int | None:
    return bound.year if isinstance(bound, dt.date) else None


def _described(variable: Variable, precision: str) -> Text:
    """The variable's description with a note of the delivered precision (replacing an earlier month note)."""
    base = variable.description or Text(sv="", en="")
    month = _NOTES["month"]
    sv, en = base.sv.removesuffix(month.sv).rstrip(), base.en.removesuffix(month.en).rstrip()
    note = _NOTES[precision]
    return Text(sv=f"{sv} {note.sv}".strip(), en=f"{en} {note.en}".strip())


__all__ = ["BIRTH_DATE", "MONTH_PATTERN", "PRECISIONS", "MinimiseError", "coarsen", "minimise", "precision_of",
           "refuse_direct_identifiers"]
