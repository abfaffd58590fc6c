"""Placement history and the ÖJ populations from the placement register (Registret över insatser för barn och unga).

The register (domain.md §2.1): child → measure (insats, under SoL or LVU) → placements (first placements and
re-placements, omplaceringar). Reports were change-based up to 2016 (2014–2016 only children with a complete
personnummer), there is no register for 2017, and since 2018 every ongoing measure and its placements are reported
again each year (annual snapshots). So before anything is counted:
- a measure or placement reported in several years is one record: rows are deduplicated per child by (kommun,
  insats_nr[, placering_nr], startdatum), keeping the latest redovisningsar (its end date is the most complete);
- records starting after the reference date `end_date` do not exist yet; end dates after it are cut to it;
- an open record (no slutdatum in its latest report) counts as ongoing up to `end_date`, unless a later snapshot year
  (2018 on) was delivered without it: an ongoing record would have been reported then, so it ended before that year,
  on an unknown day, and it is counted up to the last day the register shows it ongoing — 31 December of the last
  delivered year before that snapshot year (absence from a change-based year up to 2016 only means "no change").
  A placement that started and ended within 2017 is not in the register at all.

Rules (codebooks `placement_history` and `cohort`):
- alder_forsta_placering: age in completed years at the earliest placement start.
- antal_insatser / antal_placeringar / antal_omplaceringar: distinct measures / placements / placements with
  placering_nr > 1 (a new placement during an ongoing measure).
- dagar_i_vard: calendar days with at least one ongoing placement, start and end day included, overlaps once.
- nagon_gang_lvu: a measure under LVU 2 §, 3 §, 2 och 3 § or 6 § (lagrum 2–5); nagon_gang_hvb_sis: a placement in an
  HVB (municipal or private) or a special youth home, SiS (placeringsform 4, 5, 7) (HSLF-FS 2016:22, domain.md §2.2).
- forsta_placeringsform: the form of the earliest placement (ties: lowest insats_nr, placering_nr, kommun);
  forsta_lagrum: the lagrum of the earliest measure (ties: lowest beslutsdatum, insats_nr, kommun).
- ny_placering_inom_12_man: the register proxy for återaktualisering (domain.md §8; KKiK's measure needs municipal
  investigation data the register lacks, so this is not an official definition): a measure starts 1–365 days after
  the end of an earlier measure of the child that ended for a reason other than a move to another kommun (5),
  death (6), emigration (7) or a change to another measure (8).
- placering_efter_ivo_anmarkning: a placement at a unit (enhet_id, as in IVO's register of HVB, stödboenden and SiS
  homes, domain.md §6.2) that had an IVO decision after inspection with criticism or stronger (beslutstyp 2–5)
  dated in the 365 days before the placement's start day (IVO inspects at least once a year).
- ÖJ populations (domain.md §5.1): placerad_nagon_gang (a placement starting on or before the reference date),
  aldrig_placerad (none: ÖJ's comparison group) and placerad_hela_ak9 — the placements, merged where they overlap or
  follow day on day, cover every day of the school year of year 9: from the autumn term start (20 August) of the
  year before the child leaves year 9 to the spring term end (10 June) of the year the child leaves it. Skolförordningen
  (2011:185) 3 kap. 3 § only says the school year starts in August and ends in June, the term days being set by each
  huvudman, so these two days are our operationalisation (`YEAR9_TERM_START`, `YEAR9_TERM_END`); ÖJ's exact rule
  was not found. The leaving year is birth year + 16 for a child who started school at the normal age.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from linkage.io import require_columns
from linkage.outcomes.codes import CodeColumn, numbers
from linkage.outcomes.persons import (
    DAY, OFFSET, SPAN, Persons, age_on, any_within, as_day, days, pack, sort_order, year_end, year_of,
)

#: First reporting year of the annual snapshots (HSLF-FS 2016:22; no register for 2017).
FIRST_SNAPSHOT_YEAR = 2018
LVU = ("2", "3", "4", "5")  # lagrum: LVU 2 §, 3 §, 2 och 3 §, 6 §
HVB_SIS = ("4", "5", "7")  # placeringsform: HVB kommunalt, HVB enskilt, särskilt ungdomshem (SiS)
NOT_A_RETURN = ("5", "6", "7", "8")  # avslutsorsak: flytt, avliden, utvandrad, övergått till annan insats
CRITICISM_OR_STRONGER = ("2", "3", "4", "5")  # beslutstyp: kritik, föreläggande, med vite, återkallat tillstånd
RETURN_WINDOW_DAYS = 365
INSPECTION_WINDOW_DAYS = 365
#: Year 9 runs from the autumn term start in the year before leaving to the spring term end in the leaving year.
YEAR9_TERM_START = (8, 20)  # 20 August (month, day)
YEAR9_TERM_END = (6, 10)  # 10 June
LEAVING_AGE = 16  # a child who started school the autumn they turned 7 leaves year 9 the year they turn 16

MEASURE_KEY = ["kommun", "insats_nr", "startdatum"]
PLACEMENT_KEY = ["kommun", "insats_nr", "placering_nr", "startdatum"]


def year9_school_year(leaving_year: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """First and last day (datetime64[D]) of year 9 for children leaving year 9 in `leaving_year` (spring term)."""
    year = np.asarray(leaving_year, dtype=np.int64)
    first = _calendar_day(year - 1, *YEAR9_TERM_START)
    last = _calendar_day(year, *YEAR9_TERM_END)
    return first, last


def placement_history(measures: pd.DataFrame, placements: pd.DataFrame, persons: pd.DataFrame, *,
                      end_date: date, inspections: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per child in the register by the reference date (sorted by id): the `placement_history` variables.

    A child is an id of `measures` or `placements` with a record starting on or before `end_date` (or undated);
    children missing from `persons` keep their row with an unknown (NA) age. `inspections` (IVO decisions: enhet_id,
    beslutsdatum, beslutstyp) is optional; without it `placering_efter_ivo_anmarkning` is NA.
    """
    reference = as_day(end_date)
    require_columns(measures, ["id", "redovisningsar", *MEASURE_KEY, "lagrum", "beslutsdatum", "slutdatum",
                               "avslutsorsak"], source="placement_measure")
    require_columns(placements, ["id", "redovisningsar", *PLACEMENT_KEY, "placeringsform", "slutdatum"],
                    source="placement_placement")
    people = Persons.of(persons)
    # Children = the ids of either file, numbered in sorted order (a row without an id belongs to no child).
    child, ids = pd.factorize(pd.concat([measures["id"], placements["id"]], ignore_index=True))
    order = sort_order(pd.Series(ids))
    rank = np.empty(len(ids) + 1, dtype=np.int64)
    rank[order] = np.arange(len(ids))
    rank[-1] = -1
    child = rank[child]
    ids, n = ids.take(order), len(ids)
    m = _records(measures, child[:len(measures)], MEASURE_KEY, "placement_measure", reference)
    m["beslutsdatum"] = days(measures["beslutsdatum"], source="placement_measure",
                             column="beslutsdatum")[m["row"].to_numpy()]
    p = _records(placements, child[len(measures):], PLACEMENT_KEY, "placement_placement", reference)
    mc, pc = m["child"].to_numpy(), p["child"].to_numpy()

    def ever(owner: np.ndarray, where: np.ndarray) -> pd.arrays.BooleanArray:
        return pd.array(np.bincount(owner[where], minlength=n) > 0, dtype="boolean")

    birth = np.full(n, np.datetime64("NaT"), dtype=DAY)
    person = people.positions(pd.Series(ids))
    birth[person >= 0] = people.birth[person[person >= 0]]
    first_p = _earliest(p, ["insats_nr", "placering_nr", "kommun"])
    first_m = _earliest(m, ["beslutsdatum", "insats_nr", "kommun"])
    start_day = np.full(n, np.datetime64("NaT"), dtype=DAY)
    start_day[pc[first_p]] = p["startdatum"].to_numpy(DAY)[first_p]
    history = pd.DataFrame({
        "id": np.asarray(ids),
        "alder_forsta_placering": _integers(age_on(birth, start_day)),
        "antal_insatser": pd.array(np.bincount(mc, minlength=n), dtype="Int64"),
        "antal_placeringar": pd.array(np.bincount(pc, minlength=n), dtype="Int64"),
        "antal_omplaceringar": pd.array(np.bincount(pc[p["placering_nr"].to_numpy() > 1], minlength=n),
                                        dtype="Int64"),
        "dagar_i_vard": pd.array(_days_in_care(p, n), dtype="Int64"),
        "nagon_gang_lvu": ever(mc, _column(measures, m, "lagrum").equals(LVU)),
        "nagon_gang_hvb_sis": ever(pc, _column(placements, p, "placeringsform").equals(HVB_SIS)),
        "forsta_placeringsform": _first_code(placements, p, first_p, "placeringsform", n),
        "forsta_lagrum": _first_code(measures, m, first_m, "lagrum", n),
        "ny_placering_inom_12_man": _returns(measures, m, n),
        "placering_efter_ivo_anmarkning": _after_criticism(placements, p, n, inspections),
    })
    in_register = np.bincount(mc, minlength=n) + np.bincount(pc, minlength=n) > 0  # by the reference date
    return history[in_register].reset_index(drop=True)


