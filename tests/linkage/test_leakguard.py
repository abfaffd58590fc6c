"""The leak guard on real files: every written form of a number, in every file type we write, and no false alarms."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyreadstat
import pytest
from generated_ids import number
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage._tokens import SEPARATORS, tokens
from linkage.extract.leakguard import (
    INPUT_IDENTIFIER,
    PERSONNUMMER,
    SAMORDNINGSNUMMER,
    KnownIdentifiers,
    LeakError,
    Scanner,
    assert_no_identifiers,
    find_identifiers,
    scan_folder,
)
from linkage.io import write_parquet

PERSON = number("19990704", 381)  # generated, never a real person's
COORDINATION = number("20010663", 214)  # samordningsnummer: day 03 + 60


def forms(canonical: str) -> list[str]:
    """Every way a 12-digit number is written: 12 or 10 digits, no separator, `-`, `+` or a space."""
    long_, short = canonical, canonical[2:]
    return [long_, short, *(f"{long_[:8]}{sep}{long_[8:]}" for sep in "-+ "),
            *(f"{short[:6]}{sep}{short[6:]}" for sep in "-+ ")]


def clean_extract(folder: Path, persons: int = 20_000) -> Path:
    """An extract-like folder full of hex pseudonyms, SHA-256 sums, years, counts and dates, and no identifier."""
    rng = np.random.default_rng(5)
    data = folder / "data"
    data.mkdir(parents=True)
    table = pa.table({
        "pseudonym_id": [secrets.token_hex(16) for _ in range(persons)],
        "fodelsear": rng.integers(1998, 2009, persons),
        "kommun": [f"{k:04d}" for k in rng.integers(114, 2584, persons)],
        "dagar_i_vard": rng.integers(0, 5000, persons),
        "startdatum": [f"{y}-{m:02d}" for y, m in zip(rng.integers(1998, 2025, persons), rng.integers(1, 13, persons),
                                                       strict=True)],
        "andel": rng.random(persons),
    })
    write_parquet(table, data / "persons.parquet", unique_columns=["pseudonym_id"])
    pacsv.write_csv(table, data / "persons.csv")
    pyreadstat.write_dta(table.to_pandas(), str(data / "persons.dta"))
    sums = "\n".join(f"{hashlib.sha256(str(i).encode()).hexdigest()}  file{i}" for i in range(200))
    (folder / "codebook.md").write_text(f"# Codebook\n\n| var | n |\n|---|---|\n| kon | 20000 |\n\n{sums}\n")
    (folder / "codebook.html").write_text(f"<table><tr><td>{secrets.token_hex(16)}</td><td>2008-12-31</td></tr></table>")
    (folder / "datapackage.json").write_text(json.dumps({"hash": hashlib.sha256(b"x").hexdigest(), "rows": persons}))
    return folder


def test_every_written_form_is_found_as_a_whole_token():
    for written in forms(PERSON):
        assert find_identifiers(f"x {written};") == {PERSONNUMMER: 1}, written
        assert find_identifiers(f"<td>{written}</td>") == {PERSONNUMMER: 1}, written
    for written in forms(COORDINATION):
        assert find_identifiers(f'"{written}"') == {SAMORDNINGSNUMMER: 1}, written


def test_a_letter_or_digit_touching_the_number_makes_it_another_token():
    for text in (f"a{PERSON}", f"{PERSON}b", f"1{PERSON}", f"{PERSON[2:]}7", f"{secrets.token_hex(10)}{PERSON}"):
        assert not find_identifiers(text), text


def test_numbers_that_cannot_be_a_personnummer_are_not_flagged():
    broken = PERSON[:-1] + str((int(PERSON[-1]) + 1) % 10)
    month_13 = "19991304" + PERSON[8:]
    day_32 = "19990732" + PERSON[8:]
    century_37 = "37" + PERSON[2:]
    for text in (broken, month_13, day_32, century_37):
        assert not find_identifiers(text), text


#: The tokeniser's specification (`linkage/_tokens.c` implements it in one pass that releases Python's lock).
SPECIFICATION = re.compile(rb"[A-Za-z0-9]{6,}(?:(?:" + b"|".join(map(re.escape, SEPARATORS))
                           + rb")[A-Za-z0-9]{4}(?![A-Za-z0-9]))?")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"Z", b"q", b"0", b"7", b"19900101", b"1234", b"abcde", b"\n", b";", b"\xc2",
                                 b"\xe2\x80", b"\x93", b"\xff", *SEPARATORS]), max_size=60).map(b"".join))
def test_the_tokeniser_finds_what_its_regular_expression_finds(data):
    starts, offsets, values = tokens(data)
    found = np.frombuffer(offsets, np.int64)
    expected = list(SPECIFICATION.finditer(data))
    assert np.frombuffer(starts, np.int64).tolist() == [match.start() for match in expected]
    assert [values[a:b] for a, b in zip(found[:-1], found[1:])] == [match.group().upper() for match in expected]


@settings(max_examples=60, deadline=None)
@given(born=st.dates(date(1890, 1, 1), date(2030, 12, 31)), nnn=st.integers(0, 999), coordination=st.booleans(),
       context=st.sampled_from(["{}", " {} ", "id={}&", "|{}|", '"{}",', "\t{}\r\n", "({})", "_{}_"]))
def test_any_generated_number_is_found_in_any_form(born, nnn, coordination, context):
    canonical = number(f"{born:%Y%m}{born.day + 60 * coordination:02d}", nnn)
    for written in forms(canonical):
        found = find_identifiers(context.format(written))
        assert found == {SAMORDNINGSNUMMER if coordination else PERSONNUMMER: 1}, (context, written)


def test_skatteverket_test_numbers_are_all_found(shared):
    meta = shared / "reference" / "personnummer-meta"
    pins = json.loads((meta / "allPins.json").read_text())
    coords = json.loads((meta / "allCoords.json").read_text())  # month 00 and day 60 included
    assert sum(find_identifiers("\n".join(pins)).values()) == len(pins)
    assert sum(find_identifiers("\n".join(f"{c[2:8]}-{c[8:]}" for c in coords)).values()) == len(coords)


def test_hex_pseudonyms_and_checksums_never_false_positive(tmp_path):
    folder = clean_extract(tmp_path / "extract")
    known = KnownIdentifiers([PERSON, COORDINATION, "19810829M071", "20000101-T220"])
    assert scan_folder(folder, known) == []
    assert_no_identifiers(folder, known)


def test_input_identifiers_of_any_kind_are_found_in_both_lengths():
    reserve, temporary = "19810829M071", "20000101-T220"
    broken = PERSON[:-1] + str((int(PERSON[-1]) + 1) % 10)  # a typo'd check digit: no shape, still an input
    known = KnownIdentifiers(pa.array([f" {reserve} ", temporary, broken, None]))
    for written in ("19810829M071", "810829-M071", "810829m071", "20000101T220", "000101-T220", *forms(broken)):
        assert find_identifiers(f"({written})", known) == {INPUT_IDENTIFIER: 1}, written
    assert not find_identifiers(f"x{reserve}", known)
    assert not find_identifiers(forms(broken)[0])  # without the inputs, a wrong check digit is not a personnummer


def test_identifiers_too_short_to_search_for_are_counted_not_matched():
    known = KnownIdentifiers(["123", "4567", "", PERSON])
    assert known.too_short == 2 and len(known) == 1
    assert not find_identifiers("123 4567 2025", known)


def test_ten_digit_inputs_are_found_written_with_a_century():
    known = KnownIdentifiers([f"{PERSON[2:8]}-{PERSON[8:]}"])
    assert find_identifiers(PERSON, known)[INPUT_IDENTIFIER] == 1


def planted_csv(folder: Path, written: str) -> None:
    (folder / "persons.csv").write_text(f"pseudonym_id,note\n{secrets.token_hex(16)},ok\n{secrets.token_hex(16)},"
                                        f"\"see {written}\"\n")


def planted_parquet_column(folder: Path, written: str) -> None:
    """Inside a compressed column, neither its smallest nor its largest value (so not in the statistics either)."""
    values = [f"0-{i:05d}" for i in range(3000)] + [written] + [f"z-{i:05d}" for i in range(3000)]
    path = folder / "persons.parquet"
    write_parquet(pa.table({"note": values}), path)
    assert written.encode() not in path.read_bytes()  # only the decoded values show it


def planted_parquet_integer(folder: Path, written: str) -> None:
    write_parquet(pa.table({"id": pa.array([1, int(written.replace("-", "")), 3], pa.int64())}), folder / "p.parquet")


def planted_parquet_metadata(folder: Path, written: str) -> None:
    schema = pa.schema([pa.field("kon", pa.int8(), metadata={"example": written})], metadata={"note": written})
    write_parquet(pa.table({"kon": pa.array([1, 2], pa.int8())}, schema=schema), folder / "meta.parquet")


def planted_stata_string(folder: Path, written: str) -> None:
    pyreadstat.write_dta(pd.DataFrame({"note": ["a", written]}), str(folder / "persons.dta"))


def planted_stata_number(folder: Path, written: str) -> None:
    pyreadstat.write_dta(pd.DataFrame({"id": [float(written.replace("-", "")), 2.0]}), str(folder / "n.dta"))


def planted_stata_label(folder: Path, written: str) -> None:
    pyreadstat.write_dta(pd.DataFrame({"kon": [1, 2]}), str(folder / "l.dta"), column_labels=[f"e.g. {written}"])


def planted_text(name: str, template: str):
    def plant(folder: Path, written: str) -> None:
        (folder / name).write_text(template.format(written))
    return plant


PLANTERS = {
    "csv": planted_csv,
    "parquet column": planted_parquet_column,
    "parquet int64": planted_parquet_integer,
    "parquet metadata": planted_parquet_metadata,
    "stata string": planted_stata_string,
    "stata double": planted_stata_number,
    "stata label": planted_stata_label,
    "markdown": planted_text("codebook.md", "# Codebook\n\nExample: `{}`\n"),
    "html": planted_text("codebook.html", "<html><body><td>{}</td></body></html>"),
    "json": planted_text("datapackage.json", '{{"example": "{}"}}'),
}
NUMERIC_ONLY = {"parquet int64", "stata double"}  # a number column holds the digits, not the separators


@pytest.mark.parametrize("where", sorted(PLANTERS))
def test_a_planted_number_is_found_wherever_it_is_written(tmp_path, where):
    known = KnownIdentifiers([PERSON])
    for i, written in enumerate(forms(PERSON)[:2] if where in NUMERIC_ONLY else forms(PERSON)):
        folder = tmp_path / f"{i}"
        folder.mkdir()
        PLANTERS[where](folder, written)
        with pytest.raises(LeakError) as caught:
            assert_no_identifiers(folder, known)
        message = str(caught.value)
        assert PERSONNUMMER in message and INPUT_IDENTIFIER in message, (where, written)
        assert all(form not in message for form in forms(PERSON)), message
        assert "\n" not in message


def test_a_planted_input_identifier_is_found_in_compressed_parquet(tmp_path):
    reserve = "19810829M071"
    planted_parquet_column(tmp_path, "810829-M071")
    assert scan_folder(tmp_path) == []
    hits = scan_folder(tmp_path, [reserve])
    assert [(hit.path, hit.where, hit.kind, hit.count) for hit in hits] == [
        ("persons.parquet", "column 'note'", INPUT_IDENTIFIER, 1)]


def test_encoded_parquet_data_that_spells_a_number_is_not_a_hit(tmp_path):
    """A Parquet file's pages are scanned as the values they hold, not as text: little-endian int32 values whose
    bytes spell "0112234356" (a valid personnummer shape) are numbers of nine digits and fewer."""
    spelt = [0, *(int.from_bytes(part, "little") for part in (b"0112", b"2343", b"56\0\0"))]
    path = tmp_path / "codes.parquet"
    pq.write_table(pa.table({"code": pa.array(spelt, pa.int32())}), path, compression="none", use_dictionary=False)
    assert find_identifiers(path.read_bytes()) == {PERSONNUMMER: 1}  # read as text, the file holds one
    assert scan_folder(tmp_path) == []
    pq.write_table(pa.table({"code": pa.array(spelt, pa.int32())}).replace_schema_metadata({"note": PERSON}), path,
                   compression="none", use_dictionary=False)
    assert [(hit.where, hit.kind) for hit in scan_folder(tmp_path)] == [("raw bytes", PERSONNUMMER),
                                                                       ("Parquet schema and metadata", PERSONNUMMER)]


def test_hits_name_the_file_line_and_kind_never_the_value(tmp_path):
    folder = clean_extract(tmp_path / "extract", persons=50)
    (folder / "reports").mkdir()
    (folder / "reports" / "linkage.md").write_text(f"# Linkage\n\nok\nunmatched: {PERSON[2:8]}-{PERSON[8:]}\n")
    hits = scan_folder(folder)
    assert [str(hit) for hit in hits] == [f"reports/linkage.md (line 4): 1 {PERSONNUMMER}"]
    with pytest.raises(LeakError, match=r"1 file\(s\): reports/linkage.md \(line 4\)"):
        assert_no_identifiers(folder)


def test_a_file_named_after_a_number_is_reported_without_its_name(tmp_path):
    (tmp_path / f"{PERSON}.csv").write_text("a\n1\n")
    hits = scan_folder(tmp_path)
    assert [(hit.path, hit.where) for hit in hits] == [("[withheld].csv", "file name")]


def test_a_large_identifier_set_finds_its_members_only():
    values = np.char.add("19", np.random.default_rng(3).integers(10**9, 10**10, 500_000).astype(str))
    known = KnownIdentifiers(pa.array(values))
    assert len(known) == 500_000
    member, other = values[123_456], str(int(values[123_456]) + 1)
    assert find_identifiers(f"{member[2:8]}-{member[8:]}", known)[INPUT_IDENTIFIER] == 1
    assert find_identifiers(other, known)[INPUT_IDENTIFIER] == (other in set(values))


def test_a_scanner_beside_the_writing_finds_what_a_scan_of_the_folder_finds(tmp_path):
    """Files handed to the Scanner as they are written are scanned in its thread, the rest at `check`: the same
    findings, in the same order, and the same error as `assert_no_identifiers`."""
    folder = clean_extract(tmp_path / "extract", persons=50)
    (folder / "reports").mkdir()
    (folder / "reports" / "linkage.md").write_text(f"unmatched: {PERSON[2:8]}-{PERSON[8:]}\n")
    (folder / "notes.txt").write_text(f"also {PERSON}\n")
    with Scanner(folder, [PERSON]) as clean:
        clean.written(folder / "notes.txt")
        with pytest.raises(LeakError) as caught:
            clean.check()
    with pytest.raises(LeakError) as expected:
        assert_no_identifiers(folder, [PERSON])
    assert str(caught.value) == str(expected.value) and "2 file(s)" in str(caught.value)
    (folder / "notes.txt").unlink()
    (folder / "reports" / "linkage.md").unlink()
    with Scanner(folder, [PERSON]) as scanner:
        for path in sorted(folder.rglob("*.csv")):
            scanner.written(path)
        scanner.check()
