"""Personnummer and samordningsnummer rules (domain.md §1.1-§1.3, the edge cases of §1.9)."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from pseudonym import InvalidPersonnummer, Personnummer, PseudonymError, REASONS, normalize, parse
from pseudonym.luhn import check_digit

REF = date(2024, 6, 30)


def number(digits9: str) -> str:
    """Nine digits YYMMDDNNN with their check digit appended (a generated, never a real, number)."""
    return digits9 + str(check_digit(digits9))


def reason_of(value, reference_date=REF) -> str:
    with pytest.raises(InvalidPersonnummer) as caught:
        parse(value, reference_date=reference_date)
    return caught.value.reason


# --- check digit -----------------------------------------------------------------------------------------------

def test_worked_example_from_skatteverket_checks():
    # 640823-323 has digit sum 36, so check digit 4 (domain.md §1.1).
    assert normalize("640823-3234", reference_date=REF) == "196408233234"
    assert reason_of("640823-3235") == "checksum"


def test_luhn_excludes_the_century():
    assert check_digit("19640823323") != 4  # a Luhn over 11 digits would reject the number
    assert normalize("196408233234", reference_date=REF) == "196408233234"
    assert normalize("19640823-3234", reference_date=REF) == "196408233234"


# --- writings ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("written", [
    "6408233234", "640823-3234", "196408233234", "19640823-3234", "  640823-3234 ", "\t196408233234\n",
    "\u00a0640823-3234\u2003",
])
def test_every_writing_gives_the_canonical_form(written):
    assert normalize(written, reference_date=REF) == "196408233234"


@pytest.mark.parametrize("written", [
    "640823 3234", "640823\u20133234", "640823/3234", "640823.3234", "640823--3234", "64 0823-3234",
    "6408233234-", "19640823 3234", "1964-08-23-3234", "640823-323", "64082332345", "١٩٦٤٠٨٢٣٣٢٣٤",
])
def test_other_separators_and_shapes_are_format_errors(written):
    assert reason_of(written) == "format"


@pytest.mark.parametrize("value", [None, "", "   ", "\n", float("nan")])
def test_missing_values_are_empty(value):
    assert reason_of(value) == "empty"


def test_int_is_read_by_its_decimal_string():
    assert normalize(196408233234, reference_date=REF) == "196408233234"
    assert normalize(6408233234, reference_date=REF) == "196408233234"
    assert normalize(196408233234.0, reference_date=REF) == "196408233234"
    # Born 2000-2009 and written with 10 digits: an int has lost the leading zero (domain.md §1.9 #6).
    assert normalize("0002292399", reference_date=REF) == "200002292399"
    assert reason_of(int("0002292399")) == "format"
    assert reason_of(196408233234.5) == "format"


def test_bytes_are_utf8_text_and_other_types_are_refused():
    assert normalize(b" 640823-3234", reference_date=REF) == "196408233234"
    for value in (True, date(1964, 8, 23), [196408233234]):
        with pytest.raises(TypeError):
            parse(value, reference_date=REF)


def test_birth_number_000_is_a_format_error():
    assert check_digit("150916000") == 6  # the check digit holds: only the födelsenummer is wrong
    assert reason_of("201509160006") == "format"
    assert reason_of("150916-0006") == "format"


@pytest.mark.parametrize("century", ["17", "21", "16", "99", "00"])
def test_twelve_digits_need_century_18_19_or_20(century):
    assert reason_of(century + "6408233234") == "format"


# --- century inference ------------------------------------------------------------------------------------------

def test_century_is_inferred_from_the_reference_date_not_today():
    n = number("000101123")
    assert normalize(n, reference_date=REF) == "20" + n
    assert normalize(n, reference_date="1999-12-31") == "19" + n
    assert normalize(n, reference_date=date(2000, 1, 1)) == "20" + n


def test_birth_date_later_in_the_reference_year_means_the_previous_century():
    assert normalize(number("240701123"), reference_date=REF).startswith("1924")
    assert normalize(number("240630123"), reference_date=REF).startswith("2024")  # born on the reference date
    assert normalize(number("240629123"), reference_date=REF).startswith("2024")


def plus(ten: str) -> str:
    return ten[:6] + "+" + ten[6:]


def test_plus_means_one_hundred_or_more_in_the_reference_year():
    assert normalize("090527+1474", reference_date=REF) == "190905271474"
    birthday_later_this_year = number("240701123")
    # `+` is written from the calendar year the person turns 100, so this is 1924, not 1824.
    assert normalize(plus(birthday_later_this_year), reference_date=REF) == "19" + birthday_later_this_year
    assert normalize(plus(number("240101123")), reference_date=REF) == "19" + number("240101123")
    assert normalize(plus(number("250101123")), reference_date=REF) == "18" + number("250101123")


def test_without_plus_a_centenarian_gets_the_wrong_century():
    # The known limit of 10 digits without separator (domain.md §1.3): prefer 12-digit input.
    assert normalize("0905271474", reference_date=REF) == "200905271474"
    assert normalize("090527+1474", reference_date=REF) == "190905271474"


def test_plus_on_twelve_digits_must_agree_with_the_age():
    assert normalize("19090527+1474", reference_date=REF) == "190905271474"
    assert normalize("19240701+" + number("240701123")[6:], reference_date=REF) == "19" + number("240701123")
    assert reason_of("20000229+2399") == "format"  # 24 years old: a `+` is inconsistent
    assert reason_of("19250101+" + number("250101123")[6:]) == "format"
    assert normalize("19090527-1474", reference_date=REF) == "190905271474"  # `-` on 12 digits: any age


def test_birth_date_after_the_reference_date_is_a_date_error():
    assert reason_of("20" + number("240701123")) == "date"
    assert normalize("20" + number("240630123"), reference_date=REF) == "20" + number("240630123")


def test_reference_date_forms():
    n = "20" + number("240630123")
    for ref in (REF, "2024-06-30", datetime(2024, 6, 30, 12, 0)):
        assert normalize(n, reference_date=ref) == n
    tomorrow = date.today() + timedelta(days=1)
    future = tomorrow.strftime("%Y%m%d") + number(tomorrow.strftime("%y%m%d") + "123")[6:]
    assert reason_of(future, reference_date=None) == "date"
    assert normalize(future, reference_date=tomorrow.isoformat()) == future
    with pytest.raises(ValueError):
        parse(n, reference_date="30/06/2024")


# --- calendar -----------------------------------------------------------------------------------------------------

def test_leap_years():
    assert parse("20000229-2399", reference_date=REF).birth_date == date(2000, 2, 29)  # 2000 was a leap year
    assert reason_of("19" + number("000229123")) == "date"  # 1900 was not
    assert reason_of(number("000229123"), reference_date="1999-06-01") == "date"  # inferred 1900
    assert parse("20" + number("240229123"), reference_date=REF).birth_date == date(2024, 2, 29)
    assert reason_of("20" + number("230229123")) == "date"


@pytest.mark.parametrize("yymmdd", ["641301", "640001", "640800", "640832", "640431", "640230", "640859", "640892"])
def test_impossible_dates_are_date_errors(yymmdd):
    assert reason_of(number(yymmdd + "123")) == "date"


def test_checksum_is_reported_before_the_date():
    wrong_check = number("641301123")[:-1] + str((int(number("641301123")[-1]) + 1) % 10)
    assert reason_of(wrong_check) == "checksum"


# --- facts ----------------------------------------------------------------------------------------------------

def test_sex_comes_from_the_ninth_digit_not_the_check_digit():
    man = number("640823121")  # 9th digit 1
    woman = number("640823122")  # 9th digit 2
    assert parse(man, reference_date=REF).sex == 1
    assert parse(woman, reference_date=REF).sex == 2
    women = [number(f"6408231{i:02d}") for i in range(0, 100, 2)]  # 9th digit even
    odd_check_digit = next(w for w in women if int(w[-1]) % 2)
    assert parse(odd_check_digit, reference_date=REF).sex == 2


def test_parse_returns_the_facts():
    p = parse("640823-3234", reference_date=REF)
    assert isinstance(p, Personnummer)
    assert (p.canonical, p.birth_date, p.birth_year, p.sex, p.is_samordningsnummer) == \
        ("196408233234", date(1964, 8, 23), 1964, 1, False)


# --- samordningsnummer ----------------------------------------------------------------------------------------

def test_samordningsnummer_adds_sixty_to_the_day():
    # The example of domain.md §1.2: a man born 3 October 1970 with individnummer 239.
    p = parse("701063-2391", reference_date=REF)
    assert (p.canonical, p.birth_date, p.birth_year, p.sex, p.is_samordningsnummer) == \
        ("197010632391", date(1970, 10, 3), 1970, 1, True)


@pytest.mark.parametrize("digits", [
    "19150072239",  # month 00: unknown month
    "19171160239",  # day 60: unknown day
    "19000060239",  # both unknown
    "19210289239",  # 29 February in a non-leap year
    "19210991239",  # 31 September
    "19210290239",  # 30 February
])
def test_samordningsnummer_with_incomplete_or_impossible_date_is_accepted(digits):
    written = digits[:2] + number(digits[2:])
    p = parse(written, reference_date=REF)
    assert p.is_samordningsnummer and p.birth_date is None and p.birth_year == int(digits[:4])
    assert p.canonical == written


@pytest.mark.parametrize("yymmdd", ["640892", "640899", "640859", "641361"])
def test_samordningsnummer_day_and_month_limits(yymmdd):
    assert reason_of(number(yymmdd + "239")) == "date"


def test_samordningsnummer_century_uses_only_the_known_parts():
    assert normalize(number("241260239"), reference_date=REF).startswith("1924")  # December 2024 is after June
    assert normalize(number("240060239"), reference_date=REF).startswith("2024")  # year only: 2024 is not after
    assert normalize(number("240660239"), reference_date=REF).startswith("2024")  # June 2024 is not after
    assert reason_of("20" + number("241260239")) == "date"
    assert reason_of("20" + number("250060239")) == "date"


# --- the value and the error ---------------------------------------------------------------------------------

def test_personnummer_is_immutable_and_never_shows_the_number():
    p = parse("640823-3234", reference_date=REF)
    assert repr(p) == str(p) == f"{p}" == "Personnummer(<redacted>)"
    assert "3234" not in repr([p])
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.canonical = "x"  # type: ignore[misc]
    assert p == parse("196408233234", reference_date=REF) and hash(p) == hash(parse("6408233234", reference_date=REF))


def test_invalid_personnummer_is_a_pseudonym_and_value_error():
    err = InvalidPersonnummer("checksum")
    assert isinstance(err, PseudonymError) and isinstance(err, ValueError)
    assert pickle.loads(pickle.dumps(err)).reason == "checksum"
    assert set(REASONS) == {"empty", "format", "date", "checksum"}
    messages = {reason: str(InvalidPersonnummer(reason)) for reason in REASONS}
    assert messages == {
        "empty": "empty value where a personnummer was expected",
        "format": "value is not written as a personnummer or samordningsnummer",
        "checksum": "personnummer check digit does not match (Luhn)",
        "date": "personnummer birth date does not exist or lies after the reference date",
    }


# --- properties ----------------------------------------------------------------------------------------------

@st.composite
def valid_numbers(draw, samordningsnummer=st.booleans()):
    """(canonical, birth date, födelsenummer, samordningsnummer?) of generated valid numbers, born before REF."""
    born = draw(st.dates(min_value=date(1850, 1, 1), max_value=REF))
    nnn = draw(st.integers(1, 999))
    sam = draw(samordningsnummer)
    digits9 = f"{born:%y%m}{born.day + 60 * sam:02d}{nnn:03d}"
    return f"{born.year // 100}{number(digits9)}", born, nnn, sam


def writings(canonical: str, born: date) -> list[str]:
    """The ways a number can be written that must read back as `canonical` relative to REF."""
    short, long_ = canonical[2:], canonical
    out = [long_, long_[:8] + "-" + long_[8:], f" {long_}\t"]
    if REF.year - born.year >= 100:
        out += [long_[:8] + "+" + long_[8:], short[:6] + "+" + short[6:]]
    if born > date(REF.year - 100, REF.month, REF.day):
        out += [short, short[:6] + "-" + short[6:], f"\n{short[:6]}-{short[6:]}  "]
    return out


@given(valid_numbers())
def test_every_writing_of_a_valid_number_normalises_to_one_canonical(drawn):
    canonical, born, nnn, sam = drawn
    for written in writings(canonical, born):
        assert normalize(written, reference_date=REF) == canonical, written
    p = parse(canonical, reference_date=REF)
    assert p.birth_year == born.year and p.sex == (1 if nnn % 2 else 2) and p.is_samordningsnummer == sam
    assert p.birth_date == born


@given(st.one_of(st.text(max_size=16), st.text("0123456789-+ ", max_size=14),
                 valid_numbers().map(lambda d: d[0][2:])))
def test_normalisation_is_idempotent(value):
    try:
        canonical = normalize(value, reference_date=REF)
    except InvalidPersonnummer:
        return
    assert normalize(canonical, reference_date=REF) == canonical
    assert len(canonical) == 12 and canonical.isdigit()


@given(valid_numbers(), st.integers(2, 11), st.integers(1, 9))
def test_any_single_digit_change_is_caught(drawn, position, shift):
    canonical = drawn[0]
    changed = canonical[:position] + str((int(canonical[position]) + shift) % 10) + canonical[position + 1:]
    # Luhn detects every single-digit substitution in YYMMDDNNNC (the century is outside the check by design).
    with pytest.raises(InvalidPersonnummer):
        parse(changed, reference_date=REF)


@given(st.one_of(
    st.text(max_size=20),
    st.text("0123456789-+ ", min_size=8, max_size=14),
    st.tuples(valid_numbers(), st.integers(0, 11), st.sampled_from("0123456789-+ x")).map(
        lambda t: t[0][0][:t[1]] + t[2] + t[0][0][t[1] + 1:]),
))
def test_error_messages_never_contain_the_input_digits(value):
    try:
        parse(value, reference_date=REF)
    except InvalidPersonnummer as err:
        shown = str(err) + repr(err) + "".join(map(str, err.args))
        assert not any(ch.isdigit() for ch in shown)
        assert err.reason in REASONS
