"""How close the synthetic world comes to the published figures of domain.md: achieved next to target.

Placement figures are age-standardised: the world holds only the asked-for birth cohorts, so each figure is computed
per year of age 0-20 (pooled over calendar years) and averaged with equal weight per age, which is what a yearly
national figure over 0-20-year-olds is when cohorts are of similar size. Education figures follow ÖJ's definitions
as far as domain.md §3.4 gives them and are computed for persons born in Sweden (as ÖJ's early work was).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from linkage.synth import placement as pl
from linkage.synth import timeline
from linkage.synth.population import Population
from linkage.synth.school import SUBJECTS, School, school_year
from linkage.synth.timeline import NONE, YEAR

NATIONAL_AGE_COHORT = 115_000  # persons per year of age among Sweden's 0-20-year-olds (≈2.4 million / 21)


@dataclass(frozen=True)
class Figure:
    """One calibration figure: achieved value, published target (with an acceptable range), and where it is from."""

    name: str
    achieved: float | None
    target: float | None
    source: str
    low: float | None = None
    high: float | None = None
    denominator: int | None = None

    @property
    def within(self) -> bool | None:
        """Inside the acceptable range (None where the figure has no range)."""
        if self.low is None or self.high is None or self.achieved is None or math.isnan(self.achieved):
            return None
        return self.low <= self.achieved <= self.high


@dataclass(frozen=True)
class Calibration:
    """The figures of one synthetic world, in report order."""

    figures: tuple[Figure, ...]

    def __getitem__(self, name: str) -> Figure:
        for figure in self.figures:
            if figure.name == name:
                return figure
        raise KeyError(name)

    def to_json(self) -> str:
        """Deterministic JSON (rounded values, fixed key order)."""
        def clean(value):
            if isinstance(value, float):
                return None if math.isnan(value) else round(value, 6)
            return value
        rows = [{key: clean(value) for key, value in asdict(f).items()} | {"within": f.within} for f in self.figures]
        return json.dumps({"figures": rows}, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_rows(cls, rows: list[dict]) -> Calibration:
        """From dicts with name, achieved, target, source (and optionally low, high, denominator)."""
        fields = Figure.__dataclass_fields__
        return cls(tuple(Figure(**{k: _plain(v) for k, v in row.items() if k in fields}) for row in rows))


def _plain(value):
    return float(value) if isinstance(value, (np.floating, np.integer)) and not isinstance(value, np.bool_) else value


def _mean(values: np.ndarray, among: np.ndarray | None = None) -> float:
    """Mean of `values` (over `among`), NaN for an empty group: small or early-ending worlds have some."""
    values = values if among is None else values[among]
    return float(values.mean()) if len(values) else float("nan")


def _weighted(weight: np.ndarray, values: np.ndarray) -> float:
    return float((weight * values).sum() / weight.sum()) if weight.sum() > 0 else float("nan")


def figure(name: str, achieved: float, target: float, low: float | None, high: float | None, source: str,
           denominator: int | None = None) -> dict:
    return {"name": name, "achieved": float(achieved), "target": target, "low": low, "high": high, "source": source,
            "denominator": None if denominator is None else int(denominator)}


def placement_figures(population: Population, placements: pl.Placements, end_day: int) -> list[dict]:
    """Share placed per year, new starts, placement forms, lagrum, emergency orders, sex and age (§2.3)."""
    people = population.people
    birth = people["birth"].to_numpy()
    birth_year = timeline.year_of(birth)
    last_year = int(timeline.year_of(np.array([end_day + 1]))[0]) - 1
    present_from = timeline.year_of(np.where(people["arrival"].to_numpy() != NONE, people["arrival"], birth))
    present_to = np.minimum(timeline.year_of(people["departure"].to_numpy()), last_year)
    lo = np.clip(present_from - birth_year, 0, 21)
    hi = np.clip(present_to - birth_year + 1, 0, 21)
    person_years = np.bincount(lo, minlength=22) - np.bincount(np.maximum(hi, lo), minlength=22)
    person_years = np.cumsum(person_years)[:21].astype(float)  # persons present per age, summed over years

    m = placements.measures
    row, year = _years_active(m["start"].to_numpy(), np.minimum(m["end"].to_numpy(), end_day), last_year)
    person = m["person"].to_numpy()[row]
    age = year - birth_year[person]
    ok = (age >= 0) & (age <= 20)
    row, year, person, age = row[ok], year[ok], person[ok], age[ok]
    key = person * 10_000 + year  # one child in one calendar year
    child_year, first = np.unique(key, return_index=True)
    child_age = age[first]
    child_person = person[first]
    # A world ending before its youngest cohort turns 20 leaves some ages unseen: those figures are NaN.
    all_ages = bool((person_years > 0).all())
    observed = np.maximum(person_years, 1)
    weight = 1 / observed[child_age]
    share_placed = (np.bincount(child_age, minlength=21)[:21] / observed).mean() if all_ages else float("nan")
    emergency = np.isin(child_year, key[m["lagrum"].to_numpy()[row] == pl.LVU6])

    place = placements.placements
    prow, pyear = _years_active(place["start"].to_numpy(), np.minimum(place["end"].to_numpy(), end_day), last_year)
    pkey = m["person"].to_numpy()[place["measure"].to_numpy()[prow]] * 10_000 + pyear
    pform = place["form"].to_numpy()[prow]

    def share_with(codes, since: int = 0) -> float:
        has = np.isin(child_year, pkey[np.isin(pform, codes)])
        years = child_year % 10_000 >= since
        return _weighted(weight[years], has[years])

    started = pd.DataFrame({"person": m["person"], "year": timeline.year_of(m["start"].to_numpy())})
    started["age"] = started["year"] - birth_year[started["person"]]
    started = started[(started["age"] >= 0) & (started["age"] <= 20) & (started["year"] <= last_year)]
    started = started.drop_duplicates(["person", "year"])
    starts = (np.bincount(started["age"], minlength=21)[:21] / observed).sum() * NATIONAL_AGE_COHORT \
        if all_ages else float("nan")

    sol = m["lagrum"].to_numpy()[row] == pl.SOL
    sol_share = _weighted(1 / observed[age], sol)
    male = people["male"].to_numpy()[child_person]
    under15 = child_age < 15
    src = "domain.md §2.3"
    return [
        figure("placed_during_year_share_0_20", share_placed, 0.010, 0.009, 0.012, src),
        figure("new_starts_per_year_national", starts, 9500, 9000, 10000, src),
        figure("placed_familjehem_share", share_with([pl.FAMILJEHEM, pl.SLAKTINGHEM, pl.JOURHEM]), 0.70, 0.66,
               0.76, src),
        figure("placed_hvb_share", share_with([pl.HVB_KOMMUNALT, pl.HVB_ENSKILT]), 0.26, 0.20, 0.32,
               "domain.md §2.3 (HVB 6,000-8,300 of 26-27k, 2020-2022)"),
        figure("placed_stodboende_share_since_2016", share_with([pl.STODBOENDE], pl.STODBOENDE_SINCE), 0.085, 0.06,
               0.11, "domain.md §2.3 (stödboende 2,100-2,300, 2021-2022)"),
        figure("measures_sol_share", sol_share, 0.70, 0.66, 0.74, "domain.md §2.3 (68-73% SoL)"),
        figure("placed_emergency_lvu6_share", _weighted(weight, emergency),
               0.09, 0.07, 0.11, "domain.md §2.3 (2014: 2,636 of 28,700)"),
        figure("placed_boys_share", _weighted(weight, male), 0.58, 0.52, 0.62,
               "domain.md §2.3 (2020: 58% boys)"),
        figure("placed_under_15_share", _weighted(weight, under15), 0.50, 0.42, 0.56,
               "domain.md §2.3 (2022: half under 15)"),
    ]


def _years_active(start: np.ndarray, end: np.ndarray, last_year: int) -> tuple[np.ndarray, np.ndarray]:
    """(row index, calendar year) for every year each [start, end] interval touches, up to `last_year`."""
    y0 = timeline.year_of(start)
    y1 = np.minimum(timeline.year_of(end), last_year)
    span = np.maximum(y1 - y0 + 1, 0)
    row = np.repeat(np.arange(len(start)), span)
    return row, y0[row] + np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)


def school_figures(population: Population, flags: pd.DataFrame, school: School, end_day: int) -> list[dict]:
    """Eligibility overall and for placed children by age at first placement, absence from the grade register,
    meritvärde, mathematics, and 3-year upper-secondary completion by 20 (§3.3, §3.4)."""
    people = population.people
    birth = people["birth"].to_numpy()
    swedish = ~people["born_abroad"].to_numpy()
    first = flags["first_placement"].to_numpy()
    first_age = np.where(first != NONE, (first - birth) / YEAR, 99.0)
    _, year9_end = school_year(people["year9_year"].to_numpy())
    placed_before = first <= year9_end
    pupils = school.pupils
    new_scale = ~pupils["old_scale"].to_numpy()
    who = pupils["person"].to_numpy()
    eligible = pupils["eligible"].to_numpy()
    rows = []
    src = "domain.md §3.3"
    rows.append(figure("eligible_share_all", _mean(eligible, new_scale), 0.85, 0.83, 0.87, src, new_scale.sum()))
    rows.append(figure("meritvarde_mean", _mean(pupils["meritvarde"].to_numpy(), new_scale), 228.7, 218, 238,
                       "domain.md §3.3 (2017/18: 228.7)"))
    maths = school.grades[:, SUBJECTS.index("MA")][new_scale]
    rows.append(figure("maths_f_or_dash_share", _mean(np.isin(maths, (1, 7))), 0.128, 0.10, 0.155,
                       "domain.md §3.3 (2023/24: 12.8%)"))
    src = "domain.md §3.4 (ÖJ 2011)"
    peers = swedish[who] & ~placed_before[who] & new_scale
    rows.append(figure("eligible_share_never_placed", _mean(eligible, peers), 0.86, 0.83, 0.89, src, peers.sum()))
    for name, lo, hi, target, low, high in (("eligible_share_first_placed_before_10", 0, 10, 0.71, 0.64, 0.78),
                                            ("eligible_share_first_placed_after_12", 13, 17, 0.55, 0.47, 0.63)):
        group = swedish[who] & placed_before[who] & (first_age[who] >= lo) & (first_age[who] < hi) & new_scale
        rows.append(figure(name, _mean(eligible, group), target, low, high, src, group.sum()))
    present = (people["departure"].to_numpy() > year9_end) & (year9_end <= end_day) & swedish
    in_register = np.zeros(len(people), bool)
    in_register[who] = True
    placed = present & placed_before
    rows.append(figure("missing_from_grade_register_placed", 1 - _mean(in_register, placed), 0.155, 0.12, 0.19,
                       src, placed.sum()))
    never = present & ~placed_before
    rows.append(figure("missing_from_grade_register_never_placed", 1 - _mean(in_register, never), 0.03, 0.0, 0.05,
                       "domain.md §3.4 (95% of peers completed compulsory school)", never.sum()))
    # Three-year upper secondary (a diploma, examen 1 or 2) by 20, among those living in Sweden from 16 to 20.
    upper = school.upper
    by20 = timeline.year_of(birth) + 20
    diploma = np.zeros(len(people), bool)
    done = upper[upper["examen"].isin([1, 2]).to_numpy() &
                 (upper["examensar"].to_numpy() <= by20[upper["person"].to_numpy()])]
    diploma[done["person"].to_numpy()] = True
    at20 = timeline.birthday(birth, 20)
    observed = swedish & (at20 <= end_day) & (people["departure"].to_numpy() > at20)
    placed_child = first < timeline.birthday(birth, 18)
    src = "domain.md §3.4 (ÖJ 2018: 38% vs 79%; placed youth 20-40%)"
    rows.append(figure("upper_secondary_by_20_never_placed", _mean(diploma, observed & ~placed_child), 0.79, 0.75,
                       0.83, src, (observed & ~placed_child).sum()))
    rows.append(figure("upper_secondary_by_20_placed", _mean(diploma, observed & placed_child), 0.30, 0.20, 0.40, src,
                       (observed & placed_child).sum()))
    return rows


def error_figures(errors: pd.DataFrame, sizes: dict[str, int], identifier_rows: dict[str, int]) -> list[dict]:
    """Planted identifier errors per register, from the truth error table (`errors`: dataset, row, column, kind)."""
    rows = []
    typos = errors[errors["kind"] == "typo_checksum"].groupby("dataset").size()
    total_typos = sum(int(typos.get(name, 0)) for name in identifier_rows)
    total = sum(identifier_rows.values())
    rows.append(figure("identifier_typo_share_all_registers", total_typos / total if total else float("nan"),
                       0.006, 0.003, 0.01, "synth task (~0.3-1% typos)", total))
    for name, n in identifier_rows.items():
        rows.append(figure(f"identifier_typo_share_{name}", typos.get(name, 0) / n if n else float("nan"), None,
                           0.0, 0.012, "synth task", n))
    duplicates = errors[errors["kind"] == "duplicate_row"].groupby("dataset").size()
    for name, n in sizes.items():
        if name in duplicates:
            rows.append(figure(f"duplicate_row_share_{name}", duplicates[name] / n, None, 0.0, 0.01, "synth task", n))
    reserve = errors[(errors["kind"] == "reserve_number") & (errors["dataset"] == "patient")]
    if sizes.get("patient"):
        rows.append(figure("reserve_number_share_patient", len(reserve) / sizes["patient"], 0.005, 0.002, 0.01,
                           "domain.md §1.5 (≈25,000 reserve-numbered records in PAR 2008)", sizes["patient"]))
    return rows

