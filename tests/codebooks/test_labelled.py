"""Stata and SPSS files carry the codebook's labels; read back with pyreadstat they give the same labels and codes."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyreadstat
import pytest

import codebooks
from codebooks import CodebookError

READERS = {"dta": pyreadstat.read_dta, "sav": pyreadstat.read_sav}


@pytest.mark.parametrize("format", ["dta", "sav"])
def test_labels_and_value_labels_round_trip(tmp_path, format):
    codebook = codebooks.load("cohort").select(["kon", "kommun", "fodelsedatum", "fodelsear", "placerad_hela_ak9"])
    frame = pd.DataFrame({
        "kon": ["1", "2", None],
        "kommun": ["0114", "0180", "2584"],
        "fodelsedatum": ["2003-06-25", "1993-04-23", None],
        "fodelsear": ["2003", "1993", None],
        "placerad_hela_ak9": ["1", "0", "0"],
    })
    path = tmp_path / f"cohort.{format}"
    codebooks.write_labelled(frame, codebook, path, format=format)
    data, meta = READERS[format](str(path))
    assert meta.column_names_to_labels == {v.name: v.label.sv for v in codebook.variables}
    assert meta.variable_value_labels == {
        "kon": {1: "Man", 2: "Kvinna"},
        "placerad_hela_ak9": {0: "Nej", 1: "Ja"},
    }
    assert data["kommun"].tolist() == ["0114", "0180", "2584"]               # text codes keep their zeros
    assert data["kon"].tolist()[:2] == [1, 2] and pd.isna(data["kon"].iloc[2])
    assert data["fodelsedatum"].iloc[0] == dt.date(2003, 6, 25)
    assert data["fodelsear"].tolist()[:2] == [2003, 1993]


def test_english_labels_on_request(tmp_path):
    codebook = codebooks.load("placement_measure").select(["lagrum"])
    codebooks.write_labelled(pd.DataFrame({"lagrum": ["5"]}), codebook, tmp_path / "m.sav", format="sav",
                             language="en")
    _data, meta = pyreadstat.read_sav(str(tmp_path / "m.sav"))
    assert meta.column_names_to_labels == {"lagrum": "Legal basis"}
    assert meta.variable_value_labels["lagrum"][5] == "LVU s. 6 emergency care order"


def test_names_too_long_for_stata_are_shortened_and_reported(tmp_path):
    codebook = codebooks.load("education_outcomes").select(["behorig_ekonomi_humanistiska_samhall", "meritvarde"])
    frame = pd.DataFrame({"behorig_ekonomi_humanistiska_samhall": ["1", None], "meritvarde": ["230,5", None]})
    with pytest.raises(CodebookError, match=r"column 'meritvarde': 1 value\(s\) cannot be read as a number"):
        codebooks.write_labelled(frame, codebook, tmp_path / "e.dta", format="dta")
    frame["meritvarde"] = ["230.5", None]
    written = codebooks.write_labelled(frame, codebook, tmp_path / "e.dta", format="dta")
    assert written.names["behorig_ekonomi_humanistiska_samhall"] == "behorig_ekonomi_humanistiska_s"
    data, meta = pyreadstat.read_dta(str(tmp_path / "e.dta"))
    assert list(data.columns) == ["behorig_ekonomi_humanistiska_s", "meritvarde"]
    assert meta.variable_value_labels == {"behorig_ekonomi_humanistiska_s": {0: "Nej", 1: "Ja"}}
    assert data["meritvarde"].iloc[0] == 230.5


def test_a_long_name_after_many_labelled_variables_still_fits(tmp_path):
    """pyreadstat names value-label sets variable + running number: the name must leave room for the number."""
    health = codebooks.load("health_outcomes")
    booleans = [v.name for v in health.variables if v.type == "boolean"]
    codebook = codebooks.combine("t", health.title, [health.select(booleans),
                                                     codebooks.load("education_outcomes").select(
                                                         ["behorig_ekonomi_humanistiska_samhall"])])
    frame = pd.DataFrame({name: ["1", "0"] for name in codebook.names})
    codebooks.write_labelled(frame, codebook, tmp_path / "many.dta", format="dta")
    _, meta = pyreadstat.read_dta(str(tmp_path / "many.dta"))
    assert len(meta.variable_value_labels) == len(codebook.names)


def test_unknown_format_is_refused():
    with pytest.raises(CodebookError, match="unknown labelled format 'xlsx'"):
        codebooks.labelled(pd.DataFrame({"kon": ["1"]}), codebooks.load("cohort").select(["kon"]), format="xlsx")


@pytest.mark.parametrize("format", ["dta", "sav"])
def test_the_files_carry_a_fixed_timestamp_so_the_same_data_give_the_same_bytes(tmp_path, format):
    codebook = codebooks.load("cohort").select(["kon", "fodelsear"])
    frame = pd.DataFrame({"kon": ["1", "2"], "fodelsear": ["2001", "2002"]})
    codebooks.write_labelled(frame, codebook, tmp_path / f"a.{format}", format=format)
    reader = pyreadstat.read_dta if format == "dta" else pyreadstat.read_sav
    data, meta = reader(str(tmp_path / f"a.{format}"))
    assert meta.creation_time.year == 1970 and meta.modification_time.year == 1970
    assert data.to_numpy().tolist() == [[1, 2001], [2, 2002]]
