"""Identifier parsing for whole columns: numpy over a fixed-width byte matrix built from Arrow string buffers.

Row semantics equal `pseudonym.kinds.identify` exactly (a property test holds them together). Personnummer,
samordningsnummer and the all-digit kinds (organisationsnummer, SLL and Carelink reserve numbers) are decided
without a Python loop; only the rare values with letters (interim, temporary and reserve numbers) go through the
scalar rules one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pseudonym.kinds import Identified, lettered_kind
from pseudonym.luhn import check_digits
from pseudonym.personnummer import FIRST_YEAR, KINDS, LAST_YEAR, REASONS, as_text, reference

# Exactly the characters Python's str.strip() removes, so trimming here equals the scalar functions' strip().
_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
               "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_WIDTH = 13  # the longest identifier form, YYYYMMDD-NNNC
_KIND = {name: np.int8(i) for i, name in enumerate(KINDS)}
_REASON = {name: np.int8(i) for i, name in enumerate(REASONS)}
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0], dtype=np.int32)
_NAT = np.iinfo(np.int64).min  # the int64 behind NaT
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Days since 1970-01-01 of the first of each month, FIRST_YEAR-01 to LAST_YEAR-12.
_MONTH_STARTS = np.arange(f"{FIRST_YEAR}-01", f"{LAST_YEAR + 1}-01", dtype="datetime64[M]").astype(
    "datetime64[D]").astype(np.int64)


@dataclass(frozen=True, eq=False)
class ParsedIds:
    """Parsed identifiers, numpy arrays of length n.

    canonical: S12, b"" unless kind is personnummer/samordningsnummer; kind: int8 index into KINDS; reason: int8
    index into REASONS, -1 where kind is not invalid; birth_date: datetime64[D], NaT where unknown; sex: int8,
    0 unknown, 1 man, 2 kvinna; is_samordningsnummer: bool; birth_year: int16, 0 where unknown.
    """

    canonical: np.ndarray
    kind: np.ndarray
    reason: np.ndarray
    birth_date: np.ndarray
    sex: np.ndarray
    is_samordningsnummer: np.ndarray
    birth_year: np.ndarray

    def __post_init__(self) -> None:
        for array in (self.canonical, self.kind, self.reason, self.birth_date, self.sex,
                      self.is_samordningsnummer, self.birth_year):
            array.flags.writeable = False

    def __len__(self) -> int:
        return len(self.kind)

    def __repr__(self) -> str:
        return f"ParsedIds(<{len(self)} rows, redacted>)"

    def to_frame(self, index: pd.Index | None = None) -> pd.DataFrame:
        """The `parse_many` DataFrame: canonical (string), kind and reason (categorical), birth_date, birth_year,
        sex, is_samordningsnummer."""
        n = len(self)
        has_canonical = self.canonical != b""
        canonical = pc.if_else(
            pa.array(has_canonical),
            pa.Array.from_buffers(pa.binary(12), n, [None, pa.py_buffer(np.ascontiguousarray(self.canonical))])
            .cast(pa.string()),
            pa.scalar(None, pa.string()),
        )
        return pd.DataFrame(
            {
                "canonical": pd.arrays.ArrowStringArray(canonical),
                "kind": pd.Categorical.from_codes(self.kind, categories=list(KINDS)),
                "reason": pd.Categorical.from_codes(self.reason, categories=list(REASONS)),
                "birth_date": self.birth_date.astype("datetime64[ns]"),
                "birth_year": pd.arrays.IntegerArray(self.birth_year.astype(np.int16), self.birth_year == 0),
                "sex": pd.arrays.IntegerArray(self.sex.astype(np.int8), self.sex == 0),
                "is_samordningsnummer": self.is_samordningsnummer,
            },
            index=pd.RangeIndex(n) if index is None else index,
        )


def parse_many(values, *, reference_date=None) -> pd.DataFrame:
    """Parse a column of identifiers into one row per value (see `ParsedIds.to_frame` for the columns).

    values: pandas Series, pyarrow Array/ChunkedArray, numpy array or list; None/NaN count as empty. reference_date:
    None (today), a date or ISO string, or a per-row Series/array of dates (a missing one means today). The index
    is the Series' index, else a RangeIndex.
    """
    return parse_arrays(values, reference_date=reference_date).to_frame(_index_of(values))


def normalize_many(values, *, reference_date=None) -> pd.Series:
    """The canonical 12-digit form of each personnummer/samordningsnummer, NA for every other value."""
    frame = parse_many(values, reference_date=reference_date)
    return frame["canonical"].rename(None)


def classify_many(values, *, reference_date=None) -> pd.Series:
    """The kind of each identifier, a categorical over KINDS."""
    frame = parse_many(values, reference_date=reference_date)
    return frame["kind"].rename(None)


def parse_arrays(values, *, reference_date=None) -> ParsedIds:
    """The engine behind `parse_many`: classify and parse a column of identifiers into numpy arrays."""
    text = as_arrow_text(values)
    n = len(text)
    ref_y, ref_m, ref_d = _reference_arrays(reference_date, values, n)
    ref_key = ref_y * 10000 + ref_m * 100 + ref_d
    trimmed = pc.utf8_trim(text, _WHITESPACE).fill_null("")
    length = np.asarray(pc.binary_length(trimmed), dtype=np.int32)
    fits = (length >= 10) & (length <= _WIDTH)
    if fits.any():
        fits &= np.asarray(pc.string_is_ascii(trimmed), dtype=bool)
    # Columns of the right-aligned text: the last four are always rows 9-12, a separator row 8.
    cols = np.ascontiguousarray(_right_aligned(trimmed, fits, n).T)
    digit = cols - np.uint8(48)  # wraps for a non-digit, so `<= 9` tests for a digit
    isdig = digit <= 9
    width = length * fits
    has_sep = (width == 11) | (width == 13)
    plus = has_sep & (cols[8] == ord("+"))
    has_century = width >= 12
    shaped = fits & np.logical_and.reduce(isdig[3:8]) & np.logical_and.reduce(isdig[9:13]) & (
        (has_sep & (plus | (cols[8] == ord("-"))) & isdig[2] & ((width == 11) | (isdig[1] & isdig[0])))
        | (~has_sep & isdig[8] & ((width == 10) | (isdig[2] & isdig[1])))
    )

    ymd = _pick(has_sep, digit[2:8], digit[3:9])  # YYMMDD as six digit rows
    is13 = width == 13
    century = _number(_pick(is13, digit[0], digit[1]), _pick(is13, digit[1], digit[2]))
    yy, mm, dd = _number(ymd[0], ymd[1]), _number(ymd[2], ymd[3]), _number(ymd[4], ymd[5])
    nnn = digit[9].astype(np.int32) * 100 + digit[10] * np.int32(10) + digit[11]
    check = digit[12]
    luhn_holds = check_digits(np.concatenate([ymd, digit[9:12]]).T) == check

    sam = (dd >= 60) & (dd <= 91)
    day = dd - 60 * sam  # with month 00 the key YYYY00DD is never after a reference date of the same year
    year = _infer_years(yy, mm * 100 + day, plus, ref_y, ref_key)
    year += (century * 100 + yy - year) * has_century

    bad_format = shaped & (
        (has_century & ((century < 18) | (century > 20) | (plus & (ref_y - year < 100)))) | (nnn == 0))
    bad_checksum = shaped & ~bad_format & ~luhn_holds
    dim = _days_in_month(year, mm)
    real_day = (day >= 1) & (day <= dim)
    date_ok = ((year >= FIRST_YEAR) & (year <= LAST_YEAR) & (year * 10000 + mm * 100 + day <= ref_key)
               & (mm <= 12) & (sam | ((mm >= 1) & real_day)))
    valid = shaped & ~bad_format & ~bad_checksum & date_ok

    kind = np.full(n, _KIND["invalid"], dtype=np.int8)
    kind[valid] = sam[valid]  # KINDS[0] personnummer, KINDS[1] samordningsnummer
    reason = np.full(n, _REASON["format"], dtype=np.int8)
    reason[length == 0] = _REASON["empty"]
    reason[bad_checksum] = _REASON["checksum"]
    reason[shaped & ~bad_format & ~bad_checksum & ~date_ok] = _REASON["date"]
    birth_year = (year * valid).astype(np.int16)
    sex = ((2 - (nnn & 1)) * valid).astype(np.int8)
    birth_date = _dates(year, mm, day, valid & (mm >= 1) & real_day)

    # All-digit kinds that a failed personnummer may be (see kinds.numeric_kind).
    not_pnr = shaped & ~valid
    if not_pnr.any():
        org = not_pnr & ~plus & (~has_century | (century == 16)) & (mm >= 20) & luhn_holds
        twelve = not_pnr & (width == 12)
        sll = twelve & (century == 99) & (yy * 100 + mm >= 1980) & (yy * 100 + mm <= 2299)
        sll[sll] = check_digits(digit[5:12, sll].T) == check[sll]
        carelink = (twelve & (century >= 18) & (century <= 20) & (mm >= 1) & (mm <= 12) & (dd >= 32)
                    & (dd <= 59) & luhn_holds & (year * 10000 + mm * 100 <= ref_key))
        kind[org] = _KIND["organisationsnummer"]
        kind[sll | carelink] = _KIND["reserve"]
        birth_year[carelink] = year[carelink]

    # Values with letters (interim, temporary and reserve numbers) are rare: the scalar rules decide them.
    rows = np.flatnonzero(fits & ~shaped)
    rows = rows[np.logical_or.reduce((cols[:, rows] | np.uint8(0x20)) - np.uint8(ord("a")) < 26, axis=0)]
    if len(rows):
        texts = trimmed.take(pa.array(rows, type=pa.int64())).to_pylist()
        decided: dict[tuple[str, date], Identified | None] = {}
        found = [decided[key] if key in decided else decided.setdefault(key, lettered_kind(key[0].upper(), key[1]))
                 for key in zip(texts, _row_dates(ref_y, ref_m, ref_d, rows))]
        hits = [j for j, f in enumerate(found) if f is not None]
        at = rows[hits]
        kind[at] = [_KIND[found[j].kind] for j in hits]
        sex[at] = [found[j].sex for j in hits]
        birth_year[at] = [found[j].birth_year or 0 for j in hits]
        birth_date[at] = np.array([_days(found[j].birth_date) for j in hits], dtype=np.int64).view("M8[D]")

    reason[kind != _KIND["invalid"]] = -1
    return ParsedIds(
        canonical=_canonical(year, ymd, cols, valid),
        kind=kind,
        reason=reason,
        birth_date=birth_date,
        sex=sex,
        is_samordningsnummer=valid & sam,
        birth_year=birth_year,
    )


def _pick(condition: np.ndarray, if_true: np.ndarray, if_false: np.ndarray) -> np.ndarray:
    """np.where for uint8 digit rows, by wrapping arithmetic (several times faster than np.where here)."""
    return if_false + (if_true - if_false) * condition.view(np.uint8)


def _number(tens: np.ndarray, units: np.ndarray) -> np.ndarray:
    """A two-digit number (int32) from its digit rows."""
    return tens.astype(np.int32) * 10 + units


def _days(day: date | None) -> int:
    """Days since 1970-01-01 (the int64 behind datetime64[D]); NaT for None."""
    return _NAT if day is None else day.toordinal() - _EPOCH_ORDINAL


def _row_dates(ref_y, ref_m, ref_d, rows: np.ndarray) -> list[date]:
    """The reference dates of the given rows, as Python dates."""
    if np.ndim(ref_y) == 0:
        return [date(int(ref_y), int(ref_m), int(ref_d))] * len(rows)
    return [date(*ymd) for ymd in zip(ref_y[rows].tolist(), ref_m[rows].tolist(), ref_d[rows].tolist())]


def _infer_years(yy, month_day, plus, ref_y, ref_key):
    """Vectorised `personnummer.infer_year` for 10-digit numbers."""
    latest = ref_y - 100
    year_plus = latest - (latest - yy) % 100
    year = ref_y - (ref_y - yy) % 100
    year -= 100 * (year * 10000 + month_day > ref_key)
    return year + (year_plus - year) * plus


def _days_in_month(year, month):
    """Vectorised `personnummer.days_in_month` (0 outside months 1-12)."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return _DAYS_IN_MONTH[np.clip(month, 0, 13)] + (leap & (month == 2))


