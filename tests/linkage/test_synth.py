"""The synthetic world: determinism, file formats per register, codebook validity, ground truth, planted errors and
calibration, read back from the real files."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codebooks.loading import load
from codebooks.validation import validate
from linkage.errors import InputError, OutputError
from linkage.io import read_table
from linkage.synth import LAYOUT, generate_world
from linkage.synth.identifiers import (
    assign_numbers, format_numbers, group_rank, luhn_valid, reserve_numbers, temporary_ids, with_typo,
)
from pseudonym import identify, parse_many

SMALL = 3000
REFERENCE = "2025-12-31"  # the world's end: every 10-digit number of the 1998-2008 cohorts resolves against it


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synth") / "world"
    generate_world(folder, children=SMALL, seed=7)
    return folder


@pytest.fixture(scope="module")
def truth(world) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(world / "truth" / f"{name}.parquet")
            for name in ("records", "errors", "identifiers", "persons")}


def _text(world: Path, dataset: str) -> pd.DataFrame:
    """A register file as the pipeline would read it: CSV columns as text, Parquet typed."""
    return read_table(world / LAYOUT[dataset][0]).table.to_pandas()


# ---------------------------------------------------------------------------------------------- determinism

def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(world, tmp_path):
    generate_world(tmp_path / "again", children=SMALL, seed=7)
    generate_world(tmp_path / "other", children=SMALL, seed=8)
    assert _hashes(tmp_path / "again") == _hashes(world)
    other = _hashes(tmp_path / "other")
    assert other.keys() == _hashes(world).keys()
    assert all(other[name] != digest for name, digest in _hashes(world).items() if name.endswith(".parquet"))


def test_refuses_to_overwrite_and_checks_its_arguments(world, tmp_path):
    before = _hashes(world)
    with pytest.raises(OutputError, match="exists already"):
        generate_world(world, children=SMALL)
    assert _hashes(world) == before
    with pytest.raises(InputError, match="birth-years"):
        generate_world(tmp_path / "w", children=SMALL, birth_years=(2008, 1998))
    with pytest.raises(InputError, match="children"):
        generate_world(tmp_path / "w", children=5)
    assert not (tmp_path / "w").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    generate_world(empty, children=SMALL, seed=1)  # an empty folder is fine
    assert (empty / "calibration.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


# ---------------------------------------------------------------------------------------------- formats

def test_every_file_of_the_contract_exists_and_validates_against_its_codebook(world):
    for dataset, (relative, _fmt) in LAYOUT.items():
        table = read_table(world / relative).table
        report = validate(table, load(dataset))
        assert report.ok, report.to_text()


def test_csv_registers_have_their_separator_encoding_and_date_format(world):
    for dataset, (relative, fmt) in LAYOUT.items():
        if fmt.kind != "csv":
            continue
        raw = (world / relative).read_bytes()
        header = raw.split(b"\n", 1)[0].decode("ascii")
        assert header == fmt.delimiter.join(load(dataset).names), dataset
        raw.decode(fmt.encoding)
    measure = _text(world, "placement_measure")
    assert measure["startdatum"].str.fullmatch(r"(19|20)\d{6}").all()  # YYYYMMDD
    assert measure["slutdatum"].dropna().str.fullmatch(r"(19|20)\d{6}").all()
    discharge = _text(world, "lvm_discharge")
    assert discharge["utskrivningsdatum"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()  # ISO
    assert discharge["vardtid_manader"].str.fullmatch(r"\d+,\d").all()  # decimal comma
    assert b";" in (world / LAYOUT["placement_child"][0]).read_bytes().split(b"\n", 1)[0]
    changes = _text(world, "pnr_changes")
    assert changes["andringsdatum"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert "å" in (world / LAYOUT["providers"][0]).read_text(encoding="utf-8").lower() or \
        "ä" in (world / LAYOUT["providers"][0]).read_text(encoding="utf-8").lower()


def test_parquet_registers_have_their_column_types(world):
    population = pq.read_schema(world / LAYOUT["population"][0])
    assert population.field("fodelsedatum").type == pa.date32()
    assert population.field("kon").type == pa.string()
    patient = pq.read_schema(world / LAYOUT["patient"][0])
    assert patient.field("indatum").type == pa.string()  # YYYYMMDD text, as SAS exports give it
    assert pq.read_table(world / LAYOUT["patient"][0], columns=["indatum"]).column(0).to_pandas() \
        .str.fullmatch(r"\d{8}").all()
    drugs = pq.read_schema(world / LAYOUT["drugs"][0])
    assert drugs.field("edatum").type == pa.date32()
    assert drugs.field("antal_ddd").type == pa.float64()


def test_each_register_writes_identifiers_its_own_way(world):
    def share(values: pd.Series, pattern: str) -> float:
        return values.str.fullmatch(pattern).mean()

    assert share(_text(world, "population")["personnummer"], r"(19|20)\d{10}") == 1
    assert share(_text(world, "placement_child")["personnr"], r"\d{6}-\d{4}") > 0.5
    assert share(_text(world, "placement_child")["personnr"], r"\d{12}") > 0.03
    assert share(_text(world, "grades_year9")["personnr"], r"\d{10}") > 0.6
    assert share(_text(world, "upper_secondary")["personnr"], r"\d{12}") == 1
    assert share(_text(world, "patient")["pnr"], r"\d{12}") > 0.98
    assert share(_text(world, "drugs")["pnr"], r"\d{8}-\d{4}") == 1
    assert share(_text(world, "lvm_application")["personnummer"], r"\d{6}-\d{4}") == 1


def test_names_are_only_in_the_population_register(world):
    for dataset, (relative, _fmt) in LAYOUT.items():
        columns = set(read_table(world / relative).table.column_names)
        assert ({"fornamn", "efternamn"} <= columns) == (dataset == "population"), dataset
    names = _text(world, "population")
    assert names["fornamn"].nunique() > 50 and names["efternamn"].str.contains("sson").mean() > 0.3


# ---------------------------------------------------------------------------------------------- ground truth

def test_truth_covers_every_record_of_every_file(world, truth):
    records = truth["records"]
    persons = truth["persons"]
    assert set(records["dataset"]) == set(LAYOUT)
    for dataset, (relative, _fmt) in LAYOUT.items():
        rows = read_table(world / relative).table.num_rows
        mine = records[records["dataset"] == dataset]
        assert mine["row"].tolist() == list(range(1, rows + 1)), dataset
        if dataset.startswith("provider"):
            assert mine["person_id"].isna().all()  # units, of nobody in the world
        else:
            assert mine["person_id"].between(0, len(persons) - 1).all(), dataset


def test_correct_identifiers_lead_to_the_true_person(world, truth):
    """Rows without a planted identifier error parse to a number that truth assigns to the record's person."""
    ids = truth["identifiers"]
    owner = ids[ids["kind"].isin(["personnummer", "samordningsnummer", "old_personnummer"])] \
        .set_index("identifier")["person_id"]
    assert owner.index.is_unique
    for dataset, column in (("placement_measure", "personnr"), ("grades_year9", "personnr"),
                            ("upper_secondary", "personnr"), ("patient", "pnr"), ("drugs", "pnr"),
                            ("lvm_discharge", "personnummer")):
        values = _text(world, dataset)[column]
        records = truth["records"].query("dataset == @dataset").set_index("row")["person_id"]
        errors = truth["errors"].query("dataset == @dataset and column == @column")
        bad = set(errors.loc[errors["kind"].isin(["typo_checksum", "temporary_id", "reserve_number"]), "row"])
        parsed = parse_many(values, reference_date=REFERENCE)
        good = ~np.isin(np.arange(1, len(values) + 1), list(bad))
        assert parsed["canonical"][good].notna().all(), dataset
        found = owner.reindex(parsed["canonical"][good].to_numpy()).to_numpy()
        assert (found == records.to_numpy()[good]).all(), dataset
        typos = np.isin(np.arange(1, len(values) + 1), list(errors.loc[errors["kind"] == "typo_checksum", "row"]))
        assert (parsed["kind"][typos] == "invalid").all(), dataset


