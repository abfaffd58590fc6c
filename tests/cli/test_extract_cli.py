"""`reglink extract` end to end through the real CLI, on the demo's synthetic world, key and request."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pyreadstat
import pytest
from leakscan import Canary
from reglink_testing import assert_one_line_error, run_cli

import codebooks
from linkage.demo import DEMO_PASSPHRASE
from linkage.extract.request import EXAMPLE

PASSPHRASE = {"REGLINK_PASSPHRASE": DEMO_PASSPHRASE}


def extract(demo_run, out: Path, request: Path | None = None, *more: str) -> subprocess.CompletedProcess[str]:
    return run_cli("extract", request or demo_run.outdir / "request.yaml", "--data", demo_run.outdir / "world",
                   "--key", demo_run.outdir / "secure" / "demo.key", "--out", out,
                   "--secure", out.parent / "secure", *more, env=PASSPHRASE)


# ------------------------------------------------------------------------------------------------ the delivered folder

def test_the_demo_extract_has_the_designed_layout_and_verifies(demo_run):
    folder = demo_run.extract
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    tables = ("persons", "placement_measure", "placement_placement")
    assert names == sorted(["codebook.html", "codebook.md", "datapackage.json", "ddi-codebook.xml", "manifest.json",
                            "reports/disclosure.md", "reports/linkage.md",
                            *(f"data/{t}.{f}" for t in tables for f in ("parquet", "csv", "dta"))])
    proc = run_cli("verify", folder)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: 15 files")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["project"] == "demo-2026"
    assert manifest["software"]["name"] == "reglink"
    persons = pq.read_table(folder / "data" / "persons.parquet")
    assert persons.column_names[0] == "pseudonym_id"
    assert {f["path"]: f.get("rows") for f in manifest["files"]}["data/persons.parquet"] == persons.num_rows > 10_000


def test_every_data_file_carries_exactly_the_delivered_codebook(demo_run):
    folder = demo_run.extract
    for name in ("persons", "placement_measure", "placement_placement"):
        table = pq.read_table(folder / "data" / f"{name}.parquet")
        book = codebooks.read_codebook(folder / "data" / f"{name}.parquet")
        assert list(book.names) == table.column_names
        assert not book.with_role("direct_identifier")
        frame, meta = pyreadstat.read_dta(str(folder / "data" / f"{name}.dta"))
        assert len(frame) == table.num_rows
        assert meta.column_labels[0] == book.variable("pseudonym_id").label.sv
    measure = codebooks.read_codebook(folder / "data" / "placement_measure.parquet")
    assert measure.variable("startdatum").type == "string"  # coarsened to month, as the request asks
    assert "månad" in measure.variable("startdatum").description.sv
    persons = codebooks.read_codebook(folder / "data" / "persons.parquet")
    assert persons.variable("fodelsear").type == "integer" and "fodelsedatum" not in persons.names


def test_frictionless_accepts_the_data_package(demo_run):
    from frictionless import validate

    report = validate(demo_run.extract / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]


def test_the_ddi_codebook_validates_against_the_official_schema(demo_run, shared):
    import xmlschema

    schema = xmlschema.XMLSchema(str(shared / "schemas" / "ddi-codebook-2.5" / "codebook.xsd"))
    schema.validate(str(demo_run.extract / "ddi-codebook.xml"))


def test_no_identifier_in_any_byte_of_any_file_or_in_what_the_demo_printed(demo_run):
    canary = Canary.of_worlds(demo_run.outdir / "world")
    assert len(canary.forms) > 50_000
    assert canary.folder_hits(demo_run.extract) == {}
    assert canary.hits(demo_run.proc.stdout + demo_run.proc.stderr) == []
    planted = next(iter(f for f in canary.forms if len(f) == 13))  # the scan itself finds a planted identifier
    assert canary.hits(b"x," + planted + b",y") == [planted]


def test_the_audit_log_has_one_chained_line_per_run_and_no_identifier(demo_run):
    log = demo_run.outdir / "secure" / "audit.jsonl"
    proc = run_cli("audit", "verify", log)
    assert proc.returncode == 0, proc.stderr
    entry = json.loads(log.read_text().splitlines()[-1])
    manifest = json.loads((demo_run.extract / "manifest.json").read_text())
    assert entry["request_sha256"] == manifest["request_sha256"]
    assert entry["key_fingerprint"] == manifest["key_fingerprint"]
    assert Canary.of_worlds(demo_run.outdir / "world").hits(log.read_bytes()) == []


# ------------------------------------------------------------------------------------------------ reproducible

def test_a_second_run_gives_byte_identical_data_files_and_manifest(demo_run, tmp_path):
    out = tmp_path / "again"
    proc = extract(demo_run, out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    for path in demo_run.extract.rglob("*"):
        if path.is_file():
            assert (out / path.relative_to(demo_run.extract)).read_bytes() == path.read_bytes(), path.name
    assert run_cli("audit", "verify", tmp_path / "secure" / "audit.jsonl").returncode == 0


def test_an_existing_target_is_never_overwritten(demo_run):
    before = (demo_run.extract / "manifest.json").read_bytes()
    line = assert_one_line_error(extract(demo_run, demo_run.extract))
    assert "exists already" in line
    assert (demo_run.extract / "manifest.json").read_bytes() == before


# ------------------------------------------------------------------------------------------------ refused requests

@pytest.mark.parametrize(("change", "message"), [
    (("  cohort: [kon,", "  cohort: [personnummer, kon,"), "unknown variable personnummer"),
    (("  placement_placement: [", "  placement_placement: [personnr, "), "direct identifier"),
    (("  cohort: [kon,", "  cohort: [shoe_size, kon,"), "unknown variable shoe_size"),
    (("formats:", "colour: blue\nformats:"), "colour"),
])
def test_a_request_asking_for_what_no_codebook_allows_fails_before_any_data_is_read(demo_run, tmp_path, change,
                                                                                     message):
    assert change[0] in EXAMPLE
    request = tmp_path / "request.yaml"
    request.write_text(EXAMPLE.replace(*change, 1), encoding="utf-8")
    proc = run_cli("extract", request, "--data", tmp_path / "no-such-world", "--key", tmp_path / "no.key",
                   "--out", tmp_path / "out")
    line = assert_one_line_error(proc)
    assert message in line and "request.yaml, line " in line
    assert not (tmp_path / "out").exists()


def test_a_cohort_with_no_one_in_it_fails_clearly_and_writes_nothing(demo_run, tmp_path):
    request = tmp_path / "request.yaml"
    text = re.sub(r"birth_years: \{from: \d+, to: \d+\}", "birth_years: {from: 1950, to: 1951}", EXAMPLE)
    assert text != EXAMPLE
    request.write_text(text, encoding="utf-8")
    line = assert_one_line_error(extract(demo_run, tmp_path / "out", request))
    assert "the cohort is empty" in line
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


# ------------------------------------------------------------------------------------------------ crashes

CRASH = """
import os, signal, sys
import linkage.extract.pipeline as pipeline
real = pipeline._write_documents
def crash(*args, **kwargs):
    real(*args, **kwargs)
    if sys.argv[1] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise RuntimeError("injected")
