"""Synthetic Patientregistret (PAR) and Läkemedelsregistret for the synthetic world (domain.md §4).

Events are Poisson processes per person and age band whose rates rise with the latent social risk and with
placement history, so placed children show the several-fold excess of psychiatric care, self-harm, substance-related
care and psychotropic drugs that Swedish cohort studies and ÖJ report. Everything is vectorised over persons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from linkage.outcomes import concurrent_psychotropics

INPATIENT_FROM = date(1998, 1, 1)  # ICD-10-SE in PAR from 1998 (domain.md §4.1)
OUTPATIENT_FROM = date(2001, 1, 1)  # specialised outpatient care reported from 2001 (domain.md §4.1)
DRUGS_FROM = date(2005, 7, 1)  # Läkemedelsregistret starts July 2005 (domain.md §4.2)
_COURSES_FROM = date(2004, 1, 1)  # treatment courses may start before the register does; it sees them from July 2005

YEAR = 365.25
AGE_EDGES = (0, 1, 6, 12, 15, 18, 200)  # age bands: <1, 1-5, 6-11, 12-14, 15-17, 18+
PSYCHOTROPIC_GROUPS = ("N05A", "N05B", "N05C", "N06A", "N06B")  # domain.md §4.2


# --------------------------------------------------------------------------------------------------- shared machinery
@dataclass(frozen=True)
class People:
    """The columns of `persons` that drive event rates, as numpy arrays (dates as int64 days since 1970)."""

    person_id: np.ndarray
    birth: np.ndarray
    girl: np.ndarray  # 0 man, 1 kvinna: the row index into per-sex rate tables
    risk: np.ndarray
    placed: np.ndarray
    whole_year9: np.ndarray
    lvu3: np.ndarray
    hvb_sis: np.ndarray
    kommun: np.ndarray

    @property
    def n(self) -> int:
        return self.birth.size


def people(persons: pd.DataFrame) -> People:
    """Extract the rate-driving columns of a `persons` frame."""
    return People(
        person_id=persons["person_id"].to_numpy(np.int64),
        birth=_days(persons["fodelsedatum"], 0),
        girl=(persons["kon"].to_numpy(np.int64) == 2).astype(np.int64),
        risk=persons["risk"].to_numpy(np.float64),
        placed=persons["placed_ever"].to_numpy(bool),
        whole_year9=persons["placed_whole_year9"].to_numpy(bool),
        lvu3=persons["ever_lvu3"].to_numpy(bool),
        hvb_sis=persons["ever_hvb_sis"].to_numpy(bool),
        kommun=persons["kommun"].to_numpy(object),
    )


def _days(values: pd.Series, fill: int) -> np.ndarray:
    """Dates as int64 days since 1970-01-01, NaT replaced by `fill`."""
    d = values.to_numpy("datetime64[D]")
    return np.where(np.isnat(d), fill, d.astype(np.int64))


def day_number(d: date) -> int:
    """A calendar date as days since 1970-01-01."""
    return int(np.datetime64(d, "D").astype(np.int64))


def observation_window(persons: pd.DataFrame, *, start: date, end_date: date) -> tuple[np.ndarray, np.ndarray]:
    """First and last day (inclusive, days since 1970) a person can appear in a register covering `start`..`end_date`.

    From birth, immigration and the register's start; to death, emigration and `end_date`. Empty where last < first.
    """
    big = day_number(date(2200, 1, 1))
    lo = np.maximum.reduce([_days(persons["fodelsedatum"], 0), _days(persons["invandringsdatum"], 0),
                            np.full(len(persons), day_number(start))])
    hi = np.minimum.reduce([_days(persons["dodsdatum"], big), _days(persons["utvandringsdatum"], big),
                            np.full(len(persons), day_number(end_date))])
    return lo, hi


def age_bands(birth: np.ndarray, lo: np.ndarray, hi: np.ndarray, edges=AGE_EDGES) -> tuple[np.ndarray, np.ndarray]:
    """Per person and age band, the first day and the day after the last day observed in that band, shape (n, bands)."""
    edge_days = np.round(np.asarray(edges, dtype=np.float64) * YEAR).astype(np.int64)
    bounds = birth[:, None] + edge_days[None, :]
    start = np.maximum(bounds[:, :-1], lo[:, None])
    stop = np.minimum(bounds[:, 1:], (hi + 1)[:, None])
    return start, np.maximum(stop, start)


@dataclass(frozen=True)
class Effects:
    """Rate ratios applied to a stream: per SD of `risk` (log-linear) and for each placement flag."""

    risk: float = 0.0
    placed: float = 1.0
    whole_year9: float = 1.0
    lvu3: float = 1.0
    hvb_sis: float = 1.0
    frailty: float | None = None  # shape of a mean-1 gamma frailty (smaller = more clustered); None = none


def multiplier(rng: np.random.Generator, p: People, eff: Effects) -> np.ndarray:
    """Each person's rate multiplier for a stream: covariates times an optional gamma frailty."""
    log = eff.risk * p.risk
    for flag, ratio in ((p.placed, eff.placed), (p.whole_year9, eff.whole_year9), (p.lvu3, eff.lvu3),
                        (p.hvb_sis, eff.hvb_sis)):
        log = log + np.log(ratio) * flag
    m = np.exp(log)
    if eff.frailty is not None:
        m = m * rng.gamma(eff.frailty, 1.0 / eff.frailty, p.n)
    return m


def draw_events(rng: np.random.Generator, p: People, bands: tuple[np.ndarray, np.ndarray], rates,
                eff: Effects) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson events per person and age band; rates per person-year `(boys/men per band, girls/women per band)`.

    Each person's rates are scaled by `multiplier(eff)`. Returns (person index, band index, day), the day uniform
    over the observed part of the band. Bands with no rate for either sex cost nothing.
    """
    mult = multiplier(rng, p, eff)
    table = np.array(rates, dtype=np.float64)
    used = np.flatnonzero(table.any(axis=0))
    start, span = bands[0][:, used], bands[1][:, used] - bands[0][:, used]
    counts = rng.poisson(span * (table[:, used][p.girl] * (mult / YEAR)[:, None])).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    day = start.ravel()[cell] + (rng.random(cell.size) * span.ravel()[cell]).astype(np.int64)
    return cell // used.size, used[cell % used.size], day


def pick(rng: np.random.Generator, group: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For each event a column index drawn with probability ∝ `weights[group]` (weights shape (groups, choices)).

    One search over all groups at once: group g's normalised cumulative weights are laid out on [g, g + 1).
    """
    groups, choices = weights.shape
    total = weights.sum(axis=1, keepdims=True)
    if (total[group] <= 0).any():
        raise ValueError("a code table has no codes for the age band and sex of some events")
    cum = np.cumsum(weights / np.where(total > 0, total, 1), axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(groups)[:, None]).ravel()
    at = np.searchsorted(flat, group + rng.random(group.size), side="right")
    return np.minimum(at - group * choices, choices - 1)


def choice(rng: np.random.Generator, n: int, values, p) -> np.ndarray:
    """`n` draws from `values` with probabilities `p` (normalised)."""
    p = np.asarray(p, dtype=np.float64)
    return np.asarray(values)[rng.choice(len(p), size=n, p=p / p.sum())]


@dataclass(frozen=True)
class CodeTable:
    """Codes with weights per age band (AGE_EDGES) and per sex (boy/man, girl/woman); `kind` is a per-code tag."""

    codes: np.ndarray
    kind: np.ndarray
    weights: np.ndarray  # (bands * 2, codes): row band*2 + girl

    @classmethod
    def of(cls, rows) -> CodeTable:
        codes = np.array([r[0] for r in rows], dtype=object)
        kind = np.empty(len(rows), dtype=object)
        for i, r in enumerate(rows):
            kind[i] = r[1]
        band = np.array([r[2] for r in rows], dtype=np.float64)  # (codes, bands)
        sex = np.array([r[3] for r in rows], dtype=np.float64)  # (codes, 2)
        return cls(codes, kind, (band.T[:, None, :] * sex.T[None, :, :]).reshape(-1, len(rows)))

    def draw(self, rng: np.random.Generator, band: np.ndarray, girl: np.ndarray) -> np.ndarray:
        """For each event (age band, sex) the index of a code drawn by the table's weights."""
        return pick(rng, band * 2 + girl, self.weights)

    def ids(self, vocab: Vocab) -> np.ndarray:
        """The vocabulary id of each of the table's codes."""
        return vocab.ids(self.codes)


class Vocab:
    """Codes as int32 ids while rows are built, decoded to str once at the end (id -1 = missing)."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}

    def ids(self, codes) -> np.ndarray:
        return np.array([self._index.setdefault(str(c), len(self._index)) for c in codes], dtype=np.int32)

    def decode(self, ids: np.ndarray) -> np.ndarray:
        return np.array([*self._index, None], dtype=object)[ids]


def row_order(person: np.ndarray, day: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Indices of the kept rows ordered by person, then day, then position: one sort of packed 63-bit keys."""
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return idx
    who = person[idx].astype(np.int64)
    offset = day[idx].astype(np.int64)
    offset -= offset.min()
    bits_pos, bits_day = int(idx.size).bit_length(), int(offset.max()).bit_length()
    if bits_pos + bits_day + int(who.max()).bit_length() > 63:
        return idx[np.lexsort((offset, who))]
    key = (who << (bits_day + bits_pos)) | (offset << bits_pos) | np.arange(idx.size)
    key.sort()
    return idx[key & ((1 << bits_pos) - 1)]


