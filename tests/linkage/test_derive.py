"""Deriving the example request's variables from a linked world (`linkage.extract.derive`): the cohort and its
flags, and the person-level variables, whichever way the derivers are handed the registers' rows."""

from __future__ import annotations

import pandas as pd

from linkage import outcomes
from linkage.extract import derive
from linkage.extract.request import EXAMPLE, parse_request
from linkage.linking import LinkedWorld


def test_the_cohort_flags_placed_in_year_9_by_each_childs_latest_leaving_year(linked_world):
    request = parse_request(EXAMPLE)
    people = derive.cohort(linked_world, request)
    grades = linked_world.for_outcomes("grades_year9", ["avgangsar"])
    leaving = grades.groupby("id", observed=True)["avgangsar"].max()
    expected = outcomes.populations(linked_world.for_outcomes("placement_placement"), people,
                                    end_date=request.reference_date, year9_year=leaving)
    assert people["placerad_hela_ak9"].sum() > 0
    pd.testing.assert_series_equal(people["placerad_hela_ak9"], expected["placerad_hela_ak9"], check_names=False)


def test_derived_variables_are_the_same_whether_others_records_are_dropped_or_passed_over(linked_world,
                                                                                          monkeypatch):
    """`for_outcomes(others=True)` hands the outcome functions a register's rows as they are when the persons' own
    are most of them (here: all but every fifth person, and unlinked records): every derived variable of the
    example request comes out as from the filtered copy."""
    request = parse_request(EXAMPLE)
    people = derive.cohort(linked_world, request)
    people = people.drop(index=people.index[::5]).reset_index(drop=True)
    ids = pd.Index(people["id"])
    rows = linked_world.for_outcomes("patient", of=ids, others=True)
    assert len(rows) == len(linked_world.registers["patient"]) > 1.1 * len(linked_world.for_outcomes("patient", of=ids))
    assert rows["id"].isna().any()
    passed_over = derive.persons_table(linked_world, request, people)
    real = LinkedWorld.for_outcomes
    monkeypatch.setattr(LinkedWorld, "for_outcomes", lambda self, *args, others=False, **kwargs:
                        real(self, *args, **kwargs))
    pd.testing.assert_frame_equal(passed_over, derive.persons_table(linked_world, request, people))


def test_kommun_at_15_is_where_the_person_was_registered_on_their_15th_birthday():
    """Spells cover their first and last day; an open spell runs on; a person with no covering spell, no birth
    date or no residence row has no kommun; rows of others are passed over; län follows the kommun."""
    persons = pd.DataFrame({"id": ["a", "b", "c", "d", "e"],
                            "fodelsedatum": pd.to_datetime(["2000-03-10", "2000-02-29", "2001-01-01", None,
                                                            "2002-06-01"])})
    spells = [("a", "0180", "2000-03-10", "2015-03-09"), ("a", "1280", "2015-03-10", None),  # moved that day
              ("b", "0180", "2014-01-01", "2015-02-28"), ("b", "2480", "2015-03-01", "2016-01-01"),  # 29 Feb born
              ("c", "0180", "2010-01-01", "2015-12-31"),  # moved before turning 15
              ("d", "0180", "2000-01-01", None), ("x", "0180", "2000-01-01", None)]
    residence = pd.DataFrame(spells, columns=["pseudonym_id", "kommun", "fran_datum", "till_datum"]).astype(
        {"kommun": "string", "fran_datum": "datetime64[ns]", "till_datum": "datetime64[ns]"})
    found = derive.residence_at_15(persons, residence).set_index("id")
    for column, expected in (("kommun", ["1280", "2480", None, None, None]), ("lan", ["12", "24", None, None, None])):
        assert [None if pd.isna(v) else v for v in found[column]] == expected


def test_derivers_in_lanes_side_by_side_give_the_same_table(linked_world):
    """With workers, derivers run in lanes side by side: the table is the one they make one after another, and the
    derivers that read a register in common (their copy of it is shared, then let go of) are in one lane."""
    request = parse_request(EXAMPLE)
    people = derive.cohort(linked_world, request)
    derivers = list(dict.fromkeys(d for name in request.person_variables if (d := derive._deriver_of(name))))
    lanes = derive._lanes(derivers, 2, linked_world, len(people))
    assert len(lanes) == 2 and sorted(n for lane in lanes for n in lane) == list(range(len(derivers)))
    lane_of = {n: i for i, lane in enumerate(lanes) for n in lane}
    for a, first in enumerate(derivers):
        for b, second in enumerate(derivers):
            if set(first.registers) & set(second.registers):
                assert lane_of[a] == lane_of[b], (first.columns[0], second.columns[0])
    assert derive._lanes(derivers, 1, linked_world, len(people)) == [list(range(len(derivers)))]
    pd.testing.assert_frame_equal(derive.persons_table(linked_world, request, people, workers=2),
                                  derive.persons_table(linked_world, request, people))
