"""Personnummer and samordningsnummer: normalisation, validation and the facts a number carries.

Rules from Skatteverket (18 § and 18 a § folkbokföringslagen; SKV 707), as summarised in domain.md §1.1-§1.3
and §1.9: the check digit is Luhn over the nine digits YYMMDDNNN (never the century); födelsenummer 000 does not
exist; the 9th digit is odd for men and even for women; a samordningsnummer adds 60 to the day and may carry month
00, day 60 (unknown) or a date that does not exist in the calendar; a 10-digit number's century is inferred from a
reference date, and `+` marks a person who turns 100 or more in the reference year.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from pseudonym.errors import PseudonymError
from pseudonym.luhn import check_digit

KINDS: tuple[str, ...] = (
    "personnummer", "samordningsnummer", "reserve", "interim", "organisationsnummer", "invalid",
)
"""Every identifier kind `pseudonym.classify` returns (rules in `pseudonym.kinds`); arrays hold the index."""

REASONS: tuple[str, ...] = ("empty", "format", "date", "checksum")
"""Why a value is not a valid personnummer; checked in the order empty, format, checksum, date (first one wins)."""

_MESSAGES = {
    "empty": "empty value where a personnummer was expected",
    "format": "value is not written as a personnummer or samordningsnummer",
    "checksum": "personnummer check digit does not match (Luhn)",
    "date": "personnummer birth date does not exist or lies after the reference date",
}

# Birth years a canonical 12-digit number can carry: Skatteverket stores the centuries 18, 19 and 20.
FIRST_YEAR, LAST_YEAR = 1800, 2099
CENTURIES = (18, 19, 20)

# 10 or 12 digits, optionally a `-` or `+` before the last four; ASCII digits only (\d would admit other scripts).
_SHAPE = re.compile(r"([0-9]{2})?([0-9]{6})([-+]?)([0-9]{4})")


class InvalidPersonnummer(PseudonymError, ValueError):
    """A value that is not a valid personnummer or samordningsnummer; `.reason` is one of REASONS.

    The message names the reason only, never the value, so it is safe in logs and error reports.
    """

    def __init__(self, reason: str) -> None:
        if reason not in _MESSAGES:
            raise ValueError(f"unknown reason {reason!r}")
        self.reason = reason
        super().__init__(_MESSAGES[reason])

    def __reduce__(self):
        return (type(self), (self.reason,))


@dataclass(frozen=True, slots=True, repr=False)
class Personnummer:
    """A valid personnummer or samordningsnummer; repr and str never show the number.

    `birth_date` is the real date (day − 60 for a samordningsnummer) or None where the number's date is incomplete
    or impossible; `birth_year` is always known; `sex` uses SCB's coding, 1 man and 2 kvinna.
    """

    canonical: str
    birth_date: date | None
    birth_year: int
    sex: int
    is_samordningsnummer: bool

    def __repr__(self) -> str:
        return "Personnummer(<redacted>)"

    __str__ = __repr__


def normalize(value: str | int | None, *, reference_date: date | str | None = None) -> str:
    """The canonical 12-digit form `YYYYMMDDNNNC` of a personnummer or samordningsnummer; raises InvalidPersonnummer.

    Accepts 10 or 12 digits with `-`, `+` or no separator; surrounding whitespace is ignored. An int is read by its
    decimal string, so a 10-digit number that starts with 0 (born 2000-2009, written without century) has lost a
    digit and fails as `format`: read identifier columns as text. See `parse` for the century and date rules.
    """
    return parse(value, reference_date=reference_date).canonical


def parse(value: str | int | None, *, reference_date: date | str | None = None) -> Personnummer:
    """Read a personnummer or samordningsnummer; raises InvalidPersonnummer naming the first failed rule.

    Checks, in order: `empty`; `format` (shape, a 12-digit century other than 18/19/20, födelsenummer 000, a `+`
    on a 12-digit number of someone under 100 in the reference year); `checksum` (Luhn over YYMMDDNNN); `date`
    (the date must exist in the calendar, lie in 1800-2099 and not after the reference date; a samordningsnummer's
    unknown or impossible date is accepted and compared by its known parts only).

    Century of a 10-digit number (domain.md §1.3): with `-` or no separator, the latest century that puts the birth
    date on or before `reference_date` (a date, an ISO string, or None for today); with `+`, the latest year ending
    in YY that is at least 100 years before the reference year, because the `+` is written from the calendar year
    the person turns 100 (§1.1), not from the birthday.
    """
    text = as_text(value)
    if not text:
        raise InvalidPersonnummer("empty")
    parts = split_digits(text)
    if parts is None:
        raise InvalidPersonnummer("format")
    reason, number = read_personnummer(parts, reference(reference_date))
    if number is None:
        raise InvalidPersonnummer(reason)
    return number


def as_text(value: object) -> str | None:
    """A raw identifier value as stripped text; None for a missing value (None, NaN, NA, NaT).

    Bytes are read as UTF-8 (as Arrow reads them). An int (not bool) is read by its decimal string; an integral
    float (pandas reads an int column with gaps as float64) as the int it holds; any other float by its repr,
    which is never a valid identifier.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bytes):
        return value.decode("utf-8").strip()
    if isinstance(value, bool | np.bool_):
        raise TypeError("an identifier must be text or an integer, not a bool")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isfinite(value) and value == int(value) and abs(value) < 1e18:
            return str(int(value))
        return repr(value)
    if pd.isna(value) is True:
        return None
    raise TypeError(f"an identifier must be text or an integer, not {type(value).__name__}")


