"""Öppna jämförelser-style indicators from an extract's frames, in Kolada's shape, with disclosure control applied.

One row per shown cell: kpi, municipality (Kolada's 4-digit ids: `0000` riket, `00LL` for län LL — Kolada's ids of
the regions, e.g. `0001` Region Stockholm — and the kommunkod for a kommun), period (a year), gender (T, K, M),
value (percent for shares, the number for counts), count, denominator, lower and upper (Wilson 95%, percent) and
status (`ok`, `bortfall` when more than the rules' share of the population is missing from the outcome register —
ÖJ's > 20% rule — or `suppressed`, with value, count, denominator and interval all empty). Kolada conventions:
domain.md §5.2; ÖJ's populations, ages and the bortfall rule: §5.1; the disclosure rules: `suppression`.

Tables are built per indicator group (`cube`): an outcome × the populations × riket/län/kommun × T/K/M/unknown sex
per period; a yearly count × its breakdown × area × sex. Sex and area come from the persons frame (kon; kommun, with
län from the kommun code). Persons missing a value (suppressed quasi-identifiers) are counted in T and in riket as
"unknown", never shown on their own.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.errors import InputError
from linkage.indicators.cube import Axis, Cube, build_cube
from linkage.indicators.definitions import Count, Share, definitions
from linkage.indicators.suppression import protect

COLUMNS = ["kpi", "municipality", "period", "gender", "value", "count", "denominator", "lower", "upper", "status"]
RIKET = "0000"
GENDERS = {"1": "M", "2": "K"}  # kon: 1 man, 2 kvinna (codebook kon) → Kolada's M, K
GENDER_ORDER = {"T": 0, "K": 1, "M": 2}
STATUS_OK, STATUS_BORTFALL, STATUS_SUPPRESSED = "ok", "bortfall", "suppressed"
Z95 = 1.959963984540054
#: Never shown: unknown sex, an unknown kommun (within a län) or län, the rest of a nested or of the whole population.
UNKNOWN = "?"
ALL = "_all"
_DATE = re.compile(r"(\d{4})(-\d{2}(-\d{2})?)?")


@dataclass(frozen=True)
class Rules:
    """What is shown and how: the disclosure threshold and options, the bortfall flag and the reference year.

    `min_count` (k, default 5): counts and denominators below k are suppressed, with secondary suppression;
    `complement`: also suppress a share whose denominator − count is below k; `bortfall`: flag a share where more
    than this fraction of its population is missing from the outcome register (ÖJ: 20%); `population_known`: an
    outsider knows a cohort's size per area and sex (SCB publishes population statistics), so the never-placed
    cannot be shown where the placed are suppressed; `reference_year`: the extract's reference year — periods after
    it are left out, ongoing placements run to it (None: every period with data, ongoing to the latest year seen).
    """

    min_count: int = 5
    complement: bool = True
    bortfall: float = 0.20
    population_known: bool = True
    reference_year: int | None = None

    def __post_init__(self):
        if self.min_count < 1:
            raise ValueError("min_count must be at least 1")
        if not 0 <= self.bortfall <= 1:
            raise ValueError("bortfall must be a fraction between 0 and 1")


DEFAULT_RULES = Rules()


def compute_indicators(persons: pd.DataFrame, placements: pd.DataFrame | None = None,
                       measures: pd.DataFrame | None = None, *, rules: Rules = DEFAULT_RULES,
                       groups: Collection[str] | None = None) -> pd.DataFrame:
    """Every indicator the frames allow (see `skipped_indicators` for the others), suppressed as `rules` say.

    `groups`: only these indicator groups (e.g. "RLU01", "RLP02"); each group's cells come out the same either way."""
    people = _people(persons)
    skipped = skipped_indicators(persons, placements, measures)
    known = {s.id for s in definitions().shares} | {c.id for c in definitions().counts}
    if groups is not None and (unknown := sorted(set(groups) - known)):
        raise ValueError(f"unknown indicator group(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    wanted = known if groups is None else set(groups)
    shares = [s for s in definitions().shares if s.id not in skipped and s.id in wanted]
    counts = [c for c in definitions().counts if c.id not in skipped and c.id in wanted]
    parts = [_shares(people, persons, shares, rules)] if shares else []
    events = {"placement_placement": placements, "placement_measure": measures}
    for count in counts:
        parts.append(_counts(people, events[count.table], count, rules))
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in _DTYPES.items()})
    return _tidy(pd.concat(parts, ignore_index=True))


