"""The population of the synthetic world (RTB-like): births, migration, deaths, identifiers, residence, names.

Every person belongs to the birth cohorts asked for. Some are born abroad and arrive with their families; some are
ensamkommande (unaccompanied minors, the 2014-2016 wave at its real shape but under a third of its real size),
who first hold a samordningsnummer or nothing and later, if granted residence, a personnummer (domain.md §1.2,
§2.1). Identifier histories carry the changes of §1.4 (corrected birth dates, changed sex, samordningsnummer →
personnummer; chains possible) and the nearby-day rule of §1.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from linkage.synth import geography, identifiers, names, timeline
from linkage.synth.identifiers import KIND_PERSONNUMMER, KIND_SAMORDNINGSNUMMER, IdentifierHistory
from linkage.synth.timeline import NONE, YEAR

# Countries of birth (the `land` code list) of those born abroad, with approximate weights for 1998-2025 arrivals.
IMMIGRANT_COUNTRIES = {
    "SY": 18, "IQ": 10, "AF": 7, "SO": 7, "ER": 5, "PL": 6, "IN": 5, "IR": 4, "FI": 3, "TR": 3, "DE": 3, "NO": 2,
    "DK": 1, "CN": 3, "PK": 3, "TH": 2, "BA": 2, "RS": 2, "HR": 1, "ET": 2, "LB": 2, "CL": 1, "US": 2, "GB": 2,
    "XX": 1,
}
ENSAMKOMMANDE_COUNTRIES = {"AF": 45, "SY": 20, "SO": 10, "ER": 8, "IQ": 5, "ET": 4, "XX": 8}
#: Unaccompanied minors seeking asylum in Sweden by year (Migrationsverket, rounded); 2015 is the wave's peak.
ENSAMKOMMANDE_ARRIVALS = {
    **{year: 500 for year in range(1990, 2008)}, 2008: 1510, 2009: 2250, 2010: 2393, 2011: 2657, 2012: 3578,
    2013: 3852, 2014: 7049, 2015: 35369, 2016: 2199, 2017: 1336, 2018: 944, 2019: 900, 2020: 500, 2021: 496,
    2022: 900, 2023: 600, 2024: 400, 2025: 400,
}
ENSAMKOMMANDE_VOLUME = 0.3  # share of the real numbers, so yearly placement figures stay near §2.3's
ENSAMKOMMANDE_AGE = {13: 0.08, 14: 0.15, 15: 0.27, 16: 0.32, 17: 0.18}  # age at arrival
NATIONAL_COHORT = 110_000  # children born in Sweden per year, roughly
SHARE_BORN_ABROAD = 0.11  # of non-ensamkommande persons in a cohort, by age 18
SHARE_FOREIGN_PARENT = 0.20  # of those born in Sweden: at least one parent born abroad
BOYS = 0.513
ENSAMKOMMANDE_BOYS = 0.90
ENSAMKOMMANDE_GRANTED = 0.75
# Identifier histories (§1.1, §1.2, §1.4).
BIRTH_DATE_ERROR_SWEDISH = 0.0005  # newborns registered with a wrong date, corrected later
BIRTH_DATE_ERROR_IMMIGRANT = 0.03
AGE_REVISION_ENSAMKOMMANDE = 0.08
SEX_CHANGE = 0.0003
SAMORDNINGSNUMMER_FIRST_IMMIGRANT = 0.05
SAMORDNINGSNUMMER_FIRST_ENSAMKOMMANDE = 0.30
SAMORDNINGSNUMMER_UNKNOWN_DAY = 0.05  # day 60: birth day unknown
NEARBY_DAY_IMMIGRANT = 0.02  # §1.1: a nearby day in the same month (besides dates whose numbers ran out)
ASSIGNED_JANUARY_FIRST = 0.15  # ensamkommande whose birth date was set to 1 January
# Moves between kommuner per year of life, and the share of moves within the län.
MOVES_CHILD, MOVES_ADULT, MOVES_WITHIN_LAN = 0.035, 0.12, 0.55


@dataclass
class Population:
    """Everyone in the world: `people` (one row per person_id, days as int64 counts), identifiers, residence."""

    people: pd.DataFrame
    history: IdentifierHistory
    residence: pd.DataFrame  # person_id, kommun (index into geography.kommuner()), fran, till (days)
    changes: pd.DataFrame  # person_id, old, new, day
    nearby_day: np.ndarray  # bool per person: the current personnummer's date is not the true birth date

    def kommun_at(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Kommun index of residence on `day`; before the first spell its first kommun, for never-registered
        persons the kommun they were assigned to."""
        res = self.residence
        key = res["person_id"].to_numpy() * 2**32 + res["fran"].to_numpy()
        probe = np.asarray(person, dtype=np.int64) * 2**32 + np.asarray(day, dtype=np.int64)
        at = np.searchsorted(key, probe, side="right") - 1
        at = np.clip(at, 0, len(res) - 1)
        found = res["person_id"].to_numpy()[at] == person
        first = np.searchsorted(key, np.asarray(person, dtype=np.int64) * 2**32, side="left")
        first_ok = (first < len(res)) & (res["person_id"].to_numpy()[np.minimum(first, len(res) - 1)] == person)
        out = self.people["assigned_kommun"].to_numpy()[person].copy()
        out[first_ok] = res["kommun"].to_numpy()[first[first_ok]]
        out[found] = res["kommun"].to_numpy()[at[found]]
        return out


