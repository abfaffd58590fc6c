"""The linkage stage over a whole data folder: ingest every register, link deterministically, then
probabilistically for the records without a usable identifier.

    linked = link_world(data_dir, key=master_key, project="p1", secure_dir=secure)
    linked.registers["patient"]      # row, pseudonym_id, the register's columns, birth_date, sex, id_kind, link_method
    linked.for_outcomes("patient")   # linked rows only, keyed by `id`, as linkage.outcomes takes them

The evidence held for the records without a usable identifier is dropped once linkage is done: a LinkedWorld
keeps none of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkage.changes import load_changes
from linkage.deterministic import (
    LINK_METHOD,
    LINK_METHODS,
    PseudonymSet,
    arrow,
    link_deterministic,
    spine,
    with_persons,
    without_unused,
)
from linkage.evidence import EvidenceLinks, link_evidence
from linkage.ingest import (
    PSEUDONYM,
    ROW,
    Digests,
    IngestCounts,
    Ingested,
    distinct_union,
    ingest_register,
)
from linkage.io import PARQUET_SUFFIXES
from linkage.memory import release_memory
from linkage.outcomes.persons import positions_in
from linkage.registers import REGISTERS
from linkage.registers import registers as catalogue
from pseudonym.keys import MasterKey
from pseudonym.pseudonyms import project_key

Progress = Callable[[int, int, str], None]


@dataclass
class LinkedWorld:
    """The linked registers: `persons` (the spine), `residence`, `registers` (event and unit registers, each with
    `link_method` where it is about persons), the per-register `counts`, the probabilistic `evidence_links`
    (pseudonyms and probabilities, no evidence) and `report`, one row per register."""

    persons: pd.DataFrame
    residence: pd.DataFrame
    registers: dict[str, pd.DataFrame]
    counts: dict[str, IngestCounts]
    rejects: dict[str, Path]
    duplicate_rows: dict[str, np.ndarray]
    evidence_links: EvidenceLinks
    changes: int
    #: Wall seconds per stage: `ingest` (all registers), `ingest <register>` (they overlap), `deterministic`,
    #: `probabilistic`.
    seconds: dict[str, float] = field(default_factory=dict)
    #: Every distinct identifier as written in the registers read (`identifiers=True` only): the leak guard's list.
    #: Held in memory, never written.
    identifiers: pa.Array | None = field(default=None, repr=False)

    @property
    def report(self) -> pd.DataFrame:
        """Per register: rows read, kept, rejected, duplicates, old numbers mapped, and records by link method."""
        rows = []
        for name, counts in self.counts.items():
            frame = self.registers.get(name)
            methods = (frame[LINK_METHOD].value_counts().reindex(LINK_METHODS, fill_value=0)
                       if frame is not None and LINK_METHOD in frame else pd.Series(0, index=list(LINK_METHODS)))
            rows.append({"register": name, "rows_read": counts.rows_read, "rows_kept": counts.rows_kept,
                         "rows_rejected": counts.rows_rejected, "duplicates_dropped": counts.duplicates_dropped,
                         "pseudonymised": counts.pseudonymised, "old_numbers_mapped": counts.old_numbers_mapped,
                         "without_id": sum(counts.without_id.values()),
                         **{f"linked_{m}" if m in ("deterministic", "probabilistic") else m: int(methods[m])
                            for m in LINK_METHODS}})
        return pd.DataFrame(rows)

    def for_outcomes(self, name: str, columns: list[str] | None = None, *,
                     of: pd.Index | pd.Series | np.ndarray | None = None, others: bool = False) -> pd.DataFrame:
        """Register `name`'s linked records keyed by `id` (the pseudonym), as `linkage.outcomes` takes them;
        `persons` for the spine. `columns` (besides `id`) limits what is copied, and `of` (pseudonyms) the persons
        whose records are: a register may have tens of millions of rows, and one copy serves both limits.

        With `others`, when the persons asked for are at least half as many as the register's (so their records
        are most of it), the register's rows come as they are, without a copy or a look-up, records of others
        and unlinked ones included: for callers that look every id up among their persons anyway, as the outcome
        functions do (an unlinked record has no id; a linked record of someone else has an id not among them)."""
        if name == "persons":
            return self.persons.rename(columns={PSEUDONYM: "id"})
        frame = self.registers[name]
        wanted = list(frame.columns) if columns is None else \
            [PSEUDONYM, *(c for c in dict.fromkeys(columns) if c not in (PSEUDONYM, "id"))]
        if others and _most_of(frame[PSEUDONYM], of):  # the columns' own arrays: no copy (frame[list] copies)
            out = pd.DataFrame({column: frame[column].array for column in wanted}, copy=False)
            out.columns = ["id" if column == PSEUDONYM else column for column in out.columns]
            return out
        keep = frame[LINK_METHOD].isin(["deterministic", "probabilistic"]).to_numpy() if LINK_METHOD in frame \
            else np.ones(len(frame), dtype=bool)
        if of is not None:
            keep &= _rows_of(frame[PSEUDONYM], of)
        frame = frame[wanted] if columns is not None else frame
        out = frame.copy(deep=False) if keep.all() else _rows(frame, keep)
        if PSEUDONYM in out and isinstance(out[PSEUDONYM].dtype, pd.CategoricalDtype):
            out[PSEUDONYM] = without_unused(out[PSEUDONYM])  # the ids of these rows only
        out.columns = ["id" if column == PSEUDONYM else column for column in out.columns]
        out.index = pd.RangeIndex(len(out))
        return out


def _most_of(pseudonyms: pd.Series, of: pd.Index | pd.Series | np.ndarray | None) -> bool:
    """Are the persons `of` (None: everyone) at least half as many as the persons of a register's rows? Counted,
    not looked up: a guess at whose records are most of the register, which only decides whether to copy them."""
    if of is None:
        return True
    persons = len(pseudonyms.cat.categories) if isinstance(pseudonyms.dtype, pd.CategoricalDtype) else len(pseudonyms)
    return 2 * len(of) >= persons


def _rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The `keep` rows of a frame, column by column: Arrow columns filtered by Arrow (a filter that keeps most rows
    copies runs, where a take gathers row by row), the others by a boolean mask, and no index taken along."""
    mask = pa.array(keep)
    return pd.DataFrame({name: pd.arrays.ArrowExtensionArray(values.array.__arrow_array__().filter(mask))
                         if isinstance(values.dtype, pd.ArrowDtype) else values.array[keep]
                         for name, values in frame.items()}, copy=False)


