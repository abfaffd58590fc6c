"""Reading a .dta file's values from its data section: the same values as pyreadstat's, or None to fall back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from generated_ids import number

from linkage.extract.leakguard import INPUT_IDENTIFIER, PERSONNUMMER, KnownIdentifiers, scan_folder
from linkage.extract.stata import read_values

PERSON = number("19990704", 381)  # generated, never a real person's


def every_kind(path: Path, version: int) -> pd.DataFrame:
    frame = pd.DataFrame({
        "andel": [1.5, np.nan, -3e300, 8.9e307],
        "antal": pd.array([1, None, 2_147_483_620, -5], dtype="Int32"),
        "kod": pd.array([1, None, 100, -127], dtype="Int8"),
        "namn": ["x", "", "åäö", "z" * 40],
    })
    pyreadstat.write_dta(frame, str(path), version=version)
    return frame


@pytest.mark.parametrize("version", [14, 15])  # releases 118 and 119
def test_values_and_missing_codes_read_as_pyreadstat_reads_them(tmp_path, version):
    path = tmp_path / "every.dta"
    every_kind(path, version)
    expected, _ = pyreadstat.read_dta(str(path))
    values = read_values(path)
    assert values is not None and values.table.column_names == list(expected.columns)
    assert path.read_bytes()[values.start - 6:values.start] == b"<data>"
    assert path.read_bytes()[values.end:values.end + 7] == b"</data>"
    table = values.table
    ours = table.to_pandas()
    for name in expected.columns:
        values = ours[name].map(lambda v: v.decode("utf-8")) if name == "namn" else ours[name]
        pd.testing.assert_series_equal(values.astype(object).where(values.notna(), None),
                                       expected[name].astype(object).where(expected[name].notna(), None),
                                       check_names=False)


def test_a_million_rows_are_all_read(tmp_path):
    path = tmp_path / "big.dta"
    pyreadstat.write_dta(pd.DataFrame({"a": np.arange(1_000_000, dtype=float), "b": ["k"] * 1_000_000}), str(path))
    table = read_values(path).table
    assert table.num_rows == 1_000_000 and table["a"][999_999].as_py() == 999_999.0


def test_a_strl_column_is_left_to_the_general_reader(tmp_path):
    path = tmp_path / "long.dta"
    pyreadstat.write_dta(pd.DataFrame({"note": ["x" * 3000, PERSON]}), str(path))  # > 2045 characters: strL
    assert read_values(path) is None
    hits = scan_folder(tmp_path, KnownIdentifiers([PERSON]))
    assert {(hit.where, hit.kind) for hit in hits} >= {("column 'note'", PERSONNUMMER),
                                                      ("column 'note'", INPUT_IDENTIFIER)}


def test_not_a_dta_file_gives_none(tmp_path):
    path = tmp_path / "x.dta"
    path.write_bytes(b"<stata_dta><header><release>999</release>" + b"\0" * 300)
    assert read_values(path) is None


def test_a_number_glued_to_the_next_field_is_found_in_the_values(tmp_path):
    """A string filling its whole width touches the next field's bytes: the raw scan cannot see it as a whole
    token, the values can."""
    path = tmp_path / "glued.dta"
    pyreadstat.write_dta(pd.DataFrame({"id": [PERSON], "next": [float(np.frombuffer(b"AAAAAAAA", "<f8")[0])]}),
                         str(path))
    assert PERSON.encode() + b"AAAA" in path.read_bytes()
    hits = scan_folder(tmp_path)
    assert [(hit.where, hit.kind) for hit in hits] == [("column 'id'", PERSONNUMMER)]


def test_the_records_are_scanned_as_values_and_the_rest_of_the_file_as_bytes(tmp_path):
    """The data section is skipped by the raw scan (its values are scanned instead); a number in the file label,
    outside it, is still found in the raw bytes."""
    path = tmp_path / "labelled.dta"
    pyreadstat.write_dta(pd.DataFrame({"id": [PERSON], "n": [1.0]}), str(path), file_label=f"x {PERSON} y")
    hits = {(hit.where, hit.kind, hit.count) for hit in scan_folder(tmp_path)}
    assert hits == {("raw bytes", PERSONNUMMER, 1), ("Stata labels", PERSONNUMMER, 1), ("column 'id'", PERSONNUMMER, 1)}


def test_the_largest_number_of_each_column_is_found_past_missing_codes_in_every_block(tmp_path):
    path = tmp_path / "blocks.dta"
    rows = 40_000  # more than one block of records
    small = np.where(np.arange(rows) % 7 == 0, np.nan, np.arange(rows) % 50).astype(float)  # missing: `.` codes
    big = np.full(rows, np.nan)
    big[-1] = -199001011234.0  # the only number, in the last block, negative
    pyreadstat.write_dta(pd.DataFrame({"small": small, "big": big, "none": np.full(rows, np.nan),
                                       "text": ["x"] * rows}), str(path))
    values = read_values(path)
    assert [values.largest(i) for i in range(4)] == [49.0, 199001011234.0, None, None]
