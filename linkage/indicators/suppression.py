"""Disclosure control for tables of counts and shares: primary and secondary cell suppression, and an exact audit.

Rules (defaults after domain.md §7.4: Socialstyrelsen does not show counts under 5 and suppresses secondarily;
SCB's röjandekontroll; the toolkit default is a minimum cell of 5, configurable):
- primary: a count cell is sensitive when its count is below k; a share cell when its denominator is below k, its
  count is below k, or (with `complement`) denominator − count is below k — "all but 2 of them" is as small a cell
  as "2". Empty cells are not rows at all where their emptiness follows from the structure of the output.
- secondary: a suppressed cell must not be recoverable from the cells shown through the table's sums
  (`cube.Relations`). Three checks, repeated until all pass, each time suppressing one more cell where one fails
  (the smallest shown part of the failing sum; its total only when no part is left):
  1. propagation: a sum with exactly one unknown member gives that member away; a sensitive cell given away fails.
  2. remainder: where a sum's total is known, its unknown parts add up to a known remainder; a remainder with no
     one with the outcome (or, with `complement`, no one without it) shows that of every suppressed part in it, and
     fails when one of those parts is sensitive.
  3. audit: exact linear algebra over all sums at once (a cell is recoverable iff the unit vector of the cell lies in
     the row space of the sums restricted to the unknown cells) catches what one sum at a time misses, e.g. a cell
     bridging two blocks of suppressed cells.
Cells that are never shown but known to an outsider (`known`, e.g. a cohort's size per kommun and sex, which SCB
publishes) count as known. Cells never shown and not known are unknowns: they hide what they add to a sum, and they
are protected like suppressed cells when they describe a group one can knowingly belong to (`protected`; not so for
persons of unknown sex or kommun, whom nobody outside can point out).
"""

from __future__ import annotations

import functools
import heapq

import numpy as np

from linkage.indicators.cube import Relations

#: Entries below this are zero in the elimination (the sums have entries ±1; no value comes near it otherwise).
_TINY = 1e-9


def sensitive(count: np.ndarray, denominator: np.ndarray | None, *, min_count: int,
              complement: bool) -> np.ndarray:
    """Per cell: below the threshold (counts: count < k; shares: denominator, count or complement < k).

    Zero counts as small: a cell that is there with nobody in it says as much as one with 2 (cells that cannot be
    told apart from structure are not cells at all; see `cube.build_cube`)."""
    count = np.asarray(count, dtype=np.int64)
    if denominator is None:
        return count < min_count
    denominator = np.asarray(denominator, dtype=np.int64)
    small = (denominator < min_count) | (count < min_count)
    if complement:
        small |= (denominator - count) < min_count
    return small


def protect(count: np.ndarray, denominator: np.ndarray | None, relations: Relations, *, published: np.ndarray,
            known: np.ndarray, min_count: int, complement: bool = True, protected: np.ndarray | None = None,
            prehidden: np.ndarray | None = None) -> np.ndarray:
    """Which published cells to suppress (primary, then secondary until no suppressed cell can be worked out).

    `published`: cells that are rows of the output; `known`: cells an outsider knows though they are not shown;
    `protected`: cells whose smallness matters (default all; see the module docstring); `prehidden`: published cells
    to suppress in any case (a pattern shared with other tables)."""
    count = np.asarray(count, dtype=np.int64)
    denom = None if denominator is None else np.asarray(denominator, dtype=np.int64)
    published = np.asarray(published, bool)
    known = np.asarray(known, bool) & ~published
    risky = sensitive(count, denom, min_count=min_count, complement=complement)
    if protected is not None:
        risky &= np.asarray(protected, bool) | published
    hidden = ~published & ~known  # never shown, unknown to an outsider
    hidden |= published & risky
    if prehidden is not None:
        hidden |= published & np.asarray(prehidden, bool)
    check = _Checker(count, denom, relations, published, complement)
    while True:
        extra = check.propagation(hidden, risky)
        if not extra.any():
            extra = check.audit(hidden, risky)
        if not extra.any():
            return hidden & published
        hidden |= extra


