"""The leak guard: find personnummer-shaped numbers and the input identifiers in files before they are published.

An extract must provably hold no identity (issue 6), so every file is scanned before the extract folder is renamed
into place: its raw bytes (any ASCII-compatible encoding's digits show), except where a file's encoded data is read
back value by value instead (every Parquet column chunk, decoded, with the file's schema and metadata; a Stata
file's records), since encoded data read as text both hides numbers (compressed pages) and makes false ones.

Two detectors share one tokeniser (a run of at least six letters or digits, optionally followed by `-`, `+` or a
space and four more: the written forms of domain.md §1.1) and report counts, never values:

* shape: a 10- or 12-digit token (century 18, 19 or 20) whose date part is possible for a personnummer or a
  samordningsnummer (month 01-12; day 01-31, or 60-91 for a samordningsnummer, which may also carry month 00 —
  Skatteverket's own test samordningsnummer do, domain.md §1.2) and whose Luhn digit over YYMMDDNNN holds (§1.1);
* the input identifiers themselves, of any kind, normalised to their letters and digits and matched as whole
  tokens in 12- and 10-character form (a 12-character value whose first eight characters are digits is compared
  without its century, so `19900101-1234`, `900101-1234` and `9001011234` are one identifier).

A token is whole when no letter or digit touches it, so 32-character hex pseudonyms and SHA-256 sums never match.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyreadstat

from linkage._tokens import SEPARATORS, tokens
from linkage.errors import ReglinkError
from linkage.extract.stata import StataValues, read_values
from pseudonym.luhn import check_digit

PERSONNUMMER = "personnummer-shaped number"
SAMORDNINGSNUMMER = "samordningsnummer-shaped number"
INPUT_IDENTIFIER = "input identifier"
#: Identifiers shorter than this (bare serial numbers) are not searched for: they would match ordinary numbers.
MIN_IDENTIFIER_CHARS = 6
#: The smallest number whose text is that long: columns of smaller numbers need no scan.
SMALLEST_SEARCHED = 10 ** (MIN_IDENTIFIER_CHARS - 1)

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_CENTURIES = (b"18", b"19", b"20")
_MAX_DIGIT_KEY = 17  # digit strings up to 17 long fit an int64 key (value * 32 + length)
_PARQUET_MAGIC = b"PAR1"
_CHUNK_BYTES = 1 << 24
_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + b"".join(SEPARATORS))
_EMPTY, _LINE_END = pa.scalar("", pa.large_string()), pa.scalar("\n", pa.large_string())


class LeakError(ReglinkError):
    """Something identifying was found in files about to be published; the message names files, never values."""


@dataclass(frozen=True)
class Hit:
    """Findings of one kind in one place of one file (a count, never the value)."""

    path: str  # POSIX path relative to the scanned folder
    where: str  # "line 12", "raw bytes", "column 'kon'", "Parquet schema and metadata", "Stata labels", "file name"
    kind: str  # PERSONNUMMER, SAMORDNINGSNUMMER or INPUT_IDENTIFIER
    count: int

    def __str__(self) -> str:
        return f"{self.path} ({self.where}): {self.count} {self.kind}{'s' if self.count > 1 else ''}"


class KnownIdentifiers:
    """The input identifiers, normalised once into a form a scan looks tokens up in fast.

    Digit strings become sorted int64 keys (value * 32 + length, so leading zeros count); anything else (reserve
    numbers and temporary IDs with letters) a set. 2.5 million identifiers take about 20 MB.
    """

    def __init__(self, values: Iterable[str] | pa.Array | pa.ChunkedArray) -> None:
        canonical = _canonical(_normalise(_as_binary(values)))
        lengths = pc.binary_length(canonical)
        long_enough = pc.greater_equal(lengths, MIN_IDENTIFIER_CHARS)
        #: how many non-empty identifiers were too short to search for
        self.too_short = int(pc.sum(pc.and_(pc.invert(long_enough), pc.greater(lengths, 0))).as_py() or 0)
        kept = canonical.filter(long_enough)
        digits = _digit_keys_mask(kept)
        self._numeric = np.sort(_int_keys(kept.filter(digits)))
        self._other = frozenset(kept.filter(pc.invert(digits)).to_pylist())
        self._other_lengths = pa.array(sorted({len(token) for token in self._other}), pa.int64())
        self._size = len(kept)
        self.shortest = int(pc.min(pc.binary_length(kept)).as_py() or 0)

    def __len__(self) -> int:
        return self._size

    def matches(self, tokens: pa.Array) -> np.ndarray:
        """Which of these canonical tokens (normalised, see `_canonical`) are known identifiers: a boolean array."""
        found = np.zeros(len(tokens), dtype=bool)
        digits = _digit_keys_mask(tokens)
        rows = np.flatnonzero(digits.to_numpy(zero_copy_only=False))
        if len(rows) and len(self._numeric):
            keys = _int_keys(tokens.filter(digits))
            at = np.minimum(np.searchsorted(self._numeric, keys), len(self._numeric) - 1)
            found[rows] = self._numeric[at] == keys
        if self._other:
            maybe = pc.and_(pc.invert(digits), pc.is_in(pc.binary_length(tokens), value_set=self._other_lengths))
            rows = np.flatnonzero(maybe.to_numpy(zero_copy_only=False))
            found[rows] = [token in self._other for token in tokens.filter(maybe).to_pylist()]
        return found


Identifiers = KnownIdentifiers | Iterable[str] | pa.Array | pa.ChunkedArray | None


def find_identifiers(data: bytes | str, identifiers: Identifiers = None) -> Counter[str]:
    """Count, by kind, the personnummer-shaped numbers and input identifiers in some text or bytes."""
    known = _known(identifiers)
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _count(data, known)


def scan_folder(folder: Path | str, identifiers: Identifiers = None) -> list[Hit]:
    """Every finding in every file under `folder` (names, raw bytes, Parquet values/metadata, Stata values)."""
    folder, known = Path(folder), _known(identifiers)
    return [hit for path in _files(folder) for hit in _scan_file(folder, path, known)]


def assert_no_identifiers(folder: Path | str, identifiers: Identifiers = None) -> None:
    """Raise LeakError naming the files (and what was found where) if `scan_folder` finds anything."""
    _raise_for(scan_folder(folder, identifiers))


class Scanner:
    """The leak guard beside the writing: `written(path)` scans a finished file in a thread of its own while the
    next one is written (writers of large tables work mostly outside Python's lock, and scanning is mostly inside
    it); `check()` scans the files not handed over and raises LeakError as `assert_no_identifiers` would, with the
    same findings in the same order. Use it as a context manager, so the thread ends however the writing does."""

    def __init__(self, folder: Path | str, identifiers: Identifiers = None) -> None:
        self.folder, self.known = Path(folder), _known(identifiers)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reglink-leakguard")
        self._scans: dict[Path, Future[list[Hit]]] = {}

    def written(self, path: Path | str) -> None:
        path = Path(path)
        self._scans[path] = self._pool.submit(_scan_file, self.folder, path, self.known)

    def check(self) -> None:
        hits: list[Hit] = []
        for path in _files(self.folder):
            scan = self._scans.get(path)
            hits += scan.result() if scan is not None else _scan_file(self.folder, path, self.known)
        _raise_for(hits)

    def __enter__(self) -> Scanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(cancel_futures=True)


def _scan_file(folder: Path, path: Path, known: KnownIdentifiers | None) -> list[Hit]:
    rel = path.relative_to(folder).as_posix()
    found: dict[tuple[str, str], list] = {}  # (view, kind) → [where, count], in the order first found
    for view, blob, lines_before in _blobs(path, rel):
        counts = _count(blob, known)
        where = view if lines_before is None or not counts else f"line {lines_before + _first_line(blob, known)}"
        for kind, n in counts.items():
            found.setdefault((view, kind), [where, 0])[1] += n
    shown = _redacted(rel, known) if found else rel
    return [Hit(shown, where, kind, n) for (_, kind), (where, n) in found.items()]


def _raise_for(hits: list[Hit]) -> None:
    if hits:
        files = len({hit.path for hit in hits})
        shown = "; ".join(map(str, hits[:5])) + (f"; and {len(hits) - 5} more" if len(hits) > 5 else "")
        raise LeakError(f"leak guard: identifying numbers found in {files} file(s): {shown}")


def _known(identifiers: Identifiers) -> KnownIdentifiers | None:
    if identifiers is None or isinstance(identifiers, KnownIdentifiers):
        return identifiers
    return KnownIdentifiers(identifiers)


def _files(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            yield Path(root) / name


def _blobs(path: Path, rel: str) -> Iterator[tuple[str, bytes, int | None]]:
    """(view, bytes, lines before them or None where lines mean nothing) for every view of a file worth scanning."""
    yield "file name", rel.encode("utf-8"), None
    with open(path, "rb") as handle:
        magic = handle.read(4)
    stata = path.suffix.lower() == ".dta"
    values = _stata_values(path) if stata else None
    parquet = _parquet_file(path) if magic == _PARQUET_MAGIC else None
    # A Stata file's records and a Parquet file's column chunks are scanned as the values they hold (below), the
    # rest of the file as raw bytes. Encoded data read as text gives false alarms: the dictionary indices of a
    # Parquet date column, one byte each, spelt "0112234356" (a valid personnummer shape) in about one extract
    # in 150 of the small synthetic world.
    skip = [(values.start, values.end)] if values is not None else \
        _parquet_column_chunks(parquet, path.stat().st_size) if parquet is not None else []
    for chunk, lines_before in _chunks(path, skip):
        yield ("raw bytes", chunk, None) if magic == _PARQUET_MAGIC or stata else ("text", chunk, lines_before)
    if parquet is not None:
        yield from _parquet_blobs(parquet)
    elif stata:
        yield from _stata_blobs(path, values)


def _chunks(path: Path, skip: Sequence[tuple[int, int]] = ()) -> Iterator[tuple[bytes, int]]:
    """A file's bytes in pieces of about _CHUNK_BYTES (so memory stays bounded), with the lines before each;
    the byte ranges [start, end) in `skip` (sorted, apart) are left out, and the bytes either side of one never
    meet in one piece."""
    size = path.stat().st_size
    bounds = [0, *(at for span in skip for at in span), size]
    spans = [(begin, end) for begin, end in zip(bounds[::2], bounds[1::2], strict=True) if end > begin]
    lines = 0
    with open(path, "rb") as handle:
        for begin, end in spans:
            handle.seek(begin)
            left, rest = end - begin, b""
            while left > 0 and (block := handle.read(min(_CHUNK_BYTES, left))):
                left -= len(block)
                data = rest + block
                cut = _safe_cut(data)
                piece, rest = data[:cut], data[cut:]
                yield piece, lines
                lines += piece.count(b"\n")
            if rest:
                yield rest, lines
                lines += rest.count(b"\n")


def _parquet_file(path: Path) -> pq.ParquetFile | None:
    """The file as Parquet, or None where it cannot be read as such (then its raw bytes are all there is to scan)."""
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError):
        return None


def _parquet_column_chunks(parquet: pq.ParquetFile, size: int) -> list[tuple[int, int]]:
    """The byte ranges of a Parquet file's column chunks (pages and their headers), sorted and merged; none where
    the file's metadata does not add up (then every byte is scanned raw)."""
    metadata, spans = parquet.metadata, []
    for group in range(metadata.num_row_groups):
        for column in range(metadata.num_columns):
            chunk = metadata.row_group(group).column(column)
            offsets = [o for o in (chunk.dictionary_page_offset, chunk.data_page_offset) if o]
            if not offsets:
                return []
            spans.append((min(offsets), min(offsets) + chunk.total_compressed_size))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if start < 4 or end > size - 8:  # the magic and the footer are always scanned
            return []
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _safe_cut(data: bytes) -> int:
    """Where `data` can be cut with no token across the cut: after its last line end, else after its last byte
    that is neither a letter, a digit nor part of a separator (looked for in the last 4 KiB)."""
    line_end = data.rfind(b"\n")
    if line_end >= 0:
        return line_end + 1
    low = max(0, len(data) - 4096)
    return next((at + 1 for at in range(len(data) - 1, low - 1, -1) if data[at] not in _TOKEN_BYTES), len(data))


