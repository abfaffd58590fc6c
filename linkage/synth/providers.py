"""Synthetic IVO register of HVB, stödboenden and SiS special youth homes, with IVO's decisions after inspections.

Modelled on IVO's placement-support register (domain.md §6.2): at its launch in May 2022 about 875 active units,
about 560 of them HVB; IVO inspects each at least once a year. Closed units are kept, so placements back to 1998 can
point at the unit they used. Organisation numbers follow 1974:174 (domain.md §1.7); a sole trader's is the owner's
personnummer.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from linkage.synth.health import day_number, timestamps
from pseudonym.luhn import check_digits

# enhetstyp: 1 HVB, 2 stödboende, 3 särskilt ungdomshem (SiS); huvudman: 1 kommunal, 2 enskild, 3 statlig.
HVB, STODBOENDE, SIS = "1", "2", "3"
KOMMUNAL, ENSKILD, STATLIG = "1", "2", "3"
REGISTER_DAY = date(2022, 6, 30)  # the register's launch (May 2022): the national counts hold here
IVO_FROM = date(2013, 6, 1)  # IVO took over supervision on 1 June 2013
STODBOENDE_FROM = date(2016, 1, 1)  # stödboende became a placement form in 2016 (domain.md §2.2)
SIS_FROM = date(1994, 1, 1)
CLOSED_FROM = date(1998, 1, 1)  # units closed before this are not kept
OWNERS_BORN = (date(1950, 1, 1), date(1985, 12, 31))  # sole traders are adults born in these years

PROVIDER_COLUMNS = ["enhet_id", "enhetsnamn", "enhetstyp", "huvudman", "orgnr", "enskild_naringsidkare", "kommun",
                    "startdatum", "slutdatum"]
INSPECTION_COLUMNS = ["enhet_id", "beslutsdatum", "beslutstyp"]

# Groups of units: type, national count, share kommunal, start range (None = until end_date), lifespan range in
# years (None = open on the register day, then closing with the given share before end_date). Counts at scale 1.
_GROUPS = [
    # active on the register day: 560 HVB, ~270 stödboenden, 45 SiS homes
    (HVB, 310, 0.25, (date(1985, 1, 1), date(2013, 12, 31)), None, 0.12),
    (HVB, 165, 0.35, (date(2014, 1, 1), date(2016, 12, 31)), None, 0.15),
    (HVB, 85, 0.25, (date(2017, 1, 1), REGISTER_DAY), None, 0.10),
    (STODBOENDE, 270, 0.45, (STODBOENDE_FROM, REGISTER_DAY), None, 0.15),
    (SIS, 45, 0.0, (SIS_FROM, date(2015, 12, 31)), None, 0.03),
    # closed before the register day: the unaccompanied-children wave of 2014-2016 and older units
    (HVB, 600, 0.45, (date(2014, 1, 1), date(2016, 12, 31)), (0.5, 5.0), None),
    (HVB, 400, 0.25, (date(1985, 1, 1), date(2012, 12, 31)), (1.0, 25.0), None),
    (STODBOENDE, 200, 0.45, (STODBOENDE_FROM, date(2019, 12, 31)), (0.5, 4.0), None),
    (SIS, 8, 0.0, (SIS_FROM, date(2005, 12, 31)), (4.0, 25.0), None),
    # opened after the register day
    (HVB, 50, 0.25, (date(2022, 7, 1), None), None, 0.0),
    (STODBOENDE, 30, 0.45, (date(2022, 7, 1), None), None, 0.0),
]
_ACTIVE_MINIMUM = {HVB: 10, STODBOENDE: 10, SIS: 3}  # per type among the units active on the register day

# Legal form of enskilda huvudmän: AB (5…), stiftelse (8…), ekonomisk förening (7…), sole trader (personnummer).
_FORMS = ("ab", "stiftelse", "forening", "sole")
_FORM_SHARES = {HVB: (0.70, 0.09, 0.05, 0.16), STODBOENDE: (0.80, 0.06, 0.06, 0.08)}

_PLACE_FIRST = ("Björk", "Ek", "Gran", "Tall", "Lind", "Al", "Asp", "Rönn", "Hassel", "Sjö", "Sol", "Lärk",
                "Fjäll", "Skogs", "Strand", "Älv", "Sten", "Ljung", "Vide", "Hägg", "Lönn", "Bok", "Ros", "Mo",
                "Löv", "Fågel")
_PLACE_LAST = ("ängen", "åsen", "gården", "backen", "udden", "lunden", "hagen", "dalen", "viken", "torpet",
               "holmen", "näset", "höjden", "bo", "stugan", "kullen", "vången", "sundet", "gläntan", "hemmet")
_NAME_PATTERNS = {
    HVB: ("HVB {}", "{} HVB", "Behandlingshemmet {}", "{} behandlingshem", "Ungdomshemmet {}"),
    STODBOENDE: ("Stödboendet {}", "{} stödboende", "Stödboende {}"),
    SIS: ("Statens institutionsstyrelse, {}",),
}
# beslutstyp: 1 ingen anmärkning, 2 kritik, 3 föreläggande, 4 föreläggande med vite, 5 återkallat tillstånd.
_REMARK_SHARE = 0.28
_REMARKS = (("2", "3", "4"), (0.64, 0.29, 0.07))
_REVOKED_SHARE = 0.08  # of enskilda units closed in IVO's time: closed after a revoked permit


def generate_providers(rng: np.random.Generator, *, kommuner: pd.DataFrame, end_date: date,
                       scale: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The IVO-like `providers` register and `provider_inspections` (contract columns; dates datetime64[ns]).

    `kommuner` has columns kommun, lan, namn, folkmangd; units are placed ∝ folkmangd^0.7. `scale` = persons /
    1,200,000: counts are scaled down, keeping ≥ 10 active HVB, ≥ 10 active stödboenden and ≥ 3 SiS homes on the
    register day (2022-06-30). Codes are str; enskild_naringsidkare is int8 1/0; slutdatum NaT while open.
    """
    end = day_number(end_date)
    active = {k: sum(c for kind, c, _, (_, last), life, _ in _GROUPS if kind == k and _active(last, life))
              for k in _ACTIVE_MINIMUM}
    after_launch = max(end, day_number(REGISTER_DAY) + 1)
    kinds, kommunal_share, starts, stops = [], [], [], []
    for kind, count, share, (first, last), life, closing in _GROUPS:
        n = round(count * scale)
        if _active(last, life):
            n = max(n, int(np.ceil(count * _ACTIVE_MINIMUM[kind] / active[kind])))
        start = _uniform_days(rng, n, day_number(first), after_launch if last is None else day_number(last))
        if life is None:
            closes = rng.random(n) < closing
            first_close = np.maximum(start, day_number(REGISTER_DAY)) + 1
            stop = np.where(closes, _uniform_days(rng, n, first_close, np.maximum(first_close, end)), -1)
        else:
            lifespan = np.round(rng.uniform(*life, n) * 365.25).astype(np.int64)
            stop = np.minimum(start + lifespan, day_number(REGISTER_DAY))
            stop = np.maximum(stop, np.maximum(start + 90, day_number(CLOSED_FROM)))
        kinds.append(np.full(n, kind, dtype=object))
        kommunal_share.append(np.full(n, share))
        starts.append(start)
        stops.append(stop)
    kind = np.concatenate(kinds)
    start = np.concatenate(starts)
    stop = np.concatenate(stops)
    exists = start <= end
    kind, start, stop = kind[exists], start[exists], stop[exists]
    kommunal = (rng.random(exists.size) < np.concatenate(kommunal_share))[exists]
    stop = np.where(stop >= end, -1, stop)  # still open on end_date
    n = kind.size

    order = np.lexsort((rng.random(n), start))  # enhet_id increases with the start date
    kind, start, stop, kommunal = kind[order], start[order], stop[order], kommunal[order]
    huvudman = np.where(kind == SIS, STATLIG, np.where(kommunal, KOMMUNAL, ENSKILD)).astype(object)

    weights = kommuner["folkmangd"].to_numpy(np.float64) ** 0.7
    where = rng.choice(len(kommuner), size=n, p=weights / weights.sum())
    kommun = kommuner["kommun"].to_numpy(object)[where]
    orgnr, sole = _organisation_numbers(rng, kind, huvudman, where, len(kommuner))

    ids = np.sort(rng.choice(9_999_999, size=n, replace=False) + 1)
    providers = pd.DataFrame({
        "enhet_id": np.array([f"IVO-{i:07d}" for i in ids], dtype=object),
        "enhetsnamn": _names(rng, kind),
        "enhetstyp": kind,
        "huvudman": huvudman,
        "orgnr": orgnr,
        "enskild_naringsidkare": sole.astype(np.int8),
        "kommun": kommun,
        "startdatum": timestamps(start),
        "slutdatum": timestamps(stop, missing=stop < 0),
    }, columns=PROVIDER_COLUMNS)
    return providers, _inspections(rng, providers, start, np.where(stop < 0, end, stop), stop >= 0)


