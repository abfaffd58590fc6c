"""`reglink verify EXTRACT` and `reglink audit verify LOG` through the real CLI."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv
from reglink_testing import assert_one_line_error, run_cli

from linkage.extract.audit import append_audit
from linkage.extract.manifest import build_manifest, write_manifest
from linkage.io import write_parquet


def make_extract(folder):
    (folder / "data").mkdir(parents=True)
    persons = pa.table({"pseudonym_id": ["a" * 32, "b" * 32], "kon": [1, 2]})
    write_parquet(persons, folder / "data" / "persons.parquet")
    pacsv.write_csv(persons, folder / "data" / "persons.csv")
    (folder / "codebook.md").write_text("# Codebook\n")
    write_manifest(folder, build_manifest(folder, project="demo-2026", request={"project": "demo-2026"}, request_sha256="0" * 64,
                                          key_fingerprint="0123456789abcdef", counts={"persons": 2},
                                          exclusions={"applied": False, "records_removed": 0}))
    return folder


def test_verify_a_good_extract(tmp_path):
    done = run_cli("verify", make_extract(tmp_path / "extract"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok: 3 files, 4 rows verified\n"


def test_verify_names_the_changed_file(tmp_path):
    folder = make_extract(tmp_path / "extract")
    (folder / "data" / "persons.csv").write_text('"pseudonym_id","kon"\n"x",1\n')
    line = assert_one_line_error(run_cli("verify", folder))
    assert line.startswith("reglink: error: data/persons.csv: checksum mismatch")


def test_verify_a_folder_that_is_no_extract(tmp_path):
    assert "no manifest.json" in assert_one_line_error(run_cli("verify", tmp_path))
    assert "no such extract folder" in assert_one_line_error(run_cli("verify", tmp_path / "missing"))


def test_audit_verify_an_intact_and_an_edited_log(tmp_path):
    log = tmp_path / "audit.jsonl"
    for n in range(3):
        append_audit(log, {"event": "extract", "persons": 10 + n})
    done = run_cli("audit", "verify", log)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok: 3 entries, chain intact\n"

    log.write_bytes(log.read_bytes().replace(b'"persons":11', b'"persons":12'))
    assert "audit.jsonl, line 2: edited" in assert_one_line_error(run_cli("audit", "verify", log))
    assert "no such audit log" in assert_one_line_error(run_cli("audit", "verify", tmp_path / "none.jsonl"))