def _parquet_blobs(parquet: pq.ParquetFile) -> Iterator[tuple[str, bytes, None]]:
    schema = parquet.schema_arrow
    described = schema.to_string(show_field_metadata=True, show_schema_metadata=True, truncate_metadata=False)
    metadata = b"\n".join(k + b"\n" + v for k, v in (parquet.metadata.metadata or {}).items())
    yield "Parquet schema and metadata", described.encode("utf-8") + b"\n" + metadata, None
    for group in range(parquet.num_row_groups):
        table = parquet.read_row_group(group)
        yield from _column_blobs(table)


def _stata_values(path: Path) -> StataValues | None:
    try:
        return read_values(path)
    except (OSError, ValueError):  # not a .dta this reads: pyreadstat's turn, below
        return None


def _stata_blobs(path: Path, values: StataValues | None) -> Iterator[tuple[str, bytes, None]]:
    """The labels (names, value labels, notes) and every value of a .dta file: values from its data section
    (`linkage.extract.stata`), or through pyreadstat where that cannot read the file."""
    try:
        frame, meta = pyreadstat.read_dta(str(path), metadataonly=values is not None)
    except (pyreadstat.PyreadstatError, pyreadstat.ReadstatError, OSError):  # raw bytes scanned (and values, if read)
        frame = meta = None
    if meta is not None:
        labels = [meta.file_label, *meta.column_labels, *map(str, meta.variable_value_labels.values()),
                  *map(str, meta.value_labels.values()), *(meta.notes or [])]
        yield "Stata labels", "\n".join(str(label) for label in labels if label).encode("utf-8"), None
    if values is not None:
        for i, name in enumerate(values.names):
            largest = values.largest(i)  # numbers too small to be an identifier are never made into text
            if largest is None or largest >= SMALLEST_SEARCHED:
                yield from _column_blobs(pa.table({name: values.column(i)}))
    elif frame is not None:
        yield from _column_blobs(pa.Table.from_pandas(frame, preserve_index=False))