def test_planted_error_rates_are_as_stated(world, truth):
    errors = truth["errors"]
    sizes = truth["records"].groupby("dataset", observed=True).size()
    typos = errors[errors["kind"] == "typo_checksum"].groupby("dataset").size()
    placement = sum(typos.get(n, 0) for n in ("placement_child", "placement_measure", "placement_placement"))
    assert 0.002 < placement / sum(sizes[n] for n in ("placement_child", "placement_measure",
                                                     "placement_placement")) < 0.015
    assert 0.001 < typos["grades_year9"] / sizes["grades_year9"] < 0.01
    assert 0.001 < typos["drugs"] / sizes["drugs"] < 0.006
    duplicates = errors[errors["kind"] == "duplicate_row"]
    assert set(duplicates["dataset"]) >= {"placement_measure", "grades_year9"}
    for name, group in duplicates.groupby("dataset"):  # a duplicate is an exact copy of an earlier row
        table = _text(world, name).astype(str)
        for row in group["row"].head(5):
            copy = table.iloc[row - 1]
            assert (table.iloc[: row - 1] == copy).all(axis=1).any(), name
    kinds = set(errors["kind"])
    assert {"typo_checksum", "duplicate_row", "temporary_id", "samordningsnummer", "reserve_number",
            "old_personnummer", "whitespace", "nearby_day"} <= kinds
    reserve = errors.query("kind == 'reserve_number'")
    values = _text(world, "patient")["pnr"].to_numpy()[reserve["row"].to_numpy() - 1]
    assert all(identify(v, reference_date=REFERENCE).kind == "reserve" for v in values)


