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
working folder only. Frames are pandas with Arrow-backed text and numbers and datetime64[ns] dates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import codebooks
from codebooks import Codebook
from linkage.changes import NO_CHANGES, NO_REFERENCE, Changes, as_arrow
from linkage.errors import InputError
from linkage.io import CSV_SUFFIXES, PARQUET_SUFFIXES, read_table, require_columns, sniff_csv, write_table
from linkage.registers import Register, register
from pseudonym.keys import MasterKey
from pseudonym.luhn import check_digits
from pseudonym.personnummer import KINDS, REASONS
from pseudonym.pseudonyms import project_key, pseudonyms_from_parsed
from pseudonym.vectorized import parse_arrays

#: Rows per record batch of a large register (CSV: blocks of about as many rows of _CSV_ROW_BYTES bytes).
BATCH_ROWS = 1 << 20
_CSV_ROW_BYTES = 64
#: Columns ingest adds: the source row number, the pseudonym and what the identifier tells.
ROW, PSEUDONYM, BIRTH_DATE, SEX, ID_KIND = "row", "pseudonym_id", "birth_date", "sex", "id_kind"
EVIDENCE_COLUMNS = ("row", "group", "birth_date", "sex", "kommun", "country", "event_date", "id_kind", "neighbours")

_KIND = {name: i for i, name in enumerate(KINDS)}
_PSEUDONYMISED = (_KIND["personnummer"], _KIND["samordningsnummer"])
_CENTURY_WRITTEN = r"^\s*[0-9]{8}"
_HASH_KEYS = ("reglink/rows/one", "reglink/rows/two")  # 16 characters each, as pandas' hash_array requires
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

    `frame`: `row`, `pseudonym_id` (NA without a usable identifier), the register's own typed columns without its
    direct identifiers, `birth_date`, `sex` (1 man, 2 kvinna, NA unknown) and `id_kind` (registers of persons
    only). `evidence`: one row per frame row without a pseudonym (EVIDENCE_COLUMNS). `duplicate_rows`: the
    source rows dropped as exact repeats.
    """

    register: Register
    frame: pd.DataFrame
    evidence: pd.DataFrame
    counts: IngestCounts
    rejects: Path
    duplicate_rows: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))

    @property
    def name(self) -> str:
        return self.register.name


def ingest_register(name: str, data_dir: Path | str, *, key: MasterKey | bytes, project: str,
                    changes: Changes | None = None, secure_dir: Path | str, columns: Iterable[str] | None = None,
                    batch_rows: int | None = None, workers: int = 1, progress: Progress | None = None) -> Ingested:
    """Ingest register `name` from `data_dir` (see the module docstring); rejects go to `secure_dir`.

    `columns` limits the register's own columns kept in the frame (every column is still read, checked and
    compared for duplicates, so which rows are kept never depends on it). Large registers are read
    `batch_rows` rows at a time; `workers` threads ingest batches side by side (Arrow, numpy and the HMAC
    release the GIL), the result the same whatever their number.
    """
    entry = register(name)
    codebook = entry.codebook
    keep = _kept_columns(entry, codebook, columns)
    secure = _secure_folder(secure_dir)
    context = _Context(entry, codebook, keep, project_key(key, project), changes or NO_CHANGES)
    source = _Source(entry.file(data_dir), (batch_rows or BATCH_ROWS) if entry.large else None)
    seen = _Seen()
    frames, evidence, rejects, duplicates = [], [], [], []
    counts = IngestCounts()

    def collect(part: _Part) -> None:
        frames.append(part.frame)
        evidence.append(part.evidence)
        rejects.append(part.rejects)
        counts.add(part.counts)
        if progress is not None:
            progress(name, counts.rows_read)

    def prepare(batch: pa.Table, rows: np.ndarray) -> _Batch:
        duplicate = seen.repeats(batch)  # in file order, before the batch is handed on
        duplicates.append(rows[duplicate])
        return _Batch(context, batch.filter(pa.array(~duplicate)), rows[~duplicate], len(rows),
                      int(duplicate.sum()))

    if workers < 1:
        raise InputError("workers must be at least 1")
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reglink-ingest") as pool:
        pending: deque[Future[_Part]] = deque()
        for batch, rows in source.batches():
            pending.append(pool.submit(prepare(batch, rows).run))
            while len(pending) > workers:  # at most `workers` batches in flight: memory stays bounded
                collect(pending.popleft().result())
        while pending:
            collect(pending.popleft().result())
    if counts.rows_read == 0 and not source.bad:
        raise InputError(f"{source.path.name}: has a header but no data rows")
    bad = source.bad_rejects()
    rejects.append(bad)
    counts.add(IngestCounts(rows_read=bad.num_rows, rows_rejected=bad.num_rows,
                            rejected={"wrong_number_of_fields": bad.num_rows} if bad.num_rows else {}))
    assert counts.balanced, "ingest lost rows: a bug"
    reject_table = pa.concat_tables(rejects).sort_by([("row", "ascending")])
    rejects_path = write_table(reject_table, secure / f"{name}.rejects.csv", overwrite=True)
    return Ingested(entry, context.frame(frames), context.evidence_frame(evidence), counts, rejects_path,
                    np.concatenate(duplicates) if duplicates else np.zeros(0, np.int64))


# ------------------------------------------------------------------------------------------------ one batch

@dataclass
class _Part:
    frame: pa.Table
    evidence: pa.Table
    rejects: pa.Table
    counts: IngestCounts


@dataclass
class _Batch:
    """A batch with its exact repeats removed, ready to be ingested (on any worker thread)."""

    context: _Context
    batch: pa.Table
    rows: np.ndarray
    read: int
    repeats: int

    def run(self) -> _Part:
        part = self.context.ingest(self.batch, self.rows)
        part.counts.rows_read += self.read
        part.counts.duplicates_dropped += self.repeats
        return part


@dataclass(frozen=True)
class _Identified:
    """What the identifiers of a batch's valid rows gave: pseudonyms, facts, and why rows are rejected."""

    pseudonyms: pa.Array
    birth_date: np.ndarray
    sex: np.ndarray
    kind: np.ndarray
    reject: np.ndarray  # reason per row, None where kept
    neighbours: pa.Array  # broken check digit: pseudonyms of the valid numbers one digit away, comma-separated
    mapped: int


