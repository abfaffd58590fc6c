"""Frames shaped like an extract's tables (persons, placement_placement, placement_measure), for the indicator tests.

Made here from a seed, not from the linkage stage, so every test knows exactly what went in. Column names, codes and
types follow the codebooks cohort, education_outcomes, health_outcomes, placement_placement and placement_measure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: A few kommuner in two län, big and small (codes from the code list kommun).
KOMMUNER = ("0180", "0184", "0188", "1280", "1281", "1290")
BIRTH_YEARS = (2000, 2001, 2002, 2003)
REFERENCE_YEAR = 2025


def persons_frame(n: int = 4000, *, seed: int = 1, kommuner: tuple[str, ...] = KOMMUNER,
                  weights: tuple[float, ...] | None = None, missing_kon: float = 0.0) -> pd.DataFrame:
    """`n` persons with the cohort flags and the education and health outcomes (rates roughly as in ÖJ)."""
    rng = np.random.default_rng(seed)
    p = np.asarray(weights if weights is not None else np.linspace(3, 1, len(kommuner)), float)
    kommun = rng.choice(np.array(kommuner), size=n, p=p / p.sum())
    kon = rng.choice(np.array(["1", "2"]), size=n).astype(object)
    kon[rng.random(n) < missing_kon] = None
    ever = rng.random(n) < 0.15
    whole = ever & (rng.random(n) < 0.4)
    missing = rng.random(n) < np.where(ever, 0.15, 0.04)
    risk = np.where(whole, 0.45, np.where(ever, 0.35, 0.12))
    lacks = rng.random(n) < risk

    def outcome(rate: np.ndarray) -> np.ndarray:
        return rng.random(n) < rate

    frame = pd.DataFrame({
        "pseudonym_id": [f"{i:032x}" for i in rng.permutation(n)],
        "kon": pd.Series(kon, dtype="string"),
        "fodelsear": pd.array(rng.choice(np.array(BIRTH_YEARS), size=n), dtype="Int64"),
        "lan": pd.Series([k[:2] for k in kommun], dtype="string"),
        "kommun": pd.Series(kommun, dtype="string"),
        "placerad_nagon_gang": pd.array(ever, dtype="boolean"),
        "placerad_hela_ak9": pd.array(whole, dtype="boolean"),
        "aldrig_placerad": pd.array(~ever, dtype="boolean"),
        "behorig_yrkesprogram": pd.array(~lacks, dtype="boolean"),
        "behorig_ekonomi_humanistiska_samhall": pd.array(~lacks & outcome(np.full(n, 0.8)), dtype="boolean"),
        "behorig_naturvetenskap_teknik": pd.array(~lacks & outcome(np.full(n, 0.7)), dtype="boolean"),
        "behorig_estetiska": pd.array(~lacks & outcome(np.full(n, 0.9)), dtype="boolean"),
        "fullfoljt_grundskolan_17": pd.array(~missing & outcome(np.where(ever, 0.8, 0.95)), dtype="boolean"),
        "saknas_i_betygsregistret": pd.array(missing, dtype="boolean"),
        "gymnasieexamen_20": pd.array(outcome(np.where(whole, 0.35, np.where(ever, 0.45, 0.8))), dtype="boolean"),
        "psykiatrisk_vard": pd.array(outcome(np.where(ever, 0.4, 0.12)), dtype="boolean"),
        "sjalvskada": pd.array(outcome(np.where(ever, 0.1, 0.02)), dtype="boolean"),
        "substansrelaterad_vard": pd.array(outcome(np.where(ever, 0.15, 0.03)), dtype="boolean"),
        "minst_tva_psykofarmaka_15_16": pd.array(outcome(np.where(whole, 0.07, 0.01)), dtype="boolean"),
    })
    for column in ("behorig_yrkesprogram", "behorig_ekonomi_humanistiska_samhall", "behorig_naturvetenskap_teknik",
                   "behorig_estetiska"):
        frame.loc[missing, column] = pd.NA  # no grades, no eligibility
    return frame.sort_values("pseudonym_id", ignore_index=True)


def event_frames(persons: pd.DataFrame, *, seed: int = 2, precision: str = "month") -> tuple[pd.DataFrame,
                                                                                             pd.DataFrame]:
    """placement_placement and placement_measure rows for the ever-placed persons, dates coarsened to `precision`."""
    rng = np.random.default_rng(seed)
    placed = persons[persons["placerad_nagon_gang"].fillna(False).to_numpy(bool)]
    measures, placements = [], []
    for pid, born in zip(placed["pseudonym_id"], placed["fodelsear"]):
        start = pd.Timestamp(int(born) + int(rng.integers(2, 17)), int(rng.integers(1, 13)), 1)
        for _ in range(int(rng.integers(1, 3))):
            end = start + pd.Timedelta(days=int(rng.integers(30, 1500)))
            ongoing = end.year > REFERENCE_YEAR
            lagrum = rng.choice(["1", "2", "3", "4", "5"], p=[0.7, 0.15, 0.08, 0.04, 0.03])
            measures.append((pid, start, None if ongoing else end, lagrum))
            form = rng.choice(["1", "2", "3", "4", "5", "6", "7", "8"], p=[.5, .15, .08, .08, .1, .05, .02, .02])
            placements.append((pid, start, None if ongoing else end, form))
            if end.year > REFERENCE_YEAR:
                break
            start = end + pd.Timedelta(days=int(rng.integers(10, 400)))
            if start.year > REFERENCE_YEAR:
                break
    measure = pd.DataFrame(measures, columns=["pseudonym_id", "startdatum", "slutdatum", "lagrum"])
    placement = pd.DataFrame(placements, columns=["pseudonym_id", "startdatum", "slutdatum", "placeringsform"])
    for frame in (measure, placement):
        for column in ("startdatum", "slutdatum"):
            frame[column] = coarsen(frame[column], precision)
    return placement, measure


def coarsen(dates: pd.Series, precision: str) -> pd.Series:
    """Dates as an extract delivers them: a date, `YYYY-MM` text or an integer year."""
    stamps = pd.to_datetime(dates)
    if precision == "day":
        return stamps.dt.date.astype(object).where(stamps.notna(), None)
    if precision == "month":
        return stamps.dt.strftime("%Y-%m").astype("string")
    return stamps.dt.year.astype("Int64")
