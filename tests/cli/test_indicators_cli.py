"""`reglink indicators` through the real CLI, on the extract `reglink demo` writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image
from reglink_testing import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def extract(demo_run) -> Path:
    return demo_run.extract


def test_indicators_of_the_demo_extract(extract, tmp_path):
    out = tmp_path / "indicators"
    proc = run_cli("indicators", extract, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert f"reference year 2025: {out}" in proc.stderr.replace("\n", "")
    table = pd.read_csv(out / "indicators.csv", dtype={"municipality": str})
    assert {"RLU01N", "RLH01A", "RLP01", "RLP02F1", "RLP04L1"} <= set(table["kpi"])
    riket = table[(table["kpi"] == "RLP01") & (table["municipality"] == "0000") & (table["gender"] == "T")]
    assert (riket["status"] == "ok").sum() > 20  # the trend of placed children is shown for riket
    hidden = table["status"] == "suppressed"
    assert table.loc[hidden, ["value", "count", "denominator", "lower", "upper"]].isna().all().all()
    with Image.open(out / "figures" / "trend.png") as picture:
        assert picture.size == (1300, 1200)
        pixels = np.asarray(picture.convert("L"))
    assert 0.02 < (pixels < 245).mean() < 0.9
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(list((out / "figures").glob("*.png")))

    # nothing in the output carries a pseudonym, let alone an identifier
    pseudonyms = pq.read_table(extract / "data" / "persons.parquet", columns=["pseudonym_id"]).column(0).to_pylist()
    written = (out / "indicators.csv").read_text() + html + (out / "kpis.csv").read_text()
    assert not [p for p in pseudonyms[:2000] if p in written]


def test_bad_extracts_are_one_line_errors(extract, tmp_path):
    line = assert_one_line_error(run_cli("indicators", tmp_path / "nowhere", "--out", tmp_path / "out"))
    assert "no such extract folder" in line
    line = assert_one_line_error(run_cli("indicators", extract, "--out", extract / "indicators"))
    assert "must be outside the extract" in line
    assert not (extract / "indicators").exists()