def generate_population(rng: np.random.Generator, n: int, birth_years: tuple[int, int], end_day: int) -> Population:
    """Persons of the birth cohorts `birth_years` (inclusive) as of `end_day`."""
    first_year, last_year = birth_years
    cohort = rng.integers(first_year, last_year + 1, n)
    start = timeline.year_start(cohort)
    birth = start + (rng.random(n) * (timeline.year_end(cohort) - start + 1)).astype(np.int64)
    ens, arrival = _ensamkommande(rng, birth, end_day)
    abroad = ~ens & (rng.random(n) < SHARE_BORN_ABROAD)
    age_at_arrival = rng.random(n) * 18
    family_arrival = birth + (age_at_arrival * YEAR).astype(np.int64)
    late = abroad & (family_arrival >= end_day)
    family_arrival[late] = birth[late] + (rng.random(late.sum()) * (end_day - birth[late])).astype(np.int64)
    arrival = np.where(abroad, family_arrival, arrival)
    january_first = ens & (rng.random(n) < ASSIGNED_JANUARY_FIRST)
    birth[january_first] = timeline.year_start(timeline.year_of(birth[january_first]))
    male = np.where(ens, rng.random(n) < ENSAMKOMMANDE_BOYS, rng.random(n) < BOYS)
    country, mother, father = _countries(rng, ens, abroad)
    risk = rng.standard_normal(n)
    granted = ens & (rng.random(n) < ENSAMKOMMANDE_GRANTED)
    decision = np.where(ens, arrival + (_processing_years(rng, arrival) * YEAR).astype(np.int64), NONE)
    folkbokford_day = np.where(abroad, arrival, np.where(ens, NONE, birth))
    folkbokford_day = np.where(granted & (decision <= end_day), decision, folkbokford_day)
    death = _deaths(rng, birth, arrival, risk, end_day)
    folkbokford_day = np.where(death < folkbokford_day, NONE, folkbokford_day)  # died while seeking asylum
    emigration = _emigrations(rng, birth, folkbokford_day, abroad, ens, end_day)
    leaves = decision + ((0.1 + 0.9 * rng.random(n)) * YEAR).astype(np.int64)  # rejected: leave after the decision
    rejected = ens & ~granted
    emigration = np.where(rejected, np.where(leaves <= end_day, leaves, NONE), emigration)
    emigration = np.where(emigration < death, emigration, NONE)
    year9 = timeline.year_of(birth) + 16 + rng.choice([-1, 0, 1], n, p=[0.005, 0.98, 0.015])
    people = pd.DataFrame({
        "birth": birth, "male": male, "ensamkommande": ens, "born_abroad": abroad | ens,
        "arrival": np.where(abroad | ens, arrival, NONE), "folkbokford_day": folkbokford_day,
        "emigration": emigration, "death": death, "country": country, "mother_country": mother,
        "father_country": father, "risk": risk, "decision": decision, "year9_year": year9,
    })
    people["departure"] = np.minimum(people["emigration"], people["death"])
    history, changes, nearby, first_ymd = _identifier_histories(rng, people, end_day)
    people["first_ymd"] = first_ymd
    people["assigned_kommun"] = np.where(
        ens, geography.draw_kommun(rng, n, flatten=0.6),
        np.where(abroad, geography.draw_kommun(rng, n, flatten=1.15), geography.draw_kommun(rng, n)))
    residence = _residence(rng, people, end_day)
    people["fornamn"], people["efternamn"] = _names(rng, people)
    population = Population(people, history, residence, changes, nearby)
    age15 = timeline.birthday(birth, 15)
    people["kommun15"] = population.kommun_at(np.arange(n), age15)
    return population


