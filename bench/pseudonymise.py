"""Throughput of pseudonymisation end to end: normalise + validate + HMAC + hex, on mixed-format personnummer.

Usage: python bench/pseudonymise.py [ROWS]   (default 2,000,000; prints a table of rows/s and speed-ups)

The naive baseline is what one would write first: the `personnummer` package's parse/format and
`cryptography`'s HMAC for each row through `DataFrame.apply`. It is measured on a 100,000-row
subsample and its rate extrapolated (a full run would take minutes). reglink runs `pseudonymise_many`
on the whole pandas column, best of three, with 1 and 2 worker threads, and once without its C
extension (the pure-Python hmac fallback). Wall time is what counts; CPU time (all threads) is shown
beside it because the machine may be shared. The numbers are generated, never real people's.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parse import generate  # noqa: E402  (the same generated numbers as bench/parse.py)

import pseudonym.pseudonyms as pseudonyms  # noqa: E402
from pseudonym.keys import MasterKey  # noqa: E402

PROJECT = "bench-2026"
SUBSAMPLE = 100_000
REFERENCE = date(2025, 6, 30)


def timed(repeat: int, func) -> tuple[float, float]:
    """The best (wall seconds, CPU seconds of all threads) of `repeat` runs."""
    runs = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(runs)


def naive_baseline(frame: pd.DataFrame, key: bytes) -> pd.Series:
    """The personnummer package + cryptography HMAC, row by row via DataFrame.apply."""
    from personnummer import personnummer

    def row_pseudonym(row: pd.Series) -> str | None:
        try:
            canonical = personnummer.parse(row["pnr"].strip()).format(long_format=True)
        except personnummer.PersonnummerException:
            return None
        mac = crypto_hmac.HMAC(key, hashes.SHA256())
        mac.update(canonical.encode("ascii"))
        return mac.finalize().hex()[:32]

    return frame.apply(row_pseudonym, axis=1)


def main(rows: int) -> None:
    values = pd.Series(generate(rows), dtype=object, name="pnr")
    master = MasterKey.generate()
    key = pseudonyms.project_key(master, PROJECT)

    arrow = pa.array(values, type=pa.string())  # the column as linkage.io reads it from a file

    def reglink(workers: int, column=values) -> pd.Series:
        return pseudonyms.pseudonymise_many(column, master_key=master, project=PROJECT, reference_date=REFERENCE,
                                            workers=workers)

    ours = reglink(1)
    assert ours.notna().all(), "every generated number must be pseudonymised"
    subsample = min(SUBSAMPLE, rows)
    sample = values.iloc[:subsample].to_frame()
    baseline_seconds, baseline_cpu = timed(1, lambda: naive_baseline(sample, key))
    baseline = naive_baseline(sample.iloc[:2000], key)
    twelve_digits = sample["pnr"].iloc[:2000].str.fullmatch(r"[0-9]{12}")  # same century whatever today is
    assert (baseline[twelve_digits] == ours.iloc[:2000][twelve_digits].astype(object)).all()

    one = timed(3, lambda: reglink(1))
    two = timed(3, lambda: reglink(2))
    one_arrow = timed(3, lambda: reglink(1, arrow))
    two_arrow = timed(3, lambda: reglink(2, arrow))
    c_loop, pseudonyms.hmac_sha256_hex = pseudonyms.hmac_sha256_hex, pseudonyms.python_hmac_sha256_hex
    try:
        fallback = timed(1, lambda: reglink(1))
    finally:
        pseudonyms.hmac_sha256_hex = c_loop

    scale = rows / subsample
    base_rate = subsample / baseline_seconds
    table = [
        (f"naive: personnummer pkg + cryptography HMAC, DataFrame.apply ({subsample:,} rows, extrapolated)",
         (baseline_seconds * scale, baseline_cpu * scale)),
        ("reglink pseudonymise_many, 1 worker", one),
        ("reglink pseudonymise_many, 2 workers", two),
        ("reglink pseudonymise_many, Arrow strings as read from a file, 1 worker", one_arrow),
        ("reglink pseudonymise_many, Arrow strings as read from a file, 2 workers", two_arrow),
        ("reglink, 1 worker, without the C extension (Python hmac)", fallback),
    ]
    print(f"{rows:,} mixed-format personnummer (12 digits, YYMMDD-NNNC, YYMMDD+NNNC, 10 digits, padded); "
          f"C extension built: {pseudonyms._c_hmac_sha256_hex is not None}")
    print(f"{'what':<92} {'wall s':>7} {'rows/s':>11} {'speed-up':>9} {'CPU s':>7} {'rows/CPU-s':>11}")
    for name, (seconds, cpu) in table:
        rate = rows / seconds
        print(f"{name:<92} {seconds:>7.2f} {rate:>11,.0f} {rate / base_rate:>8.1f}x {cpu:>7.2f} {rows / cpu:>11,.0f}")
    print(f"second worker: {one[0] / two[0]:.2f}x the one-worker rate from Python objects, "
          f"{one_arrow[0] / two_arrow[0]:.2f}x from Arrow strings")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000)
