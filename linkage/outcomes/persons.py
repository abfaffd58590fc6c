"""The `persons` frame every outcome is computed for: event rows mapped to persons, ages at events, one row per person.

Ages are in completed years: a person is `a` years old from the `a`-th birthday on; someone born on 29 February turns
a year older on 1 March in other years (the day after 28 February, as the usual age computation gives). Observation
windows by age are half-open, [birthday `from_age`, birthday `to_age`): "13–24" is from the 13th birthday to the day
before the 25th.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.errors import InputError
from linkage.io import require_columns
from linkage.memo import FrameMemo, PairMemo

DAY = "datetime64[D]"
#: Day numbers (days since 1970) are shifted by OFFSET into [0, SPAN) so that (group, day) pairs pack into one int64.
OFFSET = 800_000
SPAN = 4_000_000


def days(values: pd.Series, *, source: str, column: str) -> np.ndarray:
    """A date column as datetime64[D] (NaT where missing); an unreadable column is an InputError naming it."""
    if pd.api.types.is_numeric_dtype(values):  # e.g. 20150101 as a number: would silently read as nanoseconds
        raise InputError(f"{source}: column '{column}' holds numbers, not dates")
    if pd.api.types.is_datetime64_dtype(values.dtype):  # already dates (as ingest types them): no parsing
        return values.to_numpy(DAY)
    try:
        return pd.to_datetime(values).to_numpy(DAY)
    except (TypeError, ValueError) as error:
        raise InputError(f"{source}: column '{column}' is not a date column ({type(error).__name__})") from None


def as_day(value: date | str | pd.Timestamp | np.datetime64) -> np.datetime64:
    """One reference date as datetime64[D]."""
    day = pd.Timestamp(value)
    if pd.isna(day):
        raise InputError("the reference date is missing")
    return np.datetime64(day.date(), "D")


def year_of(day: np.ndarray) -> np.ndarray:
    """Calendar year of each day (garbage where NaT: mask first)."""
    return day.astype("datetime64[Y]").astype(np.int64) + 1970


def year_end(year: np.ndarray | int) -> np.ndarray:
    """31 December of each year as datetime64[D]."""
    return (np.asarray(year, dtype=np.int64) - 1969).astype("datetime64[Y]").astype(DAY) - np.timedelta64(1, "D")


def age_on(birth: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Age in completed years on `when` (float64, NaN where either date is missing)."""
    age = (year_of(when) - year_of(birth) - (_month_day(when) < _month_day(birth))).astype(np.float64)
    return np.where(np.isnat(birth) | np.isnat(when), np.nan, age)


def calendar_keys(day: np.ndarray) -> np.ndarray:
    """Year × 10 000 + month × 100 + day of month of each date (int64, -1 where NaT). Keys compare as the dates do,
    and a person is at least `a` years old on a date exactly when its key is at least their birth's key + a × 10 000
    (completed years, as `age_on`: born on 29 February, a year older on 1 March in other years). A long array goes
    through a table of the days it spans: the calendar is worked out once per day, not once per row."""
    day = np.asarray(day).astype(DAY, copy=False)
    valid = ~np.isnat(day)
    if not valid.any():
        return np.full(len(day), -1, dtype=np.int64)
    ints = day.view(np.int64)
    low = int(ints.min(where=valid, initial=np.iinfo(np.int64).max))
    high = int(ints.max(where=valid, initial=np.iinfo(np.int64).min))
    if len(day) > 4 * (high - low + 1):
        span = np.arange(low, high + 1).astype(DAY)
        keys = (year_of(span) * 10_000 + _month_day(span))[np.clip(ints - low, 0, high - low)]  # NaT: clipped
    else:
        keys = year_of(day) * 10_000 + _month_day(day)
    keys[~valid] = -1
    return keys


def _month_day(day: np.ndarray) -> np.ndarray:
    """Month * 100 + day of month (1 March = 301)."""
    month = day.astype("datetime64[M]")
    return (month.astype(np.int64) % 12 + 1) * 100 + (day - month.astype(DAY)).astype(np.int64) + 1


def pack(group: np.ndarray, day: np.ndarray) -> np.ndarray:
    """(group, day) pairs as one sortable int64 key: group-major, then day."""
    return group.astype(np.int64) * SPAN + day.astype(np.int64) + OFFSET


def any_within(query_group: np.ndarray, low: np.ndarray, high: np.ndarray, event_group: np.ndarray,
               event_day: np.ndarray) -> np.ndarray:
    """Per query: is there an event of the same group dated `low` ≤ day ≤ `high` (days as datetime64[D], no NaT)?"""
    events = np.sort(pack(event_group, event_day))
    at = np.searchsorted(events, pack(query_group, low), side="left")
    found = at < len(events)
    found[found] = events[at[found]] <= pack(query_group, high)[found]
    return found


