"""Education outcomes from year-9 grades: eligibility for upper secondary and meritvärde, exactly as Skolverket defines them.

Rules (Skolverket; domain.md §3.1–3.2):
- pass = E or better on the A–F scale (Lgr11), G or better on the old IG/G/VG/MVG scale; F, IG and `-` are not passes;
- every national programme: pass in Swedish or Swedish as a second language (SV/SVA), English (EN) and mathematics (MA);
- yrkesprogram: those three plus at least 5 other passed subjects (8 in all);
- högskoleförberedande programmes: those three plus 9 other passed subjects (12 in all), where for Ekonomi, Humanistiska
  and Samhällsvetenskap the 9 include GE, HI, RE and SH, for Naturvetenskap and Teknik they include BI, FY and KE, and
  for Estetiska any 9 count;
- leavers before 2011 (before Gy11): pass in SV/SVA, EN and MA only, for every programme;
- meritvärde: the 16 best grade values plus a modern language (M1/M2, the better one) as a 17th (max 340); on the old
  scale the 16 best (max 320). Values A 20, B 17.5, C 15, D 12.5, E 10, F 0; MVG 20, VG 15, G 10, IG 0; `-` 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.outcomes.codes import factorized

#: Year of leaving year 9 from which the Gy11 eligibility rules apply (entry to upper secondary in autumn 2011).
GY11_FIRST_YEAR = 2011

CORE_SWEDISH = ("SV", "SVA")
CORE_OTHER = ("EN", "MA")
SOCIAL_SCIENCES = ("GE", "HI", "RE", "SH")
NATURAL_SCIENCES = ("BI", "FY", "KE")
MODERN_LANGUAGES = ("M1", "M2")
SUBJECTS = ("SV", "SVA", "EN", "MA", "BI", "FY", "KE", "TK", "GE", "HI", "RE", "SH", "BL", "HKK", "IDH", "MU",
            "SL", "M1", "M2")

GRADE_VALUES = {
    "A": 20.0, "B": 17.5, "C": 15.0, "D": 12.5, "E": 10.0, "F": 0.0, "-": 0.0,
    "MVG": 20.0, "VG": 15.0, "G": 10.0, "IG": 0.0,
}
PASSING = frozenset({"A", "B", "C", "D", "E", "MVG", "VG", "G"})
OLD_SCALE = frozenset({"MVG", "VG", "G", "IG"})

OUTPUT_COLUMNS = ("id", "year", "yrkesprogram", "ekonomi_humanistiska_samhall", "naturvetenskap_teknik",
                  "estetiska", "meritvarde")


def eligibility(grades: pd.DataFrame) -> pd.DataFrame:
    """One row per `id`: eligibility per programme type and meritvärde, from a long frame of year-9 grades.

    `grades` has columns `id`, `year` (year of leaving year 9), `subject` (Skolverket codes, see SUBJECTS) and `grade`
    (A–F, `-`, or IG/G/VG/MVG). A pupil's latest leaving year counts; a subject graded twice that year counts once, with
    its best grade. Subjects outside SUBJECTS (e.g. other languages) count as "other subjects" like any other.

    Every per-row array is a small code (a grade register has millions of rows and a few dozen distinct subjects
    and grades): fresh memory costs more than the arithmetic.
    """
    missing = [c for c in ("id", "year", "subject", "grade") if c not in grades.columns]
    if missing:
        raise KeyError(f"eligibility() needs columns {missing}")
    subject_codes, subjects = _normalised_codes(grades["subject"])
    grade_codes, grades_seen = _normalised_codes(grades["grade"])
    id_codes, ids = factorized(grades["id"], sort=True)
    year_missing = grades["year"].isna().to_numpy(dtype=bool)
    year = grades["year"].fillna(0).to_numpy(dtype=np.int32)
    counted = (id_codes >= 0) & (subject_codes >= 0) & ~year_missing
    if not counted.all():
        id_codes, subject_codes, grade_codes, year = (a[counted] for a in (id_codes, subject_codes, grade_codes, year))
    latest = _latest(id_codes, year, len(ids))
    now = year == latest[id_codes]  # a pupil's latest leaving year counts
    if not now.all():
        id_codes, subject_codes, grade_codes = id_codes[now], subject_codes[now], grade_codes[now]
    grade_text = np.append(np.asarray(grades_seen, dtype=object), "-")  # a missing grade (code -1) is a dash
    points = np.array([2 * GRADE_VALUES.get(g, 0.0) for g in grade_text], dtype=np.int8)[grade_codes]  # half points
    passes = np.isin(grade_text, list(PASSING))[grade_codes]
    old = np.isin(grade_text, list(OLD_SCALE))[grade_codes]

    shape = (len(ids), len(subjects))
    cell = id_codes.astype(np.int32 if shape[0] * shape[1] < 2**31 else np.int64) * len(subjects) + subject_codes
    best = np.full(shape, -1, dtype=np.int8)  # best grade per pupil and subject in half points; -1 = not graded
    np.maximum.at(best.reshape(-1), cell, points)
    passed = np.zeros(shape, dtype=bool)
    passed.reshape(-1)[cell[passes]] = True
    any_old = np.zeros(len(ids), dtype=bool)
    any_old[id_codes[old]] = True
    present = np.zeros(len(ids), dtype=bool)
    present[id_codes] = True
    if not present.all():  # categories without grades (a categorical id keeps every category)
        ids, best, passed, any_old, latest = ids[present], best[present], passed[present], any_old[present], \
            latest[present]
    year = latest

    def column(names: tuple[str, ...]) -> np.ndarray:
        index = [i for i, s in enumerate(subjects) if s in names]
        return passed[:, index] if index else np.zeros((len(ids), 0), dtype=bool)

    core = column(CORE_SWEDISH).any(axis=1) & column(("EN",)).any(axis=1) & column(("MA",)).any(axis=1)
    other_index = [i for i, s in enumerate(subjects) if s not in CORE_SWEDISH + CORE_OTHER]
    others = passed[:, other_index].sum(axis=1)
    gy11 = year >= GY11_FIRST_YEAR

    yrkes = np.where(gy11, core & (others >= 5), core)
    social = column(SOCIAL_SCIENCES).sum(axis=1) == len(SOCIAL_SCIENCES)
    natural = column(NATURAL_SCIENCES).sum(axis=1) == len(NATURAL_SCIENCES)
    preparatory = core & (others >= 9)
    result = pd.DataFrame({
        "id": np.asarray(ids),
        "year": year.astype(np.int64),
        "yrkesprogram": yrkes,
        "ekonomi_humanistiska_samhall": np.where(gy11, preparatory & social, core),
        "naturvetenskap_teknik": np.where(gy11, preparatory & natural, core),
        "estetiska": np.where(gy11, preparatory, core),
        "meritvarde": _meritvarde(best, subjects, any_old),
    })
    return result


def _latest(codes: np.ndarray, year: np.ndarray, n: int) -> np.ndarray:
    """Each id's latest year (the smallest int32 where none): leaving years are few, so a table of (id, year) seen
    is faster than a max per row; other years the general way."""
    if len(year) and int(year.max()) - int(year.min()) < _MOST_YEARS:
        first = int(year.min())
        width = int(year.max()) - first + 1
        seen = np.zeros((n, width), dtype=bool)
        seen.reshape(-1)[codes.astype(np.int64) * width + (year - first)] = True  # numpy's fast 1-D path
        latest = (first + width - 1 - np.argmax(seen[:, ::-1], axis=1)).astype(np.int32)
        return np.where(seen.any(axis=1), latest, np.iinfo(np.int32).min)
    latest = np.full(n, np.iinfo(np.int32).min, dtype=np.int32)
    np.maximum.at(latest, codes, year)
    return latest


_MOST_YEARS = 200


def _normalised_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per row the code of its value trimmed and upper-cased (-1 where missing), and those values sorted; each
    distinct value is normalised once."""
    raw_codes, raw = factorized(values)
    codes, distinct = factorized(pd.Series([str(v).strip().upper() for v in raw], dtype=object), sort=True)
    return np.r_[codes, np.array([-1], codes.dtype)][raw_codes], np.asarray(distinct, dtype=object)