def reference(value: date | datetime | str | np.datetime64 | None) -> date:
    """The reference date for century inference and the not-after check; None (or NaT) means today."""
    if value is None or (not isinstance(value, str) and pd.isna(value) is True):
        return date.today()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[D]").item()
    raise TypeError(f"reference_date must be a date, an ISO date string or None, not {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Digits:
    """The parts of a personnummer-shaped string: optional century, YY MM DD, födelsenummer, check digit."""

    century: int | None
    yy: int
    mm: int
    dd: int
    nnn: int
    check: int
    separator: str
    core: str  # the ten digits YYMMDDNNNC

    @property
    def is_samordningsnummer_day(self) -> bool:
        return 60 <= self.dd <= 91


def split_digits(text: str) -> Digits | None:
    """Split stripped text shaped like a personnummer (10 or 12 digits, optional `-`/`+`), or None."""
    m = _SHAPE.fullmatch(text)
    if m is None:
        return None
    century, yymmdd, separator, last4 = m.groups()
    core = yymmdd + last4
    return Digits(None if century is None else int(century), int(core[0:2]), int(core[2:4]), int(core[4:6]),
                  int(core[6:9]), int(core[9]), separator, core)


def days_in_month(year: int, month: int) -> int:
    """Days in a month of the Gregorian calendar (0 for a month outside 1-12): 2000 was a leap year, 1900 not."""
    if not 1 <= month <= 12:
        return 0
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def date_key(year: int, month: int, day: int) -> int:
    """YYYYMMDD as an int, for comparing a birth date with the reference date.

    An unknown month (00) or day (00, a samordningsnummer's day 60) sorts before every real one, so an incomplete
    date is compared by its known parts only.
    """
    return year * 10000 + month * 100 + day


def infer_year(yy: int, month_day: int, plus: bool, ref: date) -> int:
    """The full birth year of a 10-digit number (see `parse`); month_day is MMDD, 00 for an unknown part."""
    if plus:
        latest = ref.year - 100
        return latest - (latest - yy) % 100
    year = ref.year - (ref.year - yy) % 100
    if date_key(year, 0, month_day) > date_key(ref.year, ref.month, ref.day):
        year -= 100
    return year


def read_personnummer(parts: Digits, ref: date) -> tuple[str | None, Personnummer | None]:
    """(None, number) where the digits are a valid personnummer or samordningsnummer, else (reason, None)."""
    sam = parts.is_samordningsnummer_day
    month = parts.mm
    day = parts.dd - 60 if sam else parts.dd
    plus = parts.separator == "+"
    if parts.century is None:
        year = infer_year(parts.yy, month * 100 + day, plus, ref)
    else:
        year = parts.century * 100 + parts.yy
        if parts.century not in CENTURIES or (plus and ref.year - year < 100):
            return "format", None
    if parts.nnn == 0:
        return "format", None
    if check_digit(parts.core[:9]) != parts.check:
        return "checksum", None
    dim = days_in_month(year, month)
    if sam:
        shape_ok = month <= 12
        known = month >= 1 and 1 <= day <= dim
    else:
        shape_ok = known = 1 <= day <= dim
    if (not shape_ok or not FIRST_YEAR <= year <= LAST_YEAR
            or date_key(year, month, day) > date_key(ref.year, ref.month, ref.day)):
        return "date", None
    return None, Personnummer(
        canonical=f"{year:04d}{parts.core[2:]}",
        birth_date=date(year, month, day) if known else None,
        birth_year=year,
        sex=1 if parts.nnn % 2 else 2,
        is_samordningsnummer=sam,
    )
