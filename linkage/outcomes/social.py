"""Social outcomes per person: compulsory care under LVM, death and emigration before a given age (domain.md §6.1).

Rules (codebook `social_outcomes`):
- lvm_fore_25: before the 25th birthday, at least one of: an application for care under 11 § LVM that the court
  granted (lvm_application, utfall 1 bifall, at beslutsdatum); an emergency detention under 13 § LVM that the court
  confirmed (lvm_emergency, faststallt 1, at beslutsdatum); a stay in an LVM home (lvm_discharge, at
  inskrivningsdatum). Each sub-register is read on its own as a sign of LVM care: Socialstyrelsen advises against
  linking the three sub-registers to each other (§6.1), so no event is matched across them.
- alder_forsta_lvm: age in completed years at the earliest of those events, without the age limit.
- dod_fore_25 / utvandrad_fore_25: population.dodsdatum / utvandringsdatum before the 25th birthday and on or before
  the reference date (an emigrant may have come back).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from linkage.io import require_columns
from linkage.outcomes.codes import CodeColumn
from linkage.outcomes.persons import Persons, age_on, as_day, days

LVM_BY_AGE = 25
GRANTED = "1"  # lvm_application.utfall 1 bifall


def lvm_by_age(lvm_application: pd.DataFrame | None, lvm_emergency: pd.DataFrame | None,
               lvm_discharge: pd.DataFrame | None, persons: pd.DataFrame, *, age: int = LVM_BY_AGE) -> pd.DataFrame:
    """`lvm_fore_<age>` and `alder_forsta_lvm`; a sub-register not delivered may be None (it adds no events)."""
    people = Persons.of(persons)
    events = []
    if lvm_application is not None:
        require_columns(lvm_application, ["id", "beslutsdatum", "utfall"], source="lvm_application")
        events.append(_events(lvm_application, "beslutsdatum", "lvm_application",
                              CodeColumn(lvm_application["utfall"]).equals([GRANTED])))
    if lvm_emergency is not None:
        require_columns(lvm_emergency, ["id", "beslutsdatum", "faststallt"], source="lvm_emergency")
        events.append(_events(lvm_emergency, "beslutsdatum", "lvm_emergency",
                              CodeColumn(lvm_emergency["faststallt"]).true()))
    if lvm_discharge is not None:
        require_columns(lvm_discharge, ["id", "inskrivningsdatum"], source="lvm_discharge")
        events.append(_events(lvm_discharge, "inskrivningsdatum", "lvm_discharge", np.ones(len(lvm_discharge), bool)))
    ids = pd.concat([e[0] for e in events], ignore_index=True) if events else pd.Series([], dtype=object)
    when = np.concatenate([e[1] for e in events]) if events else np.array([], dtype="datetime64[D]")
    position = people.positions(ids)
    dated = (position >= 0) & ~np.isnat(when)
    never = np.iinfo(np.int64).max
    first = np.full(len(people), never)
    np.minimum.at(first, position[dated], when[dated].astype(np.int64))
    first_age = age_on(people.birth, np.where(first == never, np.datetime64("NaT"), first.astype("datetime64[D]")))
    alder = pd.array(np.nan_to_num(first_age).astype(np.int64), dtype="Int64")
    alder[np.isnan(first_age)] = pd.NA
    before = ~np.isnan(first_age) & (first_age < age)
    return people.result(**{f"lvm_fore_{age}": people.flag(before), "alder_forsta_lvm": alder})


def death_and_emigration(persons: pd.DataFrame, *, end_date: date, age: int = LVM_BY_AGE) -> pd.DataFrame:
    """`dod_fore_<age>` and `utvandrad_fore_<age>`: dated before the `age`-th birthday and on or before `end_date`."""
    people = Persons.of(persons, columns=("dodsdatum", "utvandringsdatum"))
    reference = as_day(end_date)
    columns = {}
    for name, column in (("dod", "dodsdatum"), ("utvandrad", "utvandringsdatum")):
        when = days(people.frame[column], source="persons", column=column)
        event_age = age_on(people.birth, when)
        columns[f"{name}_fore_{age}"] = people.flag((event_age < age) & (when <= reference))
    return people.result(**columns)


def _events(frame: pd.DataFrame, date_column: str, source: str, selected: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """(id, date) of the selected rows of one sub-register."""
    when = days(frame[date_column], source=source, column=date_column)
    return frame["id"][selected].reset_index(drop=True), when[selected]
