"""Our linkage stage against DuckDB doing the same joins, on the national-scale synthetic world, side by side.

Usage: python bench/linkage_stage.py [WORLD]   (default /tmp/national; make it once with
       `reglink synth /tmp/national --children 1200000`, which takes minutes)

Every contender runs in its own process, so the peak RSS printed is its own:
- reglink: `link_world` — every register read in Arrow batches, validated against its codebook, exact duplicates
  dropped, identifiers classified with each record's reference date, old numbers mapped through the changes,
  pseudonymised (HMAC), direct identifiers dropped; the deterministic join on the pseudonym to the population spine;
  probabilistic linkage of the records without a usable identifier — then outcome derivation
  (`linkage.outcomes`) on the linked frames, one register's linked rows (of the columns the outcomes read) at a
  time. Peak resident memory is sampled per stage and per outcome function.
- duckdb (raw files): the same joins from the raw files in SQL — identifiers trimmed, separators removed, the
  century of 10-digit numbers inferred from each record's date, old numbers mapped through the change file, every
  register LEFT JOINed to the population on the number and materialised. No validation, no check digits, no
  pseudonyms, no duplicate removal, no evidence: a lower bound for what the stage does.
- join only, both sides: the pseudonymised registers (written by the reglink run) joined to the persons on
  `pseudonym_id`: reglink reads the Parquet files and runs `link_deterministic`; DuckDB LEFT JOINs them. The
  pseudonyms are written as text, as reglink's extracts hold them: a categorical column written as Arrow's
  dictionary type carries all of its register's million categories, and every batch read back holds them again
  (reading the drugs file took 6.5 s that way, 1.6 s as text).
Wall time is what counts; the machine may be shared (2 cores; both use both).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

# This file is named like the package it measures: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

WORLD = Path("/tmp/national")
PROJECT = "bench-linkage"
END = date(2025, 12, 31)
#: The columns the outcomes need (ingest still reads and checks every column).
COLUMNS = {
    "patient": ["vardform", "indatum", "hdia", "dia1", "dia2", "ekod1", "pvard", "kommun"],
    "drugs": ["atc", "edatum", "kommun"],
    "grades_year9": ["avgangsar", "amne", "betyg"],
}
#: The columns the outcome functions read, per large register (`LinkedWorld.for_outcomes(..., columns=)`).
OUTCOME_COLUMNS = {
    "patient": ["vardform", "indatum", "hdia", "dia1", "dia2", "ekod1", "pvard"],
    "drugs": ["atc", "edatum"],
    "grades_year9": ["avgangsar"],
}
#: Threads ingesting batches side by side (the machine's cores; DuckDB uses them all too).
WORKERS = 2
JOINED = ("patient", "drugs", "grades_year9", "placement_measure", "placement_placement", "upper_secondary")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StagePeaks:
    """Peak resident memory per named stage, sampled every 20 ms by a thread (the process peak alone cannot say
    which stage reached it)."""

    def __init__(self) -> None:
        self.stage, self.peaks = "start", {}
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        import psutil

        process = psutil.Process()
        while True:
            rss = process.memory_info().rss / 2**20
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), rss)
            time.sleep(0.02)

    def enter(self, stage: str) -> None:
        self.stage = stage


# ------------------------------------------------------------------------------------------------ contenders

def run_reglink(world: Path, scratch: Path) -> dict:
    import pyarrow as pa

    from linkage import outcomes
    from linkage.deterministic import strings
    from linkage.ingest import PSEUDONYM
    from linkage.io import write_table
    from linkage.linking import link_world

    peaks = StagePeaks()
    start, cpu = time.perf_counter(), time.process_time()
    linked = link_world(world, key=bytes(range(32)), project=PROJECT, secure_dir=scratch / "secure",
                        columns=COLUMNS, workers=WORKERS,
                        progress=lambda step, steps, name: peaks.enter(
                            "ingest" if name not in ("linkage", "done") else name))
    stage, stage_cpu = time.perf_counter() - start, time.process_time() - cpu
    stage_peak = peak_mb()
    ingest = linked.seconds["ingest"]  # wall time: registers are ingested two at a time
    derived, timings = [], {}

    def derive(name: str, function, *args, **kwargs) -> None:
        peaks.enter(name)
        tick = time.perf_counter()
        derived.append(function(*args, **kwargs))
        timings[name] = time.perf_counter() - tick

    start, cpu = time.perf_counter(), time.process_time()
    peaks.enter("for_outcomes")
    persons = linked.for_outcomes("persons")
    # One register's linked copy at a time, of the columns the outcomes read: memory stays bounded.
    patient = linked.for_outcomes("patient", columns=OUTCOME_COLUMNS["patient"])
    derive("psychiatric_care", outcomes.psychiatric_care, patient, persons)
    derive("self_harm", outcomes.self_harm, patient, persons)
    derive("substance_related", outcomes.substance_related, patient, persons)
    del patient
    peaks.enter("for_outcomes")
    drugs = linked.for_outcomes("drugs", columns=OUTCOME_COLUMNS["drugs"])
    derive("psychotropics", outcomes.psychotropics, drugs, persons)
    derive("concurrent_psychotropics", outcomes.concurrent_psychotropics, drugs, persons)
    del drugs
    derive("completed_compulsory_school", outcomes.completed_compulsory_school,
           linked.for_outcomes("grades_year9", columns=OUTCOME_COLUMNS["grades_year9"]), persons)
    derive("placement_history", outcomes.placement_history, linked.for_outcomes("placement_measure"),
           linked.for_outcomes("placement_placement"), persons, end_date=END)
    derive("lvm_by_age", outcomes.lvm_by_age, linked.for_outcomes("lvm_application"),
           linked.for_outcomes("lvm_emergency"), linked.for_outcomes("lvm_discharge"), persons)
    derive_seconds, derive_cpu = time.perf_counter() - start, time.process_time() - cpu
    peaks.enter("after")
    peak = peak_mb()
    report = linked.report.set_index("register")
    for name in JOINED:  # for the join-only comparison (not timed); pseudonyms as text, as extracts hold them
        frame = linked.registers[name].drop(columns=["link_method", "id_kind"])
        frame[PSEUDONYM] = strings(frame[PSEUDONYM])
        write_table(pa.Table.from_pandas(frame, preserve_index=False), scratch / f"{name}.parquet", overwrite=True)
    write_table(pa.Table.from_pandas(linked.persons[["pseudonym_id", "fodelsedatum", "kon"]], preserve_index=False),
                scratch / "persons.parquet", overwrite=True)
    return {"stage": stage, "stage_cpu": stage_cpu, "ingest": ingest, "deterministic": linked.seconds["deterministic"],
            "probabilistic": linked.seconds["probabilistic"], "outcomes": derive_seconds, "outcomes_cpu": derive_cpu,
            "peak_mb": stage_peak, "outcomes_peak_mb": peak, "stage_peaks": peaks.peaks, "outcome_seconds": timings,
            "rows": int(report.loc[list(JOINED), "rows_read"].sum()),
            "linked": int(report.loc[list(JOINED), ["linked_deterministic", "linked_probabilistic"]].sum().sum()),
            "outcome_rows": sum(len(d) for d in derived),
            "probabilistic_links": linked.evidence_links.status_counts()}


def run_reglink_join(scratch: Path) -> dict:
    import pandas as pd
    import pyarrow.parquet as pq

    from linkage.deterministic import link_deterministic

    start = time.perf_counter()
    persons = pq.read_table(scratch / "persons.parquet").to_pandas(types_mapper=pd.ArrowDtype)
    linked = 0
    for name in JOINED:
        frame = pq.read_table(scratch / f"{name}.parquet").to_pandas(types_mapper=pd.ArrowDtype)
        frame["link_method"] = link_deterministic(frame, persons)
        linked += int((frame["link_method"] == "deterministic").sum())
    return {"join": time.perf_counter() - start, "peak_mb": peak_mb(), "linked": linked}


def run_duckdb_join(scratch: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(f"CREATE TABLE persons AS SELECT * FROM read_parquet('{scratch / 'persons.parquet'}')")
    linked = 0
    for name in JOINED:
        con.execute(f"CREATE TABLE {name} AS SELECT r.*, p.pseudonym_id IS NOT NULL AS deterministic "
                    f"FROM read_parquet('{scratch / (name + '.parquet')}') r "
                    "LEFT JOIN persons p ON p.pseudonym_id = r.pseudonym_id")
        linked += con.execute(f"SELECT count(*) FROM {name} WHERE deterministic").fetchone()[0]
    return {"join": time.perf_counter() - start, "peak_mb": peak_mb(), "linked": linked}


def run_duckdb_raw(world: Path) -> dict:
    import duckdb

    from linkage.registers import register

    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(f"CREATE TABLE population AS SELECT * FROM read_parquet('{register('population').file(world)}')")
    con.execute(f"CREATE TABLE changes AS SELECT * FROM {_source(world, 'pnr_changes')}")
    rows = linked = 0
    for name in JOINED:
        entry = register(name)
        canonical = _canonical_sql(entry.identifier, _reference_sql(name))
        con.execute(f"""
            CREATE TABLE {name} AS
            WITH normalised AS (SELECT *, {canonical} AS canonical FROM {_source(world, name)}),
                 current AS (SELECT n.* EXCLUDE ({entry.identifier}),
                                    coalesce(c.nytt_personnr, n.canonical) AS number
                             FROM normalised n LEFT JOIN changes c ON c.gammalt_personnr = n.canonical)
            SELECT x.*, p.personnummer IS NOT NULL AS linked
            FROM current x LEFT JOIN population p ON p.personnummer = x.number""")
        n, hits = con.execute(f"SELECT count(*), count(*) FILTER (WHERE linked) FROM {name}").fetchone()
        rows, linked = rows + n, linked + hits
    return {"stage": time.perf_counter() - start, "peak_mb": peak_mb(), "rows": rows, "linked": linked}


def _source(world: Path, name: str) -> str:
    from linkage.registers import register

    path = register(name).file(world)
    if path.suffix == ".parquet":
        return f"read_parquet('{path}')"
    encoding = "utf-8" if name == "pnr_changes" else "latin-1"
    delimiter = "," if name == "pnr_changes" else ";"
    return f"read_csv('{path}', delim='{delimiter}', header=true, all_varchar=true, encoding='{encoding}')"


def _reference_sql(name: str) -> str:
    """Each record's reference date, as the catalogue defines it, in SQL over the raw columns."""
    from linkage.registers import register

    reference = register(name).reference
    if reference.columns:
        parts = [f"TRY_CAST({c} AS DATE)" if name == "drugs" else f"try_strptime({c}, '%Y%m%d')::DATE"
                 for c in reference.columns]
        return f"coalesce({', '.join(parts)})"
    return f"make_date(CAST({reference.year_column} AS INTEGER), {reference.month}, {reference.day})"