def _active(last_start: date | None, life) -> bool:
    """Whether a group of units is open on the register day (started by then, no lifespan that closes it before)."""
    return life is None and last_start is not None and last_start <= REGISTER_DAY


def _uniform_days(rng: np.random.Generator, n: int, first, last) -> np.ndarray:
    """Days drawn uniformly from `first`..`last` inclusive (scalars or arrays)."""
    first = np.broadcast_to(np.asarray(first, dtype=np.int64), (n,))
    last = np.broadcast_to(np.asarray(last, dtype=np.int64), (n,))
    return first + np.floor(rng.random(n) * (last - first + 1)).astype(np.int64)


def _luhn_formatted(digits: np.ndarray, dash_at: int = 6) -> np.ndarray:
    """`NNNNNN-NNNC` strings from (n, 9) digit rows, C the Luhn check digit over the 9 digits."""
    full = np.concatenate([digits, check_digits(digits)[:, None]], axis=1).astype(np.uint8) + ord("0")
    text = full.view(f"S{full.shape[1]}").ravel().astype(str)
    return np.array([t[:dash_at] + "-" + t[dash_at:] for t in text], dtype=object)


def _org_digits(rng: np.random.Generator, n: int, head: str, third_from: int = 2) -> np.ndarray:
    """(n, 9) digits of organisation numbers starting with `head`, the third digit ≥ `third_from` (so ≥ 20)."""
    digits = rng.integers(0, 10, (n, 9))
    digits[:, :len(head)] = [int(c) for c in head]
    if len(head) < 3:
        digits[:, 2] = rng.integers(third_from, 10, n)
    return digits


