"""Minimisation: exactly the codebook's variables leave, never a direct identifier, dates only as precise as asked."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

import codebooks
from linkage.errors import ReglinkError
from linkage.extract.minimise import MONTH_PATTERN, MinimiseError, coarsen, minimise, refuse_direct_identifiers

PERSONS = ["pseudonym_id", "kon", "fodelsear", "fodelsedatum", "kommun", "lan", "placerad_nagon_gang"]
EVENTS = ["insats_nr", "lagrum", "startdatum", "slutdatum"]


@pytest.fixture
def persons() -> tuple[pd.DataFrame, codebooks.Codebook]:
    """Four persons typed by the real cohort codebook (as the derive stage hands them over); one birth date missing."""
    codebook = codebooks.load("cohort").select(PERSONS)
    raw = pd.DataFrame({
        "pseudonym_id": ["0" * 31 + str(i) for i in range(4)],
        "kon": ["1", "2", "2", "1"],
        "fodelsear": ["1999", "2004", "2008", "2001"],
        "fodelsedatum": ["1999-03-14", "2004-12-31", "2008-01-01", ""],
        "kommun": ["0180", "1480", "2584", ""],
        "lan": ["01", "14", "25", ""],
        "placerad_nagon_gang": ["1", "0", "1", "0"],
    })
    return codebooks.cast(raw, codebook), codebook


@pytest.fixture
def events() -> tuple[pd.DataFrame, codebooks.Codebook]:
    """Three measures typed by the real placement_measure codebook; one still open (no end date)."""
    codebook = codebooks.load("placement_measure").select(EVENTS)
    raw = pd.DataFrame({
        "insats_nr": ["1", "2", "1"],
        "lagrum": ["2", "3", "1"],
        "startdatum": ["20120229", "20150701", "20191130"],  # the register writes dates as %Y%m%d
        "slutdatum": ["20130115", "", "20200601"],
    })
    return codebooks.cast(raw, codebook), codebook


def test_keeps_exactly_the_codebook_variables_in_codebook_order(persons):
    frame, codebook = persons
    shuffled = frame[list(reversed(PERSONS))]
    out, delivered = minimise(shuffled, codebook, precision="day", birth_precision="day")
    assert list(out.columns) == PERSONS
    assert delivered.names == codebook.names
    pd.testing.assert_frame_equal(out, frame)


def test_day_precision_leaves_dates_unchanged_and_documents_them_as_iso_dates(events):
    frame, codebook = events
    out, delivered = minimise(frame, codebook, precision="day", birth_precision="day")
    pd.testing.assert_frame_equal(out, frame)
    assert codebook.variable("startdatum").date_format == "%Y%m%d"  # as the source register writes it
    assert delivered.variable("startdatum").date_format == "%Y-%m-%d"  # as every extract file writes it
    assert [replace(v, date_format="%Y-%m-%d") for v in codebook.variables] == \
        [replace(v, date_format="%Y-%m-%d") for v in delivered.variables]


def test_a_column_without_a_codebook_variable_is_an_error(persons):
    frame, codebook = persons
    with pytest.raises(MinimiseError, match=r"column 'fodelseland' has no variable in the codebook \(1 such column"):
        minimise(frame.assign(fodelseland="SE"), codebook, precision="month", birth_precision="year")


def test_a_codebook_variable_without_a_column_is_an_error(persons):
    frame, codebook = persons
    with pytest.raises(MinimiseError, match="variable 'lan' has no column"):
        minimise(frame.drop(columns="lan"), codebook, precision="month", birth_precision="year")


def test_a_direct_identifier_is_refused_even_when_it_has_a_column():
    codebook = codebooks.load("placement_measure").select(["personnr", "lagrum"])
    frame = pd.DataFrame({"personnr": ["19121212-1212"], "lagrum": ["2"]})  # Skatteverket's test series
    with pytest.raises(MinimiseError, match="'personnr' is a direct identifier and can never be delivered") as caught:
        minimise(frame, codebook, precision="month", birth_precision="year")
    assert "1212" not in str(caught.value)
    assert isinstance(caught.value, ReglinkError)
    with pytest.raises(MinimiseError, match="direct identifier"):
        refuse_direct_identifiers(codebook)
    refuse_direct_identifiers(codebooks.load("cohort"))  # none there: passes


def test_birth_date_to_year_is_a_nullable_integer_with_the_bounds_years(persons):
    frame, codebook = persons
    out, delivered = minimise(frame, codebook, precision="day", birth_precision="year")
    assert out["fodelsedatum"].dtype == "Int32"
    assert out["fodelsedatum"].tolist() == [1999, 2004, 2008, pd.NA]
    variable = delivered.variable("fodelsedatum")
    assert (variable.type, variable.minimum, variable.maximum, variable.pattern) == ("integer", 1890, None, None)
    assert variable.description.sv.endswith("Grovgjord till år (årtalet) i uttaget.")
    assert variable.description.en.endswith("Coarsened to year precision (the year) in the extract.")
    assert variable.description.en.startswith(codebook.variable("fodelsedatum").description.en)
    assert codebooks.validate(out, delivered).ok


def test_event_dates_to_month_are_text_yyyy_mm(events):
    frame, codebook = events
    out, delivered = minimise(frame, codebook, precision="month", birth_precision="day")
    assert out["startdatum"].tolist() == ["2012-02", "2015-07", "2019-11"]
    assert out["slutdatum"].tolist() == ["2013-01", pd.NA, "2020-06"]
    for name in ("startdatum", "slutdatum"):
        variable = delivered.variable(name)
        assert (variable.type, variable.pattern) == ("string", MONTH_PATTERN)
        assert "Grovgjord till månad (ÅÅÅÅ-MM)" in variable.description.sv
        assert "Coarsened to month precision (YYYY-MM)" in variable.description.en
    pd.testing.assert_series_equal(out["lagrum"], frame["lagrum"])
    assert codebooks.validate(out, delivered).ok


def test_birth_date_takes_its_own_precision(persons, events):
    frame, codebook = persons
    out, _ = minimise(frame, codebook, precision="year", birth_precision="month")
    assert out["fodelsedatum"].tolist() == ["1999-03", "2004-12", "2008-01", pd.NA]


def test_a_month_coarsened_again_to_year_says_only_year(events):
    frame, codebook = events
    month, monthly = minimise(frame, codebook, precision="month", birth_precision="day")
    year, variable = coarsen(month["startdatum"], monthly.variable("startdatum"), "year")
    assert year.tolist() == [2012, 2015, 2019]
    assert variable.type == "integer"
    assert "månad" not in variable.description.sv and "month" not in variable.description.en
    same, unchanged = coarsen(month["startdatum"], monthly.variable("startdatum"), "day")
    assert same is month["startdatum"] and unchanged == monthly.variable("startdatum")


def test_the_delivered_codebook_round_trips_through_its_dict_form(persons, events):
    for (frame, codebook), precision in ((persons, "year"), (events, "month")):
        _, delivered = minimise(frame, codebook, precision=precision, birth_precision=precision)
        assert codebooks.from_dict(codebooks.to_dict(delivered)) == delivered


def test_rows_keep_their_order_and_index(events):
    frame, codebook = events
    frame = frame.set_axis([7, 3, 5])
    out, _ = minimise(frame, codebook, precision="year", birth_precision="year")
    assert list(out.index) == [7, 3, 5]
    assert out["startdatum"].tolist() == [2012, 2015, 2019]


def test_an_unknown_precision_is_an_error(events):
    frame, codebook = events
    with pytest.raises(MinimiseError, match="birth_precision: must be one of day, month, year"):
        minimise(frame, codebook, precision="month", birth_precision="week")


def test_a_date_column_that_holds_no_dates_is_an_error(events):
    frame, codebook = events
    with pytest.raises(MinimiseError, match="column 'startdatum' does not hold dates"):
        minimise(frame.assign(startdatum=[1, 2, 3]), codebook, precision="month", birth_precision="year")
