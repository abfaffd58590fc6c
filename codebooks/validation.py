"""Checking a whole file against its codebook, vectorised; the report counts problems and names rows, never values.

One call per file: `validate(table, codebook)` on a table read as text (CSV) or typed (Parquet). With `cast=True`
the same pass also gives the columns typed (`ValidationReport.typed`), so a column is parsed once, not once to
check it and again to type it. Columns of few distinct values are parsed and checked once per value.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from codebooks.model import Codebook, Variable
from codebooks.parsing import (
    Frame,
    column_arrays,
    describe_range,
    describe_type,
    parse_distinct,
)

#: The kinds of problem, in the order a report lists them for one variable.
PROBLEMS = ("missing_column", "wrong_type", "missing_value", "unknown_category", "out_of_range", "pattern_mismatch",
            "unknown_column")
EXAMPLES = 5


@dataclass(frozen=True)
class Problem:
    """One kind of problem in one column: how many rows, and example row numbers (1-based data rows; up to five
    unless `validate` was asked for more)."""

    variable: str
    problem: str
    count: int
    rows: tuple[int, ...] = ()
    #: What the codebook expects, in words; never a value from the data, and nothing at all for direct identifiers.
    detail: str = ""


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of `validate`: one entry per (variable, problem)."""

    codebook: str
    rows: int
    issues: tuple[Problem, ...]
    #: With `validate(..., cast=True)`: the codebook's columns typed as `codebooks.cast` types them (Arrow), null
    #: where a value is missing or unreadable; None otherwise.
    typed: pa.Table | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def problems(self) -> pd.DataFrame:
        """Tidy: one row per (variable, problem) with count, example rows and detail."""
        return pd.DataFrame(
            [(p.variable, p.problem, p.count, list(p.rows), p.detail) for p in self.issues],
            columns=["variable", "problem", "count", "example_rows", "detail"],
        )

    def to_text(self) -> str:
        """A plain-text report for people: counts and row numbers only."""
        head = f"codebook {self.codebook}: {self.rows:,} row(s) checked"
        if self.ok:
            return f"{head}, no problems\n"
        lines = [f"{head}, {len(self.issues)} problem(s)"]
        width = max(len(p.variable) for p in self.issues)
        kind = max(len(p.problem) for p in self.issues)
        for p in self.issues:
            rows = f"rows {', '.join(map(str, p.rows))}" if p.rows else ""
            detail = f" ({p.detail})" if p.detail else ""
            count = f"{p.count:,} row(s)" if p.rows else ""
            lines.append(f"  {p.variable:<{width}}  {p.problem:<{kind}}  {count:>14}  {rows}{detail}".rstrip())
        return "\n".join(lines) + "\n"


def validate(frame: Frame, codebook: Codebook, *, examples: int | None = EXAMPLES,
             cast: bool | Collection[str] = False, dictionary: bool = False) -> ValidationReport:
    """Check every column of `frame` (pandas or Arrow, text or typed) against `codebook`.

    Finds unknown and missing columns, values that cannot be read as the variable's type, missing values in required
    variables, unknown category codes, values out of range and values not matching the pattern. Each problem names
    up to `examples` rows (None: every row). `cast=True` also keeps the typed columns (`ValidationReport.typed`);
    a collection of names keeps only those. With `dictionary`, a typed column parsed by its distinct values comes
    dictionary-encoded (those values typed, and each row's index), so a caller that drops rows next spreads the
    values only to the rows it keeps.
    """
    arrays = column_arrays(frame)
    rows = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
    issues: list[Problem] = []
    typed: dict[str, pa.Array] = {}
    for variable in codebook.variables:
        if variable.name not in arrays:
            if variable.required:
                issues.append(Problem(variable.name, "missing_column", 0, (), "required column is absent"))
            continue
        wanted = cast is True or (cast is not False and variable.name in cast)
        found, values = _check(arrays[variable.name], variable, examples, typed=wanted, dictionary=dictionary)
        issues.extend(found)
        if wanted:
            typed[variable.name] = values
    issues.extend(Problem(_shown(name, position), "unknown_column", 0, (), "not in the codebook")
                  for position, name in enumerate(arrays) if name not in codebook.names)
    return ValidationReport(codebook=codebook.name, rows=rows, issues=tuple(issues),
                            typed=pa.table(typed) if cast is not False else None)


def _check(column: pa.Array, variable: Variable, examples: int | None, *,
           typed: bool, dictionary: bool = False) -> tuple[list[Problem], pa.Array | None]:
    """The problems of one column and (if `typed`) its typed values. Conditions are computed on the distinct
    values where the column was parsed that way, then spread to the rows."""
    parsed, encoded = parse_distinct(column, variable)
    spread = (lambda mask, null=False: mask) if encoded is None else encoded.spread
    secret = variable.role == "direct_identifier"
    found: list[Problem] = []

    def add(problem: str, mask: np.ndarray, detail: str) -> None:
        where = np.flatnonzero(mask)
        if len(where):
            shown = where if examples is None else where[:examples]
            found.append(Problem(variable.name, problem, len(where), tuple((shown + 1).tolist()),
                                 "" if secret else detail))

    add("wrong_type", spread(parsed.invalid), f"not {describe_type(variable)}")
    if variable.required:
        add("missing_value", spread(parsed.missing, null=True), "required")
    values = parsed.values
    if variable.categories:
        codes = pa.array([c.code for c in variable.categories], type=values.type)
        unknown = pc.and_(values.is_valid(), pc.invert(pc.is_in(values, value_set=codes)))
        add("unknown_category", spread(_mask(unknown)),
            f"not a code of the code list '{variable.codelist}'" if variable.codelist
            else f"not one of the {len(codes)} categories")
    if variable.minimum is not None or variable.maximum is not None:
        outside = [_mask(compare(values, pa.scalar(bound, type=values.type)))
                   for compare, bound in ((pc.less, variable.minimum), (pc.greater, variable.maximum))
                   if bound is not None]
        add("out_of_range", spread(np.logical_or.reduce(outside)), f"allowed {describe_range(variable)}")
    if variable.pattern is not None:
        matches = pc.match_substring_regex(values, f"^(?:{variable.pattern})$")
        add("pattern_mismatch", spread(_mask(pc.invert(matches))), f"does not match the pattern {variable.pattern}")
    if not typed:
        return found, None
    if encoded is None:
        return found, values
    return found, pa.DictionaryArray.from_arrays(encoded.indices, values) if dictionary else \
        values.take(encoded.indices)


def _mask(condition: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, nulls (missing or unreadable values) counting as False."""
    return pc.fill_null(condition, False).to_numpy(zero_copy_only=False)


#: Six digits in a row: part of an identifier, never repeated in a report.
_DIGIT_RUN = re.compile(r"[0-9]{6}")


def _shown(name: str, position: int) -> str:
    """A column's name for a report, or its position where the name looks like data (a missing header row)."""
    return f"column {position + 1} (its name looks like data: is the header row missing?)" if \
        _DIGIT_RUN.search(str(name)) else name