def populations(placements: pd.DataFrame, persons: pd.DataFrame, *, end_date: date,
                year9_year: int | pd.Series | None = None) -> pd.DataFrame:
    """One row per person (sorted by id): `placerad_nagon_gang`, `placerad_hela_ak9`, `aldrig_placerad`.

    `year9_year` is the year each child leaves year 9: None for birth year + 16 (school start at the normal age), one
    year for everyone, or a Series indexed by id (e.g. avgangsar from the grade register; ids not in it get birth year
    + 16). placerad_hela_ak9 is NA where that year is unknown.
    """
    reference = as_day(end_date)
    require_columns(placements, ["id", "redovisningsar", *PLACEMENT_KEY, "slutdatum"], source="placement_placement")
    people = Persons.of(persons)
    p = _records(placements, people.positions(placements["id"]), PLACEMENT_KEY, "placement_placement", reference)
    ever = people.any(p["child"].to_numpy())
    leaving = _leaving_year(people, year9_year)
    known = ~np.isnan(leaving)
    first, last = year9_school_year(np.where(known, leaving, 2000).astype(np.int64))
    block_person, block_start, block_end = _merged(p)
    covered = (block_start <= first[block_person]) & (block_end >= last[block_person])
    whole = pd.arrays.BooleanArray(people.any(block_person[covered]), ~known)
    return people.result(placerad_nagon_gang=pd.array(ever, dtype="boolean"), placerad_hela_ak9=whole,
                         aldrig_placerad=pd.array(~ever, dtype="boolean"))


