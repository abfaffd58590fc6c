"""`Persons.of` (through `linkage.memo.FrameMemo`) checks and sorts a persons frame once and serves it to every
outcome function while the frame's ids and birth dates stay what they were — even when pandas remakes the frame's
column objects."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.errors import InputError
from linkage.outcomes.persons import Persons


def persons() -> pd.DataFrame:
    frame = pd.DataFrame({"id": pd.array(["p3", "p1", "p2"], dtype="string[pyarrow]")})
    frame["fodelsedatum"] = np.array(["2001-02-03", "2000-01-01", "NaT"], dtype="datetime64[ns]")
    frame["utvandrad"] = np.array(["2020-01-01", "NaT", "NaT"], dtype="datetime64[ns]")  # a block of its own
    return frame


def test_one_persons_frame_is_checked_once_though_pandas_consolidates_its_columns():
    frame = persons()
    first, column = Persons.of(frame), frame["fodelsedatum"].array
    frame.reset_index(drop=True)  # consolidates the frame: its date columns become one block, new column objects
    assert frame["fodelsedatum"].array is not column
    assert Persons.of(frame) is first
    assert list(first.ids) == ["p1", "p2", "p3"]
    assert first.birth.astype(str).tolist() == ["2000-01-01", "NaT", "2001-02-03"]


def test_changed_ids_or_birth_dates_are_checked_again():
    frame = persons()
    first = Persons.of(frame)
    frame["fodelsedatum"] = np.array(["2001-02-04", "2000-01-01", "NaT"], dtype="datetime64[ns]")
    again = Persons.of(frame)
    assert again is not first and again.birth.astype(str).tolist()[-1] == "2001-02-04"
    frame["id"] = pd.array(["p1", "p1", "p2"], dtype="string[pyarrow]")
    with pytest.raises(InputError, match="not unique"):
        Persons.of(frame)


def test_what_is_remembered_goes_with_the_frame():
    import gc

    from linkage.outcomes import persons as module

    frame = persons()
    Persons.of(frame)
    assert module._PERSONS._entry is not None
    del frame
    gc.collect()
    assert module._PERSONS._entry is None


_DAYS = st.one_of(st.none(), st.dates(date(1996, 2, 25), date(2004, 3, 2)),
                  st.sampled_from([date(2000, 2, 29), date(2001, 2, 28), date(2001, 3, 1), date(2004, 2, 29)]))


def _as_days(values: list[date | None]) -> np.ndarray:
    return np.array([np.datetime64("NaT") if v is None else np.datetime64(v, "D") for v in values], dtype="M8[D]")


@settings(max_examples=150, deadline=None)
@given(births=st.lists(_DAYS, min_size=1, max_size=6), events=st.lists(_DAYS, max_size=60),
       window=st.tuples(st.integers(0, 5), st.integers(1, 4)), long=st.booleans())
def test_ages_in_windows_are_completed_years_as_age_on_counts_them(births, events, window, long):
    """`any_at_age` by calendar keys against `age_on`, with 29 February births and events, missing dates, rows of
    no person, and (`long`) enough rows that the keys go through a table of days."""
    from linkage.outcomes.persons import age_on, calendar_keys

    low, width = window
    for born in (b for b in births if b is not None):  # the window's edges: the birthdays and the days before
        for age in (low, low + width):
            try:
                birthday = born.replace(year=born.year + age)
            except ValueError:  # 29 February in another year: the birthday is 1 March
                birthday = date(born.year + age, 3, 1)
            events += [birthday, birthday - timedelta(days=1)]
    if long:
        events = events * 40
    frame = pd.DataFrame({"id": [f"p{i}" for i in range(len(births))], "fodelsedatum": _as_days(births)})
    people = Persons.of(frame)
    who = [f"p{i % (len(births) + 1)}" for i in range(len(events))]  # p<n>: no person here
    when = _as_days(events)
    found = people.any_at_age(pd.Series(who), when, {"all": np.ones(len(events), bool)}, from_age=low,
                              to_age=low + width)["all"]
    birth = dict(zip(frame["id"], frame["fodelsedatum"].to_numpy("M8[D]")))
    expected = []
    for person in people.ids:
        if np.isnat(birth[person]):
            expected.append(None)
            continue
        ages = [age_on(np.array([birth[person]]), np.array([w]))[0] for p, w in zip(who, when) if p == person]
        expected.append(any(low <= a < low + width for a in ages))
    assert [None if pd.isna(v) else bool(v) for v in found] == expected
    keys = calendar_keys(when)
    assert keys.tolist() == [-1 if e is None else e.year * 10_000 + e.month * 100 + e.day for e in events]
