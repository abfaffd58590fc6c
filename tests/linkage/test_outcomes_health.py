"""Health outcomes: code ranges at their edges, age windows at the birthday, the ÖJ polypharmacy rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codebooks
from linkage.errors import InputError
from linkage.outcomes import (
    concurrent_psychotropics, psychiatric_care, psychotropics, self_harm, substance_related,
)


def persons(**births: str | None) -> pd.DataFrame:
    return pd.DataFrame({"id": list(births), "kon": 1, "fodelsedatum": pd.to_datetime(list(births.values()))})


def patient(*rows: dict) -> pd.DataFrame:
    base = {"vardform": "1", "hdia": "S525", "dia1": None, "dia2": None, "ekod1": None, "pvard": "1"}
    frame = pd.DataFrame([base | row for row in rows], columns=["id", "indatum", *base])
    return frame.assign(indatum=pd.to_datetime(frame["indatum"]))


def drugs(*rows: tuple[str, str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "atc", "edatum"])
    return frame.assign(edatum=pd.to_datetime(frame["edatum"]))


def flags(result: pd.DataFrame, column: str) -> dict:
    return {row.id: (None if pd.isna(getattr(row, column)) else bool(getattr(row, column)))
            for row in result.itertuples()}


ONE = persons(p="2000-05-10")


@pytest.mark.parametrize("hdia, pvard, expected", [
    ("F00", "1", True), ("F99", "1", True), ("F321", "1", True), ("f32.1", "1", True),
    ("G40", "1", False), ("E10", "1", False), ("S525", "2", True), (None, "2", True), (None, "1", False),
])
def test_psychiatric_care_is_a_main_diagnosis_in_chapter_f_or_psychiatric_care(hdia, pvard, expected):
    result = psychiatric_care(patient(dict(id="p", indatum="2015-01-01", hdia=hdia, pvard=pvard)), ONE)
    assert list(result.columns) == ["id", "psykiatrisk_vard"]
    assert flags(result, "psykiatrisk_vard") == {"p": expected}


@pytest.mark.parametrize("day, expected", [
    ("2013-05-09", False), ("2013-05-10", True), ("2025-05-09", True), ("2025-05-10", False),
])
def test_the_age_window_runs_from_the_13th_birthday_to_the_day_before_the_25th(day, expected):
    result = psychiatric_care(patient(dict(id="p", indatum=day, hdia="F32")), ONE, from_age=13, to_age=25)
    assert flags(result, "psykiatrisk_vard") == {"p": expected}


@pytest.mark.parametrize("day, expected", [("2017-02-28", False), ("2017-03-01", True), ("2016-02-29", False)])
def test_a_leap_day_child_turns_a_year_older_on_1_march(day, expected):
    result = psychiatric_care(patient(dict(id="p", indatum=day, hdia="F32")), persons(p="2004-02-29"),
                              from_age=13, to_age=14)
    assert flags(result, "psykiatrisk_vard") == {"p": expected}


def test_one_row_per_person_sorted_false_without_events_na_without_birth_date():
    people = persons(c="2000-01-01", a="2000-01-01", b=None)
    events = patient(dict(id="a", indatum="2015-01-01", hdia="F32"), dict(id="b", indatum="2015-01-01", hdia="F32"),
                     dict(id="stranger", indatum="2015-01-01", hdia="F32"))
    result = psychiatric_care(events, people)
    assert result["id"].tolist() == ["a", "b", "c"]
    assert flags(result, "psykiatrisk_vard") == {"a": True, "b": None, "c": False}
    assert result["psykiatrisk_vard"].dtype == "boolean"


@pytest.mark.parametrize("ekod, expected", [
    ("X59", False), ("X599", False), ("X60", True), ("X600", True), ("X84", True), ("X849", True), ("X85", False),
    ("Y10", False), ("X6", False), (None, False),
])
def test_self_harm_is_an_external_cause_x60_x84(ekod, expected):
    result = self_harm(patient(dict(id="p", indatum="2015-01-01", ekod1=ekod)), ONE)
    assert flags(result, "sjalvskada") == {"p": expected}


@pytest.mark.parametrize("ekod, expected", [("Y09", False), ("Y10", True), ("Y34", True), ("Y349", True),
                                            ("Y35", False)])
def test_undetermined_intent_y10_y34_counts_only_when_asked(ekod, expected):
    events = patient(dict(id="p", indatum="2015-01-01", ekod1=ekod))
    assert flags(self_harm(events, ONE, include_undetermined=True), "sjalvskada") == {"p": expected}
    assert flags(self_harm(events, ONE), "sjalvskada") == {"p": False}


def test_self_harm_counts_inpatient_stays_by_default_and_any_ekod_column():
    outpatient = patient(dict(id="p", indatum="2015-01-01", vardform="2", ekod1="X60"))
    assert flags(self_harm(outpatient, ONE), "sjalvskada") == {"p": False}
    assert flags(self_harm(outpatient, ONE, inpatient_only=False), "sjalvskada") == {"p": True}
    second = patient(dict(id="p", indatum="2015-01-01", ekod1="W01")).assign(ekod2="X70")
    assert flags(self_harm(second, ONE), "sjalvskada") == {"p": True}


@pytest.mark.parametrize("column, code, expected", [
    ("hdia", "F09", False), ("hdia", "F10", True), ("hdia", "F19", True), ("hdia", "F199", True),
    ("hdia", "F20", False), ("dia1", "F102", True), ("dia2", "F15", True), ("dia2", "F20", False),
])
def test_substance_related_is_f10_f19_in_main_or_secondary_diagnoses(column, code, expected):
    events = patient(dict(id="p", indatum="2015-01-01", vardform="2", **{column: code}))
    result = substance_related(events, ONE)
    assert flags(result, "substansrelaterad_vard") == {"p": expected}


def test_psychotropics_one_column_per_atc_group():
    events = drugs(("p", "N05AH04", "2015-01-01"), ("p", "N06BA04", "2015-02-01"), ("p", "N07BA01", "2015-02-01"),
                   ("p", "N05", "2015-02-01"), ("p", "N06AB06", "2030-01-01"))
    result = psychotropics(events, ONE)
    assert list(result.columns) == ["id", "psykofarmaka_n05a", "psykofarmaka_n05b", "psykofarmaka_n05c",
                                    "psykofarmaka_n06a", "psykofarmaka_n06b"]
    assert result.iloc[0, 1:].tolist() == [True, False, False, False, True]
    assert psychotropics(events, ONE, groups=("N07B",)).columns.tolist() == ["id", "psykofarmaka_n07b"]


# ----------------------------------------------------------------------------- ≥ 2 concurrent long-term psychotropics
def poly(*rows: tuple[str, str], birth: str = "2000-06-15") -> bool | None:
    result = concurrent_psychotropics(drugs(*[("p", atc, day) for atc, day in rows]), persons(p=birth))
    assert result.columns.tolist() == ["id", "minst_tva_psykofarmaka_15_16"]
    return flags(result, "minst_tva_psykofarmaka_15_16")["p"]


def three(atc: str, *days: str) -> list[tuple[str, str]]:
    return [(atc, day) for day in days]


def test_two_groups_each_dispensed_on_three_days_with_overlapping_use_count():
    assert poly(*three("N06AB06", "2016-01-10", "2016-04-10", "2016-07-10"),
                *three("N06BA04", "2016-03-01", "2016-06-01", "2016-09-01"))


def test_three_dispensings_on_two_days_are_not_long_term():
    assert not poly(*three("N06AB06", "2016-01-10", "2016-01-10", "2016-07-10"),
                    *three("N06BA04", "2016-03-01", "2016-06-01", "2016-09-01"))


def test_periods_of_use_must_share_a_day():
    n05a = three("N05AH04", "2016-01-01", "2016-02-01", "2016-03-01")
    assert not poly(*n05a, *three("N06AB06", "2016-03-02", "2016-04-01", "2016-05-01"))
    assert poly(*n05a, *three("N06AB06", "2016-03-01", "2016-04-01", "2016-05-01"))


def test_two_substances_of_one_group_are_one_group():
    assert not poly(*three("N06AB06", "2016-01-10", "2016-04-10", "2016-07-10"),
                    *three("N06AB04", "2016-03-01", "2016-06-01", "2016-09-01"))


def test_only_the_calendar_year_the_person_turns_16_counts():
    n06b = three("N06BA04", "2016-03-01", "2016-06-01", "2016-09-01")
    assert not poly(*n06b, *three("N06AB06", "2015-12-31", "2016-04-10", "2016-07-10"))
    assert not poly(*n06b, *three("N06AB06", "2016-01-10", "2016-04-10", "2017-01-01"))
    assert poly(*n06b, *three("N06AB06", "2016-01-01", "2016-04-10", "2016-12-31"))


def test_no_dispensings_is_false_and_no_birth_date_is_unknown():
    result = concurrent_psychotropics(drugs(), persons(a="2000-01-01", b=None))
    assert flags(result, "minst_tva_psykofarmaka_15_16") == {"a": False, "b": None}


PEOPLE = persons(a="1999-03-01", b="2000-12-31", c="2001-01-01")
YEAR16 = {"a": "2015-01-01", "b": "2016-01-01", "c": "2017-01-01"}  # 1 January of the year each turns 16
# Courses of 1-4 dispensings around each person's 16th year, so that the outcome occurs often.
course = st.tuples(st.sampled_from(list(YEAR16)),
                   st.sampled_from(["N05AH04", "N06AB06", "N06AB04", "N06BA04", "A10AB01"]),
                   st.integers(-60, 370), st.integers(0, 120), st.integers(1, 4))
dispensings = st.lists(course, max_size=8).map(lambda courses: [
    (who, atc, str(np.datetime64(YEAR16[who]) + first + k * gap)) for who, atc, first, gap, n in courses
    for k in range(n)])


@settings(max_examples=25, deadline=None)
@given(dispensings, dispensings)
def test_more_dispensings_never_undo_an_outcome(rows, more):
    def outcomes(events):
        frame = drugs(*events)
        return np.column_stack([concurrent_psychotropics(frame, PEOPLE).iloc[:, 1].to_numpy(bool),
                                psychotropics(frame, PEOPLE, from_age=13, to_age=17).iloc[:, 1:].to_numpy(bool)])
    assert (outcomes(rows + more) >= outcomes(rows)).all()


visit = st.fixed_dictionaries({
    "id": st.sampled_from(["a", "b", "c"]), "indatum": st.integers(0, 30 * 366).map(
        lambda d: str(np.datetime64("1999-01-01") + d)), "vardform": st.sampled_from(["1", "2"]),
    "hdia": st.sampled_from(["F10", "F32", "S525", "X", None]), "dia1": st.sampled_from(["F19", "J45", None]),
    "ekod1": st.sampled_from(["X60", "X84", "X85", "Y20", None]), "pvard": st.sampled_from(["1", "2"]),
})


@settings(max_examples=25, deadline=None)
@given(st.lists(visit, max_size=20), st.lists(visit, max_size=20))
def test_more_visits_never_undo_a_patient_register_outcome(rows, more):
    def outcomes(events):
        frame = patient(*events)
        return np.column_stack([f(frame, PEOPLE).iloc[:, 1].to_numpy(bool) for f in (
            psychiatric_care, self_harm, substance_related)])
    assert (outcomes(rows + more) >= outcomes(rows)).all()


def test_a_missing_column_or_a_repeated_person_is_a_clear_input_error():
    with pytest.raises(InputError, match="patient: no column 'hdia'"):
        psychiatric_care(patient(dict(id="p", indatum="2015-01-01")).drop(columns="hdia"), ONE)
    with pytest.raises(InputError, match="not unique"):
        psychiatric_care(patient(), pd.concat([ONE, ONE]))


@pytest.mark.parametrize("ages", [(16, 15), (15, 15)])
def test_an_empty_age_window_is_refused(ages):
    with pytest.raises(ValueError):
        concurrent_psychotropics(drugs(), ONE, ages=ages)
    with pytest.raises(ValueError):
        psychiatric_care(patient(), ONE, from_age=ages[0], to_age=ages[1])


def test_the_columns_are_the_codebooks_variables_and_validate():
    events = patient(dict(id="p", indatum="2015-01-01", hdia="F10", ekod1="X60"))
    people = persons(p="2000-05-10", q=None)
    frames = [psychiatric_care(events, people), self_harm(events, people), substance_related(events, people),
              psychotropics(drugs(("p", "N06AB06", "2015-01-01")), people), concurrent_psychotropics(drugs(), people)]
    derived = pd.concat([frame.set_index("id") for frame in frames], axis=1)
    report = codebooks.validate(derived.reset_index(drop=True), codebooks.load("health_outcomes"))
    assert report.ok, report.to_text()
