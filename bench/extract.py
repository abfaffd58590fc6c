"""The national-scale extract end to end against its I/O floor, measured in the same run.

Usage: python bench/extract.py [WORLD] [--workers N]   (default /tmp/national; make it once with
       `reglink synth /tmp/national --children 1200000`, which takes minutes)

- reglink: `build_extract` with the demo's example request (children born 1998–2008 with never-placed peers, 33
  person-level variables, two event tables, Parquet + CSV + Stata): link, derive, minimise, k-anonymity, write,
  leak guard, manifest, audit line.
- I/O floor: read the columns that request needs from every register it needs (the identifier, the linkage columns
  and the requested/derivation columns: what any implementation must read) and write the delivered tables again
  in the same formats — no linkage, derivation or checks.
Each runs in its own process, so the peak printed is its own: for reglink the larger of its peak resident set and
the peak of its resident set summed with its children's (sampled every 0.1 s; the Stata files are written by a
forked child, and pages it shares with its parent count twice in that sum, so it is an upper bound).
Target (issue 6): reglink ≤ 3× the floor, ≤ 8 GB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# This folder holds scripts named like the packages they measure: keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

WORLD = Path("/tmp/national")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tree_rss_mb() -> float:
    """Resident set of this process and its children, summed: pages a forked child shares with its parent count
    in both, so this is an upper bound (read from /proc/PID/statm, which costs nothing; the proportional set size
    would walk the page tables of a 5 GB process, holding its memory map's lock, and slowed the run by seconds)."""
    import psutil

    me = psutil.Process()
    total = 0
    for process in [me, *me.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:  # gone meanwhile
            pass
    return total / 2**20


def run_reglink(world: Path, scratch: Path, workers: int) -> dict:
    from linkage.extract.pipeline import build_extract
    from linkage.extract.request import EXAMPLE, parse_request
    from pseudonym import MasterKey

    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], tree_rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    result = build_extract(parse_request(EXAMPLE), data_dir=world, key=MasterKey(bytes(range(32))),
                           out=scratch / "extract", secure_dir=scratch / "secure", workers=workers)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    return {"wall": wall, "peak_mb": max(peak_mb(), peak[0]), "rows": result.rows, "seconds": result.seconds}


def run_floor(world: Path, scratch: Path) -> dict:
    import pyarrow.parquet as pq

    import codebooks
    from linkage.extract.derive import needed_registers
    from linkage.extract.request import EXAMPLE, parse_request
    from linkage.io import read_table, write_parquet, write_table
    from linkage.registers import register

    request = parse_request(EXAMPLE)
    start = time.perf_counter()
    rows = 0
    for name in ["population", "residence", *needed_registers(request)]:
        entry = register(name)
        wanted = [v.name for v in entry.codebook.variables if v.role != "direct_identifier" or
                  v.name == entry.identifier]
        rows += read_table(entry.file(world), columns=wanted).table.num_rows
    read = time.perf_counter() - start
    out = scratch / "floor"
    out.mkdir()
    write = 0.0
    for path in sorted((scratch / "extract" / "data").glob("*.parquet")):
        table = pq.read_table(path)
        book = codebooks.read_codebook(path)
        start = time.perf_counter()  # only the writing counts
        write_parquet(table, out / path.name)
        write_table(table, out / f"{path.stem}.csv")
        codebooks.write_labelled(table.to_pandas(), book, out / f"{path.stem}.dta", format="dta")
        write += time.perf_counter() - start
    return {"read": read, "write": write, "rows_read": rows, "peak_mb": peak_mb()}


def child(name: str, world: Path, scratch: Path, workers: int) -> None:
    result = run_reglink(world, scratch, workers) if name == "reglink" else run_floor(world, scratch)
    print(json.dumps(result))


def measure(name: str, world: Path, scratch: Path, workers: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", name, str(world), str(scratch), str(workers)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 2
    args = [a for a in args if a != str(workers)]
    world = Path(args[0]) if args else WORLD
    if not (world / "population" / "population.parquet").is_file():
        sys.exit(f"{world}: no synthetic world; make one with `reglink synth {world} --children 1200000`")
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        scratch = Path(tmp)
        ours = measure("reglink", world, scratch, workers)
        floor = measure("floor", world, scratch, workers)
    io_floor = floor["read"] + floor["write"]
    print(f"\nExtract of the example request on {world} ({workers} worker(s))\n")
    print(f"{'what':<60} {'wall s':>8} {'peak MB':>9}")
    print(f"{'reglink extract (end to end)':<60} {ours['wall']:>8.1f} {ours['peak_mb']:>9,.0f}")
    for stage, seconds in ours["seconds"].items():
        print(f"{'  ' + stage:<60} {seconds:>8.1f}")
    print(f"{'I/O floor: read the needed input columns':<60} {floor['read']:>8.1f} {floor['peak_mb']:>9,.0f}")
    print(f"{'I/O floor: write the delivered tables (Parquet, CSV, Stata)':<60} {floor['write']:>8.1f}")
    print(f"\nrows delivered: {ours['rows']}; input rows read by the floor: {floor['rows_read']:,}")
    print(f"ratio extract / I/O floor: {ours['wall'] / io_floor:.2f}×  (target ≤ 3×); peak "
          f"{ours['peak_mb'] / 1024:.1f} GB (target ≤ 8 GB)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
