"""Throughput of identifier parsing: pseudonym.parse_arrays on mixed-format valid personnummer, one core.

Usage: python bench/parse.py [ROWS]   (default 2,000,000; prints a table of rows/s)
The numbers are generated (random dates and födelsenummer with the right check digit), never real people's.
"""

from __future__ import annotations

import sys
import time
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from pseudonym import KINDS, parse, parse_arrays, parse_many
from pseudonym.luhn import check_digits

REF = date(2025, 6, 30)


def generate(rows: int, seed: int = 1) -> list[str]:
    """Valid personnummer written in five ways: 12 digits, YYMMDD-NNNC, YYMMDD+NNNC, 10 digits, padded."""
    rng = np.random.default_rng(seed)
    form = rng.integers(0, 5, rows)
    centenarian = form == 2
    start = np.where(centenarian, np.datetime64("1880-01-01"), np.datetime64("1926-01-01")).astype("M8[D]")
    end = np.where(centenarian, np.datetime64("1924-12-31"), np.datetime64("2024-12-31")).astype("M8[D]")
    days = start + (rng.random(rows) * (end - start).astype(np.int64)).astype("m8[D]")
    ymd = pd.DatetimeIndex(days)
    nnn = rng.integers(1, 1000, rows)
    digits = np.stack([ymd.year // 10 % 10, ymd.year % 10, ymd.month // 10, ymd.month % 10, ymd.day // 10,
                       ymd.day % 10, nnn // 100, nnn // 10 % 10, nnn % 10], axis=1)
    check = check_digits(digits)
    out = []
    for f, y, md, n, c in zip(form.tolist(), ymd.year.tolist(), (ymd.month * 100 + ymd.day).tolist(),
                              nnn.tolist(), check.tolist()):
        yy = y % 100
        if f == 0:
            out.append(f"{y}{md:04d}{n:03d}{c}")
        elif f == 1:
            out.append(f"{yy:02d}{md:04d}-{n:03d}{c}")
        elif f == 2:
            out.append(f"{yy:02d}{md:04d}+{n:03d}{c}")
        elif f == 3:
            out.append(f"{yy:02d}{md:04d}{n:03d}{c}")
        else:
            out.append(f"  {y}{md:04d}-{n:03d}{c} ")
    return out


def best_of(repeat: int, func) -> tuple[float, float]:
    """The best (wall seconds, CPU seconds) of `repeat` runs; CPU time is robust to other load on the machine."""
    times = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(times)


def main(rows: int) -> None:
    values = generate(rows)
    arrow = pa.array(values, type=pa.string())
    series = pd.Series(values, dtype=object)
    parsed = parse_arrays(arrow, reference_date=REF)
    assert (parsed.kind <= 1).all(), "every generated number must parse"

    # One value in a hundred a distinct temporary ID (letters), which the scalar rules decide one by one.
    canonical = parsed.canonical.astype(str)
    lettered = pa.array([v if i % 100 else f"{canonical[i][:8]}-T{canonical[i][8:11]}" for i, v in enumerate(values)],
                        type=pa.string())
    assert (parse_arrays(lettered, reference_date=REF).kind[::100] == KINDS.index("interim")).all()

    results = [
        ("parse_arrays, pyarrow string array", rows, best_of(3, lambda: parse_arrays(arrow, reference_date=REF))),
        ("parse_arrays, 1% temporary IDs", rows, best_of(3, lambda: parse_arrays(lettered, reference_date=REF))),
        ("parse_arrays, pandas object Series", rows, best_of(3, lambda: parse_arrays(series, reference_date=REF))),
        ("parse_many (DataFrame), pyarrow array", rows, best_of(1, lambda: parse_many(arrow, reference_date=REF))),
    ]
    sample = values[:50_000]
    results.append(("parse (scalar loop)", len(sample),
                    best_of(1, lambda: [parse(v, reference_date=REF) for v in sample])))
    try:
        from personnummer import personnummer
    except ImportError:
        pass
    else:
        results.append(("personnummer package, valid() loop", len(sample),
                        best_of(1, lambda: [personnummer.valid(v) for v in sample])))

    print(f"{'what':<42} {'rows':>10} {'wall s':>8} {'rows/s':>12} {'CPU s':>8} {'rows/CPU s':>12}")
    for name, n, (wall, cpu) in results:
        print(f"{name:<42} {n:>10,} {wall:>8.3f} {n / wall:>12,.0f} {cpu:>8.3f} {n / cpu:>12,.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000)
