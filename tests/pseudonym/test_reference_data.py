"""The shared test data of the personnummer validators (personnummer/meta, MIT), read in place from ../shared.

allPins.json and allCoords.json are Skatteverket's official test numbers, never assigned to real people.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pseudonym import (
    InvalidPersonnummer, KINDS, classify, identify, normalize, parse, parse_arrays, parse_many,
)
from pseudonym.personnummer import days_in_month

# After every test number's birth date (the newest are from 2023) and after 2021-07-31 (a list.json item).
REF = date(2024, 6, 30)
FORMS = ("long_format", "short_format", "separated_format", "separated_long")


@pytest.fixture(scope="module")
def meta(shared: Path):
    folder = shared / "reference" / "personnummer-meta"
    return lambda name: json.loads((folder / name).read_text(encoding="utf-8"))


def test_all_skatteverket_test_personnummer_are_valid(meta):
    pins = meta("allPins.json")
    assert len(pins) > 40_000
    parsed = parse_arrays(pins, reference_date=REF)
    assert (parsed.kind == KINDS.index("personnummer")).all()
    assert parsed.canonical.astype(str).tolist() == pins
    assert not np.isnat(parsed.birth_date).any()
    assert ((parsed.sex == 1) == (np.array([int(p[10]) for p in pins]) % 2 == 1)).all()
    for pin in pins[::97]:  # the scalar path on a spread of them
        assert normalize(pin, reference_date=REF) == pin


def test_all_skatteverket_test_personnummer_in_ten_digits(meta):
    pins = meta("allPins.json")
    # 10-digit writing: `+` from the calendar year the person turns 100, else `-`.
    ten = [p[2:8] + ("+" if REF.year - int(p[:4]) >= 100 else "-") + p[8:] for p in pins]
    assert parse_many(ten, reference_date=REF)["canonical"].tolist() == pins


def test_all_skatteverket_test_samordningsnummer_are_valid(meta):
    coords = meta("allCoords.json")
    assert len(coords) > 2_000
    frame = parse_many(coords, reference_date=REF)
    assert (frame["kind"] == "samordningsnummer").all() and frame["is_samordningsnummer"].all()
    assert frame["canonical"].tolist() == coords
    for number, born in zip(coords, frame["birth_date"]):
        year, month, day = int(number[:4]), int(number[4:6]), int(number[6:8]) - 60
        real = month >= 1 and 1 <= day <= days_in_month(year, month)
        assert (born == pd.Timestamp(year, month, day)) if real else pd.isna(born), number
        p = parse(number, reference_date=REF)
        assert p.is_samordningsnummer and p.birth_year == year and (p.birth_date is not None) == real
        assert classify(number, reference_date=REF) == "samordningsnummer"
    # The data holds every kind of incomplete or impossible date (domain.md §1.2).
    assert any(c[4:6] == "00" for c in coords) and any(c[6:8] == "60" for c in coords)
    assert any(c[4:6] != "00" and int(c[6:8]) - 60 > days_in_month(int(c[:4]), int(c[4:6])) for c in coords)


def list_items(meta):
    for item in meta("list.json"):
        forms = [item[form] for form in FORMS]
        if item["integer"]:
            forms.append(item["integer"])
        yield item, forms


def test_list_validity_sex_and_type_in_every_written_form(meta):
    checked = 0
    for item, forms in list_items(meta):
        for written in forms:
            found = identify(written, reference_date=REF)
            valid = found.kind in ("personnummer", "samordningsnummer")
            assert valid == item["valid"], (written, found)
            if valid:
                assert found.sex == (1 if item["isMale"] else 2), written
                assert found.is_samordningsnummer == (item["type"] == "con"), written
            checked += 1
        frame = parse_many(forms, reference_date=REF)
        assert (frame["kind"].isin(["personnummer", "samordningsnummer"]) == item["valid"]).all()
    assert checked > 60


def test_list_canonical_form_where_the_writing_carries_the_century(meta):
    for item, forms in list_items(meta):
        if item["valid"]:
            # The short form without separator cannot say a person is 100 or more (domain.md §1.3).
            centenarian = REF.year - int(item["long_format"][:4]) >= 100
            for written in forms:
                if not (centenarian and written == item["short_format"]):
                    assert normalize(written, reference_date=REF) == item["long_format"], written


def test_list_known_invalid_items(meta):
    reasons = {item["long_format"]: identify(item["long_format"], reference_date=REF).reason
               for item in meta("list.json") if not item["valid"]}
    assert reasons["201509160006"] == "format"  # födelsenummer 000
    assert reasons["19090527 1474"] == "format"  # a space is not a separator
    assert reasons["197004289895"] == "checksum"


def test_structured_lists_agree(meta):
    for kind, by_type in meta("structured.json").items():
        for values in by_type.values():
            for validity, items in values.items():
                for value in items:
                    found = identify(value, reference_date=REF)
                    assert (found.kind in ("personnummer", "samordningsnummer")) == (validity == "valid"), value


def test_organisation_numbers_are_not_personnummer(meta):
    items = meta("orgnumber.json")
    for item in items:
        for written in (item["short_format"], item["separated_format"], item["integer"]):
            assert classify(written, reference_date=REF) == "organisationsnummer", written
            with pytest.raises(InvalidPersonnummer):
                parse(written, reference_date=REF)
    frame = parse_many([item["separated_format"] for item in items], reference_date=REF)
    assert (frame["kind"] == "organisationsnummer").all() and frame["canonical"].isna().all()


def test_interim_numbers(meta):
    items = meta("interim.json")
    assert sum(item["valid"] for item in items) == 11
    for item in items:
        for written in (item[form] for form in FORMS):
            found = identify(written, reference_date=REF)
            if item["valid"]:
                # The 9th character (2) carries sex: even, a woman, as the data's isFemale says.
                assert item["isFemale"]
                assert (found.kind, found.birth_date, found.sex) == ("interim", date(2000, 1, 1), 2), written
            else:
                assert found.kind != "interim", written
                assert found.canonical is None
        frame = parse_many([item[form] for form in FORMS], reference_date=REF)
        assert ((frame["kind"] == "interim") == item["valid"]).all()