def _records(frame: pd.DataFrame, child: np.ndarray, key: list[str], source: str,
             reference: np.datetime64) -> pd.DataFrame:
    """The register's records, one per key, as of the reference date (see the module docstring).

    `child` numbers the rows' children (-1: leave out). Columns: `row` (position in `frame`), `child`, the key as
    integers (kommun as its rank), `startdatum` and the censored `slutdatum` (datetime64[D]; a NaT start is kept for
    counting, undated), `avslutad` where a reported end is on or before the reference date.
    """
    start = days(frame["startdatum"], source=source, column="startdatum")
    end = days(frame["slutdatum"], source=source, column="slutdatum")
    year = _whole(frame["redovisningsar"])
    columns = {"child": child, "kommun": pd.factorize(frame["kommun"], sort=True)[0]}
    columns |= {name: _whole(frame[name]) for name in key if name not in ("kommun", "startdatum")}
    record = _combine(*columns.values(), _sortable(start, missing=-1))
    order = np.lexsort((year, record))  # by record, then reporting year: the latest report ends each record's run
    ordered = record[order]
    row = order[np.r_[ordered[1:] != ordered[:-1], True]] if len(order) else order
    row = np.sort(row[(child[row] >= 0) & (np.isnat(start[row]) | (start[row] <= reference))])
    delivered = np.unique(year[year >= 0])
    snapshots = delivered[delivered >= FIRST_SNAPSHOT_YEAR]
    following = np.searchsorted(snapshots, year[row], side="right")
    vanished = (following < len(snapshots)) & (year[row] >= 0)
    last_seen = np.full(len(row), reference)
    if vanished.any():
        before = delivered[np.searchsorted(delivered, snapshots[following[vanished]], side="left") - 1]
        last_seen[vanished] = np.minimum(year_end(before), reference)
    reported = end[row]
    ended = ~np.isnat(reported) & (reported <= reference)
    return pd.DataFrame({"row": row, **{name: values[row] for name, values in columns.items()},
                         "startdatum": start[row],
                         "slutdatum": np.where(np.isnat(reported), last_seen, np.minimum(reported, reference)),
                         "avslutad": ended})


