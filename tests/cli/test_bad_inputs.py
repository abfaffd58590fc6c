"""The bad-input corpus (tests/data/bad/) through the real CLI: awkward files are read whole, broken ones give one line.

Valid-but-awkward files (latin-1, cp1252, `;` with decimal commas, BOM, CRLF, mixed line endings, a 10 MB field) must
come out complete: every input row is in the output or counted in the rejects. Broken files (missing or duplicate
columns, empty, header only, binary, truncated Parquet, wrong types, mixed date formats) give one error line naming
the problem (and the row and column where there is one), a non-zero exit, no traceback and no output. No
identifier from the input may appear in anything printed. Binary and large inputs are generated here, not
committed. The identifiers are generated (tests/generated_ids.py), never a real person's.
"""

from __future__ import annotations

import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from reglink_testing import assert_one_line_error, run_cli

from pseudonym.keys import MIN_SCRYPT_N, create_key_file

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
PASSPHRASE = "bad input passphrase"
ENV = {"REGLINK_PASSPHRASE": PASSPHRASE}
PROJECT = "bad-2026"
IDENTIFIER = re.compile(rb"(?<![0-9])(?:[0-9]{2})?[0-9]{6}[-+]?[0-9]{4}(?![0-9])")
LINK_CONFIG = ("blocking: [[{block}]]\n"
               "comparisons:\n"
               "  - {{field: {field}, method: {method}}}\n")


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> Path:
    return create_key_file(tmp_path_factory.mktemp("key") / "bad.key", PASSPHRASE, scrypt_n=MIN_SCRYPT_N).path


def corpus(name: str, folder: Path) -> Path:
    """A copy of a corpus file in `folder` (pseudonymise writes its rejects beside the input)."""
    return Path(shutil.copy(BAD / name, folder / name))


def identifiers_in(*paths: Path) -> set[str]:
    """Every identifier written in the files, in each of its forms (12 and 10 digits, with and without separator)."""
    found = set()
    for path in paths:
        for match in IDENTIFIER.findall(path.read_bytes()):
            digits = match.decode().replace("-", "").replace("+", "")
            ten = digits[-10:]
            found |= {match.decode(), digits, ten, f"{ten[:6]}-{ten[6:]}", f"{ten[:6]}+{ten[6:]}"}
            if len(digits) == 12:
                found |= {f"{digits[:8]}-{digits[8:]}"}
    return found


def reglink(*args, inputs: tuple[Path, ...] = ()):
    """Run the CLI; nothing printed may hold an identifier of the inputs, nor a traceback."""
    proc = run_cli(*args, env=ENV)
    printed = proc.stdout + proc.stderr
    assert not [secret for secret in identifiers_in(*inputs) if secret in printed], "an identifier was printed"
    assert "Traceback" not in printed
    return proc


def pseudonymise(source: Path, key: Path, column: str, *extra, out: str = "out.parquet"):
    return reglink("pseudonymise", source, source.parent / out, "--column", column, "--key", key, "--project",
                   PROJECT, *extra, inputs=(source,))


def validate(source: Path, codebook: str):
    return reglink("codebook", "validate", source, "--codebook", codebook, inputs=(source,))


def link(left: Path, right: Path, *, block: str, field: str, method: str = "jarowinkler", out: str = "pairs.csv"):
    config = left.parent / "link.yaml"
    config.write_text(LINK_CONFIG.format(block=block, field=field, method=method), encoding="utf-8")
    return reglink("link", left, right, "--config", config, "--out", left.parent / out, inputs=(left, right))


def output_rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def rejects(source: Path) -> list[str]:
    path = source.with_name(f"{source.name}.rejects.csv")
    return path.read_text(encoding="utf-8").splitlines()[1:] if path.exists() else []


def data_rows(source: Path, encoding: str = "utf-8") -> int:
    """Data rows of a CSV file, counting \\n, \\r\\n and a lone \\r as line ends."""
    return len(source.read_bytes().decode(encoding).lstrip("\ufeff").splitlines()) - 1


def broken(source: Path, key: Path, commands: str, *, right: Path | None = None) -> list[str]:
    """The one error line of each command ("pseudonymise validate link") on a broken file; nothing may be written.

    Each failure is checked through at least two commands; together the tests put each command through each kind.
    """
    runs = {"pseudonymise": lambda: pseudonymise(source, key, "personnummer"),
            "validate": lambda: validate(source, "lvm_application"),
            "link": lambda: link(source, right, block="personnummer", field="kommun")}
    before = set(os.listdir(source.parent))
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(lambda name: runs[name](), commands.split()))
    assert set(os.listdir(source.parent)) - {"link.yaml"} == before, "a failed run left output behind"
    return [assert_one_line_error(proc) for proc in procs]


@pytest.fixture()
def right(tmp_path) -> Path:
    """A small, valid right-hand table for `reglink link`."""
    path = tmp_path / "right.csv"
    path.write_text("personnummer;kommun;namn\n811218-9876;0180;Åsa\n990101-0026;2584;Erik\n", encoding="utf-8")
    return path