class _Context:
    """What every batch of one register needs: catalogue entry, codebook, columns kept, key and changes."""

    def __init__(self, entry: Register, codebook: Codebook, keep: list[str], key: bytes, changes: Changes):
        self.entry, self.codebook, self.keep, self.key, self.changes = entry, codebook, keep, key, changes

    def ingest(self, raw: pa.Table, rows: np.ndarray) -> _Part:
        """Validate a batch against the codebook and type it; then, for registers of persons, identify."""
        problems = _problem_rows(raw, self.codebook)
        bad = np.zeros(raw.num_rows, dtype=bool)
        bad[[p for p, _, _ in problems]] = True
        first_reason = dict(reversed([(p, reason) for p, _, reason in problems]))
        counts = IngestCounts(rows_rejected=int(bad.sum()), rejected=dict(Counter(first_reason.values())))
        rejects = _rejects(raw, rows, problems)
        valid, rows = raw.filter(pa.array(~bad)), rows[~bad]
        typed = codebooks.cast(valid, self.codebook)
        if self.entry.identifier is None:
            counts.rows_kept = valid.num_rows
            return _Part(self._columns(typed, rows), _empty_evidence(), rejects, counts)
        part = self._identify(valid[self.entry.identifier], typed, rows)
        part.counts.add(counts)
        part.rejects = pa.concat_tables([rejects, part.rejects])
        return part

    def _identify(self, identifiers: pa.ChunkedArray, typed: pa.Table, rows: np.ndarray) -> _Part:
        """Pseudonymise the identifiers of typed rows; keep evidence where there is no pseudonym; reject the rest."""
        reference = self.entry.reference.dates(typed) if self.entry.reference else pa.nulls(len(rows), pa.date32())
        ids = _identify(identifiers, reference, self.key, self.changes)
        rejected = pd.notna(ids.reject)
        where = np.flatnonzero(rejected)
        rejects = _table_of_rejects(rows[where], self.entry.identifier, ids.reject[where],
                                    _text(identifiers).take(pa.array(where)))
        pseudonymised = np.isin(ids.kind, _PSEUDONYMISED) & ~rejected
        without = ~rejected & ~pseudonymised
        counts = IngestCounts(rows_kept=int((~rejected).sum()), rows_rejected=len(where),
                              pseudonymised=int(pseudonymised.sum()), old_numbers_mapped=ids.mapped,
                              without_id=dict(Counter(np.asarray(KINDS)[ids.kind[without]].tolist())),
                              rejected=dict(Counter(ids.reject[where].tolist())))
        kept = ~rejected
        frame = self._columns(typed.filter(pa.array(kept)), rows[kept])
        frame = frame.add_column(1, PSEUDONYM, ids.pseudonyms.filter(pa.array(kept)))
        frame = frame.append_column(BIRTH_DATE, _dates(ids.birth_date[kept]))
        frame = frame.append_column(SEX, pa.array(ids.sex[kept], pa.int8(), mask=ids.sex[kept] == 0))
        frame = frame.append_column(ID_KIND, pa.array(ids.kind[kept], pa.int8()))
        at = pa.array(np.flatnonzero(without))
        evidence = pa.table({
            "row": pa.array(rows[without], pa.int64()),
            "group": _group_keys(self.key, self._scope(typed.take(at)), _text(identifiers).take(at)),
            "birth_date": _dates(ids.birth_date[without]),
            "sex": pa.array(ids.sex[without], pa.int8(), mask=ids.sex[without] == 0),
            "kommun": self._text_column(typed, self.entry.kommun, at),
            "country": self._text_column(typed, self.entry.country, at),
            "event_date": reference.take(at),
            "id_kind": pa.array(ids.kind[without], pa.int8()),
            "neighbours": ids.neighbours.take(at),
        })
        return _Part(frame, evidence, rejects, counts)

    def _columns(self, typed: pa.Table, rows: np.ndarray) -> pa.Table:
        """The row numbers and the kept register columns (never a direct identifier)."""
        return pa.table({ROW: pa.array(rows, pa.int64()), **{name: typed[name] for name in self.keep}})

    def _scope(self, typed: pa.Table) -> pa.Array:
        """Per row, the scope an identifier is unique within: the namespace, and a column's value where given."""
        name = pa.scalar(self.entry.scope)
        if self.entry.group_within is None:
            return pa.repeat(name, typed.num_rows)
        return pc.binary_join_element_wise(name, pc.fill_null(typed[self.entry.group_within], ""), ":")

    @staticmethod
    def _text_column(typed: pa.Table, name: str | None, at: pa.Array) -> pa.Array:
        if name is None:
            return pa.nulls(len(at), pa.string())
        return _text(typed[name]).take(at)

    def frame(self, parts: list[pa.Table]) -> pd.DataFrame:
        """The batches as one pandas frame (see `_to_pandas`), with Int8 sex and categorical id_kind."""
        table = pa.concat_tables(parts)
        identified = ID_KIND in table.column_names
        frame = _to_pandas(table.drop_columns([ID_KIND, SEX] if identified else []))
        if identified:
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


