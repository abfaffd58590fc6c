"""How fast every possible personnummer can be hashed: why an unkeyed hash is no pseudonym and a keyed one is.

Usage: python bench/enumerate.py [NUMBERS]   (default 10,000,000; prints a table; takes about a minute)

The candidates are every valid 12-digit YYYYMMDDNNNC (birth numbers 001-999, the Luhn digit computed) for
consecutive birth days from 1990-01-01, generated with numpy. Each method hashes NUMBERS of them (the Python loop a
sub-sample, extrapolated) and the rate is extrapolated to the whole space: one century of personnummer
(36,525 days x 999 = 36.5 M) and every personnummer and samordningsnummer of people born 1900-2025 (twice
46,022 days x 999 = 91.9 M). Then it re-identifies unkeyed "pseudonyms" by enumeration, to show it is not
hypothetical, and sets the keyed construction beside it: per number it costs the same, but without the 256-bit
key there is nothing to enumerate. Last, the cost of one passphrase guess against a key file (scrypt n=2**17).
Wall time on one machine; its cores may be shared. The numbers are generated, never real people's.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time

import duckdb
import numpy as np
import pyarrow as pa
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pseudonym.keys import SCRYPT_N, MasterKey
from pseudonym.luhn import check_digits
from pseudonym.pseudonyms import HEX_DIGITS, hex_digests, project_key

START_DAY = np.datetime64("1990-01-01")
BIRTH_NUMBERS = np.arange(1, 1000, dtype=np.int64)
CENTURY = 36_525 * 999
ALIVE = 2 * (np.datetime64("2026-01-01") - np.datetime64("1900-01-01")).astype(int) * 999
PYTHON_LOOP_SAMPLE = 2_000_000
TARGETS = 1_000
YEAR_SECONDS = 365.25 * 24 * 3600


def candidates(n: int) -> np.ndarray:
    """The first `n` valid personnummer from START_DAY on, birth number fastest, as S12 (vectorised)."""
    days = START_DAY + np.arange(-(-n // 999))
    ymd = np.char.replace(np.datetime_as_string(days), "-", "").astype("S8")  # YYYYMMDD per day
    out = np.empty((len(days), 999, 12), dtype=np.uint8)
    out[:, :, :8] = ymd.view(np.uint8).reshape(-1, 1, 8)
    out[:, :, 8:11] = np.char.zfill(BIRTH_NUMBERS.astype("S3"), 3).view(np.uint8).reshape(1, 999, 3)
    out = out.reshape(-1, 12)[:n]
    out[:, 11] = check_digits(out[:, 2:11] - np.uint8(48)) + np.uint8(48)  # Luhn over YYMMDDNNN
    return out.view("S12").reshape(n)


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def python_loop(numbers: np.ndarray) -> float:
    """Seconds for hashlib.sha256 over each number in a Python loop (the list of bytes is made beforehand)."""
    values = numbers.tolist()
    sha256 = hashlib.sha256
    start = time.perf_counter()
    for value in values:
        sha256(value).digest()
    return time.perf_counter() - start


def duckdb_sha256(numbers: pa.Array, threads: int) -> float:
    """Seconds for DuckDB's vectorised sha256() over every number (max() forces every digest to be computed)."""
    con = duckdb.connect(config={"threads": threads})
    con.register("t", pa.table({"s": numbers}))
    try:
        return timed(lambda: con.execute("SELECT max(sha256(s)) FROM t").fetchall())
    finally:
        con.close()


def reidentify(numbers: pa.Array, targets: list[str]) -> int:
    """How many unkeyed 'pseudonyms' (first 32 hex digits of SHA-256) enumeration turns back into numbers."""
    con = duckdb.connect()
    con.register("t", pa.table({"s": numbers}))
    con.register("p", pa.table({"h": targets}))
    try:
        return con.execute("SELECT count(*) FROM t JOIN p ON substr(sha256(s), 1, 32) = h").fetchone()[0]
    finally:
        con.close()


def main(n: int) -> None:
    generation = time.perf_counter()
    numbers = candidates(n)
    generation = time.perf_counter() - generation
    arrow = pa.Array.from_buffers(pa.binary(12), n, [None, pa.py_buffer(numbers)]).cast(pa.string())
    key = project_key(MasterKey.generate(), "bench-enumerate")
    loop_n = min(n, PYTHON_LOOP_SAMPLE)

    rows = [
        ("generate the candidates (numpy: dates x birth numbers, Luhn digit)", n, generation),
        (f"unkeyed SHA-256, hashlib in a Python loop ({loop_n:,}, extrapolated)", n,
         python_loop(numbers[:loop_n]) * n / loop_n),
        ("unkeyed SHA-256, DuckDB sha256() vectorised, 1 thread", n, duckdb_sha256(arrow, 1)),
        ("unkeyed SHA-256, DuckDB sha256() vectorised, 2 threads", n, duckdb_sha256(arrow, 2)),
        ("keyed HMAC-SHA256 (reglink's C loop) WITH the project key", n, timed(lambda: hex_digests(key, numbers))),
    ]
    print(f"Hashing every possible personnummer on this machine ({os.cpu_count()} cores), {n:,} numbers measured")
    print(f"{'method':<76} {'numbers':>11} {'seconds':>8} {'M/s':>7} {'century 36.5 M':>15} {'1900-2025 91.9 M':>17}")
    for name, count, seconds in rows:
        rate = count / seconds
        print(f"{name:<76} {count:>11,} {seconds:>8.2f} {rate / 1e6:>7.2f} {duration(CENTURY / rate):>15} "
              f"{duration(ALIVE / rate):>17}")

    rng = np.random.default_rng(2026)
    chosen = numbers[rng.choice(n, size=min(TARGETS, n), replace=False)]
    targets = [hashlib.sha256(value).hexdigest()[:HEX_DIGITS] for value in chosen.tolist()]
    start = time.perf_counter()
    found = reidentify(arrow, targets)
    seconds = time.perf_counter() - start
    print(f"\nRe-identification by enumeration: {found:,} of {len(targets):,} unkeyed pseudonyms "
          f"(SHA-256 of the 12-digit number, 32 hex digits) turned back into personnummer by hashing all {n:,} "
          f"candidates and joining, in {seconds:.1f} s.")

    hmac_rate = n / rows[-1][2]
    years = 2.0**255 / hmac_rate / YEAR_SECONDS
    print(f"Keyed: the pseudonym is HMAC-SHA256 under a secret 256-bit project key. Per number it costs the same "
          f"({hmac_rate / 1e6:.1f} M/s here), but without the key there is no table to build: finding the key "
          f"by trying keys at that rate takes on average 2^255 / {hmac_rate:,.0f} per s = {years:.1e} years.")

    salt = os.urandom(16)
    guess = timed(lambda: Scrypt(salt=salt, length=32, n=SCRYPT_N, r=8, p=1).derive(b"a passphrase guess"))
    print(f"A key file's passphrase: one guess costs one scrypt(n=2**17, r=8, p=1) = {guess:.2f} s and 128 MiB "
          f"here, so the passphrase, not the key, is what an attacker with the file would guess at.")


def duration(seconds: float) -> str:
    """Seconds as s, min or h, whichever reads best."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000)
