"""Ingest one source register: read, drop exact duplicates, validate, pseudonymise, keep evidence for the rest.

For each register of the catalogue (`linkage.registers`), in Arrow record batches so memory stays bounded:
1. read every column (CSV with encoding and delimiter detection, Parquet, Stata/SAS), rows numbered 1.. as in the
   file (header not counted);
2. drop rows that repeat an earlier row exactly (counted);
3. validate against the register's codebook: a row with any problem is rejected (row, column, reason, raw value);
4. classify each identifier with the record's own reference date (domain.md §1.3; a record without one must
   write the century), map old numbers to the current one through the personnummer changes, and pseudonymise
   with the project key; derive birth date and sex;
5. keep rows whose identifier is not a personnummer or samordningsnummer but still tells something (temporary,
   interim and reserve numbers, numbers with a broken check digit) without a pseudonym, with their linkage
   evidence in a separate frame (birth date, sex, kommun, country of birth, event date, and a keyed hash of the
   identifier within its scope so that one person's records group together); reject the rest (empty, unreadable,
   impossible date, organisation number);
6. drop every direct identifier column (by codebook role, never by name).
rows read = rows kept + rows rejected + duplicates dropped. Rejects (row, column, reason, raw value) go to the secure
working folder only. Frames are pandas with Arrow-backed text and numbers and datetime64[ns] dates; `pseudonym_id`
is categorical (each distinct pseudonym is held once, the rows hold small codes).

Each distinct number is pseudonymised once per register, and each column is parsed once (validated and typed in one
pass, codes and dates once per distinct value), so the cost follows the rows where it must and the distinct values
where it can.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import codebooks
from codebooks import Codebook
from linkage import _rowset
from linkage.changes import NO_CHANGES, NO_REFERENCE, Changes, as_arrow, to_canonical, to_integers
from linkage.errors import InputError
from linkage.io import BATCH_ROWS, TableBatches, require_columns, write_table
from linkage.memory import zeroed
from linkage.registers import Register, register
from pseudonym.keys import MasterKey
from pseudonym.personnummer import KINDS, REASONS
from pseudonym.pseudonyms import HEX_DIGITS, hex_digests, project_key
from pseudonym.vectorized import ParsedIds, parse_arrays

#: Columns ingest adds: the source row number, the pseudonym and what the identifier tells.
ROW, PSEUDONYM, BIRTH_DATE, SEX, ID_KIND = "row", "pseudonym_id", "birth_date", "sex", "id_kind"
EVIDENCE_COLUMNS = ("row", "group", "birth_date", "sex", "kommun", "country", "event_date", "id_kind", "neighbours")

_KIND = {name: i for i, name in enumerate(KINDS)}
_PSEUDONYMISED = (_KIND["personnummer"], _KIND["samordningsnummer"])
_CENTURY_WRITTEN = r"^\s*[0-9]{8}"
_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9])  # digit sum of 2 × d (Luhn's weight-2 positions)
_UNDOUBLED = np.argsort(_DOUBLED)
_NULL_HASH = np.uint64(0x9E3779B97F4A7C15)
_SEEDS = (np.uint64(0x243F6A8885A308D3), np.uint64(0x13198A2E03707344))
_FLOAT_TAG = np.uint64(0xA4093822299F31D0)
_MIX = np.uint64(0x100000001B3)

Progress = Callable[[str, int], None]


@dataclass
class IngestCounts:
    """Every row accounted for: rows read = kept + rejected + duplicates dropped."""

    rows_read: int = 0
    rows_kept: int = 0
    rows_rejected: int = 0
    duplicates_dropped: int = 0
    pseudonymised: int = 0
    #: Rows whose number was an old one, mapped to the current number through the changes before pseudonymising.
    old_numbers_mapped: int = 0
    #: Kept rows without a pseudonym, by identifier kind (`invalid` = broken check digit).
    without_id: dict[str, int] = field(default_factory=dict)
    #: Rejected rows by the first reason found for them.
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_kept + self.rows_rejected + self.duplicates_dropped

    def add(self, other: IngestCounts) -> None:
        for name in ("rows_read", "rows_kept", "rows_rejected", "duplicates_dropped", "pseudonymised",
                     "old_numbers_mapped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("without_id", "rejected"):
            merged = Counter(getattr(self, name)) + Counter(getattr(other, name))
            setattr(self, name, dict(sorted(merged.items())))


@dataclass(frozen=True)
class Ingested:
    """One ingested register: the frame, the evidence of rows without a pseudonym, the counts, the rejects file.

    `frame`: `row`, `pseudonym_id` (categorical, sorted categories; NA without a usable identifier), the register's
    own typed columns without its direct identifiers, `birth_date`, `sex` (1 man, 2 kvinna, NA unknown) and
    `id_kind` (registers of persons only). `evidence`: one row per frame row without a pseudonym (EVIDENCE_COLUMNS). `duplicate_rows`: the
    source rows dropped as exact repeats.
    """

    register: Register
    frame: pd.DataFrame
    evidence: pd.DataFrame
    counts: IngestCounts
    rejects: Path
    duplicate_rows: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))
    #: Every distinct identifier as written in the file (`identifiers=True` only): what the leak guard looks for.
    identifiers: pa.Array | None = field(repr=False, default=None)

    @property
    def name(self) -> str:
        return self.register.name


def ingest_register(name: str, data_dir: Path | str, *, key: MasterKey | bytes, project: str,
                    changes: Changes | None = None, secure_dir: Path | str, columns: Iterable[str] | None = None,
                    batch_rows: int | None = None, workers: int = 1, identifiers: bool = False,
                    digests: Digests | None = None, progress: Progress | None = None) -> Ingested:
    """Ingest register `name` from `data_dir` (see the module docstring); rejects go to `secure_dir`.

    `columns` limits the register's own columns kept in the frame (every column is still read, checked and
    compared for duplicates, so which rows are kept never depends on it). The register is read `batch_rows`
    rows at a time; `workers` threads ingest batches side by side (Arrow, numpy and the HMAC release the GIL),
    the result the same whatever their number. `identifiers` also keeps every distinct identifier as written
    (`Ingested.identifiers`, for the leak guard; held in memory only). `digests` shares pseudonyms already
    computed with other registers (`Digests` of the same key and project).
    """
    entry = register(name)
    codebook = entry.codebook
    keep = _kept_columns(entry, codebook, columns)
    secure = _secure_folder(secure_dir)
    if workers < 1:
        raise InputError("workers must be at least 1")
    own_key = project_key(key, project)
    digests = digests or Digests(own_key)
    if digests.key != own_key:
        raise ValueError("digests made under another key or project: a bug")
    context = _Context(entry, codebook, keep, digests, changes or NO_CHANGES,
                       identifiers=identifiers and entry.identifier is not None)
    source = TableBatches(entry.file(data_dir), batch_rows=batch_rows or BATCH_ROWS, dictionary=True)
    seen = _Seen()
    parts: list[_Part] = []
    counts = IngestCounts()
    written = _Distinct()

    def collect(part: _Part) -> None:
        parts.append(part)
        counts.add(part.counts)
        written.add(part.identifiers)
        if progress is not None:
            progress(name, counts.rows_read)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reglink-ingest") as pool:
        pending: deque[Future[_Part]] = deque()
        turn = threading.Event()
        turn.set()
        for batch, rows in source:
            after, turn = turn, threading.Event()
            pending.append(pool.submit(context.ingest, batch, rows, seen, after, turn))
            while len(pending) > workers:  # at most `workers` batches in flight: memory stays bounded
                collect(pending.popleft().result())
        while pending:
            collect(pending.popleft().result())
    seen.forget()  # the hashes of every row: not needed once the last batch is in
    if counts.rows_read == 0 and not source.bad:
        raise InputError(f"{source.path.name}: has a header but no data rows")
    bad = _bad_lines(source.bad)
    counts.add(IngestCounts(rows_read=bad.num_rows, rows_rejected=bad.num_rows,
                            rejected={"wrong_number_of_fields": bad.num_rows} if bad.num_rows else {}))
    assert counts.balanced, "ingest lost rows: a bug"
    reject_table = pa.concat_tables([*(part.rejects for part in parts), bad]).sort_by([("row", "ascending")])
    rejects_path = write_table(reject_table, secure / f"{name}.rejects.csv", overwrite=True)
    duplicates = [part.duplicates for part in parts]
    ingested = Ingested(entry, context.frame([part.frame for part in parts]),
                        context.evidence_frame([part.evidence for part in parts]), counts, rejects_path,
                        np.concatenate(duplicates) if duplicates else np.zeros(0, np.int64),
                        written.values() if context.identifiers else None)
    # The batches' scratch memory stays in the heap for the next register's batches: given back after each
    # register, it was faulted in again by the next (a national link_world: 3.5 → 2.1 million page faults, 22.5–22.9
    # → 20.6–21.3 s, at a peak of 6.1 GB instead of 5.8); the stage gives it back at its end.
    return ingested


# ------------------------------------------------------------------------------------------------ one batch

@dataclass
class _Part:
    frame: pa.Table
    evidence: pa.Table
    rejects: pa.Table
    counts: IngestCounts
    duplicates: np.ndarray
    identifiers: pa.Array | None = None  # the batch's distinct identifiers as written, when asked for


class _Distinct:
    """Distinct text values gathered batch by batch, made distinct again whenever many have piled up."""

    def __init__(self) -> None:
        self.parts: list[pa.Array] = []
        self.size = 0

    def add(self, values: pa.Array | None) -> None:
        if values is None:
            return
        self.parts.append(values)
        self.size += len(values)
        if self.size > _DISTINCT_PILE:
            self.parts = [self.values()]
            self.size = len(self.parts[0])

    def values(self) -> pa.Array:
        return distinct_union(self.parts)


def distinct_union(parts: list[pa.Array]) -> pa.Array:
    """The distinct values of several text arrays, as one."""
    return pc.unique(pa.chunked_array(parts, pa.string())) if parts else pa.array([], pa.string())


_DISTINCT_PILE = 1 << 22


@dataclass(frozen=True)
class _Identified:
    """What the identifiers of a batch's rows gave: pseudonym codes, facts, and why rows are rejected."""

    codes: np.ndarray  # int32 into the register's Pseudonyms, -1 where none
    birth_date: np.ndarray
    sex: np.ndarray
    kind: np.ndarray
    reject: np.ndarray  # int8 per row: index into _REJECTS, -1 where kept
    neighbours: pa.Array  # broken check digit: pseudonyms of the valid numbers one digit away, comma-separated
    mapped: int