def _identify(values: pa.Array | pa.ChunkedArray, reference: pa.Array, key: bytes, changes: Changes
              ) -> _Identified:
    """Classify and pseudonymise a batch's identifiers with per-row reference dates."""
    text = _text(values)
    n = len(text)
    dates = reference.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    undated = np.isnat(dates)
    dates[undated] = NO_REFERENCE
    parsed = parse_arrays(text, reference_date=dates)
    canonical, changed = changes.resolve(parsed.canonical)
    birth_date, sex = parsed.birth_date.copy(), parsed.sex.copy()
    if changed.any():  # the current number's birth date and sex (the old one's may have been wrong)
        current = parse_arrays(as_arrow(canonical[changed]), reference_date=NO_REFERENCE)
        birth_date[changed], sex[changed] = current.birth_date, current.sex
    pseudonyms = pseudonyms_from_parsed(dataclasses.replace(parsed, canonical=canonical), key)

    kind = parsed.kind
    reason = np.full(n, None, dtype=object)
    invalid = kind == _KIND["invalid"]
    broken = invalid & (parsed.reason == REASONS.index("checksum"))
    reason[invalid & ~broken] = np.char.add("identifier_", np.asarray(REASONS)[parsed.reason[invalid & ~broken]])
    reason[kind == _KIND["organisationsnummer"]] = "organisationsnummer"
    needs_century = undated & ~np.asarray(pc.fill_null(pc.match_substring_regex(text, _CENTURY_WRITTEN), False))
    reason[needs_century & pd.isna(reason)] = "no_reference_date"
    neighbours = pa.nulls(n, pa.string())
    if broken.any():
        birth_date[broken], sex[broken] = _facts_despite_check_digit(text, broken, dates)
        neighbours = pc.replace_with_mask(neighbours, pa.array(broken),
                                          _neighbours(text, broken, dates, key, changes))
    mapped = int((changed & pd.isna(reason)).sum())
    return _Identified(pseudonyms, birth_date, sex, kind, reason, neighbours, mapped)


