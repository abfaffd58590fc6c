"""School outcomes at ÖJ's ages: compulsory school by 17, missing from the grade register, a diploma by 20."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codebooks
from linkage.outcomes import absent_from_grade_register, completed_compulsory_school, upper_secondary_completed


def persons(**births: str | None) -> pd.DataFrame:
    return pd.DataFrame({"id": list(births), "kon": 2, "fodelsedatum": pd.to_datetime(list(births.values()))})


def grades(*rows: tuple[str, int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "avgangsar"]).assign(amne="MA", betyg="F", skolenhetskod="12345678")
    return frame.astype({"avgangsar": "Int64"})


def diplomas(*rows: tuple[str, str | None, str | None, int | None]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "program", "examen", "examensar"]).assign(startar=2016)
    return frame.astype({"examensar": "Int64", "program": "string", "examen": "string"})


def values(result: pd.DataFrame, column: str) -> dict:
    return {row.id: (None if pd.isna(getattr(row, column)) else getattr(row, column)) for row in result.itertuples()}


PEOPLE = persons(a="2000-12-31", b="2000-01-01", c="2000-06-15", d=None)


def test_completed_compulsory_school_is_a_grade_record_by_the_year_the_person_turns_17():
    result = completed_compulsory_school(grades(("a", 2017), ("b", 2018), ("b", 2019), ("d", 2016)), PEOPLE)
    assert result.columns.tolist() == ["id", "fullfoljt_grundskolan_17"]
    # A record counts whatever the grades (here an F): the indicator is about leaving year 9 with final grades.
    assert values(result, "fullfoljt_grundskolan_17") == {"a": True, "b": False, "c": False, "d": None}


def test_the_follow_up_age_is_a_parameter_and_names_the_column():
    result = completed_compulsory_school(grades(("b", 2018)), PEOPLE, by_age=18)
    assert values(result, "fullfoljt_grundskolan_18")["b"] == True  # noqa: E712 (numpy bool)


def test_absent_from_the_grade_register_and_the_latest_leaving_year():
    result = absent_from_grade_register(grades(("a", 2016), ("a", 2017), ("d", 2016)), PEOPLE)
    assert result.columns.tolist() == ["id", "saknas_i_betygsregistret", "avgangsar_ak9"]
    assert values(result, "saknas_i_betygsregistret") == {"a": False, "b": True, "c": True, "d": False}
    assert values(result, "avgangsar_ak9") == {"a": 2017, "b": None, "c": None, "d": 2016}
    assert result["avgangsar_ak9"].dtype == "Int64"


@pytest.mark.parametrize("program, examen, year, expected", [
    ("NA", "2", 2020, True),    # högskoleförberedande examen the year the person turns 20
    ("EE", "1", 2020, True),    # yrkesexamen
    ("NA", "2", 2021, False),   # too late
    ("NA", "3", 2019, False),   # studiebevis is not a diploma
    ("IMA", "1", 2019, False),  # introductory programmes are not national programmes
    (None, "1", 2019, True),    # only national programmes award a diploma
    ("NA", None, None, False),  # no diploma
    ("NA", "2", None, False),
])
def test_upper_secondary_diploma_by_20(program, examen, year, expected):
    result = upper_secondary_completed(diplomas(("b", program, examen, year)), PEOPLE)
    assert result.columns.tolist() == ["id", "gymnasieexamen_20"]
    assert values(result, "gymnasieexamen_20") == {"a": False, "b": expected, "c": False, "d": None}


record = st.tuples(st.sampled_from(["a", "b", "c", "d", "x"]), st.integers(2012, 2022))


@settings(max_examples=30, deadline=None)
@given(st.lists(record, max_size=10), st.lists(record, max_size=10))
def test_more_records_never_undo_an_outcome(rows, more):
    def outcomes(records):
        done = completed_compulsory_school(grades(*records), PEOPLE)["fullfoljt_grundskolan_17"]
        diploma = upper_secondary_completed(diplomas(*[(who, "SA", "2", year) for who, year in records]), PEOPLE)
        present = ~absent_from_grade_register(grades(*records), PEOPLE)["saknas_i_betygsregistret"]
        return pd.concat([done, diploma["gymnasieexamen_20"], present], axis=1).fillna(False).to_numpy(bool)
    assert (outcomes(rows + more) >= outcomes(rows)).all()


def test_the_columns_are_education_outcomes_variables_and_validate():
    frames = [completed_compulsory_school(grades(("a", 2017)), PEOPLE), absent_from_grade_register(grades(), PEOPLE),
              upper_secondary_completed(diplomas(("b", "NA", "2", 2019)), PEOPLE)]
    derived = pd.concat([frame.set_index("id") for frame in frames], axis=1).reset_index(drop=True)
    report = codebooks.validate(derived, codebooks.load("education_outcomes"))
    assert report.ok, report.to_text()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "x", None]),
                          st.one_of(st.none(), st.sampled_from(["2012", "2016", "2017", "2018", "20x7"]))),
                max_size=30),
       st.sampled_from(["object", "category", "arrow"]))
def test_grade_outcomes_follow_their_definitions_row_by_row(rows, form):
    """Completed by 17, absent and the latest leaving year against their definitions read row by row, for ids and
    years held as text, categories or Arrow text, with rows of no id, of an id not among the persons, of no year
    and of a year that is not a number."""
    frame = pd.DataFrame(rows, columns=["id", "avgangsar"], dtype=object)
    if form != "object":
        frame = frame.astype("category" if form == "category" else pd.ArrowDtype(pa.string()))
    result = values(completed_compulsory_school(frame, PEOPLE), "fullfoljt_grundskolan_17")
    births = {row.id: row.fodelsedatum for row in PEOPLE.itertuples()}
    expected = {who: None if pd.isna(born) else any(
        w == who and y is not None and y.isdigit() and int(y) <= born.year + 17 for w, y in rows)
        for who, born in births.items()}
    assert result == expected
    absent = absent_from_grade_register(frame, PEOPLE)
    years = {who: [int(y) for w, y in rows if w == who and y is not None and y.isdigit()] for who in births}
    assert values(absent, "saknas_i_betygsregistret") == {who: all(w != who for w, _ in rows) for who in births}
    assert values(absent, "avgangsar_ak9") == {who: max(found) if found else None for who, found in years.items()}
