"""Personnummer changes: every old number resolved to the person's current one, through chains.

Skatteverket may give a person a new number (corrected birth date or sex, changed legal gender; a samordningsnummer
replaced by a personnummer when the person is folkbokförd) and tells agencies old → new through Navet (domain.md
§1.2, §1.4). Registers keep the number in use when the record was made, so old numbers are mapped to the current
one before pseudonymising, and the record gets the current person's pseudonym. Changes can chain (A → B, B → C);
a cycle or an old number changed to two different numbers is an error naming rows of the change file, never numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import codebooks
from linkage.errors import InputError
from linkage.io import read_whole_table
from linkage.registers import register
from pseudonym.personnummer import KINDS
from pseudonym.vectorized import parse_arrays

_EXAMPLES = 5
_DIGIT_POWERS = 10 ** np.arange(11, -1, -1, dtype=np.int64)
_VALID = (KINDS.index("personnummer"), KINDS.index("samordningsnummer"))
#: The latest date a 12-digit number may carry (pseudonym.personnummer.LAST_YEAR).
NO_REFERENCE = np.datetime64("2099-12-31", "D")


@dataclass(frozen=True)
class Changes:
    """Old numbers (sorted, as 12-digit integers) and the current number each resolves to."""

    old: np.ndarray
    current: np.ndarray
    #: Rows of the change file read, and exact repeats among them (counted once).
    rows: int = 0
    repeated: int = 0

    def __len__(self) -> int:
        return len(self.old)

    def __repr__(self) -> str:
        return f"Changes(<{len(self)} old numbers, redacted>)"

    def resolve(self, canonical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Canonical numbers (S12, b"" where none) with every old number replaced by the current one, and where."""
        if not len(self) or not len(canonical):
            return canonical, np.zeros(len(canonical), dtype=bool)
        current, changed = self.resolve_numbers(to_integers(canonical))
        if not changed.any():
            return canonical, changed
        out = np.array(canonical, dtype="S12")
        out[changed] = to_canonical(current[changed])
        return out, changed

    def resolve_numbers(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`resolve` for numbers as 12-digit integers (0 where none): the current numbers, and where they changed."""
        if not len(self) or not len(numbers):
            return numbers, np.zeros(len(numbers), dtype=bool)
        at = np.minimum(np.searchsorted(self.old, numbers), len(self.old) - 1)
        changed = (self.old[at] == numbers) & (numbers > 0)
        return (np.where(changed, self.current[at], numbers) if changed.any() else numbers), changed


NO_CHANGES = Changes(np.zeros(0, np.int64), np.zeros(0, np.int64))


def resolve_changes(old: np.ndarray, new: np.ndarray, rows: np.ndarray | None = None) -> Changes:
    """Resolve old → new pairs (12-digit integers) into old → current, following chains, vectorised.

    `rows` are the change file's row numbers of the pairs, for messages (1-based positions by default). Pointer
    jumping: each round replaces every number's successor by its successor's successor, so a chain of length L
    is resolved in log2(L) rounds; a number whose final successor still moves lies on or leads into a cycle.
    """
    old, new = np.asarray(old, dtype=np.int64), np.asarray(new, dtype=np.int64)
    rows = np.arange(1, len(old) + 1) if rows is None else np.asarray(rows)
    pairs = np.unique(np.c_[old, new], axis=0, return_index=True)[1] if len(old) else np.zeros(0, np.int64)
    pairs = np.sort(pairs)
    repeated = len(old) - len(pairs)
    old, new, rows = old[pairs], new[pairs], rows[pairs]
    _check_one_successor(old, rows)
    loops = rows[old == new]
    if len(loops):
        raise InputError(_cycle_message(loops))
    nodes = np.unique(np.r_[old, new])
    successor = np.arange(len(nodes))
    successor[np.searchsorted(nodes, old)] = np.searchsorted(nodes, new)
    final = successor.copy()
    for _ in range(max(1, int(np.ceil(np.log2(max(len(nodes), 2))))) + 1):
        final = final[final]
    moving = successor[final] != final
    if moving.any():
        raise InputError(_cycle_message(_cycle_rows(successor, np.flatnonzero(moving)[0], nodes, old, rows)))
    at = np.searchsorted(nodes, old)
    order = np.argsort(old)
    return Changes(old[order], nodes[final[at]][order], rows=len(old) + repeated, repeated=repeated)


def load_changes(data_dir: Path | str) -> Changes:
    """Read the change file of a data folder (dataset `pnr_changes`), validate it and resolve its chains.

    The file is reference data: a row that fails its codebook or holds a number that is not a valid personnummer
    or samordningsnummer is an error naming the row and column.
    """
    entry = register("pnr_changes")
    path = entry.file(data_dir)
    table = read_whole_table(path)
    report = codebooks.validate(table, entry.codebook)
    if not report.ok:
        issue = report.issues[0]
        where = f"row {issue.rows[0]}, " if issue.rows else ""
        raise InputError(f"{path.name}: {where}column '{issue.variable}': {issue.problem.replace('_', ' ')} "
                         f"({len(report.issues)} problem(s); see `reglink codebook validate`)")
    numbers = []
    for column in ("gammalt_personnr", "nytt_personnr"):
        # 12 digits by the codebook's pattern: no century to infer, so no reference date (a number's date may
        # lie after the change when Skatteverket used a nearby day, domain.md §1.1).
        parsed = parse_arrays(table[column], reference_date=NO_REFERENCE)
        bad = np.flatnonzero(~np.isin(parsed.kind, _VALID))
        if len(bad):
            raise InputError(f"{path.name}: row {bad[0] + 1}, column '{column}': not a valid personnummer or "
                             f"samordningsnummer ({len(bad)} such row(s))")
        numbers.append(to_integers(parsed.canonical))
    return resolve_changes(*numbers)


def to_integers(canonical: np.ndarray) -> np.ndarray:
    """S12 canonical numbers as int64 (0 where empty)."""
    canonical = np.ascontiguousarray(canonical, dtype="S12")
    digits = canonical.view(np.uint8).reshape(-1, 12).astype(np.int64) - 48
    return np.where(canonical == b"", 0, digits @ _DIGIT_POWERS)


def to_canonical(numbers: np.ndarray) -> np.ndarray:
    """int64 numbers (0 ≤ n < 10^12) as S12 canonical text, zero-padded: twelve digits by arithmetic (text
    formatting goes one number at a time). Each digit is divided off by a constant, which numpy turns into a
    multiplication, six times for each 32-bit half: two and a half times faster than by a table of powers."""
    numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
    digits = np.empty((len(numbers), 12), dtype=np.uint8)
    high, low = np.divmod(numbers, 1_000_000)
    for half, first in ((high.astype(np.int32), 0), (low.astype(np.int32), 6)):
        for column in range(first + 5, first - 1, -1):
            half, digits[:, column] = np.divmod(half, 10)
    digits += ord("0")
    return digits.view("S12").reshape(-1)


def as_arrow(canonical: np.ndarray) -> pa.Array:
    """S12 canonical numbers as an Arrow string array, null where empty."""
    canonical = np.ascontiguousarray(canonical, dtype="S12")
    text = pa.Array.from_buffers(pa.binary(12), len(canonical), [None, pa.py_buffer(canonical)]).cast(pa.string())
    return pc.if_else(pa.array(canonical != b""), text, pa.scalar(None, pa.string()))


def _check_one_successor(old: np.ndarray, rows: np.ndarray) -> None:
    order = np.argsort(old, kind="stable")
    twice = np.flatnonzero(old[order][1:] == old[order][:-1])
    if len(twice):
        first, second = sorted((rows[order][twice[0]], rows[order][twice[0] + 1]))
        raise InputError(f"personnummer changes: rows {first} and {second} change the same old number to two "
                         f"different numbers ({len(twice)} such number(s))")


def _cycle_rows(successor: np.ndarray, start: int, nodes: np.ndarray, old: np.ndarray,
                rows: np.ndarray) -> np.ndarray:
    """The change-file rows of the cycle that `start` lies on or leads into."""
    seen: dict[int, int] = {}
    node = int(start)
    while node not in seen:
        seen[node] = len(seen)
        node = int(successor[node])
    cycle = [n for n, step in seen.items() if step >= seen[node]]
    return np.sort(rows[np.isin(old, nodes[cycle])])


def _cycle_message(rows: np.ndarray) -> str:
    shown = ", ".join(str(r) for r in rows[:_EXAMPLES])
    more = f" and {len(rows) - _EXAMPLES} more" if len(rows) > _EXAMPLES else ""
    return (f"personnummer changes form a cycle (rows {shown}{more} of the change file): a number cannot be "
            "changed back into itself")