def skipped_indicators(persons: pd.DataFrame, placements: pd.DataFrame | None = None,
                       measures: pd.DataFrame | None = None) -> dict[str, str]:
    """Indicator groups the frames cannot give, each with the reason (a missing table or column)."""
    defs = definitions()
    out: dict[str, str] = {}
    columns = set(persons.columns)
    missing_pop = [p.column for p in defs.populations if p.column not in columns]
    for share in defs.shares:
        lacking = [name for name in ("fodelsear", *missing_pop) if name not in columns]
        if not any(name in columns for name in share.outcome):
            lacking.append(share.outcome[0])
        if lacking:
            out[share.id] = f"persons has no column {', '.join(lacking)}"
    events = {"placement_placement": placements, "placement_measure": measures}
    for count in defs.counts:
        frame = events[count.table]
        needed = ["pseudonym_id", "startdatum", *(["slutdatum"] if count.measure == "children" else []),
                  *([] if count.total else [count.breakdown.column])]
        if frame is None:
            out[count.id] = f"the extract has no table {count.table}"
        elif "pseudonym_id" not in columns:
            out[count.id] = "persons has no column pseudonym_id"
        elif lacking := [name for name in needed if name not in frame.columns]:
            out[count.id] = f"{count.table} has no column {', '.join(lacking)}"
    return out


def partial_indicators(persons: pd.DataFrame) -> dict[str, str]:
    """Share groups computed from only some of their outcome columns (the others not in the extract), with a note."""
    out = {}
    for share in definitions().shares:
        present = [name for name in share.outcome if name in persons.columns]
        if present and len(present) < len(share.outcome):
            absent = [name for name in share.outcome if name not in present]
            out[share.id] = f"computed from {', '.join(present)} only (the extract has no {', '.join(absent)})"
    return out


