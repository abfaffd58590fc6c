"""The linkage quality report: per register and identifier kind, records linked deterministically, probabilistically
or not at all; against a synthetic world's `truth/` when given, precision and recall per register, identifier kind
(as classified, and as the world made it: personnummer, samordningsnummer, old number, temporary municipal ID,
reserve number, broken check digit) and link method, and under-linkage by subgroup (sex, age group, ensamkommande,
samordningsnummer, kommun size). `linkage_quality` is the whole run from a data folder, as `reglink quality` does it.

Counts below k (and rates over fewer than k records) are suppressed, as in any table that may leave the secure
zone (domain.md §7.4). The pipeline never reads `truth/`; only this evaluation does, from the path it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.atomic import atomic_file
from linkage.deterministic import LINK_METHOD, LINK_METHODS
from linkage.errors import InputError, OutputError
from linkage.ingest import ID_KIND, PSEUDONYM, ROW
from linkage.linking import LinkedWorld, Progress, link_world
from linkage.outcomes.persons import age_on, positions_in
from linkage.registers import register
from pseudonym.keys import MasterKey

LINKED = ("deterministic", "probabilistic")
AGE_GROUPS = ((0, 13, "0-12"), (13, 18, "13-17"), (18, 25, "18-24"), (25, 200, "25+"))
KOMMUN_SIZES = ("small", "medium", "large")
TRUTH_FILES = ("records.parquet", "persons.parquet", "errors.parquet")
#: Identifier kinds as ingest classifies them (pseudonym.personnummer.KINDS), in words.
ID_KINDS = {"personnummer": "personnummer", "samordningsnummer": "samordningsnummer",
            "reserve": "reserve number", "interim": "interim number or temporary ID",
            "invalid": "broken check digit", "organisationsnummer": "organisation number", "rejected": "rejected"}
#: Identifier kinds as a synthetic world made them (truth/errors.parquet `kind`), first that applies; a record
#: without one of these carries its person's personnummer.
TRUE_ID_KINDS = {"reserve_number": "reserve number", "temporary_id": "temporary municipal ID",
                 "typo_checksum": "broken check digit", "old_personnummer": "old personnummer (changed)",
                 "samordningsnummer": "samordningsnummer"}
ALL_REGISTERS = "all registers"
_COUNTS = ("records", "deterministic", "probabilistic", "linked", "true_links", "false_links", "missed")


@dataclass(frozen=True)
class QualityReport:
    """The report as Markdown for people and as one tidy frame (register, by, group, measure, value, suppressed)."""

    markdown: str
    table: pd.DataFrame


def linkage_quality(data: Path | str, *, key: MasterKey | bytes, project: str, secure: Path | str,
                    truth: Path | str | None = None, k: int = 5, workers: int = 1, out: Path | str | None = None,
                    progress: Progress | None = None) -> QualityReport:
    """Link the registers of the data folder `data` (`link_world`, rejects to `secure`) and report on the
    linkage (`quality_report`, against the `truth` folder when given); with `out`, the Markdown is written there
    atomically (never over an existing file)."""
    target = None if out is None else Path(out)
    if target is not None and target.exists():
        raise OutputError(f"{target.name}: exists already; choose a new output path")
    if truth is not None:
        _read_truth(Path(truth))  # a bad truth folder fails before the linkage, not after it
    if k < 1:
        raise InputError("k (the smallest count shown) must be at least 1")
    linked = link_world(data, key=key, project=project, secure_dir=secure, workers=workers, progress=progress)
    report = quality_report(linked, truth, k)
    if target is not None:
        with atomic_file(target) as tmp:
            tmp.write_text(report.markdown, encoding="utf-8")
    return report


def quality_report(linked: LinkedWorld, truth_dir: Path | str | None = None, k: int = 5) -> QualityReport:
    """Linkage counts per register and link method; with `truth_dir` also precision, recall and under-linkage."""
    if k < 1:
        raise InputError("k (the smallest count shown) must be at least 1")
    rows = [_method_counts(name, frame) for name, frame in linked.registers.items() if LINK_METHOD in frame]
    if rows:
        every = pd.concat(rows, ignore_index=True)
        rows.append(every.groupby(["by", "group", "measure"], sort=False, as_index=False)["value"].sum()
                    .assign(register=ALL_REGISTERS)[list(every.columns)])
    table = pd.concat(rows, ignore_index=True) if rows else _empty()
    if truth_dir is not None:
        table = pd.concat([table, _against_truth(linked, _read_truth(Path(truth_dir)))], ignore_index=True)
    table = _suppress(table, k)
    return QualityReport(_markdown(linked, table, k, truth_dir is not None), table)


# ------------------------------------------------------------------------------------------------ counts

def _method_counts(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Records per identifier kind and link method (no truth needed)."""
    counts = _crosstab(frame[ID_KIND], frame[LINK_METHOD].astype(pd.CategoricalDtype(LINK_METHODS)))
    parts = [_long(name, "link_method", "all", counts.sum().to_dict())]
    parts += [_long(name, "id_kind", ID_KINDS.get(str(kind), str(kind)), by_method.to_dict())
              for kind, by_method in counts[counts.sum(axis=1) > 0].iterrows()]
    return pd.concat(parts, ignore_index=True)


