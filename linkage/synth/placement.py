"""The placement register of the synthetic world (Registret över insatser för barn och unga, domain.md §2).

Structure child → insats (measure) → placering, as in §2.1: care episodes start at an age drawn from a mixture
(infants, school children, teenagers), more often for persons with a high latent risk; an episode is one or more
measures (an LVU 6 § emergency order before LVU care, SoL care turning into LVU 3 §), each with one or more
placements (re-placements). Ages 0-20, LVU 2 § ends at 18, SoL and LVU 3 § at 21 (§2.2). Ensamkommande children are
placed under SoL on arrival, mostly in HVB and stödboende.

The reporting follows the register's history (§2.1): change-based reports up to 2016 (2014-2016 only children with
a complete personnummer), no register for 2017, and from 2018 a yearly snapshot of every ongoing measure, so one
measure appears in several reporting years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.synth import timeline
from linkage.synth.identifiers import KIND_PERSONNUMMER
from linkage.synth.population import Population
from linkage.synth.timeline import NONE, YEAR

SOL, LVU2, LVU3, LVU23, LVU6 = 1, 2, 3, 4, 5  # lagrum codes of the contract
FAMILJEHEM, SLAKTINGHEM, JOURHEM, HVB_KOMMUNALT, HVB_ENSKILT, STODBOENDE, SIS, EGET = range(1, 9)
FIRST_SNAPSHOT_YEAR, COMPLETE_PNR_YEARS = 2018, (2014, 2015, 2016)  # 2017: no register at all
STODBOENDE_SINCE = 2016  # stödboende for 16-20-year-olds was introduced in 2016 (§2.2)

# Who is placed: P(ever) = logistic(ALPHA + BETA * risk) for persons other than ensamkommande.
ALPHA, BETA = -3.77, 1.3
# Age at the first placement: (share, lowest age, highest age) of a mixture of uniform parts.
FIRST_AGE = ((0.12, 0.0, 1.0), (0.12, 1.0, 4.0), (0.16, 4.0, 10.0), (0.12, 10.0, 13.0), (0.43, 13.0, 18.0),
             (0.05, 18.0, 20.5))
ANOTHER_EPISODE = (0.4, 0.4, 0.35)  # chance of a further episode after the 1st, 2nd, 3rd
# Main lagrum by age at the episode's start: SoL, LVU 2 §, LVU 3 §, LVU 2+3 §, LVU 6 § alone.
LAGRUM_CHILD = (0.66, 0.30, 0.0, 0.01, 0.03)
LAGRUM_TEEN = (0.56, 0.09, 0.21, 0.07, 0.07)
LAGRUM_ADULT = (0.90, 0.0, 0.08, 0.0, 0.02)
EMERGENCY_BEFORE = {LVU2: 0.7, LVU3: 0.7, LVU23: 0.7, SOL: 0.05}  # an LVU 6 § order precedes the care
SOL_TURNS_LVU3 = 0.12  # teenagers' SoL care that turns into LVU 3 § care
# Episode length (years): lognormal median and sigma by age at start.
DURATION_MEDIAN = ((3.0, 2.9), (13.0, 1.6), (18.0, 0.7), (99.0, 0.7))
DURATION_SIGMA = 1.0
REPLACEMENTS_PER_YEAR = ((13.0, 0.2), (18.0, 0.55), (99.0, 0.3))
# placeringsform profiles, codes 1-8 (familjehem, släktinghem, jourhem, HVB kommunalt, HVB enskilt, stödboende, SiS,
# eget boende/annat); a jourhem placement is followed by a foster family within a few months.
FORMS = {
    "child_first": (0.45, 0.17, 0.30, 0.03, 0.04, 0.0, 0.0, 0.01),
    "child_later": (0.72, 0.18, 0.04, 0.02, 0.03, 0.0, 0.0, 0.01),
    "teen_sol": (0.46, 0.12, 0.08, 0.08, 0.20, 0.04, 0.01, 0.01),
    "teen_lvu": (0.22, 0.04, 0.05, 0.06, 0.23, 0.01, 0.38, 0.01),
    "adult": (0.35, 0.06, 0.0, 0.08, 0.16, 0.30, 0.0, 0.05),
    "emergency_child": (0.15, 0.10, 0.65, 0.0, 0.08, 0.0, 0.0, 0.02),
    "emergency_teen": (0.05, 0.03, 0.25, 0.10, 0.22, 0.0, 0.35, 0.0),
    "ensamkommande": (0.22, 0.10, 0.03, 0.22, 0.25, 0.18, 0.0, 0.0),
}
# avslutsorsak when an episode ends for none of the forced reasons: återförening, vårdnadsöverflyttning, adoption,
# flytt, annat/okänt (codes 1, 2, 3, 5, 9).
END_CODES = np.array([1, 2, 3, 5, 9])
END_CHILD_LONG = (0.50, 0.14, 0.03, 0.06, 0.27)
END_OTHER = (0.56, 0.01, 0.0, 0.07, 0.36)
GUARDIANS = (0.30, 0.45, 0.10, 0.10, 0.05)  # vårdnadshavare 1, 2, 3, 4, 9


@dataclass
class Placements:
    """Measures and placements as they happened (days as int64, NONE = ongoing at the world's end)."""

    measures: pd.DataFrame  # person, kommun, insats_nr, lagrum, beslut, start, end, reason, episode
    placements: pd.DataFrame  # measure, placering_nr, form, start, end, enhet_id
    episodes: pd.DataFrame  # person, start, end (continuous care)
    guardian: pd.DataFrame  # person, kommun, vardnadshavare


def generate_placements(rng: np.random.Generator, population: Population, end_day: int) -> Placements:
    """Care episodes, measures and placements for everyone in `population`."""
    people = population.people
    n = len(people)
    birth = people["birth"].to_numpy()
    departure = people["departure"].to_numpy()
    arrival = people["arrival"].to_numpy()
    ens = people["ensamkommande"].to_numpy()
    limit21 = timeline.birthday(birth, 21) - 1
    stop = np.minimum(np.minimum(departure, end_day + 1), limit21)  # no episode may start on or after this

    placed = ~ens & (rng.random(n) < 1 / (1 + np.exp(-(ALPHA + BETA * people["risk"].to_numpy()))))
    who = np.flatnonzero(placed)
    start = birth[who] + (_first_age(rng, len(who)) * YEAR).astype(np.int64)
    late = (arrival[who] != NONE) & (start < arrival[who])
    start[late] = arrival[who][late] + (rng.random(late.sum()) * 3 * YEAR).astype(np.int64)
    segments = []
    for k in range(len(ANOTHER_EPISODE) + 1):
        ok = start < stop[who]
        who, start = who[ok], start[ok]
        if not len(who):
            break
        episode, end = _episode(rng, people, who, start, end_day)
        segments.append(episode)
        again = (end != NONE) & (rng.random(len(who)) < (ANOTHER_EPISODE + (0,))[k])
        who = who[again]
        start = end[again] + 30 + (rng.exponential(1.5, again.sum()) * YEAR).astype(np.int64)
    ens_who = np.flatnonzero(ens & (arrival < stop))
    if len(ens_who):
        segments.append(_ensamkommande_episode(rng, people, ens_who, end_day))
    frame = pd.concat([pd.DataFrame(s) for s in segments], ignore_index=True)
    return _assemble(rng, population, frame, end_day)


def _first_age(rng: np.random.Generator, n: int) -> np.ndarray:
    shares = np.array([part[0] for part in FIRST_AGE])
    part = rng.choice(len(FIRST_AGE), size=n, p=shares / shares.sum())
    lo = np.array([p[1] for p in FIRST_AGE])[part]
    hi = np.array([p[2] for p in FIRST_AGE])[part]
    return lo + rng.random(n) * (hi - lo)


def _pick(rng: np.random.Generator, table: np.ndarray) -> np.ndarray:
    """One category index per row of a probability table (rows sum to 1)."""
    cumulative = np.cumsum(table, axis=1)
    return np.minimum((rng.random(len(table))[:, None] * cumulative[:, -1:] > cumulative).sum(axis=1),
                      table.shape[1] - 1)


def _by_age(age: np.ndarray, steps: tuple[tuple[float, float], ...]) -> np.ndarray:
    bounds = np.array([s[0] for s in steps])
    values = np.array([s[1] for s in steps])
    return values[np.minimum(np.searchsorted(bounds, age, side="right"), len(values) - 1)]


def _episode(rng: np.random.Generator, people: pd.DataFrame, who: np.ndarray, start: np.ndarray, end_day: int
             ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One care episode per person in `who`, as up to three measure segments (6 § prelude, main, LVU 3 § turn)."""
    m = len(who)
    birth = people["birth"].to_numpy()[who]
    death = people["death"].to_numpy()[who]
    emigration = people["emigration"].to_numpy()[who]
    age = (start - birth) / YEAR
    table = np.where((age < 13)[:, None], LAGRUM_CHILD, np.where((age < 18)[:, None], LAGRUM_TEEN, LAGRUM_ADULT))
    main = np.array([SOL, LVU2, LVU3, LVU23, LVU6])[_pick(rng, table)]
    main = np.where((main == LVU2) & (timeline.birthday(birth, 18) - start < 60), SOL, main)
    duration = np.exp(np.log(_by_age(age, DURATION_MEDIAN)) + DURATION_SIGMA * rng.standard_normal(m)) * YEAR
    duration = np.where(main == LVU6, 5 + rng.random(m) * 40, duration).astype(np.int64) + 1
    limit = np.where(main == LVU2, timeline.birthday(birth, 18), timeline.birthday(birth, 21)) - 1
    natural = start + duration
    end = np.minimum.reduce([natural, limit, death, emigration])
    reason = np.where(end == death, 6, np.where(end == emigration, 7, np.where(end == limit, 4, 0)))
    table = np.where(((age < 13) & (duration > 3 * YEAR))[:, None], END_CHILD_LONG, END_OTHER)
    reason = np.where(reason == 0, END_CODES[_pick(rng, np.asarray(table))], reason)
    ongoing = end > end_day
    end, reason = np.where(ongoing, NONE, end), np.where(ongoing, 0, reason)
    span_end = np.minimum(end, end_day)
    # Segment boundaries: a 6 § prelude of 2-7 weeks before the care; teenagers' SoL care turning into LVU 3 §.
    chance = np.zeros(m)
    for lagrum, p in EMERGENCY_BEFORE.items():
        chance[main == lagrum] = p
    prelude = rng.random(m) < chance
    prelude_end = start + 14 + (rng.random(m) * 35).astype(np.int64)
    prelude &= prelude_end < span_end - 14
    main_start = np.where(prelude, prelude_end + 1, start)
    turn = (main == SOL) & (age >= 12.5) & (age < 18) & (rng.random(m) < SOL_TURNS_LVU3)
    turn_day = main_start + (0.2 + 0.5 * rng.random(m)) * (span_end - main_start)
    turn_day = turn_day.astype(np.int64)
    turn &= (turn_day - main_start > 14) & (span_end - turn_day > 14)
    segments = {
        "person": np.concatenate([who[prelude], who, who[turn]]),
        "lagrum": np.concatenate([np.full(prelude.sum(), LVU6), main, np.full(turn.sum(), LVU3)]),
        "start": np.concatenate([start[prelude], main_start, turn_day[turn]]),
        "end": np.concatenate([prelude_end[prelude], np.where(turn, turn_day - 1, end), end[turn]]),
        "reason": np.concatenate([np.full(prelude.sum(), 8), np.where(turn, 8, reason), reason[turn]]),
        "episode_start": np.concatenate([start[prelude], start, start[turn]]),
        "episode_end": np.concatenate([end[prelude], end, end[turn]]),
        "ensamkommande": np.zeros(prelude.sum() + m + turn.sum(), bool),
    }
    return segments, end


def _ensamkommande_episode(rng: np.random.Generator, people: pd.DataFrame, who: np.ndarray, end_day: int
                           ) -> dict[str, np.ndarray]:
    """Placed under SoL on arrival until 18, some until 21, or until leaving the country."""
    m = len(who)
    birth = people["birth"].to_numpy()[who]
    start = people["arrival"].to_numpy()[who] + (rng.random(m) * 20).astype(np.int64)
    death = people["death"].to_numpy()[who]
    emigration = people["emigration"].to_numpy()[who]
    how = rng.choice(3, size=m, p=(0.55, 0.30, 0.15))
    adult = timeline.birthday(birth, 18)
    natural = np.choose(how, [adult, adult + ((0.2 + 2.6 * rng.random(m)) * YEAR).astype(np.int64),
                              timeline.birthday(birth, 21) - 1])
    natural = np.minimum(np.maximum(natural, start + 30), timeline.birthday(birth, 21) - 1)
    end = np.minimum.reduce([natural, death, emigration])
    reason = np.where(end == death, 6, np.where(end == emigration, 7, np.where(how == 1, 9, 4)))
    ongoing = end > end_day
    end, reason = np.where(ongoing, NONE, end), np.where(ongoing, 0, reason)
    return {"person": who, "lagrum": np.full(m, SOL), "start": start, "end": end, "reason": reason,
            "episode_start": start, "episode_end": end, "ensamkommande": np.ones(m, bool)}


def _assemble(rng: np.random.Generator, population: Population, seg: pd.DataFrame, end_day: int) -> Placements:
    people = population.people
    seg = seg.sort_values(["person", "start", "lagrum"], kind="stable").reset_index(drop=True)
    person = seg["person"].to_numpy()
    ens = seg["ensamkommande"].to_numpy()
    seg["kommun"] = np.where(ens, people["assigned_kommun"].to_numpy()[person],
                             population.kommun_at(person, seg["episode_start"].to_numpy()))
    seg["insats_nr"] = seg.groupby(["person", "kommun"]).cumcount() + 1
    lead = np.where(seg["lagrum"].to_numpy() == SOL, (rng.random(len(seg)) * 21).astype(np.int64), 0)
    seg["beslut"] = seg["start"].to_numpy() - lead
    measures = seg[["person", "kommun", "insats_nr", "lagrum", "beslut", "start", "end", "reason",
                    "episode_start", "episode_end", "ensamkommande"]].copy()
    placements = _placements(rng, people, measures, end_day)
    episodes = measures.groupby(["person", "episode_start"], sort=True)["episode_end"].first().reset_index()
    episodes.columns = ["person", "start", "end"]
    guardian = measures[["person", "kommun", "ensamkommande"]].drop_duplicates(["person", "kommun"])
    code = np.array([1, 2, 3, 4, 9])[rng.choice(5, size=len(guardian), p=GUARDIANS)]
    code = np.where(guardian["ensamkommande"], np.where(rng.random(len(guardian)) < 0.85, 4, 9), code)
    guardian = guardian.assign(vardnadshavare=code)[["person", "kommun", "vardnadshavare"]]
    return Placements(measures.reset_index(drop=True), placements, episodes, guardian.reset_index(drop=True))


def _placements(rng: np.random.Generator, people: pd.DataFrame, measures: pd.DataFrame, end_day: int
                ) -> pd.DataFrame:
    """Placements within each measure: re-placements split the measure's time; the form follows age and law."""
    start = measures["start"].to_numpy()
    span_end = np.minimum(measures["end"].to_numpy(), end_day)
    birth = people["birth"].to_numpy()[measures["person"].to_numpy()]
    age = (start - birth) / YEAR
    lagrum = measures["lagrum"].to_numpy()
    ens = measures["ensamkommande"].to_numpy()
    rate = np.where(ens, 0.6, _by_age(age, REPLACEMENTS_PER_YEAR))
    count = 1 + np.minimum(rng.poisson(rate * np.maximum(span_end - start, 0) / YEAR), 5)
    count = np.where(lagrum == LVU6, 1, count)
    count = np.minimum(count, np.maximum((span_end - start) // 14, 1))
    measure = np.repeat(np.arange(len(measures)), count)
    first = np.r_[True, measure[1:] != measure[:-1]]
    cut = start[measure] + (rng.random(len(measure)) * (span_end - start)[measure]).astype(np.int64)
    cut[first] = start[measure][first]
    order = np.argsort(measure * 2**32 + cut)
    measure, cut = measure[order], cut[order]
    number = np.arange(len(measure)) - np.searchsorted(measure, measure, side="left") + 1
    last = np.r_[measure[1:] != measure[:-1], True]
    end = np.where(last, measures["end"].to_numpy()[measure], np.r_[cut[1:], 0] - 1)
    end = np.maximum(end, cut)
    place_age = (cut - birth[measure]) / YEAR
    form = _forms(rng, place_age, lagrum[measure], ens[measure], number, timeline.year_of(cut))
    # A jourhem is an emergency placement: after at most a few months the child moves on to a foster family.
    stay = 14 + (rng.random(len(cut)) * 76).astype(np.int64)
    moves_on = (form == JOURHEM) & (np.minimum(end, end_day) - cut > stay + 14)
    if moves_on.any():
        later = np.flatnonzero(moves_on)
        measure = np.r_[measure, measure[later]]
        cut, end = np.r_[cut, cut[later] + stay[later]], np.r_[np.where(moves_on, cut + stay - 1, end), end[later]]
        form = np.r_[form, np.where(rng.random(len(later)) < 0.75, FAMILJEHEM, SLAKTINGHEM)]
        order = np.argsort(measure * 2**32 + cut)
        measure, cut, end, form = measure[order], cut[order], end[order], form[order]
        number = np.arange(len(measure)) - np.searchsorted(measure, measure, side="left") + 1
    return pd.DataFrame({"measure": measure, "placering_nr": number, "form": form, "start": cut, "end": end})


def _forms(rng, age, lagrum, ens, number, year) -> np.ndarray:
    profile = np.where(ens, "ensamkommande", np.where(
        lagrum == LVU6, np.where(age < 13, "emergency_child", "emergency_teen"), np.where(
            age < 13, np.where(number == 1, "child_first", "child_later"), np.where(
                age >= 18, "adult", np.where(np.isin(lagrum, (LVU3, LVU23)), "teen_lvu", "teen_sol")))))
    table = np.array([FORMS[p] for p in FORMS])
    index = pd.Index(list(FORMS)).get_indexer(profile)
    form = _pick(rng, table[index]) + 1
    too_young = (form == STODBOENDE) & ((age < 16) | (year < STODBOENDE_SINCE))
    form[too_young] = HVB_ENSKILT
    sis_adult = (form == SIS) & (age >= 21)
    form[sis_adult] = HVB_ENSKILT
    return form


def person_flags(population: Population, placements: Placements) -> pd.DataFrame:
    """Per-person facts the other registers need: placed_ever, first placement, ÖJ's "placed the whole of
    year 9", ever LVU 3 §, ever HVB or SiS."""
    people = population.people
    n = len(people)
    m = placements.measures
    flags = pd.DataFrame(index=pd.RangeIndex(n))
    first = np.full(n, NONE)
    np.minimum.at(first, m["person"].to_numpy(), m["start"].to_numpy())
    flags["first_placement"] = first
    flags["placed_ever"] = first != NONE
    year9 = people["year9_year"].to_numpy()
    school_start = timeline.year_start(year9 - 1) + 231  # about 20 August
    school_end = timeline.year_start(year9) + 160  # about 10 June
    ep = placements.episodes
    p = ep["person"].to_numpy()
    covers = (ep["start"].to_numpy() <= school_start[p]) & (ep["end"].to_numpy() >= school_end[p])
    flags["placed_whole_year9"] = np.bincount(p[covers], minlength=n) > 0
    lvu3 = m["lagrum"].isin([LVU3, LVU23]).to_numpy()
    flags["ever_lvu3"] = np.bincount(m["person"].to_numpy()[lvu3], minlength=n) > 0
    pl = placements.placements
    hvb_sis = pl["form"].isin([HVB_KOMMUNALT, HVB_ENSKILT, SIS]).to_numpy()
    owner = m["person"].to_numpy()[pl["measure"].to_numpy()]
    flags["ever_hvb_sis"] = np.bincount(owner[hvb_sis], minlength=n) > 0
    return flags


@dataclass
class Reported:
    """The three placement files' rows before identifiers are written: `person` and the reference `day` on
    which the reporting kommun wrote the identifier, plus the register columns."""

    child: pd.DataFrame
    measure: pd.DataFrame
    placement: pd.DataFrame


def report(population: Population, placements: Placements, end_day: int) -> Reported:
    """Rows as the kommuner reported them year by year (change-based up to 2016, none for 2017, snapshots since
    2018); 2014-2016 rows only for children whose identifier was a complete personnummer."""
    m = placements.measures
    pl = placements.placements
    last_year = int(timeline.year_of(np.array([end_day + 1]))[0]) - 1
    first_year = int(timeline.year_of(m["start"].to_numpy()).min()) if len(m) else last_year
    # Change events (starts and ends of measures and placements) up to 2016.
    measure_of = pl["measure"].to_numpy()
    event_measure = np.concatenate([np.arange(len(m)), np.arange(len(m)), measure_of, measure_of])
    event_year = timeline.year_of(np.concatenate([m["start"], m["end"], pl["start"], pl["end"]]))
    change = event_year <= COMPLETE_PNR_YEARS[-1]
    measure_years = pd.DataFrame({"measure": event_measure[change], "year": event_year[change]})
    # Snapshots from 2018: every year the measure was ongoing.
    y0 = np.maximum(timeline.year_of(m["start"].to_numpy()), FIRST_SNAPSHOT_YEAR)
    y1 = np.minimum(timeline.year_of(m["end"].to_numpy()), last_year)
    span = np.maximum(y1 - y0 + 1, 0)
    snap_measure = np.repeat(np.arange(len(m)), span)
    snap_year = y0[snap_measure] + np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)
    measure_years = pd.concat([measure_years, pd.DataFrame({"measure": snap_measure, "year": snap_year})])
    measure_years = measure_years[(measure_years["year"] >= first_year) & (measure_years["year"] <= last_year)]
    measure_years = measure_years.drop_duplicates().sort_values(["year", "measure"]).reset_index(drop=True)
    mid = measure_years["measure"].to_numpy()
    year = measure_years["year"].to_numpy()
    person = m["person"].to_numpy()[mid]
    ref = timeline.year_end(year)
    number, kind, _ = population.history.at(person, ref)
    complete = (number != 0) & (kind == KIND_PERSONNUMMER)
    keep = ~np.isin(year, COMPLETE_PNR_YEARS) | complete
    measure_years = measure_years[keep].reset_index(drop=True)
    mid, year, ref = mid[keep], year[keep], ref[keep]

    def visible(days):
        return np.where(days <= ref, days, NONE)

    measure_rows = pd.DataFrame({
        "person": m["person"].to_numpy()[mid], "day": ref, "redovisningsar": year,
        "kommun": m["kommun"].to_numpy()[mid], "insats_nr": m["insats_nr"].to_numpy()[mid],
        "lagrum": m["lagrum"].to_numpy()[mid], "beslutsdatum": m["beslut"].to_numpy()[mid],
        "startdatum": m["start"].to_numpy()[mid], "slutdatum": visible(m["end"].to_numpy()[mid]),
        "avslutsorsak": np.where(m["end"].to_numpy()[mid] <= ref, m["reason"].to_numpy()[mid], 0),
        "measure": mid,
    })
    # Placements: in change years those starting or ending that year, in snapshot years those ongoing.
    rows = measure_rows[["measure", "redovisningsar", "day"]].merge(
        pl.reset_index().rename(columns={"index": "placement"}), on="measure")
    py = rows["redovisningsar"].to_numpy()
    ps, pe = rows["start"].to_numpy(), rows["end"].to_numpy()
    snapshot = py >= FIRST_SNAPSHOT_YEAR
    changed = (timeline.year_of(ps) == py) | (timeline.year_of(pe) == py)
    ongoing = (ps <= timeline.year_end(py)) & (pe >= timeline.year_start(py))
    rows = rows[np.where(snapshot, ongoing, changed)]
    prow = rows["measure"].to_numpy()
    placement_rows = pd.DataFrame({
        "person": m["person"].to_numpy()[prow], "day": rows["day"].to_numpy(),
        "redovisningsar": rows["redovisningsar"].to_numpy(), "kommun": m["kommun"].to_numpy()[prow],
        "insats_nr": m["insats_nr"].to_numpy()[prow], "placering_nr": rows["placering_nr"].to_numpy(),
        "placeringsform": rows["form"].to_numpy(), "startdatum": rows["start"].to_numpy(),
        "slutdatum": np.where(rows["end"].to_numpy() <= rows["day"].to_numpy(), rows["end"].to_numpy(), NONE),
        "placement": rows["placement"].to_numpy(),
    }).sort_values(["redovisningsar", "kommun", "person", "insats_nr", "placering_nr"], kind="stable")
    measure_rows = measure_rows.sort_values(["redovisningsar", "kommun", "person", "insats_nr"], kind="stable")
    child_rows = measure_rows[["person", "day", "redovisningsar", "kommun"]].drop_duplicates(
        ["redovisningsar", "kommun", "person"])
    child_rows = child_rows.merge(placements.guardian, on=["person", "kommun"], how="left")
    birth = population.people["birth"].to_numpy()[child_rows["person"].to_numpy()]
    adult = timeline.birthday(birth, 18) <= child_rows["day"].to_numpy()
    child_rows["vardnadshavare"] = np.where(adult, 0, child_rows["vardnadshavare"].to_numpy())  # 0: none at 18+
    return Reported(child_rows.reset_index(drop=True), measure_rows.reset_index(drop=True),
                    placement_rows.reset_index(drop=True))


#: placeringsform → (IVO enhetstyp, huvudman or None for any) of the unit a placement is at.
UNIT_OF_FORM = {HVB_KOMMUNALT: ("1", "1"), HVB_ENSKILT: ("1", "2"), STODBOENDE: ("2", None), SIS: ("3", None)}
SAME_LAN = 0.7


def assign_units(rng: np.random.Generator, placements: Placements, providers: pd.DataFrame,
                 lan_of_kommun: np.ndarray) -> np.ndarray:
    """enhet_id (object array, None where none fits) for HVB, stödboende and SiS placements: a unit of the matching
    type and huvudman, active on the placement's first day, in the placing kommun's län where possible."""
    place = placements.placements
    out = np.full(len(place), None, dtype=object)
    unit_start = _days(providers["startdatum"], -NONE)
    unit_end = _days(providers["slutdatum"], NONE)
    unit_lan = pd.Index(sorted(set(lan_of_kommun))).get_indexer(providers["kommun"].astype(str).str[:2])
    kommun = placements.measures["kommun"].to_numpy()[place["measure"].to_numpy()]
    lan_index = pd.Index(sorted(set(lan_of_kommun))).get_indexer(lan_of_kommun[kommun])
    for form, (kind, owner) in UNIT_OF_FORM.items():
        rows = np.flatnonzero(place["form"].to_numpy() == form)
        units = np.flatnonzero((providers["enhetstyp"].astype(str) == kind).to_numpy())
        if owner is not None and (providers["huvudman"].astype(str).to_numpy()[units] == owner).any():
            units = units[providers["huvudman"].astype(str).to_numpy()[units] == owner]
        if not len(rows) or not len(units):
            continue
        units = units[np.argsort(unit_lan[units], kind="stable")]
        pool_start = np.searchsorted(unit_lan[units], lan_index[rows], side="left")
        pool_size = np.searchsorted(unit_lan[units], lan_index[rows], side="right") - pool_start
        day = place["start"].to_numpy()[rows]
        pending = np.arange(len(rows))
        for _ in range(12):
            local = (pool_size[pending] > 0) & (rng.random(len(pending)) < SAME_LAN)
            pick = np.where(local, pool_start[pending] + (rng.random(len(pending)) * pool_size[pending]).astype(int),
                            (rng.random(len(pending)) * len(units)).astype(int))
            unit = units[pick]
            active = (unit_start[unit] <= day[pending]) & (unit_end[unit] >= day[pending])
            out[rows[pending[active]]] = providers["enhet_id"].to_numpy()[unit[active]]
            pending = pending[~active]
            if not len(pending):
                break
    return out


def _days(values: pd.Series, missing: int) -> np.ndarray:
    """Day counts of a date column (dates, timestamps or ISO text), `missing` where empty."""
    stamps = pd.to_datetime(values, errors="coerce")
    days = stamps.to_numpy("datetime64[D]").astype(np.int64)
    return np.where(stamps.isna().to_numpy(), missing, days)
