"""An exclusion list: persons whose records must be withheld, e.g. after a decision in an individual case.

The list is a text (or one-column CSV) file with one personnummer or samordningsnummer per line, in any written
form (12 or 10 digits, with or without `-`/`+`; 10-digit forms get their century from `reference_date`). Blank
lines and lines starting with `#` are ignored, and the first other line may be a column name (letters only, e.g.
`personnummer`). Any other line that is not a valid personnummer or samordningsnummer is an error naming its line
number, never its content: a list that silently skipped a person would deliver that person's records.

The list is applied by pseudonym, before anything is derived: `withhold` drops every row of a listed person from the
linked registers. The listed persons stay in the spine while records are linked, so that a record of theirs without
a usable identifier is linked to them (and withheld with them) rather than to someone else by its evidence. A
number that has since been replaced is resolved through the personnummer changes first (`Exclusions.pseudonyms`).
What is recorded about the list is only that one was applied and how many records it removed. No hash of the list
is recorded: every personnummer can be hashed in about a minute (bench/enumerate.py, SECURITY.md), so a hash of a
short list would let anyone test who is on it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.changes import Changes
from linkage.errors import InputError
from linkage.io import read_bytes
from pseudonym.keys import MasterKey
from pseudonym.personnummer import KINDS, REASONS
from pseudonym.pseudonyms import HEX_DIGITS, hex_digests, project_key
from pseudonym.vectorized import parse_arrays

_PERSON_KINDS = (KINDS.index("personnummer"), KINDS.index("samordningsnummer"))
_COLUMN_NAME = re.compile(r"[^\W\d]+", re.UNICODE)
_MAX_BYTES = 64 << 20  # far above any real list; a larger file is the wrong file


@dataclass(frozen=True, eq=False, repr=False)
class Exclusions:
    """The distinct persons of an exclusion list, as canonical 12-digit numbers (S12, sorted); never shown."""

    canonical: np.ndarray
    #: Identifier lines read (a person listed twice counts twice here, once in `len`).
    lines: int

    def __post_init__(self) -> None:
        self.canonical.flags.writeable = False

    def __len__(self) -> int:
        return len(self.canonical)

    def __repr__(self) -> str:
        return f"Exclusions(<{len(self)} persons, redacted>)"

    __str__ = __repr__

    def pseudonyms(self, key: MasterKey | bytes, project: str, *, changes: Changes | None = None) -> frozenset[str]:
        """The listed persons' pseudonyms in `project` under master `key`.

        With `changes`, a number that has been replaced is first resolved to the person's current one, which is
        the number their records are pseudonymised under (linkage.changes).
        """
        canonical = changes.resolve(self.canonical)[0] if changes is not None else self.canonical
        digits = hex_digests(project_key(key, project), np.ascontiguousarray(canonical, dtype="S12"))
        return frozenset(digits.view(f"S{HEX_DIGITS}").astype(str).tolist())


def load_exclusions(path: Path | str, *, reference_date: date | str | None = None) -> Exclusions:
    """Read an exclusion list (see the module docstring); InputError naming the first bad line and how many."""
    path = Path(path)
    lines = _lines(path)
    numbered = [(n, line) for n, line in enumerate(lines, start=1)
                if line and not line.startswith("#")]
    if numbered and _COLUMN_NAME.fullmatch(numbered[0][1]):
        numbered = numbered[1:]
    if not numbered:
        raise InputError(f"{path.name}: lists no personnummer (leave the exclusion list out if there is no one "
                         "to exclude)")
    values = pa.array([_unquoted(line) for _, line in numbered], type=pa.string())
    parsed = parse_arrays(values, reference_date=reference_date)
    bad = np.flatnonzero(~np.isin(parsed.kind, _PERSON_KINDS))
    if len(bad):
        first = bad[0]
        kind = KINDS[parsed.kind[first]]
        why = REASONS[parsed.reason[first]] if kind == "invalid" else kind
        raise InputError(f"{path.name}, line {numbered[first][0]}: not a valid personnummer or samordningsnummer "
                         f"({why}; {len(bad)} such line(s))")
    return Exclusions(np.unique(parsed.canonical), lines=len(numbered))


def withhold(frame: pd.DataFrame, pseudonyms: frozenset[str], *,
             column: str = "pseudonym_id") -> tuple[pd.DataFrame, int]:
    """`frame` without the rows whose `column` is one of `pseudonyms`, and how many rows were removed."""
    listed = frame[column].isin(pseudonyms).to_numpy(dtype=bool, na_value=False)
    return frame.loc[~listed], int(listed.sum())


def _lines(path: Path) -> list[str]:
    """The stripped lines of a small text file: UTF-8 (with or without BOM), else latin-1."""
    if path.is_file() and path.stat().st_size > _MAX_BYTES:
        raise InputError(f"{path.name}: is larger than {_MAX_BYTES >> 20} MB; not an exclusion list")
    raw = read_bytes(path, what="exclusion list")
    if b"\x00" in raw:
        raise InputError(f"{path.name}: is binary, not a text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # only comments can hold non-ASCII; numbers are ASCII in both
    return [line.strip() for line in text.removeprefix(codecs.BOM_UTF8.decode()).splitlines()]


def _unquoted(line: str) -> str:
    """A CSV field as written: surrounding double quotes removed."""
    return line[1:-1].strip() if len(line) >= 2 and line[0] == line[-1] == '"' else line