@dataclass(frozen=True)
class Persons:
    """`persons` sorted by `id`: the ids and their birth dates (datetime64[D], NaT where unknown)."""

    ids: pd.Index
    birth: np.ndarray
    frame: pd.DataFrame

    @classmethod
    def of(cls, persons: pd.DataFrame, *, columns: tuple[str, ...] = ()) -> Persons:
        """Check and sort a persons frame (`id` unique, `fodelsedatum` a date, plus any `columns` needed).

        The result is remembered for the frame while its `id` and `fodelsedatum` columns hold the same values
        (`FrameMemo`): one persons frame serves many outcome functions, and a million ids need not be checked and
        hashed each time."""
        require_columns(persons, ["id", "fodelsedatum", *columns], source="persons")
        return _PERSONS.get(persons, cls._checked)

    @classmethod
    def _checked(cls, persons: pd.DataFrame) -> Persons:
        frame = persons.reset_index(drop=True)
        if not frame["id"].is_monotonic_increasing:  # a cohort frame comes sorted: no need to sort it again
            frame = frame.take(sort_order(frame["id"])).reset_index(drop=True)
        ids = pd.Index(frame["id"].to_numpy(dtype=object, na_value=None))
        if not ids.is_unique:
            raise InputError(f"persons: column 'id' is not unique ({int(ids.duplicated().sum())} repeated rows)")
        return cls(ids, days(frame["fodelsedatum"], source="persons", column="fodelsedatum"), frame)

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: pd.Series) -> np.ndarray:
        """Row of each id in the sorted persons (-1 where the id is not a person here): `positions_in`."""
        return positions_in(self.ids, ids)

    def any(self, position: np.ndarray) -> np.ndarray:
        """Per person: does any of `position` (rows already selected; -1 ignored) point at them?"""
        out = np.zeros(len(self), dtype=bool)
        out[position[position >= 0]] = True
        return out

    def any_at_age(self, ids: pd.Series, when: np.ndarray, selections: dict[str, np.ndarray], *, from_age: int,
                   to_age: int) -> dict[str, pd.arrays.BooleanArray]:
        """Per selection of rows, per person: any selected event dated within ages [from_age, to_age).

        Unknown (NA) for persons without a birth date; rows of ids not in persons are not counted."""
        if not 0 <= from_age < to_age:
            raise ValueError(f"the age window needs 0 <= from_age < to_age (got {from_age}, {to_age})")
        row = np.flatnonzero(np.logical_or.reduce([*selections.values(), np.zeros(len(ids), bool)]))
        position = self.positions(ids.iloc[row])
        born = calendar_keys(self.birth)
        born[np.isnat(self.birth)] = _NEVER  # no birth date: no age, no row counts (and the flag is NA)
        start = np.append(born, _NEVER)[position] + from_age * 10_000  # the last: rows of no person here
        key = calendar_keys(when[row])
        inside = (key >= start) & (key < start + (to_age - from_age) * 10_000)
        return {name: self.flag(self.any(position[inside & selected[row]])) for name, selected in selections.items()}

    def flag(self, values: np.ndarray) -> pd.arrays.BooleanArray:
        """A per-person boolean as a nullable column: NA where the birth date (so any age window) is unknown."""
        return pd.arrays.BooleanArray(values.astype(bool), np.isnat(self.birth))

    def result(self, **columns) -> pd.DataFrame:
        """One row per person, sorted by id: `id` and the given columns."""
        return pd.DataFrame({"id": self.ids.to_numpy(), **columns})


#: A calendar key beyond every date's (`calendar_keys`).
_NEVER = 10**12

#: The last persons frame checked (`Persons.of`).
_PERSONS: FrameMemo[Persons] = FrameMemo("id", "fodelsedatum")
_LOOKUPS: PairMemo[np.ndarray] = PairMemo()


def positions_in(index: pd.Index, ids: pd.Series) -> np.ndarray:
    """Position of each id in a unique `index` (-1 where absent). Categorical ids (as `LinkedWorld.for_outcomes`
    gives them) are looked up once per distinct id, not once per row; a missing id (code -1) is absent."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return np.r_[distinct_positions(index, np.asarray(ids.cat.categories)), -1][ids.cat.codes.to_numpy()]
    return index.get_indexer(ids)


def distinct_positions(index: pd.Index, distinct: np.ndarray) -> np.ndarray:
    """Position of each of `distinct` ids (a categorical's categories) in a unique `index`, -1 where absent. The
    persons of a cohort and a register's million pseudonyms are looked up by one outcome after another: each pair
    is hashed and looked up once (`PairMemo`, by identity: an Index and a categorical's categories do not change)."""
    return _LOOKUPS.get(index, distinct, lambda index, distinct: index.get_indexer(distinct))


def sort_order(ids: pd.Series) -> np.ndarray:
    """Positions that sort `ids` (Arrow's sort: far faster than numpy's on Python strings; none at all for ids in
    order already, as the spine's persons are)."""
    try:
        values = pa.array(ids, from_pandas=True)
        if not values.null_count and (len(values) < 2 or pc.all(pc.less_equal(values[:-1], values[1:])).as_py()):
            return np.arange(len(values))
        return pc.sort_indices(values).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return np.argsort(ids.to_numpy(), kind="stable")
