"""Year-9 grades and upper secondary school of the synthetic world (domain.md §3).

A latent ability (lower with a higher social risk, after placement in care, and for late arrivals) drives every
subject grade; eligibility for upper secondary is then computed from the grades with the official rule (§3.2), so
placed children's lower eligibility (ÖJ 2011: ≈71% first placed before 10, ≈55% after 12, against ≈86%) and their
absence from the grade register (12-19%) come out of the same model. Leavers before 2013 get the old IG-MVG scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.synth import geography, timeline
from linkage.synth.population import Population
from linkage.synth.timeline import NONE, YEAR

SUBJECTS = ("SV", "SVA", "EN", "MA", "BI", "FY", "KE", "TK", "GE", "HI", "RE", "SH", "BL", "HKK", "IDH", "MU", "SL",
            "M1", "M2")
GRADES = ("", "F", "E", "D", "C", "B", "A", "-", "IG", "G", "VG", "MVG")  # index = code in the wide matrix
PASS = np.array([False, False, True, True, True, True, True, False, False, True, True, True])
POINTS = np.array([0, 0, 10, 12.5, 15, 17.5, 20, 0, 0, 10, 15, 20])  # merit points (§3.1)
FIRST_A_TO_F_YEAR = 2013  # leavers from this spring get only A-F final grades (§3.1: 2012 or 2013)
GY11_YEAR = 2011  # from the 2011 intake, 8 passes (vocational) are required; before, Sv/SvA, En and Ma
DIFFICULTY = {"SV": 0.0, "SVA": -0.3, "EN": 0.1, "MA": -0.5, "FY": -0.1, "KE": -0.1, "BI": 0.0, "IDH": 0.3,
              "BL": 0.25, "MU": 0.25, "HKK": 0.25, "SL": 0.25, "M1": 0.0, "M2": 0.1}
THRESHOLDS = (-1.9, -0.75, -0.05, 0.6, 1.2)  # F|E, E|D, D|C, C|B, B|A on the subject score
OLD_THRESHOLDS = (-1.9, -0.05, 1.0)  # IG|G, G|VG, VG|MVG
SUBJECT_NOISE = 0.6
# Missing from the grade register: logistic(MISSING_BASE + MISSING_RISK * risk + MISSING_PLACED * placed).
MISSING_BASE, MISSING_RISK, MISSING_PLACED = -4.3, 0.45, 2.0
PREPARATORY = {"EK": 0.24, "NA": 0.18, "SA": 0.27, "TE": 0.17, "ES": 0.10, "HU": 0.04}
VOCATIONAL = {"BA": 0.10, "BF": 0.09, "EE": 0.14, "FT": 0.11, "HA": 0.09, "HT": 0.05, "HV": 0.04, "IN": 0.04,
              "NB": 0.06, "RL": 0.06, "VF": 0.08, "VO": 0.14}
INTRODUCTORY = {"IMV": 0.35, "IMY": 0.30, "IMA": 0.25, "IMI": 0.10}
IM = ("IMA", "IMV", "IMS", "IMY", "IMI")  # introduktionsprogram, not national programmes
TO_NATIONAL = {"IMV": 0.5, "IMS": 0.3, "IMY": 0.25, "IMA": 0.15, "IMI": 0.15}
# Diploma within the programme's three years (four for some): logistic(DIPLOMA_BASE + DIPLOMA_ABILITY * ability
# - DIPLOMA_PLACED * placed before 18).
DIPLOMA_BASE, DIPLOMA_ABILITY, DIPLOMA_PLACED = 2.7, 1.0, 2.3


@dataclass
class School:
    """Pupils (one row per pupil in the grade register), their grades (wide codes) and upper-secondary rows."""

    pupils: pd.DataFrame  # person, skolenhetskod (int), avgangsar, eligible, preparatory, meritvarde, old_scale
    grades: np.ndarray  # (pupils, len(SUBJECTS)) int8 codes into GRADES, 0 = subject not taken
    upper: pd.DataFrame  # person, program, startar, examensar (0 none), examen (0 none)
    ability: np.ndarray  # per person


def school_year(year9: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) day of the school year that ends in spring `year9` (about 20 August to 10 June)."""
    return timeline.year_start(year9 - 1) + 231, timeline.year_start(year9) + 160