# Valid but awkward: every row read, text decoded right.

def test_latin1(tmp_path, key):
    source = corpus("latin1.csv", tmp_path)
    proc = pseudonymise(source, key, "pnr")
    assert proc.returncode == 0, proc.stderr
    rows = output_rows(tmp_path / "out.parquet")
    assert [r["kommunnamn"] for r in rows] == ["Malmö", "Östersund", "Härnösand"]
    assert [r["namn"] for r in rows] == ["Åsa Öberg", "Jörgen Ärlig", "Björn Ågren"]
    assert [line.split(",")[:3] for line in rejects(source)] == [["4", '"pnr"', '"checksum"']]
    assert len(rows) + len(rejects(source)) == data_rows(source, "latin-1") == 4


def test_latin1_names_link_one_to_one_to_the_same_names_in_utf8(tmp_path):
    source = corpus("latin1.csv", tmp_path)
    twin = tmp_path / "twin.csv"  # the same names written as UTF-8 must link one to one
    twin.write_text(source.read_bytes().decode("latin-1"), encoding="utf-8")
    proc = link(source, twin, block="kommunnamn", field="namn", method="exact")
    assert proc.returncode == 0, proc.stderr
    pairs = (tmp_path / "pairs.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert [tuple(p.split(",")[:2]) for p in pairs] == [("0", "0"), ("1", "1"), ("2", "2"), ("3", "3")]


def test_cp1252(tmp_path, key):
    source = corpus("cp1252.csv", tmp_path)
    proc = pseudonymise(source, key, "pnr")
    assert proc.returncode == 0, proc.stderr
    rows = output_rows(tmp_path / "out.parquet")
    assert [r["anteckning"] for r in rows] == [
        "Jourhem – 1 200 € per dygn, ny kontakt", "Föräldrarnas ’önskemål’ noterat", "Ingen"]
    assert [r["namn"] for r in rows] == ["Åke Nyström", "Gun-Britt Ödman", "Sören Älvdal"]
    assert len(rows) == data_rows(source, "cp1252") and not rejects(source)


def test_semicolon_delimiter_with_decimal_commas(tmp_path, key):
    source = corpus("semicolon_decimal_comma.csv", tmp_path)
    proc = validate(source, "lvm_discharge")  # vardtid_manader is a number written 3,5: read as one
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{data_rows(source)} row(s) checked, no problems" in proc.stdout


def test_utf8_bom(tmp_path, key):
    source = corpus("bom.csv", tmp_path)
    assert source.read_bytes().startswith(b"\xef\xbb\xbf")
    proc = pseudonymise(source, key, "personnummer", "--reference-date-column", "beslutsdatum")  # the BOM's column
    assert proc.returncode == 0, proc.stderr
    rows = output_rows(tmp_path / "out.parquet")
    assert len(rows) == data_rows(source) == 2 and not rejects(source)
    assert not [name for name in pq.read_schema(tmp_path / "out.parquet").names if "\ufeff" in name]


def test_crlf(tmp_path, key):
    source = corpus("crlf.csv", tmp_path)
    assert b"\r\n" in source.read_bytes()
    proc = validate(source, "lvm_application")  # a \r left on the last field would be an unknown category
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{data_rows(source)} row(s) checked, no problems" in proc.stdout


def test_mixed_line_endings(tmp_path, key):
    source = corpus("mixed_line_endings.csv", tmp_path)
    proc = pseudonymise(source, key, "personnummer", "--reference-date-column", "beslutsdatum")
    assert proc.returncode == 0, proc.stderr
    rows = output_rows(tmp_path / "out.parquet")
    assert [r["kommun"] for r in rows] == ["0180", "2584", "1280", "0114"]
    assert [r["missbruk"] for r in rows] == ["4", "1", "2", "3"]
    assert len(rows) == data_rows(source) and not rejects(source)


def test_ten_megabyte_single_field(tmp_path, key):
    source = tmp_path / "big.csv"
    field = "Anteckning " * (10 * 1024 * 1024 // 11 + 1)
    source.write_text(f"pnr;anteckning\n811218-9876;{field}\n990101-0026;kort\n", encoding="utf-8")
    proc = pseudonymise(source, key, "pnr", "--reference-date", "2025-12-31")
    assert proc.returncode == 0, proc.stderr
    rows = output_rows(tmp_path / "out.parquet")
    assert [len(r["anteckning"]) for r in rows] == [len(field), 4] and rows[0]["anteckning"] == field
    assert not rejects(source)


# Broken: one line naming the problem, non-zero exit, nothing written.

def test_missing_required_column(tmp_path, key):
    source = corpus("missing_column.csv", tmp_path)
    line = assert_one_line_error(pseudonymise(source, key, "personnummer"))
    assert line.endswith("missing_column.csv: no column 'personnummer' (columns present: pnr, kommun, "
                         "beslutsdatum, utfall, grund, missbruk)")
    proc = validate(source, "lvm_application")
    assert "does not match codebook lvm_application" in assert_one_line_error(proc)
    assert re.search(r"personnummer +missing_column", proc.stdout)
    assert sorted(os.listdir(tmp_path)) == ["missing_column.csv"]


def test_duplicate_column_names(tmp_path, key, right):
    source = corpus("duplicate_columns.csv", tmp_path)
    for line in broken(source, key, "validate link", right=right):
        assert line.endswith("duplicate_columns.csv: duplicate column names (repeated: kommun)")


def test_empty_file(tmp_path, key, right):
    source = corpus("empty.csv", tmp_path)
    for line in broken(source, key, "pseudonymise validate", right=right):
        assert line.endswith("empty.csv: the file is empty")


def test_header_only(tmp_path, key, right):
    source = corpus("header_only.csv", tmp_path)
    for line in broken(source, key, "pseudonymise link", right=right):
        assert line.endswith("header_only.csv: has a header but no data rows")


@pytest.mark.parametrize(("name", "commands", "message"), [
    ("garbage.csv", "pseudonymise validate", "garbage.csv: is binary, not a text file"),
    ("garbage.parquet", "link validate", "garbage.parquet: is not a readable Parquet file (truncated or damaged?)"),
])
def test_binary_garbage(tmp_path, key, right, name, commands, message):
    source = tmp_path / name
    source.write_bytes(b"\x00\x01PK\x03\x04" + bytes(range(256)) * 16)
    for line in broken(source, key, commands, right=right):
        assert line.endswith(message)


def test_truncated_parquet(tmp_path, key, right):
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"personnummer": ["811218-9876", "990101-0026"] * 500, "kommun": ["0180"] * 1000}), whole)
    source = tmp_path / "truncated.parquet"
    source.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    whole.unlink()
    for line in broken(source, key, "pseudonymise link", right=right):
        assert line.endswith("truncated.parquet: is not a readable Parquet file (truncated or damaged?)")