class _Context:
    """What every batch of one register needs: catalogue entry, codebook, columns kept, key, changes, and the
    register's pseudonyms so far."""

    def __init__(self, entry: Register, codebook: Codebook, keep: list[str], digests: Digests, changes: Changes,
                 *, identifiers: bool = False):
        self.entry, self.codebook, self.keep, self.key, self.changes = entry, codebook, keep, digests.key, changes
        self.identifiers = identifiers
        self.pseudonyms = Pseudonyms(digests)
        #: The columns needed typed: those kept and those linkage reads (never the identifier itself).
        self.typed = {*keep, *entry.linkage_columns} - {entry.identifier}

    def ingest(self, raw: pa.Table, rows: np.ndarray, seen: _Seen, after: threading.Event,
               turn: threading.Event) -> _Part:
        """Find a batch's exact repeats (batches take their turn in file order), validate and type its rows in one
        pass over the codebook; then, for registers of persons, identify. Text columns are dictionary-encoded
        once, by the reader, for all three. Every step runs on every row and the masks combine at the end: one
        filter, not one per step."""
        try:
            hashed = _row_hashes(raw)
            after.wait()
            duplicate = seen.repeats(hashed)
        finally:
            turn.set()
        report = codebooks.validate(raw, self.codebook, examples=None, cast=self.typed, dictionary=True)
        problems = [(p, column, reason) for p, column, reason in _problems(report, self.codebook)
                    if not duplicate[p]]
        bad = np.zeros(raw.num_rows, dtype=bool)
        bad[[p for p, _, _ in problems]] = True
        first_reason = dict(reversed([(p, reason) for p, _, reason in problems]))
        counts = IngestCounts(rows_read=raw.num_rows, duplicates_dropped=int(duplicate.sum()),
                              rows_rejected=int(bad.sum()), rejected=dict(Counter(first_reason.values())))
        rejects = _rejects(raw, rows, problems)
        duplicates = rows[duplicate]
        usable = ~duplicate & ~bad
        typed = report.typed
        if self.entry.identifier is None:
            counts.rows_kept = int(usable.sum())
            frame = self._columns(typed, rows, usable)
            return _Part(frame, _empty_evidence(), rejects, counts, duplicates)
        part = self._identify(raw[self.entry.identifier], typed, rows, usable)
        if self.identifiers:
            part.identifiers = _distinct_text(raw[self.entry.identifier])
        part.counts.add(counts)
        part.rejects = pa.concat_tables([rejects, part.rejects])
        part.duplicates = duplicates
        return part

    def _identify(self, identifiers: pa.ChunkedArray, typed: pa.Table, rows: np.ndarray,
                  usable: np.ndarray) -> _Part:
        """Pseudonymise the identifiers of the `usable` rows; keep evidence where there is no pseudonym; reject
        the rest."""
        reference = self.entry.reference.dates(typed) if self.entry.reference else pa.nulls(len(rows), pa.date32())
        ids = _identify(identifiers, reference, self.pseudonyms, self.changes, usable)
        rejected = usable & (ids.reject >= 0)
        where = np.flatnonzero(rejected)
        reasons = np.asarray(_REJECTS, dtype=object)[ids.reject[where]]
        rejects = _table_of_rejects(rows[where], self.entry.identifier, reasons,
                                    _text(_single(identifiers).take(pa.array(where))))
        kept = usable & ~rejected
        pseudonymised = kept & (ids.codes >= 0)
        without = kept & ~pseudonymised
        counts = IngestCounts(rows_kept=int(kept.sum()), rows_rejected=len(where),
                              pseudonymised=int(pseudonymised.sum()), old_numbers_mapped=ids.mapped,
                              without_id=dict(Counter(np.asarray(KINDS)[ids.kind[without]].tolist())),
                              rejected=dict(Counter(reasons.tolist())))
        frame = self._columns(typed, rows, kept)
        codes = ids.codes[kept]
        frame = frame.add_column(1, PSEUDONYM, pa.array(codes, pa.int32(), mask=codes < 0))
        frame = frame.append_column(BIRTH_DATE, _dates(ids.birth_date[kept]))
        frame = frame.append_column(SEX, pa.array(ids.sex[kept], pa.int8(), mask=ids.sex[kept] == 0))
        frame = frame.append_column(ID_KIND, pa.array(ids.kind[kept], pa.int8()))
        at = pa.array(np.flatnonzero(without))
        evidence = pa.table({
            "row": pa.array(rows[without], pa.int64()),
            "group": _group_keys(self.key, self._scope(typed.take(at)), _text(_single(identifiers).take(at))),
            "birth_date": _dates(ids.birth_date[without]),
            "sex": pa.array(ids.sex[without], pa.int8(), mask=ids.sex[without] == 0),
            "kommun": self._text_column(typed, self.entry.kommun, at),
            "country": self._text_column(typed, self.entry.country, at),
            "event_date": reference.take(at),
            "id_kind": pa.array(ids.kind[without], pa.int8()),
            "neighbours": ids.neighbours.take(at),
        })
        return _Part(frame, evidence, rejects, counts, np.zeros(0, np.int64))

    def _columns(self, typed: pa.Table, rows: np.ndarray, kept: np.ndarray) -> pa.Table:
        """The row numbers and the kept register columns (never a direct identifier) of the kept rows; columns
        typed by their distinct values are spread to the kept rows only."""
        table = pa.table({ROW: pa.array(rows, pa.int64()), **{name: typed[name] for name in self.keep}})
        table = table if kept.all() else table.filter(pa.array(kept))
        return pa.table({name: _decoded(column) for name, column in zip(table.column_names, table.columns)})

    def _scope(self, typed: pa.Table) -> pa.Array:
        """Per row, the scope an identifier is unique within: the namespace, and a column's value where given."""
        name = pa.scalar(self.entry.scope)
        if self.entry.group_within is None:
            return pa.repeat(name, typed.num_rows)
        return pc.binary_join_element_wise(name, pc.fill_null(_text(typed[self.entry.group_within]), ""), ":")

    @staticmethod
    def _text_column(typed: pa.Table, name: str | None, at: pa.Array) -> pa.Array:
        if name is None:
            return pa.nulls(len(at), pa.string())
        return _text(_single(typed[name]).take(at))

    def frame(self, parts: list[pa.Table]) -> pd.DataFrame:
        """The batches as one pandas frame (see `_to_pandas`): `pseudonym_id` categorical (sorted pseudonyms as
        categories: each is held once, the rows hold small codes), Int8 sex and categorical id_kind."""
        table = pa.concat_tables(parts)
        identified = ID_KIND in table.column_names
        frame = _to_pandas(table.drop_columns([PSEUDONYM, ID_KIND, SEX] if identified else []))
        if identified:
            frame.insert(1, PSEUDONYM, self.pseudonyms.categorical(table[PSEUDONYM]))
            frame[SEX] = _nullable_int8(table[SEX])
            frame[ID_KIND] = pd.Categorical.from_codes(_numpy(table[ID_KIND]), categories=list(KINDS))
        return frame

    @staticmethod
    def evidence_frame(parts: list[pa.Table]) -> pd.DataFrame:
        table = pa.concat_tables(parts) if parts else _empty_evidence()
        frame = _to_pandas(table.drop_columns(["sex", "id_kind"]))
        frame.insert(3, "sex", _nullable_int8(table["sex"]))
        frame["id_kind"] = pd.Categorical.from_codes(_numpy(table["id_kind"]), categories=list(KINDS))
        return frame[list(EVIDENCE_COLUMNS)]