def _column_blobs(table: pa.Table) -> Iterator[tuple[str, bytes, None]]:
    """Each column's values as text, one per line; integral floats also as integers (how Stata keeps numbers)."""
    for name, column in zip(table.column_names, table.columns, strict=True):
        for chunk in column.chunks:
            if not _can_hold_identifiers(chunk):
                continue
            views = [_as_text(chunk)]
            if pa.types.is_floating(chunk.type):
                integral = chunk.filter(pc.equal(pc.floor(chunk), chunk))
                integral = integral.filter(pc.less(pc.abs(integral), 1e18))
                views.append(pc.cast(pc.cast(integral, pa.int64(), safe=False), pa.large_string()))
            for view in views:
                yield f"column {name!r}", _joined(view), None


def _can_hold_identifiers(chunk: pa.Array) -> bool:
    """False for values whose text can never be six digits or more: booleans, dates and times, and numbers all below
    100,000 in size (identifiers shorter than six characters are not looked for)."""
    kind = chunk.type
    if pa.types.is_boolean(kind) or pa.types.is_temporal(kind) or pa.types.is_null(kind):
        return False
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        largest = pc.max(pc.abs(chunk)).as_py()
        return largest is not None and largest >= SMALLEST_SEARCHED
    return True


def _as_text(chunk: pa.Array) -> pa.Array:
    if pa.types.is_binary(chunk.type) or pa.types.is_large_binary(chunk.type):
        return pc.cast(chunk, pa.large_string(), safe=False)
    try:
        return pc.cast(chunk, pa.large_string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested or exotic types: Python's text of each value
        return pa.array([None if value is None else str(value) for value in chunk.to_pylist()], pa.large_string())


def _joined(text: pa.Array) -> bytes:
    """The values of a string array, each followed by a line end, as one bytes object (nulls left out)."""
    lines = pc.binary_join_element_wise(pc.cast(text, pa.large_string()), _EMPTY, _LINE_END)
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset: lines.offset + len(lines) + 1]
    return lines.buffers()[2].to_pybytes()[offsets[0]: offsets[-1]]