def _facts_despite_check_digit(text: pa.Array, rows: np.ndarray, dates: np.ndarray
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Birth date and sex of numbers whose only fault is the check digit: parsed with the check digit corrected.

    A typo elsewhere may have changed the date or the sex digit: evidence, not fact (compared leniently)."""
    values, digits = _broken_digits(text, rows)
    fixed = [v[:-1] + str(c) for v, c in zip(values, check_digits(digits[:, :9]))]
    parsed = parse_arrays(pa.array(fixed, pa.string()), reference_date=dates[np.flatnonzero(rows)])
    return parsed.birth_date, parsed.sex


def _neighbours(text: pa.Array, rows: np.ndarray, dates: np.ndarray, key: bytes, changes: Changes) -> pa.Array:
    """For numbers with a broken check digit, the pseudonyms (current numbers) of every valid number that differs
    in one digit of YYMMDDNNNC, comma-separated: a single mistyped digit always breaks the Luhn check (domain.md
    §1.1), and for each position exactly one digit makes it hold, so the true number is one of at most ten."""
    values, digits = _broken_digits(text, rows)
    places = [[i for i, c in enumerate(v) if c.isdigit()][-10:] for v in values]
    fixes = _single_digit_fixes(digits)
    candidates, owner = [], []
    for r, (value, where, fix) in enumerate(zip(values, places, fixes.tolist())):
        for place, digit in zip(where, fix):
            candidates.append(value[:place] + str(digit) + value[place + 1:])
            owner.append(r)
    owner = np.array(owner, dtype=np.int64)
    parsed = parse_arrays(pa.array(candidates, pa.string()), reference_date=dates[np.flatnonzero(rows)][owner]
                          if len(owner) else None)
    canonical, _ = changes.resolve(parsed.canonical)
    valid = np.isin(parsed.kind, _PSEUDONYMISED)
    pseudonyms = pseudonyms_from_parsed(dataclasses.replace(parsed, canonical=canonical), key).to_pylist()
    joined = [[] for _ in values]
    for r, ok, pseudonym in zip(owner.tolist(), valid.tolist(), pseudonyms):
        if ok and pseudonym not in joined[r]:
            joined[r].append(pseudonym)
    return pa.array([",".join(sorted(found)) or None for found in joined], pa.string())


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


def _broken_digits(text: pa.Array, rows: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The trimmed values of `rows` and their last ten digits (YYMMDDNNNC) as an (n, 10) array."""
    values = [v.strip() for v in text.take(pa.array(np.flatnonzero(rows))).to_pylist()]
    digits = np.array([[int(c) for c in v if c.isdigit()][-10:] for v in values], dtype=np.uint8).reshape(-1, 10)
    return values, digits


def _group_keys(key: bytes, scope: pa.Array, identifiers: pa.Array) -> pa.Array:
    """HMAC-SHA256 of `group:<scope>:<identifier>` (trimmed, upper case, no separators) under the project key,
    first 32 hex characters: one person's records group together without the identifier being kept (the prefix
    keeps it apart from any pseudonym). Rows without a usable identifier are few: one HMAC each."""
    normalised = pc.utf8_upper(pc.replace_substring_regex(identifiers, r"[\s+-]", ""))
    messages = pc.binary_join_element_wise(pa.scalar("group"), scope, normalised, ":").to_pylist()
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    return pa.array([_digest(keyed, m) for m in messages], pa.string())


def _digest(keyed: hmac.HMAC, message: str) -> str:
    one = keyed.copy()
    one.update(message.encode("utf-8"))
    return one.hexdigest()[:32]


# ------------------------------------------------------------------------------------------------ validation

def _problem_rows(table: pa.Table, codebook: Codebook) -> list[tuple[int, str, str]]:
    """(position, column, problem) of every row problem the codebook finds; a missing or unknown column is an
    InputError. `validate` names at most a few example rows per problem, so a slice with more is halved until
    every row is named."""
    report = codebooks.validate(table, codebook)
    for issue in report.issues:
        if issue.problem in ("missing_column", "unknown_column"):
            raise InputError(f"{codebook.name}: column '{issue.variable}': {issue.problem.replace('_', ' ')} "
                             f"({issue.detail})")
    return sorted(_rows_named(table, codebook, report, 0))


def _rows_named(table: pa.Table, codebook: Codebook, report, offset: int) -> list[tuple[int, str, str]]:
    issues = [i for i in report.issues if i.rows]
    if all(len(i.rows) == i.count for i in issues):
        return [(offset + r - 1, i.variable, i.problem) for i in issues for r in i.rows]
    half = table.num_rows // 2
    found = []
    for start, part in ((0, table.slice(0, half)), (half, table.slice(half))):
        sub = codebooks.validate(part, codebook)
        if any(i.rows for i in sub.issues):
            found += _rows_named(part, codebook, sub, offset + start)
    return found


def _rejects(raw: pa.Table, rows: np.ndarray, problems: list[tuple[int, str, str]]) -> pa.Table:
    if not problems:
        return _table_of_rejects(np.zeros(0, np.int64), "", np.zeros(0, object), pa.array([], pa.string()))
    positions = np.array([p for p, _, _ in problems])
    columns = np.array([c for _, c, _ in problems], dtype=object)
    values = pa.concat_arrays([_text(raw[c]).take(pa.array([p])) for p, c, _ in problems])
    return pa.table({"row": pa.array(rows[positions], pa.int64()), "column": pa.array(columns, pa.string()),
                     "reason": pa.array([r for _, _, r in problems], pa.string()), "value": values})


def _table_of_rejects(rows: np.ndarray, column: str, reasons: np.ndarray, values: pa.Array) -> pa.Table:
    return pa.table({"row": pa.array(rows, pa.int64()), "column": pa.array([column] * len(rows), pa.string()),
                     "reason": pa.array(reasons.tolist(), pa.string()), "value": values})


# ------------------------------------------------------------------------------------------------ reading

class _Source:
    """A register file as record batches with their 1-based row numbers; CSV lines that cannot be split are
    collected (`bad`: line number, raw text) and rejected, the rows after them keeping their true numbers."""

    def __init__(self, path: Path, batch_rows: int | None):
        if not path.exists():
            raise InputError(f"{path.name}: no such file (expected at {path.parent.name}/{path.name})")
        self.path, self.batch_rows = path, batch_rows
        self.bad: list[tuple[int, str]] = []
        self._good = 0

    def batches(self) -> Iterator[tuple[pa.Table, np.ndarray]]:
        suffix = self.path.suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            reader = self._parquet()
        elif suffix in CSV_SUFFIXES:
            reader = self._csv()
        else:
            reader = iter([read_table(self.path).table])
        for batch in reader:
            table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            if table.num_rows:
                yield table, self._numbers(table.num_rows)

    def _numbers(self, n: int) -> np.ndarray:
        """Row numbers of the next n parsed rows: positions shifted past the bad lines before them."""
        positions = np.arange(self._good + 1, self._good + n + 1, dtype=np.int64)
        self._good += n
        if not self.bad:
            return positions
        bad_rows = np.sort(np.array([line - 1 for line, _ in self.bad], dtype=np.int64))
        good_before = bad_rows - np.arange(1, len(bad_rows) + 1)  # parsed rows before each bad row
        return positions + np.searchsorted(good_before, positions, side="left")

    def _parquet(self) -> Iterator[pa.RecordBatch]:
        try:
            file = pq.ParquetFile(self.path)
            if self.path.stat().st_size == 0:
                raise OSError
            yield from file.iter_batches(batch_size=self.batch_rows or max(file.metadata.num_rows, 1))
        except (pa.ArrowInvalid, pa.ArrowIOError, OSError):
            raise InputError(f"{self.path.name}: is not a readable Parquet file (truncated or damaged?)") from None

    def _csv(self) -> Iterator[pa.RecordBatch]:
        if self.path.stat().st_size == 0:
            raise InputError(f"{self.path.name}: the file is empty")
        dialect = sniff_csv(self.path)
        with open(self.path, encoding=dialect.encoding, errors="replace", newline="") as handle:
            header = [n.strip().strip('"') for n in handle.readline().lstrip("\ufeff").rstrip("\r\n")
                      .split(dialect.delimiter)]
        repeated = sorted(n for n, c in Counter(header).items() if c > 1)
        if repeated:
            raise InputError(f"{self.path.name}: duplicate column name(s) {', '.join(map(repr, repeated))}")

        def skip(row: pacsv.InvalidRow) -> str:
            self.bad.append((row.number if row.number is not None else -1, row.text))
            return "skip"

        block = (self.batch_rows or BATCH_ROWS) * _CSV_ROW_BYTES  # blocks of about batch_rows rows
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(encoding=dialect.encoding, use_threads=False, block_size=block),
                parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=False,
                                                 invalid_row_handler=skip),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in header},
                                                     strings_can_be_null=True, null_values=[""]))
            yield from reader
        except (pa.ArrowInvalid, UnicodeDecodeError):
            raise InputError(f"{self.path.name}: could not be parsed as CSV "
                             f"(delimiter '{dialect.delimiter}')") from None

    def bad_rejects(self) -> pa.Table:
        rows = np.array([line - 1 for line, _ in self.bad], dtype=np.int64)
        return pa.table({"row": pa.array(rows, pa.int64()),
                         "column": pa.array([None] * len(rows), pa.string()),
                         "reason": pa.array(["wrong_number_of_fields"] * len(rows), pa.string()),
                         "value": pa.array([text for _, text in self.bad], pa.string())})