def _whole(values: pd.Series) -> np.ndarray:
    """Whole numbers as int64, -1 where missing or unreadable."""
    return np.nan_to_num(numbers(values), nan=-1).astype(np.int64)


def _sortable(day: np.ndarray, *, missing: int) -> np.ndarray:
    """Days as non-negative int64 (see persons.OFFSET), `missing` where NaT."""
    return np.where(np.isnat(day), missing, day.astype(DAY).astype(np.int64) + OFFSET)


def _combine(*columns: np.ndarray) -> np.ndarray:
    """One int64 key that orders rows as the columns do (the first most significant); equal keys = equal rows."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    if not len(key):
        return key
    for column in columns:
        low, width = int(column.min()), int(column.max()) - int(column.min()) + 1
        if (int(key.max()) + 1) * width >= 2**62:  # would overflow: renumber the key densely first
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
        key = key * width + (column - low)
    return key


def _column(frame: pd.DataFrame, records: pd.DataFrame, name: str) -> CodeColumn:
    """A register column for the kept records only."""
    return CodeColumn(frame[name].iloc[records["row"].to_numpy()])


def _merged(records: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spells merged per child where they overlap or follow day on day: (child, first day, last day) per block.

    Records with an unknown start or an end before the start are left out."""
    owner = records["child"].to_numpy()
    start = records["startdatum"].to_numpy(DAY)
    end = records["slutdatum"].to_numpy(DAY)
    keep = ~np.isnat(start) & (end >= start)
    owner, start, end = owner[keep], start[keep], end[keep]
    order = np.argsort(pack(owner, start), kind="stable")
    owner, start, end = owner[order], start[order], end[order]
    if not len(owner):
        return owner, start, end
    reach = np.maximum.accumulate(pack(owner, end))  # packed keys: a child's reach never leaks into the next child
    new = np.r_[True, pack(owner, start)[1:] > reach[:-1] + 1]
    first = np.flatnonzero(new)
    block_end = np.maximum.reduceat(end.astype(np.int64), first).astype(DAY)
    return owner[first], start[first], block_end


def _days_in_care(records: pd.DataFrame, n: int) -> np.ndarray:
    block_owner, block_start, block_end = _merged(records)
    length = (block_end - block_start).astype(np.int64) + 1
    return np.bincount(block_owner, weights=length, minlength=n).astype(np.int64)


def _earliest(records: pd.DataFrame, ties: list[str]) -> np.ndarray:
    """Per child the position (in `records`) of the dated record with the lowest start, then lowest `ties`."""
    dated = np.flatnonzero(~np.isnat(records["startdatum"].to_numpy(DAY)))
    keys = [records[name].to_numpy()[dated] for name in ["child", "startdatum", *ties]]
    keys = [_sortable(key, missing=SPAN) if key.dtype.kind == "M" else key for key in keys]  # no date sorts last
    order = dated[np.argsort(_combine(*keys), kind="stable")] if len(dated) else dated
    owner = records["child"].to_numpy()[order]
    return order[np.r_[True, owner[1:] != owner[:-1]]] if len(order) else order


