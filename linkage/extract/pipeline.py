"""`build_extract`: a request in, a complete extract folder out — or nothing at all.

    ingest + link (only the registers the request needs) → cohort → derive → select → minimise → disclosure check
    → write data, codebook, reports in a temporary folder → manifest → leak guard → rename into place → audit line

The folder is renamed into place only after the leak guard found nothing; a lock on the target keeps two runs apart.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from codebooks import Codebook, Text, attach_codebook, render, write_labelled
from linkage import exclusion
from linkage.atomic import atomic_folder
from linkage.errors import OutputError
from linkage.extract.audit import append_audit
from linkage.extract.codekey import write_code_key
from linkage.extract.derive import (
    PSEUDONYM,
    cohort,
    event_table,
    needed_registers,
    persons_table,
    register_columns,
)
from linkage.extract.disclosure import DisclosureReport, check_k
from linkage.extract.leakguard import KnownIdentifiers, Scanner
from linkage.extract.manifest import MANIFEST, build_manifest, write_manifest
from linkage.extract.minimise import minimise
from linkage.extract.request import Request, load_request
from linkage.forked import Beside
from linkage.io import read_table, write_parquet, write_table
from linkage.memory import release_memory
from linkage.linking import LinkedWorld, link_world
from linkage.locking import target_lock
from linkage.quality import quality_report
from linkage.registers import register
from pseudonym import KeyFile, MasterKey, pseudonymise_many

PERSONS = "persons"
AUDIT_LOG = "audit.jsonl"
#: The delivered files besides data/ (the codebook in four forms).
CODEBOOK_FILES = {"md": "codebook.md", "html": "codebook.html", "datapackage": "datapackage.json",
                  "ddi": "ddi-codebook.xml"}
STAGES = ("linking the registers", "deriving the variables", "minimising and checking disclosure",
          "writing the extract", "scanning for identifiers", "publishing")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ExtractResult:
    """What an extract run made: the folder, its manifest, per-table rows, the disclosure report and timings."""

    path: Path
    manifest: dict
    rows: dict[str, int]
    disclosure: DisclosureReport
    linkage: pd.DataFrame
    code_key: Path | None
    seconds: dict[str, float] = field(default_factory=dict)


def build_extract(request: Request | Path | str, *, data_dir: Path | str, key: KeyFile | MasterKey,
                  out: Path | str, secure_dir: Path | str, withhold: frozenset[str] = frozenset(),
                  workers: int = 1, progress: Progress | None = None) -> ExtractResult:
    """Build the extract `request` asks for from the registers in `data_dir` into the new folder `out`.

    Rejects, the audit log and the optional code key go to `secure_dir`, never into the extract. `withhold` holds
    the project pseudonyms of persons whose records must not be delivered (an exclusion list).
    """
    request = request if isinstance(request, Request) else load_request(request)
    out, secure_dir = Path(out), Path(secure_dir)
    master = key.master_key if isinstance(key, KeyFile) else key
    say = _stages(progress)
    seconds: dict[str, float] = {}
    if out.exists():
        raise OutputError(f"{out}: exists already; an extract is never overwritten — choose a new folder")
    secure_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with target_lock(out):
        if out.exists():
            raise OutputError(f"{out}: exists already; an extract is never overwritten — choose a new folder")
        clock = time.perf_counter()
        say(0)
        linked = link_world(data_dir, key=master, project=request.project, secure_dir=secure_dir,
                            registers=needed_registers(request), columns=register_columns(request),
                            workers=workers, identifiers=True,
                            progress=progress and (lambda done, total, step: progress(f"linking: {step}", done, total)))
        withheld = _withhold(linked, withhold) if withhold else {"persons": 0, "records": 0}
        # Beside the derivation: what the leak guard looks for (needed once the files are written) and the linkage
        # report (read-only over the linked registers, as the derivers are).
        side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reglink-beside")
        known_later = side.submit(lambda: KnownIdentifiers(linked.identifiers))
        quality_later = side.submit(lambda: quality_report(linked, k=request.k).markdown)
        side.shutdown(wait=False)
        seconds["link"] = _lap(clock)
        say(1)
        clock = time.perf_counter()
        people = cohort(linked, request)
        tables = {PERSONS: persons_table(linked, request, people, workers=workers)}
        for name, columns in request.event_tables.items():
            tables[name] = event_table(linked, name, columns, people)
        linkage, linkage_markdown = linked.report, quality_later.result()
        del linked, people  # the linked registers (most of the memory): everything else is in the tables
        release_memory()
        seconds["derive"] = _lap(clock)
        say(2)
        clock = time.perf_counter()
        books: dict[str, Codebook] = {}
        for name, frame in tables.items():
            tables[name], books[name] = minimise(frame, request.codebook(name), precision=request.date_precision,
                                                 birth_precision=request.birth_precision)
        checked = check_k(tables[PERSONS], books[PERSONS], quasi_identifiers=request.quasi_identifiers,
                          k=request.k, action=request.action)
        tables[PERSONS], books[PERSONS] = checked.frame, checked.codebook
        seconds["minimise"] = _lap(clock)
        say(3)
        clock = time.perf_counter()
        counts = {"persons": len(tables[PERSONS]),
                  "rows": {name: len(frame) for name, frame in tables.items()}}
        code_key = None
        try:
            with atomic_folder(out) as folder, Scanner(folder, known_later.result()) as guard:
                data = folder / "data"
                data.mkdir()
                # pyreadstat holds Python's lock for all of its writing: the Stata files are written by a process
                # of their own, beside the other files.
                with Beside(_write_stata, data, tables if "stata" in request.formats else {}, books) as stata:
                    _write_data(data, tables, books, request, written=guard.written)  # each file scanned once written
                    _write_documents(folder, tables, books, request, checked.report.markdown(), linkage_markdown)
                    for path in stata.result():
                        guard.written(path)
                seconds["write"] = _lap(clock)
                say(4)
                clock = time.perf_counter()
                # Before the manifest: its byte counts are numbers the shape check could take for an identifier.
                guard.check()
                seconds["leak guard"] = _lap(clock)
                say(5)
                manifest = build_manifest(folder, project=request.project, request=request.to_dict(),
                                          request_sha256=request.sha256,
                                          key_fingerprint=master.fingerprint, counts=counts,
                                          exclusions={"applied": bool(withhold),
                                                      "records_removed": withheld["records"]})
                write_manifest(folder, manifest)
                if request.code_key:
                    code_key = _write_code_key(data_dir, secure_dir, master, request, tables[PERSONS][PSEUDONYM])
                # Before the rename: a published extract always has its audit line (a crash in between leaves a
                # line for an extract that never appeared, which the log's reader can see; never the reverse).
                append_audit(secure_dir / AUDIT_LOG, {
                    "event": "extract", "project": request.project, "approval": request.approval,
                    "request_sha256": request.sha256, "key_fingerprint": master.fingerprint,
                    "manifest_sha256": _sha256((folder / MANIFEST).read_bytes()), "persons": counts["persons"],
                    "rows": counts["rows"], "exclusion_list": bool(withhold),
                    "records_withheld": withheld["records"], "code_key": code_key is not None})
        except OSError as exc:  # a full disk, a read-only or vanished folder: the user's to fix
            raise OutputError(f"{out}: could not be written ({exc.strerror or type(exc).__name__}); nothing was "
                              "published") from None
        say(6)
    return ExtractResult(out, manifest, counts["rows"], checked.report, linkage, code_key, seconds)


def _withhold(linked: LinkedWorld, pseudonyms: frozenset[str]) -> dict[str, int]:
    """Drop every record of the listed persons from the linked registers and the spine.

    After linkage, not before: without them in the spine, their records without an identifier could be linked by
    evidence to someone else. Returns the persons and records removed."""
    linked.persons, persons = exclusion.withhold(linked.persons, pseudonyms)
    linked.residence, records = exclusion.withhold(linked.residence, pseudonyms)
    for name, frame in linked.registers.items():
        if PSEUDONYM in frame:
            linked.registers[name], removed = exclusion.withhold(frame, pseudonyms)
            records += removed
    return {"persons": persons, "records": persons + records}


def _write_data(data: Path, tables: dict[str, pd.DataFrame], books: dict[str, Codebook], request: Request, *,
                written: Callable[[Path], None]) -> None:
    """The Parquet and CSV data files asked for, each handed to `written` once complete."""
    for name, frame in tables.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if "parquet" in request.formats:
            write_parquet(attach_codebook(table, books[name]), data / f"{name}.parquet", unique_columns=[PSEUDONYM])
            written(data / f"{name}.parquet")
        if "csv" in request.formats:
            written(write_table(table, data / f"{name}.csv"))


def _write_stata(data: Path, tables: dict[str, pd.DataFrame], books: dict[str, Codebook]) -> list[Path]:
    """A labelled Stata file of each table; returns their paths."""
    for name, frame in tables.items():
        write_labelled(frame, books[name], data / f"{name}.dta", format="dta")
    return [data / f"{name}.dta" for name in tables]


def _write_documents(folder: Path, tables: dict[str, pd.DataFrame], books: dict[str, Codebook], request: Request,
                     disclosure: str, linkage: str) -> None:
    parts = list(books.values())
    title = Text(f"{request.title} ({request.approval})", f"{request.title} ({request.approval})")
    data_format = "csv" if "csv" in request.formats else "parquet"
    paths = {book.name: f"data/{name}.{data_format}" for name, book in books.items()}
    options = {"md": {"title": title}, "html": {"title": title, "frames": {b.name: tables[n] for n, b in books.items()},
                                                "k": request.k},
               "datapackage": {"title": title, "name": request.project, "paths": paths}, "ddi": {"title": title}}
    for format, filename in CODEBOOK_FILES.items():
        (folder / filename).write_bytes(render(parts, format, **options[format]))
    reports = folder / "reports"
    reports.mkdir()
    (reports / "linkage.md").write_text(linkage, encoding="utf-8")
    (reports / "disclosure.md").write_text(disclosure, encoding="utf-8")


def _write_code_key(data_dir: Path | str, secure_dir: Path, master: MasterKey, request: Request,
                    delivered: pd.Series) -> Path:
    """The encrypted pseudonym ↔ personnummer table of the delivered persons, in the secure area only."""
    population = register("population")
    numbers = read_table(population.file(data_dir), columns=[population.identifier]).table[population.identifier]
    numbers = numbers.to_pandas()
    pseudonyms = pseudonymise_many(numbers, master_key=master, project=request.project)
    chosen = pseudonyms.isin(set(delivered)).to_numpy()
    table = pa.table({PSEUDONYM: pa.array(pseudonyms[chosen], pa.string()),
                      "personnummer": pa.array(numbers[chosen], pa.string())}).sort_by(PSEUDONYM)
    path = secure_dir / f"{request.project}-{request.sha256[:12]}.codekey"
    write_code_key(path, table, master_key=master.secret_bytes(), project=request.project)
    return path


def _sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 3)


def _stages(progress: Progress | None) -> Callable[[int], None]:
    def say(step: int) -> None:
        if progress is not None:
            progress(STAGES[step] if step < len(STAGES) else "done", step, len(STAGES))

    return say


__all__ = ["ExtractResult", "build_extract"]