def _yyyymmdd(days: np.ndarray) -> np.ndarray:
    """Days since 1970 as `YYYYMMDD` strings (object array), via a lookup over the span of days present."""
    if days.size == 0:
        return np.array([], dtype=object)
    base = int(days.min())
    iso = np.datetime_as_string(np.arange(base, int(days.max()) + 1).astype("datetime64[D]"))
    return np.array([d[:4] + d[5:7] + d[8:] for d in iso], dtype=object)[days - base]


def timestamps(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Days since 1970 as datetime64[ns], NaT where `missing`."""
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    if missing is not None:
        out[missing] = np.datetime64("NaT")
    return out


# ------------------------------------------------------------------------------------------------------ patient codes
# ICD-10-SE codes (4-character form without the dot). kind: M medicine (mvo 441 under 18, else 101), S surgery 301,
# O orthopaedics 331. Band weights: <1, 1-5, 6-11, 12-14, 15-17, 18+; sex weights: boys/men, girls/women.
_SOMATIC_OUT = CodeTable.of([
    ("P599", "M", (8, 0, 0, 0, 0, 0), (1, 1)),  # neonatal jaundice
    ("P073", "M", (6, 0.5, 0, 0, 0, 0), (1, 1)),  # preterm
    ("Q210", "M", (2, 1, 0.5, 0.3, 0.2, 0.1), (1, 1)),  # ventricular septal defect
    ("R633", "M", (4, 1, 0.2, 0, 0, 0), (1, 1)),  # feeding difficulties
    ("K219", "M", (5, 1, 1, 1, 1, 2), (1, 1)),  # reflux
    ("J210", "M", (6, 1, 0, 0, 0, 0), (1.1, 1)),  # RSV bronchiolitis
    ("J069", "M", (5, 6, 2, 1, 1, 1), (1, 1)),
    ("J189", "M", (2, 3, 1, 0.5, 0.5, 0.6), (1, 1)),
    ("J459", "M", (0.5, 5, 5, 3, 2, 2), (1.3, 1)),
    ("J450", "M", (0, 1, 3, 3, 2, 2), (1.2, 1)),
    ("J304", "M", (0, 0.5, 2, 2, 2, 1.5), (1, 1)),
    ("J030", "M", (0, 2, 2, 1.5, 1.5, 1), (1, 1)),
    ("J353", "S", (0, 3, 1.5, 0.3, 0.2, 0.1), (1, 1)),
    ("H669", "M", (3, 6, 1.5, 0.3, 0.2, 0.1), (1, 1)),
    ("A090", "M", (3, 4, 1.5, 1, 1, 1), (1, 1)),
    ("A084", "M", (2, 2, 0.5, 0.3, 0.3, 0.3), (1, 1)),
    ("B019", "M", (0.5, 1, 0.3, 0, 0, 0), (1, 1)),
    ("B349", "M", (2, 2, 1, 0.5, 0.5, 0.5), (1, 1)),
    ("A46", "M", (0, 0.2, 0.3, 0.3, 0.5, 0.8), (1, 1)),
    ("R509", "M", (3, 3, 1, 0.5, 0.3, 0.3), (1, 1)),
    ("R560", "M", (0.5, 2, 0.2, 0, 0, 0), (1, 1)),
    ("R104", "M", (0.5, 2, 4, 4, 4, 4), (0.8, 1.3)),
    ("R51", "M", (0, 0.2, 1.5, 2, 2, 2), (0.8, 1.2)),
    ("R55", "M", (0, 0, 0.5, 1.5, 2, 2), (0.8, 1.3)),
    ("R074", "M", (0, 0, 0.5, 1, 1.5, 2.5), (1, 1)),
    ("L209", "M", (3, 3, 1, 0.5, 0.5, 0.5), (1, 1)),
    ("L500", "M", (0.5, 1.5, 1, 1, 1, 1), (1, 1)),
    ("L700", "M", (0, 0, 0, 1, 2, 1.5), (1, 1)),
    ("T784", "M", (0.5, 1.5, 1, 1, 1, 1), (1, 1)),
    ("T781", "M", (0.5, 1, 0.5, 0.3, 0.3, 0.3), (1, 1)),
    ("K590", "M", (1, 3, 3, 1, 0.5, 0.5), (1, 1.2)),
    ("K529", "M", (0, 0.5, 1, 1, 1, 1.5), (1, 1)),
    ("K509", "M", (0, 0, 0.2, 0.5, 0.8, 1), (1, 1)),
    ("K519", "M", (0, 0, 0.2, 0.5, 0.8, 1), (1, 1)),
    ("K900", "M", (0, 1, 1, 0.6, 0.4, 0.4), (0.8, 1.3)),
    ("K358", "S", (0, 0.3, 1.2, 1.5, 1.2, 1), (1.1, 1)),
    ("K409", "S", (1, 0.5, 0.2, 0.1, 0.1, 0.2), (3, 1)),
    ("N390", "M", (1, 1, 1, 0.5, 1, 2), (0.4, 1.6)),
    ("N10", "M", (0.5, 0.3, 0.3, 0.3, 0.5, 0.8), (0.4, 1.6)),
    ("E109", "M", (0, 1, 2, 2, 2, 2), (1.1, 1)),
    ("E669", "M", (0, 0.2, 1, 1, 0.8, 0.5), (1, 1)),
    ("E039", "M", (0.2, 0.2, 0.3, 0.5, 0.8, 1.5), (0.4, 1.6)),
    ("D509", "M", (0.2, 0.5, 0.3, 0.5, 1, 1.5), (0.4, 1.6)),
    ("G409", "M", (0.5, 1, 1.5, 1.5, 1.5, 1.5), (1, 1)),
    ("G430", "M", (0, 0, 0.5, 1, 1.5, 1.5), (0.6, 1.4)),
    ("G442", "M", (0, 0, 0.5, 1, 1.5, 1.5), (0.8, 1.2)),
    ("G809", "M", (0.5, 1, 1, 0.8, 0.6, 0.5), (1.2, 0.8)),
    ("M255", "O", (0, 0.5, 1.5, 2, 2, 2), (1, 1)),
    ("M545", "O", (0, 0, 0.3, 1, 1.5, 3), (1, 1)),
    ("M419", "O", (0, 0, 0.5, 1.5, 1, 0.5), (0.6, 1.4)),
    ("M796", "O", (0, 0.2, 1, 1.5, 1.5, 1.5), (1, 1)),
    ("S525", "O", (0, 1, 3, 3, 1.5, 1), (1.2, 0.8)),
    ("S420", "O", (0.5, 1, 1.5, 1, 0.8, 0.6), (1.3, 0.7)),
    ("S626", "O", (0, 0.3, 1, 2, 2, 2), (1.4, 0.6)),
    ("S934", "O", (0, 0.2, 1.5, 3, 3, 2.5), (1, 1)),
    ("S836", "O", (0, 0, 0.5, 1.5, 2, 2), (1.1, 0.9)),
    ("S060", "S", (0.5, 1, 1, 1.5, 1.5, 1.5), (1.3, 0.7)),
    ("S009", "S", (1, 2, 1, 0.5, 0.5, 0.5), (1.2, 0.8)),
    ("S010", "S", (0.5, 2, 1, 0.5, 0.5, 0.5), (1.3, 0.7)),
    ("S611", "S", (0, 0.5, 0.5, 0.5, 1, 1), (1.3, 0.7)),
    ("T230", "S", (0.3, 1, 0.3, 0.2, 0.2, 0.3), (1.1, 0.9)),
    ("Z038", "M", (3, 2, 1, 1, 1, 1), (1, 1)),
    ("Z098", "M", (1, 1, 1, 1, 1, 1), (1, 1)),
])

_SOMATIC_IN = CodeTable.of([
    ("P599", "M", (10, 0, 0, 0, 0, 0), (1, 1)),
    ("P073", "M", (8, 0, 0, 0, 0, 0), (1.1, 1)),
    ("J210", "M", (10, 1.5, 0, 0, 0, 0), (1.1, 1)),
    ("J189", "M", (3, 4, 1.5, 0.8, 0.8, 1), (1, 1)),
    ("J459", "M", (0.5, 3, 1.5, 0.8, 0.5, 0.5), (1.3, 1)),
    ("A090", "M", (3, 4, 1.5, 0.8, 0.8, 1), (1, 1)),
    ("A080", "M", (2, 2, 0.2, 0, 0, 0), (1, 1)),
    ("R560", "M", (0.5, 3, 0.2, 0, 0, 0), (1, 1)),
    ("K358", "S", (0, 0.5, 3, 4, 3, 2.5), (1.1, 1)),
    ("K352", "S", (0, 0.3, 1, 1, 0.8, 0.6), (1.1, 1)),
    ("R104", "S", (0, 0.5, 2, 3, 3, 2.5), (0.8, 1.3)),
    ("S060", "S", (0.5, 1.5, 2, 2, 2, 1.5), (1.3, 0.7)),
    ("S525", "O", (0, 0.5, 1.5, 1.5, 0.8, 0.5), (1.2, 0.8)),
    ("S822", "O", (0, 0.2, 0.5, 1, 1, 1), (1.3, 0.7)),
    ("E109", "M", (0, 1.5, 1.5, 1.5, 1.5, 1), (1.1, 1)),
    ("G409", "M", (0.5, 1, 1, 1, 1, 1), (1, 1)),
    ("N10", "M", (0.5, 0.5, 0.3, 0.3, 0.5, 1), (0.4, 1.6)),
    ("T784", "M", (0.2, 0.5, 0.5, 0.5, 0.5, 0.5), (1, 1)),
    ("K509", "M", (0, 0, 0.2, 0.5, 0.8, 1), (1, 1)),
    ("R074", "M", (0, 0, 0.2, 0.5, 1, 1.5), (1, 1)),
])

# Accidents and assault as external cause (ekod1) on injury visits; 4th character = place (9 unspecified).
_INJURY_CAUSES = CodeTable.of([
    ("W019", "", (1, 2, 3, 3, 3, 3), (1, 1)),  # fall on same level from slipping, tripping
    ("W109", "", (1, 2, 1, 1, 1, 1), (1, 1)),  # fall on and from stairs
    ("W199", "", (2, 3, 2, 2, 2, 2), (1, 1)),  # unspecified fall
    ("W229", "", (0.5, 1, 2, 2, 2, 1.5), (1.2, 0.8)),  # striking against other objects
    ("W509", "", (0, 0.5, 1, 1.5, 1, 0.5), (1.3, 0.7)),  # hit, struck, kicked by another person
    ("X599", "", (1, 1, 1, 1, 1, 1), (1, 1)),  # exposure to unspecified factor
    ("Y049", "", (0, 0, 0.2, 0.8, 1.2, 1.2), (1.5, 0.6)),  # assault by bodily force
])

# Psychiatric diagnoses (F00-F99 outside F10-F19); kind unused.
_PSYCH = CodeTable.of([
    ("F900", "", (0, 1, 6, 4, 2, 1.5), (2, 1)),  # ADHD
    ("F909", "", (0, 0.5, 2, 1.5, 1, 0.8), (2, 1)),
    ("F840", "", (0, 3, 1.5, 0.8, 0.5, 0.3), (3, 1)),  # childhood autism
    ("F845", "", (0, 0.2, 2, 2, 1.5, 1), (2.5, 1)),  # Asperger
    ("F849", "", (0, 1, 1, 0.8, 0.5, 0.4), (2.5, 1)),
    ("F913", "", (0, 0.5, 1.5, 1, 0.5, 0), (2, 1)),  # oppositional defiant disorder
    ("F919", "", (0, 0.2, 0.5, 1, 1, 0), (2, 1)),  # conduct disorder
    ("F930", "", (0, 0.5, 1, 0.5, 0.2, 0), (1, 1.2)),
    ("F938", "", (0, 0.2, 1, 1, 0.5, 0), (1, 1.2)),
    ("F952", "", (0, 0.1, 0.5, 0.4, 0.2, 0.1), (3, 1)),  # Tourette
    ("F980", "", (0, 0.5, 0.5, 0.1, 0, 0), (2, 1)),  # enuresis
    ("F700", "", (0, 0.1, 0.3, 0.3, 0.3, 0.3), (1.5, 1)),
    ("F320", "", (0, 0, 0.2, 1, 1.5, 1.5), (0.5, 1.5)),
    ("F321", "", (0, 0, 0.2, 1.5, 3, 3), (0.5, 1.5)),
    ("F322", "", (0, 0, 0, 0.5, 1, 1), (0.5, 1.5)),
    ("F329", "", (0, 0, 0.3, 1.5, 2, 2), (0.5, 1.5)),
    ("F331", "", (0, 0, 0, 0.2, 0.8, 1.5), (0.5, 1.5)),
    ("F410", "", (0, 0, 0.1, 0.5, 1, 1.5), (0.5, 1.5)),
    ("F411", "", (0, 0, 0.3, 1, 1.5, 2), (0.5, 1.5)),
    ("F412", "", (0, 0, 0.2, 1, 1.5, 1.5), (0.5, 1.5)),
    ("F419", "", (0, 0.1, 0.5, 1, 1.5, 1.5), (0.6, 1.4)),
    ("F429", "", (0, 0, 0.3, 0.6, 0.6, 0.6), (1, 1)),
    ("F431", "", (0, 0, 0.5, 1, 1.5, 1.5), (0.6, 1.4)),  # PTSD
    ("F432", "", (0, 0.2, 1, 2, 2, 2), (0.7, 1.3)),  # adjustment disorder
    ("F438", "", (0, 0, 0.5, 1, 1, 1), (0.7, 1.3)),
    ("F500", "", (0, 0, 0.1, 1, 1, 0.5), (0.1, 1.9)),  # anorexia nervosa
    ("F502", "", (0, 0, 0, 0.3, 0.6, 0.6), (0.1, 1.9)),
    ("F509", "", (0, 0, 0.2, 0.6, 0.8, 0.6), (0.2, 1.8)),
    ("F603", "", (0, 0, 0, 0, 0.5, 2), (0.3, 1.7)),  # emotionally unstable personality disorder
    ("F609", "", (0, 0, 0, 0, 0.1, 0.5), (1, 1)),
    ("F209", "", (0, 0, 0, 0, 0.1, 0.4), (1.5, 0.5)),
    ("F319", "", (0, 0, 0, 0.05, 0.2, 0.5), (1, 1)),
    ("F99", "", (0, 0.2, 0.3, 0.3, 0.3, 0.3), (1, 1)),
])

_PSYCH_INPATIENT = CodeTable.of([
    ("F321", "", (0, 0, 0.5, 1.5, 2, 2), (0.5, 1.5)),
    ("F322", "", (0, 0, 0.3, 1.5, 2, 2), (0.5, 1.5)),
    ("F332", "", (0, 0, 0, 0.3, 0.8, 1.5), (0.5, 1.5)),
    ("F431", "", (0, 0, 0.5, 1, 1, 1), (0.6, 1.4)),
    ("F432", "", (0, 0.2, 1, 1.5, 1.5, 1.5), (0.8, 1.2)),
    ("F500", "", (0, 0, 0.3, 2, 1.5, 0.5), (0.1, 1.9)),
    ("F603", "", (0, 0, 0, 0, 0.8, 2.5), (0.3, 1.7)),
    ("F209", "", (0, 0, 0, 0.1, 0.5, 1.5), (1.5, 0.5)),
    ("F319", "", (0, 0, 0, 0.1, 0.4, 1), (1, 1)),
    ("F913", "", (0, 0.5, 1, 0.5, 0.2, 0), (2, 1)),
    ("F840", "", (0, 1, 0.5, 0.3, 0.2, 0.1), (3, 1)),
])

# Substance use (F10-F19, toxic effect of alcohol): kind P = psychiatric / addiction care, M = somatic emergency care.
_SUBSTANCE = CodeTable.of([
    ("F100", "M", (0, 0, 0, 3, 4, 2), (1, 1)),  # acute alcohol intoxication
    ("T510", "M", (0, 0, 0, 1, 1.5, 0.8), (1, 1)),  # toxic effect of ethanol
    ("F101", "P", (0, 0, 0, 0.5, 1.5, 2), (1, 1)),
    ("F102", "P", (0, 0, 0, 0, 0.3, 1.5), (1.3, 0.7)),
    ("F120", "M", (0, 0, 0, 0.3, 0.8, 0.5), (1.3, 0.7)),
    ("F121", "P", (0, 0, 0, 0.5, 2, 2), (1.5, 0.6)),
    ("F122", "P", (0, 0, 0, 0.1, 1, 2), (1.5, 0.6)),
    ("F190", "M", (0, 0, 0, 0.3, 0.8, 0.8), (1.2, 0.8)),
    ("F191", "P", (0, 0, 0, 0.3, 1.5, 2), (1.2, 0.8)),
    ("F192", "P", (0, 0, 0, 0.1, 1, 2.5), (1.3, 0.7)),
    ("F151", "P", (0, 0, 0, 0.1, 0.5, 1), (1.2, 0.8)),
    ("F111", "P", (0, 0, 0, 0, 0.2, 0.6), (1.3, 0.7)),
    ("F112", "P", (0, 0, 0, 0, 0.1, 0.8), (1.3, 0.7)),
    ("F131", "P", (0, 0, 0, 0.1, 0.4, 0.6), (1, 1)),
])

# Self-harm: external cause (3 characters; the place digit is added) and the injury or poisoning it caused (hdia).
_SELF_HARM = CodeTable.of([
    ("X60", "T391", (0, 0, 0, 3, 3, 3), (15, 30)),  # paracetamol
    ("X60", "T393", (0, 0, 0, 1, 1, 1), (4, 8)),
    ("X61", "T424", (0, 0, 0, 1, 1, 1.5), (6, 8)),  # benzodiazepines
    ("X61", "T432", (0, 0, 0, 1, 1, 1), (3, 6)),  # antidepressants
    ("X61", "T435", (0, 0, 0, 1, 1, 1), (2, 3)),
    ("X61", "T436", (0, 0, 0, 1, 1, 1), (2, 2)),
    ("X62", "T402", (0, 0, 0, 0.5, 1, 1.5), (2, 1)),
    ("X64", "T509", (0, 0, 0, 1, 1, 1), (6, 8)),
    ("X65", "T510", (0, 0, 0, 1, 1, 1), (3, 3)),
    ("X78", "S518", (0, 0, 0, 1, 1, 1), (6, 12)),  # sharp object, forearm
    ("X78", "S619", (0, 0, 0, 1, 1, 1), (3, 5)),
    ("X70", "T71", (0, 0, 0, 1, 1, 1), (2, 1)),  # hanging
    ("X80", "S822", (0, 0, 0, 1, 1, 1), (1, 0.5)),  # jumping from a high place
    ("X84", "T149", (0, 0, 0, 1, 1, 1), (3, 3)),
])
_SELF_HARM_COMORBID = CodeTable.of([(c, "", (1,) * 6, (w, w)) for c, w in (
    ("F329", 4), ("F321", 2), ("F432", 3), ("F412", 2), ("F603", 2), ("F431", 1), ("F100", 1), ("F500", 1))])

# Specialty (mvo): internmedicin, kirurgi, ortopedi, barn- och ungdomsmedicin, allmänpsykiatri,
# barn- och ungdomspsykiatri, rättspsykiatri.
MVO_CODES = np.array(["101", "301", "331", "441", "901", "931", "941"], dtype=object)
_SPEC = {"M": 0, "S": 1, "O": 2}  # somatic table kinds: medicine, surgery (301), orthopaedics (331)
_ONE_TWO = np.array(["1", "2"], dtype=object)  # vardform and pvard codes indexed by a flag (True = "2")


@dataclass
class _Rows:
    """Patient rows under construction, all numeric: person index, days since 1970 (utdatum -1 = none), vocabulary
    ids of diagnoses and causes (-1 = none), vardform 2 and pvard 2 as flags, indices into MVO_CODES."""

    person: np.ndarray
    indatum: np.ndarray
    utdatum: np.ndarray
    outpatient: np.ndarray
    hdia: np.ndarray
    dia1: np.ndarray
    dia2: np.ndarray
    ekod1: np.ndarray
    psychiatric: np.ndarray
    mvo: np.ndarray

    def __post_init__(self) -> None:
        _compact(self, person=np.int32, indatum=np.int32, utdatum=np.int32, outpatient=bool, hdia=np.int16,
                 dia1=np.int16, dia2=np.int16, ekod1=np.int16, psychiatric=bool, mvo=np.int8)


def _compact(rows, **dtypes) -> None:
    """Store the columns of rows under construction in compact dtypes (national scale: tens of millions of rows)."""
    for name, dtype in dtypes.items():
        setattr(rows, name, getattr(rows, name).astype(dtype, copy=False))


def _stack(parts: list):
    """Rows under construction of several streams concatenated, column by column."""
    cls = type(parts[0])
    return cls(*(np.concatenate([getattr(part, f) for part in parts]) for f in cls.__dataclass_fields__))


def _somatic_mvo(spec: np.ndarray, adult: np.ndarray) -> np.ndarray:
    """Somatic specialty: surgery or orthopaedics by `spec`, else internal medicine for adults, paediatrics below 18."""
    return np.where(spec == 0, np.where(adult, 0, 3), spec)


def _psych_mvo(adult: np.ndarray) -> np.ndarray:
    """Psychiatric specialty: general psychiatry for adults, child and adolescent psychiatry below 18."""
    return np.where(adult, 4, 5)


def _none(n: int) -> np.ndarray:
    return np.full(n, -1, dtype=np.int32)


def _some(rng: np.random.Generator, share: float, band: np.ndarray, girl: np.ndarray, table: CodeTable,
          vocab: Vocab, unless: np.ndarray | None = None) -> np.ndarray:
    """A code from `table` for a `share` of rows, -1 elsewhere (and where it equals `unless`, a repeated diagnosis)."""
    out = _none(band.size)
    sel = np.flatnonzero(rng.random(band.size) < share)
    ids = table.ids(vocab)[table.draw(rng, band[sel], girl[sel])]
    out[sel] = ids if unless is None else np.where(ids != unless[sel], ids, -1)
    return out


def _length_of_stay(rng: np.random.Generator, n: int, median: float, sigma: float = 0.8) -> np.ndarray:
    return np.floor(rng.lognormal(np.log(median), sigma, n)).astype(np.int64)


def _visits(rng: np.random.Generator, episode_day: np.ndarray, extra_mean: np.ndarray | float,
            gap_days: float) -> tuple[np.ndarray, np.ndarray]:
    """Visits of episodes: 1 + geometric extra visits each, `gap_days` apart on average; (episode index, day)."""
    extra_mean = np.broadcast_to(np.asarray(extra_mean, dtype=np.float64), episode_day.shape)
    visits = rng.geometric(1.0 / (1.0 + extra_mean))
    episode, offset = _repeat_spaced(rng, visits, lambda m: np.ceil(rng.exponential(gap_days, m)))
    return episode, episode_day[episode] + offset


def _repeat_spaced(rng: np.random.Generator, counts: np.ndarray, gaps) -> tuple[np.ndarray, np.ndarray]:
    """Each item repeated `counts` times, the repeats `gaps(m)` days apart: (item index, day offset from the first)."""
    item = np.repeat(np.arange(counts.size), counts)
    step = gaps(item.size).astype(np.int64)
    first = np.cumsum(counts) - counts
    step[first] = 0
    offset = np.cumsum(step)
    offset -= np.repeat(offset[first], counts)
    return item, offset


def _flag(n: int, value: bool) -> np.ndarray:
    return np.full(n, value, dtype=bool)


def _somatic(rng, p: People, bands, vocab: Vocab, *, inpatient: bool) -> _Rows:
    """Somatic specialised outpatient visits or inpatient stays (pvard 1), injuries with an accident cause."""
    if inpatient:
        rates = ((0.20, 0.05, 0.025, 0.025, 0.03, 0.03), (0.17, 0.04, 0.02, 0.025, 0.035, 0.04))
        eff, table = Effects(risk=0.15, placed=1.3, frailty=0.8), _SOMATIC_IN
    else:
        rates = ((1.0, 0.32, 0.2, 0.2, 0.2, 0.2), (0.9, 0.28, 0.2, 0.24, 0.28, 0.32))
        eff, table = Effects(risk=0.1, placed=1.2, frailty=0.7), _SOMATIC_OUT
    who, band, day = draw_events(rng, p, bands, rates, eff)
    girl = p.girl[who]
    n = who.size
    code = table.draw(rng, band, girl)
    hdia = table.ids(vocab)[code]
    injury = np.array([c[0] in "ST" and not c.startswith("T78") for c in table.codes])[code]
    ekod = _none(n)
    sel = np.flatnonzero(injury & (rng.random(n) < 0.7))
    ekod[sel] = _INJURY_CAUSES.ids(vocab)[_INJURY_CAUSES.draw(rng, band[sel], girl[sel])]
    utdatum = day + _length_of_stay(rng, n, 2.0) if inpatient else np.full(n, -1, np.int64)
    spec = np.array([_SPEC[k] for k in table.kind])[code]
    return _Rows(who, day, utdatum, _flag(n, not inpatient), hdia,
                 _some(rng, 0.15, band, girl, table, vocab, unless=hdia),
                 _some(rng, 0.04, band, girl, table, vocab, unless=hdia),
                 ekod, _flag(n, False), _somatic_mvo(spec, band == 5))


def _psychiatric(rng, p: People, out_bands, in_bands, vocab: Vocab) -> list[_Rows]:
    """Psychiatric outpatient episodes (several visits each) and inpatient stays (pvard 2)."""
    rates = ((0, 0.002, 0.008, 0.010, 0.014, 0.02), (0, 0.001, 0.004, 0.014, 0.022, 0.027))
    eff = Effects(risk=0.35, placed=3.4, whole_year9=1.3, hvb_sis=1.3, frailty=1.5)
    who, band, day = draw_events(rng, p, out_bands, rates, eff)
    girl = p.girl[who]
    hdia = _PSYCH.ids(vocab)[_PSYCH.draw(rng, band, girl)]
    dia1 = _some(rng, 0.3, band, girl, _PSYCH, vocab, unless=hdia)
    dia2 = _some(rng, 0.05, band, girl, _PSYCH, vocab, unless=hdia)
    episode, visit_day = _visits(rng, day, 6.0, 21.0)
    n = episode.size
    outpatient = _Rows(who[episode], visit_day, np.full(n, -1, np.int64), _flag(n, True), hdia[episode],
                       dia1[episode], dia2[episode], _none(n), _flag(n, True), _psych_mvo(band[episode] == 5))

    rates = ((0, 0, 0.0005, 0.002, 0.004, 0.005), (0, 0, 0.0003, 0.003, 0.006, 0.006))
    eff = Effects(risk=0.45, placed=2.5, whole_year9=1.3, hvb_sis=1.6, frailty=0.7)
    who, band, day = draw_events(rng, p, in_bands, rates, eff)
    girl = p.girl[who]
    n = who.size
    adult = band == 5
    mvo = _psych_mvo(adult)
    mvo[adult & (p.risk[who] > 1.5) & (rng.random(n) < 0.05)] = 6  # rättspsykiatri
    hdia = _PSYCH_INPATIENT.ids(vocab)[_PSYCH_INPATIENT.draw(rng, band, girl)]
    inpatient = _Rows(who, day, day + _length_of_stay(rng, n, 9.0, 0.9), _flag(n, False), hdia,
                      _some(rng, 0.35, band, girl, _PSYCH, vocab, unless=hdia), _none(n), _none(n), _flag(n, True),
                      mvo)
    return [outpatient, inpatient]


def _substance(rng, p: People, bands, vocab: Vocab) -> _Rows:
    """Substance-related care (F10-F19, toxic effect of alcohol): emergency somatic care and addiction psychiatry."""
    rates = ((0, 0, 0, 0.0008, 0.006, 0.009), (0, 0, 0, 0.0008, 0.004, 0.005))
    eff = Effects(risk=0.5, placed=2.4, lvu3=1.8, hvb_sis=1.3, frailty=0.6)
    who, band, day = draw_events(rng, p, bands, rates, eff)
    code = _SUBSTANCE.draw(rng, band, p.girl[who])
    psych = _SUBSTANCE.kind[code] == "P"
    episode, visit_day = _visits(rng, day, np.where(psych, 3.0, 0.0), 30.0)
    who, band, code, psych = who[episode], band[episode], code[episode], psych[episode]
    n = who.size
    inpatient = rng.random(n) < np.where(psych, 0.1, 0.3)
    los = np.where(psych, _length_of_stay(rng, n, 7.0), _length_of_stay(rng, n, 1.0, 0.5))
    alcohol = _SUBSTANCE.codes[code] == "T510"  # toxic effect of ethanol: intoxication as dia1, accident as cause
    f100, x459 = vocab.ids(["F100", "X459"])
    adult = band == 5
    return _Rows(who, visit_day, np.where(inpatient, visit_day + los, -1), ~inpatient, _SUBSTANCE.ids(vocab)[code],
                 np.where(alcohol, f100, -1), _none(n), np.where(alcohol & (rng.random(n) < 0.8), x459, -1),
                 psych, np.where(psych, _psych_mvo(adult), _somatic_mvo(np.zeros(n, int), adult)))


def _self_harm(rng, p: People, bands, vocab: Vocab) -> _Rows:
    """Self-harm (ekod1 X60-X84 with an injury or poisoning hdia); some poisonings coded undetermined (Y10-Y19)."""
    rates = ((0, 0, 0, 0.0004, 0.0008, 0.0009), (0, 0, 0, 0.002, 0.0035, 0.0028))
    eff = Effects(risk=0.45, placed=2.5, whole_year9=1.2, hvb_sis=1.5, frailty=0.3)
    who, band, day = draw_events(rng, p, bands, rates, eff)
    girl = p.girl[who]
    n = who.size
    code = _SELF_HARM.draw(rng, band, girl)
    cause = _SELF_HARM.codes[code].astype(str)
    # X6k (self-poisoning) has an undetermined-intent twin Y1k (domain.md §4.1: many studies add Y10-Y34).
    undetermined = np.char.startswith(cause, "X6") & (rng.random(n) < 0.15)
    cause = np.where(undetermined, np.char.replace(cause, "X6", "Y1"), cause)
    ekod = np.char.add(cause, choice(rng, n, ["0", "9", "8"], [0.55, 0.35, 0.10]))  # place: home, unspecified, other
    inpatient = rng.random(n) < 0.6
    psych = rng.random(n) < 0.15
    adult = band == 5
    hdia = _SELF_HARM.kind[code]
    wound = np.char.startswith(hdia.astype(str), "S").astype(int)  # wounds and fractures: surgery
    return _Rows(who, day, np.where(inpatient, day + _length_of_stay(rng, n, 1.0, 0.9), -1), ~inpatient,
                 vocab.ids(hdia), _some(rng, 0.6, band, girl, _SELF_HARM_COMORBID, vocab), _none(n), vocab.ids(ekod),
                 psych, np.where(psych, _psych_mvo(adult), _somatic_mvo(wound, adult)))


PATIENT_COLUMNS = ["person_id", "vardform", "indatum", "utdatum", "hdia", "dia1", "dia2", "ekod1", "pvard", "mvo",
                   "kommun"]


def generate_patient(rng: np.random.Generator, persons: pd.DataFrame, *, end_date: date) -> pd.DataFrame:
    """Patientregistret: inpatient stays (from 1998) and specialised outpatient visits (from 2001), ICD-10-SE.

    Columns: the contract's `patient` columns without `pnr`, plus `person_id`; dates as `YYYYMMDD` strings, utdatum
    only for inpatient stays; codes as str (object dtype, None where missing). No event falls outside a person's
    observation window (birth or immigration to death, emigration or `end_date`). Psychiatric (F00-F99),
    substance-related (F10-F19) and self-harm (X60-X84) care are several-fold more common after placement and rise
    with `risk` (domain.md §4.1).
    """
    p = people(persons)
    vocab = Vocab()
    lo_in, hi = observation_window(persons, start=INPATIENT_FROM, end_date=end_date)
    lo_out, _ = observation_window(persons, start=OUTPATIENT_FROM, end_date=end_date)
    in_bands = age_bands(p.birth, lo_in, hi)
    out_bands = age_bands(p.birth, lo_out, hi)
    parts = [_somatic(rng, p, out_bands, vocab, inpatient=False), _somatic(rng, p, in_bands, vocab, inpatient=True),
             *_psychiatric(rng, p, out_bands, in_bands, vocab), _substance(rng, p, in_bands, vocab),
             _self_harm(rng, p, in_bands, vocab)]
    rows = _stack(parts)
    del parts
    # Outpatient care is registered from 2001, and nothing after the window ends (visits of episodes run on).
    first = np.maximum(lo_in[rows.person], np.where(rows.outpatient, day_number(OUTPATIENT_FROM), 0))
    order = row_order(rows.person, rows.indatum, (rows.indatum >= first) & (rows.indatum <= hi[rows.person]))
    who = rows.person[order]
    inpatient = ~rows.outpatient[order]
    utdatum = np.full(order.size, None, dtype=object)
    utdatum[inpatient] = _yyyymmdd(np.minimum(rows.utdatum[order][inpatient], hi[who][inpatient]))
    # Column by column (pandas would otherwise copy all object columns into one block).
    frame = pd.DataFrame({"person_id": p.person_id[who]})
    frame["vardform"] = _ONE_TWO[rows.outpatient[order].view(np.int8)]
    frame["indatum"] = _yyyymmdd(rows.indatum[order])
    frame["utdatum"] = utdatum
    for column in ("hdia", "dia1", "dia2", "ekod1"):
        frame[column] = vocab.decode(getattr(rows, column)[order])
    frame["pvard"] = _ONE_TWO[rows.psychiatric[order].view(np.int8)]
    frame["mvo"] = MVO_CODES[rows.mvo[order]]
    frame["kommun"] = p.kommun[who]
    return frame


# -------------------------------------------------------------------------------------------------------- drug codes
# ATC codes; kind = DDD per ordinary dispensing (package). Band and sex weights as for the patient tables.
_ANTIBIOTICS = CodeTable.of([
    ("J01CE02", 7, (3, 6, 5, 4, 4, 3), (1, 1)),  # phenoxymethylpenicillin
    ("J01CA04", 5, (4, 5, 1.5, 0.5, 0.5, 0.5), (1, 1)),  # amoxicillin
    ("J01CR02", 5, (0.5, 0.8, 0.5, 0.3, 0.3, 0.3), (1, 1)),
    ("J01FA10", 3, (0.1, 0.2, 0.3, 0.3, 0.4, 0.4), (1, 1)),
    ("J01FA09", 7, (0.1, 0.3, 0.3, 0.2, 0.2, 0.2), (1, 1)),
    ("J01DB01", 5, (0.3, 0.5, 0.5, 0.3, 0.3, 0.3), (1, 1)),
    ("J01CF05", 7, (0.3, 0.8, 0.8, 0.8, 0.8, 1), (1, 1)),
    ("J01EA01", 7, (0.3, 0.5, 0.3, 0.2, 0.2, 0.2), (0.5, 1.5)),
    ("J01XE01", 5, (0, 0, 0, 0.3, 1, 1.5), (0.1, 1.9)),
    ("J01CA08", 3, (0, 0, 0.1, 0.3, 1, 1.5), (0.1, 1.9)),
    ("J01AA02", 10, (0, 0, 0, 0.3, 0.8, 1.2), (1, 1)),
    ("J01AA04", 60, (0, 0, 0, 0.8, 1.2, 0.6), (1, 1)),
    ("J01FF01", 7, (0, 0.1, 0.1, 0.1, 0.2, 0.3), (1, 1)),
    ("J01MA02", 7, (0, 0, 0, 0, 0.1, 0.4), (1, 1)),
])
_AIRWAYS = CodeTable.of([
    ("R03AC03", 50, (1, 4, 3, 2, 2, 2), (1, 1)),  # terbutaline
    ("R03AC02", 50, (1, 2, 1, 1, 1, 1), (1, 1)),
    ("R03BA02", 60, (0.5, 3, 3, 2, 1.5, 1.5), (1, 1)),  # budesonide
    ("R03AK07", 60, (0, 0.2, 1, 2, 2, 2.5), (1, 1)),
    ("R03DC03", 28, (0, 1.5, 1.5, 1, 0.5, 0.3), (1, 1)),  # montelukast
    ("R06AE07", 30, (0, 2, 3, 3, 3, 3), (1, 1)),  # cetirizine
    ("R06AX27", 30, (0, 1, 2, 2, 2, 2), (1, 1)),
    ("R06AE09", 30, (0, 0.5, 1, 1, 1, 1), (1, 1)),
    ("R06AX13", 30, (0, 0.5, 1, 1, 1, 1), (1, 1)),
    ("R01AD09", 30, (0, 0.5, 1.5, 2, 2, 2), (1, 1)),
])
_OTHER_ACUTE = CodeTable.of([
    ("N02BE01", 10, (3, 3, 2, 1.5, 1.5, 1.5), (1, 1)),  # paracetamol
    ("N02AJ06", 10, (0, 0, 0, 0.2, 0.6, 1), (1, 1)),
    ("N02AX02", 10, (0, 0, 0, 0, 0.2, 0.5), (1, 1)),
    ("N02CC01", 6, (0, 0, 0.1, 0.3, 0.6, 1), (0.5, 1.5)),
    ("M01AE01", 15, (0.5, 2, 2, 2, 2.5, 2.5), (1, 1)),  # ibuprofen
    ("M01AE02", 15, (0, 0, 0.3, 1, 2, 2), (0.6, 1.4)),
    ("M01AB05", 15, (0, 0, 0, 0.3, 0.6, 1), (1, 1)),
    ("H02AB06", 10, (0.3, 1, 0.5, 0.3, 0.3, 0.3), (1, 1)),
    ("A06AD65", 30, (1, 2.5, 1.5, 0.5, 0.3, 0.3), (1, 1.2)),
    ("P02CA01", 3, (0, 1.5, 1.5, 0.3, 0.1, 0.1), (1, 1)),
    ("A02BC01", 28, (0.3, 0.2, 0.3, 0.5, 0.8, 1.5), (1, 1)),
    ("D10BA01", 90, (0, 0, 0, 0.3, 0.8, 0.6), (1, 1)),
    ("A03FA01", 5, (0, 0, 0, 0.1, 0.2, 0.4), (0.5, 1.5)),
])

# Chronic treatment courses; kind = DDD per day of supply at an ordinary dose.
_CONTRACEPTIVES = CodeTable.of([
    ("G03AA07", 1, (0, 0, 0, 1, 4.5, 4.5), (0, 1)),  # levonorgestrel and ethinylestradiol
    ("G03AC09", 1, (0, 0, 0, 1, 3, 3), (0, 1)),  # desogestrel
    ("G03AA12", 1, (0, 0, 0, 0.3, 1.5, 1.5), (0, 1)),
])
_INSULIN = CodeTable.of([("A10AB05", 1, (1,) * 6, (1, 1)), ("A10AE04", 1, (1,) * 6, (1, 1)),
                         ("A10AB04", 1, (0.5,) * 6, (1, 1))])
_THYROID = CodeTable.of([("H03AA01", 1, (1,) * 6, (1, 1))])
_ANTIEPILEPTICS = CodeTable.of([("N03AX14", 1, (1,) * 6, (1, 1)), ("N03AX09", 1, (0.3, 0.5, 1, 1, 1, 1), (1, 1.3)),
                                ("N03AG01", 1, (1, 1, 1, 0.5, 0.3, 0.3), (1.3, 0.5))])

# Psychotropic groups (domain.md §4.2): which group a treatment course is, then the substance within the group.
_PSYCHOTROPIC_GROUP = CodeTable.of([
    ("N06B", (600, 0.9, (30, 60, 90), (0.5, 0.2, 0.3)), (0, 0.5, 6, 4, 2.5, 1.5), (2, 1)),
    ("N05C", (300, 1.0, (30, 90, 100), (0.4, 0.4, 0.2)), (0, 2, 2.5, 1.5, 1.5, 1), (1.2, 1)),
    ("N06A", (300, 0.8, (30, 90, 100), (0.2, 0.6, 0.2)), (0, 0, 0.3, 2, 3, 3), (0.6, 1.4)),
    ("N05A", (240, 1.0, (30, 90), (0.5, 0.5)), (0, 0.2, 0.5, 0.6, 0.8, 1), (1.3, 0.8)),
    ("N05B", (45, 1.2, (10, 30, 90), (0.3, 0.5, 0.2)), (0, 0.1, 0.5, 1.5, 2, 2), (0.8, 1.2)),
])
_PSYCHOTROPICS = {
    "N06B": CodeTable.of([
        ("N06BA04", 1.2, (0, 6, 6, 5, 4, 3), (1, 1)),  # methylphenidate
        ("N06BA12", 1.0, (0, 0, 2, 3, 3, 3), (1, 1)),  # lisdexamfetamine (from 2013)
        ("N06BA09", 1.0, (0, 1, 1.5, 1.5, 1, 1), (1, 1)),  # atomoxetine
        ("N06BA02", 1.0, (0, 0, 0.2, 0.3, 0.3, 0.3), (1, 1)),
    ]),
    "N05C": CodeTable.of([
        ("N05CH01", 1.5, (0, 8, 8, 6, 4, 2), (1, 1)),  # melatonin
        ("N05CM06", 1.0, (0, 0, 0, 0.5, 1.5, 1.5), (1, 1)),  # propiomazine
        ("N05CF01", 1.0, (0, 0, 0, 0, 0.3, 1.5), (1, 1)),  # zopiclone
        ("N05CF02", 1.0, (0, 0, 0, 0, 0.1, 0.5), (1, 1)),
    ]),
    "N06A": CodeTable.of([
        ("N06AB06", 1.0, (0, 0, 3, 4, 4, 4), (1, 1)),  # sertraline
        ("N06AB10", 1.0, (0, 0, 0.5, 1.5, 2, 2.5), (1, 1)),  # escitalopram
        ("N06AB03", 1.0, (0, 0, 2, 2.5, 1.5, 1), (1, 1)),  # fluoxetine
        ("N06AB04", 1.0, (0, 0, 0.2, 0.5, 1, 1), (1, 1)),
        ("N06AX11", 1.0, (0, 0, 0.3, 0.7, 1, 1), (1, 1)),  # mirtazapine
        ("N06AX16", 1.0, (0, 0, 0, 0, 0.3, 0.7), (1, 1)),
        ("N06AX21", 1.0, (0, 0, 0, 0, 0.1, 0.3), (1, 1)),
    ]),
    "N05A": CodeTable.of([
        ("N05AX08", 0.5, (0, 4, 4, 2, 1.5, 1), (1, 1)),  # risperidone
        ("N05AX12", 1.0, (0, 0.5, 1.5, 2, 2, 2), (1, 1)),  # aripiprazole
        ("N05AH04", 0.3, (0, 0, 0.3, 1.5, 2.5, 3), (1, 1)),  # quetiapine
        ("N05AH03", 1.0, (0, 0, 0.2, 0.5, 1, 1), (1, 1)),
        ("N05AN01", 1.0, (0, 0, 0, 0.1, 0.2, 0.3), (1, 1)),  # lithium
    ]),
    "N05B": CodeTable.of([
        ("N05BB01", 0.5, (0, 3, 5, 5, 5, 4), (1, 1)),  # hydroxyzine
        ("N05BA01", 1.0, (0, 0, 0, 0, 0.3, 0.6), (1, 1)),
        ("N05BA04", 1.0, (0, 0, 0, 0.1, 0.5, 0.8), (1, 1)),
        ("N05BA12", 1.0, (0, 0, 0, 0, 0.1, 0.2), (1, 1)),
    ]),
}
_LISDEXAMFETAMINE_FROM = date(2013, 1, 1)
_DOSE_FACTORS = (np.array([1.0, 0.5, 0.75, 1.25, 1.5, 2.0, 1 / 3]), (0.6, 0.1, 0.08, 0.06, 0.08, 0.05, 0.03))

_PSYCHOTROPIC_EFFECTS = Effects(risk=0.15, placed=2.0, whole_year9=1.8, hvb_sis=1.3, frailty=1.0)
_ADD_ONS = 1.0  # mean number of add-on groups per episode from age 12, before the person's rate ratio
_ADD_ON_EFFECTS = Effects(risk=0.15, placed=1.2, whole_year9=1.3, hvb_sis=1.2)


@dataclass
class _Dispensings:
    """Drug rows under construction: person index, ATC vocabulary id, prescription and dispensing day, DDD."""

    person: np.ndarray
    atc: np.ndarray
    fdatum: np.ndarray
    edatum: np.ndarray
    ddd: np.ndarray

    def __post_init__(self) -> None:
        _compact(self, person=np.int32, atc=np.int16, fdatum=np.int32, edatum=np.int32)


def _dose(rng: np.random.Generator, n: int) -> np.ndarray:
    """Dose relative to the ordinary one: mostly 1, sometimes a fraction or a multiple (fractional DDD counts)."""
    return choice(rng, n, *_DOSE_FACTORS)


def _acute(rng, p: People, bands, vocab: Vocab, table: CodeTable, boys, girls, eff: Effects) -> _Dispensings:
    """Single dispensings (antibiotic courses, inhalers, analgesics, ...) as Poisson events."""
    who, band, day = draw_events(rng, p, bands, (boys, girls), eff)
    code = table.draw(rng, band, p.girl[who])
    ddd = table.kind.astype(np.float64)[code] * _dose(rng, who.size)
    return _Dispensings(who, table.ids(vocab)[code], day - (rng.geometric(0.6, who.size) - 1), day, ddd)


def _courses(rng, who: np.ndarray, start: np.ndarray, atc: np.ndarray, ddd_per_day: np.ndarray,
             duration: np.ndarray, supply: np.ndarray, stretch: tuple[float, float]) -> _Dispensings:
    """Repeated dispensings of treatment courses: one every `supply` days × U(`stretch`) while the course lasts.

    The prescription (fdatum) is written a few days before the first dispensing and renewed yearly.
    """
    mean_gap = supply * (stretch[0] + stretch[1]) / 2
    n = np.maximum(1, np.ceil(duration / mean_gap)).astype(np.int64)
    course, offset = _repeat_spaced(rng, n, lambda m: np.ceil(np.repeat(supply, n) * rng.uniform(*stretch, m)))
    edatum = start[course] + offset
    written = (start - rng.integers(0, 15, who.size))[course]
    fdatum = edatum - (edatum - written) % 365
    ddd = (supply * ddd_per_day * _dose(rng, who.size))[course]
    return _Dispensings(who[course], atc[course], fdatum, edatum, ddd)


def _chronic(rng, p: People, bands, vocab: Vocab, table: CodeTable, boys, girls, eff: Effects,
             duration: tuple[float, float], supply, supply_p) -> _Dispensings:
    """Chronic treatment courses (contraceptives, insulin, ...) with onset as Poisson events."""
    who, band, day = draw_events(rng, p, bands, (boys, girls), eff)
    code = table.draw(rng, band, p.girl[who])
    n = who.size
    return _courses(rng, who, day, table.ids(vocab)[code], table.kind.astype(np.float64)[code],
                    rng.lognormal(np.log(duration[0]), duration[1], n), choice(rng, n, supply, supply_p).astype(
                        np.float64), (0.9, 1.2))


def _psychotropics(rng, p: People, bands, vocab: Vocab) -> _Dispensings:
    """Psychotropic treatment episodes: a first course and, more often after placement, add-on courses of other groups.

    Add-on courses start within months of the first, so long-term concurrent use of ≥ 2 groups arises mostly among
    the children with the heaviest treatment, as ÖJ finds for placed children (domain.md §4.3).
    """
    rates = ((0, 0.001, 0.008, 0.013, 0.015, 0.012), (0, 0.0005, 0.004, 0.017, 0.027, 0.02))
    who, band, day = draw_events(rng, p, bands, rates, _PSYCHOTROPIC_EFFECTS)
    girl = p.girl[who]
    # Distinct groups per episode: Gumbel top-k over the age- and sex-specific group weights.
    weights = _PSYCHOTROPIC_GROUP.weights[band * 2 + girl]
    with np.errstate(divide="ignore"):
        keys = np.log(weights) + rng.gumbel(size=weights.shape)  # a group without weight never comes up
    ranked = np.argsort(-keys, axis=1)
    add_ons = rng.poisson(_ADD_ONS * multiplier(rng, p, _ADD_ON_EFFECTS)[who] * np.where(band >= 3, 1.0, 0.6))
    k = np.minimum(1 + add_ons, (weights > 0).sum(axis=1))
    episode = np.repeat(np.arange(who.size), k)
    rank = np.arange(episode.size) - np.repeat(np.cumsum(k) - k, k)
    group = ranked[episode, rank]
    onset = day[episode] + np.where(rank > 0, np.ceil(rng.exponential(90.0, episode.size)), 0).astype(np.int64)
    course_who, course_band, course_girl = who[episode], band[episode], girl[episode]
    n = episode.size
    atc = np.empty(n, dtype=np.int32)
    ddd_per_day = np.empty(n)
    duration = np.empty(n)
    supply = np.empty(n)
    as_needed = np.empty(n, dtype=bool)
    for g, (name, (median, sigma, supplies, supply_p)) in enumerate(zip(_PSYCHOTROPIC_GROUP.codes,
                                                                         _PSYCHOTROPIC_GROUP.kind)):
        sel = group == g
        m = int(sel.sum())
        table = _PSYCHOTROPICS[name]
        code = table.draw(rng, course_band[sel], course_girl[sel])
        atc[sel] = table.ids(vocab)[code]
        ddd_per_day[sel] = table.kind.astype(np.float64)[code]
        duration[sel] = rng.lognormal(np.log(median), sigma, m)
        supply[sel] = choice(rng, m, supplies, supply_p)
        as_needed[sel] = name == "N05B"  # anxiolytics are taken as needed: irregular refills
    lisdexamfetamine, methylphenidate = vocab.ids(["N06BA12", "N06BA04"])
    atc[(atc == lisdexamfetamine) & (onset < day_number(_LISDEXAMFETAMINE_FROM))] = methylphenidate
    return _stack([_courses(rng, course_who[sel], onset[sel], atc[sel], ddd_per_day[sel], duration[sel], supply[sel],
                            stretch) for sel, stretch in ((~as_needed, (0.85, 1.3)), (as_needed, (1.0, 3.0)))])


DRUGS_COLUMNS = ["person_id", "atc", "fdatum", "edatum", "antal_ddd", "kommun"]


def generate_drugs(rng: np.random.Generator, persons: pd.DataFrame, *, end_date: date) -> pd.DataFrame:
    """Läkemedelsregistret: prescribed drugs dispensed at pharmacies from July 2005, ATC codes (domain.md §4.2).

    Columns: the contract's `drugs` columns without `pnr`, plus `person_id`; fdatum/edatum datetime64[ns] with
    fdatum ≤ edatum; antal_ddd float64. Psychotropics (N05A, N05B, N05C, N06A, N06B) are calibrated so that
    `psychotropic_polypharmacy` holds for ≈ 7% of those placed the whole of year 9 and ≈ 1% of the never placed.
    """
    p = people(persons)
    vocab = Vocab()
    life_lo, hi = observation_window(persons, start=date(1900, 1, 1), end_date=end_date)
    lo, _ = observation_window(persons, start=_COURSES_FROM, end_date=end_date)
    bands = age_bands(p.birth, lo, hi)
    parts = [
        _acute(rng, p, bands, vocab, _ANTIBIOTICS, (0.4, 0.45, 0.17, 0.12, 0.14, 0.12),
               (0.35, 0.4, 0.17, 0.16, 0.24, 0.28), Effects(risk=0.1, placed=1.1, frailty=1.0)),
        _acute(rng, p, bands, vocab, _AIRWAYS, (0.04, 0.35, 0.28, 0.25, 0.2, 0.18),
               (0.03, 0.25, 0.25, 0.25, 0.25, 0.2), Effects(frailty=0.25)),  # few children, many dispensings each
        _acute(rng, p, bands, vocab, _OTHER_ACUTE, (0.05, 0.08, 0.08, 0.1, 0.15, 0.2),
               (0.05, 0.08, 0.1, 0.15, 0.25, 0.3), Effects(risk=0.15, placed=1.2, frailty=0.5)),
        _chronic(rng, p, bands, vocab, _CONTRACEPTIVES, (0,) * 6, (0, 0, 0, 0.01, 0.1, 0.07), Effects(risk=0.1),
                 (900, 0.8), (84, 168), (0.85, 0.15)),
        _chronic(rng, p, bands, vocab, _INSULIN, (0, 4e-4, 6e-4, 5e-4, 3e-4, 2e-4), (0, 4e-4, 5e-4, 4e-4, 2e-4, 2e-4),
                 Effects(), (7000, 0.3), (90,), (1,)),
        _chronic(rng, p, bands, vocab, _THYROID, (0, 3e-5, 5e-5, 1e-4, 2e-4, 4e-4), (0, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3),
                 Effects(), (5000, 0.5), (100,), (1,)),
        _chronic(rng, p, bands, vocab, _ANTIEPILEPTICS, (5e-4, 5e-4, 4e-4, 4e-4, 3e-4, 3e-4),
                 (5e-4, 5e-4, 4e-4, 4e-4, 3e-4, 3e-4), Effects(risk=0.1), (1500, 0.8), (30, 90), (0.3, 0.7)),
        _psychotropics(rng, p, bands, vocab),
    ]
    d = _stack(parts)
    del parts
    order = row_order(d.person, d.edatum, (d.edatum >= day_number(DRUGS_FROM)) & (d.edatum <= hi[d.person]))
    who = d.person[order]
    edatum = d.edatum[order]
    frame = pd.DataFrame({"person_id": p.person_id[who]})  # column by column, as in generate_patient
    frame["atc"] = vocab.decode(d.atc[order])
    frame["fdatum"] = timestamps(np.clip(d.fdatum[order], life_lo[who], edatum))
    frame["edatum"] = timestamps(edatum)
    frame["antal_ddd"] = np.round(d.ddd[order], 2)
    frame["kommun"] = p.kommun[who]
    return frame


# ------------------------------------------------------------------------------------------------------- calibration
def psychotropic_polypharmacy(persons: pd.DataFrame, drugs: pd.DataFrame) -> pd.Series:
    """Long-term concurrent use of ≥ 2 psychotropic groups in the calendar year the person turns 16 (ages 15-16).

    The ÖJ indicator (domain.md §4.3) exactly as the outcome `linkage.outcomes.concurrent_psychotropics` defines
    it — one rule for the world's calibration and for the extracts. Returns a boolean Series indexed like `persons`.
    """
    flags = concurrent_psychotropics(drugs[["person_id", "edatum", "atc"]].rename(columns={"person_id": "id"}),
                                     persons[["person_id", "fodelsedatum"]].rename(columns={"person_id": "id"}))
    found = flags.set_index("id")["minst_tva_psykofarmaka_15_16"].reindex(persons["person_id"])
    return pd.Series(found.fillna(False).to_numpy(dtype=bool), index=persons.index, name="psychotropic_polypharmacy")


def observed_through(persons: pd.DataFrame, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Whether each person lived in Sweden (not yet dead or emigrated, already immigrated) from `first` to `last`."""
    big, small = day_number(date(2200, 1, 1)), day_number(date(1800, 1, 1))
    return ((_days(persons["invandringsdatum"], small) <= first)
            & (_days(persons["dodsdatum"], big) > last) & (_days(persons["utvandringsdatum"], big) > last))


def birthday(persons: pd.DataFrame, age: int) -> np.ndarray:
    """The day (days since 1970) each person turns `age`."""
    return _days(persons["fodelsedatum"] + pd.DateOffset(years=age), 0)


def share_row(name: str, hit: np.ndarray, among: np.ndarray, target: float | None, source: str,
              low: float | None = None, high: float | None = None) -> dict:
    """One calibration row: the share of `among` with `hit` (with an acceptable range `low`..`high` if given)."""
    n = int(among.sum())
    return {"name": name, "achieved": float(hit[among].mean()) if n else float("nan"), "target": target,
            "low": low, "high": high, "source": source, "denominator": n}


def ratio_row(name: str, rows: list[dict], source: str, low: float | None = None,
              high: float | None = None) -> dict:
    """The ratio of the achieved values of the last two calibration rows (placed / never placed)."""
    a, b = rows[-2]["achieved"], rows[-1]["achieved"]
    return {"name": name, "achieved": a / b if b else float("nan"), "target": None, "low": low, "high": high,
            "source": source}


def per_value(values: pd.Series, func, missing) -> np.ndarray:
    """`func` applied to the distinct values of a code column (as a pandas Index), mapped back to every row.

    Register columns hold few distinct codes among millions of rows, so this is far faster than row-wise str ops.
    """
    codes, uniques = pd.factorize(values)
    return np.append(np.asarray(func(pd.Index(uniques, dtype=object))), missing)[codes]


def _first_before(persons: pd.DataFrame, patient: pd.DataFrame, mask: np.ndarray, limit: np.ndarray,
                  floor: np.ndarray | None = None) -> np.ndarray:
    """Per person: whether any patient row under `mask` has indatum before `limit` (and on/after `floor`)."""
    rows = patient.loc[mask, ["person_id", "indatum"]]
    pos = pd.Index(persons["person_id"]).get_indexer(rows["person_id"])
    day = per_value(rows["indatum"], lambda u: _days(pd.Series(pd.to_datetime(u, format="%Y%m%d")), -1), -1)
    ok = pos >= 0
    ok[ok] = day[ok] < limit[pos[ok]]
    if floor is not None:
        ok[ok] = day[ok] >= floor[pos[ok]]
    out = np.zeros(len(persons), dtype=bool)
    out[pos[ok]] = True
    return out


def _starts(column: pd.Series, pattern: str) -> np.ndarray:
    """Rows whose code matches the regular expression `pattern` at its start (missing codes never match)."""
    return per_value(column, lambda u: np.asarray(u.str.match(pattern), dtype=bool), False)


def calibration(persons: pd.DataFrame, patient: pd.DataFrame, drugs: pd.DataFrame, *,
                end_date: date | None = None) -> list[dict]:
    """Achieved versus target effect sizes of the health registers (rows of name, achieved, target, source, ...).

    Psychiatric care = pvard 2 or hdia F00-F99; substance-related = hdia/dia1/dia2 F10-F19 or hdia T51; self-harm =
    inpatient stay with ekod1 X60-X84 (domain.md §4.1). Placed = `placed_ever`. `end_date` defaults to the latest
    date in the registers.
    """
    if end_date is None:
        end_date = max(pd.to_datetime(patient["indatum"].max(), format="%Y%m%d"), drugs["edatum"].max()).date()
    end = day_number(end_date)
    placed = persons["placed_ever"].to_numpy(bool)
    rows: list[dict] = []

    y = persons["fodelsedatum"].dt.year.to_numpy(np.int64) + 16
    first = (y - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    last = (y - 1969).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64) - 1
    eligible = (y >= 2006) & (last <= end) & observed_through(persons, first, last)
    poly = psychotropic_polypharmacy(persons, drugs).to_numpy()
    src = "domain.md §4.3 (ÖJ 2016: 7% vs 1%)"
    rows.append(share_row("psychotropic_polypharmacy_age16_placed_whole_year9", poly,
                          eligible & persons["placed_whole_year9"].to_numpy(bool), 0.07, src, 0.05, 0.09))
    rows.append(share_row("psychotropic_polypharmacy_age16_never_placed", poly, eligible & ~placed, 0.01, src,
                          0.007, 0.013))

    psychiatric = (patient["pvard"] == "2").to_numpy(bool) | _starts(patient["hdia"], "F")
    substance = (_starts(patient["hdia"], "F1|T51") | _starts(patient["dia1"], "F1")
                 | _starts(patient["dia2"], "F1"))
    self_harm = (patient["vardform"] == "1").to_numpy(bool) & _starts(patient["ekod1"], "X(6|7|8[0-4])")
    studies = "Swedish cohort studies: roughly 3-5x for placed children (brief; not in domain.md)"
    born = _days(persons["fodelsedatum"], 0)
    for name, age, mask, from_age in (("psychiatric_care_by_18", 18, psychiatric, None),
                                      ("substance_related_care_by_20", 20, substance, None),
                                      ("self_harm_inpatient_13_19", 20, self_harm, 13)):
        reached = birthday(persons, age)
        among = (reached <= end) & observed_through(persons, born + 12 * 365, reached)
        hit = _first_before(persons, patient, mask, reached, None if from_age is None else birthday(persons, from_age))
        rows.append(share_row(f"{name}_placed_ever", hit, among & placed, None, "domain.md §4.1"))
        rows.append(share_row(f"{name}_never_placed", hit, among & ~placed, None, "domain.md §4.1"))
        rows.append(ratio_row(f"{name}_ratio", rows, studies, 3.0, 5.0))
    rows.append({"name": "patient_rows_per_person", "achieved": len(patient) / max(len(persons), 1), "target": None,
                 "source": "brief: 5-15 M rows at national scale (1.2 M persons)"})
    rows.append({"name": "drug_rows_per_person", "achieved": len(drugs) / max(len(persons), 1), "target": None,
                 "source": "brief: 10-25 M rows at national scale (1.2 M persons)"})
    return rows
