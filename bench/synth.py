"""The synthetic world at national scale: `reglink synth` for 10-11 birth cohorts (≈1.2 million persons).

    .venv/bin/python bench/synth.py [--children 1200000] [--keep OUTDIR]

Runs the real CLI once in a subprocess and prints wall time, CPU time and peak memory (resource.getrusage of the
child), rows and size per file, and which calibration figures fall outside their range. Target: ≤ 5 minutes and
≤ 8 GB peak on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=1_200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write the world here and keep it (default: a temporary folder)")
    args = parser.parse_args()

    scratch = None if args.keep else Path(tempfile.mkdtemp(prefix="reglink-bench-synth-"))
    outdir = args.keep or scratch / "world"
    try:
        tick = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "linkage.cli", "synth", str(outdir), "--children",
                               str(args.children), "--seed", str(args.seed)], capture_output=True, text=True)
        wall = time.perf_counter() - tick
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            sys.exit(f"reglink synth failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        rows = [(str(path.relative_to(outdir)), _rows(path), path.stat().st_size)
                for path in sorted(outdir.rglob("*")) if path.is_file() and path.suffix in (".csv", ".parquet")]
        figures = json.loads((outdir / "calibration.json").read_text(encoding="utf-8"))["figures"]
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    print(f"reglink synth --children {args.children:,}")
    print(f"  wall time      {wall:8.1f} s   (target ≤ 300 s)")
    print(f"  CPU time       {usage.ru_utime + usage.ru_stime:8.1f} s   (user + system)")
    print(f"  peak memory    {usage.ru_maxrss / 1024**2:8.2f} GB  (target ≤ 8 GB)")
    print(f"\n  {'file':<40} {'rows':>14} {'MB':>9}")
    for name, count, size in rows:
        print(f"  {name:<40} {count:>14,} {size / 1e6:>9.1f}")
    print(f"  {'total':<40} {sum(r[1] for r in rows):>14,} {sum(r[2] for r in rows) / 1e6:>9.1f}")
    checked = [f for f in figures if f["within"] is not None]
    outside = [f for f in checked if not f["within"]]
    print(f"\n  calibration: {len(checked) - len(outside)} of {len(checked)} figures with a range inside it")
    for f in outside:
        print(f"    outside: {f['name']} = {f['achieved']:.4g} (range {f['low']:.4g}-{f['high']:.4g})")


def _rows(path: Path) -> int:
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b"")) - 1


if __name__ == "__main__":
    main()