def wilson_interval(count: np.ndarray, denominator: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for count/denominator (as fractions; NaN where the denominator is 0).

    Wilson (1927), J. Am. Stat. Assoc. 22:209–212: good coverage for small denominators and shares near 0 or 1,
    where the usual ±1.96·SE interval fails."""
    x = np.asarray(count, dtype=float)
    n = np.asarray(denominator, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


# ------------------------------------------------------------------------------------------------------ persons

def _people(persons: pd.DataFrame) -> pd.DataFrame:
    """Per person: gender leaf (K, M, ?), area leaf (kommun, ?LL, ?) and län leaf (00LL, ?), birth year."""
    frame = pd.DataFrame(index=persons.index)
    if "pseudonym_id" in persons.columns:
        ids = persons["pseudonym_id"]
        if ids.isna().any() or ids.duplicated().any():
            raise InputError("persons: column 'pseudonym_id' must be present and unique on every row")
        frame["pseudonym_id"] = ids.astype(str)
    kon = _codes(persons, "kon")
    frame["gender"] = kon.map(GENDERS).fillna(UNKNOWN) if kon is not None else UNKNOWN
    if kon is not None and (bad := kon.notna() & ~kon.isin(list(GENDERS))).any():
        raise InputError(f"persons: column 'kon' has {int(bad.sum())} value(s) outside the code list kon (1, 2)")
    kommun, lan = _codes(persons, "kommun"), _codes(persons, "lan")
    if kommun is not None and (bad := kommun.notna() & ~kommun.str.fullmatch(r"\d{4}")).any():
        raise InputError(f"persons: column 'kommun' has {int(bad.sum())} value(s) that are not 4-digit kommunkoder")
    if lan is not None and (bad := lan.notna() & ~lan.str.fullmatch(r"\d{2}")).any():
        raise InputError(f"persons: column 'lan' has {int(bad.sum())} value(s) that are not 2-digit länskoder")
    lan_code = pd.Series(pd.NA, index=persons.index, dtype=object)
    if lan is not None:
        lan_code = lan.astype(object)
    if kommun is not None:  # the kommun decides its län (codebook cohort: lan is the first two digits of kommun)
        lan_code = kommun.str[:2].where(kommun.notna(), lan_code)
    frame["lan"] = ("00" + lan_code.astype("string")).fillna(UNKNOWN).astype(str)
    area = pd.Series(UNKNOWN, index=persons.index, dtype=object)
    area = area.where(lan_code.isna(), UNKNOWN + lan_code.astype("string").fillna(""))
    if kommun is not None:
        area = kommun.astype(object).where(kommun.notna(), area)
    frame["area"] = area.astype(str)
    if "fodelsear" in persons.columns:
        year = pd.to_numeric(persons["fodelsear"], errors="coerce")
        if (year.notna() & (year != year.round())).any() or (persons["fodelsear"].notna() & year.isna()).any():
            raise InputError("persons: column 'fodelsear' must hold whole years")
        frame["fodelsear"] = year.astype("Int64")
    return frame.reset_index(drop=True)


def _codes(persons: pd.DataFrame, column: str) -> pd.Series | None:
    """A categorical column as text codes (NA kept), or None if the column is absent."""
    if column not in persons.columns:
        return None
    values = persons[column]
    if pd.api.types.is_float_dtype(values):
        values = values.astype("Int64")
    return values.astype("string").str.strip().reset_index(drop=True)


def _flag(persons: pd.DataFrame, column: str) -> pd.arrays.BooleanArray:
    """A boolean cohort or outcome column as a nullable boolean (0/1 numbers accepted)."""
    values = persons[column].reset_index(drop=True)
    if pd.api.types.is_bool_dtype(values) or isinstance(values.dtype, pd.BooleanDtype):
        return pd.array(values, dtype="boolean")
    if pd.api.types.is_numeric_dtype(values) and values.dropna().isin([0, 1]).all():
        return pd.array(values.astype("Float64") == 1, dtype="boolean")
    if values.dtype == object and values.dropna().map(lambda v: isinstance(v, (bool, np.bool_))).all():
        return pd.array(values, dtype="boolean")
    raise InputError(f"persons: column '{column}' is not a boolean (true/false) column")


def _area_axis(people: pd.DataFrame, *, kommun_level: bool) -> tuple[pd.Series, Axis]:
    """The area leaf per person and the hierarchy kommun → län → riket (or län → riket)."""
    if kommun_level:
        leaves = people["area"]
        parents = {leaf: ("00" + leaf[:2] if leaf[0] != UNKNOWN else "00" + leaf[1:]) for leaf in leaves.unique()
                   if leaf != UNKNOWN}
    else:
        leaves = people["lan"]
        parents = {}
    parents.update({leaf: RIKET for leaf in set(parents.values()) | set(people["lan"].unique())
                    if leaf not in (UNKNOWN, RIKET)})
    parents[UNKNOWN] = RIKET
    return leaves, Axis("area", parents)


GENDER_AXIS = Axis("gender", {"K": "T", "M": "T", UNKNOWN: "T"})


def _shown_area(area: pd.Series) -> np.ndarray:
    return ~area.str.startswith(UNKNOWN).to_numpy()


# ------------------------------------------------------------------------------------------------------- shares

def _population_leaf(persons: pd.DataFrame) -> tuple[pd.Series, Axis]:
    """Each person's innermost ÖJ population (a nested one, the rest of its parent, a top one, or none)."""
    pops = definitions().populations
    flags = {p.code: _flag(persons, p.column).fillna(False).to_numpy(bool) for p in pops}
    top = [p for p in pops if p.within is None]
    both = np.sum([flags[p.code] for p in top], axis=0) > 1
    if both.any():
        raise InputError(f"persons: {int(both.sum())} person(s) are in more than one of "
                         f"{', '.join(p.column for p in top)}, which exclude each other")
    leaf = np.full(len(persons), ALL + UNKNOWN, dtype=object)
    parents = {ALL + UNKNOWN: ALL}
    for p in top:
        leaf[flags[p.code]] = p.code
        parents[p.code] = ALL
    for p in pops:
        if p.within is None:
            continue
        outside = flags[p.code] & ~flags[p.within]
        if outside.any():
            parent = next(q for q in pops if q.code == p.within)
            raise InputError(f"persons: {int(outside.sum())} person(s) have {p.column} but not {parent.column}")
        rest = f"_rest{p.within}"
        leaf[(leaf == p.within)] = rest
        leaf[flags[p.code]] = p.code
        parents[p.code] = p.within
        parents[rest] = p.within
    return pd.Series(leaf), Axis("population", parents)


def _shares(people: pd.DataFrame, persons: pd.DataFrame, shares: list[Share], rules: Rules) -> pd.DataFrame:
    """All share indicators, their denominators suppressed jointly (see `_population_pattern`)."""
    population, pop_axis = _population_leaf(persons)
    area, area_axis = _area_axis(people, kommun_level=True)
    base = pd.DataFrame({"population": population, "area": area, "gender": people["gender"],
                         "cohort": people["fodelsear"]})
    pattern = _population_pattern(base, pop_axis, area_axis, rules)
    out = []
    for share in shares:
        outcome = _outcome(persons, share)
        rows = base.assign(period=base["cohort"] + share.age, persons=1)
        included = ~np.asarray(outcome.isna())
        if share.exclude and share.exclude in persons.columns:
            included &= ~_flag(persons, share.exclude).fillna(False).to_numpy(bool)
        rows["denominator"] = included.astype(np.int64)
        rows["count"] = (included & outcome.fillna(False).to_numpy(bool)).astype(np.int64)
        missing = (_flag(persons, share.bortfall).fillna(False).to_numpy(bool)
                   if share.bortfall and share.bortfall in persons.columns else np.zeros(len(rows), bool))
        rows["missing"] = missing.astype(np.int64)
        rows = rows[rows["period"].notna()]
        if rules.reference_year is not None:
            rows = rows[rows["period"] <= rules.reference_year]
        if rows.empty:
            continue
        rows["period"] = rows["period"].astype(np.int64).astype(str)
        cube = build_cube(rows, [Axis("period"), pop_axis, area_axis, GENDER_AXIS],
                          ["persons", "denominator", "count", "missing"], size="persons", complete="population")
        cells = cube.cells
        cohort = cells["period"].astype(np.int64) - share.age
        key = pd.MultiIndex.from_arrays([cohort.astype(str), cells["population"], cells["area"], cells["gender"]])
        published = _published(cells)
        # An outsider may know a cohort's size (the population pattern protects that), not its outcomes.
        hidden = protect(cells["count"], cells["denominator"], cube.relations, published=published,
                         known=np.zeros(len(cells), bool), protected=_identifiable(cells),
                         min_count=rules.min_count, complement=rules.complement, prehidden=key.isin(pattern))
        bortfall = cells["missing"].to_numpy() > rules.bortfall * cells["persons"].to_numpy()
        out.append(_rows(cells[published], hidden[published], bortfall[published],
                         kpi=share.id + cells.loc[published, "population"], share=True))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=COLUMNS)


