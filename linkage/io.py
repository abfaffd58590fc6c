"""Reading register files as they arrive and writing tables atomically.

Register exports come as CSV (`,` or `;`, UTF-8 with or without BOM, or latin-1/cp1252 from
Swedish Windows systems and SAS), Parquet, Stata or SAS. Every CSV column is read as text, so
identifiers keep their leading zeros; typing is the codebook's job. Errors name the file, row and
column, never a value.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from linkage.atomic import atomic_file
from linkage.errors import InputError, OutputError, ReglinkError

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
STATA_SUFFIXES = {".dta"}
SAS_SUFFIXES = {".sas7bdat", ".xpt"}
SPSS_SUFFIXES = {".sav"}
READABLE = CSV_SUFFIXES | PARQUET_SUFFIXES | STATA_SUFFIXES | SAS_SUFFIXES | SPSS_SUFFIXES
WRITABLE = CSV_SUFFIXES | PARQUET_SUFFIXES

_SNIFF_BYTES = 1 << 16
#: Rows per record batch of `TableBatches` by default.
BATCH_ROWS = 1 << 20
#: Dictionaries this small are kept as they come, used values or not.
_SMALL_DICTIONARY = 1024
#: CSV blocks are sized by bytes: about this many bytes per row gives batches of about `batch_rows` rows.
_CSV_ROW_BYTES = 48
_DELIMITERS = (";", ",", "\t", "|")


@dataclass(frozen=True)
class CsvDialect:
    """What a CSV file turned out to be: how to decode and split it."""

    encoding: str
    delimiter: str
    has_bom: bool = False


@dataclass
class ReadResult:
    """A table read from a file, with the rows that could not be parsed (1-based line numbers)."""

    table: pa.Table
    bad_lines: list[int] = field(default_factory=list)
    dialect: CsvDialect | None = None


def read_table(path: Path | str, *, columns: list[str] | None = None) -> ReadResult:
    """Read a register file into an Arrow table (CSV columns as strings), by its extension."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path.name}: no such file")
    if path.is_dir():
        raise InputError(f"{path.name}: is a folder, not a file")
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        known = ", ".join(sorted(READABLE))
        raise InputError(f"{path.name}: unknown file type '{suffix or '(none)'}' (reglink reads {known})")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: the file is empty")
    if suffix in PARQUET_SUFFIXES:
        result = ReadResult(_read_parquet(path, columns))
    elif suffix in CSV_SUFFIXES:
        result = _read_csv(path, columns)
    else:
        result = ReadResult(_read_pyreadstat(path, suffix, columns))
    if result.table.num_rows == 0:
        raise InputError(f"{path.name}: has a header but no data rows")
    return result


def read_whole_table(path: Path | str, *, columns: list[str] | None = None) -> pa.Table:
    """Read a file whose every line must parse (reference data, a file to pseudonymise): a bad line is an error."""
    result = read_table(path, columns=columns)
    if result.bad_lines:
        raise InputError(
            f"{Path(path).name}: line {result.bad_lines[0]}: wrong number of fields "
            f"({len(result.bad_lines)} such line(s))"
        )
    return result.table