def _first_code(frame: pd.DataFrame, records: pd.DataFrame, first: np.ndarray, column: str,
                n: int) -> pd.arrays.StringArray:
    values = pd.array([pd.NA] * n, dtype="string")
    values[records["child"].to_numpy()[first]] = CodeColumn(
        frame[column].iloc[records["row"].to_numpy()[first]]).text().to_numpy()
    return values


def _integers(values: np.ndarray) -> pd.arrays.IntegerArray:
    out = pd.array(np.nan_to_num(values).astype(np.int64), dtype="Int64")
    out[np.isnan(values)] = pd.NA
    return out


def _returns(frame: pd.DataFrame, records: pd.DataFrame, n: int) -> pd.arrays.BooleanArray:
    """A measure starting 1–365 days after an earlier measure ended, for a reason that is not a continuation."""
    owner = records["child"].to_numpy()
    start = records["startdatum"].to_numpy(DAY)
    end = records["slutdatum"].to_numpy(DAY)
    ended = records["avslutad"].to_numpy(bool) & ~_column(frame, records, "avslutsorsak").equals(NOT_A_RETURN)
    started = ~np.isnat(start)
    hit = any_within(owner[ended], end[ended] + np.timedelta64(1, "D"),
                     end[ended] + np.timedelta64(RETURN_WINDOW_DAYS, "D"), owner[started], start[started])
    return pd.array(np.bincount(owner[ended][hit], minlength=n) > 0, dtype="boolean")


def _after_criticism(frame: pd.DataFrame, records: pd.DataFrame, n: int,
                     inspections: pd.DataFrame | None) -> pd.arrays.BooleanArray:
    """A placement at a unit with an IVO decision of criticism or stronger in the 365 days before its start."""
    if inspections is None:
        return pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool))
    require_columns(inspections, ["enhet_id", "beslutsdatum", "beslutstyp"], source="provider_inspections")
    require_columns(frame, ["enhet_id"], source="placement_placement")
    critical = inspections[CodeColumn(inspections["beslutstyp"]).equals(CRITICISM_OR_STRONGER)]
    decided = days(critical["beslutsdatum"], source="provider_inspections", column="beslutsdatum")
    at_unit = frame["enhet_id"].iloc[records["row"].to_numpy()]
    units = CodeColumn(pd.concat([at_unit, critical["enhet_id"]], ignore_index=True)).text()
    unit, _ = pd.factorize(units, use_na_sentinel=True)
    placement_unit, inspection_unit = unit[:len(records)], unit[len(records):]
    start = records["startdatum"].to_numpy(DAY)
    query = (placement_unit >= 0) & ~np.isnat(start)
    event = (inspection_unit >= 0) & ~np.isnat(decided)
    window = np.timedelta64(INSPECTION_WINDOW_DAYS, "D")
    hit = any_within(placement_unit[query], start[query] - window, start[query] - np.timedelta64(1, "D"),
                     inspection_unit[event], decided[event])
    return pd.array(np.bincount(records["child"].to_numpy()[query][hit], minlength=n) > 0, dtype="boolean")


def _leaving_year(people: Persons, year9_year: int | pd.Series | None) -> np.ndarray:
    """The year each person leaves year 9 (float, NaN where unknown)."""
    normal = np.where(np.isnat(people.birth), np.nan, year_of(people.birth) + LEAVING_AGE)
    if year9_year is None:
        return normal.astype(float)
    if isinstance(year9_year, pd.Series):
        position = people.positions(year9_year.index.to_series())  # categorical ids: looked up once each
        found = position >= 0
        given = np.full(len(people), np.nan)
        given[position[found]] = numbers(year9_year)[found]
        return np.where(np.isnan(given), normal, given)
    return np.full(len(people), float(year9_year))


def _calendar_day(year: np.ndarray, month: int, day: int) -> np.ndarray:
    return ((year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + np.timedelta64(month - 1, "M")
            ).astype(DAY) + np.timedelta64(day - 1, "D")
