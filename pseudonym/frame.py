"""Replace a frame's identifier column by the project pseudonym, keeping what the number tells.

Rows with a personnummer or samordningsnummer get `pseudonym_id`; rows with another usable kind
(reserve, interim, temporary numbers) are kept without one, for linkage by other means; rows whose
identifier is invalid or an organisation number go to the rejects, which hold the raw value and
so belong to the secure zone only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pseudonym.errors import PseudonymError
from pseudonym.keys import MasterKey
from pseudonym.personnummer import KINDS, REASONS
from pseudonym.pseudonyms import parse_and_pseudonymise, project_key

#: Six digits in a row: part of an identifier, never repeated in a message.
_DIGIT_RUN = re.compile(r"[0-9]{6}")

DERIVED = ("pseudonym_id", "birth_date", "sex", "id_kind")
PSEUDONYMISED_KINDS = ("personnummer", "samordningsnummer")
#: Kinds that are not a person's identifier: the row cannot be kept (a legal person's number is a reject).
REJECTED_KINDS = ("invalid", "organisationsnummer")


class PseudonymCollision(PseudonymError):
    """Two different numbers got one pseudonym: never merged silently."""


@dataclass
class PseudonymCounts:
    """What happened to the rows: read, pseudonymised, kept without pseudonym (by kind), rejected (by reason)."""

    rows: int = 0
    pseudonymised: int = 0
    samordningsnummer: int = 0
    kept: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def kept_total(self) -> int:
        return sum(self.kept.values())


@dataclass(frozen=True)
class PseudonymisedFrame:
    """The pseudonymised frame, the rejected rows (raw values: secure zone only, left out of repr) and the counts."""

    frame: pd.DataFrame
    rejects: pd.DataFrame = field(repr=False)
    counts: PseudonymCounts


def pseudonymise_frame(frame: pd.DataFrame, column: str, *, master_key: MasterKey | bytes, project: str,
                       reference_date: date | str | None = None, workers: int = 1,
                       progress: Callable[[int, int], None] | None = None) -> PseudonymisedFrame:
    """Drop `column`, put `pseudonym_id` first, add `birth_date`, `sex` (1 man, 2 kvinna) and `id_kind`.

    `reference_date` (for the century of 10-digit numbers) is None (today), a date, a YYYY-MM-DD
    string, or the name of a date column holding each row's reference date (e.g. the decision date).
    """
    if column not in frame.columns:
        raise PseudonymError(f"no column {column!r} ({_present(frame.columns)})")
    clashes = [name for name in DERIVED if name in frame.columns and name != column]
    if clashes:
        raise PseudonymError(f"the frame already has column(s) {', '.join(map(repr, clashes))}, which "
                             "pseudonymisation adds; rename them first")
    parsed, pseudonyms = parse_and_pseudonymise(
        frame[column], key=project_key(master_key, project), workers=workers, progress=progress,
        reference_date=_reference_dates(frame, reference_date))
    kinds = np.asarray(KINDS)
    rejected = np.isin(parsed.kind, [KINDS.index(k) for k in REJECTED_KINDS])
    pseudonymised = np.isin(parsed.kind, [KINDS.index(k) for k in PSEUDONYMISED_KINDS])
    check_one_to_one(parsed.canonical[pseudonymised], pseudonyms.filter(pa.array(pseudonymised)))

    keep = np.flatnonzero(~rejected)
    out = frame.iloc[keep].drop(columns=column)
    sex = parsed.sex[keep]
    out.insert(0, "pseudonym_id", pd.arrays.ArrowStringArray(pseudonyms.take(pa.array(keep))))
    out["birth_date"] = pd.arrays.ArrowExtensionArray(pa.array(parsed.birth_date[keep], from_pandas=True))
    out["sex"] = pd.arrays.IntegerArray(sex, sex == 0)
    out["id_kind"] = pd.Categorical.from_codes(parsed.kind[keep], categories=KINDS)

    reject_rows = np.flatnonzero(rejected)
    reasons = np.where(parsed.kind[reject_rows] == KINDS.index("invalid"),
                       np.asarray(REASONS, dtype=object)[parsed.reason[reject_rows]],
                       kinds[parsed.kind[reject_rows]])
    rejects = pd.DataFrame({
        "row": reject_rows.astype(np.int64) + 1,
        "column": pd.Series([column] * len(reject_rows), dtype="string"),
        "reason": pd.Series(reasons, dtype="string"),
        "value": frame[column].iloc[reject_rows].astype("string").reset_index(drop=True),
    })
    counts = PseudonymCounts(
        rows=len(frame),
        pseudonymised=int(pseudonymised.sum()),
        samordningsnummer=int((parsed.kind == KINDS.index("samordningsnummer")).sum()),
        kept=_tally(kinds[parsed.kind[~rejected & ~pseudonymised]]),
        rejected=_tally(reasons),
    )
    return PseudonymisedFrame(out, rejects, counts)


def check_one_to_one(canonical: np.ndarray, pseudonyms: pa.Array | pa.ChunkedArray) -> None:
    """Raise PseudonymCollision unless distinct numbers have distinct pseudonyms (counts of distinct values agree)."""
    canonical = np.ascontiguousarray(canonical)
    numbers = pa.Array.from_buffers(pa.binary(canonical.dtype.itemsize), len(canonical),
                                    [None, pa.py_buffer(canonical)])
    distinct_numbers = pc.count_distinct(numbers).as_py()
    distinct_pseudonyms = pc.count_distinct(pseudonyms).as_py()
    if distinct_numbers != distinct_pseudonyms:
        raise PseudonymCollision(
            f"{distinct_numbers - distinct_pseudonyms} pseudonym(s) are shared by different numbers; "
            "refusing to merge people (report this: it should never happen)")


def _present(columns) -> str:
    """The columns present, for an error message — unless a name looks like an identifier (a header row missing,
    so the first data row became the names), which is then said instead of repeated."""
    names = [str(c) for c in columns]
    if any(_DIGIT_RUN.search(name) for name in names):
        return f"{len(names)} columns, named by what looks like data: is the header row missing?"
    return f"columns present: {', '.join(names)}"


def _reference_dates(frame: pd.DataFrame, reference_date: date | str | None) -> date | np.ndarray | None:
    """A single reference date as given, or the named column as datetime64[D] (every row must have one)."""
    if not isinstance(reference_date, str):
        return reference_date
    if reference_date not in frame.columns:
        try:
            return date.fromisoformat(reference_date)
        except ValueError:
            raise PseudonymError("the reference date is neither a column of the frame nor a YYYY-MM-DD date "
                                 "(the value is not repeated: it may be an identifier typed in the wrong place)") from None
    values = frame[reference_date]
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        text = values.astype("string")
        strict = text.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fillna(False).to_numpy(dtype=bool)
        values = pd.to_datetime(text.where(strict), format="%Y-%m-%d", errors="coerce")  # pandas alone takes 2021-4-7
    missing = np.flatnonzero(values.isna().to_numpy())
    if len(missing):
        raise PseudonymError(f"column {reference_date!r} row {missing[0] + 1}: no valid YYYY-MM-DD reference "
                             f"date ({len(missing)} such row(s))")
    return values.to_numpy().astype("datetime64[D]")


def _tally(names: np.ndarray) -> dict[str, int]:
    return {str(name): count for name, count in sorted(Counter(names.tolist()).items())}