def _meritvarde(best: np.ndarray, subjects: np.ndarray, old_scale: np.ndarray) -> np.ndarray:
    """16 best values plus the better modern language as a 17th (A–F scale); 16 best only on the old scale. `best`
    is in half points (-1 not graded): sums of small integers, exact, halved at the end."""
    language_index = [i for i, s in enumerate(subjects) if s in MODERN_LANGUAGES]
    pool = np.maximum(best, 0)
    language = pool[:, language_index].max(axis=1).astype(np.int32) if language_index else np.zeros(len(pool), np.int32)
    graded_language = (best[:, language_index] >= 0).any(axis=1) if language_index else np.zeros(len(pool), bool)
    # The 17th is the better modern language; it leaves the pool of the 16 best (the other one may stay in it).
    if language_index:
        which = np.array(language_index)[np.argmax(pool[:, language_index], axis=1)]
        take = graded_language & ~old_scale
        pool[np.flatnonzero(take), which[take]] = 0
    left_out = max(pool.shape[1] - 16, 0)  # the 16 best are all but the `left_out` smallest
    sixteen = pool.sum(axis=1, dtype=np.int32) - (
        np.partition(pool, left_out - 1, axis=1)[:, :left_out].sum(axis=1, dtype=np.int32) if left_out else 0)
    return np.where(old_scale, sixteen, sixteen + np.where(graded_language, language, 0)) / 2
