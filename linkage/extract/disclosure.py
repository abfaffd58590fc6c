"""The disclosure check of an extract: k-anonymity over the quasi-identifiers of the persons table.

Every combination of quasi-identifier values (an equivalence class; a missing value counts as a value of its own)
must be shared by at least k persons (Sweeney, "k-anonymity: a model for protecting privacy", 2002); reglink's
default k = 5 follows the register holders' usual minimum cell (domain notes §7.4). Below k the request chooses:
fail; suppress (local suppression: a person's quasi-identifiers set to missing, the fewest needed); or generalise
(global recoding the codebooks allow, then local suppression for what remains). The class in which every
quasi-identifier is missing reveals nothing through them and is exempt. Reports count; they never show a value,
and print any count below k as "<k".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from codebooks import Codebook, Variable
from linkage.errors import ReglinkError
from linkage.extract.minimise import PRECISIONS, coarsen, precision_of
from linkage.ingest import PSEUDONYM

ACTIONS = ("fail", "suppress", "generalise")
#: Class keys are renumbered before a combined key could pass this bound (int64 stays exact).
_KEY_LIMIT = 2**62


class DisclosureError(ReglinkError):
    """Persons in classes below k where the request says fail, or a disclosure setting that cannot be applied."""


@dataclass(frozen=True)
class Classes:
    """The equivalence classes of a table over its quasi-identifiers, counted."""

    classes: int
    classes_below_k: int
    persons_below_k: int
    #: Persons whose every quasi-identifier is missing (their class is exempt from k).
    all_missing: int


@dataclass(frozen=True)
class VariableChange:
    """What the disclosure check did to one quasi-identifier."""

    name: str
    #: The precision a date was coarsened to ("month" or "year"), None if not.
    generalised: str | None = None
    #: The delivered coarser variable that made this one redundant (kommun → lan), None if kept.
    dropped_for: str | None = None
    #: Values set to missing by local suppression.
    suppressed: int = 0


@dataclass(frozen=True)
class DisclosureReport:
    """The rule, the quasi-identifiers, the classes before and after, and what was done per variable."""

    k: int
    quasi_identifiers: tuple[str, ...]
    action: str
    persons: int
    before: Classes
    after: Classes
    changes: tuple[VariableChange, ...]

    def markdown(self) -> str:
        """reports/disclosure.md: Swedish and English; counts below k shown as "<k", never a value."""
        k = self.k

        def shown(count: int) -> str:
            return f"<{k}" if 0 < count < k else str(count)

        rows = [
            ("Personer / Persons", self.persons, self.persons),
            ("Ekvivalensklasser / Equivalence classes", self.before.classes, self.after.classes),
            ("Klasser under k / Classes below k", self.before.classes_below_k, self.after.classes_below_k),
            ("Personer i klasser under k / Persons in classes below k",
             self.before.persons_below_k, self.after.persons_below_k),
            ("Personer där alla kvasi-identifierare saknas / Persons with every quasi-identifier missing",
             self.before.all_missing, self.after.all_missing),
        ]
        names = ", ".join(f"`{name}`" for name in self.quasi_identifiers) or "inga / none"
        rule = (f"**Regel / Rule:** k-anonymitet med k = {k}: varje kombination av värden på kvasi-identifierarna "
                f"(en ekvivalensklass; ett saknat värde räknas som ett eget värde) ska delas av minst {k} personer. "
                f"Klassen där alla kvasi-identifierare saknas undantas: den röjer inget genom dem. / "
                f"k-anonymity with k = {k}: every combination of quasi-identifier values (an equivalence class; a "
                f"missing value counts as a value of its own) must be shared by at least {k} persons. The class in "
                f"which every quasi-identifier is missing is exempt: it reveals nothing through them.")
        header = ("| Variabel / Variable | Generaliserad / Generalised | Borttagen / Dropped | "
                  "Undertryckta värden / Values suppressed |")
        note = (f"Antal under {k} visas som <{k}, och inga värden för små klasser visas. / "
                f"Counts below {k} are shown as <{k}, and no values of small classes are shown.")
        lines = [
            "# Röjandekontroll / Disclosure check",
            "",
            rule,
            "",
            f"**Kvasi-identifierare / Quasi-identifiers:** {names}",
            "",
            f"**Åtgärd under k / Action below k:** `{self.action}` ({_ACTION_TEXT[self.action]})",
            "",
            "| | Före / Before | Efter / After |",
            "|---|---:|---:|",
            *(f"| {label} | {shown(before)} | {shown(after)} |" for label, before, after in rows),
            "",
            "## Ändringar per variabel / Changes per variable",
            "",
            header,
            "|---|---|---|---:|",
            *(f"| `{c.name}` | {_PRECISION_TEXT.get(c.generalised, '–')} | "
              f"{f'ja, täcks av / yes, covered by `{c.dropped_for}`' if c.dropped_for else '–'} | "
              f"{shown(c.suppressed)} |" for c in self.changes),
            "",
            note,
            "",
        ]
        return "\n".join(lines)


_ACTION_TEXT = {
    "fail": "avbryt om någon klass är under k / stop if any class is below k",
    "suppress": "lokal undertryckning / local suppression",
    "generalise": "global omkodning enligt kodböckerna, sedan lokal undertryckning / "
                  "global recoding by the codebooks, then local suppression",
}
_PRECISION_TEXT = {"month": "till månad / to month", "year": "till år / to year"}


@dataclass(frozen=True)
class Disclosure:
    """The checked table and its codebook (changed where the action changed them), and the report."""

    frame: pd.DataFrame
    codebook: Codebook
    report: DisclosureReport


def check_k(frame: pd.DataFrame, codebook: Codebook, *, quasi_identifiers: Sequence[str], k: int,
            action: str) -> Disclosure:
    """Check k-anonymity of the persons table over `quasi_identifiers` and apply `action` below k.

    fail: raise DisclosureError if any class is below k. suppress: local suppression. generalise: coarsen date
    quasi-identifiers (day → month → year) and drop ones a delivered coarser variable covers (kommun where lan is
    delivered), step by step while classes below k remain, then local suppression for what remains. Rows are never
    dropped or reordered; columns that are not quasi-identifiers are never touched. Deterministic: no randomness.
    """
    names = _checked(frame, codebook, quasi_identifiers, k, action)
    rows = len(frame)
    columns = {name: _Codes.of(frame[name], codebook.variable(name)) for name in names}
    before, _ = _classes([c.codes for c in columns.values()], rows, k)
    generalised: dict[str, str] = {}
    dropped: dict[str, str] = {}
    suppressed: dict[str, np.ndarray] = {}
    if before.persons_below_k:
        if action == "fail":
            raise DisclosureError(
                f"disclosure check failed: {before.classes_below_k} class(es) holding {before.persons_below_k} "
                f"person(s) are below k = {k} over the quasi-identifiers {', '.join(names)}; set disclosure.action "
                f"to suppress or generalise, or use fewer quasi-identifiers")
        if action == "generalise":
            columns, generalised, dropped = _generalise(columns, codebook, frame, rows, k)
        columns, suppressed = _suppress(columns, rows, k)
    after, _ = _classes([c.codes for c in columns.values()], rows, k)
    out, delivered = _apply(frame, codebook, generalised, dropped, suppressed)
    changes = tuple(VariableChange(name, generalised.get(name), dropped.get(name),
                                   int(suppressed[name].sum()) if name in suppressed else 0) for name in names)
    report = DisclosureReport(k=k, quasi_identifiers=names, action=action, persons=rows, before=before, after=after,
                              changes=changes)
    return Disclosure(out, delivered, report)


# ------------------------------------------------------------------------------------------------ internals

@dataclass(frozen=True)
class _Codes:
    """One quasi-identifier as integer codes (-1 = missing) with its distinct values and its current variable."""

    codes: np.ndarray
    uniques: pd.Series
    variable: Variable

    @classmethod
    def of(cls, values: pd.Series, variable: Variable) -> _Codes:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return cls(codes.astype(np.int64, copy=False), pd.Series(uniques), variable)

    def coarsened(self, precision: str) -> _Codes:
        """The same column with its dates at `precision` (computed on the distinct values, then mapped)."""
        values, variable = coarsen(self.uniques, self.variable, precision)
        mapped, uniques = pd.factorize(values, use_na_sentinel=True)
        return _Codes(np.append(mapped, -1).astype(np.int64)[self.codes], pd.Series(uniques), variable)

    def suppressed(self, rows: np.ndarray) -> _Codes:
        return replace(self, codes=np.where(rows, -1, self.codes))


def _checked(frame: pd.DataFrame, codebook: Codebook, quasi_identifiers: Sequence[str], k: int,
             action: str) -> tuple[str, ...]:
    if action not in ACTIONS:
        raise DisclosureError(f"disclosure.action: must be one of {', '.join(ACTIONS)}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise DisclosureError("disclosure.k: must be an integer of at least 2")
    names = tuple(quasi_identifiers)
    for index, name in enumerate(names):
        if name in names[:index]:
            raise DisclosureError(f"disclosure.quasi_identifiers: '{name}' is listed twice")
        if name == PSEUDONYM:
            raise DisclosureError(f"disclosure.quasi_identifiers: '{name}' is unique to each person and cannot be a "
                                  f"quasi-identifier")
        if name not in codebook.names:
            raise DisclosureError(f"disclosure.quasi_identifiers: '{name}' is not a variable of codebook "
                                  f"'{codebook.name}'")
        if name not in frame.columns:
            raise DisclosureError(f"disclosure.quasi_identifiers: '{name}' is not a column of the table")
    return names


def _classes(columns: Sequence[np.ndarray], rows: int, k: int) -> tuple[Classes, np.ndarray]:
    """The classes over `columns` (integer codes, -1 missing) counted; and which rows are in a class below k."""
    key = np.zeros(rows, np.int64)
    bound = 1
    all_missing = np.ones(rows, bool)
    for codes in columns:
        width = int(codes.max()) + 2 if rows else 1
        if bound * width > _KEY_LIMIT:
            key, bound = pd.factorize(key)[0].astype(np.int64), rows  # renumber densely before it could overflow
        key = key * width + (codes + 1)
        bound *= width
        all_missing &= codes < 0
    ids = pd.factorize(key)[0]
    sizes = np.bincount(ids)
    below = sizes < k
    below[ids[np.flatnonzero(all_missing)[:1]]] = False  # the all-missing class is exempt
    small = below[ids]
    return Classes(classes=len(sizes), classes_below_k=int(below.sum()), persons_below_k=int(small.sum()),
                   all_missing=int(all_missing.sum())), small


def _generalise(columns: dict[str, _Codes], codebook: Codebook, frame: pd.DataFrame, rows: int,
                k: int) -> tuple[dict[str, _Codes], dict[str, str], dict[str, str]]:
    """Global recoding, one step at a time while classes below k remain: of the possible steps, the one that lifts
    most persons out of small classes, then the one that merges most classes (the first in quasi-identifier order
    on a tie); a step that changes no class is never taken."""
    generalised: dict[str, str] = {}
    dropped: dict[str, str] = {}
    current = _classes([c.codes for c in columns.values()], rows, k)[0]
    while current.persons_below_k:
        best: tuple[tuple[int, int], str, str, str, dict[str, _Codes], Classes] | None = None
        for name, kind, target, trial in _steps(columns, codebook, frame, dropped):
            counted = _classes([c.codes for c in trial.values()], rows, k)[0]
            gain = (current.persons_below_k - counted.persons_below_k, current.classes - counted.classes)
            if gain > (0, 0) and (best is None or gain > best[0]):
                best = (gain, name, kind, target, trial, counted)
        if best is None:
            break
        _gain, name, kind, target, columns, current = best
        (generalised if kind == "coarsen" else dropped)[name] = target
    return columns, generalised, dropped


def _steps(columns: dict[str, _Codes], codebook: Codebook, frame: pd.DataFrame,
           dropped: dict[str, str]) -> Iterator[tuple[str, str, str, dict[str, _Codes]]]:
    """The possible global recodings: (variable, "coarsen" or "drop", precision or coarser variable, new columns)."""
    for name, column in columns.items():
        current = precision_of(column.variable)
        if current is not None and current != PRECISIONS[-1]:
            target = PRECISIONS[PRECISIONS.index(current) + 1]
            yield name, "coarsen", target, {**columns, name: column.coarsened(target)}
    delivered = {n for n in codebook.names if n in frame.columns and n not in dropped}
    for name, column in columns.items():
        coarser = _coarser(column.variable, codebook, delivered)
        if coarser is not None:
            yield name, "drop", coarser, {n: c for n, c in columns.items() if n != name}


def _coarser(variable: Variable, codebook: Codebook, delivered: set[str]) -> str | None:
    """A delivered variable whose code list groups `variable`'s (lan for kommun), or None."""
    codelist = next((c for c in codebook.codelists if c.name == variable.codelist), None)
    if codelist is None or codelist.groups is None:
        return None
    return next((v.name for v in codebook.variables
                 if v.codelist == codelist.groups and v.name != variable.name and v.name in delivered), None)


