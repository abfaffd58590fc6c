"""Health outcomes per person from the patient register (PAR) and the prescribed drug register (domain.md §4).

Rules (codebook `health_outcomes`; sources in domain.md §4.1–4.3):
- psykiatrisk_vard: an inpatient stay or specialised outpatient visit (indatum in the age window) with a main
  diagnosis in ICD-10-SE chapter V (F00–F99) or in psychiatric care (pvard 2). A common register-study definition,
  not an official indicator (domain.md §4.1, unverified).
- sjalvskada: a stay with an external cause X60–X84 (intentional self-harm) in any ekod column, inpatient care
  (vardform 1) only by default, as the Ung idag indicator "vårdade efter självmordsförsök eller självdestruktiv
  handling" counts (domain.md §4.1); optionally all care, and optionally Y10–Y34 (undetermined intent) as many
  studies add.
- substansrelaterad_vard: a stay or visit with F10–F19 as main or secondary diagnosis (hdia, dia1, dia2, …).
- psykofarmaka_<group>: a dispensing (edatum in the age window) of an ATC code starting with the group (N05A
  antipsychotics, N05B anxiolytics, N05C hypnotics and sedatives, N06A antidepressants, N06B psychostimulants;
  domain.md §4.2).
- minst_tva_psykofarmaka_15_16: the ÖJ indicator "long-term concurrent prescription of two or more different
  psychotropics" among 15–16-year-olds (domain.md §4.3), made concrete exactly as the synthetic world calibrates it
  (`linkage.synth.health.psychotropic_polypharmacy`): in the calendar year the person turns 16, a group (the first
  four ATC characters: N05A, N05B, N05C, N06A, N06B) is in long-term use when dispensed on ≥ 3 different days of
  that year, its period of use running from its first to its last dispensing day; the person counts when ≥ 2 groups
  are in long-term use and the periods of at least two of them share a day. ÖJ's exact rule was not found.

Windows by age follow `linkage.outcomes.persons` ([from_age-th birthday, to_age-th birthday)); the default 13–24 is the
codebook's default follow-up window. Persons without events are False; without a birth date NA. Rows whose id is
not in `persons` are not counted (the persons frame is the population).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from linkage.io import require_columns
from linkage.outcomes.codes import CodeColumn
from linkage.outcomes.persons import OFFSET, SPAN, Persons, days, pack, year_of

PSYCHIATRIC_DIAGNOSES = ("F00-F99",)
SELF_HARM = ("X60-X84",)
UNDETERMINED_INTENT = ("Y10-Y34",)
SUBSTANCE_DIAGNOSES = ("F10-F19",)
PSYCHOTROPIC_GROUPS = ("N05A", "N05B", "N05C", "N06A", "N06B")
PSYCHIATRIC_CARE = "2"  # pvard 2 psykiatrisk vård
INPATIENT = "1"  # vardform 1 sluten vård
#: Follow-up window by age: the codebook's default, from the 13th birthday to the day before the 25th.
FROM_AGE, TO_AGE = 13, 25
#: Long-term use: dispensed on at least this many different days in the year (synth.health's calibration rule).
LONG_TERM_DAYS = 3


def psychiatric_care(patient: pd.DataFrame, persons: pd.DataFrame, *, from_age: int = FROM_AGE,
                     to_age: int = TO_AGE) -> pd.DataFrame:
    """`psykiatrisk_vard`: main diagnosis F00–F99 or psychiatric care (pvard 2) within the age window."""
    require_columns(patient, ["id", "indatum", "hdia", "pvard"], source="patient")
    selected = CodeColumn(patient["hdia"]).within(PSYCHIATRIC_DIAGNOSES) | \
        CodeColumn(patient["pvard"]).equals([PSYCHIATRIC_CARE])
    return _per_person(patient, "indatum", "patient", persons, psykiatrisk_vard=selected, ages=(from_age, to_age))


def self_harm(patient: pd.DataFrame, persons: pd.DataFrame, *, from_age: int = FROM_AGE, to_age: int = TO_AGE,
              include_undetermined: bool = False, inpatient_only: bool = True) -> pd.DataFrame:
    """`sjalvskada`: external cause X60–X84 (and Y10–Y34 if `include_undetermined`), inpatient care by default."""
    require_columns(patient, ["id", "indatum", "ekod1"] + (["vardform"] if inpatient_only else []), source="patient")
    ranges = SELF_HARM + (UNDETERMINED_INTENT if include_undetermined else ())
    selected = _any_column(patient, r"ekod\d+", ranges)
    if inpatient_only:
        selected &= CodeColumn(patient["vardform"]).equals([INPATIENT])
    return _per_person(patient, "indatum", "patient", persons, sjalvskada=selected, ages=(from_age, to_age))


def substance_related(patient: pd.DataFrame, persons: pd.DataFrame, *, from_age: int = FROM_AGE,
                      to_age: int = TO_AGE) -> pd.DataFrame:
    """`substansrelaterad_vard`: F10–F19 as main or secondary diagnosis (hdia, dia1, dia2, …), any care."""
    require_columns(patient, ["id", "indatum", "hdia"], source="patient")
    selected = _any_column(patient, r"hdia|dia\d+", SUBSTANCE_DIAGNOSES)
    return _per_person(patient, "indatum", "patient", persons, substansrelaterad_vard=selected,
                       ages=(from_age, to_age))


def psychotropics(drugs: pd.DataFrame, persons: pd.DataFrame, *, groups: tuple[str, ...] = PSYCHOTROPIC_GROUPS,
                  from_age: int = FROM_AGE, to_age: int = TO_AGE) -> pd.DataFrame:
    """`psykofarmaka_<group>` per ATC group: any dispensing (edatum) of the group within the age window."""
    require_columns(drugs, ["id", "edatum", "atc"], source="drugs")
    atc = CodeColumn(drugs["atc"])
    selected = {f"psykofarmaka_{group.lower()}": atc.within([group]) for group in groups}
    return _per_person(drugs, "edatum", "drugs", persons, ages=(from_age, to_age), **selected)


def concurrent_psychotropics(drugs: pd.DataFrame, persons: pd.DataFrame, *,
                             ages: tuple[int, int] = (15, 16)) -> pd.DataFrame:
    """`minst_tva_psykofarmaka_<a>_<b>`: ≥ 2 psychotropic groups in concurrent long-term use (module docstring).

    The window is the calendar years in which the person is aged `ages[0]`–`ages[1]`: for (15, 16) the year the
    person turns 16, as ÖJ and the synthetic world count.
    """
    low, high = ages
    if not 0 <= low < high:
        raise ValueError(f"ages must be (a, b) with 0 <= a < b (got {ages})")
    require_columns(drugs, ["id", "edatum", "atc"], source="drugs")
    people = Persons.of(persons)
    atc = CodeColumn(drugs["atc"])
    group = np.full(len(drugs), -1)
    for index, name in enumerate(PSYCHOTROPIC_GROUPS):
        group[atc.within([name])] = index
    row = np.flatnonzero(group >= 0)
    position = people.positions(drugs["id"].iloc[row])
    known = position >= 0
    row, position = row[known], position[known]
    day = days(drugs["edatum"], source="drugs", column="edatum")[row]
    born = year_of(people.birth[position])
    year = year_of(day)
    inside = ~np.isnat(day) & ~np.isnat(people.birth[position]) & (year > born + low) & (year <= born + high)
    # Distinct (person, group, day), sorted: per (person, group) the number of days and the first and last day.
    key = np.unique(pack(position[inside] * len(PSYCHOTROPIC_GROUPS) + group[row][inside], day[inside]))
    pair, day = key // SPAN, key % SPAN - OFFSET
    first = np.flatnonzero(np.diff(pair, prepend=-1) != 0)
    last = np.flatnonzero(np.diff(pair, append=-1) != 0)
    long_term = last - first + 1 >= LONG_TERM_DAYS
    person = pair[first][long_term] // len(PSYCHOTROPIC_GROUPS)
    begin, end = day[first][long_term], day[last][long_term]
    # Two periods of use share a day when one begins no later than the furthest end of those beginning before it.
    order = np.lexsort((begin, person))
    person, begin, end = person[order], begin[order], end[order]
    reach = np.maximum.accumulate(pack(person, end))  # packed: a person's reach never leaks into the next person
    hit = person[1:][pack(person, begin)[1:] <= reach[:-1]]
    return people.result(**{f"minst_tva_psykofarmaka_{low}_{high}": people.flag(people.any(hit))})


def _any_column(frame: pd.DataFrame, pattern: str, ranges: tuple[str, ...]) -> np.ndarray:
    """Rows where any column whose name matches `pattern` holds a code in `ranges`."""
    selected = np.zeros(len(frame), dtype=bool)
    for column in (c for c in frame.columns if re.fullmatch(pattern, str(c))):
        selected |= CodeColumn(frame[column]).within(ranges)
    return selected


def _per_person(events: pd.DataFrame, date_column: str, source: str, persons: pd.DataFrame, *,
                ages: tuple[int, int], **selected: np.ndarray) -> pd.DataFrame:
    """One row per person: for each named row selection, any selected event dated within the age window."""
    people = Persons.of(persons)
    when = days(events[date_column], source=source, column=date_column)
    return people.result(**people.any_at_age(events["id"], when, selected, from_age=ages[0], to_age=ages[1]))
