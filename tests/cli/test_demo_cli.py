"""`reglink demo` — what `make demo` runs — end to end through the real CLI."""

from __future__ import annotations

import pyarrow.parquet as pq
from reglink_testing import assert_one_line_error, run_cli

from linkage.demo import MARKER


def test_demo_builds_a_verified_extract_and_answers_without_printing_an_identifier(demo_run):
    outdir, proc = demo_run.outdir, demo_run.proc
    assert "How many placed children lack gymnasiebehörighet?" in proc.stderr
    for population in ("placed the whole of year 9", "placed at some time", "never placed"):
        assert population in proc.stderr
    assert "Extract (verified: 15 files" in proc.stderr
    assert (outdir / "world" / "calibration.json").is_file()
    assert (outdir / "secure" / "demo.key").is_file()
    assert (outdir / "request.yaml").is_file() and (outdir / "extract" / "manifest.json").is_file()

    identifiers = pq.read_table(outdir / "world" / "truth" / "identifiers.parquet").column("identifier").to_pylist()
    printed = proc.stdout + proc.stderr
    forms = {form for value in identifiers if value and value[:8].isdigit()
             for form in (value, value[2:], f"{value[2:8]}-{value[8:]}", f"{value[:8]}-{value[8:]}")}
    assert not [form for form in forms if form in printed]


def test_a_folder_an_earlier_demo_made_is_replaced(tmp_path):
    outdir = tmp_path / "demo"
    outdir.mkdir()
    (outdir / MARKER).write_text("made by reglink demo\n")
    (outdir / "stale.txt").write_text("from an earlier run")
    proc = run_cli("demo", outdir)
    assert proc.returncode == 0, proc.stderr
    assert not (outdir / "stale.txt").exists()
    assert run_cli("verify", outdir / "extract").returncode == 0


def test_demo_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "mine.txt").write_text("not the demo's")
    line = assert_one_line_error(run_cli("demo", tmp_path))
    assert "was not made by `reglink demo`" in line
    assert (tmp_path / "mine.txt").exists()