def generate_school(rng: np.random.Generator, population: Population, flags: pd.DataFrame, end_day: int) -> School:
    """Grade-register pupils with their grades, and upper-secondary programmes and diplomas."""
    people = population.people
    n = len(people)
    birth = people["birth"].to_numpy()
    year9 = people["year9_year"].to_numpy()
    _, last_day = school_year(year9)
    arrival = people["arrival"].to_numpy()
    departure = people["departure"].to_numpy()
    risk = people["risk"].to_numpy()
    first_placed = flags["first_placement"].to_numpy()
    placed_before = first_placed <= last_day
    first_age = np.where(first_placed != NONE, (first_placed - birth) / YEAR, 99)
    arrival_age = np.where(arrival != NONE, (arrival - birth) / YEAR, 0)
    ability = (-0.25 * risk + 0.95 * rng.standard_normal(n) + np.where(people["male"], -0.06, 0.06)
               - 0.18 * placed_before - 0.5 * (placed_before & (first_age >= 12.5))
               - 0.09 * np.maximum(arrival_age - 7, 0))
    number, _, _ = population.history.at(np.arange(n), last_day)
    present = (last_day <= end_day) & ((arrival == NONE) | (arrival <= timeline.year_start(year9) + 14)) & \
        (departure > last_day) & (number != 0)
    logit = MISSING_BASE + MISSING_RISK * risk + MISSING_PLACED * placed_before + 1.5 * (arrival_age >= 12)
    missing = rng.random(n) < 1 / (1 + np.exp(-logit))
    pupil = np.flatnonzero(present & ~missing)
    grades = _grades(rng, people, pupil, ability[pupil], year9[pupil], placed_before[pupil])
    units = _school_units(rng)
    kommun = people["kommun15"].to_numpy()[pupil]
    pick = units["first"].to_numpy()[kommun] + (rng.random(len(pupil)) * units["count"].to_numpy()[kommun]
                                                ).astype(np.int64)
    code = units["codes"][pick]
    eligible, preparatory, merit = assess(grades, year9[pupil])
    pupils = pd.DataFrame({"person": pupil, "skolenhetskod": code, "avgangsar": year9[pupil], "eligible": eligible,
                           "preparatory": preparatory, "meritvarde": merit,
                           "old_scale": year9[pupil] < FIRST_A_TO_F_YEAR})
    unit_key = (year9[pupil] - 1900) * 10**8 + code  # by year, then school unit, pupils shuffled
    order = np.argsort((unit_key << 24) | rng.integers(0, 1 << 24, len(pupil)))
    pupils, grades = pupils.iloc[order].reset_index(drop=True), grades[order]
    upper = _upper_secondary(rng, population, flags, pupils, ability, end_day)
    return School(pupils, grades, upper, ability)


