"""Frame pseudonymisation: what is kept, what is rejected, what is counted, and nothing merged or leaked."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pseudonym.pseudonyms as pseudonyms_module
from pseudonym.errors import PseudonymError
from pseudonym.frame import PseudonymCollision, pseudonymise_frame
from pseudonym.keys import MasterKey
from pseudonym.luhn import check_digit
from pseudonym.pseudonyms import project_key, pseudonymise, python_hmac_sha256_hex
from generated_ids import number

KEY = MasterKey(bytes(range(32)))
PROJECT = "demo-2026"
REF = date(2026, 1, 31)


MAN = number("19811218", 987)                # 9th digit odd: man
WOMAN = number("20040229", 124)              # leap day; 9th digit even: kvinna
SAMORDNING = number("19701063", 239)          # born 1970-10-03
INTERIM = "20000101-T220"                     # personnummer spec interim number (valid Luhn, letter counts 1)
ORG = "556036-0793"                           # Saab AB (domain.md §1.7)


def hmac_pseudonym(canonical: str) -> str:
    return hmac.new(project_key(KEY, PROJECT), canonical.encode(), hashlib.sha256).hexdigest()[:32]


def mixed_frame() -> pd.DataFrame:
    bad_check = MAN[:-1] + str((int(MAN[-1]) + 1) % 10)
    return pd.DataFrame({
        "kommun": ["0180", "1480", "1280", "0580", "2480", "0380", "0180", "1880"],
        "pnr": [MAN, f"{WOMAN[2:8]}-{WOMAN[8:]}", SAMORDNING, INTERIM, ORG, None, bad_check, "hello"],
        "beslut": ["2024-01-01"] * 8,
    }, index=[10, 11, 12, 13, 14, 15, 16, 17])


def test_pseudonym_first_id_dropped_evidence_added():
    result = pseudonymise_frame(mixed_frame(), "pnr", master_key=KEY, project=PROJECT, reference_date=REF)
    out = result.frame
    assert list(out.columns) == ["pseudonym_id", "kommun", "beslut", "birth_date", "sex", "id_kind"]
    assert list(out.index) == [10, 11, 12, 13]
    assert out["pseudonym_id"].tolist()[:3] == [hmac_pseudonym(MAN), hmac_pseudonym(WOMAN), hmac_pseudonym(SAMORDNING)]
    assert pd.isna(out.loc[13, "pseudonym_id"])  # interim: kept, linked later by other means
    assert out["id_kind"].tolist() == ["personnummer", "personnummer", "samordningsnummer", "interim"]
    assert out["birth_date"].tolist() == [date(1981, 12, 18), date(2004, 2, 29), date(1970, 10, 3), date(2000, 1, 1)]
    assert out.loc[10, "sex"] == 1 and out.loc[11, "sex"] == 2 and out.loc[12, "sex"] == 1
    assert out["kommun"].tolist() == ["0180", "1480", "1280", "0580"]


def test_rejects_name_row_column_reason_and_keep_the_raw_value():
    frame = mixed_frame()
    rejects = pseudonymise_frame(frame, "pnr", master_key=KEY, project=PROJECT, reference_date=REF).rejects
    assert rejects["row"].tolist() == [5, 6, 7, 8]  # 1-based data rows
    assert set(rejects["column"]) == {"pnr"}
    assert rejects["reason"].tolist() == ["organisationsnummer", "empty", "checksum", "format"]
    assert rejects["value"].tolist()[0] == ORG and pd.isna(rejects["value"][1])
    assert rejects["value"].tolist()[2:] == frame["pnr"].tolist()[6:]


def test_counts_account_for_every_row():
    counts = pseudonymise_frame(mixed_frame(), "pnr", master_key=KEY, project=PROJECT, reference_date=REF).counts
    assert (counts.rows, counts.pseudonymised, counts.samordningsnummer) == (8, 3, 1)
    assert counts.kept == {"interim": 1}
    assert counts.rejected == {"checksum": 1, "empty": 1, "format": 1, "organisationsnummer": 1}
    assert counts.rows == counts.pseudonymised + counts.kept_total + counts.rejected_total


def test_repr_of_the_result_holds_no_identifier():
    result = pseudonymise_frame(mixed_frame(), "pnr", master_key=KEY, project=PROJECT, reference_date=REF)
    text = repr(result)
    for raw in mixed_frame()["pnr"].dropna():
        assert raw not in text and raw.replace("-", "") not in text
    assert "pseudonym_id" in text and "rejects" not in text


def test_reference_date_column_gives_each_row_its_century():
    core = "200315123"
    short = f"{core}{check_digit(core)}"
    frame = pd.DataFrame({"pnr": [short, short], "beslut": ["2019-06-01", "2021-06-01"]})
    out = pseudonymise_frame(frame, "pnr", master_key=KEY, project=PROJECT, reference_date="beslut").frame
    assert out["pseudonym_id"].tolist() == [hmac_pseudonym("19" + short), hmac_pseudonym("20" + short)]
    assert out["birth_date"].tolist() == [date(1920, 3, 15), date(2020, 3, 15)]
    assert list(out.columns) == ["pseudonym_id", "beslut", "birth_date", "sex", "id_kind"]


def test_reference_date_column_of_datetimes_and_an_iso_string():
    frame = pd.DataFrame({"pnr": [MAN], "beslut": pd.to_datetime(["2024-05-01"])})
    by_column = pseudonymise_frame(frame, "pnr", master_key=KEY, project=PROJECT, reference_date="beslut")
    by_string = pseudonymise_frame(frame, "pnr", master_key=KEY, project=PROJECT, reference_date="2024-05-01")
    pd.testing.assert_frame_equal(by_column.frame, by_string.frame)


def test_a_missing_or_bad_reference_date_names_row_and_column():
    frame = pd.DataFrame({"pnr": [MAN, MAN, MAN], "beslut": ["2024-01-01", "2024-13-01", None]})
    with pytest.raises(PseudonymError, match=r"column 'beslut' row 2: .*\(2 such row\(s\)\)") as info:
        pseudonymise_frame(frame, "pnr", master_key=KEY, project=PROJECT, reference_date="beslut")
    assert MAN not in str(info.value)


def test_a_reference_date_column_takes_only_zero_padded_iso_dates():
    frame = pd.DataFrame({"pnr": [MAN, MAN], "beslut": ["2024-01-01", "2021-4-7"]})
    with pytest.raises(PseudonymError, match=r"column 'beslut' row 2: no valid YYYY-MM-DD reference date \(1 such"):
        pseudonymise_frame(frame, "pnr", master_key=KEY, project=PROJECT, reference_date="beslut")


def test_a_reference_date_that_is_neither_a_column_nor_a_date():
    with pytest.raises(PseudonymError, match="the reference date is neither a column of the frame nor a YYYY-MM-DD date"):
        pseudonymise_frame(mixed_frame(), "pnr", master_key=KEY, project=PROJECT, reference_date="beslutt")


def test_missing_column_lists_the_columns_present():
    with pytest.raises(PseudonymError, match=r"no column 'personnr' \(columns present: kommun, pnr, beslut\)"):
        pseudonymise_frame(mixed_frame(), "personnr", master_key=KEY, project=PROJECT)


def test_existing_derived_column_names_are_refused():
    frame = mixed_frame().assign(sex="x")
    with pytest.raises(PseudonymError, match="already has column.*'sex'"):
        pseudonymise_frame(frame, "pnr", master_key=KEY, project=PROJECT)


def test_two_numbers_with_one_pseudonym_raise_never_merge(monkeypatch):
    def constant(key, messages, width, digits, out):
        memoryview(out).cast("B")[:] = b"0" * len(out)

    monkeypatch.setattr(pseudonyms_module, "hmac_sha256_hex", constant)
    frame = pd.DataFrame({"pnr": [MAN, WOMAN, MAN]})
    with pytest.raises(PseudonymCollision, match="1 pseudonym") as info:
        pseudonymise_frame(frame, "pnr", master_key=KEY, project=PROJECT, reference_date=REF)
    assert MAN not in str(info.value) and WOMAN not in str(info.value)


def test_python_fallback_gives_the_same_frame(monkeypatch):
    with_c = pseudonymise_frame(mixed_frame(), "pnr", master_key=KEY, project=PROJECT, reference_date=REF)
    monkeypatch.setattr(pseudonyms_module, "hmac_sha256_hex", python_hmac_sha256_hex)
    fallback = pseudonymise_frame(mixed_frame(), "pnr", master_key=KEY, project=PROJECT, reference_date=REF)
    pd.testing.assert_frame_equal(with_c.frame, fallback.frame)


def written_forms(canonical: str) -> list[str]:
    return [canonical, canonical[2:], f"{canonical[:8]}-{canonical[8:]}", f"{canonical[2:8]}-{canonical[8:]}"]


identifiers = st.one_of(
    st.builds(lambda y, m, d, n, form: written_forms(number(f"{y}{m:02d}{d:02d}", n))[form],
              st.integers(1927, 2025), st.integers(1, 12), st.integers(1, 28), st.integers(1, 999),
              st.integers(0, 3)),
    st.sampled_from([INTERIM, ORG, "", "19811218-987", "abc", "20000101-E221", "991981000010"]),
    st.none(),
    st.text(max_size=14),
)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(identifiers, max_size=30), workers=st.integers(1, 2))
def test_every_row_is_pseudonymised_kept_or_rejected_and_matches_the_scalar(values, workers):
    frame = pd.DataFrame({"pnr": pd.Series(values, dtype=object), "n": np.arange(len(values))})
    result = pseudonymise_frame(frame, "pnr", master_key=KEY, project=PROJECT, reference_date=REF, workers=workers)
    counts = result.counts
    assert counts.rows == len(values) == len(result.frame) + len(result.rejects)
    assert counts.rows == counts.pseudonymised + counts.kept_total + counts.rejected_total
    assert sorted(result.frame["n"].tolist() + [r - 1 for r in result.rejects["row"]]) == list(range(len(values)))
    for row, pseudonym_id in zip(result.frame["n"], result.frame["pseudonym_id"]):
        if not pd.isna(pseudonym_id):
            assert pseudonym_id == pseudonymise(values[row], master_key=KEY, project=PROJECT, reference_date=REF)
