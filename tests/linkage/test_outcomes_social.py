"""Social outcomes: LVM care before 25 from three unlinked sub-registers, death and emigration before 25."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codebooks
from linkage.errors import InputError
from linkage.outcomes import death_and_emigration, lvm_by_age


def persons(**births: str | None) -> pd.DataFrame:
    return pd.DataFrame({"id": list(births), "kon": 1, "fodelsedatum": pd.to_datetime(list(births.values()))})


def application(*rows: tuple[str, str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "beslutsdatum", "utfall"]).assign(kommun="0180", grund="1", missbruk="2")
    return frame.assign(beslutsdatum=pd.to_datetime(frame["beslutsdatum"]))


def emergency(*rows: tuple[str, str, bool]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "beslutsdatum", "faststallt"]).assign(kommun="0180")
    return frame.assign(beslutsdatum=pd.to_datetime(frame["beslutsdatum"]),
                        faststallt=frame["faststallt"].astype("boolean"))


def discharge(*rows: tuple[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "inskrivningsdatum"])
    return frame.assign(inskrivningsdatum=pd.to_datetime(frame["inskrivningsdatum"]),
                        utskrivningsdatum=pd.to_datetime(frame["inskrivningsdatum"]) + pd.Timedelta(days=90))


def values(result: pd.DataFrame, column: str) -> dict:
    return {row.id: (None if pd.isna(getattr(row, column)) else getattr(row, column)) for row in result.itertuples()}


ONE = persons(p="1995-04-20")


@pytest.mark.parametrize("day, age, expected", [("2020-04-19", 24, True), ("2020-04-20", 25, False)])
def test_a_granted_application_before_the_25th_birthday(day, age, expected):
    result = lvm_by_age(application(("p", day, "1")), None, None, ONE)
    assert result.columns.tolist() == ["id", "lvm_fore_25", "alder_forsta_lvm"]
    assert values(result, "lvm_fore_25") == {"p": expected}
    assert values(result, "alder_forsta_lvm") == {"p": age}


def test_only_granted_applications_and_confirmed_detentions_count():
    result = lvm_by_age(application(("p", "2015-01-01", "2")), emergency(("p", "2015-01-01", False)), None, ONE)
    assert values(result, "lvm_fore_25") == {"p": False}
    assert values(result, "alder_forsta_lvm") == {"p": None}
    result = lvm_by_age(application(), emergency(("p", "2015-01-01", True)), discharge(), ONE)
    assert values(result, "lvm_fore_25") == {"p": True}


def test_each_sub_register_counts_on_its_own_and_the_first_event_gives_the_age():
    people = persons(a="1995-04-20", b="1995-04-20", c="1995-04-20", d=None)
    result = lvm_by_age(application(("a", "2022-01-01", "1")), emergency(("c", "2021-01-01", True)),
                        discharge(("b", "2016-06-01"), ("a", "2019-01-01"), ("d", "2016-01-01")), people)
    assert values(result, "lvm_fore_25") == {"a": True, "b": True, "c": False, "d": None}
    assert values(result, "alder_forsta_lvm") == {"a": 23, "b": 21, "c": 25, "d": None}
    assert result["alder_forsta_lvm"].dtype == "Int64"


def test_the_age_limit_is_a_parameter_and_names_the_column():
    result = lvm_by_age(None, None, discharge(("p", "2015-01-01")), ONE, age=21)
    assert values(result, "lvm_fore_21") == {"p": True}


def test_a_bad_sub_register_is_a_clear_input_error():
    with pytest.raises(InputError, match="lvm_application: no column 'utfall'"):
        lvm_by_age(application().drop(columns="utfall"), None, None, ONE)


event = st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 40 * 365), st.sampled_from(["1", "2"]))
PEOPLE = persons(a="1990-01-01", b="1996-02-29")


@settings(max_examples=30, deadline=None)
@given(st.lists(event, max_size=8), st.lists(event, max_size=8))
def test_more_events_never_undo_lvm_care(rows, more):
    def outcome(records):
        frame = application(*[(who, str(pd.Timestamp("1990-01-01") + pd.Timedelta(days=d)), granted)
                              for who, d, granted in records])
        return lvm_by_age(frame, None, None, PEOPLE)["lvm_fore_25"].to_numpy(bool)
    assert (outcome(rows + more) >= outcome(rows)).all()


def test_death_and_emigration_before_25_and_by_the_reference_date():
    people = persons(a="1995-04-20", b="1995-04-20", c="1995-04-20", d="1995-04-20").assign(
        dodsdatum=pd.to_datetime(["2020-04-19", "2020-04-20", None, "2019-06-01"]),
        utvandringsdatum=pd.to_datetime([None, "2010-01-01", "2020-04-20", None]))
    result = death_and_emigration(people, end_date=date(2019, 12, 31))
    assert result.columns.tolist() == ["id", "dod_fore_25", "utvandrad_fore_25"]
    assert values(result, "dod_fore_25") == {"a": False, "b": False, "c": False, "d": True}
    assert values(result, "utvandrad_fore_25") == {"a": False, "b": True, "c": False, "d": False}
    later = death_and_emigration(people, end_date=date(2030, 1, 1))
    assert values(later, "dod_fore_25") == {"a": True, "b": False, "c": False, "d": True}


def test_the_columns_are_social_outcomes_variables_and_validate():
    people = persons(a="1995-04-20", b=None).assign(dodsdatum=pd.NaT, utvandringsdatum=pd.NaT)
    frames = [lvm_by_age(application(("a", "2016-01-01", "1")), None, None, people),
              death_and_emigration(people, end_date=date(2025, 1, 1))]
    derived = pd.concat([frame.set_index("id") for frame in frames], axis=1).reset_index(drop=True)
    report = codebooks.validate(derived, codebooks.load("social_outcomes"))
    assert report.ok, report.to_text()