def _dates(year, month, day, known):
    """datetime64[D] from year/month/day arrays, NaT where not known."""
    index = ((year - FIRST_YEAR) * 12 + month - 1) * known
    days = _MONTH_STARTS[index] + (day - 1)
    days[~known] = _NAT
    return days.view("datetime64[D]")


def _canonical(year, ymd, cols, valid) -> np.ndarray:
    """S12 canonical numbers YYYYMMDDNNNC for the valid rows, b"" elsewhere."""
    n = len(valid)
    out = np.zeros((12, n), dtype=np.uint8)
    if valid.any():
        century = year // 100
        out[0] = century // 10
        out[1] = century % 10
        out[2:8] = ymd
        out[:8] += np.uint8(48)
        out[8:12] = cols[9:13]
        out *= valid.view(np.uint8)
    return np.ascontiguousarray(out.T).view("S12").reshape(n)


def _right_aligned(trimmed: pa.Array, fits: np.ndarray, n: int) -> np.ndarray:
    """An (n, 13) uint8 matrix of the values that fit, right-aligned and space-padded; blank rows elsewhere."""
    blanked = pc.if_else(pa.array(fits), trimmed, pa.scalar("", trimmed.type))
    padded = pc.ascii_lpad(blanked, width=_WIDTH, padding=" ")
    if n == 0:
        return np.zeros((0, _WIDTH), dtype=np.uint8)
    _, offsets, data = padded.buffers()
    offset_type = np.int64 if pa.types.is_large_string(padded.type) else np.int32
    start = int(np.frombuffer(offsets, dtype=offset_type)[padded.offset])
    return np.frombuffer(data, dtype=np.uint8)[start:start + n * _WIDTH].reshape(n, _WIDTH)