def _crosstab(rows: pd.Series, columns: pd.Series) -> pd.DataFrame:
    """How many records hold each pair of categories (missing values left out): one count over the codes, where
    pandas' groupby of two categoricals took about 5 s for the 50 million records of a national linkage."""
    rows, columns = rows.astype("category").array, columns.astype("category").array
    present = (rows.codes >= 0) & (columns.codes >= 0)
    width = len(columns.categories)
    counts = np.bincount(rows.codes[present].astype(np.int64) * width + columns.codes[present],
                         minlength=len(rows.categories) * width)
    return pd.DataFrame(counts.reshape(-1, width), index=rows.categories, columns=columns.categories)


def _long(register_name: str, by: str, group: str, values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"register": register_name, "by": by, "group": group, "measure": list(values),
                         "value": [float(v) for v in values.values()]})


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"register": pd.Series(dtype=object), "by": pd.Series(dtype=object),
                         "group": pd.Series(dtype=object), "measure": pd.Series(dtype=object),
                         "value": pd.Series(dtype=float)})


# ------------------------------------------------------------------------------------------------ truth

@dataclass(frozen=True)
class _Truth:
    records: pd.DataFrame
    persons: pd.DataFrame
    errors: pd.DataFrame


def _read_truth(folder: Path) -> _Truth:
    missing = [name for name in TRUTH_FILES if not (folder / name).is_file()]
    if missing:
        raise InputError(f"{folder.name}: no {missing[0]} (a truth folder of `reglink synth` has "
                         f"{', '.join(TRUTH_FILES)})")
    records, persons, errors = (pd.read_parquet(folder / name) for name in TRUTH_FILES)
    records["dataset"] = records["dataset"].astype("category")  # 56 M rows at national scale: codes, not strings
    return _Truth(records, persons, errors)


def _against_truth(linked: LinkedWorld, truth: _Truth) -> pd.DataFrame:
    """Precision and recall per register, by identifier kind, link method and subgroup of the true person."""
    population = truth.records[truth.records["dataset"] == "population"]
    person_of_row = pd.Series(population["person_id"].to_numpy(), index=population["row"].to_numpy())
    # Persons as positions in the spine, on both sides: integers compare far faster than pseudonyms.
    spine = pd.Index(linked.persons[PSEUDONYM].to_numpy(dtype=object))
    spine_person = person_of_row.reindex(linked.persons[ROW].to_numpy()).to_numpy()
    in_truth = ~np.isnan(spine_person)
    spine_position = _Lookup(spine_person[in_truth].astype(np.int64), np.flatnonzero(in_truth))
    people = truth.persons
    person_position = _Lookup(people["person_id"].to_numpy(dtype=np.int64), np.arange(len(people)))
    sex = _labels(people["kon"].map({1: "man", 2: "kvinna"}).fillna("unknown"), _SEXES)
    ensamkommande = _labels(np.where(people["ensamkommande"].fillna(False).to_numpy(dtype=bool), "yes", "no"), _YES)
    size = _labels(_kommun_sizes(people["kommun"]).reindex(people["kommun"].to_numpy()).fillna("unknown"),
                   _SIZES)
    parts, every = [], []
    for name, frame in linked.registers.items():
        if LINK_METHOD not in frame:
            continue
        records = _scored(name, frame, truth, spine, spine_position, person_position,
                          linked.duplicate_rows.get(name))
        every.append(records[["id_kind", "true_id_kind", *_FLAGS]])
        person = records["person"].to_numpy()
        subgroups = {
            "id_kind": records["id_kind"],
            "true_id_kind": records["true_id_kind"],
            "link_method": records["method"],
            "sex": _take(sex, person),
            "age_group": records["age_group"],
            "ensamkommande": _take(ensamkommande, person, absent="no"),
            "samordningsnummer": pd.Categorical.from_codes(records["samordningsnummer"].to_numpy(np.int8),
                                                           dtype=_YES),
            "kommun_size": _take(size, person),
        }
        parts.append(_scores(name, "all", _everyone(len(records)), records))
        parts += [_scores(name, by, values, records) for by, values in subgroups.items()]
        del records, subgroups
    if every:
        records = pd.concat(every, ignore_index=True)
        parts.append(_scores(ALL_REGISTERS, "all", _everyone(len(records)), records))
        parts += [_scores(ALL_REGISTERS, by, records[by], records) for by in ("id_kind", "true_id_kind")]
    return pd.concat(parts, ignore_index=True) if parts else _empty()


