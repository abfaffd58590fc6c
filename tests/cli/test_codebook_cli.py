"""`reglink codebook`: list, show, render and validate, run as a real subprocess."""

from __future__ import annotations

import pytest

from reglink_testing import assert_one_line_error, run_cli

# Skatteverket's test personnummer (never assigned to a real person).
GOOD = """\
personnummer;kommun;beslutsdatum;utfall;grund;missbruk
771207-2391;0180;2021-01-05;1;2;4
930423-2383;2584;2021-02-11;2;1;1
"""
BAD = """\
personnummer;kommun;beslutsdatum;utfall;grund;missbruk
771207-2391;9999;2021-01-05;1;2;4
19930423-2383;2584;2021-02-30;3;1;1
"""


def test_list_names_every_shipped_codebook():
    proc = run_cli("codebook", "list")
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    assert "cohort" in names and "placement_measure" in names and len(names) == 20


def test_show_prints_a_table_of_variables():
    proc = run_cli("codebook", "show", "lvm_application")
    assert proc.returncode == 0, proc.stderr
    assert "personnummer" in proc.stdout and "direct_identifier" in proc.stdout
    assert "codelist kommun (290)" in proc.stdout


def test_an_unknown_codebook_is_one_line_listing_the_names():
    line = assert_one_line_error(run_cli("codebook", "show", "nosuch"))
    assert "unknown codebook 'nosuch'" in line and "placement_child" in line


@pytest.mark.parametrize(("format", "start"), [("md", b"# "), ("ddi", b"<?xml")])
def test_render_writes_each_format(tmp_path, format, start):
    out = tmp_path / "docs" / f"cohort.{format}"
    proc = run_cli("codebook", "render", "cohort", "--format", format, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(start)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left behind


def test_render_refuses_an_unknown_format_without_writing(tmp_path):
    line = assert_one_line_error(run_cli("codebook", "render", "cohort", "--format", "pdf", "--out",
                                         tmp_path / "x.pdf"))
    assert "unknown format 'pdf'" in line
    assert not list(tmp_path.iterdir())


def test_validate_passes_a_matching_file(tmp_path):
    path = tmp_path / "lvm_application.csv"
    path.write_text(GOOD, encoding="latin-1")
    proc = run_cli("codebook", "validate", path, "--codebook", "lvm_application")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 row(s) checked, no problems" in proc.stdout


def test_validate_reports_rows_not_values_and_fails_with_one_line(tmp_path):
    path = tmp_path / "lvm_application.csv"
    path.write_text(BAD, encoding="latin-1")
    proc = run_cli("codebook", "validate", path, "--codebook", "lvm_application")
    line = assert_one_line_error(proc)
    assert line == f"reglink: error: {path} does not match codebook lvm_application: 4 problems"
    report = proc.stdout
    assert "personnummer" in report and "pattern_mismatch" in report and "rows 2" in report
    assert "kommun" in report and "unknown_category" in report
    for value in ("771207", "19930423", "2383", "9999", "2021-02-30"):
        assert value not in report + proc.stderr


def test_validate_with_a_users_own_codebook_file(tmp_path):
    codebook = tmp_path / "mine.yaml"
    codebook.write_text("""\
name: mine
title: {sv: Mitt, en: Mine}
register: Eget
description: {sv: Test., en: Test.}
version: "1"
source: Jag
access: {sv: Endast jag., en: Only me.}
variables:
  - name: antal
    label: {sv: Antal, en: Count}
    type: integer
    role: other
    minimum: 0
""", encoding="utf-8")
    data = tmp_path / "data.csv"
    data.write_text("antal\n3\n-1\n", encoding="utf-8")
    proc = run_cli("codebook", "validate", data, "--codebook", codebook)
    assert proc.returncode == 1
    assert "out_of_range" in proc.stdout and "rows 2" in proc.stdout


def test_the_render_formats_named_in_help_are_the_ones_codebooks_renders():
    import codebooks
    from linkage.cli.codebook import FORMATS

    assert FORMATS == codebooks.FORMATS