def _rows_of(pseudonyms: pd.Series, ids: pd.Index | pd.Series | np.ndarray) -> np.ndarray:
    """Which rows carry one of `ids` (`positions_in`: a categorical column is looked up once per category, in the
    hash table the Index keeps while the same persons are looked up register after register)."""
    ids = ids if isinstance(ids, pd.Index) else pd.Index(ids)
    return positions_in(ids if ids.is_unique else ids.unique(), pseudonyms) >= 0


def link_world(data_dir: Path | str, *, key: MasterKey | bytes, project: str, secure_dir: Path | str,
               registers: Iterable[str] | None = None, columns: dict[str, list[str]] | None = None,
               probabilistic: bool = True, workers: int = 1, identifiers: bool = False,
               progress: Progress | None = None) -> LinkedWorld:
    """Ingest the population (spine), residence, personnummer changes and the event registers of `data_dir`
    (all in the catalogue, or `registers`), link them deterministically on the pseudonym and, unless
    `probabilistic` is False, link the records without a usable identifier by their evidence.

    `columns` limits the columns kept per register and `workers` ingests batches side by side (see
    `ingest_register`) and, above one, runs the two linkages side by side; rejects go to `secure_dir`.
    `identifiers` also gathers every identifier as written (`LinkedWorld.identifiers`).
    """
    names = list(registers) if registers is not None else [n for n, r in REGISTERS.items()
                                                             if r.role in ("events", "units")]
    order = ["population", "residence", *[r.name for r in catalogue(names)]]
    started = _largest_first(data_dir, order)
    steps = ["personnummer changes", *started, "linkage"]
    tick = _ticker(steps, progress)
    columns = columns or {}

    seconds: dict[str, float] = {}
    tick()
    changes = load_changes(data_dir)

    digests = Digests(project_key(key, project))  # each number's pseudonym once, for every register

    def ingest(name: str) -> Ingested:
        start = time.perf_counter()
        ingested = ingest_register(name, data_dir, key=key, project=project,
                                   changes=None if name == "population" else changes,
                                   secure_dir=secure_dir, columns=columns.get(name), workers=workers,
                                   identifiers=identifiers, digests=digests)
        seconds[f"ingest {name}"] = time.perf_counter() - start
        return ingested

    start = time.perf_counter()
    done = _side_by_side(ingest, started, tick, at_once=min(workers, REGISTERS_AT_ONCE))
    ingested = {name: done[name] for name in order}  # the catalogue's order, whatever order they ran in
    seconds["ingest"] = time.perf_counter() - start
    tick()
    persons = spine(ingested["population"])
    frames = {name: ing.frame for name, ing in ingested.items() if name not in ("population", "residence")}
    PseudonymSet.of(persons)  # the spine's pseudonyms sorted once, here, for both linkages

    def deterministic() -> pa.Array | None:
        start = time.perf_counter()
        for name, frame in frames.items():
            if ingested[name].register.identifier is not None:
                frame[LINK_METHOD] = link_deterministic(frame, persons)
        seconds["deterministic"] = time.perf_counter() - start
        # The union of the registers' identifiers (a national world's 3.5 million take a second) while the
        # probabilistic linkage still runs.
        return distinct_union([ing.identifiers for ing in ingested.values() if ing.identifiers is not None]) \
            if identifiers else None

    # The deterministic join writes the registers' frames, the probabilistic linkage reads only the evidence and
    # the spine: with a worker to spare they run side by side, and the probabilistic links are applied after both.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reglink-deterministic") as pool:
        joined = pool.submit(deterministic) if workers > 1 else None
        gathered = deterministic() if joined is None else None
        start = time.perf_counter()
        residence = ingested["residence"].frame
        evidence = _evidence(ingested, frames)
        found = link_evidence(evidence if probabilistic else evidence.iloc[:0], persons, residence)
        if joined is not None:
            gathered = joined.result()
    _apply(found, evidence, frames, persons, workers=workers)
    seconds["probabilistic"] = time.perf_counter() - start
    release_memory()
    tick()
    return LinkedWorld(persons=persons, residence=residence, registers=frames,
                       counts={name: ing.counts for name, ing in ingested.items()},
                       rejects={name: ing.rejects for name, ing in ingested.items()},
                       duplicate_rows={name: ing.duplicate_rows for name, ing in ingested.items()},
                       evidence_links=found, changes=len(changes), seconds=seconds, identifiers=gathered)


