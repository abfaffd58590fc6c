"""Synthetic LVM register (tvångsvård av missbrukare, lagen (1988:870)) for the synthetic world (domain.md §6.1).

Three sub-registers as Socialstyrelsen keeps them: applications for care decided by the administrative courts
(11 § LVM), emergency detentions (13 § LVM) and discharges from SiS LVM homes. LVM is for adults, so only the young
adults of the cohorts appear, far more often after LVU 3 § care in their teens and with a high latent risk.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from linkage.synth.health import (
    Effects, age_bands, birthday, choice, day_number, draw_events, observation_window, observed_through, people,
    ratio_row, share_row, timestamps,
)

LVM_AGE_EDGES = (18, 21, 25, 200)
# Onset of an LVM process per person-year at risk 0 without placement (men, women), by age band 18-20, 21-24, 25+.
_RATES = ((3.0e-5, 4.5e-5, 4.5e-5), (1.5e-5, 2.2e-5, 2.2e-5))
_EFFECTS = Effects(risk=0.8, placed=2.5, lvu3=20.0, hvb_sis=1.8, frailty=0.5)
_MONTH = 30.4375
_APART = 240  # days between the starts of two LVM processes of one person (care lasts at most six months)

APPLICATION_COLUMNS = ["person_id", "kommun", "beslutsdatum", "utfall", "grund", "missbruk"]
EMERGENCY_COLUMNS = ["person_id", "kommun", "beslutsdatum", "faststallt"]
DISCHARGE_COLUMNS = ["person_id", "inskrivningsdatum", "utskrivningsdatum", "vardtid_manader", "utskrivningsorsak",
                     "vard_annan_form"]


def generate_lvm(rng: np.random.Generator, persons: pd.DataFrame, *, end_date: date) -> dict[str, pd.DataFrame]:
    """The three LVM sub-registers: keys `lvm_application`, `lvm_emergency`, `lvm_discharge`.

    Columns per the contract without `personnummer`, plus `person_id`; dates datetime64[ns]; codes as str;
    booleans (faststallt, vard_annan_form) int8 1/0; vardtid_manader float64 (months, one decimal).
    An LVM process starts either with an emergency detention (13 §, mostly confirmed and mostly followed by an
    application) or with an application; most applications are granted (bifall), and granted care ends within six
    months of the court's decision (20 § LVM) with a discharge from the SiS LVM home.
    """
    p = people(persons)
    lo, hi = observation_window(persons, start=date(1998, 1, 1), end_date=end_date)
    who, _, t0 = draw_events(rng, p, age_bands(p.birth, lo, hi, LVM_AGE_EDGES), _RATES, _EFFECTS)
    # One process at a time: a new one only after the previous would have ended.
    order = np.lexsort((t0, who))
    who, t0 = who[order], t0[order]
    after_previous = np.ones(who.size, dtype=bool)  # (also right for no events at all)
    after_previous[1:] = (who[1:] != who[:-1]) | (np.diff(t0) > _APART)
    who, t0 = who[after_previous], t0[after_previous]
    n = who.size
    girl = p.girl[who]

    emergency = rng.random(n) < 0.65
    applied = ~emergency | (rng.random(n) < 0.85)
    decided = t0 + np.where(emergency, rng.integers(14, 42, n), 0)
    applied &= decided <= hi[who]
    granted = applied & (rng.random(n) < np.where(emergency, 0.93, 0.85))

    # Care from admission to discharge: admission at the detention, or within days of a granted application.
    admitted = np.where(emergency, t0, decided + rng.integers(0, 8, n))
    # Care lasts at most six months (20 § LVM): to the limit (1), ended earlier (2), absconded (3), other (4).
    reason = choice(rng, n, ["1", "2", "3", "4"], [0.45, 0.40, 0.08, 0.07])
    length = np.select([reason == "1", reason == "2", reason == "3"],
                       [rng.integers(176, 183, n), rng.integers(45, 176, n), rng.integers(10, 120, n)],
                       rng.integers(20, 150, n))
    discharged = admitted + length
    discharge = granted & (rng.random(n) < 0.95) & (discharged <= hi[who])

    application = pd.DataFrame({
        "person_id": p.person_id[who],
        "kommun": p.kommun[who],
        "beslutsdatum": timestamps(decided),
        "utfall": np.where(granted, "1", "2").astype(object),
        "grund": choice(rng, n, ["1", "2", "3"], [0.55, 0.35, 0.10]).astype(object),
        "missbruk": np.where(girl == 1, choice(rng, n, ["1", "2", "3", "4"], [0.18, 0.35, 0.12, 0.35]),
                             choice(rng, n, ["1", "2", "3", "4"], [0.12, 0.45, 0.06, 0.37])).astype(object),
    }, columns=APPLICATION_COLUMNS)[applied]
    emergency_frame = pd.DataFrame({
        "person_id": p.person_id[who],
        "kommun": p.kommun[who],
        "beslutsdatum": timestamps(t0),
        "faststallt": (rng.random(n) < 0.92).astype(np.int8),
    }, columns=EMERGENCY_COLUMNS)[emergency]
    discharge_frame = pd.DataFrame({
        "person_id": p.person_id[who],
        "inskrivningsdatum": timestamps(admitted),
        "utskrivningsdatum": timestamps(discharged),
        "vardtid_manader": np.round(length / _MONTH, 1),
        "utskrivningsorsak": reason.astype(object),
        "vard_annan_form": (rng.random(n) < np.where(np.isin(reason, ["1", "2"]), 0.5, 0.2)).astype(np.int8),
    }, columns=DISCHARGE_COLUMNS)[discharge]
    return {
        "lvm_application": _ordered(application, "beslutsdatum"),
        "lvm_emergency": _ordered(emergency_frame, "beslutsdatum"),
        "lvm_discharge": _ordered(discharge_frame, "utskrivningsdatum"),
    }


def _ordered(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Rows in register order (by decision date, then person), with a fresh index."""
    return frame.sort_values([by, "person_id"], kind="stable").reset_index(drop=True)