class _Seen:
    """Rows seen so far, as two independent 64-bit hashes of all their values: a row is a repeat when both
    match an earlier row's (a false repeat would need two 64-bit collisions at once).

    The hashes are kept in sorted runs whose sizes halve from the first on, merging two when the newer grows as
    large as the older (a binary counter): each hash is merged about log2(rows / batch) times, and a batch is
    looked up in that many runs, with sorted needles."""

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # (first, sorted; second, aligned)

    def repeats(self, batch: pa.Table) -> np.ndarray:
        """Rows that repeat an earlier row (of this batch or an earlier one); remembers the new ones."""
        first, second = _row_hashes(batch)
        order = np.argsort(first, kind="stable")  # an earlier row comes first among equal hashes
        a, b = first[order], second[order]
        repeat = np.zeros(len(a), dtype=bool)
        same = np.flatnonzero(a[1:] == a[:-1]) + 1
        repeat[same] = b[same] == b[same - 1]
        for i in same[~repeat[same]]:  # equal first hashes, different second: look further back in the run
            repeat[i] = bool((b[:i][a[:i] == a[i]] == b[i]).any())
        for run_first, run_second in self.runs:
            low = np.searchsorted(run_first, a, side="left")
            seen = np.flatnonzero(run_first[np.minimum(low, len(run_first) - 1)] == a)
            high = np.searchsorted(run_first, a[seen], side="right")
            single = high - low[seen] == 1  # the usual case: one earlier row with this first hash
            repeat[seen[single]] |= run_second[low[seen[single]]] == b[seen[single]]
            for i, end in zip(seen[~single], high[~single]):
                repeat[i] |= bool((run_second[low[i]:end] == b[i]).any())
        self._remember(a[~repeat], b[~repeat])
        out = np.empty(len(order), dtype=bool)
        out[order] = repeat
        return out

    def _remember(self, first: np.ndarray, second: np.ndarray) -> None:
        self.runs.append((first, second))
        while len(self.runs) > 1 and len(self.runs[-1][0]) >= len(self.runs[-2][0]):
            (f1, s1), (f2, s2) = self.runs.pop(-2), self.runs.pop()
            merged = np.concatenate([f1, f2])
            order = np.argsort(merged, kind="stable")  # two sorted runs: a linear merge
            self.runs.append((merged[order], np.concatenate([s1, s2])[order]))


