"""Classification of identifier kinds (domain.md §1.5 reserve numbers, §1.6 interim numbers, §1.7 org numbers)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, strategies as st

from pseudonym import KINDS, classify, identify
from pseudonym.luhn import check_digit

REF = date(2024, 6, 30)


def kind(value) -> str:
    return classify(value, reference_date=REF)


def facts(value) -> tuple:
    found = identify(value, reference_date=REF)
    return found.kind, found.birth_date, found.birth_year, found.sex


def test_kinds():
    assert KINDS == ("personnummer", "samordningsnummer", "reserve", "interim", "organisationsnummer", "invalid")


def test_personnummer_and_samordningsnummer():
    assert facts("640823-3234") == ("personnummer", date(1964, 8, 23), 1964, 1)
    assert facts("701063-2391") == ("samordningsnummer", date(1970, 10, 3), 1970, 1)
    assert identify("701063-2391", reference_date=REF).canonical == "197010632391"


def test_invalid_values_carry_the_personnummer_reason():
    assert identify("640823-3235", reference_date=REF).reason == "checksum"
    assert identify("hello", reference_date=REF).reason == "format"
    assert identify(None).reason == "empty"
    assert identify("640823-3234", reference_date=REF).reason is None


# --- organisationsnummer ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["212000-0142", "556036-0793", "5560360793", "165560360793", "16556036-0793",
                                   5560360793])
def test_organisationsnummer(value):
    # Stockholms stad and Saab AB (domain.md §1.7); 12-digit form `16` + number.
    assert facts(value) == ("organisationsnummer", None, None, 0)


def test_organisationsnummer_needs_its_check_digit_and_month_of_twenty_or_more():
    assert identify("556036-0794", reference_date=REF).reason == "checksum"
    assert kind("556036+0793") == "invalid"  # an org number is never written with `+`
    assert kind("641301-123" + str(check_digit("641301123"))) == "invalid"  # "month" 13 is under 20
    assert kind("19" + "5560360793") == "invalid"  # a century belongs to a natural person's number


def test_a_sole_traders_org_number_is_the_personnummer():
    assert kind("640823-3234") == "personnummer"


# --- reserve numbers -------------------------------------------------------------------------------------------

def test_sll_reserve_number():
    # Example of domain.md §1.5: Luhn over positions 5-11 gives 0.
    assert check_digit("8100001") == 0
    assert facts("991981000010") == ("reserve", None, None, 0)
    assert kind("991981000011") == "invalid"
    assert kind("9919790000" + "1" + str(check_digit("7900001"))) == "invalid"  # issued before 1980


def test_vgr_reserve_number():
    # Example of domain.md §1.5: Luhn over 810829, M=7, 07 gives 1; gg 07 is odd: a man.
    assert check_digit([8, 1, 0, 8, 2, 9, 7, 0, 7]) == 1
    assert facts("19810829M071") == ("reserve", date(1981, 8, 29), 1981, 1)
    assert facts("19810829m071") == ("reserve", date(1981, 8, 29), 1981, 1)  # letters in any case
    woman = "19810829K08" + str(check_digit([8, 1, 0, 8, 2, 9, 5, 0, 8]))
    assert facts(woman) == ("reserve", date(1981, 8, 29), 1981, 2)
    unknown_sex = "19810829X85" + str(check_digit([8, 1, 0, 8, 2, 9, 8, 8, 5]))
    assert facts(unknown_sex) == ("reserve", date(1981, 8, 29), 1981, 0)


def test_interim_and_vgr_letters_are_told_apart_by_the_check_digit():
    # M is both a VGR letter (value 7) and an interim letter (value 1); only one check digit can hold.
    interim_check = check_digit([8, 1, 0, 8, 2, 9, 1, 0, 7])
    vgr_check = check_digit([8, 1, 0, 8, 2, 9, 7, 0, 7])
    assert interim_check != vgr_check
    assert facts(f"19810829M07{interim_check}") == ("interim", date(1981, 8, 29), 1981, 1)
    assert facts(f"19810829M07{vgr_check}") == ("reserve", date(1981, 8, 29), 1981, 1)
    neither = next(c for c in range(10) if c not in (interim_check, vgr_check))
    # Neither holds: still a birth date with letters, Socialstyrelsen's reserve format, sex unknown.
    assert facts(f"19810829M07{neither}") == ("reserve", date(1981, 8, 29), 1981, 0)


def test_varmland_reserve_number():
    # Example of domain.md §1.5: type U (no date), sex digit 3 (man), final letter A.
    assert facts("19810829SU3A") == ("reserve", None, None, 1)
    assert facts("19810829SF2B") == ("reserve", date(1981, 8, 29), 1981, 2)  # type F: a known birth date
    assert facts("19810829SX1C") == ("reserve", None, None, 0)  # 0/1: sex unknown
    # The final letter is never V: then it is only a date with letters (sex not read).
    assert facts("19810829SF3V") == ("reserve", date(1981, 8, 29), 1981, 0)


def test_carelink_reserve_number():
    digits = "810845123"  # day 45 stands in for the day
    assert facts("19" + digits + str(check_digit(digits))) == ("reserve", None, 1981, 0)
    assert identify("19" + digits + str((check_digit(digits) + 1) % 10), reference_date=REF).reason == "checksum"


def test_date_with_letters_is_a_reserve_number():
    assert facts("19900101-AB12") == ("reserve", date(1990, 1, 1), 1990, 0)
    assert facts("19900101AB12") == ("reserve", date(1990, 1, 1), 1990, 0)
    assert kind("19900230-AB12") == "invalid"  # the date must exist
    assert kind("20240701-AB12") == "invalid"  # and not lie after the reference date
    assert kind("19900101-1234") == "invalid"  # no letter: not a reserve number (and 12 digits plus `-`, no pnr)


# --- interim numbers ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("letter", list("TRSUWXJKLMN"))
def test_interim_letters_count_one_in_the_luhn_sum(letter):
    check = check_digit([0, 0, 0, 1, 0, 1, 1, 2, 2])
    for written in (f"20000101{letter}22{check}", f"000101-{letter}22{check}", f"20000101-{letter}22{check}",
                    f"000101{letter}22{check}"):
        # The 9th character carries sex: 2, a woman.
        assert facts(written) == ("interim", date(2000, 1, 1), 2000, 2), written


def test_interim_number_with_a_wrong_check_digit_is_not_interim():
    assert kind("000101-T221") == "invalid"
    assert kind("20000101T221") == "reserve"  # date + letters remains a reserve-number shape


def test_temporary_ids_have_no_check_digit_and_carry_sex():
    # IVO/YH `YYYYMMDD-TF10` and the placement register's temporary IDs `YYYYMMDD-TXNN`.
    assert facts("20100315-TF10") == ("interim", date(2010, 3, 15), 2010, 1)
    assert facts("20100315-TX24") == ("interim", date(2010, 3, 15), 2010, 2)
    assert facts("20100315-T123") == ("interim", date(2010, 3, 15), 2010, 2)
    assert facts("20100315-T7A1") == ("reserve", date(2010, 3, 15), 2010, 0)  # not TXNN: a date with letters
    assert kind("20100230-TF10") == "invalid"  # no such date
    assert kind("20240701-TF10") == "invalid"  # after the reference date
    assert kind("20100315TF10") == "reserve"  # without `-` only the generic reserve shape remains


# --- invalid --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["hello", "", "19810829ſU3A", "19810829ΣU3A", "1981-08-29", "99", "T220",
                                   "19810829M0711", "AAAAAAAAAAAA"])
def test_other_values_are_invalid(value):
    assert kind(value) == "invalid"


def test_identified_never_shows_the_number():
    found = identify("640823-3234", reference_date=REF)
    assert repr(found) == str(found) == "Identified(kind='personnummer', reason=None, <redacted>)"


@given(st.one_of(st.text(max_size=16), st.text("0123456789-+TKMXSFUAV", max_size=14)))
def test_classify_always_answers_with_a_kind(value):
    assert classify(value, reference_date=REF) in KINDS
