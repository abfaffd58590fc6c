"""Keyed pseudonyms: the known answer, an independent stdlib computation, the C loop against its Python twin."""

from __future__ import annotations

import hashlib
import hmac
import platform
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pseudonym.errors import PseudonymError
from pseudonym.keys import MasterKey
from pseudonym.luhn import check_digit
from pseudonym.personnummer import InvalidPersonnummer
from generated_ids import number
from pseudonym.pseudonyms import (
    hex_digests,
    parse_and_pseudonymise,
    project_key,
    pseudonymise,
    pseudonymise_many,
    python_hmac_sha256_hex,
)

KAT_KEY = MasterKey(bytes(range(32)))
KAT_PROJECT = "demo-2026"
KAT_NUMBER = "198112189876"
KAT_PSEUDONYM = "efb7f4a2efaf8eba24ab9306064dd199"
REF = date(2026, 1, 31)


def stdlib_pseudonym(master: bytes, project: str, canonical: str) -> str:
    """The documented construction, written again with the standard library only (RFC 5869 + RFC 2104)."""
    prk = hmac.new(b"\x00" * 32, master, hashlib.sha256).digest()  # HKDF-Extract, salt = none → zeros
    okm = hmac.new(prk, b"reglink/v1/" + project.encode() + b"\x01", hashlib.sha256).digest()  # Expand, 1 block
    return hmac.new(okm, canonical.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def test_known_answer():
    assert pseudonymise(KAT_NUMBER, master_key=KAT_KEY, project=KAT_PROJECT) == KAT_PSEUDONYM


def test_known_answer_from_raw_key_bytes_and_every_written_form():
    for form in ("198112189876", "19811218-9876", "811218-9876", "8112189876", " 811218-9876 "):
        assert pseudonymise(form, master_key=bytes(range(32)), project=KAT_PROJECT,
                            reference_date=REF) == KAT_PSEUDONYM


def test_known_answer_through_the_vectorised_path():
    series = pseudonymise_many([KAT_NUMBER, "811218-9876"], master_key=KAT_KEY, project=KAT_PROJECT,
                               reference_date=REF)
    assert series.tolist() == [KAT_PSEUDONYM, KAT_PSEUDONYM]


def test_project_key_is_hkdf_sha256_with_the_documented_info():
    prk = hmac.new(b"\x00" * 32, bytes(range(32)), hashlib.sha256).digest()
    expected = hmac.new(prk, b"reglink/v1/demo-2026\x01", hashlib.sha256).digest()
    assert project_key(KAT_KEY, KAT_PROJECT) == expected


@settings(max_examples=40, deadline=None)
@given(master=st.binary(min_size=32, max_size=32), project=st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
       year=st.integers(1927, 2025), month=st.integers(1, 12), day=st.integers(1, 28), nnn=st.integers(1, 999))
def test_matches_an_independent_stdlib_computation(master, project, year, month, day, nnn):
    canonical = number(f"{year}{month:02d}{day:02d}", nnn)
    expected = stdlib_pseudonym(master, project, canonical)
    assert pseudonymise(canonical, master_key=master, project=project, reference_date=REF) == expected
    # the 10-digit form gets the same century for births within the 100 years before the reference date
    many = pseudonymise_many([canonical, canonical[2:]], master_key=master, project=project, reference_date=REF)
    assert many.tolist() == [expected, expected]


projects = st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(master=st.binary(min_size=32, max_size=32), first=projects, second=projects,
       year=st.integers(1927, 2025), month=st.integers(1, 12), day=st.integers(1, 28), nnn=st.integers(1, 999))
def test_projects_are_unlinkable_and_deliveries_repeatable(master, first, second, year, month, day, nnn):
    canonical = number(f"{year}{month:02d}{day:02d}", nnn)
    short = f"{canonical[2:8]}-{canonical[8:]}"
    a = pseudonymise(canonical, master_key=master, project=first)
    assert a == pseudonymise(short, master_key=master, project=first, reference_date="2026-01-01")
    if first != second:
        assert a != pseudonymise(canonical, master_key=master, project=second)
    assert a != pseudonymise(canonical, master_key=bytes(b ^ 1 for b in master), project=first)


@pytest.mark.parametrize("project", ["", "with space", "a/b", "å", "x" * 65, None])
def test_project_id_must_be_plain(project):
    with pytest.raises(PseudonymError, match="project id"):
        project_key(KAT_KEY, project)


def test_invalid_scalar_names_the_reason_not_the_value():
    wrong_check = KAT_NUMBER[:-1] + "0"
    with pytest.raises(InvalidPersonnummer) as info:
        pseudonymise(wrong_check, master_key=KAT_KEY, project=KAT_PROJECT)
    assert info.value.reason == "checksum"
    assert not any(ch.isdigit() for ch in str(info.value))


def test_many_gives_na_where_not_a_personnummer_or_samordningsnummer_and_keeps_the_index():
    samordning = number("19701063", 239)
    values = pd.Series([KAT_NUMBER, "", None, "19811218-9877", samordning, "20000101-T220", "556036-0793"],
                       index=list("abcdefg"))
    result = pseudonymise_many(values, master_key=KAT_KEY, project=KAT_PROJECT, reference_date=REF)
    assert list(result.index) == list("abcdefg")
    assert result.dtype == pd.StringDtype("pyarrow")
    assert result["a"] == KAT_PSEUDONYM
    assert result["e"] == stdlib_pseudonym(bytes(range(32)), KAT_PROJECT, samordning)
    assert result[["b", "c", "d", "f", "g"]].isna().all()


def test_chunks_and_threads_give_the_same_result_in_order():
    rng = np.random.default_rng(7)
    numbers = [number(f"{y}{m:02d}{d:02d}", int(n)) for y, m, d, n in zip(
        rng.integers(1920, 2020, 500), rng.integers(1, 13, 500), rng.integers(1, 29, 500), rng.integers(1, 1000, 500))]
    numbers[::7] = ["junk"] * len(numbers[::7])
    key = project_key(KAT_KEY, KAT_PROJECT)
    seen = []
    _, whole = parse_and_pseudonymise(numbers, key=key, reference_date=REF)
    _, chunked = parse_and_pseudonymise(numbers, key=key, reference_date=REF, workers=2, chunk_rows=37,
                                        progress=lambda done, total: seen.append((done, total)))
    assert chunked.to_pylist() == whole.to_pylist()
    assert whole.to_pylist()[1] == stdlib_pseudonym(bytes(range(32)), KAT_PROJECT, numbers[1])
    assert seen[-1] == (500, 500) and len(seen) == 14


def test_per_row_reference_dates_choose_each_rows_century():
    # 10 digits, born 15 March YY=20: before a 2019 reference it must be 1920, after 2021 it may be 2020.
    core = "200315123"
    short = f"{core}{check_digit(core)}"
    result = pseudonymise_many([short, short], master_key=KAT_KEY, project=KAT_PROJECT,
                               reference_date=np.array(["2019-06-01", "2021-06-01"], dtype="datetime64[D]"))
    assert result.tolist() == [stdlib_pseudonym(bytes(range(32)), KAT_PROJECT, "19" + short),
                               stdlib_pseudonym(bytes(range(32)), KAT_PROJECT, "20" + short)]


def test_empty_input():
    assert pseudonymise_many([], master_key=KAT_KEY, project=KAT_PROJECT).tolist() == []


def run_twins(key: bytes, rows: list[bytes], width: int, *, portable: bool = False):
    """(C extension, Python twin) outputs for the same rows; `portable`: the C extension without SHA-NI."""
    c_module = pytest.importorskip("pseudonym._hmac", reason="the optional C extension is not built here")
    data = b"".join(rows)
    c_out, py_out = bytearray(len(rows) * 32), bytearray(len(rows) * 32)
    c_module.hmac_sha256_hex(key, data, width, 32, c_out, portable=portable)
    python_hmac_sha256_hex(key, data, width, 32, py_out)
    return bytes(c_out), bytes(py_out)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), key=st.binary(max_size=150), width=st.integers(1, 150), count=st.integers(0, 6),
       portable=st.booleans())