def as_arrow_text(values) -> pa.Array:
    """A column of identifiers as one pyarrow string array (nulls for missing), by the scalar `as_text` rules."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], type=values.type)
    if isinstance(values, pa.Array):
        return _arrow_text(values)
    if isinstance(values, pd.Series | pd.Index):
        series = pd.Series(values)
    else:
        array = np.asarray(values) if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
        if array.ndim != 1:
            raise ValueError("values must be one-dimensional")
        series = pd.Series(array)
    if series.dtype == object:
        try:
            return pa.array(series, type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            return pa.array([as_text(v) for v in series], type=pa.string())
    return as_arrow_text(pa.array(series, from_pandas=True))  # an Arrow-backed Series may give chunks


def _arrow_text(array: pa.Array) -> pa.Array:
    """Arrow strings from an Arrow array of text, UTF-8 bytes, integers or floats (see `personnummer.as_text`)."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        return _arrow_text(array.dictionary_decode())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return array
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return array.cast(pa.string())
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_integer(kind):
        return array.cast(pa.string())
    if pa.types.is_floating(kind):
        floats = np.asarray(array.cast(pa.float64()).fill_null(np.nan), dtype=np.float64)
        missing = np.isnan(floats)
        integral = ~missing & np.isfinite(floats) & (np.abs(floats) < 1e18)
        integral[integral] = floats[integral] == np.trunc(floats[integral])
        ints = pa.array(np.where(integral, floats, 0).astype(np.int64)).cast(pa.string())
        # A non-integral float is never an identifier: any text that matches no form stands for it.
        return pc.if_else(pa.array(integral), ints, pa.array(np.where(missing, None, "."), type=pa.string()))
    raise TypeError(f"identifiers must be text or integers, not {kind}")


