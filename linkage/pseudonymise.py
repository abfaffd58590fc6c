"""Pseudonymise one register file: read it, replace the identifier column, write output and rejects.

The input sits in the secure zone and the output may leave it, so the rejects (which hold raw
identifiers) are written beside the input by default, never beside the output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa

from linkage.errors import InputError, OutputError
from linkage.io import WRITABLE, read_whole_table, require_columns, write_table
from pseudonym.frame import PseudonymCounts, pseudonymise_frame
from pseudonym.keys import MasterKey
from pseudonym.pseudonyms import check_project

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class PseudonymisedFile:
    """Where the output and the rejects (None when there were none) went, and the counts."""

    output: Path
    rejects: Path | None
    counts: PseudonymCounts


def default_rejects_path(input: Path | str) -> Path:
    """`<input>.rejects.csv` beside the input: the secure zone, where the raw values came from."""
    input = Path(input)
    return input.with_name(f"{input.name}.rejects.csv")


def pseudonymise_file(input: Path | str, output: Path | str, *, column: str, key: MasterKey, project: str,
                      reference_date: date | str | None = None, reference_date_column: str | None = None,
                      rejects: Path | str | None = None, workers: int = 1,
                      progress: Callable[[int, int], None] | None = None) -> PseudonymisedFile:
    """Read `input`, pseudonymise `column` for `project`, write `output` (Parquet or CSV) and any rejects (CSV).

    Nothing is written unless every check passes; outputs are never overwritten.
    """
    input, output = Path(input), Path(output)
    rejects = Path(rejects) if rejects is not None else default_rejects_path(input)
    check_project(project)
    reference = _reference(reference_date, reference_date_column)
    if workers < 1:
        raise InputError("workers must be at least 1")
    _check_new_file(output, "output")
    _check_new_file(rejects, "rejects file", suffixes={".csv"})
    if len({input.resolve(), output.resolve(), rejects.resolve()}) < 3:
        raise OutputError("the input, output and rejects paths must be three different files")

    table = read_whole_table(input)
    require_columns(table, [column] + ([reference_date_column] if reference_date_column else []),
                    source=input.name)
    kind = table.schema.field(column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)):
        raise InputError(f"{input.name}: column '{column}' holds {kind} values, not identifiers (text or integers)")
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)  # zero-copy: columns stay Arrow-typed
    result = pseudonymise_frame(frame, column, master_key=key, project=project, reference_date=reference,
                                workers=workers, progress=progress)
    write_table(result.frame, output)
    if not len(result.rejects):
        return PseudonymisedFile(output, None, result.counts)
    try:
        write_table(result.rejects, rejects)
    except BaseException:
        output.unlink(missing_ok=True)
        raise
    return PseudonymisedFile(output, rejects, result.counts)


def _reference(reference_date: date | str | None, reference_date_column: str | None) -> date | str | None:
    if reference_date is not None and reference_date_column is not None:
        raise InputError("give a reference date or a reference-date column, not both")
    if isinstance(reference_date, str):
        try:
            if not _ISO_DATE.fullmatch(reference_date):
                raise ValueError
            return date.fromisoformat(reference_date)
        except ValueError:
            raise InputError("the reference date is not a valid date in the form YYYY-MM-DD") from None
    return reference_date if reference_date is not None else reference_date_column


def _check_new_file(path: Path, what: str, suffixes: set[str] = WRITABLE) -> None:
    if path.suffix.lower() not in suffixes:
        raise OutputError(f"{path.name}: cannot write {what} '{path.suffix or '(none)'}' "
                          f"(use {' or '.join(sorted(suffixes))})")
    if path.exists():
        raise OutputError(f"{path.name}: exists already (from an earlier run?); choose a new {what} path")
    if not path.parent.is_dir():
        raise OutputError(f"{path.name}: its folder {path.parent} does not exist")