def _grades(rng, people, pupil, ability, year9, placed_before) -> np.ndarray:
    m = len(pupil)
    born_abroad = people["born_abroad"].to_numpy()[pupil]
    foreign_parent = (people["mother_country"].to_numpy()[pupil] != "SE") | \
        (people["father_country"].to_numpy()[pupil] != "SE")
    takes = np.ones((m, len(SUBJECTS)), bool)
    sva = rng.random(m) < np.where(born_abroad, 0.85, np.where(foreign_parent, 0.12, 0.005))
    takes[:, SUBJECTS.index("SV")] = ~sva
    takes[:, SUBJECTS.index("SVA")] = sva
    takes[:, SUBJECTS.index("M1")] = rng.random(m) < 0.78 - 0.25 * (ability < -1)
    takes[:, SUBJECTS.index("M2")] = rng.random(m) < 0.02
    difficulty = np.array([DIFFICULTY.get(s, 0.0) for s in SUBJECTS], dtype=np.float32)
    score = (ability.astype(np.float32)[:, None] + difficulty
             + np.float32(SUBJECT_NOISE) * rng.standard_normal((m, len(SUBJECTS)), dtype=np.float32))
    code = np.ones(score.shape, dtype=np.int8)  # 1 F .. 6 A
    for threshold in THRESHOLDS:
        code += score > threshold
    old = year9 < FIRST_A_TO_F_YEAR
    if old.any():
        old_code = np.full((old.sum(), len(SUBJECTS)), 8, dtype=np.int8)  # 8 IG .. 11 MVG
        for threshold in OLD_THRESHOLDS:
            old_code += score[old] > threshold
        code[old] = old_code
    dash_chance = (0.003 + 0.01 * placed_before + 0.02 * (ability < -1.5)).astype(np.float32)
    dash = (rng.random((m, len(SUBJECTS)), dtype=np.float32) < dash_chance[:, None]) & ~old[:, None]
    code[dash] = 7
    code[~takes] = 0
    return code