def _ensamkommande(rng: np.random.Generator, birth: np.ndarray, end_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Who arrived as an unaccompanied minor, and when (days; NONE for others)."""
    n = len(birth)
    birth_year = timeline.year_of(birth)
    ages = np.array(list(ENSAMKOMMANDE_AGE))
    weights = np.array(list(ENSAMKOMMANDE_AGE.values()))
    last_year = int(timeline.year_of(np.array([end_day]))[0])
    arrivals = np.array([[ENSAMKOMMANDE_ARRIVALS.get(int(y) + int(a), 0) if y + a <= last_year else 0 for a in ages]
                         for y in range(int(birth_year.min()), int(birth_year.max()) + 1)], dtype=float)
    per_age = arrivals[birth_year - birth_year.min()] * weights  # (n, ages)
    share = ENSAMKOMMANDE_VOLUME * per_age.sum(axis=1) / NATIONAL_COHORT
    ens = rng.random(n) < share
    cumulative = np.cumsum(per_age[ens], axis=1)
    pick = (rng.random(ens.sum())[:, None] * cumulative[:, -1:] > cumulative).sum(axis=1)
    arrival = np.full(n, NONE, dtype=np.int64)
    age = ages[np.minimum(pick, len(ages) - 1)] + rng.random(ens.sum())
    arrival[ens] = birth[ens] + (age * YEAR).astype(np.int64)
    too_late = ens & (arrival > end_day - 30)
    ens &= ~too_late
    arrival[too_late] = NONE
    return ens, arrival


def _countries(rng: np.random.Generator, ens: np.ndarray, abroad: np.ndarray):
    n = len(ens)
    immigrant = _draw(rng, IMMIGRANT_COUNTRIES, n)
    country = np.where(ens, _draw(rng, ENSAMKOMMANDE_COUNTRIES, n), np.where(abroad, immigrant, "SE"))
    mother = country.copy()
    father = np.where(rng.random(n) < 0.9, country, _draw(rng, IMMIGRANT_COUNTRIES, n))
    unknown_parent = ens & (rng.random(n) < 0.3)
    father[unknown_parent] = "XX"
    mixed = ~ens & ~abroad & (rng.random(n) < SHARE_FOREIGN_PARENT)
    both = mixed & (rng.random(n) < 0.5)
    mother_foreign = mixed & (rng.random(n) < 0.5)
    mother[both | mother_foreign] = immigrant[both | mother_foreign]
    father[both] = immigrant[both]
    father[mixed & ~both & ~mother_foreign] = immigrant[mixed & ~both & ~mother_foreign]
    return country, mother, father


def _draw(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    codes = np.array(list(weights))
    p = np.array(list(weights.values()), dtype=float)
    return codes[rng.choice(len(codes), size=n, p=p / p.sum())]


def _deaths(rng, birth, arrival, risk, end_day) -> np.ndarray:
    """Infant mortality ≈ 0.2%, then a small hazard rising with the latent risk."""
    n = len(birth)
    origin = np.where(arrival != NONE, arrival, birth)
    infant = (arrival == NONE) & (rng.random(n) < 0.0022)
    t = np.where(infant, rng.random(n) * YEAR, rng.exponential(1 / (0.00015 * np.exp(0.6 * risk))) * YEAR)
    death = origin + t.astype(np.int64) + 1
    return np.where(death <= end_day, death, NONE)


def _processing_years(rng: np.random.Generator, arrival: np.ndarray) -> np.ndarray:
    """Years from an unaccompanied minor's arrival to the asylum decision: long for the 2015-2016 wave."""
    wave = (arrival >= timeline.day(date(2015, 7, 1))) & (arrival <= timeline.day(date(2016, 12, 31)))
    return np.where(wave, 0.75 + 2.25 * rng.random(len(arrival)), 0.25 + rng.random(len(arrival)))


def _emigrations(rng, birth, folkbokford_day, abroad, ens, end_day) -> np.ndarray:
    rate = np.where(abroad, 0.015, np.where(ens, 0.01, 0.002))
    origin = np.where(folkbokford_day != NONE, folkbokford_day, birth)
    t = origin + (rng.exponential(1 / rate) * YEAR).astype(np.int64) + 1
    return np.where((t <= end_day) & (folkbokford_day != NONE), t, NONE)


def _identifier_histories(rng: np.random.Generator, people: pd.DataFrame, end_day: int):
    """Every number each person has held (§1.1-§1.4): returns (history, changes, nearby_day, first ymd)."""
    n = len(people)
    birth = people["birth"].to_numpy()
    male = people["male"].to_numpy()
    ens = people["ensamkommande"].to_numpy()
    abroad = people["born_abroad"].to_numpy() & ~ens
    arrival = people["arrival"].to_numpy()
    folk = people["folkbokford_day"].to_numpy()
    true_ymd = timeline.ymd(birth)
    u = rng.random((n, 6))
    requests: list[tuple] = []  # (person, ymd, male, samordning, since)

    def add(mask, ymd, since, *, samordning=False, sex=None):
        idx = np.flatnonzero(mask)
        requests.append((idx, np.broadcast_to(ymd, n)[idx], (male if sex is None else sex)[idx],
                         np.full(len(idx), samordning), np.broadcast_to(since, n)[idx]))

    def shifted(days):
        return timeline.ymd(birth + days)

    swedish = ~abroad & ~ens
    # Born in Sweden: a wrong date or (later) a change of sex gives a second number.
    wrong_date = swedish & (u[:, 0] < BIRTH_DATE_ERROR_SWEDISH) & (birth <= end_day - 800)
    offset = rng.integers(1, 21, n) * rng.choice([-1, 1], n)
    corrected = birth + (30 + u[:, 1] * 670).astype(np.int64)
    add(wrong_date, shifted(offset), birth)
    adult = timeline.birthday(birth, 18) + (u[:, 1] * 5 * YEAR).astype(np.int64)
    sex_change = swedish & ~wrong_date & (u[:, 2] < SEX_CHANGE) & (adult <= end_day)
    add(sex_change, true_ymd, birth, sex=~male)
    add(swedish, true_ymd, np.where(wrong_date, corrected, np.where(sex_change, adult, birth)))
    # Born abroad, arrived with family: maybe a samordningsnummer first, maybe a nearby day or a corrected date.
    sam_first = abroad & (u[:, 3] < SAMORDNINGSNUMMER_FIRST_IMMIGRANT)
    add(sam_first, _maybe_unknown_day(rng, true_ymd), np.maximum(birth, arrival - (30 + u[:, 4] * 670)
                                                                  .astype(np.int64)), samordning=True)
    nearby = abroad & (u[:, 4] < NEARBY_DAY_IMMIGRANT)
    near_ymd = _nearby(rng, true_ymd)
    immigrant_wrong = abroad & ~nearby & (u[:, 5] < BIRTH_DATE_ERROR_IMMIGRANT)
    fixed = np.minimum(folk + (60 + u[:, 0] * 1440).astype(np.int64), end_day)
    add(immigrant_wrong & (fixed > folk), shifted(offset * 9), folk)
    add(abroad, np.where(nearby, near_ymd, true_ymd),
        np.where(immigrant_wrong & (fixed > folk), fixed, folk))
    # Ensamkommande: samordningsnummer (always for those never registered), personnummer when granted, and an
    # age revision for some (the first numbers carried the younger, claimed date).
    registered = ens & (folk != NONE)
    revised = registered & (u[:, 1] < AGE_REVISION_ENSAMKOMMANDE) & (folk <= end_day - 400)
    claimed = np.where(revised, timeline.ymd(birth + (YEAR * (1 + u[:, 2])).astype(np.int64)), true_ymd)
    waited = np.minimum(people["decision"].to_numpy(), end_day) - arrival
    sam_day = arrival + 10 + (u[:, 3] * np.maximum(waited - 10, 0)).astype(np.int64)
    ens_sam = ens & ((folk == NONE) | ((u[:, 5] < SAMORDNINGSNUMMER_FIRST_ENSAMKOMMANDE) & (sam_day < folk)))
    add(ens_sam, _maybe_unknown_day(rng, claimed), np.minimum(sam_day, end_day), samordning=True)
    revision_day = np.minimum(folk + (60 + u[:, 4] * 840).astype(np.int64), end_day)
    add(revised, claimed, folk)
    add(registered, true_ymd, np.where(revised, revision_day, folk))

    person, ymd, sex, samordning, since = (np.concatenate(parts) for parts in zip(*requests))
    numbers, shift = identifiers.assign_numbers(rng, ymd, sex, samordning)
    order = np.argsort(person * 2**32 + since)
    person, numbers, samordning, since, shift = (a[order] for a in (person, numbers, samordning, since, shift))
    version = np.arange(len(person)) - np.searchsorted(person, person, side="left")
    if version.max(initial=0) > 2:
        raise AssertionError("an identifier history has more than three versions")
    held, kinds, days = np.zeros((3, n), np.int64), np.zeros((3, n), np.int8), np.full((3, n), NONE)
    held[version, person] = numbers
    kinds[version, person] = np.where(samordning, KIND_SAMORDNINGSNUMMER, KIND_PERSONNUMMER)
    days[version, person] = since
    history = IdentifierHistory(held, kinds, days)
    follows = np.r_[False, person[1:] == person[:-1]]
    changes = pd.DataFrame({"person_id": person[follows], "old": numbers[np.flatnonzero(follows) - 1],
                            "new": numbers[follows], "day": since[follows]})
    current = history.current
    nearby_day = (history.current_kind == KIND_PERSONNUMMER) & (current // 10000 != true_ymd)
    first_ymd = np.where(held[0] > 0, held[0] // 10000, claimed)
    first_ymd = np.where(kinds[0] == KIND_SAMORDNINGSNUMMER, first_ymd - 60, first_ymd)
    first_ymd = np.where(first_ymd % 100 == 0, claimed, first_ymd)  # an unknown day: the claimed date
    return history, changes, nearby_day, first_ymd


def _maybe_unknown_day(rng: np.random.Generator, ymd: np.ndarray) -> np.ndarray:
    unknown = rng.random(len(ymd)) < SAMORDNINGSNUMMER_UNKNOWN_DAY
    return np.where(unknown, ymd - ymd % 100, ymd)


def _nearby(rng: np.random.Generator, ymd: np.ndarray) -> np.ndarray:
    """A day 1-2 days away in the same month."""
    step = rng.integers(1, 3, len(ymd)) * rng.choice([-1, 1], len(ymd))
    day = ymd % 100 + step
    month_days = identifiers.days_in_month(ymd)
    day = np.where((day < 1) | (day > month_days), ymd % 100 - step, day)
    return ymd - ymd % 100 + day


def _residence(rng: np.random.Generator, people: pd.DataFrame, end_day: int) -> pd.DataFrame:
    """Spells of residence for everyone ever folkbokförd: a first kommun and moves, mostly within the län."""
    registered = np.flatnonzero(people["folkbokford_day"].to_numpy() != NONE)
    start = people["folkbokford_day"].to_numpy()[registered]
    stop = np.maximum(np.minimum(people["departure"].to_numpy()[registered], end_day), start)
    adult = np.clip(timeline.birthday(people["birth"].to_numpy()[registered], 18), start, stop)
    child_years, adult_years = (adult - start) / YEAR, (stop - adult) / YEAR
    n_child = rng.poisson(MOVES_CHILD * child_years)
    n_adult = rng.poisson(MOVES_ADULT * adult_years)
    who = np.concatenate([np.repeat(np.arange(len(registered)), n_child),
                          np.repeat(np.arange(len(registered)), n_adult)])
    lo = np.concatenate([np.repeat(start, n_child), np.repeat(adult, n_adult)])
    hi = np.concatenate([np.repeat(adult, n_child), np.repeat(stop, n_adult)])
    when = lo + (rng.random(len(who)) * (hi - lo)).astype(np.int64) + 1
    keep = when < hi
    who, when = who[keep], when[keep]
    order = np.argsort(who * 2**32 + when)
    who, when = who[order], when[order]
    index = np.arange(len(who)) - np.searchsorted(who, who, side="left")
    current = people["assigned_kommun"].to_numpy()[registered].copy()
    dest = np.empty(len(who), dtype=np.int64)
    lan_of = geography.kommun_lan_index()
    for k in range(int(index.max(initial=-1)) + 1):
        moving = np.flatnonzero(index == k)
        origin = current[who[moving]]
        within = rng.random(len(moving)) < MOVES_WITHIN_LAN
        target = geography.draw_kommun(rng, len(moving), flatten=1.1)
        target[within] = geography.draw_kommun_in_lan(rng, lan_of[origin[within]])
        dest[moving] = target
        current[who[moving]] = target
    spell_person = np.concatenate([np.arange(len(registered)), who])
    spell_from = np.concatenate([start, when])
    spell_kommun = np.concatenate([people["assigned_kommun"].to_numpy()[registered], dest])
    order = np.argsort(spell_person * 2**32 + spell_from)
    spell_person, spell_from, spell_kommun = spell_person[order], spell_from[order], spell_kommun[order]
    same = np.r_[False, (spell_person[1:] == spell_person[:-1]) & (spell_kommun[1:] == spell_kommun[:-1])]
    spell_person, spell_from, spell_kommun = spell_person[~same], spell_from[~same], spell_kommun[~same]
    last = np.r_[spell_person[1:] != spell_person[:-1], True]
    till = np.where(last, NONE, np.r_[spell_from[1:], 0] - 1)
    departed = people["departure"].to_numpy()[registered][spell_person]
    till = np.where(last & (departed != NONE), departed, till)
    return pd.DataFrame({"person_id": registered[spell_person], "kommun": spell_kommun, "fran": spell_from,
                         "till": till})


def _names(rng: np.random.Generator, people: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Names by tradition: the person's own country if born abroad; else surname after a foreign-born father (or
    mother), first name Swedish or the mother's tradition half the time."""
    own, mother, father = (people[column].map(names.ORIGIN_OF_COUNTRY).to_numpy()
                           for column in ("country", "mother_country", "father_country"))
    born_abroad = people["born_abroad"].to_numpy()
    surname_origin = np.where(born_abroad, own, np.where(father != "se", father, mother))
    first_origin = np.where(born_abroad, own, np.where(rng.random(len(own)) < 0.5, "se", mother))
    sex = np.where(people["male"].to_numpy(), 1, 2)
    first = names.draw_names(rng, first_origin, sex, "fornamn")
    last = names.draw_names(rng, surname_origin, sex, "efternamn")
    return first, last
