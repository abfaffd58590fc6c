"""Exclusion lists: every written form read, every bad line refused by number (never by value), pseudonyms exact."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from generated_ids import number
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.changes import resolve_changes, to_integers
from linkage.errors import InputError
from linkage.exclusion import load_exclusions, withhold
from pseudonym.pseudonyms import pseudonymise

PROJECT = "excl-2026"
KEY = os.urandom(32)
ADULT, CHILD, SAMORDNING, CENTENARIAN = (number("19811218", 987), number("20040229", 124),
                                         number("19701063", 239), number("19200505", 555))
REFERENCE = "2025-06-30"


def pseudonym(value: str, key: bytes = KEY, project: str = PROJECT) -> str:
    return pseudonymise(value, master_key=key, project=project, reference_date=REFERENCE)


def write(tmp_path, text: str, encoding: str = "utf-8", name: str = "exclusions.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_every_written_form_comments_header_bom_and_crlf(tmp_path):
    lines = [
        "\ufeffpersonnummer",  # a column name with a BOM before it
        "# Beslut i enskilt ärende, Malmö",
        "",
        ADULT,
        f"  {CHILD[2:8]}-{CHILD[8:]}  ",
        f'"{SAMORDNING[:8]}-{SAMORDNING[8:]}"',
        f"{CENTENARIAN[2:8]}+{CENTENARIAN[8:]}",
        ADULT[2:],  # the same person again, in 10 digits
    ]
    path = write(tmp_path, "\r\n".join(lines) + "\r\n")
    exclusions = load_exclusions(path, reference_date=REFERENCE)
    assert len(exclusions) == 4 and exclusions.lines == 5
    assert exclusions.pseudonyms(KEY, PROJECT) == {pseudonym(n) for n in (ADULT, CHILD, SAMORDNING, CENTENARIAN)}
    assert repr(exclusions) == "Exclusions(<4 persons, redacted>)"
    assert ADULT not in repr(exclusions) + str(exclusions)


def test_latin1_comments_are_read(tmp_path):
    path = write(tmp_path, f"# Östersund, Åre och Härnösand\n{ADULT}\n", encoding="latin-1")
    assert load_exclusions(path).pseudonyms(KEY, PROJECT) == {pseudonym(ADULT)}


def test_pseudonyms_differ_per_project_and_key(tmp_path):
    exclusions = load_exclusions(write(tmp_path, f"{ADULT}\n"))
    other_key = os.urandom(32)
    assert exclusions.pseudonyms(KEY, "other-project") == {pseudonym(ADULT, project="other-project")}
    assert exclusions.pseudonyms(other_key, PROJECT) == {pseudonym(ADULT, key=other_key)}
    assert exclusions.pseudonyms(KEY, PROJECT) != exclusions.pseudonyms(other_key, PROJECT)


def test_an_old_number_is_excluded_under_the_current_one(tmp_path):
    old, current = number("19900101", 111), number("19900102", 113)
    changes = resolve_changes(to_integers(np.array([old.encode()])), to_integers(np.array([current.encode()])))
    exclusions = load_exclusions(write(tmp_path, f"{old}\n{ADULT}\n"))
    assert exclusions.pseudonyms(KEY, PROJECT, changes=changes) == {pseudonym(current), pseudonym(ADULT)}


@pytest.mark.parametrize(("bad", "why"), [
    (ADULT[:-1] + str((int(ADULT[-1]) + 1) % 10), "checksum"),
    ("556036-0793", "organisationsnummer"),
    ("20000101-T220", "interim"),
    (number("19811318", 987), "date"),  # month 13
    ("pnr", "format"),  # a column name is allowed only as the first line
    (f"{ADULT};{CHILD}", "format"),
])
def test_a_bad_line_is_one_line_naming_its_number_never_its_value(tmp_path, bad, why):
    path = write(tmp_path, f"# header comment\n{ADULT}\n\n{bad}\n{CHILD}\n")
    with pytest.raises(InputError) as error:
        load_exclusions(path)
    message = str(error.value)
    assert message.startswith("exclusions.txt, line 4: not a valid personnummer or samordningsnummer (")
    assert "1 such line(s)" in message and "\n" not in message
    assert bad not in message and ADULT not in message
    assert f"({why}; " in message


def test_bad_lines_are_counted(tmp_path):
    path = write(tmp_path, f"{ADULT}\nnonsense\n{CHILD}\n12345\n")
    with pytest.raises(InputError, match=r"line 2: .*\(format; 2 such line\(s\)\)"):
        load_exclusions(path)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "lists no personnummer"),
    (b"# only a comment\n\n", "lists no personnummer"),
    (b"personnummer\n", "lists no personnummer"),
    (b"\x00\x01binary\xff", "is binary, not a text file"),
])
def test_a_list_without_anyone_or_not_text_is_an_error(tmp_path, content, message):
    path = tmp_path / "exclusions.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_exclusions(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="no such exclusion list"):
        load_exclusions(tmp_path / "none.txt")
    with pytest.raises(InputError, match="is a folder"):
        load_exclusions(tmp_path)


def test_withhold_removes_listed_rows_and_counts_them(tmp_path):
    listed = load_exclusions(write(tmp_path, f"{ADULT}\n")).pseudonyms(KEY, PROJECT)
    frame = pd.DataFrame({"pseudonym_id": pd.array([pseudonym(ADULT), pseudonym(CHILD), None, pseudonym(ADULT)],
                                                    dtype="string[pyarrow]"),
                          "dagar": [1, 2, 3, 4]})
    kept, removed = withhold(frame, listed)
    assert removed == 2
    assert kept["dagar"].tolist() == [2, 3]  # a record without a pseudonym is not anyone's on the list


BIRTHS = st.dates(min_value=pd.Timestamp("1930-01-01").date(), max_value=pd.Timestamp("2020-12-31").date())
FORMS = st.sampled_from([
    lambda n: n, lambda n: n[2:], lambda n: f"{n[:8]}-{n[8:]}", lambda n: f"{n[2:8]}-{n[8:]}",
])


@settings(max_examples=30, deadline=None)
@given(people=st.lists(st.tuples(BIRTHS, st.integers(1, 999), FORMS), min_size=1, max_size=8))
def test_pseudonyms_equal_the_pseudonym_of_each_listed_number(tmp_path_factory, people):
    numbers = [number(birth.strftime("%Y%m%d"), nnn) for birth, nnn, _ in people]
    path = write(tmp_path_factory.mktemp("list"), "".join(form(n) + "\n" for n, (_, _, form) in zip(numbers, people)))
    exclusions = load_exclusions(path, reference_date=REFERENCE)
    assert len(exclusions) == len(set(numbers)) and exclusions.lines == len(numbers)
    assert exclusions.pseudonyms(KEY, PROJECT) == {pseudonym(n) for n in numbers}