def read_frame(path: Path | str, *, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a register file into a pandas DataFrame; unparseable rows are an error."""
    return read_whole_table(path, columns=columns).to_pandas()


class TableBatches:
    """A register file as Arrow tables of about `batch_rows` rows, each with its rows' 1-based numbers in the file
    (header not counted), so memory stays bounded however large the file is.

    CSV lines that cannot be split into the header's fields are skipped and collected in `bad` (line number, raw
    text) for the caller to reject; the rows after them keep their true numbers. `columns` reads only those
    columns, in that order (Parquet and CSV skip the others while reading); every name must be in the file. With
    `dictionary`, text columns come dictionary-encoded (each distinct value of a batch held once; Parquet builds
    the dictionaries while reading, CSV text is encoded after it: Arrow's CSV reader building them cost 0.5 to 1.3
    s more on 18 million rows than plain text encoded whole). Stata, SAS and SPSS files are read whole, as one
    batch.
    """

    def __init__(self, path: Path | str, *, batch_rows: int | None = None, columns: Iterable[str] | None = None,
                 dictionary: bool = False):
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"{self.path.name}: no such file (expected at {self.path.parent.name}/{self.path.name})")
        self.batch_rows = batch_rows or BATCH_ROWS
        self.columns = None if columns is None else list(dict.fromkeys(columns))
        self.dictionary = dictionary
        self.bad: list[tuple[int, str]] = []
        self._good = 0

    def __iter__(self) -> Iterator[tuple[pa.Table, np.ndarray]]:
        suffix = self.path.suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            reader = self._parquet()
        elif suffix in CSV_SUFFIXES:
            reader = self._csv()
        else:
            reader = iter([read_table(self.path, columns=self.columns).table])
        for batch in reader:
            table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            if self.dictionary:
                table = pa.table({name: _own_dictionary(column) for name, column in zip(table.column_names,
                                                                                        table.columns)})
            if table.num_rows:
                yield table, self._numbers(table.num_rows)

    def _numbers(self, n: int) -> np.ndarray:
        """Row numbers of the next n parsed rows: positions shifted past the bad lines before them."""
        positions = np.arange(self._good + 1, self._good + n + 1, dtype=np.int64)
        self._good += n
        if not self.bad:
            return positions
        bad_rows = np.sort(np.array([line - 1 for line, _ in self.bad], dtype=np.int64))
        good_before = bad_rows - np.arange(1, len(bad_rows) + 1)  # parsed rows before each bad row
        return positions + np.searchsorted(good_before, positions, side="left")

    def _parquet(self) -> Iterator[pa.RecordBatch]:
        try:
            if self.path.stat().st_size == 0:
                raise OSError
            schema = pq.read_schema(self.path)
            if self.columns is not None:
                require_columns(pa.table({n: [] for n in schema.names}), self.columns, source=self.path.name)
            text = [field.name for field in schema if pa.types.is_string(field.type) or pa.types.is_large_string(
                field.type)] if self.dictionary else None
            file = pq.ParquetFile(self.path, read_dictionary=text)
            yield from file.iter_batches(batch_size=self.batch_rows, columns=self.columns)
        except (pa.ArrowInvalid, pa.ArrowIOError, OSError):
            raise InputError(f"{self.path.name}: is not a readable Parquet file (truncated or damaged?)") from None

    def _csv(self) -> Iterator[pa.RecordBatch]:
        if self.path.stat().st_size == 0:
            raise InputError(f"{self.path.name}: the file is empty")
        dialect = sniff_csv(self.path)
        header = _header(self.path, dialect)
        _refuse_duplicate_names(header, self.path)
        if self.columns is not None:
            require_columns(pa.table({n: [] for n in header}), self.columns, source=self.path.name)

        def skip(row: pacsv.InvalidRow) -> str:
            self.bad.append((row.number if row.number is not None else -1, row.text))
            return "skip"

        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(encoding=dialect.encoding, use_threads=False,
                                               block_size=self.batch_rows * _CSV_ROW_BYTES),
                parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=False,
                                                 invalid_row_handler=skip),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in header},
                                                     strings_can_be_null=True, null_values=[""],
                                                     include_columns=self.columns))
            for batch in reader:
                yield _without_bom(batch) if dialect.has_bom else batch
        except (pa.ArrowInvalid, UnicodeDecodeError):
            raise InputError(f"{self.path.name}: could not be parsed as CSV "
                             f"(delimiter '{dialect.delimiter}')") from None


def require_columns(table: pa.Table | pd.DataFrame, names: list[str], *, source: str) -> None:
    """Fail with one line listing what is there when a required column is missing."""
    present = list(table.column_names if isinstance(table, pa.Table) else table.columns)
    missing = [name for name in names if name not in present]
    if missing:
        raise InputError(f"{source}: no column {', '.join(repr(m) for m in missing)} ({_names(present, 'columns present')})")


def _refuse_duplicate_names(header: list[str], path: Path) -> None:
    repeated = sorted(n for n, c in Counter(header).items() if c > 1)
    if repeated:
        raise InputError(f"{path.name}: duplicate column names ({_names(repeated, 'repeated')})")


#: Six digits in a row: part of an identifier, never repeated in a message.
_DIGIT_RUN = re.compile(r"[0-9]{6}")


def _names(names: list, what: str) -> str:
    """Column names for a message — unless one looks like data (a header row missing, so the first data row became
    the names), which is then said instead of repeated."""
    if any(_DIGIT_RUN.search(str(name)) for name in names):
        return f"{len(names)} {what}, named by what looks like data: is the header row missing?"
    return f"{what}: {', '.join(map(str, names))}"


def read_text(path: Path | str, *, what: str, error: type[ReglinkError] = InputError) -> str:
    """A small UTF-8 text file (a configuration, a model, a request), with one-line errors naming it."""
    try:
        return read_bytes(path, what=what, error=error).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{Path(path).name}: cannot be read as UTF-8 text ({type(exc).__name__})") from None


def read_bytes(path: Path | str, *, what: str, error: type[ReglinkError] = InputError) -> bytes:
    """A small file whole (a log, a list, a key), with one-line errors naming it and never its content."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path.name}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path.name}: is a folder, not a {what}") from None
    except OSError as exc:
        raise error(f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})") from None