#: Registers ingested side by side at most: one register's serial steps (reading, assembling its frame) overlap
#: the next one's batches, so the cores stay busy; more would only add memory.
REGISTERS_AT_ONCE = 2


def _largest_first(data_dir: Path | str, names: list[str]) -> list[str]:
    """The registers by the size of their data, largest first: started first, the long ones do not finish alone
    at the end while the other core idles. A Parquet file counts as its data uncompressed (its metadata says): its
    compressed size understates the work of reading it several times over (the national drugs file: 112 MB on disk,
    472 MB of data, ingested in as long as a 559 MB CSV file), other formats' files as they are."""
    def size(name: str) -> int:
        path = REGISTERS[name].file(data_dir)
        try:
            if path.suffix.lower() in PARQUET_SUFFIXES:
                metadata = pq.read_metadata(path)
                return sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
            return path.stat().st_size
        except (OSError, pa.ArrowException):  # missing or unreadable: ingest says so, in its turn
            return 0

    return sorted(names, key=size, reverse=True)


def _side_by_side(ingest: Callable[[str], Ingested], names: list[str], tick: Callable[[], None],
                  at_once: int) -> dict[str, Ingested]:
    """`ingest` of every register in `names`, `at_once` of them running at a time, started in that order (each
    register's result is its own, whatever the order they run in); `tick` as each one is waited for."""
    ingested: dict[str, Ingested] = {}
    with ThreadPoolExecutor(max_workers=max(at_once, 1), thread_name_prefix="reglink-register") as pool:
        running = {name: pool.submit(ingest, name) for name in names}
        try:
            for name in names:
                tick()
                ingested[name] = running[name].result()
        except BaseException:
            pool.shutdown(cancel_futures=True)  # the first error is the run's: the registers not started never are
            raise
    return ingested