def _population_pattern(base: pd.DataFrame, pop_axis: Axis, area_axis: Axis, rules: Rules) -> pd.MultiIndex:
    """The cells (cohort, population, area, gender) whose population size must be hidden in every share.

    Every share of a birth cohort has (nearly) the same denominators; protected once, here, the pattern is the same in
    every table, so what one table hides another cannot show."""
    rows = base[base["cohort"].notna()].assign(persons=1)
    rows["cohort"] = rows["cohort"].astype(np.int64).astype(str)
    cube = build_cube(rows, [Axis("cohort"), pop_axis, area_axis, GENDER_AXIS], ["persons"], size="persons",
                      complete="population")
    cells = cube.cells
    hidden = protect(cells["persons"], None, cube.relations, published=_published(cells),
                     known=_known(cells, rules), protected=_identifiable(cells), min_count=rules.min_count,
                     complement=rules.complement)
    chosen = cells[hidden]
    return pd.MultiIndex.from_arrays([chosen["cohort"], chosen["population"], chosen["area"], chosen["gender"]])


def _outcome(persons: pd.DataFrame, share: Share) -> pd.arrays.BooleanArray:
    """The outcome per person (any of the listed columns true; NA where none is true and one is unknown)."""
    present = [name for name in share.outcome if name in persons.columns]
    value = _flag(persons, present[0])
    for name in present[1:]:
        value = value | _flag(persons, name)
    return ~value if share.lacking else value


