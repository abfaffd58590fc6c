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