def test_c_loop_equals_python_twin_equals_stdlib(data, key, width, count, portable):
    # widths and key lengths cross the 55/56/64-byte SHA-256 padding and block edges (a message of up to 55 bytes
    # is one block, laid out once); long keys are hashed first; both the SHA-NI and the plain rounds
    rows = [data.draw(st.binary(min_size=width, max_size=width)) for _ in range(count)]
    c_out, py_out = run_twins(key, rows, width, portable=portable)
    expected = "".join(hmac.new(key, row, hashlib.sha256).hexdigest()[:32] for row in rows).encode()
    assert c_out == py_out == expected


def test_the_processors_sha_extensions_are_used_where_it_has_them():
    c_module = pytest.importorskip("pseudonym._hmac", reason="the optional C extension is not built here")
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else None
    if flags is None or platform.machine() not in ("x86_64", "AMD64", "i686"):
        pytest.skip("only x86 processors have SHA-NI, and /proc/cpuinfo tells whether this one does")
    assert c_module.sha_ni() == ("sha_ni" in flags)


def test_c_loop_on_the_known_answer_and_its_argument_checks():
    c_module = pytest.importorskip("pseudonym._hmac", reason="the optional C extension is not built here")
    key = project_key(KAT_KEY, KAT_PROJECT)
    assert run_twins(key, [KAT_NUMBER.encode()], 12) == (KAT_PSEUDONYM.encode(),) * 2
    out = bytearray(64)
    c_module.hmac_sha256_hex(key, KAT_NUMBER.encode(), 12, 64, out)
    assert out.decode() == hmac.new(key, KAT_NUMBER.encode(), hashlib.sha256).hexdigest()
    for bad in [(key, b"x" * 13, 12, 32, bytearray(32)), (key, b"x" * 12, 12, 32, bytearray(31)),
                (key, b"x" * 12, 0, 32, bytearray(32)), (key, b"x" * 12, 12, 65, bytearray(65))]:
        with pytest.raises(ValueError):
            c_module.hmac_sha256_hex(*bad)