def _published(cells: pd.DataFrame) -> np.ndarray:
    shown = {p.code for p in definitions().populations}
    return (cells["population"].isin(shown).to_numpy() & _shown_area(cells["area"])
            & (cells["gender"] != UNKNOWN).to_numpy())


def _identifiable(cells: pd.DataFrame) -> np.ndarray:
    """Cells about a group one can knowingly belong to: known sex, kommun or län, and a population (or its rest)."""
    return (_shown_area(cells["area"]) & (cells["gender"] != UNKNOWN).to_numpy()
            & (cells["population"] != ALL + UNKNOWN).to_numpy())


def _known(cells: pd.DataFrame, rules: Rules) -> np.ndarray:
    if not rules.population_known:
        return np.zeros(len(cells), bool)
    return ((cells["population"] == ALL).to_numpy() & _shown_area(cells["area"])
            & (cells["gender"] != UNKNOWN).to_numpy())


# ------------------------------------------------------------------------------------------------------- counts

def _counts(people: pd.DataFrame, events: pd.DataFrame, count: Count, rules: Rules) -> pd.DataFrame:
    """A yearly count: the total for riket, län and kommun; its breakdown for riket and län; suppressed jointly."""
    records = _records(events, count, people)
    last = rules.reference_year if rules.reference_year is not None else _latest_year(records)
    records = records[records["start"] <= last]
    if records.empty:
        return pd.DataFrame(columns=COLUMNS)
    if count.measure == "children":
        end = records["end"].fillna(last).clip(upper=last).astype(np.int64)
        span = (end - records["start"] + 1).clip(lower=1).to_numpy(np.int64)
        years = np.repeat(records["start"].to_numpy(np.int64), span) + _ranks(span)
        records = records.loc[records.index.repeat(span)].assign(period=years)
    else:
        records = records.assign(period=records["start"])
    records["period"] = records["period"].astype(np.int64).astype(str)
    detail = count.breakdown is not None and count.breakdown.column in events.columns
    tables = [_count_rows(records, people, count, kommun_level=level)
              for level, wanted in ((True, count.total), (False, detail)) if wanted]
    # The totals for riket and län are in both tables: each is protected with what the other hides, until neither
    # hides anything new, so the two never show what the other suppressed.
    hidden_totals: set[tuple] = set()
    while True:
        before, results = len(hidden_totals), []
        for cube, published in tables:
            cells = cube.cells
            key = list(zip(cells["kpi"], cells["area"], cells["period"], cells["gender"]))
            hidden = protect(cells["count"], None, cube.relations, published=published,
                             known=np.zeros(len(cells), bool), protected=published, min_count=rules.min_count,
                             prehidden=np.array([k in hidden_totals for k in key], bool))
            hidden_totals |= {k for k, h in zip(key, hidden) if h and k[0] == count.id}
            results.append((cells, published, hidden))
        if len(hidden_totals) == before:
            break
    parts = []
    for number, (cells, published, hidden) in enumerate(results):
        if number and count.total:  # the total's rows come from the first table (every level)
            published = published & (cells["kpi"] != count.id).to_numpy()
        parts.append(_rows(cells[published], hidden[published], np.zeros(int(published.sum()), bool),
                           kpi=cells.loc[published, "kpi"], share=False))
    return pd.concat(parts, ignore_index=True)