def _evidence(ingested: dict[str, Ingested], frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The evidence rows of every event register, with the register's name (and nothing once linked)."""
    parts = [ing.evidence.assign(register=name) for name, ing in ingested.items()
             if name in frames and ing.register.identifier is not None and len(ing.evidence)]
    if not parts:
        return next(iter(ingested.values())).evidence.assign(register=pd.Series(dtype="string"))
    return pd.concat(parts, ignore_index=True)


def _apply(found: EvidenceLinks, evidence: pd.DataFrame, frames: dict[str, pd.DataFrame],
           persons: pd.DataFrame, *, workers: int = 1) -> None:
    """Give the records of linked entities their person's pseudonym and every no-ID record its status; `workers`
    registers at a time, the largest first (their codes are gathered and searched by numpy, which lets go of the
    GIL)."""
    spine_set = PseudonymSet.of(persons)
    entity = pd.Index(found.entities["group"]).get_indexer(evidence["group"].astype("string"))
    known = entity >= 0
    status = np.where(known, found.entities["status"].to_numpy(dtype=object)[entity], "unlinked")
    person = np.where(known, spine_set.positions(arrow(found.entities[PSEUDONYM]))[entity], -1)
    register_of, registers = pd.factorize(evidence["register"])
    code_of = {str(name): code for code, name in enumerate(registers)}

    def apply(name: str) -> None:
        frame = frames[name]
        mine = register_of == code_of[name]
        at = _row_positions(frame[ROW], evidence.loc[mine, ROW].to_numpy())
        codes = frame[LINK_METHOD].cat.codes.to_numpy().copy()
        codes[at] = pd.Categorical(status[mine], categories=list(LINK_METHODS)).codes
        frame[LINK_METHOD] = pd.Categorical.from_codes(codes, categories=list(LINK_METHODS))
        linked = status[mine] == "probabilistic"
        if linked.any():
            frame[PSEUDONYM] = with_persons(frame[PSEUDONYM], at[linked], person[mine][linked], spine_set)

    names = sorted((name for name in frames if name in code_of), key=lambda name: len(frames[name]), reverse=True)
    with ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="reglink-apply") as pool:
        list(pool.map(apply, names))  # a register without records lacking an identifier has nothing to apply


def _row_positions(rows: pd.Series, wanted: np.ndarray) -> np.ndarray:
    """Where each of the source row numbers `wanted` is among a register's rows (which are in file order), searched
    chunk by chunk in the column's own Arrow buffers: no copy of tens of millions of row numbers."""
    at = np.full(len(wanted), -1, dtype=np.int64)
    start = 0
    column = arrow(rows)
    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        if len(chunk):
            values = chunk.to_numpy(zero_copy_only=True)
            inside = np.flatnonzero((wanted >= values[0]) & (wanted <= values[-1]))
            found = np.searchsorted(values, wanted[inside])
            hit = values[found] == wanted[inside]
            at[inside[hit]] = start + found[hit]
        start += len(chunk)
    assert (at >= 0).all(), "evidence rows missing from their register"
    return at


def _ticker(steps: list[str], progress: Progress | None) -> Callable[[], None]:
    done = iter(range(len(steps) + 1))

    def tick() -> None:
        step = next(done)
        if progress is not None:
            progress(step, len(steps), steps[step] if step < len(steps) else "done")

    return tick


__all__ = ["LinkedWorld", "link_world"]
