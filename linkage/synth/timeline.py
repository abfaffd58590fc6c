"""Dates of the synthetic world as int64 day counts since 1970-01-01 (vectorised arithmetic, no NaT pitfalls).

`NONE` stands for "no date" (never happened, still ongoing) and sorts after every real date.
"""

from __future__ import annotations

from datetime import date

import numpy as np

NONE = np.int64(2**31 - 1)
YEAR = 365.25


def day(value: date) -> int:
    """Day count of a date."""
    return int((np.datetime64(value, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64))


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day (NONE gives 9999)."""
    days = np.asarray(days, dtype=np.int64)
    return np.where(days == NONE, 9999, _civil(days)[0])


def year_start(year: np.ndarray | int) -> np.ndarray:
    """Day of 1 January of `year`."""
    year = np.asarray(year, dtype=np.int64)
    return _days(year, np.ones_like(year), np.ones_like(year))


def year_end(year: np.ndarray | int) -> np.ndarray:
    """Day of 31 December of `year`."""
    return year_start(np.asarray(year) + 1) - 1


def ymd(days: np.ndarray) -> np.ndarray:
    """YYYYMMDD integers."""
    year, month, dom = _civil(np.asarray(days, dtype=np.int64))
    return year * 10000 + month * 100 + dom


def from_ymd(values: np.ndarray) -> np.ndarray:
    """Day counts of YYYYMMDD integers; a day past the month's end rolls over (29 Feb → 1 Mar)."""
    values = np.asarray(values, dtype=np.int64)
    return _days(values // 10000, values // 100 % 100, np.ones_like(values)) + values % 100 - 1


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of day counts: H. Hinnant's civil_from_days, integer arithmetic only."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def _days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Day counts of (year, month, day): H. Hinnant's days_from_civil."""
    year = year - (month <= 2)
    era = year // 400
    yoe = year - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def birthday(birth: np.ndarray, age: int | np.ndarray) -> np.ndarray:
    """Day of the `age`-th birthday."""
    return from_ymd(ymd(birth) + np.asarray(age, dtype=np.int64) * 10000)


def to_datetime64(days: np.ndarray) -> np.ndarray:
    """datetime64[ns] with NaT for NONE."""
    days = np.asarray(days, dtype=np.int64)
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    out[days == NONE] = np.datetime64("NaT")
    return out


def iso(days: np.ndarray) -> np.ndarray:
    """`YYYY-MM-DD` strings (object array), None for NONE."""
    return _text(days, "%Y-%m-%d")


def compact(days: np.ndarray) -> np.ndarray:
    """`YYYYMMDD` strings (object array), None for NONE."""
    return _text(days, "%Y%m%d")


def _text(days: np.ndarray, fmt: str) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    out = np.full(len(days), None, dtype=object)
    real = days != NONE
    if real.any():
        value = ymd(days[real])
        y, m, d = value // 10000, value // 100 % 100, value % 100
        parts = (np.char.zfill(y.astype(str), 4), np.char.zfill(m.astype(str), 2), np.char.zfill(d.astype(str), 2))
        sep = "-" if fmt == "%Y-%m-%d" else ""
        out[real] = np.char.add(np.char.add(np.char.add(np.char.add(parts[0], sep), parts[1]), sep), parts[2])
    return out
