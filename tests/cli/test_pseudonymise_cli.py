"""`reglink pseudonymise` through the real CLI on real files; no identifier ever reaches stdout or stderr."""

from __future__ import annotations

import codecs
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from reglink_testing import assert_one_line_error, run_cli

from pseudonym.keys import MIN_SCRYPT_N, create_key_file
from pseudonym.pseudonyms import pseudonymise
from generated_ids import number

PASSPHRASE = "cli test passphrase"
ENV = {"REGLINK_PASSPHRASE": PASSPHRASE}
PROJECT = "demo-2026"


MAN, WOMAN, SAMORDNING, OLD = number("19811218", 987), number("20040229", 124), number("19701063", 239), \
    number("19500505", 555)
BAD_CHECK = MAN[:-1] + str((int(MAN[-1]) + 3) % 10)
ORG, INTERIM = "556036-0793", "20000101-T220"
#: (identifier as written in the file, kommun name with å/ä/ö)
ROWS = [
    (MAN, "Åre"),
    (f"{WOMAN[2:8]}-{WOMAN[8:]}", "Sölvesborg"),
    (f"{SAMORDNING[:8]}-{SAMORDNING[8:]}", "Härnösand"),
    (OLD[2:], "Älmhult"),
    (INTERIM, "Östersund"),
    (ORG, "Göteborg"),
    (BAD_CHECK, "Malmö"),
    ("", "Kalix"),
]
KEPT = 5  # the four persons and the interim number


def forms(identifier: str) -> set[str]:
    """Every way an identifier may be written: 12 or 10 digits, with or without a separator."""
    digits = identifier.replace("-", "").replace("+", "")
    found = {identifier, digits}
    for twelve in ([digits] if len(digits) == 12 else [c + digits for c in ("16", "18", "19", "20")]):
        found |= {twelve, twelve[2:], f"{twelve[:8]}-{twelve[8:]}", f"{twelve[2:8]}-{twelve[8:]}",
                  f"{twelve[2:8]}+{twelve[8:]}", f"{twelve[:8]}+{twelve[8:]}"}
    return found


SECRETS = set().union(*(forms(value) for value, _ in ROWS if value))


def reglink(*args, env=ENV):
    """Run the CLI and check that no identifier, in any written form, appears in what it printed."""
    proc = run_cli(*args, env=env)
    printed = proc.stdout + proc.stderr
    leaked = [secret for secret in SECRETS if secret in printed]
    assert not leaked, "an identifier reached the terminal"
    return proc


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    return create_key_file(tmp_path_factory.mktemp("key") / "project.key", PASSPHRASE, scrypt_n=MIN_SCRYPT_N)


def frame(**extra) -> pd.DataFrame:
    return pd.DataFrame({"kommun": [name for _, name in ROWS], "pnr": [value for value, _ in ROWS],
                         "lopnr": [str(i) for i in range(len(ROWS))], **extra})


def expected(value: str, key_file, reference_date=None) -> str:
    return pseudonymise(value, master_key=key_file.master_key, project=PROJECT, reference_date=reference_date)


