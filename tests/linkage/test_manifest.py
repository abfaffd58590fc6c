"""manifest.json: what it lists, that it is byte-stable, and that `verify_extract` names the first difference."""

from __future__ import annotations

import json
import os
from datetime import date
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyreadstat
import pytest

from linkage.extract.manifest import (
    MANIFEST,
    ExtractError,
    VerifyResult,
    build_manifest,
    manifest_bytes,
    verify_extract,
    write_manifest,
)
from linkage.io import write_parquet

FACTS = {"project": "demo-2026", "request": {"reference_date": "2025-12-31"}, "request_sha256": "ab" * 32,
         "key_fingerprint": "0123456789abcdef", "counts": {"persons": 3, "placement_measure": 4}, "exclusions": {"applied": False, "records_removed": 0}}


def make_extract(folder: Path) -> Path:
    """Three persons in Parquet, CSV (one value holds a line end: 3 records on 5 lines) and Stata, plus reports."""
    persons = pa.table({"pseudonym_id": ["a" * 32, "b" * 32, "c" * 32], "note": ["x\ny", "z", "å\nä"],
                        "kon": pa.array([1, 2, 1], pa.int8())})
    (folder / "data").mkdir(parents=True)
    (folder / "reports").mkdir()
    write_parquet(persons, folder / "data" / "persons.parquet")
    pacsv.write_csv(persons, folder / "data" / "persons.csv")
    pyreadstat.write_dta(persons.to_pandas(), str(folder / "data" / "persons.dta"))
    write_parquet(pa.table({"pseudonym_id": ["a" * 32] * 4}), folder / "data" / "placement_measure.parquet")
    (folder / "codebook.md").write_text("# Codebook\n")
    (folder / "reports" / "linkage.md").write_text("# Linkage\n")
    write_manifest(folder, build_manifest(folder, **FACTS))
    return folder


@pytest.fixture
def extract(tmp_path) -> Path:
    return make_extract(tmp_path / "extract")


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def test_every_file_is_listed_with_checksum_size_and_data_rows(extract):
    manifest = manifest_of(extract)
    assert manifest["reglink_manifest"] == 1
    assert manifest["software"] == {"name": "reglink", "version": version("reglink")}
    assert {key: manifest[key] for key in FACTS} == FACTS
    files = {entry["path"]: entry for entry in manifest["files"]}
    assert list(files) == sorted(files) == ["codebook.md", "data/persons.csv", "data/persons.dta",
                                            "data/persons.parquet", "data/placement_measure.parquet",
                                            "reports/linkage.md"]
    assert {path: entry.get("rows") for path, entry in files.items()} == {
        "codebook.md": None, "data/persons.csv": 3, "data/persons.dta": 3, "data/persons.parquet": 3,
        "data/placement_measure.parquet": 4, "reports/linkage.md": None}
    assert (extract / "data" / "persons.csv").read_text().count("\n") == 6  # header + 3 records over 6 lines
    assert files["codebook.md"]["bytes"] == len("# Codebook\n")
    assert verify_extract(extract) == VerifyResult(files=6, rows=13)


def test_the_manifest_is_deterministic_json_without_times(extract):
    raw = (extract / MANIFEST).read_bytes()
    assert raw == manifest_bytes(build_manifest(extract, **FACTS))
    assert raw.endswith(b"}\n") and raw.startswith(b'{\n  "counts"')
    assert b"time" not in raw and date.today().isoformat().encode() not in raw  # no wall clock inside


def test_a_verified_extract_stays_verified_when_moved(extract, tmp_path):
    moved = tmp_path / "elsewhere"
    os.rename(extract, moved)
    assert verify_extract(moved).files == 6


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def change_rows(folder: Path) -> None:
    manifest = manifest_of(folder)
    next(e for e in manifest["files"] if e["path"] == "data/persons.dta")["rows"] = 4
    (folder / MANIFEST).write_bytes(manifest_bytes(manifest))


def drop_listing(folder: Path) -> None:
    manifest = manifest_of(folder)
    manifest["files"] = [e for e in manifest["files"] if e["path"] != "codebook.md"]
    (folder / MANIFEST).write_bytes(manifest_bytes(manifest))


def point_outside(folder: Path) -> None:
    manifest = manifest_of(folder)
    manifest["files"][0]["path"] = "../extract/codebook.md"
    (folder / MANIFEST).write_bytes(manifest_bytes(manifest))


@pytest.mark.parametrize(("damage", "expected"), [
    (lambda f: (f / MANIFEST).unlink(), "no manifest.json"),
    (lambda f: (f / MANIFEST).write_text('{"files": ['), "manifest.json: not valid JSON (line 1"),
    (lambda f: (f / MANIFEST).write_text("[]"), "manifest.json: not a reglink manifest"),
    (lambda f: (f / "reports" / "linkage.md").unlink(), "reports/linkage.md: listed in the manifest but missing"),
    (lambda f: flip_a_byte(f / "data" / "persons.parquet"), "data/persons.parquet: checksum mismatch"),
    (lambda f: (f / "codebook.md").write_text("# Codebook, edited\n"), "codebook.md: checksum mismatch"),
    (change_rows, "data/persons.dta: row count mismatch (3 rows, manifest says 4)"),
    (lambda f: (f / "data" / "extra.csv").write_text("a\n1\n"), "data/extra.csv: present but not listed"),
    (drop_listing, "codebook.md: present but not listed"),
    (point_outside, "manifest.json: file entry 1 has a path outside the extract"),
    (lambda f: (f / "notes.txt").symlink_to(f / "codebook.md"), "notes.txt: is a symbolic link"),
])
def test_verify_names_the_first_problem(extract, damage, expected):
    damage(extract)
    with pytest.raises(ExtractError) as caught:
        verify_extract(extract)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_folder_that_is_not_there_is_an_error(tmp_path):
    with pytest.raises(ExtractError, match="no such extract folder"):
        verify_extract(tmp_path / "missing")


def test_a_data_file_that_does_not_parse_is_an_error(tmp_path):
    folder = tmp_path / "extract"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "persons.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ExtractError, match=r"data/persons.parquet: cannot be read as a parquet file"):
        build_manifest(folder, **FACTS)


def test_csv_rows_are_records_from_a_parse_not_lines(tmp_path):
    folder = tmp_path / "extract"
    (folder / "data").mkdir(parents=True)
    pd.DataFrame({"a": ["1\n2\n3", "4"], "b": ["x", "y\r\nz"]}).to_csv(folder / "data" / "t.csv", index=False)
    (folder / "data" / "empty.csv").write_text("a,b\n")
    rows = {e["path"]: e["rows"] for e in build_manifest(folder, **FACTS)["files"]}
    assert rows == {"data/empty.csv": 0, "data/t.csv": 2}