def test_hex_digests_over_a_fixed_width_numpy_buffer():
    key = project_key(KAT_KEY, KAT_PROJECT)
    out = hex_digests(key, np.array([KAT_NUMBER.encode()] * 3, dtype="S12"))
    assert out.tobytes() == KAT_PSEUDONYM.encode() * 3
    assert pa.py_buffer(out).size == 96


def test_without_the_c_extension_the_python_twin_gives_the_same_pseudonyms(monkeypatch):
    import pseudonym.pseudonyms as module

    values = [KAT_NUMBER, "junk", number("19701063", 239)]
    with_c = pseudonymise_many(values, master_key=KAT_KEY, project=KAT_PROJECT, reference_date=REF)
    monkeypatch.setattr(module, "hmac_sha256_hex", python_hmac_sha256_hex)
    fallback = pseudonymise_many(values, master_key=KAT_KEY, project=KAT_PROJECT, reference_date=REF)
    pd.testing.assert_series_equal(with_c, fallback)
    assert fallback[0] == KAT_PSEUDONYM


def test_arrow_backed_columns_of_several_chunks():
    chunked = pa.chunked_array([[KAT_NUMBER, None], ["811218-9876"]])
    for values in (chunked, pd.Series(pd.arrays.ArrowExtensionArray(chunked), index=[5, 6, 7])):
        result = pseudonymise_many(values, master_key=KAT_KEY, project=KAT_PROJECT, reference_date=REF)
        assert result.tolist()[0] == result.tolist()[2] == KAT_PSEUDONYM and pd.isna(result.tolist()[1])
    assert list(result.index) == [5, 6, 7]