pipeline._write_documents = crash
sys.argv = ["reglink", *sys.argv[2:]]
from linkage.cli import main
main()
"""


@pytest.mark.parametrize("how", ["kill", "raise"])
def test_a_crash_while_the_extract_is_written_leaves_no_extract(demo_run, tmp_path, how):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", CRASH, how, "extract", str(demo_run.outdir / "request.yaml"), "--data",
         str(demo_run.outdir / "world"), "--key", str(demo_run.outdir / "secure" / "demo.key"), "--out", str(out),
         "--secure", str(tmp_path / "secure")],
        check=False, capture_output=True, text=True, env={**os.environ, **PASSPHRASE}, timeout=600)
    assert proc.returncode != 0
    assert not out.exists()
    if how == "raise":  # a handled failure also removes its temporary folder
        assert "internal error (RuntimeError)" in proc.stderr
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]
    assert extract(demo_run, out).returncode == 0, "the lock died with the process: a new run can go ahead"
    assert run_cli("verify", out).returncode == 0


# ------------------------------------------------------------------------------------------------ exclusion list

def test_an_exclusion_list_withholds_every_record_of_the_listed_persons(demo_run, tmp_path):
    from linkage.extract.request import parse_request
    from pseudonym import open_key_file, pseudonymise_many

    delivered = pq.read_table(demo_run.extract / "data" / "placement_placement.parquet").column("pseudonym_id")
    population = pq.read_table(demo_run.outdir / "world" / "population" / "population.parquet",
                               columns=["personnummer"]).column("personnummer").to_pandas()
    key = open_key_file(demo_run.outdir / "secure" / "demo.key", DEMO_PASSPHRASE).master_key
    pseudonyms = pseudonymise_many(population, master_key=key, project=parse_request(EXAMPLE).project)
    placed = pseudonyms.isin(set(delivered.to_pylist())).to_numpy()
    listed = population[placed].iloc[:3]
    (tmp_path / "exclude.txt").write_text("# withheld after a decision\n" +
                                          "\n".join(f"{n[2:8]}-{n[8:]}" for n in listed) + "\n")
    out = tmp_path / "out"
    proc = extract(demo_run, out, None, "--exclude", tmp_path / "exclude.txt")
    assert proc.returncode == 0, proc.stderr
    gone = set(pseudonyms[placed].iloc[:3])
    for path in (out / "data").glob("*.parquet"):
        assert not gone & set(pq.read_table(path).column("pseudonym_id").to_pylist()), path.name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["exclusions"]["applied"] is True
    assert manifest["exclusions"]["records_removed"] >= 3 + 3  # the three persons and at least their placements
    persons = pq.read_table(out / "data" / "persons.parquet").num_rows
    assert persons == pq.read_table(demo_run.extract / "data" / "persons.parquet").num_rows - 3
    assert not any(n in (out / "manifest.json").read_text() for n in listed)
