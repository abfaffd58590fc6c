"""validate() finds every kind of problem in a real file and reports counts and row numbers, never values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import codebooks
from codebooks import CodebookError

# Skatteverket's test personnummer (never assigned to a real person).
PNR = ["771207-2391", "030625-2396", "930423-2383"]

GOOD_MEASURES = """\
redovisningsar;kommun;personnr;insats_nr;lagrum;beslutsdatum;startdatum;slutdatum;avslutsorsak
2021;0180;771207-2391;1;1;20210105;20210110;20210601;1
2021;0114; 030625-2396 ;1;5;20210301;20210301;;
2022;2584;20100101-T412;2;3;20220115;20220120;20221231;9
"""

# One problem of each kind, each on its own row (data rows are numbered from 1):
#  row 1: kommun not a code          row 2: insats_nr not an integer    row 3: lagrum unknown
#  row 4: beslutsdatum impossible    row 5: redovisningsar out of range row 6: personnr wrong format
#  row 7: personnr missing (required)
BAD_MEASURES = """\
redovisningsar;kommun;personnr;insats_nr;lagrum;beslutsdatum;startdatum;slutdatum;avslutsorsak;extra
2021;9999;771207-2391;1;1;20210105;20210110;;;x
2021;0114;030625-2396;ett;1;20210105;20210110;;;x
2021;0114;930423-2383;1;7;20210105;20210110;;;x
2021;0114;930423-2383;1;1;20210231;20210110;;;x
1950;0114;930423-2383;1;1;20210105;20210110;;;x
2021;0114;93-04-23/2383;1;1;20210105;20210110;;;x
2021;0114;;1;1;20210105;20210110;;;x
"""


def read_text_csv(path: Path) -> pa.Table:
    """A CSV as the ingest reads it: every column as text, empty fields as null."""
    header = path.read_text(encoding="latin-1").splitlines()[0].split(";")
    return pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="latin-1"),
                          parse_options=pacsv.ParseOptions(delimiter=";"),
                          convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                               strings_can_be_null=True))


@pytest.fixture
def measures(tmp_path) -> tuple[pa.Table, pa.Table]:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD_MEASURES, encoding="latin-1")
    bad.write_text(BAD_MEASURES, encoding="latin-1")
    return read_text_csv(good), read_text_csv(bad)


def test_a_file_that_follows_its_codebook_passes(measures):
    report = codebooks.validate(measures[0], codebooks.load("placement_measure"))
    assert report.ok, report.to_text()
    assert report.rows == 3
    assert report.to_text() == "codebook placement_measure: 3 row(s) checked, no problems\n"


def test_each_kind_of_problem_is_found_with_its_row_numbers(measures):
    report = codebooks.validate(measures[1], codebooks.load("placement_measure"))
    found = {(p.variable, p.problem): (p.count, p.rows) for p in report.issues}
    assert found == {
        ("redovisningsar", "out_of_range"): (1, (5,)),
        ("kommun", "unknown_category"): (1, (1,)),
        ("personnr", "missing_value"): (1, (7,)),
        ("personnr", "pattern_mismatch"): (1, (6,)),
        ("insats_nr", "wrong_type"): (1, (2,)),
        ("lagrum", "unknown_category"): (1, (3,)),
        ("beslutsdatum", "wrong_type"): (1, (4,)),
        ("extra", "unknown_column"): (0, ()),
    }
    assert not report.ok
    tidy = report.problems
    assert list(tidy.columns) == ["variable", "problem", "count", "example_rows", "detail"]
    assert tidy.loc[tidy["variable"] == "kommun", "example_rows"].item() == [1]


def test_a_missing_required_column_is_reported(measures):
    report = codebooks.validate(measures[0].drop_columns(["lagrum"]), codebooks.load("placement_measure"))
    assert [(p.variable, p.problem) for p in report.issues] == [("lagrum", "missing_column")]


def test_the_report_names_rows_never_values_and_says_nothing_about_identifier_formats(measures):
    report = codebooks.validate(measures[1], codebooks.load("placement_measure"))
    text = report.to_text() + report.problems.to_string()
    for value in ("9999", "ett", "20210231", "1950", "93-04-23/2383", "771207", "030625", "930423"):
        assert value not in text
    identifier = [p for p in report.issues if p.variable == "personnr"]
    assert identifier and all(p.detail == "" for p in identifier)
    assert codebooks.load("placement_measure").variable("personnr").pattern not in text
    identifier_lines = [line for line in report.to_text().splitlines() if "personnr" in line]
    assert all(line.endswith(("rows 6", "rows 7")) for line in identifier_lines)  # no detail after the rows
    assert "(not a code of the code list 'kommun')" in report.to_text()


def test_at_most_five_example_rows_but_every_row_is_counted():
    table = pa.table({"kon": ["3"] * 12 + ["1"]})
    [problem] = codebooks.validate(table, codebooks.load("population").select(["kon"])).issues
    assert problem.count == 12
    assert problem.rows == (1, 2, 3, 4, 5)


def test_typed_parquet_columns_validate_like_text(tmp_path):
    population = codebooks.load("population")
    table = pa.table({
        "personnummer": ["197712072391", "200306252396"],
        "kon": ["1", "2"],
        "fodelsedatum": pa.array([dt.date(1977, 12, 7), dt.date(1880, 6, 25)], pa.date32()),
        "fornamn": ["Test", "Test"], "efternamn": ["Testsson", "Testsson"],
        "fodelseland": ["SE", "NO"], "fodelseland_mor": ["SE", "XX"], "fodelseland_far": ["FI", "SE"],
        "folkbokford": pa.array([True, False]),
        "invandringsdatum": pa.array([None, None], pa.date32()),
        "utvandringsdatum": pa.array([None, None], pa.date32()),
        "dodsdatum": pa.array([None, dt.date(2020, 1, 1)], pa.date32()),
    })
    pq.write_table(table, tmp_path / "population.parquet")
    report = codebooks.validate(pq.read_table(tmp_path / "population.parquet"), population)
    assert [(p.variable, p.problem, p.rows) for p in report.issues] == [("fodelsedatum", "out_of_range", (2,))]
    wrong = table.set_column(2, "fodelsedatum", pa.array([True, False]))
    assert ("fodelsedatum", "wrong_type") in {(p.variable, p.problem) for p in
                                                codebooks.validate(wrong, population).issues}


def test_pandas_frames_give_the_same_report_as_arrow_tables(measures):
    codebook = codebooks.load("placement_measure")
    from_arrow = codebooks.validate(measures[1], codebook)
    from_pandas = codebooks.validate(measures[1].to_pandas(), codebook)
    assert from_arrow == from_pandas


@pytest.mark.parametrize(("codebook", "column", "values", "bad_rows"), [
    ("lvm_discharge", "vardtid_manader", ["3,5", "12", "0,25", "3.5", "tre", "1,2,3"], (4, 5, 6)),
    ("lvm_emergency", "faststallt", ["1", "0", "true", "False", "2", "ja"], (5, 6)),
    ("patient", "indatum", ["20200101", "20200229", "20210229", "2020-01-01", "2020011", "20201301"], (3, 4, 5, 6)),
    ("pnr_changes", "andringsdatum", ["2020-01-01", "2020-1-1", "20200101", "2020-02-30", "2020-12-31", "x"],
     (2, 3, 4, 6)),
    ("grades_year9", "avgangsar", ["2019", "+2019", "2019.0", "19 ", "-", "2019x"], (3, 5, 6)),
])
def test_one_parser_per_type_accepts_exactly_the_written_forms(codebook, column, values, bad_rows):
    variable = codebooks.load(codebook).variable(column)
    report = codebooks.validate(pa.table({column: values}), codebooks.load(codebook).select([column]))
    wrong = [p for p in report.issues if p.problem == "wrong_type"]
    assert wrong and wrong[0].rows == bad_rows, (variable.name, report.to_text())


def test_cast_types_every_column_and_keeps_the_frame_kind(measures):
    codebook = codebooks.load("placement_measure")
    typed = codebooks.cast(measures[0].to_pandas(), codebook)
    assert str(typed["redovisningsar"].dtype) == "Int64"
    assert str(typed["startdatum"].dtype) == "datetime64[ns]"
    assert typed["startdatum"].iloc[0] == pd.Timestamp("2021-01-10")
    assert typed["slutdatum"].isna().tolist() == [False, True, False]
    assert str(typed["lagrum"].dtype) == "string"
    assert typed["kommun"].tolist() == ["0180", "0114", "2584"]
    arrow = codebooks.cast(measures[0], codebook)
    assert arrow.schema.field("startdatum").type == pa.date32()
    assert arrow.schema.field("insats_nr").type == pa.int64()

    discharge = codebooks.load("lvm_discharge").select(["vardtid_manader", "vard_annan_form"])
    typed = codebooks.cast(pd.DataFrame({"vardtid_manader": ["3,5", None], "vard_annan_form": ["1", "0"]}), discharge)
    assert typed["vardtid_manader"].iloc[0] == 3.5 and pd.isna(typed["vardtid_manader"].iloc[1])
    assert str(typed["vard_annan_form"].dtype) == "boolean"
    assert typed["vard_annan_form"].tolist() == [True, False]


def test_cast_refuses_unreadable_values_and_unknown_columns_without_quoting_them(measures):
    codebook = codebooks.load("placement_measure")
    with pytest.raises(CodebookError, match=r"column 'insats_nr': 1 value\(s\) cannot be read as an integer "
                                            r"\(rows 2\)") as error:
        codebooks.cast(measures[1].drop_columns(["extra"]), codebook)
    assert "ett" not in str(error.value)
    with pytest.raises(CodebookError, match="column 'extra' is not in codebook 'placement_measure'"):
        codebooks.cast(measures[1], codebook)


def test_missing_value_codes_count_as_missing():
    data = codebooks.to_dict(codebooks.load("lvm_emergency").select(["kommun"]))
    data["variables"][0]["missing_values"] = ["."]
    codebook = codebooks.from_dict(data)
    report = codebooks.validate(pa.table({"kommun": ["0180", ".", None]}), codebook)
    assert [(p.problem, p.rows) for p in report.issues] == [("missing_value", (2, 3))]


def test_one_pass_validates_and_types_and_can_name_every_row(measures):
    codebook = codebooks.load("placement_measure")
    good = codebooks.validate(measures[0], codebook, cast=True)
    assert good.typed.equals(codebooks.cast(measures[0], codebook))
    some = codebooks.validate(measures[0], codebook, cast=["startdatum", "lagrum"])
    assert some.typed.column_names == ["lagrum", "startdatum"]
    assert codebooks.validate(measures[0], codebook).typed is None
    many = pa.table({"kon": ["3"] * 12 + ["1"]})
    [problem] = codebooks.validate(many, codebooks.load("population").select(["kon"]), examples=None).issues
    assert problem.rows == tuple(range(1, 13))


def test_long_columns_checked_once_per_distinct_value_give_the_same_rows():
    # 40,000 rows of a few codes: each distinct value is parsed and checked once, the rows follow.
    codebook = codebooks.load("placement_measure").select(["lagrum", "beslutsdatum", "redovisningsar"])
    n = 40_000
    lagrum = ["1", "2", "3", "9"] * (n // 4)
    dates = ["20210105", "20210231", "20220101", None] * (n // 4)
    years = ["2021", "1950", " 2022", "x"] * (n // 4)
    table = pa.table({"lagrum": lagrum, "beslutsdatum": dates, "redovisningsar": years})
    report = codebooks.validate(table, codebook, examples=None, cast=True)
    found = {(p.variable, p.problem): p.rows for p in report.issues}
    assert found[("lagrum", "unknown_category")] == tuple(range(4, n + 1, 4))
    assert found[("beslutsdatum", "wrong_type")] == tuple(range(2, n + 1, 4))
    assert found[("redovisningsar", "out_of_range")] == tuple(range(2, n + 1, 4))
    assert found[("redovisningsar", "wrong_type")] == tuple(range(4, n + 1, 4))
    assert report.typed.equals(pa.table({name: codebooks.validate(table.slice(0, 8), codebook, cast=True)
                                         .typed[name].to_pylist() * (n // 8) for name in table.column_names},
                                        schema=report.typed.schema))