def recoverable(relations: Relations, hidden: np.ndarray) -> np.ndarray:
    """Per cell: is the cell hidden and yet determined exactly by the shown cells through the sums? (exact audit)."""
    hidden = np.asarray(hidden, bool)
    out = np.zeros(len(hidden), bool)
    for cells in _determined(_hidden_rows(relations, hidden)):
        out[cells] = True
    return out


def _hidden_rows(relations: Relations, hidden: np.ndarray) -> list[dict[int, float]]:
    """Each sum restricted to its hidden members (cell → +1 part, −1 total); the shown members are constants."""
    members = hidden[relations.cell]
    rows: dict[int, dict[int, float]] = {}
    for rel, cell, total in zip(relations.relation[members].tolist(), relations.cell[members].tolist(),
                                relations.total[members].tolist()):
        rows.setdefault(rel, {})[cell] = -1.0 if total else 1.0
    return list(rows.values())


def _determined(rows: list[dict[int, float]]) -> list[int]:
    """The variables the equations `rows` fix exactly: sparse Gauss–Jordan elimination to reduced row echelon form.

    In the reduced form a variable is fixed exactly when it is a pivot whose row holds nothing else. Rows are sparse
    (a sum has a few to a few dozen members) and the sums nest, so eliminating the rarest variable first keeps them
    sparse; the coefficients stay small integers or halves, exact in floating point."""
    rows = [dict(row) for row in rows if row]
    holders: dict[int, set[int]] = {}
    for index, row in enumerate(rows):
        for cell in row:
            holders.setdefault(cell, set()).add(index)
    pivot_rows: list[tuple[int, int]] = []
    queue = [(len(row), index) for index, row in enumerate(rows)]
    heapq.heapify(queue)
    done = set()
    while queue:
        length, index = heapq.heappop(queue)
        row = rows[index]
        if index in done or not row:
            continue
        if length != len(row):
            heapq.heappush(queue, (len(row), index))
            continue
        done.add(index)
        pivot = min(row, key=lambda cell: (abs(abs(row[cell]) - 1) > _TINY, len(holders[cell]), cell))
        scale = row[pivot]
        for cell in row:
            row[cell] /= scale
        for other in list(holders[pivot] - {index}):
            target = rows[other]
            factor = target[pivot]
            for cell, value in row.items():
                updated = target.get(cell, 0.0) - factor * value
                if abs(updated) < _TINY:
                    if cell in target:
                        del target[cell]
                        holders[cell].discard(other)
                else:
                    if cell not in target:
                        holders[cell].add(other)
                    target[cell] = updated
            if other not in done:
                heapq.heappush(queue, (len(target), other))
        pivot_rows.append((pivot, index))
    return [pivot for pivot, index in pivot_rows if len(rows[index]) == 1]