def test_wrong_types(tmp_path, key):
    source = corpus("wrong_types.csv", tmp_path)
    proc = validate(source, "lvm_discharge")
    assert assert_one_line_error(proc).endswith("does not match codebook lvm_discharge: 4 problems")
    assert "3 row(s) checked" in proc.stdout
    for column, problem, row in [("inskrivningsdatum", "wrong_type", 2), ("vardtid_manader", "wrong_type", 1),
                                 ("utskrivningsorsak", "unknown_category", 3), ("vard_annan_form", "wrong_type", 3)]:
        assert re.search(rf"{column} +{problem} +1 row\(s\) +rows {row} \(", proc.stdout), column
    assert sorted(os.listdir(tmp_path)) == ["wrong_types.csv"]


def test_identifier_column_of_the_wrong_type_in_parquet(tmp_path, key):
    source = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"pnr": [True, False], "kommun": ["0180", "2584"]}), source)
    line = assert_one_line_error(pseudonymise(source, key, "pnr"))
    assert "column 'pnr'" in line and "internal error" not in line
    assert sorted(os.listdir(tmp_path)) == ["typed.parquet"]


def test_dates_in_mixed_formats(tmp_path, key):
    source = corpus("mixed_dates.csv", tmp_path)
    proc = validate(source, "lvm_application")
    assert assert_one_line_error(proc).endswith("does not match codebook lvm_application: 1 problems")
    assert re.search(r"beslutsdatum +wrong_type +4 row\(s\) +rows 2, 3, 4, 5 \(not a date", proc.stdout)

    line = assert_one_line_error(pseudonymise(source, key, "personnummer", "--reference-date-column",
                                              "beslutsdatum"))
    assert "column 'beslutsdatum' row 2: no valid YYYY-MM-DD reference date" in line
    assert sorted(os.listdir(tmp_path)) == ["mixed_dates.csv"]

    right = tmp_path / "right.csv"
    right.write_text("kommun;beslutsdatum\n0180;2021-01-05\n2584;2021-02-05\n", encoding="utf-8")
    proc = link(source, right, block="kommun", field="beslutsdatum", method="date")
    assert proc.returncode == 0, proc.stderr  # linkage compares what it can read and counts the rest
    assert re.search(r"values of beslutsdatum not readable as its type +│ +[1-4] ", proc.stderr)


@pytest.mark.parametrize(("name", "expected"), [
    ("request_syntax_error.yaml", r"request_syntax_error\.yaml, line 13: not valid YAML \("),
    ("request_unknown_key.yaml", r"request_unknown_key\.yaml, line 40: colour: unknown key \(allowed: "),
])
def test_a_broken_request_is_one_line_before_anything_is_read(tmp_path, name, expected):
    request = corpus(name, tmp_path)
    proc = run_cli("extract", request, "--data", tmp_path / "no-world", "--key", tmp_path / "no.key",
                   "--out", tmp_path / "extract")
    assert re.search(expected, assert_one_line_error(proc))
    assert sorted(os.listdir(tmp_path)) == [name]