def _count_rows(records: pd.DataFrame, people: pd.DataFrame, count: Count, *,
                kommun_level: bool) -> tuple[Cube, np.ndarray]:
    """The cube of one count: total only (kommun level) or total and breakdown (län level)."""
    area, area_axis = _area_axis(people, kommun_level=kommun_level)
    person = records["person"].to_numpy()
    frame = pd.DataFrame({"area": area.to_numpy()[person], "gender": people["gender"].to_numpy()[person],
                          "period": records["period"].to_numpy(), "person": person})
    breakdown = count.breakdown
    if kommun_level or breakdown is None:
        frame["kpi"] = count.id
        kpi_axis = Axis("kpi")
        if count.measure == "children":
            frame = frame.drop_duplicates(["person", "period"])
    else:
        category = records["category"].to_numpy()
        frame["kpi"] = np.where(pd.isna(category), count.id + UNKNOWN, count.id + breakdown.prefix +
                                pd.Series(category).fillna("").to_numpy())
        if count.measure == "children":
            frame = frame.drop_duplicates(["person", "period", "kpi"])
            kpi_axis = Axis("kpi")
        else:  # each record has one category: the categories (and the unknown one) add up to the total
            kpi_axis = Axis("kpi", {kpi: count.id for kpi in frame["kpi"].unique()})
        if count.measure == "children" and count.total:
            frame = pd.concat([frame, frame.drop_duplicates(["person", "period"]).assign(kpi=count.id)])
    frame["count"] = 1
    cube = build_cube(frame, [kpi_axis, Axis("period"), area_axis, GENDER_AXIS], ["count"], size="count")
    cells = cube.cells
    shown_kpi = ~cells["kpi"].str.endswith(UNKNOWN).to_numpy() & (count.total | (cells["kpi"] != count.id).to_numpy())
    published = _shown_area(cells["area"]) & (cells["gender"] != UNKNOWN).to_numpy() & shown_kpi
    return cube, published