class _Checker:
    """The secondary checks over one table; each returns the cells to suppress next (empty when all pass)."""

    def __init__(self, count, denom, relations: Relations, published, complement):
        self.count, self.denom = count, denom
        self.size = count if denom is None else denom
        self.rel, self.cell, self.total = relations.relation, relations.cell, relations.total
        self.n_rel = relations.count
        self.published = published
        self.complement = complement
        self.relations = relations

    @functools.cached_property
    def members(self) -> list[np.ndarray]:
        """Per sum, the positions of its members (built only when a fix needs them)."""
        order = np.argsort(self.rel, kind="stable")
        return np.split(order, np.flatnonzero(np.diff(self.rel[order])) + 1) if len(order) else []

    @functools.cached_property
    def of_cell(self) -> dict[int, list[int]]:
        """Per cell, the sums it belongs to."""
        out: dict[int, list[int]] = {}
        for rel, cell in zip(self.rel.tolist(), self.cell.tolist()):
            out.setdefault(cell, []).append(rel)
        return out

    def propagation(self, hidden: np.ndarray, risky: np.ndarray) -> np.ndarray:
        """Derive what single-unknown sums give away; fix each sensitive cell given away and each telling remainder."""
        derived = ~hidden
        source = np.full(len(hidden), -1)  # the sum that gave a hidden cell away
        while True:
            unknown = ~derived[self.cell]
            n_unknown = np.bincount(self.rel, weights=unknown, minlength=self.n_rel)
            single = unknown & (n_unknown[self.rel] == 1)
            if not single.any():
                break
            source[self.cell[single]] = self.rel[single]
            derived[self.cell[single]] = True
        seeds = [[int(source[cell])] for cell in np.flatnonzero(hidden & derived & risky)]
        if self.denom is not None:  # remainders of shares' sums whose total is known
            unknown = ~derived[self.cell]
            total_known = np.zeros(self.n_rel, bool)
            total_known[self.rel[self.total]] = derived[self.cell[self.total]]
            open_parts = unknown & ~self.total
            n_open = np.bincount(self.rel, weights=open_parts, minlength=self.n_rel)
            any_risky = np.bincount(self.rel, weights=open_parts & risky[self.cell], minlength=self.n_rel) > 0
            rem_count = np.bincount(self.rel, weights=np.where(open_parts, self.count[self.cell], 0),
                                    minlength=self.n_rel)
            rem_denom = np.bincount(self.rel, weights=np.where(open_parts, self.denom[self.cell], 0),
                                    minlength=self.n_rel)
            telling = rem_count == 0
            if self.complement:
                telling |= rem_denom == rem_count
            seeds += [[int(rel)] for rel in np.flatnonzero(total_known & (n_open >= 2) & any_risky & telling)]
        return self._fix(seeds, hidden, source)

    def audit(self, hidden: np.ndarray, risky: np.ndarray) -> np.ndarray:
        """Fix each sensitive cell the sums fix exactly (starting from the sums that hold it)."""
        exposed = np.flatnonzero(recoverable(self.relations, hidden) & risky)
        if not len(exposed):
            return np.zeros_like(hidden)
        return self._fix([self.of_cell.get(int(cell), []) for cell in exposed], hidden,
                         np.full(len(hidden), -1))

    def _fix(self, seeds: list[list[int]], hidden: np.ndarray, source: np.ndarray) -> np.ndarray:
        """Per failure, one more cell to suppress: the best shown member of the sums behind it.

        The search starts from the failing sums and follows what gave their hidden members away (`source`); where no
        shown member is found there, it widens to every sum holding one of their hidden members, and so on. Best:
        a part before a total, then the smallest cell, then the lowest cell id (deterministic)."""
        extra = np.zeros_like(hidden)
        for start in seeds:
            seen, frontier = set(start), list(start)
            while frontier:
                choice = self._best(frontier, hidden | extra)
                if choice >= 0:
                    extra[choice] = True
                    break
                frontier = self._widen(frontier, seen, hidden, source)
        return extra

    def _best(self, relations: list[int], hidden: np.ndarray) -> int:
        index = np.concatenate([self.members[r] for r in relations])
        cells = self.cell[index]
        ok = self.published[cells] & ~hidden[cells]
        if not ok.any():
            return -1
        index, cells = index[ok], cells[ok]
        best = np.lexsort((cells, self.size[cells], self.total[index]))[0]
        return int(cells[best])

    def _widen(self, relations: list[int], seen: set[int], hidden: np.ndarray, source: np.ndarray) -> list[int]:
        """The next sums to search: first the sums that gave members away, then every sum of a hidden member."""
        cells = {int(c) for r in relations for c in self.cell[self.members[r]] if hidden[c]}
        given = {int(source[c]) for c in cells if source[c] >= 0} - seen
        nearby = given or {r for c in cells for r in self.of_cell.get(c, [])} - seen
        seen |= nearby
        return sorted(nearby)