def test_latin1_semicolon_csv_to_parquet(tmp_path, key_file):
    source = tmp_path / "placeringar.csv"
    frame().to_csv(source, sep=";", index=False, encoding="latin-1")
    out = tmp_path / "out" / "placeringar.parquet"
    out.parent.mkdir()
    proc = reglink("pseudonymise", source, out, "--column", "pnr", "--key", key_file.path, "--project", PROJECT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    result = pq.read_table(out).to_pandas()
    assert list(result.columns) == ["pseudonym_id", "kommun", "lopnr", "birth_date", "sex", "id_kind"]
    assert result["kommun"].tolist() == [name for _, name in ROWS[:KEPT]]
    assert result["pseudonym_id"].tolist()[:4] == [expected(v, key_file) for v, _ in ROWS[:4]]
    assert result["pseudonym_id"].isna().tolist() == [False] * 4 + [True]
    assert result["id_kind"].tolist() == ["personnummer"] * 2 + ["samordningsnummer", "personnummer", "interim"]
    assert result["birth_date"].tolist()[:3] == [date(1981, 12, 18), date(2004, 2, 29), date(1970, 10, 3)]

    rejects = pd.read_csv(tmp_path / "placeringar.csv.rejects.csv", dtype=str, keep_default_na=False)
    assert rejects.to_dict("list") == {"row": ["6", "7", "8"], "column": ["pnr"] * 3,
                                       "reason": ["organisationsnummer", "checksum", "empty"],
                                       "value": [ORG, BAD_CHECK, ""]}
    for label, n in [("rows read", 8), ("pseudonymised", 4), ("samordningsnummer", 1),
                     ("kept without pseudonym: interim", 1), ("rejected: checksum", 1),
                     ("rejected: organisationsnummer", 1), ("rejected: empty", 1)]:
        assert any(label in line and line.rstrip(" │").endswith(str(n)) for line in proc.stderr.splitlines()), label
    assert "placeringar.csv.rejects.csv" in proc.stderr
    assert not list(out.parent.glob("*rejects*"))  # rejects stay beside the input, in the secure zone


def test_utf8_bom_csv_to_csv_byte_identical_with_one_or_two_workers(tmp_path, key_file):
    source = tmp_path / "in.csv"
    source.write_bytes(codecs.BOM_UTF8 + frame().to_csv(index=False).encode("utf-8"))
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out-{workers}.csv"
        proc = reglink("pseudonymise", source, out, "--column", "pnr", "--key", key_file.path, "--project", PROJECT,
                       "--reference-date", "2010-06-30", "--workers", workers,
                       "--rejects", tmp_path / f"rejects-{workers}.csv")
        assert proc.returncode == 0, proc.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    result = pd.read_csv(tmp_path / "out-1.csv", dtype=str)
    assert result.columns[0] == "pseudonym_id" and "pnr" not in result.columns
    assert result["kommun"].tolist() == [name for _, name in ROWS[:KEPT]]
    assert result["pseudonym_id"].tolist()[:4] == [expected(v, key_file, "2010-06-30") for v, _ in ROWS[:4]]
    assert result["birth_date"].tolist()[3] == "1950-05-05"


def test_parquet_in_and_out_with_a_reference_date_column_and_a_rejects_path(tmp_path, key_file):
    decided = [date(2015, 1, 1)] * len(ROWS)
    source = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pandas(frame(beslut=decided, belopp=list(range(len(ROWS)))), preserve_index=False),
                   source)
    out, rejects = tmp_path / "out.parquet", tmp_path / "secure" / "avvisade.csv"
    rejects.parent.mkdir()
    proc = reglink("pseudonymise", source, out, "--column", "pnr", "--key", key_file.path, "--project", PROJECT,
                   "--reference-date-column", "beslut", "--rejects", rejects)
    assert proc.returncode == 0, proc.stderr
    table = pq.read_table(out)
    assert table.schema.field("belopp").type == pa.int64() and table.schema.field("beslut").type == pa.date32()
    assert table.column("pseudonym_id").to_pylist()[:4] == [expected(v, key_file, "2015-01-01") for v, _ in ROWS[:4]]
    assert len(pd.read_csv(rejects)) == 3
    assert not (tmp_path / "in.parquet.rejects.csv").exists()


def test_no_rejects_no_rejects_file(tmp_path, key_file):
    source = tmp_path / "in.csv"
    frame().iloc[:KEPT].to_csv(source, index=False)
    proc = reglink("pseudonymise", source, tmp_path / "out.parquet", "--column", "pnr", "--key", key_file.path,
                   "--project", PROJECT)
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob("*rejects*")) and "rejected row" not in proc.stderr


BAD_INPUTS = [
    ("missing column", {"csv": "kommun;personnr\nÅre;x\n"}, "no column 'pnr' (columns present: kommun, personnr)"),
    ("empty file", {"csv": ""}, "the file is empty"),
    ("header only", {"csv": "kommun;pnr\n"}, "has a header but no data rows"),
    ("unreadable encoding", {"encoding": "utf-16"}, "is binary, not a text file"),
    ("unknown extension", {"name": "in.xlsx"}, "unknown file type '.xlsx'"),
    ("both reference dates", {"extra": ["--reference-date", "2020-01-01", "--reference-date-column", "kommun"]},
     "not both"),
    ("bad date string", {"extra": ["--reference-date", "2020-02-30"]}, "not a valid date in the form YYYY-MM-DD"),
    ("bad reference column values", {"csv": f"kommun;pnr;beslut\nÅre;{MAN};2020-01-01\nKalix;{MAN};igår\n",
                                     "extra": ["--reference-date-column", "beslut"]},
     "column 'beslut' row 2: no valid YYYY-MM-DD reference date"),
    ("bad project id", {"project": "my project"}, "project id"),
    ("output exists", {"existing_output": True}, "out.parquet: exists already"),
    ("key file missing", {"key": "none.key"}, "no such key file"),
    ("wrong passphrase", {"passphrase": "not the passphrase"}, "wrong passphrase or damaged key file"),
]


@pytest.mark.parametrize(("options", "message"), [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_one_line_and_leaves_nothing_behind(tmp_path, key_file, options, message):
    source = tmp_path / options.get("name", "in.csv")
    source.write_bytes(options.get("csv", f"kommun;pnr\nÅre;{MAN}\nKalix;{ORG}\n").encode(
        options.get("encoding", "utf-8")))
    out = tmp_path / options.get("out", "out.parquet")
    if options.get("existing_output"):
        out.write_bytes(b"earlier")
    key = tmp_path / options["key"] if "key" in options else key_file.path
    before = set(tmp_path.iterdir())
    proc = reglink("pseudonymise", source, out, "--column", "pnr", "--key", key,
                   "--project", options.get("project", PROJECT), *options.get("extra", []),
                   env={"REGLINK_PASSPHRASE": options.get("passphrase", PASSPHRASE)})
    assert message in assert_one_line_error(proc)
    assert set(tmp_path.iterdir()) == before  # no output, no rejects, no partial file