def _owner_personnummer(rng: np.random.Generator, n: int) -> np.ndarray:
    """Sole traders' personnummer `YYMMDD-NNNC`: owners born 1950-1985, random birth number, valid Luhn."""
    born = _uniform_days(rng, n, day_number(OWNERS_BORN[0]), day_number(OWNERS_BORN[1]))
    ymd = pd.DatetimeIndex(born.astype("datetime64[D]"))
    number = rng.integers(1, 1000, n)
    cols = [ymd.year % 100 // 10, ymd.year % 10, ymd.month // 10, ymd.month % 10, ymd.day // 10, ymd.day % 10,
            number // 100, number // 10 % 10, number % 10]
    return _luhn_formatted(np.stack([np.asarray(c) for c in cols], axis=1))


def _organisation_numbers(rng: np.random.Generator, kind: np.ndarray, huvudman: np.ndarray, kommun_row: np.ndarray,
                          n_kommuner: int) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's orgnr and whether it is a sole trader's personnummer.

    Kommunal units carry their kommun's number (212000-…), SiS homes the one state number of SiS (2021…), enskilda
    units their company's: limited companies and other bodies run several units each (a few chains run many).
    """
    n = kind.size
    orgnr = np.empty(n, dtype=object)
    kommun_numbers = _luhn_formatted(np.concatenate([np.tile([2, 1, 2, 0, 0, 0], (n_kommuner, 1)), np.array(
        [[d // 100, d // 10 % 10, d % 10] for d in rng.choice(1000, n_kommuner, replace=False)])], axis=1))
    kommunal = huvudman == KOMMUNAL
    orgnr[kommunal] = kommun_numbers[kommun_row[kommunal]]
    orgnr[huvudman == STATLIG] = _luhn_formatted(_org_digits(rng, 1, "2021"))[0]

    enskild = np.flatnonzero(huvudman == ENSKILD)
    shares = np.array([_FORM_SHARES[k] for k in kind[enskild]])
    form = (rng.random(enskild.size)[:, None] > np.cumsum(shares, axis=1)).sum(axis=1)
    sole = np.zeros(n, dtype=bool)
    for f, name in enumerate(_FORMS):
        units = enskild[form == f]
        if name == "sole":
            orgnr[units] = _owner_personnummer(rng, units.size)
            sole[units] = True
            continue
        head = {"ab": "55", "stiftelse": "8", "forening": "7"}[name]
        bodies = max(1, int(np.ceil(units.size * (0.5 if name == "ab" else 0.8))))
        numbers = _luhn_formatted(_org_digits(rng, bodies, head, 6 if name == "ab" else 2))
        weight = 1.0 / np.arange(1, bodies + 1) ** 1.1  # a few chains run many units
        orgnr[units] = numbers[rng.choice(bodies, size=units.size, p=weight / weight.sum())]
    return orgnr, sole


def _names(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """Unit names such as "HVB Björkängen" or "Statens institutionsstyrelse, Sundet"; distinct while they last."""
    names = np.empty(kind.size, dtype=object)
    places = [a + b for a in _PLACE_FIRST for b in _PLACE_LAST]
    for k, patterns in _NAME_PATTERNS.items():
        units = np.flatnonzero(kind == k)
        space = len(patterns) * len(places)
        pick = rng.permutation(space)[:units.size]
        pick = np.concatenate([pick, rng.integers(0, space, units.size - pick.size)])
        names[units] = [patterns[i % len(patterns)].format(places[i // len(patterns)]) for i in pick]
    return names


def _inspections(rng: np.random.Generator, providers: pd.DataFrame, start: np.ndarray, last: np.ndarray,
                 closed: np.ndarray) -> pd.DataFrame:
    """IVO's decisions after inspections: at least one a year per active unit from June 2013 (IVO's start).

    Most find nothing to remark on; a unit-level propensity makes kritik and föreläggande cluster in some units.
    Some enskilda units closed in IVO's time end with a revoked permit (återkallat tillstånd) shortly before closing.
    """
    first = np.maximum(start, day_number(IVO_FROM))
    years_first = first.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    years_last = last.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    span = np.where(last >= first, years_last - years_first + 1, 0)
    unit = np.repeat(np.arange(start.size), span)
    year = years_first[unit] + (np.arange(unit.size) - np.repeat(np.cumsum(span) - span, span))
    jan1 = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    lo = np.maximum(first[unit], jan1)
    hi = np.minimum(last[unit], (year - 1969).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64) - 1)
    visits = 1 + rng.poisson(0.3, unit.size)
    unit, lo, hi = np.repeat(unit, visits), np.repeat(lo, visits), np.repeat(hi, visits)
    day = _uniform_days(rng, unit.size, lo, hi)

    propensity = rng.gamma(2.0, 0.5, start.size)
    remark = rng.random(unit.size) < np.minimum(_REMARK_SHARE * propensity[unit], 0.9)
    kind = np.where(remark, rng.choice(_REMARKS[0], size=unit.size, p=_REMARKS[1]), "1").astype(object)

    revoked = np.flatnonzero(closed & (providers["huvudman"].to_numpy() == ENSKILD) & (last >= day_number(IVO_FROM))
                             & (rng.random(start.size) < _REVOKED_SHARE))
    unit = np.concatenate([unit, revoked])
    day = np.concatenate([day, np.maximum(last[revoked] - rng.integers(0, 31, revoked.size), first[revoked])])
    kind = np.concatenate([kind, np.full(revoked.size, "5", dtype=object)])

    frame = pd.DataFrame({"enhet_id": providers["enhet_id"].to_numpy()[unit], "beslutsdatum": timestamps(day),
                          "beslutstyp": kind}, columns=INSPECTION_COLUMNS)
    return frame.sort_values(["enhet_id", "beslutsdatum"], kind="stable").reset_index(drop=True)