def _records(events: pd.DataFrame, count: Count, people: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct record of the event table: person (row in people), start and end year, category.

    The placement register reports an ongoing measure every year (annual snapshots since 2018): rows that agree on
    everything but the reporting year and the end date are one record, ending at its latest known end date; one
    that is still open but absent from later snapshots ended in its last reported year (codebook placement_history)."""
    table = count.table
    frame = pd.DataFrame({"pseudonym_id": events["pseudonym_id"].astype("string").to_numpy(),
                          "start": _years(events["startdatum"], table, "startdatum")})
    frame["end"] = (_years(events["slutdatum"], table, "slutdatum") if "slutdatum" in events.columns
                    else np.full(len(events), np.nan))
    column = count.breakdown.column if count.breakdown else None
    frame["category"] = _codes(events, column).astype(object).to_numpy() if column in events.columns else None
    key = ["pseudonym_id", "start", "category"]
    for extra in ("kommun", "insats_nr", "placering_nr"):
        if extra in events.columns:
            frame[extra] = events[extra].astype("string").to_numpy()
            key.append(extra)
    if "redovisningsar" in events.columns:
        reported = pd.to_numeric(events["redovisningsar"], errors="coerce").to_numpy()
        frame["reported"] = reported
        last_snapshot = np.nanmax(reported) if np.isfinite(reported).any() else np.nan
    frame = frame[frame["start"].notna()]
    grouped = frame.groupby(key, dropna=False, sort=False)
    distinct = grouped.agg(end=("end", "max"), **({"reported": ("reported", "max")}
                                                   if "reported" in frame.columns else {})).reset_index()
    if "reported" in distinct.columns:
        gone = distinct["end"].isna() & (distinct["reported"] < last_snapshot)
        distinct.loc[gone, "end"] = distinct.loc[gone, "reported"]
    position = pd.Index(people["pseudonym_id"]).get_indexer(distinct["pseudonym_id"])
    distinct = distinct[position >= 0].assign(person=position[position >= 0])
    return distinct.reset_index(drop=True)


def _years(values: pd.Series, table: str, column: str) -> np.ndarray:
    """The year of each date, whatever its precision: a date, `YYYY-MM`(`-DD`) text or an integer year."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if pd.api.types.is_datetime64_any_dtype(values) or kind in ("date", "datetime"):
        years = pd.to_datetime(values).dt.year.to_numpy(dtype=float, na_value=np.nan)
    elif kind in ("integer", "floating", "empty") or pd.api.types.is_numeric_dtype(values):
        years = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    elif kind == "string":
        text = values.astype("string").str.strip()
        if (text.notna() & ~text.str.fullmatch(_DATE.pattern).fillna(False)).any():
            raise InputError(f"{table}: column '{column}' holds values that are not dates, YYYY-MM or years")
        years = pd.to_numeric(text.str[:4], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    else:
        raise InputError(f"{table}: column '{column}' holds values that are not dates, YYYY-MM or years")
    known = ~np.isnan(years)
    if ((years[known] < 1900) | (years[known] > 2100) | (years[known] != np.round(years[known]))).any():
        raise InputError(f"{table}: column '{column}' holds years outside 1900–2100")
    return years


def _latest_year(records: pd.DataFrame) -> int:
    years = np.concatenate([records["start"].to_numpy(float), records["end"].to_numpy(float)])
    return int(np.nanmax(years)) if np.isfinite(years).any() else 0


def _ranks(span: np.ndarray) -> np.ndarray:
    """0, 1, …, n-1 for each n in `span`, concatenated."""
    starts = np.repeat(np.cumsum(span) - span, span)
    return np.arange(int(span.sum())) - starts


# -------------------------------------------------------------------------------------------------------- rows

_DTYPES = {"kpi": "string", "municipality": "string", "period": "int64", "gender": "string", "value": "Float64",
           "count": "Int64", "denominator": "Int64", "lower": "Float64", "upper": "Float64", "status": "string"}


def _rows(cells: pd.DataFrame, hidden: np.ndarray, bortfall: np.ndarray, *, kpi: pd.Series,
          share: bool) -> pd.DataFrame:
    """Output rows of shown cells; a suppressed cell keeps only its kpi, municipality, period, gender and status."""
    count = cells["count"].to_numpy(np.int64)
    out = pd.DataFrame({"kpi": kpi.to_numpy(), "municipality": cells["area"].to_numpy(),
                        "period": cells["period"].astype(np.int64).to_numpy(),
                        "gender": cells["gender"].to_numpy()})
    if share:
        denominator = cells["denominator"].to_numpy(np.int64)
        lower, upper = wilson_interval(count, denominator)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = 100 * count / denominator
        out["value"] = np.round(value, 1)
        out["denominator"] = pd.array(denominator, dtype="Int64")
        out["lower"], out["upper"] = np.round(100 * lower, 1), np.round(100 * upper, 1)
    else:
        out["value"] = count.astype(float)
        out["denominator"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["lower"] = out["upper"] = np.nan
    out["count"] = pd.array(count, dtype="Int64")
    out["status"] = np.where(hidden, STATUS_SUPPRESSED, np.where(bortfall, STATUS_BORTFALL, STATUS_OK))
    for column in ("value", "lower", "upper"):
        out[column] = pd.array(np.where(hidden, np.nan, out[column].to_numpy(float)), dtype="Float64")
    for column in ("count", "denominator"):
        out[column] = out[column].mask(hidden)
    return out[COLUMNS]


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Kolada's column order and types, sorted by kpi, municipality, period, then T, K, M."""
    order = frame["gender"].map(GENDER_ORDER)
    frame = frame.assign(_g=order).sort_values(["kpi", "municipality", "period", "_g"], kind="stable")
    frame = frame.drop(columns="_g").reset_index(drop=True)
    return frame.astype(_DTYPES)[COLUMNS]