def _suppress(columns: dict[str, _Codes], rows: int, k: int) -> tuple[dict[str, _Codes], dict[str, np.ndarray]]:
    """Local suppression: persons in small classes lose one quasi-identifier at a time, the one with the most
    distinct values first, until their class reaches k (at worst all, into the exempt all-missing class)."""
    order = sorted(columns, key=lambda name: -_distinct(columns[name].codes))  # stable: ties in given order
    suppressed: dict[str, np.ndarray] = {}
    for name in order:
        small = _classes([c.codes for c in columns.values()], rows, k)[1]
        if not small.any():
            break
        suppressed[name] = small & (columns[name].codes >= 0)
        columns = {**columns, name: columns[name].suppressed(small)}
    return columns, suppressed


def _distinct(codes: np.ndarray) -> int:
    return int(np.count_nonzero(np.bincount(codes[codes >= 0]))) if len(codes) else 0


def _apply(frame: pd.DataFrame, codebook: Codebook, generalised: dict[str, str], dropped: dict[str, str],
           suppressed: dict[str, np.ndarray]) -> tuple[pd.DataFrame, Codebook]:
    """The frame and codebook with the chosen recodings and suppressions applied (rows and other columns as given)."""
    if not (generalised or dropped or any(mask.any() for mask in suppressed.values())):
        return frame, codebook
    out = frame.drop(columns=list(dropped))
    variables = {v.name: v for v in codebook.variables}
    for name, precision in generalised.items():
        values, variables[name] = coarsen(frame[name], variables[name], precision)
        out[name] = values.array
    for name, mask in suppressed.items():
        if mask.any():
            out[name] = _with_missing(out[name], mask).array
    kept = [name for name in codebook.names if name not in dropped]
    return out, replace(codebook, variables=tuple(variables.values())).select(kept)


def _with_missing(values: pd.Series, rows: np.ndarray) -> pd.Series:
    """`values` with `rows` set to missing (numpy integers and booleans become their nullable types first)."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        values = values.astype("boolean")
    elif isinstance(dtype, np.dtype) and dtype.kind in "iu":
        values = values.astype(f"{'U' if dtype.kind == 'u' else ''}Int{dtype.itemsize * 8}")
    return values.mask(rows)


__all__ = ["ACTIONS", "Classes", "Disclosure", "DisclosureError", "DisclosureReport", "VariableChange", "check_k"]