def _count(data: bytes, known: KnownIdentifiers | None) -> Counter[str]:
    return Counter(kind for _, kind in _findings(_tokens(data)[1], known))


def _tokens(data: bytes) -> tuple[np.ndarray, pa.Array]:
    """Where each token of `data` starts, and the tokens upper-cased (`linkage/_tokens.c`: a run of at least six
    letters or digits, optionally followed by one separator and exactly four more)."""
    starts, offsets, values = tokens(data)
    found = np.frombuffer(starts, dtype=np.int64)
    return found, pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(found),
                                                   [None, pa.py_buffer(offsets), pa.py_buffer(values)])


def _findings(raw_tokens: pa.Array, known: KnownIdentifiers | None) -> list[tuple[int, str]]:
    """(token index, kind) of every token that is identifying, in token order."""
    if not len(raw_tokens):
        return []
    tokens = _normalise(raw_tokens)
    lengths = pc.binary_length(tokens)
    candidates = pc.and_(pc.is_in(lengths, pa.array([10, 12], pa.int64())), _digit_keys_mask(tokens))
    rows = np.flatnonzero(candidates.to_numpy(zero_copy_only=False))
    found = [(int(row), kind) for row, digits in zip(rows, tokens.filter(candidates).to_pylist(), strict=True)
             if (kind := _shape_kind(digits))]
    if known is not None and len(known):
        found += [(int(row), INPUT_IDENTIFIER) for row in np.flatnonzero(known.matches(_canonical(tokens)))]
    return sorted(found)