def sniff_csv(path: Path) -> CsvDialect:
    """Detect encoding (UTF-8, UTF-8 with BOM, else cp1252/latin-1) and delimiter of a CSV file."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise InputError(f"{path.name}: is binary, not a text file")
    has_bom = head.startswith(codecs.BOM_UTF8)
    encoding = "utf-8" if has_bom or _decodes_as_utf8(path) else _single_byte_encoding(path)
    text = head[len(codecs.BOM_UTF8) if has_bom else 0 :].decode(encoding, errors="replace")
    header = text.splitlines()[0] if text.splitlines() else ""
    if not header.strip():
        raise InputError(f"{path.name}: the first line is empty; expected a header")
    counts = {d: _count_outside_quotes(header, d) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        delimiter = ","
    return CsvDialect(encoding=encoding, delimiter=delimiter, has_bom=has_bom)


def write_table(table: pa.Table | pd.DataFrame, path: Path | str, *, overwrite: bool = False) -> Path:
    """Write Parquet or CSV (by extension) atomically, with pinned options so output is reproducible."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITABLE:
        raise OutputError(f"{path.name}: cannot write '{suffix or '(none)'}' (use .parquet or .csv)")
    if path.exists() and not overwrite:
        raise OutputError(f"{path.name}: exists already; choose a new output path")
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    try:
        with atomic_file(path) as tmp:
            if suffix in PARQUET_SUFFIXES:
                write_parquet(table, tmp)
            else:
                pacsv.write_csv(table, tmp, pacsv.WriteOptions(include_header=True, quoting_style="needed"))
    except OSError as exc:
        raise OutputError(f"{path.name}: could not be written ({exc.strerror or type(exc).__name__})") from None
    return path


def write_parquet(table: pa.Table, path: Path, *, unique_columns: Iterable[str] = ()) -> None:
    """Parquet with pinned writer options, so the same table always gives the same bytes.

    Columns in `unique_columns` (identifiers, row numbers: nearly every value distinct) skip dictionary pages,
    which would only cost time there.
    """
    unique = set(unique_columns)
    dictionary = [name for name in table.column_names if name not in unique]
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=1,
        use_dictionary=dictionary or False,
        write_statistics=True,
        version="2.6",
        data_page_version="1.0",
    )


def _read_parquet(path: Path, columns: list[str] | None) -> pa.Table:
    try:
        schema = pq.read_schema(path)
        if columns is not None:
            require_columns(pa.table({n: [] for n in schema.names}), columns, source=path.name)
        return pq.read_table(path, columns=columns)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError):
        raise InputError(f"{path.name}: is not a readable Parquet file (truncated or damaged?)") from None


def _read_csv(path: Path, columns: list[str] | None) -> ReadResult:
    dialect = sniff_csv(path)
    header = _header(path, dialect)
    _refuse_duplicate_names(header, path)
    if columns is not None:
        require_columns(pa.table({n: [] for n in header}), columns, source=path.name)
    bad_lines: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_lines.append(row.number if row.number is not None else -1)
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=dialect.encoding, use_threads=False, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=dialect.delimiter, newlines_in_values=False, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                null_values=[""],
                include_columns=columns,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise InputError(f"{path.name}: could not be parsed as CSV (delimiter '{dialect.delimiter}')") from None
    return ReadResult(_without_bom(table) if dialect.has_bom else table, bad_lines, dialect)


def _own_dictionary(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A text column dictionary-encoded with only the values its rows use. (Parquet's reader grows one dictionary
    over the whole file where a column has no dictionary pages: by the last batch of 20 million rows it would
    hold every value of the file, and each batch would drag it along.)"""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pc.dictionary_encode(column.cast(pa.string()))
    if not pa.types.is_dictionary(column.type) or len(column.dictionary) <= _SMALL_DICTIONARY:
        return column
    indices = column.indices.to_numpy(zero_copy_only=False) if not column.indices.null_count else \
        column.indices.fill_null(0).to_numpy(zero_copy_only=False)
    used = np.bincount(indices, minlength=len(column.dictionary)) > 0
    if used.all():
        return column
    renumbered = (np.cumsum(used) - 1).astype(np.int32)[indices]
    return pa.DictionaryArray.from_arrays(pa.array(renumbered, mask=column.indices.is_null().to_numpy(
        zero_copy_only=False) if column.indices.null_count else None), column.dictionary.filter(pa.array(used)))


def _without_bom(table: pa.Table | pa.RecordBatch) -> pa.Table | pa.RecordBatch:
    """Column names without a byte-order mark (the first one may carry it)."""
    return table.rename_columns([c.lstrip("\ufeff") for c in table.column_names]) if table.num_columns else table


def _read_pyreadstat(path: Path, suffix: str, columns: list[str] | None) -> pa.Table:
    import pyreadstat

    reader = {".dta": pyreadstat.read_dta, ".sav": pyreadstat.read_sav, ".sas7bdat": pyreadstat.read_sas7bdat,
              ".xpt": pyreadstat.read_xport}[suffix]
    try:
        frame, _meta = reader(str(path), usecols=columns)
    except Exception:  # pyreadstat raises its own ReadstatError/PyreadstatError with file details
        raise InputError(f"{path.name}: is not a readable {suffix[1:]} file") from None
    return pa.Table.from_pandas(frame, preserve_index=False)


def _header(path: Path, dialect: CsvDialect) -> list[str]:
    with open(path, encoding=dialect.encoding, errors="replace", newline="") as handle:
        first = handle.readline().lstrip("\ufeff").rstrip("\r\n")
    return [name.strip().strip('"') for name in first.split(dialect.delimiter)]


def _decodes_as_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 22):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _single_byte_encoding(path: Path) -> str:
    """cp1252 where every byte is defined in it (Windows exports), else latin-1 (which decodes anything)."""
    undefined = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            if undefined.intersection(chunk):
                return "latin-1"
    return "cp1252"


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count