class Digests:
    """Pseudonyms (hex digits of the HMAC) of current numbers under one project key, each computed once however
    many registers carry the number: the registers of one world share one (a million children are in most of
    them). Safe to share between threads."""

    def __init__(self, key: bytes):
        self.key = key
        self._lock = threading.Lock()
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (numbers sorted, their hex digits (n × 32))

    def of(self, numbers: np.ndarray) -> np.ndarray:
        """Hex digits of each of these distinct numbers, one row of 32 per number ((n × 32) uint8)."""
        out = np.empty((len(numbers), HEX_DIGITS), dtype=np.uint8)
        missing = np.ones(len(numbers), dtype=bool)
        with self._lock:
            runs = list(self._runs)
        for run_numbers, run_digits in runs:  # never empty
            at = np.minimum(np.searchsorted(run_numbers, numbers), len(run_numbers) - 1)
            hit = missing & (run_numbers[at] == numbers)
            out[hit] = run_digits[at[hit]]
            missing &= ~hit
        if missing.any():
            new = numbers[missing]
            digits = hex_digests(self.key, to_canonical(new)).reshape(-1, HEX_DIGITS)
            out[missing] = digits
            order = np.argsort(new)
            with self._lock:
                self._runs.append((new[order], digits[order]))
                if len(self._runs) > _MAX_DIGEST_RUNS:
                    self._runs = [self._merged(self._runs)]
        return out

    @staticmethod
    def _merged(runs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        numbers, first = np.unique(np.concatenate([n for n, _ in runs]), return_index=True)
        return numbers, np.concatenate([d for _, d in runs])[first]


_MAX_DIGEST_RUNS = 8


class Pseudonyms:
    """A register's distinct current numbers, each pseudonymised (HMAC) once, however many rows carry it.

    `codes` numbers the distinct numbers in the order batches meet them (threads may meet them in any order);
    `categorical` turns codes into pseudonyms with the categories sorted, so the result does not depend on that
    order. 20 million dispensings carry about a million numbers: one HMAC each, not one per row.
    """

    def __init__(self, digests: Digests):
        self.key, self._digests_of = digests.key, digests
        self._lock = threading.Lock()
        self._sorted = np.zeros(0, np.int64)  # the numbers met so far, sorted
        self._sorted_codes = np.zeros(0, np.int32)  # their codes
        self._digests: list[tuple[int, np.ndarray]] = []  # (first code, hex digits of the numbers from it on)
        self._count = 0

    def codes(self, numbers: np.ndarray) -> np.ndarray:
        """The code (int32) of each 12-digit number; -1 where the number is 0 (none)."""
        # Hashed, and only the distinct numbers sorted (a batch's million rows carry some 60,000): np.unique would
        # sort every row's, three times slower here.
        inverse, distinct = pd.factorize(numbers, sort=True)
        found = np.full(len(distinct), -1, dtype=np.int32)
        with self._lock:
            at = np.searchsorted(self._sorted, distinct)
            inside = at < len(self._sorted)
            known = np.zeros(len(distinct), dtype=bool)
            known[inside] = self._sorted[at[inside]] == distinct[inside]
            found[known] = self._sorted_codes[at[known]]
            fresh = ~known & (distinct > 0)
            new, first = distinct[fresh], self._count
            found[fresh] = np.arange(first, first + len(new), dtype=np.int32)
            self._count += len(new)
            self._sorted = np.insert(self._sorted, at[fresh], new)
            self._sorted_codes = np.insert(self._sorted_codes, at[fresh], found[fresh])
        if len(new):  # outside the lock: another batch may look up meanwhile
            digests = self._digests_of.of(new).reshape(-1)
            with self._lock:
                self._digests.append((first, digests))
        return found[inverse]

    def _table(self) -> np.ndarray:
        """Hex digits of every code's pseudonym, in code order ((codes × 32) uint8)."""
        parts = sorted(self._digests, key=lambda part: part[0])
        digits = np.concatenate([d for _, d in parts]) if parts else np.zeros(0, np.uint8)
        return digits.reshape(-1, HEX_DIGITS)

    def categorical(self, codes: pa.ChunkedArray | pa.Array) -> pd.Categorical:
        """Codes (int32, null for none) as a pandas Categorical of pseudonyms, categories sorted."""
        table = self._table()
        order = _hex_order(table)
        rank = np.empty(len(order) + 1, dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        rank[-1] = -1
        values = _single(codes) if len(codes) else pa.array([], pa.int32())
        positions = values.fill_null(-1).to_numpy(zero_copy_only=False)  # int32: no 64-bit copy of every row
        # The register's own strings, made in sorted order: they lie in memory in that order, so every later pass
        # over the categories (pandas' checks, look-ups, linkage) reads memory in sequence. Strings shared between
        # registers, made in the order numbers were first met, saved 0.1 GB per register but were scattered: at
        # national scale each such pass took twice as long or more (link_world 38 s → 32 s without them).
        categories = _strings(table[order], np.full(len(order), HEX_DIGITS)).to_numpy(zero_copy_only=False)
        return pd.Categorical.from_codes(rank[positions], categories=sorted_categories(categories))


def sorted_categories(values: np.ndarray) -> pd.Index:
    """Text values (object) as an Index for a categorical's categories. Where they are strictly increasing, as
    pseudonyms sorted for categories are, one pass of comparisons tells pandas they are unique too, so its check of
    the categories builds no hash table of them (a million pseudonyms: 0.07 s instead of 0.4 s)."""
    index = pd.Index(values, dtype=object)
    index.is_monotonic_increasing  # computed once and cached on the Index, uniqueness with it
    return index


def hex_heads(digits: np.ndarray) -> np.ndarray:
    """The first 16 of each row's lowercase hex digits ((n × 16 or more) uint8) as one 64-bit number: ordered as
    the text is, and, unlike the text's first 8 bytes (32 bits), all but surely distinct among a million
    pseudonyms. (Rows of other bytes give numbers too, in no useful order.)"""
    head = digits[:, :16]
    nibbles = (head & 0x0F) + 9 * (head >> 6)  # "0"-"9" (0x30-0x39) → 0-9, "a"-"f" (0x61-0x66) → 10-15
    return np.ascontiguousarray((nibbles[:, 0::2] << 4) | nibbles[:, 1::2]).view(">u8").reshape(-1).astype(np.uint64)


def _hex_order(digits: np.ndarray) -> np.ndarray:
    """The order that sorts rows of lowercase hex digits ((n × 32) uint8) as text: by their first 16 digits read
    as one 64-bit number (a sort of machine words, not of strings), and as text only when two of those tie."""
    key = hex_heads(digits)
    order = np.argsort(key)
    if (key[order][1:] == key[order][:-1]).any():  # a national spine has odds of 1 in 20 million: then by all 32 digits
        return np.argsort(np.ascontiguousarray(digits).view(f"S{HEX_DIGITS}").reshape(-1), kind="stable")
    return order


def _identify(values: pa.Array | pa.ChunkedArray, reference: pa.Array, pseudonyms: Pseudonyms, changes: Changes,
              usable: np.ndarray) -> _Identified:
    """Classify a batch's identifiers with per-row reference dates (parsed once per distinct value,
    `_parse_by_value`) and pseudonymise those of the `usable` rows."""
    values = _single(values)
    n = len(values)
    days = reference.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    undated = np.isnat(days)
    days[undated] = NO_REFERENCE
    parsed, index = _parse_by_value(values, days)
    # Per distinct value: kind, current number, pseudonym code, birth date, sex, why rejected.
    kind = parsed.kind
    numbers, changed = changes.resolve_numbers(to_integers(parsed.canonical))
    birth_date, sex = parsed.birth_date.copy(), parsed.sex.copy()
    if changed.any():  # the current number's birth date and sex (the old one's may have been wrong)
        current = parse_arrays(as_arrow(to_canonical(numbers[changed])), reference_date=NO_REFERENCE)
        birth_date[changed], sex[changed] = current.birth_date, current.sex
    used = np.zeros(len(kind), dtype=bool)
    used[index[usable]] = True
    codes = pseudonyms.codes(np.where(np.isin(kind, _PSEUDONYMISED) & used, numbers, 0))
    reason = np.full(len(kind), -1, dtype=np.int8)
    invalid = kind == _KIND["invalid"]
    broken = invalid & (parsed.reason == REASONS.index("checksum"))
    reason[invalid & ~broken] = parsed.reason[invalid & ~broken]  # identifier_<REASONS>
    reason[kind == _KIND["organisationsnummer"]] = _REJECTS.index("organisationsnummer")
    # Per row.
    kind, codes, reason, changed = kind[index], codes[index], reason[index], changed[index]
    birth_date, sex, broken = birth_date[index], sex[index], broken[index]
    undated &= usable & (reason < 0)
    if undated.any():
        rows = np.flatnonzero(undated)
        written = pc.fill_null(pc.match_substring_regex(_text(values.take(pa.array(rows))), _CENTURY_WRITTEN), False)
        reason[rows[~np.asarray(written)]] = _REJECTS.index("no_reference_date")
    neighbours = pa.nulls(n, pa.string())
    broken &= usable
    if broken.any():
        rows = np.flatnonzero(broken)
        # Once per distinct number and date: a school leaver's broken number is on each of their subject rows.
        _, first, same = np.unique(np.c_[index[rows], days[rows].astype(np.int64)], axis=0, return_index=True,
                                   return_inverse=True)
        same = same.reshape(-1)
        typo = _single_digit_typos(_text(values.take(pa.array(rows[first]))), days[rows[first]], pseudonyms.key,
                                   changes)
        birth_date[rows], sex[rows] = typo.birth_date[same], typo.sex[same]
        neighbours = pc.replace_with_mask(neighbours, pa.array(broken), typo.neighbours.take(pa.array(same)))
    mapped = int((changed & usable & (reason < 0)).sum())
    return _Identified(codes, birth_date, sex, kind, reason, neighbours, mapped)


#: Why a row is rejected for its identifier: the parse's REASONS as `identifier_<reason>` (a broken check digit
#: is kept), an organisation number, a 10-digit number without a reference date to infer its century from.
_REJECTS = (*(f"identifier_{reason}" for reason in REASONS), "organisationsnummer", "no_reference_date")


def _parse_by_value(values: pa.Array, days: np.ndarray) -> tuple[ParsedIds, np.ndarray]:
    """The identifiers (dictionary-encoded, or text) parsed once per distinct value, and per row which entry of
    that is its own.

    A value's parse depends on the reference date only through the century of a 10-digit number and the check
    that the birth date is not after it, both monotone in the date: a value parsed alike with the earliest and
    the latest date of its rows is parsed alike with every date between (registers hold each person's number on
    many rows). The rows of a value that parses differently are parsed one by one, as entries of their own."""
    if not pa.types.is_dictionary(values.type) or len(values.dictionary) > len(values) // 2:
        return parse_arrays(_text(values), reference_date=days), np.arange(len(values))  # nothing to share
    texts = pa.concat_arrays([_text(values.dictionary), pa.array([""])])  # the last: null (read as empty)
    index = values.indices.fill_null(len(texts) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
    day = days.astype(np.int64)
    low = np.full(len(texts), np.iinfo(np.int64).max)
    high = np.full(len(texts), np.iinfo(np.int64).min)
    np.minimum.at(low, index, day)
    np.maximum.at(high, index, day)
    unused = low > high
    low[unused] = high[unused] = NO_REFERENCE.astype(np.int64)
    parsed = parse_arrays(texts, reference_date=low.astype("datetime64[D]"))
    spread = np.flatnonzero(low != high)
    if not len(spread):
        return parsed, index
    latest = parse_arrays(texts.take(pa.array(spread)), reference_date=high[spread].astype("datetime64[D]"))
    differ = np.zeros(len(texts), dtype=bool)
    differ[spread] = np.logical_or.reduce([_field(parsed, name)[spread] != _field(latest, name)
                                           for name in _PARSED_FIELDS])
    rows = np.flatnonzero(differ[index])
    if not len(rows):
        return parsed, index
    own = parse_arrays(_text(values).take(pa.array(rows)), reference_date=days[rows])
    index[rows] = len(texts) + np.arange(len(rows))
    return ParsedIds(**{name: np.concatenate([_field(parsed, name), _field(own, name)])
                        for name in _PARSED_FIELDS}), index


_PARSED_FIELDS = tuple(f.name for f in dataclasses.fields(ParsedIds))
def _field(parsed: ParsedIds, name: str) -> np.ndarray:
    return getattr(parsed, name)


@dataclass(frozen=True)
class _Typos:
    """What numbers with a broken check digit still tell (see `_single_digit_typos`)."""

    birth_date: np.ndarray
    sex: np.ndarray
    neighbours: pa.Array


def _single_digit_typos(text: pa.Array, days: np.ndarray, key: bytes, changes: Changes) -> _Typos:
    """For numbers whose only fault is the check digit: birth date and sex parsed with the check digit corrected
    (a typo elsewhere may have changed the date or the sex digit: evidence, not fact, compared leniently), and the
    pseudonyms (current numbers) of every valid number one digit away in YYMMDDNNNC, sorted and comma-separated.

    A single mistyped digit always breaks the Luhn check (domain.md §1.1), and for each of the ten positions
    exactly one digit makes it hold, so the true number is one of at most ten. Vectorised over a byte matrix of
    the values (they are digits and separators only: their shape was checked by the parse)."""
    n = len(text)
    trimmed = pc.utf8_trim_whitespace(text)
    length = np.asarray(pc.binary_length(trimmed), dtype=np.int64)
    matrix = _byte_matrix(trimmed, _WIDTH)
    digit = (matrix >= ord("0")) & (matrix <= ord("9"))
    after = np.cumsum(digit[:, ::-1], axis=1)[:, ::-1]  # digits at or after each position
    places = np.nonzero(digit & (after <= 10))[1].reshape(n, 10)  # positions of the last ten digits
    digits = (np.take_along_axis(matrix, places, axis=1) - ord("0")).astype(np.uint8)
    fixes = _single_digit_fixes(digits)
    candidates = np.repeat(matrix, 10, axis=0)
    at = np.arange(n * 10)
    candidates[at, places.reshape(-1)] = (fixes.reshape(-1) + ord("0")).astype(np.uint8)
    parsed = parse_arrays(_strings(candidates, np.repeat(length, 10)), reference_date=np.repeat(days, 10))
    corrected = np.arange(n) * 10 + 9  # the check digit made to hold
    canonical, _ = changes.resolve(parsed.canonical)
    valid = np.isin(parsed.kind, _PSEUDONYMISED)
    owner, pseudonym = at[valid] // 10, hex_digests(key, canonical[valid]).reshape(-1, HEX_DIGITS)
    order = np.lexsort((pseudonym.view(f"S{HEX_DIGITS}").reshape(-1), owner))
    owner, pseudonym = owner[order], pseudonym[order]
    text = pseudonym.view(f"S{HEX_DIGITS}").reshape(-1)
    first = np.r_[True, (owner[1:] != owner[:-1]) | (text[1:] != text[:-1])]
    owner, pseudonym = owner[first], pseudonym[first]
    offsets = np.searchsorted(owner, np.arange(n + 1)).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), _strings(pseudonym, np.full(len(owner), HEX_DIGITS)))
    joined = pc.binary_join(lists, ",")
    none = np.diff(offsets) == 0
    return _Typos(parsed.birth_date[corrected], parsed.sex[corrected],
                  pc.if_else(pa.array(none), pa.scalar(None, pa.string()), joined))


#: The longest written form of a number with a broken check digit: YYYYMMDD-NNNC.
_WIDTH = 13


def _byte_matrix(text: pa.Array, width: int) -> np.ndarray:
    """ASCII text of at most `width` characters as an (n, width) uint8 matrix, right-padded with spaces."""
    padded = pc.utf8_rpad(text, width=width, padding=" ")
    if not len(padded):
        return np.zeros((0, width), dtype=np.uint8)
    _, offsets, data = padded.buffers()
    start = int(np.frombuffer(offsets, dtype=np.int32)[padded.offset])
    return np.frombuffer(data, dtype=np.uint8)[start:start + len(padded) * width].reshape(-1, width).copy()


def _strings(matrix: np.ndarray, length: np.ndarray) -> pa.Array:
    """The first `length` bytes of each row of a uint8 matrix as an Arrow string array."""
    offsets = np.r_[0, np.cumsum(length)].astype(np.int32)
    if (length == matrix.shape[1]).all():  # whole rows: the matrix's own bytes
        return pa.StringArray.from_buffers(len(length), pa.py_buffer(offsets),
                                           pa.py_buffer(np.ascontiguousarray(matrix)))
    keep = np.arange(matrix.shape[1]) < length[:, None]
    return pa.StringArray.from_buffers(len(length), pa.py_buffer(offsets), pa.py_buffer(matrix[keep].tobytes()))


def _single_digit_fixes(digits: np.ndarray) -> np.ndarray:
    """For each row of YYMMDDNNNC digits and each position, the one digit there that makes the Luhn check hold."""
    weighted = digits[:, :9].astype(np.int64)
    contribution = np.where(np.arange(9) % 2 == 0, _DOUBLED[weighted], weighted)
    total = contribution.sum(axis=1) + digits[:, 9]
    fixes = np.empty(digits.shape, dtype=np.int64)
    for p in range(9):
        target = (contribution[:, p] - total) % 10  # what position p must contribute
        fixes[:, p] = _UNDOUBLED[target] if p % 2 == 0 else target
    fixes[:, 9] = (digits[:, 9] - total) % 10
    return fixes


def _group_keys(key: bytes, scope: pa.Array, identifiers: pa.Array) -> pa.Array:
    """HMAC-SHA256 of `group:<scope>:<identifier>` (trimmed, upper case, no separators) under the project key,
    first 32 hex characters: one person's records group together without the identifier being kept (the prefix
    keeps it apart from any pseudonym). One HMAC per distinct message: a person's records share theirs."""
    normalised = pc.utf8_upper(pc.replace_substring_regex(identifiers, r"[\s+-]", ""))
    messages = pc.dictionary_encode(pc.binary_join_element_wise(pa.scalar("group"), scope, normalised, ":"))
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    digests = pa.array([_digest(keyed, m) for m in messages.dictionary.to_pylist()], pa.string())
    return digests.take(messages.indices)


def _digest(keyed: hmac.HMAC, message: str) -> str:
    one = keyed.copy()
    one.update(message.encode("utf-8"))
    return one.hexdigest()[:32]


# ------------------------------------------------------------------------------------------------ validation

def _problems(report: codebooks.ValidationReport, codebook: Codebook) -> list[tuple[int, str, str]]:
    """(position, column, problem) of every row problem the codebook found, by position; a missing or unknown
    column is an InputError."""
    for issue in report.issues:
        if issue.problem in ("missing_column", "unknown_column"):
            raise InputError(f"{codebook.name}: column '{issue.variable}': {issue.problem.replace('_', ' ')} "
                             f"({issue.detail})")
    return sorted((row - 1, issue.variable, issue.problem) for issue in report.issues for row in issue.rows)


def _rejects(raw: pa.Table, rows: np.ndarray, problems: list[tuple[int, str, str]]) -> pa.Table:
    if not problems:
        return _table_of_rejects(np.zeros(0, np.int64), "", np.zeros(0, object), pa.array([], pa.string()))
    positions = np.array([p for p, _, _ in problems])
    columns = np.array([c for _, c, _ in problems], dtype=object)
    values = pa.concat_arrays([_text(_single(raw[c]).take(pa.array([p]))) for p, c, _ in problems])
    return pa.table({"row": pa.array(rows[positions], pa.int64()), "column": pa.array(columns, pa.string()),
                     "reason": pa.array([r for _, _, r in problems], pa.string()), "value": values})


def _table_of_rejects(rows: np.ndarray, column: str, reasons: np.ndarray, values: pa.Array) -> pa.Table:
    return pa.table({"row": pa.array(rows, pa.int64()), "column": pa.array([column] * len(rows), pa.string()),
                     "reason": pa.array(reasons.tolist(), pa.string()), "value": values})


# ------------------------------------------------------------------------------------------------ reading

def _bad_lines(bad: list[tuple[int, str]]) -> pa.Table:
    """Rejects of the CSV lines that could not be split into fields: line number - 1 (the header) and raw text."""
    rows = np.array([line - 1 for line, _ in bad], dtype=np.int64)
    return pa.table({"row": pa.array(rows, pa.int64()),
                     "column": pa.array([None] * len(rows), pa.string()),
                     "reason": pa.array(["wrong_number_of_fields"] * len(rows), pa.string()),
                     "value": pa.array([text for _, text in bad], pa.string())})


class _Seen:
    """Rows seen so far, as two independent hashes of all their values kept in a hash table (`linkage/_rowset.c`:
    the high 32 bits of the first, the second's 63 high bits): a row is a repeat when both match an earlier row's
    (a false repeat would need a 95-bit collision). Batches are hashed side by side (`_row_hashes`), then looked up
    and added in file order (`repeats`)."""

    def __init__(self, slots: int = 1 << 16) -> None:
        self.slots = np.zeros(slots * _SLOT_BYTES, dtype=np.uint8)  # a power of two of slots
        self.count = 0

    def repeats(self, hashed: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Rows that repeat an earlier row (of this batch or an earlier one); remembers the new ones. Batches
        must come in file order."""
        first, second = hashed
        slots = len(self.slots) // _SLOT_BYTES
        while 4 * (self.count + len(first)) > 3 * slots:  # at most three quarters full, so probes stay short
            slots *= 2
        if slots * _SLOT_BYTES > len(self.slots):
            bigger = zeroed(slots * _SLOT_BYTES)
            _rowset.rehash(self.slots, bigger)
            self.slots = bigger
        repeat = np.empty(len(first), dtype=np.bool_)
        self.count += _rowset.add(self.slots, first, second, repeat.view(np.uint8))
        return repeat

    def forget(self) -> None:
        """Let go of the table (memory: 12 bytes a slot, a slot or more a row)."""
        self.slots, self.count = np.zeros(_SLOT_BYTES, dtype=np.uint8), 0


_SLOT_BYTES = 12


def _row_hashes(batch: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of each row's values, combined in column order (`linkage/_rowset.c`):
    numbers and dates by mixing their bits, text by hashing each distinct value once."""
    first, second = np.zeros(batch.num_rows, dtype=np.uint64), np.zeros(batch.num_rows, dtype=np.uint64)
    for column in batch.columns:
        column = _single(column)
        bits = _fixed_width_bits(column)
        if bits is None:
            encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
            one, two = _text_hashes(encoded.dictionary)
            codes = encoded.indices.fill_null(len(one) - 1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
            _rowset.mix_codes(first, second, one, two, codes, int(_MIX))
        else:
            nulls = column.is_null().to_numpy(zero_copy_only=False).view(np.uint8) if column.null_count else b""
            _rowset.mix_bits(first, second, bits, nulls, *map(int, _SEEDS), int(_NULL_HASH), int(_MIX))
    return first, second


def _text_hashes(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Two hashes of each value's text (`linkage/_rowset.c`, from Arrow's own buffers: no Python string is made),
    with the hash of null after the last (and for any null value)."""
    if not (pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type)):
        is_bytes = pa.types.is_binary(values.type) or pa.types.is_fixed_size_binary(values.type)
        values = pc.cast(values, pa.large_binary() if is_bytes else pa.large_string())
    _, offsets, data = values.buffers()
    at = np.frombuffer(offsets, dtype=np.int64)[values.offset: values.offset + len(values) + 1] \
        if len(values) else np.zeros(1, dtype=np.int64)
    one, two = np.empty(len(values) + 1, dtype=np.uint64), np.empty(len(values) + 1, dtype=np.uint64)
    _rowset.hash_texts(at, data if data is not None else b"", *map(int, _SEEDS), one[:-1], two[:-1])
    one[-1] = two[-1] = _NULL_HASH
    if values.null_count:
        nulls = values.is_null().to_numpy(zero_copy_only=False)
        one[:-1][nulls] = two[:-1][nulls] = _NULL_HASH
    return one, two


def _fixed_width_bits(column: pa.Array) -> np.ndarray | None:
    """The 64 bits of each value of an integer, float, date, timestamp or boolean column (None for text)."""
    kind = column.type
    if pa.types.is_boolean(kind):
        column = column.cast(pa.int8())
    elif pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        column = column.cast(pa.int64() if pa.types.is_timestamp(kind) or pa.types.is_date64(kind) else pa.int32())
    elif not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        return None
    values = column.to_numpy(zero_copy_only=False) if column.null_count == 0 else \
        pc.fill_null(column, 0).to_numpy(zero_copy_only=False)
    if values.dtype.kind == "f":
        return values.astype(np.float64).view(np.uint64) ^ _FLOAT_TAG
    return values.astype(np.int64).view(np.uint64)


# ------------------------------------------------------------------------------------------------ helpers

def _kept_columns(entry: Register, codebook: Codebook, columns: Iterable[str] | None) -> list[str]:
    """The register columns to keep: the asked-for ones (default all) less every direct identifier."""
    secret = {v.name for v in codebook.with_role("direct_identifier")}
    if columns is None:
        return [name for name in codebook.names if name not in secret]
    wanted = list(dict.fromkeys(columns))
    require_columns(pd.DataFrame(columns=list(codebook.names)), wanted, source=f"codebook {codebook.name}")
    refused = [name for name in wanted if name in secret]
    if refused:
        raise InputError(f"{entry.name}: column '{refused[0]}' is a direct identifier and is never kept")
    return [name for name in codebook.names if name in wanted]


def _secure_folder(secure_dir: Path | str) -> Path:
    """The secure working folder for rejects (created readable by the owner only)."""
    folder = Path(secure_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder.name}: the secure folder is a file")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        folder.chmod(0o700)
    return folder


def _single(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    column = _single(column)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def _decoded(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as plain values (a dictionary-encoded one decoded, chunk by chunk)."""
    if not pa.types.is_dictionary(column.type):
        return column
    return pa.chunked_array([chunk.dictionary_decode() for chunk in column.chunks], column.type.value_type)


def _distinct_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column's distinct values as text (a dictionary-encoded one's dictionary: the values its file held)."""
    column = _single(column)
    return pc.unique(_text(column.dictionary if pa.types.is_dictionary(column.type) else column))


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("datetime64[D]"), pa.date32())


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow-backed pandas columns (no copy of text, numbers, booleans), but dates as datetime64[ns] as
    `codebooks.cast` gives them: pandas reads Arrow dates one Python object at a time."""
    dates = {name: _nanoseconds(table[name]) for name, kind in zip(table.column_names, table.schema.types)
             if pa.types.is_date(kind)}
    frame = table.drop_columns(list(dates)).to_pandas(
        types_mapper=lambda kind: None if pa.types.is_timestamp(kind) else pd.ArrowDtype(kind))
    for name, values in dates.items():
        frame.insert(table.column_names.index(name), name, values)
    return frame


def _nanoseconds(days: pa.ChunkedArray) -> np.ndarray:
    """Arrow dates as datetime64[ns] (NaT where null), written chunk by chunk into the one array they end in (a
    national register's dates are hundreds of megabytes: no intermediate copy of them all)."""
    out = np.empty(len(days), dtype="datetime64[ns]")
    at = 0
    for chunk in days.chunks:
        out[at:at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        at += len(chunk)
    return out


def _nullable_int8(column: pa.ChunkedArray) -> pd.arrays.IntegerArray:
    values = column.combine_chunks()
    return pd.arrays.IntegerArray(values.fill_null(0).to_numpy().astype(np.int8),
                                  values.is_null().to_numpy(zero_copy_only=False))


def _numpy(column: pa.ChunkedArray) -> np.ndarray:
    return column.to_numpy() if column.num_chunks else np.zeros(0, np.int8)


def _empty_evidence() -> pa.Table:
    return pa.table({"row": pa.array([], pa.int64()), "group": pa.array([], pa.string()),
                     "birth_date": pa.array([], pa.date32()), "sex": pa.array([], pa.int8()),
                     "kommun": pa.array([], pa.string()), "country": pa.array([], pa.string()),
                     "event_date": pa.array([], pa.date32()), "id_kind": pa.array([], pa.int8()),
                     "neighbours": pa.array([], pa.string())})


__all__ = ["BATCH_ROWS", "EVIDENCE_COLUMNS", "Digests", "IngestCounts", "Ingested", "distinct_union", "hex_heads",
           "ingest_register", "sorted_categories"]
