"""Eligibility for upper secondary and meritvärde, checked against Skolverket's rules case by case."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.outcomes import eligibility
from linkage.outcomes.education import SUBJECTS

OTHERS = ["BI", "FY", "KE", "TK", "GE", "HI", "RE", "SH", "BL", "HKK", "IDH", "MU", "SL"]


def grades(pupils: dict[str, tuple[int, dict[str, str]]]) -> pd.DataFrame:
    rows = [dict(id=pid, year=year, subject=s, grade=g) for pid, (year, marks) in pupils.items() for s, g in marks.items()]
    return pd.DataFrame(rows)


def one(marks: dict[str, str], year: int = 2016) -> pd.Series:
    return eligibility(grades({"p": (year, marks)})).iloc[0]


def core(swedish: str = "SV") -> dict[str, str]:
    return {swedish: "E", "EN": "E", "MA": "E"}


def test_vocational_needs_the_three_core_subjects_plus_five_others():
    assert one(core() | {s: "E" for s in OTHERS[:5]}).yrkesprogram
    assert not one(core() | {s: "E" for s in OTHERS[:4]}).yrkesprogram


def test_swedish_as_a_second_language_counts_as_swedish():
    assert one(core("SVA") | {s: "E" for s in OTHERS[:5]}).yrkesprogram


@pytest.mark.parametrize("failed", ["SV", "EN", "MA"])
@pytest.mark.parametrize("grade", ["F", "-"])
def test_a_fail_or_dash_in_a_core_subject_means_no_eligibility(failed, grade):
    marks = core() | {s: "A" for s in OTHERS}
    marks[failed] = grade
    row = one(marks)
    assert not (row.yrkesprogram or row.estetiska or row.naturvetenskap_teknik or row.ekonomi_humanistiska_samhall)


def test_higher_education_preparatory_programmes_need_nine_others_with_programme_subjects():
    nine_without_science = ["GE", "HI", "RE", "SH", "TK", "BL", "HKK", "IDH", "MU"]
    row = one(core() | {s: "C" for s in nine_without_science})
    assert row.estetiska and row.ekonomi_humanistiska_samhall and not row.naturvetenskap_teknik

    nine_without_civics = ["BI", "FY", "KE", "TK", "GE", "HI", "RE", "BL", "HKK"]
    row = one(core() | {s: "C" for s in nine_without_civics})
    assert row.estetiska and row.naturvetenskap_teknik and not row.ekonomi_humanistiska_samhall

    row = one(core() | {s: "C" for s in OTHERS[:8]})
    assert row.yrkesprogram and not row.estetiska


def test_before_gy11_only_swedish_english_and_mathematics_were_required():
    row = one({"SV": "G", "EN": "G", "MA": "G", "BI": "IG"}, year=2010)
    assert row.yrkesprogram and row.estetiska and row.naturvetenskap_teknik
    assert not one({"SV": "G", "EN": "IG", "MA": "MVG"}, year=2010).yrkesprogram
    # From 2011 the Gy11 rule applies, whatever the grading scale.
    assert not one({"SV": "G", "EN": "G", "MA": "G"}, year=2011).yrkesprogram


def test_meritvarde_is_sixteen_best_plus_modern_language_as_seventeenth():
    marks = {s: "A" for s in ["SV", "EN", "MA"] + OTHERS} | {"M1": "A"}
    assert one(marks).meritvarde == 340
    marks = {s: "E" for s in ["SV", "EN", "MA"] + OTHERS} | {"M1": "C", "M2": "A"}
    # 16 subjects at E plus the better language (A = 20) as 17th; the other language (C) competes for the 16 best.
    assert one(marks).meritvarde == 15 + 15 * 10 + 20
    assert one({"SV": "B", "EN": "D", "MA": "F"}).meritvarde == 17.5 + 12.5


def test_old_scale_meritvarde_is_sixteen_best_max_320():
    marks = {s: "MVG" for s in ["SV", "EN", "MA"] + OTHERS + ["M1"]}
    assert one(marks, year=2010).meritvarde == 320


def test_latest_leaving_year_counts_and_a_duplicate_subject_counts_once_with_its_best_grade():
    frame = grades({"p": (2015, core() | {s: "F" for s in OTHERS})})
    retake = pd.DataFrame([dict(id="p", year=2016, subject=s, grade="E") for s in ["SV", "EN", "MA"] + OTHERS[:5]]
                          + [dict(id="p", year=2016, subject="BI", grade="F")])
    row = eligibility(pd.concat([frame, retake])).iloc[0]
    assert row.year == 2016 and row.yrkesprogram


def test_one_row_per_pupil():
    frame = grades({"a": (2016, core()), "b": (2016, core("SVA")), "c": (2017, {"EN": "A"})})
    result = eligibility(pd.concat([frame, frame]))
    assert sorted(result["id"]) == ["a", "b", "c"]
    assert list(result.columns) == ["id", "year", "yrkesprogram", "ekonomi_humanistiska_samhall",
                                    "naturvetenskap_teknik", "estetiska", "meritvarde"]


marks_strategy = st.dictionaries(st.sampled_from(SUBJECTS), st.sampled_from(list("ABCDEF-")), min_size=1)


@settings(max_examples=200, deadline=None)
@given(marks=marks_strategy, subject=st.sampled_from(SUBJECTS))
def test_raising_a_grade_to_a_pass_never_removes_eligibility_or_lowers_the_meritvarde(marks, subject):
    before = one(marks)
    after = one(marks | {subject: "A"})
    for column in ["yrkesprogram", "ekonomi_humanistiska_samhall", "naturvetenskap_teknik", "estetiska"]:
        assert after[column] >= before[column]
    assert after.meritvarde >= before.meritvarde
    assert 0 <= after.meritvarde <= 340


@settings(max_examples=200, deadline=None)
@given(marks=marks_strategy)
def test_preparatory_eligibility_implies_vocational(marks):
    row = one(marks)
    assert row.yrkesprogram >= row.estetiska >= max(row.naturvetenskap_teknik, row.ekonomi_humanistiska_samhall)


pupils_strategy = st.dictionaries(st.text("abcdef", min_size=1, max_size=4),
                                  st.tuples(st.integers(2005, 2024), marks_strategy), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(pupils=pupils_strategy, unused=st.lists(st.text("xyz", min_size=1, max_size=3), max_size=3))
def test_categorical_ids_with_unused_categories_give_what_text_ids_give(pupils, unused):
    """As linked registers hand ids over: categorical, sorted categories, some without rows."""
    frame = grades(pupils)
    categories = sorted({*frame["id"], *unused})
    as_categories = frame.assign(id=pd.Categorical(frame["id"], categories=categories))
    expected = eligibility(frame)
    result = eligibility(as_categories)
    pd.testing.assert_frame_equal(result.assign(id=result["id"].astype(str)), expected)


@settings(max_examples=200, deadline=None)
@given(marks=marks_strategy, year=st.sampled_from([2016, 2009]))
def test_meritvarde_is_the_sum_of_the_sixteen_best_values_by_a_plain_sort(marks, year):
    old_scale = {"A": "MVG", "B": "VG", "C": "VG", "D": "G", "E": "G", "F": "IG", "-": "-"}
    marks = marks if year >= 2011 else {s: old_scale[g] for s, g in marks.items()}
    values = {"A": 20, "B": 17.5, "C": 15, "D": 12.5, "E": 10, "MVG": 20, "VG": 15, "G": 10}
    languages = [values.get(marks[s], 0) for s in ("M1", "M2") if s in marks]
    scored = {s: values.get(g, 0) for s, g in marks.items()}
    seventeenth = max(languages) if languages and year >= 2011 else 0
    if languages and year >= 2011:
        del scored[max((s for s in ("M1", "M2") if s in marks), key=lambda s: scored[s])]
    assert one(marks, year).meritvarde == sum(sorted(scored.values(), reverse=True)[:16]) + seventeenth


def test_leaving_years_far_apart_still_take_the_latest():
    frame = grades({"a": (1800, core()), "b": (2016, {"EN": "A"})})  # over 200 years: the general way
    frame = pd.concat([frame, grades({"a": (2016, {"SV": "F"})})])
    result = eligibility(frame).set_index("id")
    assert result.loc["a", "year"] == 2016 and not result.loc["a", "yrkesprogram"]


@settings(max_examples=100, deadline=None)
@given(pupils=pupils_strategy)
def test_arrow_backed_columns_give_what_plain_columns_give(pupils):
    """As ingest hands registers over: Arrow text and numbers."""
    frame = grades(pupils)
    arrow = frame.assign(year=frame["year"].astype("int16[pyarrow]"),
                         **{c: frame[c].astype("string[pyarrow]") for c in ("id", "subject", "grade")})
    result = eligibility(arrow)
    pd.testing.assert_frame_equal(result.assign(id=result["id"].astype(object)), eligibility(frame))


def test_rows_without_id_year_or_subject_are_left_out_and_a_missing_grade_is_a_dash():
    frame = grades({"p": (2016, core() | {s: "E" for s in OTHERS[:5]})})
    gaps = pd.DataFrame({"id": [None, "p", "p", "p"], "year": [2016, None, 2016, 2016],
                         "subject": ["BI", "MA", None, "SL"], "grade": ["F", "F", "F", None]})
    result = eligibility(pd.concat([frame, gaps], ignore_index=True))
    assert list(result["id"]) == ["p"] and result.loc[0, "year"] == 2016
    assert result.loc[0, "yrkesprogram"] and result.loc[0, "meritvarde"] == 80.0
