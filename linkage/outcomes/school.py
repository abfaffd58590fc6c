"""School outcomes per person at ÖJ's ages: compulsory school by 17, the grade register, upper secondary by 20.

Rules (codebook `education_outcomes`; domain.md §3.4):
- fullfoljt_grundskolan_17: ÖJ's "fullföljt grundskolan" — "has a final year-9 grade record at age 17" (§3.4).
  Taken as: at least one row in the year-9 grade register with a leaving year (avgangsar) no later than the
  calendar year the person turns 17 (birth year + 17). Grades are given at the end of the spring term, before most
  pupils' birthdays, so the calendar year is the register's own time unit. Any record counts, passed or not: the
  indicator is about leaving year 9 with final grades, not about eligibility (see `education.eligibility`).
- saknas_i_betygsregistret: no row at all in the grade register in the years delivered (ÖJ 2011 found 12–19% of
  placed children missing, §3.4); avgangsar_ak9 is the latest leaving year, empty for those missing.
- gymnasieexamen_20: ÖJ's "treårig gymnasieutbildning vid 20 år". ÖJ's exact definition was not found (§3.4: whether
  the diploma must have been awarded, or whether programmes of at least 3 years count). Our choice: a diploma —
  yrkesexamen or högskoleförberedande examen (examen 1 or 2) — with a diploma year (examensar) no later than the
  calendar year the person turns 20 (birth year + 20), from a national programme: an introductory programme (IM*)
  never counts; a studiebevis (examen 3) does not count. A diploma row without a programme code counts, since only
  national programmes award a diploma.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.io import require_columns
from linkage.outcomes.codes import CodeColumn, factorized, numbers
from linkage.outcomes.persons import Persons, distinct_positions, year_of

COMPULSORY_BY_AGE = 17
UPPER_SECONDARY_BY_AGE = 20
DIPLOMAS = ("1", "2")  # examen: 1 yrkesexamen, 2 högskoleförberedande examen (3 studiebevis does not count)
INTRODUCTORY_PREFIX = "IM"  # introduktionsprogram IMA, IMV, IMS, IMY, IMI: not national programmes


def completed_compulsory_school(grades: pd.DataFrame, persons: pd.DataFrame, *,
                                by_age: int = COMPULSORY_BY_AGE) -> pd.DataFrame:
    """`fullfoljt_grundskolan_<by_age>`: a year-9 grade record with avgangsar ≤ birth year + `by_age`."""
    require_columns(grades, ["id", "avgangsar"], source="grades_year9")
    people = Persons.of(persons)
    return people.result(**{f"fullfoljt_grundskolan_{by_age}": _by_year(people, grades, "avgangsar", by_age)})


def absent_from_grade_register(grades: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """`saknas_i_betygsregistret` (no grade row at all) and `avgangsar_ak9` (the latest leaving year)."""
    require_columns(grades, ["id", "avgangsar"], source="grades_year9")
    people = Persons.of(persons)
    present, latest = _years_of(people, grades, "avgangsar", latest=True)
    leaving = pd.array(np.nan_to_num(latest).astype(np.int64), dtype="Int64")
    leaving[np.isnan(latest)] = pd.NA
    return people.result(saknas_i_betygsregistret=pd.array(~present, dtype="boolean"), avgangsar_ak9=leaving)


def upper_secondary_completed(upper_secondary: pd.DataFrame, persons: pd.DataFrame, *,
                              by_age: int = UPPER_SECONDARY_BY_AGE) -> pd.DataFrame:
    """`gymnasieexamen_<by_age>`: a diploma (examen 1/2, not IM*) with examensar ≤ birth year + `by_age`."""
    require_columns(upper_secondary, ["id", "program", "examen", "examensar"], source="upper_secondary")
    people = Persons.of(persons)
    introductory = CodeColumn(upper_secondary["program"]).within([INTRODUCTORY_PREFIX])
    diploma = CodeColumn(upper_secondary["examen"]).equals(DIPLOMAS) & ~introductory
    return people.result(**{f"gymnasieexamen_{by_age}": _by_year(people, upper_secondary[diploma], "examensar",
                                                                  by_age)})


def _by_year(people: Persons, rows: pd.DataFrame, year_column: str, by_age: int) -> pd.arrays.BooleanArray:
    """Per person: any row whose `year_column` is no later than the calendar year the person turns `by_age` (the
    earliest year of the person's rows is)."""
    _, first = _years_of(people, rows, year_column, latest=False)
    birth_year = np.where(np.isnat(people.birth), np.nan, year_of(people.birth).astype(float))
    return people.flag(first <= birth_year + by_age)


def _years_of(people: Persons, rows: pd.DataFrame, year_column: str, *, latest: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per person: has any row, and the earliest (or `latest`) year of their rows (NaN where none is a number).
    Found per distinct id through the rows' codes and a one-byte rank of each row's year, so a register of
    millions of rows is not copied per row as positions and years."""
    id_codes, ids = factorized(rows["id"])
    year_codes, years = factorized(rows[year_column])
    value = numbers(pd.Series(years, dtype=object))
    order = np.argsort(-value if latest else value)  # the wanted end first; NaN (no number) last either way
    small = np.min_scalar_type(len(years))
    rank = np.empty(len(years) + 1, dtype=small)
    rank[order] = np.arange(len(years), dtype=small)
    rank[-1] = len(years)  # no year (code -1): after every year
    best = np.full(len(ids) + 1, len(years), dtype=small)  # the last: rows without an id (code -1)
    np.minimum.at(best, id_codes, rank[year_codes])
    has = np.zeros(len(ids) + 1, dtype=bool)
    has[id_codes] = True
    position = distinct_positions(people.ids, ids)
    found = position >= 0
    present, year = np.zeros(len(people), dtype=bool), np.full(len(people), np.nan)
    present[position[found]] = has[:-1][found]
    year[position[found]] = np.append(value[order], np.nan)[best[:-1]][found]
    return present, year