#: What `_scores` reads of each scored record.
_FLAGS = ("in_spine", "linked", "correct", "method")
#: The labels of each subgroup, as fixed categories: records of every register count in one small code each.
_KINDS = pd.CategoricalDtype(sorted({*ID_KINDS.values(), "personnummer"}))
_TRUE_KINDS = pd.CategoricalDtype(sorted({*TRUE_ID_KINDS.values(), "personnummer"}))
_METHODS = pd.CategoricalDtype(sorted({*LINK_METHODS, "rejected"}))
_AGES = pd.CategoricalDtype(sorted({label for _, _, label in AGE_GROUPS} | {"unknown"}))
_SEXES = pd.CategoricalDtype(["kvinna", "man", "unknown"])
_YES = pd.CategoricalDtype(["no", "yes"])
_SIZES = pd.CategoricalDtype(sorted({*KOMMUN_SIZES, "unknown"}))
_ALL = pd.CategoricalDtype(["all"])


def _labels(values, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """Text labels as a categorical of fixed categories (a label outside them is a bug, not a silent NA)."""
    labels = pd.Categorical(np.asarray(values, dtype=object), dtype=dtype)
    assert not labels.isna().any(), "a label outside its categories: a bug"
    return labels


def _everyone(n: int) -> pd.Categorical:
    return pd.Categorical.from_codes(np.zeros(n, np.int8), dtype=_ALL)


class _Lookup:
    """Values by non-negative integer key (person ids), looked up as one array index each; -1 for an absent key."""

    def __init__(self, keys: np.ndarray, values: np.ndarray):
        self.table = np.full(int(keys.max(initial=-1)) + 2, -1, dtype=np.int64)  # the last slot stays -1
        self.table[keys] = values

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        inside = (keys >= 0) & (keys < len(self.table))
        return self.table[np.where(inside, keys, -1)]


def _take(labels: pd.Categorical, positions: np.ndarray, *, absent: str = "unknown") -> pd.Categorical:
    """Labels of persons by position (-1: a record of no known person, labelled `absent`)."""
    codes = np.r_[labels.codes, labels.categories.get_loc(absent)][positions]
    return pd.Categorical.from_codes(codes, dtype=labels.dtype)


def _scored(name: str, frame: pd.DataFrame, truth: _Truth, spine: pd.Index, spine_position: _Lookup,
            person_position: _Lookup, duplicates: np.ndarray | None) -> pd.DataFrame:
    """One row per true record of the register (exact duplicates we dropped left out): who it is (`person`: a
    position in truth's persons), whom we linked it to and how (persons as positions in the spine, -1 for none)."""
    true = truth.records[truth.records["dataset"] == name]
    if duplicates is not None and len(duplicates):
        true = true[~true["row"].isin(duplicates)]
    at = pd.Index(frame[ROW].to_numpy()).get_indexer(true["row"].to_numpy())
    found = at >= 0
    ours = np.full(len(true), -1, dtype=np.int64)
    ours[found] = positions_in(spine, frame[PSEUDONYM])[at[found]]
    method = _recoded(frame[LINK_METHOD], at, _METHODS, {})
    kind = _recoded(frame[ID_KIND], at, _KINDS, ID_KINDS)
    linked = np.asarray(method.isin(LINKED))
    person = true["person_id"].fillna(-1).to_numpy(dtype=np.int64)
    truly = spine_position(person)
    position = person_position(person)
    errors = truth.errors[truth.errors["dataset"] == name]
    sam_rows = errors[errors["kind"] == "samordningsnummer"]["row"]
    true_kind = np.full(len(true), _TRUE_KINDS.categories.get_loc("personnummer"), dtype=np.int8)
    for error, label in reversed(TRUE_ID_KINDS.items()):  # the first that applies wins: set it last
        true_kind[true["row"].isin(errors.loc[errors["kind"] == error, "row"]).to_numpy()] = \
            _TRUE_KINDS.categories.get_loc(label)
    birth = np.r_[truth.persons["fodelsedatum"].to_numpy("datetime64[D]"), np.datetime64("NaT")][position]
    return pd.DataFrame({
        "person": position,
        "in_spine": truly >= 0,
        "linked": linked,
        "correct": linked & (ours == truly) & (truly >= 0),
        "method": method,
        "id_kind": kind,
        "true_id_kind": pd.Categorical.from_codes(true_kind, dtype=_TRUE_KINDS),
        "samordningsnummer": true["row"].isin(sam_rows).to_numpy(),
        "age_group": _age_groups(birth, _event_dates(name, frame, at)),
    })


def _recoded(column: pd.Series, at: np.ndarray, dtype: pd.CategoricalDtype, words: dict[str, str]) -> pd.Categorical:
    """A frame column's value for each true record (`at`: its row in the frame, -1 where we rejected it), in words,
    as a categorical of fixed categories: each distinct value looked up once."""
    codes, values = pd.factorize(column)
    assert (codes[at[at >= 0]] >= 0).all(), "a kept record without a value: a bug"
    lookup = np.r_[[dtype.categories.get_loc(words.get(str(v), str(v))) for v in values],
                   dtype.categories.get_loc("rejected")].astype(np.int8)
    return pd.Categorical.from_codes(lookup[np.where(at >= 0, codes[np.maximum(at, 0)], -1)], dtype=dtype)


def _scores(name: str, by: str, groups: pd.Categorical | pd.Series, records: pd.DataFrame) -> pd.DataFrame:
    """Counts, precision and recall per group (groups without records left out, the others in label order)."""
    groups = groups.array if isinstance(groups, pd.Series) else groups
    codes, size = groups.codes, len(groups.categories)
    method = records["method"]  # categorical: compared by code
    linked, correct, in_spine = (records[c].to_numpy() for c in ("linked", "correct", "in_spine"))
    flags = {"deterministic": (method == "deterministic").to_numpy(),
             "probabilistic": (method == "probabilistic").to_numpy(),
             "linked": linked, "true_links": correct, "false_links": linked & ~correct,
             "missed": in_spine & ~correct, "in_spine": in_spine}
    counts = pd.DataFrame({"records": np.bincount(codes, minlength=size).astype(float),
                            **{flag: np.bincount(codes, weights=values, minlength=size)
                              for flag, values in flags.items()}},
                          index=groups.categories.astype(str))
    counts = counts[counts["records"] > 0].sort_index()
    counts["precision"] = counts["true_links"] / counts["linked"].where(counts["linked"] > 0)
    counts["recall"] = counts["true_links"] / counts["in_spine"].where(counts["in_spine"] > 0)
    parts = [_long(name, by, str(group), {m: row[m] for m in (*_COUNTS, "precision", "recall")})
             .assign(base=[*(row[m] for m in _COUNTS), row["linked"], row["in_spine"]])
             for group, row in counts.iterrows()]
    return pd.concat(parts, ignore_index=True)


def _event_dates(name: str, frame: pd.DataFrame, at: np.ndarray) -> np.ndarray:
    """Each true record's reference date where we kept it and its date columns (NaT otherwise)."""
    out = np.full(len(at), np.datetime64("NaT"), dtype="datetime64[D]")
    reference = register(name).reference
    if reference is None or not set(reference.needs) <= set(frame.columns):
        return out
    table = pa.table({c: pa.array(frame[c], from_pandas=True) for c in reference.needs})
    dates = reference.dates(table).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    out[at >= 0] = dates[at[at >= 0]]
    return out


def _age_groups(birth: np.ndarray, when: np.ndarray) -> pd.Categorical:
    age = age_on(birth, when)
    codes = np.full(len(age), _AGES.categories.get_loc("unknown"), dtype=np.int8)
    for low, high, label in AGE_GROUPS:
        codes[(age >= low) & (age < high)] = _AGES.categories.get_loc(label)
    return pd.Categorical.from_codes(codes, dtype=_AGES)


def _kommun_sizes(kommun: pd.Series) -> pd.Series:
    """Each kommun's size class by its number of persons: the thirds of persons in the smallest to largest."""
    persons = kommun.value_counts().sort_values(kind="stable")
    share = persons.cumsum() / persons.sum()
    classes = np.select([share <= 1 / 3, share <= 2 / 3], KOMMUN_SIZES[:2], KOMMUN_SIZES[2])
    return pd.Series(classes, index=persons.index)


# ------------------------------------------------------------------------------------------------ output

def _suppress(table: pd.DataFrame, k: int) -> pd.DataFrame:
    """Counts from 1 to k-1, and rates over fewer than k records, become NA with `suppressed` set."""
    rate = table["measure"].isin(["precision", "recall"]).to_numpy()
    base = table["base"].to_numpy(float) if "base" in table else np.full(len(table), np.nan)
    size = np.where(rate, np.nan_to_num(base), table["value"].to_numpy(float))
    hidden = (size < k) & (rate | (size > 0))
    out = table.drop(columns=["base"], errors="ignore").copy()
    out["suppressed"] = hidden
    out.loc[hidden, "value"] = np.nan
    return out.reset_index(drop=True)


def _markdown(linked: LinkedWorld, table: pd.DataFrame, k: int, truth: bool) -> str:
    lines = ["# Linkage quality", "",
             f"Counts below {k} are shown as `<{k}`; rates over fewer than {k} records as `–`.", "",
             "## Records per register", ""]
    lines += _grid(linked.report.set_index("register").T.astype(float).T, k)
    links = linked.evidence_links.status_counts()
    lines += ["", "## Records without a usable identifier", "",
              (f"Entities (one identifier within its scope) linked probabilistically: "
               f"{_cell(links['probabilistic'], k)}; ambiguous, left unlinked for clerical review: "
               f"{_cell(links['ambiguous'], k)}; no candidate above the threshold: {_cell(links['unlinked'], k)}."),
              ""]
    by_kind = table[(table["by"] == "id_kind") & table["measure"].isin(LINK_METHODS)]
    lines += ["## Records by identifier kind and link method", ""]
    lines += _grid(_wide(by_kind, ["register", "group"]).reindex(columns=list(LINK_METHODS)), k)
    if truth:
        kinds = table[(table["register"] == ALL_REGISTERS) & (table["by"] == "true_id_kind")]
        lines += ["", "## By identifier kind, all registers (as the world made them)", "",
                  ("Records, how they were linked, and precision and recall against truth, per kind of identifier "
                   "the record carried."), ""]
        lines += _grid(_wide(kinds, ["group"]).reindex(columns=list(_BY_KIND)).rename_axis("identifier"), k)
        scored = table[table["measure"].isin(["linked", "true_links", "false_links", "missed", "precision",
                                              "recall"]) & (table["register"] != ALL_REGISTERS)]
        for by, title in (("all", "Precision and recall against truth"), ("id_kind", "By identifier kind"),
                          ("true_id_kind", "By identifier kind as the world made it"),
                          ("link_method", "By link method")):
            part = scored[scored["by"] == by]
            lines += ["", f"## {title}", ""]
            lines += _grid(_wide(part, ["register", "group"])
                           .reindex(columns=["linked", "true_links", "false_links", "missed", "precision", "recall"]),
                           k)
        under = scored[~scored["by"].isin(["all", "id_kind", "true_id_kind", "link_method"]) & scored["measure"].isin(
            ["missed", "recall"])]
        lines += ["", "## Under-linkage by subgroup (missed records and recall)", ""]
        lines += _grid(_wide(under, ["register", "by", "group"]).reindex(columns=["missed", "recall"]), k)
    return "\n".join(lines) + "\n"


def _wide(table: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """Measures as columns, one row per combination of `index` that has rows (an absent group is no row, never a
    suppressed-looking cell); of two rows of one measure, the first value present."""
    return table.groupby([*index, "measure"], sort=True)["value"].first().unstack("measure")


#: The columns of the all-registers table by identifier kind.
_BY_KIND = ("records", "deterministic", "probabilistic", "linked", "false_links", "missed", "precision", "recall")


def _grid(frame: pd.DataFrame, k: int) -> list[str]:
    if frame.empty:
        return ["(none)"]
    index_names = [n or "" for n in frame.index.names]
    header = [*index_names, *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(index_names)
                                                           + ["---:"] * len(frame.columns)) + "|"]
    for key, row in frame.iterrows():
        keys = key if isinstance(key, tuple) else (key,)
        cells = [_cell(v, k, rate=str(c) in ("precision", "recall")) for c, v in row.items()]
        lines.append("| " + " | ".join([*map(str, keys), *cells]) + " |")
    return lines


def _cell(value: float, k: int, *, rate: bool = False) -> str:
    if value is None or pd.isna(value):
        return "–" if rate else f"<{k}"
    if rate:
        return f"{value:.4f}"
    return f"{int(value):,}" if (value == 0 or value >= k) else f"<{k}"
