"""Which kind of identifier a value is: personnummer, samordningsnummer, reserve, interim, organisationsnummer.

Formats from domain.md §1.5 (Inera "Lokala reservidentiteter", Socialstyrelsen's term bank), §1.6 (personnummer
spec v3.1 interim numbers, IVO's EVB reporting, the placement register's municipal temporary IDs) and §1.7
(organisationsnummer, lag (1974:174)). Only a personnummer or samordningsnummer gets a canonical form; the other
kinds still yield the birth date and sex they encode, which linkage uses as evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from pseudonym.luhn import check_digit
from pseudonym.personnummer import (
    CENTURIES, FIRST_YEAR, LAST_YEAR, Digits, as_text, date_key, days_in_month, infer_year,
    read_personnummer, reference, split_digits,
)

# Interim (T-)number, personnummer spec v3.1: YYMMDD-Xnnn or YYYYMMDD-Xnnn (separator optional), the letter
# counting 1 in the Luhn sum.
_INTERIM = re.compile(r"([0-9]{2})?([0-9]{6})-?([TRSUWXJKLMN])([0-9]{2})([0-9])")
# VGR reserve number yyyymmddGggC: G = K/M/X, gg 06-89, Luhn over YYMMDD G gg with K=5, M=7, X=8.
_VGR = re.compile(r"([0-9]{8})([KMX])([0-9]{2})([0-9])")
_VGR_LETTER = {"K": 5, "M": 7, "X": 8}
# Municipal temporary ID / IVO-YH style YYYYMMDD-TXNN: no check digit, the third of the last four carries sex.
_TEMPORARY = re.compile(r"([0-9]{8})-T[0-9A-Z]([0-9])[0-9]")
# Värmland reserve number yyyymmddABNC: A = S, B type (F known date, U, X, P, L), N sex, C a letter other than V.
_VARMLAND = re.compile(r"([0-9]{8})S([FUXPL])([0-9])[A-UW-Z]")
# Region Skåne and Socialstyrelsen's recommendation: the birth date and four characters with at least one letter.
_DATED_RESERVE = re.compile(r"([0-9]{8})-?([0-9A-Z]{4})")
_LETTER = re.compile(r"[A-Z]")


@dataclass(frozen=True, slots=True, repr=False)
class Identified:
    """What one identifier value is and the facts it carries; the scalar twin of a `parse_many` row.

    `canonical` is set for a personnummer or samordningsnummer only; `reason` for kind `invalid` only;
    `birth_date`/`birth_year`/`sex` (0 unknown, 1 man, 2 kvinna) wherever the identifier encodes them.
    Its repr names the kind and reason only, never the number.
    """

    kind: str
    reason: str | None = None
    canonical: str | None = None
    birth_date: date | None = None
    birth_year: int | None = None
    sex: int = 0
    is_samordningsnummer: bool = False

    def __repr__(self) -> str:
        return f"Identified(kind={self.kind!r}, reason={self.reason!r}, <redacted>)"

    __str__ = __repr__


def classify(value: str | int | None, *, reference_date: date | str | None = None) -> str:
    """The kind of an identifier, one of KINDS (see `identify` for the rules and their precedence)."""
    return identify(value, reference_date=reference_date).kind


def identify(value: str | int | None, *, reference_date: date | str | None = None) -> Identified:
    """Classify one identifier and read what it encodes; never raises for a bad value (kind `invalid`, a reason).

    Precedence, first match wins:
    1. personnummer / samordningsnummer (see `pseudonym.personnummer.parse`);
    2. the all-digit kinds, which cannot overlap a valid personnummer or each other: organisationsnummer (10 digits
       or `16`+10, "month" digits >= 20, Luhn), SLL reserve `99yyyyNNNNNC` (yyyy 1980-2299, Luhn over positions
       5-11), Inera Carelink reserve `yyyymmxxNNNC` (xx 32-59, Luhn over YYMMxxNNN like a personnummer);
    3. interim T-number whose Luhn holds (letter T, R, S, U, W, X, J, K, L, M or N counted as 1);
    4. VGR reserve `yyyymmddGggC` whose Luhn holds (K=5, M=7, X=8). A K/M/X string is both an interim and a VGR
       shape; the two Luhn sums then differ (the letter adds 2 as interim, 1, 5 or 7 as VGR), so at most one
       check digit holds and it decides;
    5. municipal temporary ID or IVO/YH number `YYYYMMDD-TXNN` (no check digit) -> interim;
    6. Värmland reserve `yyyymmddSBNC`;
    7. any other birth date `yyyymmdd` + four characters with at least one letter (Region Skåne) -> reserve;
    8. otherwise `invalid`, with the reason the value failed as a personnummer (`format` if not shaped like one).
    Letters are matched case-insensitively; any non-ASCII character makes a value `invalid` (`format`). Every
    embedded birth date must exist, lie in 1800-2099 and not after the reference date (None means today).
    """
    text = as_text(value)
    if not text:
        return _invalid("empty")
    return identify_text(text, reference(reference_date))


def identify_text(text: str, ref: date) -> Identified:
    """`identify` for stripped, non-empty text and a resolved reference date."""
    if not text.isascii():
        return _invalid("format")
    parts = split_digits(text)
    if parts is None:
        return lettered_kind(text.upper(), ref) or _invalid("format")
    reason, number = read_personnummer(parts, ref)
    if number is not None:
        return Identified(
            kind="samordningsnummer" if number.is_samordningsnummer else "personnummer",
            canonical=number.canonical, birth_date=number.birth_date, birth_year=number.birth_year,
            sex=number.sex, is_samordningsnummer=number.is_samordningsnummer,
        )
    return numeric_kind(parts, ref) or _invalid(reason)


def numeric_kind(parts: Digits, ref: date) -> Identified | None:
    """Organisationsnummer, SLL or Carelink reserve number among personnummer-shaped digits, else None."""
    luhn_holds = check_digit(parts.core[:9]) == parts.check
    if parts.separator != "+" and parts.century in (None, 16) and parts.mm >= 20 and luhn_holds:
        return Identified(kind="organisationsnummer")
    if parts.separator or parts.century is None:
        return None
    if (parts.century == 99 and 1980 <= int(parts.core[0:4]) <= 2299
            and check_digit(parts.core[2:9]) == parts.check):
        return Identified(kind="reserve")
    year = parts.century * 100 + parts.yy
    if (parts.century in CENTURIES and 1 <= parts.mm <= 12 and 32 <= parts.dd <= 59 and luhn_holds
            and date_key(year, parts.mm, 0) <= date_key(ref.year, ref.month, ref.day)):
        return Identified(kind="reserve", birth_year=year)
    return None


def lettered_kind(text: str, ref: date) -> Identified | None:
    """Interim number, temporary ID or reserve number in upper-case ASCII text, else None."""
    if m := _INTERIM.fullmatch(text):
        century, yymmdd, _letter, nn, check = m.groups()
        born = embedded_date(century, yymmdd, ref)
        if born and check_digit([*map(int, yymmdd), 1, *map(int, nn)]) == int(check):
            return _dated("interim", born, _parity_sex(nn[1]))
    if m := _VGR.fullmatch(text):
        yyyymmdd, letter, gg, check = m.groups()
        born = embedded_date(yyyymmdd[:2], yyyymmdd[2:], ref)
        luhn = check_digit([*map(int, yyyymmdd[2:]), _VGR_LETTER[letter], *map(int, gg)])
        if born and 6 <= int(gg) <= 89 and luhn == int(check):
            return _dated("reserve", born, _parity_sex(gg[1]) if int(gg) <= 79 else 0)
    if m := _TEMPORARY.fullmatch(text):
        yyyymmdd, sex_digit = m.groups()
        if born := embedded_date(yyyymmdd[:2], yyyymmdd[2:], ref):
            return _dated("interim", born, _parity_sex(sex_digit))
    if m := _VARMLAND.fullmatch(text):
        yyyymmdd, kind_letter, sex_digit = m.groups()
        sex = 0 if sex_digit in "01" else _parity_sex(sex_digit)
        if kind_letter != "F":  # no known birth date: the date digits carry nothing to check
            return Identified(kind="reserve", sex=sex)
        if born := embedded_date(yyyymmdd[:2], yyyymmdd[2:], ref):
            return _dated("reserve", born, sex)
    if (m := _DATED_RESERVE.fullmatch(text)) and _LETTER.search(m.group(2)):
        if born := embedded_date(m.group(1)[:2], m.group(1)[2:], ref):
            return _dated("reserve", born, 0)
    return None


def embedded_date(century: str | None, yymmdd: str, ref: date) -> date | None:
    """The real birth date in YYMMDD (century inferred as for a personnummer when None), or None if impossible."""
    yy, month, day = int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    year = infer_year(yy, month * 100 + day, False, ref) if century is None else int(century) * 100 + yy
    if (not FIRST_YEAR <= year <= LAST_YEAR or not 1 <= day <= days_in_month(year, month)
            or date_key(year, month, day) > date_key(ref.year, ref.month, ref.day)):
        return None
    return date(year, month, day)


def _dated(kind: str, born: date, sex: int) -> Identified:
    return Identified(kind=kind, birth_date=born, birth_year=born.year, sex=sex)


def _parity_sex(digit: str) -> int:
    """SCB sex code from a sex-carrying digit: odd 1 (man), even 2 (kvinna)."""
    return 1 if int(digit) % 2 else 2


def _invalid(reason: str) -> Identified:
    return Identified(kind="invalid", reason=reason)