def _shape_kind(digits: bytes) -> str | None:
    """PERSONNUMMER or SAMORDNINGSNUMMER when 10 or 12 digits could be one (date part, Luhn), else None."""
    if len(digits) == 12:
        if digits[:2] not in _CENTURIES:
            return None
        digits = digits[2:]
    month, day = int(digits[2:4]), int(digits[4:6])
    coordination = 60 <= day <= 91
    if not (1 <= day <= 31 or coordination) or not (1 <= month <= 12 or (month == 0 and coordination)):
        return None
    if check_digit(digits[:9].decode("ascii")) != digits[9] - 48:
        return None
    return SAMORDNINGSNUMMER if coordination else PERSONNUMMER


def _first_line(data: bytes, known: KnownIdentifiers | None) -> int:
    """The 1-based line of the first finding (looked for only once something was found)."""
    starts, raw_tokens = _tokens(data)
    found = _findings(raw_tokens, known)
    return data.count(b"\n", 0, int(starts[found[0][0]])) + 1 if found else 1


def _redacted(text: str, known: KnownIdentifiers | None) -> str:
    """`text` (a file name) with every identifying token withheld, so that a message can name the file."""
    data = text.encode("utf-8")
    starts, raw_tokens = _tokens(data)
    lengths = pc.binary_length(raw_tokens).to_numpy()
    for row, _kind in reversed(_findings(raw_tokens, known)):
        data = data[:starts[row]] + b"[withheld]" + data[starts[row] + lengths[row]:]
    return data.decode("utf-8", errors="replace")


def _as_binary(values: Iterable[str] | pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array([None if v is None else str(v) for v in values], pa.string())
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = _as_text(values)
    return pc.cast(values.drop_null(), pa.large_binary())


def _normalise(values: pa.Array) -> pa.Array:
    """Upper-case letters and digits only: separators and whitespace removed (`-`, `+` and space fast, the rest
    in Python, being rare)."""
    if not pc.all(_is_alnum(values)).as_py():
        for separator in (b"-", b"+", b" "):
            values = pc.replace_substring(values, separator, b"")
        rest = pc.invert(_is_alnum(values))
        if pc.any(rest).as_py():
            cleaned = [_NOT_ALNUM.sub("", value.decode("utf-8", errors="replace")).encode("ascii")
                       for value in values.filter(rest).to_pylist()]
            values = pc.replace_with_mask(values, rest, pa.array(cleaned, pa.large_binary()))
    return pc.cast(pc.ascii_upper(pc.cast(values, pa.large_string(), safe=False)), pa.large_binary())


def _is_alnum(values: pa.Array) -> pa.Array:
    """True where a value is letters and digits only (the empty value counts as such)."""
    text = pc.cast(values, pa.large_string(), safe=False)
    return pc.or_(pc.ascii_is_alnum(text), pc.equal(pc.binary_length(values), 0))


def _canonical(values: pa.Array) -> pa.Array:
    """Twelve characters whose first eight are digits lose their first two (the century): one form to compare."""
    text = pc.cast(values, pa.large_string(), safe=False)
    dated = pc.and_(pc.equal(pc.binary_length(values), 12),
                    pc.ascii_is_decimal(pc.utf8_slice_codeunits(text, 0, 8)))
    return pc.cast(pc.if_else(dated, pc.utf8_slice_codeunits(text, 2), text), pa.large_binary())


def _digit_keys_mask(values: pa.Array) -> pa.Array:
    text = pc.cast(values, pa.large_string(), safe=False)
    return pc.fill_null(pc.and_(pc.ascii_is_decimal(text), pc.less_equal(pc.binary_length(values), _MAX_DIGIT_KEY)),
                        False)


def _int_keys(digits: pa.Array) -> np.ndarray:
    """value * 32 + length for digit strings of at most 17 characters (so '0123' and '123' differ)."""
    if len(digits) == 0:
        return np.zeros(0, dtype=np.int64)
    numbers = pc.cast(pc.cast(digits, pa.large_string(), safe=False), pa.int64()).to_numpy()
    return numbers * 32 + pc.binary_length(digits).to_numpy().astype(np.int64)
