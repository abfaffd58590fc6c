"""Placement history and the ÖJ populations: snapshot duplicates, open spells, windows at their edges, year 9."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codebooks
from linkage.errors import InputError
from linkage.outcomes import placement_history, populations, year9_school_year

END = date(2021, 12, 31)


def persons(**births: str | None) -> pd.DataFrame:
    return pd.DataFrame({"id": list(births), "kon": 1, "fodelsedatum": pd.to_datetime(list(births.values()))})


def measures(*rows: dict) -> pd.DataFrame:
    base = {"id": "p", "redovisningsar": 2021, "kommun": "0180", "insats_nr": 1, "lagrum": "1", "beslutsdatum": None,
            "startdatum": None, "slutdatum": None, "avslutsorsak": None}
    frame = pd.DataFrame([base | row for row in rows], columns=list(base))
    frame["beslutsdatum"] = frame["beslutsdatum"].fillna(frame["startdatum"])
    return _typed(frame)


def placements(*rows: dict) -> pd.DataFrame:
    base = {"id": "p", "redovisningsar": 2021, "kommun": "0180", "insats_nr": 1, "placering_nr": 1,
            "placeringsform": "1", "startdatum": None, "slutdatum": None, "enhet_id": None}
    return _typed(pd.DataFrame([base | row for row in rows], columns=list(base)))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    dates = [c for c in ("beslutsdatum", "startdatum", "slutdatum") if c in frame]
    ints = [c for c in ("redovisningsar", "insats_nr", "placering_nr") if c in frame]
    codes = [c for c in ("lagrum", "avslutsorsak", "placeringsform", "enhet_id", "kommun") if c in frame]
    return frame.astype({**{c: "datetime64[ns]" for c in dates}, **{c: "Int64" for c in ints},
                         **{c: "string" for c in codes}})


def inspections(*rows: tuple[str, str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["enhet_id", "beslutsdatum", "beslutstyp"])
    return frame.assign(beslutsdatum=pd.to_datetime(frame["beslutsdatum"]))


def history(m: pd.DataFrame | None = None, p: pd.DataFrame | None = None, people: pd.DataFrame | None = None,
            end: date = END, **options) -> dict:
    """The history of child "p" as a dict of plain values."""
    result = placement_history(measures().iloc[:0] if m is None else m, placements().iloc[:0] if p is None else p,
                               persons(p="2005-03-15") if people is None else people, end_date=end, **options)
    row = result.set_index("id").loc["p"]
    return {k: (None if pd.isna(v) else v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


COLUMNS = ["id", "alder_forsta_placering", "antal_insatser", "antal_placeringar", "antal_omplaceringar",
           "dagar_i_vard", "nagon_gang_lvu", "nagon_gang_hvb_sis", "forsta_placeringsform", "forsta_lagrum",
           "ny_placering_inom_12_man", "placering_efter_ivo_anmarkning"]


def test_columns_are_the_codebook_variables_one_row_per_child_sorted():
    m = measures(dict(id="b", startdatum="2019-01-01"), dict(id="a", startdatum="2019-01-01"))
    p = placements(dict(id="c", startdatum="2019-01-01"), dict(id="a", startdatum="2019-01-01"))
    result = placement_history(m, p, persons(a="2005-01-01", b="2005-01-01"), end_date=END)
    assert result.columns.tolist() == COLUMNS
    assert result["id"].tolist() == ["a", "b", "c"]
    # A child missing from persons keeps its row, with an unknown age.
    assert result["alder_forsta_placering"].isna().tolist() == [False, True, True]
    assert result["antal_placeringar"].tolist() == [1, 0, 1]


def test_a_measure_reported_in_every_snapshot_year_counts_once_with_its_latest_end():
    m = measures(dict(redovisningsar=2018, startdatum="2018-03-01"), dict(redovisningsar=2019, startdatum="2018-03-01"),
                 dict(redovisningsar=2020, startdatum="2018-03-01", slutdatum="2020-02-29", avslutsorsak="1"))
    p = placements(dict(redovisningsar=2018, startdatum="2018-03-01"),
                   dict(redovisningsar=2019, startdatum="2018-03-01"),
                   dict(redovisningsar=2019, placering_nr=2, startdatum="2019-06-01"),
                   dict(redovisningsar=2020, placering_nr=2, startdatum="2019-06-01", slutdatum="2020-02-29"))
    h = history(m, p)
    assert (h["antal_insatser"], h["antal_placeringar"], h["antal_omplaceringar"]) == (1, 2, 1)
    # 1 March 2018 to 29 February 2020 inclusive, the two placements overlapping from June 2019.
    assert h["dagar_i_vard"] == (date(2020, 2, 29) - date(2018, 3, 1)).days + 1
    # A batch delivered twice changes nothing.
    assert history(pd.concat([m, m]), pd.concat([p, p])) == h


def test_overlapping_and_adjacent_placements_count_each_day_once():
    p = placements(dict(startdatum="2019-01-01", slutdatum="2019-01-10"),
                   dict(insats_nr=2, startdatum="2019-01-05", slutdatum="2019-01-20"),
                   dict(insats_nr=3, startdatum="2019-01-21", slutdatum="2019-01-21"),
                   dict(insats_nr=4, startdatum="2019-02-01", slutdatum="2019-02-01"))
    assert history(p=p)["dagar_i_vard"] == 20 + 1 + 1


def test_open_spells_run_to_the_reference_date_and_later_starts_do_not_exist_yet():
    p = placements(dict(startdatum="2021-12-01"), dict(insats_nr=2, startdatum="2022-01-01"),
                   dict(insats_nr=3, startdatum="2021-11-01", slutdatum="2022-06-30"))
    h = history(p=p)
    assert h["dagar_i_vard"] == 61 and h["antal_placeringar"] == 2


def test_an_open_spell_missing_from_a_later_snapshot_ends_where_the_register_last_saw_it():
    # Open in 2018, absent from the 2019 snapshot although ongoing measures are reported every year.
    p = placements(dict(redovisningsar=2018, startdatum="2018-12-01"),
                   dict(id="other", redovisningsar=2019, startdatum="2019-01-01", slutdatum="2019-01-01"))
    assert history(p=p)["dagar_i_vard"] == 31
    # Open in a change-based year (2015): no change reported in 2016, no register for 2017, absent from 2018 —
    # the register last saw it ongoing on 31 December 2016.
    p = placements(dict(redovisningsar=2015, startdatum="2015-12-01"),
                   dict(id="other", redovisningsar=2016, startdatum="2016-01-01", slutdatum="2016-01-01"),
                   dict(id="other", redovisningsar=2018, startdatum="2018-01-01", slutdatum="2018-01-01"))
    assert history(p=p)["dagar_i_vard"] == 31 + 366
    # Open in the latest year delivered: ongoing to the reference date.
    p = placements(dict(redovisningsar=2021, startdatum="2021-12-01"))
    assert history(p=p)["dagar_i_vard"] == 31


@pytest.mark.parametrize("lagrum, expected", [("1", False), ("2", True), ("3", True), ("4", True), ("5", True)])
def test_ever_lvu_is_lagrum_2_to_5(lagrum, expected):
    assert history(measures(dict(lagrum=lagrum, startdatum="2019-01-01")))["nagon_gang_lvu"] == expected


@pytest.mark.parametrize("form, expected", [("1", False), ("3", False), ("4", True), ("5", True), ("6", False),
                                            ("7", True), ("8", False)])
def test_ever_hvb_or_sis_is_placeringsform_4_5_7(form, expected):
    assert history(p=placements(dict(placeringsform=form, startdatum="2019-01-01")))["nagon_gang_hvb_sis"] == expected


def test_the_first_placement_and_measure_and_the_age_at_the_first_placement():
    m = measures(dict(insats_nr=2, lagrum="5", startdatum="2019-03-15"), dict(insats_nr=1, lagrum="2",
                                                                             startdatum="2019-03-15"),
                 dict(insats_nr=3, lagrum="1", startdatum="2018-01-01", kommun="1480"))
    p = placements(dict(insats_nr=2, placeringsform="3", startdatum="2019-03-15"),
                   dict(insats_nr=1, placering_nr=2, placeringsform="5", startdatum="2019-03-15"),
                   dict(insats_nr=1, placering_nr=1, placeringsform="1", startdatum="2019-03-15"))
    h = history(m, p)
    assert (h["forsta_placeringsform"], h["forsta_lagrum"]) == ("1", "1")
    assert h["alder_forsta_placering"] == 14  # 15th birthday on 15 March 2020
    h = history(m.iloc[:2], p, people=persons(p="2005-03-15"))
    assert h["forsta_lagrum"] == "2"
    assert history(m, p, people=persons(p="2004-03-15"))["alder_forsta_placering"] == 15


@pytest.mark.parametrize("gap, reason, expected", [
    (1, "1", True), (365, "1", True), (366, "1", False), (0, "1", False),
    (30, "9", True), (30, None, True), (30, "2", True),
    (30, "5", False), (30, "8", False),  # a move or a change to another measure is a continuation
])
def test_a_new_measure_within_365_days_after_one_ended(gap, reason, expected):
    end = pd.Timestamp("2019-06-30")
    m = measures(dict(startdatum="2018-01-01", slutdatum=str(end.date()), avslutsorsak=reason),
                 dict(insats_nr=2, startdatum=str((end + pd.Timedelta(days=gap)).date())))
    assert history(m)["ny_placering_inom_12_man"] == expected


def test_no_return_without_an_ended_measure_or_after_the_reference_date():
    open_measure = measures(dict(startdatum="2018-01-01"), dict(insats_nr=2, startdatum="2018-06-01"))
    assert history(open_measure)["ny_placering_inom_12_man"] is False
    m = measures(dict(startdatum="2018-01-01", slutdatum="2021-06-30", avslutsorsak="1"),
                 dict(insats_nr=2, startdatum="2021-08-01"))
    assert history(m, end=date(2021, 7, 31))["ny_placering_inom_12_man"] is False
    assert history(m, end=date(2021, 8, 1))["ny_placering_inom_12_man"] is True


@pytest.mark.parametrize("decided, kind, expected", [
    ("2019-03-01", "2", True), ("2018-03-02", "2", True), ("2018-03-01", "2", False),  # 1, 365 and 366 days before
    ("2019-03-02", "2", False), ("2019-02-01", "1", False), ("2019-02-01", "5", True), ("2019-02-01", "3", True),
])
def test_placement_at_a_unit_criticised_by_ivo_in_the_year_before(decided, kind, expected):
    p = placements(dict(placeringsform="5", startdatum="2019-03-02", enhet_id="IVO-0000001"),
                   dict(insats_nr=2, placeringsform="1", startdatum="2019-04-01"))
    h = history(p=p, inspections=inspections(("IVO-0000001", decided, kind), ("IVO-0000002", "2019-03-01", "4")))
    assert h["placering_efter_ivo_anmarkning"] == expected


def test_without_inspections_the_ivo_flag_is_unknown():
    assert history(p=placements(dict(startdatum="2019-01-01")))["placering_efter_ivo_anmarkning"] is None


def test_a_missing_register_column_is_a_clear_input_error():
    with pytest.raises(InputError, match="placement_measure: no column 'lagrum'"):
        history(measures(dict(startdatum="2019-01-01")).drop(columns="lagrum"))


# ----------------------------------------------------------------------------------------------- populations, year 9
def test_year_9_runs_from_20_august_to_10_june():
    first, last = year9_school_year(np.array([2016, 2021]))
    assert first.tolist() == [date(2015, 8, 20), date(2020, 8, 20)]
    assert last.tolist() == [date(2016, 6, 10), date(2021, 6, 10)]


def flags(p: pd.DataFrame, people: pd.DataFrame | None = None, end: date = END, **options) -> dict:
    result = populations(p, persons(p="2000-07-01") if people is None else people, end_date=end, **options)
    assert result.columns.tolist() == ["id", "placerad_nagon_gang", "placerad_hela_ak9", "aldrig_placerad"]
    return {row.id: tuple(None if pd.isna(v) else bool(v) for v in row[2:]) for row in result.itertuples()}


@pytest.mark.parametrize("start, end, expected", [
    ("2015-08-20", "2016-06-10", True), ("2015-08-21", "2016-06-10", False), ("2015-08-20", "2016-06-09", False),
    ("2010-01-01", None, True),
])
def test_placed_the_whole_of_year_9(start, end, expected):
    # Born in 2000: leaves year 9 in spring 2016.
    assert flags(placements(dict(startdatum=start, slutdatum=end)))["p"] == (True, expected, False)


def test_placements_following_day_on_day_cover_year_9_but_a_one_day_gap_does_not():
    following = placements(dict(startdatum="2015-06-01", slutdatum="2015-12-31"),
                           dict(insats_nr=2, kommun="1480", startdatum="2016-01-01", slutdatum="2016-08-01"))
    assert flags(following)["p"] == (True, True, False)
    gap = placements(dict(startdatum="2015-06-01", slutdatum="2015-12-30"),
                     dict(insats_nr=2, startdatum="2016-01-01", slutdatum="2016-08-01"))
    assert flags(gap)["p"] == (True, False, False)


def test_an_open_placement_covers_year_9_only_up_to_the_reference_date():
    p = placements(dict(startdatum="2014-01-01"))
    assert flags(p, end=date(2016, 6, 10))["p"] == (True, True, False)
    assert flags(p, end=date(2016, 6, 9))["p"] == (True, False, False)
    assert flags(placements(dict(startdatum="2016-06-10")), end=date(2016, 6, 9))["p"] == (False, False, True)


def test_the_leaving_year_can_come_from_the_grade_register():
    p = placements(dict(startdatum="2016-08-01", slutdatum="2017-07-01"))
    assert flags(p)["p"] == (True, False, False)
    assert flags(p, year9_year=pd.Series({"p": 2017}))["p"] == (True, True, False)
    assert flags(p, year9_year=2017)["p"] == (True, True, False)
    assert flags(p, year9_year=pd.Series({"someone else": 2017}))["p"] == (True, False, False)


def test_never_placed_persons_and_persons_without_a_birth_date():
    people = persons(a="2000-01-01", b=None, p="2000-07-01")
    p = placements(dict(id="b", startdatum="2010-01-01"), dict(id="stranger", startdatum="2010-01-01"))
    assert flags(p, people) == {"a": (False, False, True), "b": (True, None, False), "p": (False, False, True)}


spell = st.tuples(st.integers(0, 60), st.integers(-1, 30), st.booleans())


@settings(max_examples=30, deadline=None)
@given(st.lists(spell, max_size=8))
def test_days_in_care_are_the_distinct_days_of_the_placements(spells):
    base = np.datetime64("2019-01-01")
    end = date(2019, 2, 15)
    rows = [dict(insats_nr=i + 1, startdatum=str(base + s), slutdatum=None if open_ else str(base + s + n))
            for i, (s, n, open_) in enumerate(spells)]
    expected = set()
    for s, n, open_ in spells:
        stop = min(base + s + (10**4 if open_ else n), np.datetime64(end))
        expected |= {base + s + k for k in range(int((stop - (base + s)).astype(int)) + 1)}
    result = placement_history(measures().iloc[:0], placements(*rows), persons(p="2005-03-15"), end_date=end)
    assert result.set_index("id")["dagar_i_vard"].get("p", 0) == len(expected)


@settings(max_examples=30, deadline=None)
@given(st.lists(spell, max_size=6), st.lists(spell, max_size=6))
def test_more_placements_never_undo_a_population_flag(spells, more):
    def placed(rows):
        base = np.datetime64("2015-06-01")
        frame = placements(*[dict(insats_nr=i + 1, startdatum=str(base + 7 * s), slutdatum=None if open_ else
                                  str(base + 7 * s + 11 * n)) for i, (s, n, open_) in enumerate(rows)])
        result = populations(frame, persons(p="2000-07-01"), end_date=END)
        return result[["placerad_nagon_gang", "placerad_hela_ak9"]].to_numpy(bool)
    assert (placed(spells + more) >= placed(spells)).all()


def test_a_child_whose_records_all_start_after_the_reference_date_has_no_history_yet():
    p = placements(dict(id="a", startdatum="2019-01-01"), dict(id="b", startdatum="2022-01-01"))
    result = placement_history(measures().iloc[:0], p, persons(a="2005-01-01", b="2005-01-01"), end_date=END)
    assert result["id"].tolist() == ["a"]


def test_dates_given_as_numbers_are_refused_not_read_as_nanoseconds():
    p = placements(dict(startdatum="2019-01-01")).assign(startdatum=20190101)
    with pytest.raises(InputError, match="placement_placement: column 'startdatum' holds numbers"):
        populations(p, persons(p="2005-01-01"), end_date=END)


def problems(frame: pd.DataFrame, codebook: str) -> list[tuple[str, str]]:
    """What the codebook finds wrong with the derived columns (beyond cohort columns derived elsewhere)."""
    report = codebooks.validate(frame.drop(columns="id"), codebooks.load(codebook))
    return [(p.variable, p.problem) for p in report.issues if p.variable in frame.columns]


def test_the_derived_columns_are_the_codebooks_variables_and_validate():
    m = measures(dict(lagrum="2", startdatum="2019-01-01", slutdatum="2019-05-01", avslutsorsak="1"),
                 dict(insats_nr=2, startdatum="2019-06-01"))
    p = placements(dict(placeringsform="5", startdatum="2019-01-01", enhet_id="IVO-0000001"))
    people = persons(p="2005-03-15", q=None)
    ivo = inspections(("IVO-0000001", "2018-06-01", "2"))
    assert problems(placement_history(m, p, people, end_date=END, inspections=ivo), "placement_history") == []
    assert problems(populations(p, people, end_date=END), "cohort") == []