def test_temporary_ids_are_unique_within_the_kommun_and_stable_over_years(world, truth):
    child = _text(world, "placement_child")
    temporary = child["personnr"].str.fullmatch(r"\d{8}-T[0-9A-Z]\d\d")
    assert temporary.any()
    person = truth["records"].query("dataset == 'placement_child'")["person_id"].to_numpy()
    pairs = pd.DataFrame({"kommun": child["kommun"], "id": child["personnr"], "person": person})[temporary]
    assert (pairs.groupby(["kommun", "id"])["person"].nunique() == 1).all()
    assert (pairs.groupby(["kommun", "person"])["id"].nunique() == 1).all()
    sex = pairs["id"].str[-2].astype(int) % 2  # the third of the last four: odd for a man
    kon = truth["persons"].set_index("person_id").loc[pairs["person"], "kon"].to_numpy()
    assert ((sex == 1) == (kon == 1)).all()
    declared = truth["identifiers"].query("kind == 'temporary_id'")
    assert set(declared["identifier"]) == set(pairs["id"])


def test_personnummer_changes_chain_within_one_person(world, truth):
    changes = _text(world, "pnr_changes")
    owner = truth["identifiers"].drop_duplicates("identifier").set_index("identifier")["person_id"]
    assert (owner.loc[changes["gammalt_personnr"]].to_numpy() == owner.loc[changes["nytt_personnr"]].to_numpy()).all()
    population = set(_text(world, "population")["personnummer"])
    assert not population & set(changes["gammalt_personnr"])  # the register holds only current numbers
    assert set(changes["nytt_personnr"]) - set(changes["gammalt_personnr"]) <= population


# ---------------------------------------------------------------------------------------------- calibration

#: Figures of this part of the world (placement, school, identifiers); the health and LVM registers test their own.
OWN_FIGURES = ("placed_", "new_starts", "measures_", "eligible_", "meritvarde", "maths_", "missing_from",
               "upper_secondary", "identifier_", "duplicate_", "reserve_")


def test_calibration_is_within_tolerance_on_a_moderate_world(tmp_path):
    calibration = generate_world(tmp_path / "moderate", children=40_000, seed=3)
    checked = [f for f in calibration.figures if f.within is not None and f.name.startswith(OWN_FIGURES)]
    assert len(checked) >= 25
    assert [f.name for f in checked if not f.within] == []
    written = json.loads((tmp_path / "moderate" / "calibration.json").read_text(encoding="utf-8"))
    assert [row["name"] for row in written["figures"]] == [f.name for f in calibration.figures]
    assert calibration["eligible_share_first_placed_after_12"].achieved < \
        calibration["eligible_share_never_placed"].achieved


