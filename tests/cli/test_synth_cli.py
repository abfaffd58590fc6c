"""`reglink synth` through the real CLI: a world with its calibration table, and one-line errors."""

from __future__ import annotations

import json

from reglink_testing import assert_one_line_error, run_cli


def test_synth_writes_a_world_and_prints_its_calibration(tmp_path):
    out = tmp_path / "world"
    proc = run_cli("synth", out, "--children", "1500", "--birth-years", "2000-2005", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for figure in ("placed_during_year_share_0_20", "eligible_share_all", "identifier_typo_share_all_registers"):
        assert figure in proc.stderr
    assert "§2.3" in proc.stderr and "§3.4" in proc.stderr
    calibration = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    assert {"name", "achieved", "target", "source"} <= set(calibration["figures"][0])
    assert (out / "placement" / "placement_child.csv").is_file() and (out / "truth" / "records.parquet").is_file()
    # No identifier reaches the terminal.
    pnr = (out / "population" / "pnr_changes.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    assert pnr not in proc.stderr + proc.stdout

    again = run_cli("synth", out, "--children", "1500")
    assert "exists already" in assert_one_line_error(again)


def test_synth_rejects_bad_birth_years_and_dates_in_one_line(tmp_path):
    for args in (("--birth-years", "2008-1998"), ("--birth-years", "98-08"), ("--end-date", "2025-13-01")):
        proc = run_cli("synth", tmp_path / "w", *args)
        line = assert_one_line_error(proc)
        assert args[0] in line
    assert not (tmp_path / "w").exists()


def test_synth_help_names_the_default_size():
    proc = run_cli("synth", "--help")
    assert proc.returncode == 0
    assert "20000" in proc.stdout and "--birth-years" in proc.stdout
