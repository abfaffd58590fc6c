"""The disclosure check: k-anonymity over the persons table's quasi-identifiers; fail, suppress or generalise."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import codebooks
from linkage.errors import ReglinkError
from linkage.extract.disclosure import Classes, DisclosureError, check_k
from linkage.extract.minimise import minimise

COLUMNS = ["pseudonym_id", "kon", "fodelsear", "fodelsedatum", "kommun", "lan", "placerad_nagon_gang"]
CODEBOOK = codebooks.load("cohort").select(COLUMNS)
LAN_OF = codebooks.codelist("kommun").group_map()
QIS = ["kon", "fodelsear", "kommun"]


def persons(rows: list[tuple]) -> pd.DataFrame:
    """A persons table typed as the derive stage hands it over: (kon, fodelsear, fodelsedatum, kommun) per person;
    lan follows kommun, and the pseudonyms and placement flags are made up."""
    kon, year, born, kommun = zip(*rows) if rows else ((), (), (), ())
    return pd.DataFrame({
        "pseudonym_id": pd.array([f"{i:032x}" for i in range(len(rows))], dtype="string"),
        "kon": pd.array(kon, dtype="string"),
        "fodelsear": pd.array(year, dtype="Int64"),
        "fodelsedatum": pd.to_datetime(pd.Series(born, dtype="object")).astype("datetime64[ns]"),
        "kommun": pd.array(kommun, dtype="string"),
        "lan": pd.array([LAN_OF[c] if c else None for c in kommun], dtype="string"),
        "placerad_nagon_gang": pd.array([i % 3 == 0 for i in range(len(rows))], dtype="boolean"),
    })


def person(kon, year, kommun, born=None):
    return (kon, year, born or dt.date(year, 6, 1), kommun)


#: Two classes of at least 5; a class of 4 whose kommun is missing; two persons in a small kommun; one person alone.
SMALL_CELLS = (
    [person("1", 2000, "0180")] * 6 + [person("2", 2000, "0180")] * 5 + [person("1", 2000, None)] * 4
    + [person("1", 2000, "0181")] * 2 + [person("2", 2001, "1480")]
)


def test_fail_stops_with_counts_and_no_values():
    frame = persons(SMALL_CELLS)
    with pytest.raises(DisclosureError) as caught:
        check_k(frame, CODEBOOK, quasi_identifiers=QIS, k=5, action="fail")
    message = str(caught.value)
    assert message == ("disclosure check failed: 3 class(es) holding 7 person(s) are below k = 5 over the "
                       "quasi-identifiers kon, fodelsear, kommun; set disclosure.action to suppress or generalise, "
                       "or use fewer quasi-identifiers")
    assert isinstance(caught.value, ReglinkError)
    assert not any(value in message for value in ("0181", "1480", "2001", "2000"))


def test_fail_passes_an_anonymous_table_unchanged():
    frame = persons([person("1", 2000, "0180")] * 5 + [person("2", 2000, "0180")] * 5)
    checked = check_k(frame, CODEBOOK, quasi_identifiers=QIS, k=5, action="fail")
    assert checked.frame is frame and checked.codebook is CODEBOOK
    assert checked.report.before == checked.report.after == Classes(2, 0, 0, 0)


def test_a_missing_value_is_a_value_of_its_own():
    frame = persons([person("1", 2000, None)] * 5 + [person("1", 2000, "0180")] * 5)
    report = check_k(frame, CODEBOOK, quasi_identifiers=QIS, k=5, action="fail").report
    assert report.before == Classes(classes=2, classes_below_k=0, persons_below_k=0, all_missing=0)


def test_suppress_sets_the_fewest_quasi_identifiers_missing():
    frame = persons(SMALL_CELLS)
    checked = check_k(frame, CODEBOOK, quasi_identifiers=QIS, k=5, action="suppress")
    out = checked.frame
    # The pair in 0181 loses only kommun and joins the four without one; the lone person loses all three.
    assert out["kommun"].isna().tolist() == [False] * 11 + [True] * 7
    assert out["kon"].isna().tolist() == [False] * 17 + [True]
    assert out["fodelsear"].isna().tolist() == [False] * 17 + [True]
    assert out["kon"].tolist()[:17] == frame["kon"].tolist()[:17]
    for column in ("pseudonym_id", "fodelsedatum", "lan", "placerad_nagon_gang"):
        pd.testing.assert_series_equal(out[column], frame[column])
    assert checked.codebook == CODEBOOK
    report = checked.report
    assert report.before == Classes(classes=5, classes_below_k=3, persons_below_k=7, all_missing=0)
    assert report.after == Classes(classes=4, classes_below_k=0, persons_below_k=0, all_missing=1)
    assert [(c.name, c.suppressed) for c in report.changes] == [("kon", 1), ("fodelsear", 1), ("kommun", 3)]


def test_generalise_coarsens_a_birth_date_before_suppressing():
    born = [dt.date(2000, 1, day) for day in range(1, 11)]
    frame = persons([person("1", 2000, "0180" if d.day <= 5 else "0181", d) for d in born])
    qis = ["kon", "fodelsedatum", "kommun"]
    checked = check_k(frame, CODEBOOK, quasi_identifiers=qis, k=5, action="generalise")
    assert checked.frame["fodelsedatum"].tolist() == ["2000-01"] * 10
    assert checked.frame["kommun"].tolist() == frame["kommun"].tolist()
    assert checked.codebook.variable("fodelsedatum").type == "string"
    assert [(c.name, c.generalised, c.dropped_for, c.suppressed) for c in checked.report.changes] == [
        ("kon", None, None, 0), ("fodelsedatum", "month", None, 0), ("kommun", None, None, 0)]
    assert codebooks.validate(checked.frame, checked.codebook).ok


def test_generalise_drops_kommun_where_lan_is_delivered_then_suppresses_the_rest():
    stockholm = ["0114", "0115", "0117", "0120", "0123", "0125", "0126", "0127", "0128", "0136"]
    frame = persons([person("1", 2000, k) for k in stockholm] + [person("1", 2000, k) for k in ("1480", "1481")])
    checked = check_k(frame, CODEBOOK, quasi_identifiers=["kon", "fodelsear", "kommun", "lan"], k=5,
                      action="generalise")
    assert list(checked.frame.columns) == [c for c in COLUMNS if c != "kommun"]
    assert checked.codebook.names == tuple(checked.frame.columns)
    assert "kommun" not in [c.name for c in checked.codebook.codelists]
    assert checked.frame["lan"].tolist() == ["01"] * 10 + [pd.NA] * 2
    changes = {c.name: c for c in checked.report.changes}
    assert changes["kommun"].dropped_for == "lan"
    assert changes["lan"].suppressed == 2
    assert checked.report.after.persons_below_k == 0


def test_the_report_shows_small_counts_as_below_k_and_no_values():
    checked = check_k(persons(SMALL_CELLS), CODEBOOK, quasi_identifiers=QIS, k=5, action="suppress")
    text = checked.report.markdown()
    assert "| Personer / Persons | 18 | 18 |" in text
    assert "| Personer i klasser under k / Persons in classes below k | 7 | 0 |" in text
    assert "| Klasser under k / Classes below k | <5 | 0 |" in text
    assert "| `kommun` | – | – | <5 |" in text
    assert "k = 5" in text and "`kon`, `fodelsear`, `kommun`" in text and "`suppress`" in text
    assert not any(value in text for value in ("0181", "1480", "2001"))
    for count in range(1, 5):
        assert f"| {count} |" not in text


@pytest.mark.parametrize(("arguments", "message"), [
    ({"k": 1}, "disclosure.k: must be an integer of at least 2"),
    ({"action": "drop"}, "disclosure.action: must be one of fail, suppress, generalise"),
    ({"quasi_identifiers": ["kon", "kon"]}, "'kon' is listed twice"),
    ({"quasi_identifiers": ["pseudonym_id"]}, "'pseudonym_id' is unique to each person"),
    ({"quasi_identifiers": ["fodelseland_grupp"]}, "'fodelseland_grupp' is not a variable of codebook 'cohort'"),
])
def test_settings_that_cannot_be_applied_are_one_line_errors(arguments, message):
    with pytest.raises(DisclosureError, match=message):
        check_k(persons(SMALL_CELLS), CODEBOOK, **{"quasi_identifiers": QIS, "k": 5, "action": "fail", **arguments})


def test_a_quasi_identifier_without_a_column_is_an_error():
    with pytest.raises(DisclosureError, match="'lan' is not a column of the table"):
        check_k(persons(SMALL_CELLS).drop(columns="lan"), CODEBOOK, quasi_identifiers=["lan"], k=5, action="fail")


def test_after_minimise_the_birth_year_is_a_quasi_identifier_like_any_other():
    frame, codebook = minimise(persons(SMALL_CELLS), CODEBOOK, precision="month", birth_precision="year")
    checked = check_k(frame, codebook, quasi_identifiers=["kon", "fodelsedatum", "kommun"], k=5, action="generalise")
    assert checked.codebook.variable("fodelsedatum").type == "integer"  # a year cannot be coarsened further
    assert checked.report.after.persons_below_k == 0


# ------------------------------------------------------------------------------------------------- properties

KOMMUNER = ["0180", "0181", "0114", "1480", "1481", None]  # two län, and missing
people = st.lists(st.tuples(
    st.sampled_from(["1", "2", None]),
    st.sampled_from([1999, 2000, 2001, None]),
    st.one_of(st.none(), st.dates(dt.date(1999, 11, 1), dt.date(2000, 2, 29))),
    st.sampled_from(KOMMUNER),
), max_size=80)
quasi_identifiers = st.lists(st.sampled_from(["kon", "fodelsear", "fodelsedatum", "kommun", "lan"]), unique=True,
                             max_size=5)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=people, qis=quasi_identifiers, k=st.integers(2, 6), action=st.sampled_from(["suppress", "generalise"]))
def test_after_suppress_or_generalise_no_class_is_below_k_but_the_all_missing_one(rows, qis, k, action):
    frame = persons(rows)
    checked = check_k(frame, CODEBOOK, quasi_identifiers=qis, k=k, action=action)
    out = checked.frame
    remaining = [name for name in qis if name in out.columns]
    if remaining:
        sizes = out.groupby(remaining, dropna=False)["pseudonym_id"].transform("size")
        exempt = out[remaining].isna().all(axis=1)
        assert ((sizes >= k) | exempt).all()
    assert checked.report.after.persons_below_k == 0
    # Rows are never dropped or reordered; what is not a quasi-identifier is never touched.
    assert out.index.equals(frame.index)
    for column in out.columns:
        if column not in qis:
            pd.testing.assert_series_equal(out[column], frame[column])
        elif checked.codebook.variable(column).type == CODEBOOK.variable(column).type:
            kept = out[column].notna()
            assert out[column][kept].tolist() == frame[column][kept].tolist()
    assert list(out.columns) == list(checked.codebook.names)
    assert codebooks.validate(out, checked.codebook).ok
    # Deterministic: the same input gives the same output.
    again = check_k(persons(rows), CODEBOOK, quasi_identifiers=qis, k=k, action=action)
    pd.testing.assert_frame_equal(again.frame, out)
    assert again.report == checked.report and again.codebook == checked.codebook