def assess(grades: np.ndarray, year9: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(eligible for a vocational programme, for a higher-education-preparatory one, meritvärde) per pupil.

    Skolverket's rule (domain.md §3.2): pass (E or better; G or better on the old scale) in Swedish or Swedish as
    a second language, English and mathematics, plus 5 other subjects for vocational and 9 for preparatory
    programmes; leavers before the 2011 reform needed only the three. Meritvärde = the 16 best subjects plus a
    modern language as the 17th (§3.1).
    """
    passed = PASS[grades]
    core = (passed[:, SUBJECTS.index("SV")] | passed[:, SUBJECTS.index("SVA")]) & \
        passed[:, SUBJECTS.index("EN")] & passed[:, SUBJECTS.index("MA")]
    others = passed.sum(axis=1) - core * 3
    reform = year9 >= GY11_YEAR
    eligible = core & (~reform | (others >= 5))
    preparatory = core & (~reform | (others >= 9))
    points = POINTS[grades]
    language = SUBJECTS.index("M1")
    main = np.sort(np.delete(points, [language, SUBJECTS.index("M2")], axis=1), axis=1)[:, -16:].sum(axis=1)
    merit = main + np.where(year9 >= FIRST_A_TO_F_YEAR, points[:, language], 0)
    return eligible, preparatory, merit


def _school_units(rng: np.random.Generator) -> dict:
    """Grundskolor per kommun (about one per 7,000 inhabitants) with unique 8-digit skolenhetskoder."""
    size = geography.kommuner()["folkmangd"].to_numpy()
    count = np.maximum(1, np.round(size / 7000)).astype(np.int64)
    codes = np.zeros(0, np.int64)
    while len(codes) < count.sum():  # distinct codes in drawing order
        drawn = np.r_[codes, rng.integers(10_000_000, 100_000_000, count.sum())]
        _, first = np.unique(drawn, return_index=True)
        codes = drawn[np.sort(first)]
    codes = codes[: count.sum()]
    return {"first": pd.Series(np.cumsum(count) - count), "count": pd.Series(count), "codes": codes}


def _upper_secondary(rng, population: Population, flags: pd.DataFrame, pupils: pd.DataFrame,
                     ability: np.ndarray, end_day: int) -> pd.DataFrame:
    """Programmes started (national or introductory, then perhaps a national one) and diplomas."""
    people = population.people
    n = len(people)
    birth = people["birth"].to_numpy()
    arrival = people["arrival"].to_numpy()
    departure = people["departure"].to_numpy()
    last_year = int(timeline.year_of(np.array([end_day + 1]))[0]) - 1
    pupils_all = pupils["person"].to_numpy()
    # Pupils from the grade register (2% never start, 3% a year late): a national programme if eligible, else an
    # introductory one.
    starts = rng.random(len(pupils)) >= 0.02
    pupils = pupils[starts]
    person = pupils["person"].to_numpy()
    start = pupils["avgangsar"].to_numpy() + (rng.random(len(pupils)) < 0.03)
    recent = (arrival[person] != NONE) & (timeline.year_start(start) - arrival[person] < 4 * YEAR)
    program = np.where(pupils["preparatory"] & (rng.random(len(pupils)) < 0.72), _draw(rng, PREPARATORY, len(person)),
                       np.where(pupils["eligible"], _draw(rng, VOCATIONAL, len(person)),
                                np.where(recent, "IMS", _draw(rng, INTRODUCTORY, len(person)))))
    # Not in the grade register: newcomers start språkintroduktion, others an introductory programme (or none).
    in_register = np.zeros(n, bool)
    in_register[pupils_all] = True
    start_16 = timeline.year_of(birth) + 16
    arrival_year = timeline.year_of(arrival) + (timeline.ymd(np.where(arrival == NONE, 0, arrival)) % 10000 > 801)
    other_start = np.where(arrival != NONE, np.maximum(start_16, arrival_year), start_16)
    other_start_day = timeline.year_start(other_start) + 231
    number, _, _ = population.history.at(np.arange(n), other_start_day)
    age = (other_start_day - birth) / YEAR
    others = np.flatnonzero(~in_register & (age < 19.5) & (departure > other_start_day) & (number != 0)
                            & (rng.random(n) < np.where(arrival != NONE, 0.85, 0.5)))
    other_program = np.where(arrival[others] != NONE, "IMS", _draw(rng, INTRODUCTORY, len(others)))
    rows = pd.DataFrame({"person": np.r_[person, others], "startar": np.r_[start, other_start[others]],
                         "program": np.r_[program, other_program]})
    # Some move on from an introductory programme to a national one.
    im = rows["program"].isin(IM).to_numpy()
    move_on = im & (rng.random(len(rows)) < rows["program"].map(TO_NATIONAL).fillna(0).to_numpy())
    later = rows[move_on].assign(startar=lambda f: f["startar"] + rng.choice([1, 2], len(f), p=[0.7, 0.3]),
                                 program=lambda f: _draw(rng, VOCATIONAL, len(f)))
    rows = pd.concat([rows, later], ignore_index=True)
    rows = rows[(rows["startar"] <= last_year) &
                (departure[rows["person"]] > timeline.year_start(rows["startar"].to_numpy()) + 231)]
    who = rows["person"].to_numpy()
    placed_young = flags["first_placement"].to_numpy()[who] < timeline.birthday(birth[who], 18)
    national = ~rows["program"].isin(IM).to_numpy()
    logit = DIPLOMA_BASE + DIPLOMA_ABILITY * ability[who] - DIPLOMA_PLACED * placed_young - 0.8 * ~in_register[who]
    done = national & (rng.random(len(rows)) < 1 / (1 + np.exp(-logit)))
    years = np.where(rng.random(len(rows)) < 0.88, 3, 4)
    exam_year = rows["startar"].to_numpy() + years
    finished = timeline.year_start(exam_year) + 160 <= np.minimum(end_day, departure[who])
    examen = np.where(done, np.where(rows["program"].isin(list(PREPARATORY)), 2, 1), 0)
    certificate = national & ~done & (rng.random(len(rows)) < 0.35)
    examen = np.where(certificate, 3, examen)
    examen = np.where(finished, examen, 0)
    rows = rows.assign(examensar=np.where(examen > 0, exam_year, 0), examen=examen)
    order = np.argsort(rows["startar"].to_numpy() * 2**32 + rows["person"].to_numpy())  # unique per row
    return rows.iloc[order].reset_index(drop=True)


def _draw(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    codes = np.array(list(weights))
    p = np.array(list(weights.values()), dtype=float)
    return codes[rng.choice(len(codes), size=n, p=p / p.sum())]
