"""Keyed pseudonyms for personnummer and samordningsnummer, one project at a time.

The construction is fixed so that anyone holding the master key can reproduce it in any language
(design.md "Pseudonyms"; the keyed hash is the digital kodnyckel of domain.md §7.2)::

    project key = HKDF-SHA256(IKM = master key, salt = none,
                              info = b"reglink/v1/" + project id as UTF-8, length = 32)      (RFC 5869)
    pseudonym   = the first 32 hex characters, lower case, of
                  HMAC-SHA256(project key, canonical 12-digit YYYYMMDDNNNC as ASCII)        (RFC 2104)

Different projects get unlinkable pseudonyms from one master key; later deliveries to the same
project get the same ones. Only personnummer and samordningsnummer get pseudonyms: other kinds
(reserve, interim, organisation numbers) are not stable personal identifiers.

Known answer: master key bytes 0x00..0x1f, project "demo-2026", 198112189876 →
efb7f4a2efaf8eba24ab9306064dd199.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pseudonym.errors import PseudonymError
from pseudonym.keys import MasterKey
from pseudonym.personnummer import KINDS, normalize
from pseudonym.vectorized import ParsedIds, as_arrow_text, parse_arrays

try:  # the C loop (pseudonym/_hmac.c) is optional; Python's hmac gives the same digits
    from pseudonym._hmac import hmac_sha256_hex as _c_hmac_sha256_hex
except ImportError:  # pragma: no cover - depends on the build
    _c_hmac_sha256_hex = None

HEX_DIGITS = 32
PROJECT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Rows per unit of work: bounds temporary memory, paces progress reports, and is what threads share out.
CHUNK_ROWS = 500_000
_INFO_PREFIX = b"reglink/v1/"
_PSEUDONYMISED_KINDS = (KINDS.index("personnummer"), KINDS.index("samordningsnummer"))

ReferenceDate = date | str | np.datetime64 | None | pd.Series | np.ndarray | pa.Array | pa.ChunkedArray


def project_key(master_key: MasterKey | bytes, project: str) -> bytes:
    """The 32-byte key of one project: HKDF-SHA256(master key, no salt, "reglink/v1/" + project)."""
    secret = master_key.secret_bytes() if isinstance(master_key, MasterKey) else MasterKey(master_key).secret_bytes()
    info = _INFO_PREFIX + check_project(project).encode("utf-8")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def check_project(project: str) -> str:
    """A project id is 1-64 characters of A-Z a-z 0-9 . _ - (it is part of the key derivation)."""
    if not isinstance(project, str) or not PROJECT_ID.fullmatch(project):
        raise PseudonymError("a project id is 1-64 characters of letters A-Z, digits, '.', '_' or '-'")
    return project


def pseudonymise(value: Any, *, master_key: MasterKey | bytes, project: str,
                 reference_date: date | str | None = None) -> str:
    """The project pseudonym of one personnummer or samordningsnummer, in any accepted written form.

    Raises InvalidPersonnummer (reason only, never the value) for anything else.
    """
    canonical = normalize(value, reference_date=reference_date)
    digest = hmac.new(project_key(master_key, project), canonical.encode("ascii"), hashlib.sha256)
    return digest.hexdigest()[:HEX_DIGITS]


def pseudonymise_many(values: Any, *, master_key: MasterKey | bytes, project: str,
                      reference_date: ReferenceDate = None, workers: int = 1) -> pd.Series:
    """Pseudonyms for a column of identifiers; NA where a value is not a valid personnummer/samordningsnummer.

    Vectorised: parse every value at once, then HMAC the fixed-width canonical buffer in C;
    `workers` threads share the chunks (the C loop and numpy release the GIL).
    """
    _parsed, pseudonyms = parse_and_pseudonymise(
        values, key=project_key(master_key, project), reference_date=reference_date, workers=workers)
    index = values.index if isinstance(values, pd.Series) else None
    return pd.Series(pd.arrays.ArrowStringArray(pseudonyms), index=index, name="pseudonym_id")


def parse_and_pseudonymise(values: Any, *, key: bytes, reference_date: ReferenceDate = None, workers: int = 1,
                           progress: Callable[[int, int], None] | None = None,
                           chunk_rows: int = CHUNK_ROWS) -> tuple[ParsedIds, pa.ChunkedArray]:
    """Parse identifiers and pseudonymise the valid ones with a project key, chunk by chunk.

    Returns what was parsed (kind, reason, birth date, sex, canonical form) and the pseudonyms as
    an Arrow string column (null where kind is not personnummer/samordningsnummer). `progress`
    is called with (rows finished, rows in all) after each chunk.
    """
    if workers < 1:
        raise PseudonymError("workers must be at least 1")
    # Once, before the chunks: turning Python objects into Arrow text holds the GIL, the chunks' work does not.
    values = as_arrow_text(values)
    n = len(values)
    per_row_dates = reference_date is not None and not isinstance(reference_date, date | str | np.datetime64)
    if per_row_dates and len(reference_date) != n:
        raise PseudonymError("reference dates must have one entry per value")
    size = max(1, min(chunk_rows, -(-n // workers)))  # every worker gets a share of a small input too
    bounds = [(start, min(start + size, n)) for start in range(0, n, size)] or [(0, 0)]

    def work(bound: tuple[int, int]) -> tuple[ParsedIds, pa.StringArray]:
        start, stop = bound
        dates = _slice(reference_date, start, stop) if per_row_dates else reference_date
        parsed = parse_arrays(_slice(values, start, stop), reference_date=dates)
        return parsed, pseudonyms_from_parsed(parsed, key)

    if workers == 1 or len(bounds) == 1:
        return _collect(map(work, bounds), n, progress)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reglink-pseudonymise") as pool:
        return _collect(pool.map(work, bounds), n, progress)


def pseudonyms_from_parsed(parsed: ParsedIds, key: bytes) -> pa.StringArray:
    """HMAC the canonical numbers of the pseudonymised kinds; an Arrow string array, null elsewhere."""
    valid = np.isin(parsed.kind, _PSEUDONYMISED_KINDS)
    hex_digits = hex_digests(key, parsed.canonical[valid])
    return _string_array(hex_digits, valid)


def hex_digests(key: bytes, messages: np.ndarray) -> np.ndarray:
    """HMAC-SHA256 of each fixed-width bytes element, first 32 hex digits, as one uint8 buffer (n × 32)."""
    messages = np.ascontiguousarray(messages)
    out = np.empty(len(messages) * HEX_DIGITS, dtype=np.uint8)
    width = messages.dtype.itemsize
    if len(messages):
        hmac_sha256_hex(key, messages.view(np.uint8), width, HEX_DIGITS, out)
    return out


def python_hmac_sha256_hex(key: bytes, messages: Sequence[int] | bytes, width: int, digits: int,
                           out: np.ndarray | bytearray) -> None:
    """Pure-Python twin of the C `hmac_sha256_hex`, with the same arguments and output; the fallback."""
    data = bytes(messages)
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    parts = []
    for start in range(0, len(data), width):
        row = keyed.copy()
        row.update(data[start:start + width])
        parts.append(row.hexdigest()[:digits])
    memoryview(out).cast("B")[:] = "".join(parts).encode("ascii")


#: The HMAC loop in use: the C extension where built, else the Python twin.
hmac_sha256_hex = _c_hmac_sha256_hex or python_hmac_sha256_hex


def _string_array(hex_digits: np.ndarray, valid: np.ndarray) -> pa.StringArray:
    """An Arrow string array over the packed hex buffer: offsets step by 32 on valid rows, null elsewhere."""
    offsets = np.zeros(len(valid) + 1, dtype=np.int32)
    np.cumsum(valid, out=offsets[1:])
    offsets *= HEX_DIGITS
    null_count = int(len(valid) - offsets[-1] // HEX_DIGITS)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if null_count else None
    return pa.StringArray.from_buffers(len(valid), pa.py_buffer(offsets), pa.py_buffer(hex_digits),
                                       bitmap, null_count)


def _slice(values: Any, start: int, stop: int) -> Any:
    if start == 0 and stop == len(values):
        return values
    return values.iloc[start:stop] if isinstance(values, pd.Series) else values[start:stop]


def _collect(results: Any, total: int,
             progress: Callable[[int, int], None] | None) -> tuple[ParsedIds, pa.ChunkedArray]:
    parsed_parts, pseudonym_parts, done = [], [], 0
    for parsed, pseudonyms in results:
        parsed_parts.append(parsed)
        pseudonym_parts.append(pseudonyms)
        done += len(pseudonyms)
        if progress is not None:
            progress(done, total)
    parsed = parsed_parts[0] if len(parsed_parts) == 1 else dataclasses.replace(parsed_parts[0], **{
        field.name: np.concatenate([getattr(p, field.name) for p in parsed_parts])
        for field in dataclasses.fields(ParsedIds)
    })
    return parsed, pa.chunked_array(pseudonym_parts, type=pa.string())
