"""`Persons.of` (through `linkage.memo.FrameMemo`) checks and sorts a persons frame once and serves it to every outcome function while the frame's ids
and birth dates stay what they were — even when pandas remakes the frame's column objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