def _canonical_sql(column: str, ref: str) -> str:
    """12 digits as they are; 10 digits with the latest century not after the record's date (day − 60 for a
    samordningsnummer)."""
    digits = f"regexp_replace(trim({column}), '[-+]', '', 'g')"
    yy = f"CAST(substr({digits}, 1, 2) AS INTEGER)"
    month_day = f"(CAST(substr({digits}, 3, 2) AS INTEGER) * 100 + CAST(substr({digits}, 5, 2) AS INTEGER) % 60)"
    year = f"(year({ref}) - ((year({ref}) - {yy}) % 100))"
    key = f"(year({ref}) * 10000 + month({ref}) * 100 + day({ref}))"
    century = f"({year} - CASE WHEN {year} * 10000 + {month_day} > {key} THEN 100 ELSE 0 END)"
    return (f"CASE WHEN length({digits}) = 12 THEN {digits} "
            f"WHEN length({digits}) = 10 THEN CAST({century} AS VARCHAR) || substr({digits}, 3) END")


# ------------------------------------------------------------------------------------------------ driver

CONTENDERS = {"reglink": run_reglink, "reglink-join": run_reglink_join, "duckdb-join": run_duckdb_join,
              "duckdb-raw": run_duckdb_raw}


def child(name: str, world: Path, scratch: Path) -> None:
    function = CONTENDERS[name]
    args = {"reglink": (world, scratch), "duckdb-raw": (world,)}.get(name, (scratch,))
    print(json.dumps(function(*args)))