def calibration(persons: pd.DataFrame, lvm: dict[str, pd.DataFrame], *, end_date: date | None = None) -> list[dict]:
    """LVM by age 25 after LVU 3 § versus others, and register volumes (rows of name, achieved, target, source).

    LVM = an emergency detention (13 §) or a granted application (11 §) before the 25th birthday, among persons
    living in Sweden from 18 to 25. `end_date` defaults to the latest decision date in the registers.
    """
    app, emg = lvm["lvm_application"], lvm["lvm_emergency"]
    if end_date is None:
        dates = pd.concat([app["beslutsdatum"], emg["beslutsdatum"]])
        end_date = dates.max().date() if len(dates) else date(2025, 12, 31)
    events = pd.concat([app.loc[app["utfall"] == "1", ["person_id", "beslutsdatum"]],
                        emg[["person_id", "beslutsdatum"]]])
    pos = pd.Index(persons["person_id"]).get_indexer(events["person_id"])
    day = events["beslutsdatum"].to_numpy("datetime64[D]").astype(np.int64)
    at25 = birthday(persons, 25)
    before = (pos >= 0)
    before[before] = day[before] < at25[pos[before]]
    hit = np.zeros(len(persons), dtype=bool)
    hit[pos[before]] = True
    among = (at25 <= day_number(end_date)) & observed_through(persons, birthday(persons, 18), at25)
    lvu3 = persons["ever_lvu3"].to_numpy(bool)
    src = "domain.md §6.1 (LVM register); LVU 3 § from §2.2"
    rows = [share_row("lvm_by_25_after_lvu3", hit, among & lvu3, None, src),
            share_row("lvm_by_25_others", hit, among & ~lvu3, None, src)]
    rows.append(ratio_row("lvm_by_25_ratio", rows, src))
    years = app["beslutsdatum"].dt.year
    per_year = (len(app) + len(emg)) / max(years.nunique(), 1)
    rows.append({"name": "lvm_decisions_per_year", "achieved": per_year, "target": None,
                 "source": "domain.md §6.1: ≈ 1,000 decisions a year nationally, all ages (far fewer here)"})
    rows.append({"name": "lvm_applications_granted_share",
                 "achieved": float((app["utfall"] == "1").mean()) if len(app) else float("nan"), "target": None,
                 "source": "domain.md §6.1 (most applications granted)"})
    return rows