# ---------------------------------------------------------------------------------------------- identifiers

def test_assigned_numbers_are_unique_valid_and_use_a_nearby_day_when_a_date_runs_out():
    rng = np.random.default_rng(0)
    ymd = np.full(700, 20000101)
    numbers, shift = assign_numbers(rng, ymd, np.ones(700, bool), np.zeros(700, bool))
    assert len(set(numbers)) == 700 and luhn_valid(numbers).all()
    assert (shift == 0).sum() == 500 and (shift > 0).all() or (shift[shift != 0] > 0).all()
    assert ((numbers // 10) % 10 % 2 == 1).all()  # men: odd 9th digit
    assert {identify(str(n), reference_date=REFERENCE).kind for n in numbers} == {"personnummer"}
    samordning, _ = assign_numbers(rng, np.array([20000100, 20000115]), np.array([False, True]), np.ones(2, bool))
    assert [identify(str(n), reference_date=REFERENCE).kind for n in samordning] == ["samordningsnummer"] * 2


def test_temporary_and_reserve_numbers_have_their_formats():
    rng = np.random.default_rng(1)
    ids = temporary_ids(rng, np.zeros(500, int), np.full(500, 20010315), np.ones(500, bool))
    assert len(set(ids)) == 500 and all(re.fullmatch(r"20010315-T[0-9F][13579]\d", i) for i in ids)
    lan = np.array(["01", "14", "17", "12", "05", "25"])
    reserve = reserve_numbers(rng, lan, np.full(6, 20010315), np.array([1, 0, 1, 1, 0, 1], bool), np.full(6, 2015))
    assert [identify(r, reference_date=REFERENCE).kind for r in reserve] == ["reserve"] * 6
    assert reserve[0].startswith("992015") and reserve[1][8] in "KMX" and reserve[2][8:10] == "SF"


def test_group_rank_counts_within_groups():
    rank = group_rank(np.random.default_rng(2), np.array([5, 3, 5, 5, 3]))
    assert sorted(rank[[0, 2, 3]]) == [0, 1, 2] and sorted(rank[[1, 4]]) == [0, 1]


def test_world_end_and_cohorts_are_respected(tmp_path):
    generate_world(tmp_path / "w", children=2000, birth_years=(1994, 1996), end_date=date(2020, 12, 31), seed=2)
    population = _text(tmp_path / "w", "population")
    assert population["fodelsedatum"].map(lambda d: d.year).between(1994, 1996).all()
    grades = _text(tmp_path / "w", "grades_year9")
    assert set(grades["betyg"]) & {"IG", "G", "VG", "MVG"}  # leavers before the A-F scale
    measure = _text(tmp_path / "w", "placement_measure")
    assert measure["redovisningsar"].astype(int).max() <= 2020
    assert not (measure["redovisningsar"].astype(int) == 2017).any()  # no register for 2017


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.dates(date(1900, 1, 1), date(2024, 12, 31)), st.booleans(), st.booleans()),
                min_size=1, max_size=300), st.integers(0, 2**32))
def test_numbers_are_unique_carry_sex_and_break_with_any_typo(people, seed):
    rng = np.random.default_rng(seed)
    ymd = np.array([d.year * 10000 + d.month * 100 + d.day for d, _, _ in people])
    male = np.array([m for _, m, _ in people])
    samordning = np.array([s for _, _, s in people])
    numbers, shift = assign_numbers(rng, ymd, male, samordning)
    assert len(set(numbers)) == len(numbers) and luhn_valid(numbers).all()
    assert (((numbers // 10) % 2 == 1) == male).all()
    assert ((numbers // 10000 - shift) == ymd + np.where(samordning, 60, 0)).all()
    assert not luhn_valid(with_typo(rng, numbers)).any()
    for style, pattern in (("12", r"\d{12}"), ("12dash", r"\d{8}-\d{4}"), ("10dash", r"\d{6}-\d{4}"),
                           ("10", r"\d{10}")):
        assert all(re.fullmatch(pattern, text) for text in format_numbers(numbers, style).to_pylist())