def measure(name: str, world: Path, scratch: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", name, str(world), str(scratch)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    world = Path(sys.argv[1]) if len(sys.argv) > 1 else WORLD
    if not (world / "population" / "population.parquet").is_file():
        sys.exit(f"{world}: no synthetic world; make one with `reglink synth {world} --children 1200000`")
    with tempfile.TemporaryDirectory(prefix="bench-linkage-") as tmp:
        scratch = Path(tmp)
        ours = measure("reglink", world, scratch)
        raw = measure("duckdb-raw", world, scratch)
        ours_join = measure("reglink-join", world, scratch)
        duck_join = measure("duckdb-join", world, scratch)
    print(f"\nLinkage stage on {world} ({ours['rows']:,} event rows in {len(JOINED)} registers)\n")
    print(f"{'what':<58} {'wall s':>8} {'peak MB':>9} {'linked rows':>13}")
    stage_peaks = ours["stage_peaks"]
    lines = [
        ("reglink: link_world (ingest + deterministic + probabilistic)", ours["stage"], ours["peak_mb"],
         ours["linked"]),
        ("  ingest (read, validate, dedupe, pseudonymise)", ours["ingest"], stage_peaks.get("ingest"), None),
        ("  deterministic join on pseudonym", ours["deterministic"], stage_peaks.get("linkage"), None),
        ("  probabilistic linkage of records without an ID", ours["probabilistic"], stage_peaks.get("linkage"),
         None),
        ("reglink: outcome derivation (8 outcome functions)", ours["outcomes"], ours["outcomes_peak_mb"], None),
        ("  for_outcomes (the linked rows of a register)", None, stage_peaks.get("for_outcomes"), None),
        *((f"  {name}", seconds, stage_peaks.get(name), None) for name, seconds in ours["outcome_seconds"].items()),
        ("duckdb: same joins from the raw files (SQL normalisation)", raw["stage"], raw["peak_mb"], raw["linked"]),
        ("join only, reglink (Parquet → link_deterministic)", ours_join["join"], ours_join["peak_mb"],
         ours_join["linked"]),
        ("join only, duckdb (Parquet → LEFT JOIN)", duck_join["join"], duck_join["peak_mb"], duck_join["linked"]),
    ]
    for what, wall, peak, linked in lines:
        print(f"{what:<58} {'' if wall is None else f'{wall:.1f}':>8} {'' if peak is None else f'{peak:,.0f}':>9} "
              f"{'' if linked is None else f'{linked:,}':>13}")
    print(f"\nCPU seconds (this process, all threads): link_world {ours['stage_cpu']:.1f}, outcomes "
          f"{ours['outcomes_cpu']:.1f}; peak MB of a stage is the most resident memory while it ran")
    print(f"\nratio link_world / duckdb raw joins: {ours['stage'] / raw['stage']:.2f}×  "
          f"(+ outcomes: {(ours['stage'] + ours['outcomes']) / raw['stage']:.2f}×)")
    print(f"ratio join only, reglink / duckdb: {ours_join['join'] / duck_join['join']:.2f}×")
    print(f"records without an ID, entities: {ours['probabilistic_links']}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