def _reference_arrays(reference_date, values, n: int):
    """Reference year, month and day: numpy scalars for one date, int arrays for per-row dates."""
    if reference_date is None or isinstance(reference_date, str | date | np.datetime64):
        ref = reference(reference_date)
        return np.int32(ref.year), np.int32(ref.month), np.int32(ref.day)
    if isinstance(reference_date, pd.Series) and isinstance(values, pd.Series):
        if not reference_date.index.equals(values.index):
            raise ValueError("reference_date and values must have the same index")
    if isinstance(reference_date, pa.Array | pa.ChunkedArray):
        reference_date = reference_date.to_pandas()
    if isinstance(reference_date, pd.Series | pd.Index):
        reference_date = reference_date.to_numpy()
    elif not isinstance(reference_date, np.ndarray):
        reference_date = list(reference_date)
    if isinstance(reference_date, np.ndarray) and reference_date.dtype.kind == "M":  # dates already: numpy alone
        return _year_month_day(reference_date, n)
    dates = pd.to_datetime(pd.Series(reference_date))
    if len(dates) != n:
        raise ValueError(f"reference_date has {len(dates)} dates for {n} values")
    dates = dates.fillna(pd.Timestamp(date.today()))
    return (dates.dt.year.to_numpy(np.int32), dates.dt.month.to_numpy(np.int32), dates.dt.day.to_numpy(np.int32))


def _year_month_day(days: np.ndarray, n: int):
    """Year, month and day of datetime64 values (today where NaT) as int32 arrays."""
    if len(days) != n:
        raise ValueError(f"reference_date has {len(days)} dates for {n} values")
    days = days.astype("datetime64[D]")
    days = np.where(np.isnat(days), np.datetime64(date.today(), "D"), days)
    months = days.astype("datetime64[M]")
    return ((days.astype("datetime64[Y]").astype(np.int64) + 1970).astype(np.int32),
            (months.astype(np.int64) % 12 + 1).astype(np.int32),
            ((days - months.astype("datetime64[D]")).astype(np.int64) + 1).astype(np.int32))


def _index_of(values) -> pd.Index | None:
    return values.index if isinstance(values, pd.Series) else None