def _row_hashes(batch: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of each row's values, combined in column order: numbers and dates by
    mixing their bits, text by hashing each distinct value once."""
    combined = [np.zeros(batch.num_rows, dtype=np.uint64) for _ in _HASH_KEYS]
    for column in batch.columns:
        column = _single(column)
        bits = _fixed_width_bits(column)
        if bits is None:
            encoded = pc.dictionary_encode(column)
            values = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False))
            indices = encoded.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
        for k, key in enumerate(_HASH_KEYS):
            if bits is None:
                hashed = np.r_[pd.util.hash_array(values, hash_key=key, categorize=False), _NULL_HASH][indices]
            else:
                hashed = _mix(bits ^ _SEEDS[k])
                hashed[column.is_null().to_numpy(zero_copy_only=False)] = _NULL_HASH
            combined[k] = (combined[k] ^ hashed) * _MIX
    return combined[0], combined[1]


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


def _mix(bits: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit affects every output bit."""
    bits = (bits ^ (bits >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    bits = (bits ^ (bits >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return bits ^ (bits >> np.uint64(31))


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
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("datetime64[D]"), pa.date32())


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow-backed pandas columns (no copy of text, numbers, booleans), but dates as datetime64[ns] as
    `codebooks.cast` gives them: pandas reads Arrow dates one Python object at a time."""
    dates = [name for name, kind in zip(table.column_names, table.schema.types) if pa.types.is_date(kind)]
    for name in dates:
        table = table.set_column(table.column_names.index(name), name, table[name].cast(pa.timestamp("ns")))
    return table.to_pandas(types_mapper=lambda kind: None if pa.types.is_timestamp(kind) else pd.ArrowDtype(kind))


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


__all__ = ["BATCH_ROWS", "EVIDENCE_COLUMNS", "IngestCounts", "Ingested", "ingest_register"]
