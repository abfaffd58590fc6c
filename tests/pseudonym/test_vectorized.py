"""Column parsing: `parse_many` / `parse_arrays` give, row by row, exactly what the scalar `identify` gives."""

from __future__ import annotations

import functools
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pseudonym import (
    KINDS, REASONS, ParsedIds, classify_many, identify, normalize_many, parse_arrays, parse_many,
)
from pseudonym.luhn import check_digit, check_digits

REF = date(2024, 6, 30)
SAMPLES = [
    "640823-3234", "196408233234", " 6408233234 ", "090527+1474", "701063-2391", "191500722390", "201509160006",
    "640823-3235", "19090527 1474", "556036-0793", "991981000010", "19810829M071", "19810829SU3A", "20000101T220",
    "20000101-TF10", "19900101-AB12", "hello", "", None, "20240701-AB12",
]


def scalar_frame(values, refs, index=None) -> pd.DataFrame:
    """What `parse_many` must return, built from the scalar `identify` one value at a time."""
    rows = [identify(v, reference_date=r) for v, r in zip(values, refs)]
    return pd.DataFrame(
        {
            "canonical": pd.array([r.canonical for r in rows], dtype=pd.StringDtype("pyarrow")),
            "kind": pd.Categorical([r.kind for r in rows], categories=list(KINDS)),
            "reason": pd.Categorical([r.reason for r in rows], categories=list(REASONS)),
            "birth_date": np.array([r.birth_date or "NaT" for r in rows], dtype="datetime64[D]").astype("M8[ns]"),
            "birth_year": pd.array([r.birth_year for r in rows], dtype="Int16"),
            "sex": pd.array([r.sex or None for r in rows], dtype="Int8"),
            "is_samordningsnummer": np.array([r.is_samordningsnummer for r in rows], dtype=bool),
        },
        index=pd.RangeIndex(len(rows)) if index is None else index,
    )


# --- generated identifiers of every kind, right and wrong, with reference dates near their birth dates ---------
# Plain functions of `draw` over strategies built once: building strategies inside every draw is slow.

DIGIT = "0123456789"
WHITESPACE = [ch for ch in map(chr, range(0x3001)) if ch.isspace()]
birth_dates = st.dates(min_value=date(1840, 1, 1), max_value=date(2040, 12, 31))
digits = {n: st.text(DIGIT, min_size=n, max_size=n) for n in (2, 3, 4, 5, 6, 8)}
any_digit = st.sampled_from(DIGIT)


@functools.cache
def one_in(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


noise = st.one_of(st.text("0123456789-+ TKMXSFUAEV\u00a0", max_size=15), st.text(max_size=15))
pads = st.sampled_from([""] * 6 + WHITESPACE)
ref_years = st.sampled_from([0, 0, 1, 99, 100, 100, 101, 199])
ref_days = st.sampled_from([-1, 0, 0, 1, 45, -45, 200])
any_ref = st.one_of(st.none(), st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)))


def pick(draw, options):
    return options[draw(one_in(len(options)))]


def yymmdd(born: date, day_offset: int = 0) -> str:
    return f"{born:%y%m}{born.day + day_offset:02d}"


def years_later(born: date, years: int) -> date:
    return born.replace(year=born.year + years, day=min(born.day, 28) if born.month == 2 else born.day)


def personnummer_like(draw, born: date) -> str:
    six = pick(draw, [yymmdd(born), yymmdd(born, 60), f"{born:%y}00{born.day + 60}", f"{born:%y%m}60", None])
    nine = (six or draw(digits[6])) + draw(digits[3])
    check = str(check_digit(nine)) if draw(one_in(5)) else draw(any_digit)
    century = pick(draw, ["", "", f"{born.year // 100}", f"{born.year // 100}", "16", "99", "21"])
    return f"{century}{nine[:6]}{pick(draw, ['', '-', '+'])}{nine[6:]}{check}"


def all_digit_kinds(draw, born: date) -> str:
    """Org numbers, SLL and Carelink reserve numbers with their check digit (sometimes a wrong one)."""
    form = draw(one_in(3))
    if form == 0:  # organisationsnummer, "month" around 20
        nine = f"{draw(digits[2])}{18 + draw(st.integers(0, 81))}{draw(digits[5])}"
        number = nine + str(check_digit(nine))
        number = pick(draw, ["", "16"]) + number[:6] + pick(draw, ["", "-", "+"]) + number[6:]
    elif form == 1:  # SLL, year issued around 1980-2299
        eleven = f"99{pick(draw, [1979, 1980, 2299, 2300, 1990 + draw(one_in(8))])}{draw(digits[5])}"
        number = eleven + str(check_digit(eleven[4:11]))
    else:  # Carelink, "day" around 32-59
        nine = f"{born:%y%m}{pick(draw, [31, 32, 45, 59, 60])}{draw(digits[3])}"
        number = f"{born.year // 100}{nine}{check_digit(nine)}"
    if draw(one_in(5)) == 0:
        number = number[:-1] + draw(any_digit)
    return number


def lettered(draw, born: date) -> str:
    """Interim, VGR, temporary, Värmland and generic reserve shapes, valid or nearly so."""
    date8 = f"{born:%Y%m%d}" if draw(one_in(6)) else draw(digits[8])
    letter = pick(draw, "TRSUWXJKLMNEPKMX")
    nn = draw(digits[2])
    form = draw(one_in(5))
    if form == 0:
        check = check_digit([*map(int, date8[2:]), 1, *map(int, nn)])
        text = date8[pick(draw, [0, 2]):] + pick(draw, ["", "-"]) + f"{letter}{nn}{check}"
    elif form == 1:
        check = check_digit([*map(int, date8[2:]), {"K": 5, "M": 7, "X": 8}.get(letter, 1), *map(int, nn)])
        text = f"{date8}{letter}{nn}{check}"
    elif form == 2:
        text = f"{date8}-T{pick(draw, '0123456789ABFZ')}{nn}"
    elif form == 3:
        text = f"{date8}S{pick(draw, 'FUXPLA')}{nn[0]}{pick(draw, 'AVZ1')}"
    else:
        text = date8 + pick(draw, ["", "-"]) + "".join(pick(draw, "0123456789ABZ") for _ in range(4))
    if draw(one_in(5)) == 0:
        text = text.lower()
    if draw(one_in(5)) == 0:
        text = text[:-1] + draw(any_digit)
    return text


def mutate(draw, text: str) -> str:
    i = draw(st.integers(0, 13))
    return text[:i] + pick(draw, DIGIT + "-+ TMXSſΣ\u00a0") + text[i + 1:]


@st.composite
def cases(draw) -> tuple[str, date | None]:
    """(value, reference date): an identifier of any kind, and a reference date on a boundary of its birth date."""
    born = draw(birth_dates)
    form = draw(one_in(7))
    if form < 2:
        text = personnummer_like(draw, born)
    elif form == 2:
        text = all_digit_kinds(draw, born)
    elif form == 3:
        text = lettered(draw, born)
    elif form == 4:
        text = mutate(draw, personnummer_like(draw, born))
    elif form == 5:
        text = mutate(draw, lettered(draw, born))
    else:
        text = draw(noise)
    near = years_later(born, draw(ref_years)) + timedelta(days=draw(ref_days))
    ref = near if draw(one_in(3)) else draw(any_ref)
    return draw(pads) + text + draw(pads), ref


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cases(), min_size=1, max_size=40))
def test_rows_equal_the_scalar_functions_with_per_row_reference_dates(rows):
    values = [v for v, _ in rows]
    refs = [r for _, r in rows]
    got = parse_many(pd.Series(values, dtype=object), reference_date=pd.Series(refs, dtype=object))
    pd.testing.assert_frame_equal(got, scalar_frame(values, refs))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cases(), min_size=1, max_size=40), st.sampled_from(["D", "s", "ns"]))
def test_per_row_reference_dates_as_numpy_datetimes_read_as_dates(rows, unit):
    """Ingest hands reference dates over as datetime64 arrays (NaT where a record has none: today)."""
    values = [v for v, _ in rows]
    refs = [r if i % 4 else None for i, (_, r) in enumerate(rows)]
    days = np.array([np.datetime64("NaT") if r is None else np.datetime64(r, "D") for r in refs]).astype(f"M8[{unit}]")
    got = parse_arrays(values, reference_date=days)
    expected = parse_arrays(values, reference_date=pd.Series(refs, dtype=object))
    for name in ("kind", "canonical", "birth_date", "sex", "reason"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


@settings(deadline=None)
@given(st.lists(cases(), max_size=40), st.one_of(st.none(), st.dates(date(1950, 1, 1), date(2090, 12, 31))))
def test_rows_equal_the_scalar_functions_with_one_reference_date(rows, ref):
    values = [v for v, _ in rows]
    got = parse_many(pa.array(values, type=pa.string()), reference_date=ref)
    pd.testing.assert_frame_equal(got, scalar_frame(values, [ref] * len(values)))
    assert list(classify_many(values, reference_date=ref)) == [identify(v, reference_date=ref).kind for v in values]


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.just(float("nan")), st.integers(-10, 10**13), st.floats(),
                          cases().map(lambda case: case[0])), max_size=20))
def test_mixed_python_values_follow_the_scalar_rules(values):
    got = parse_many(values, reference_date=REF)
    pd.testing.assert_frame_equal(got, scalar_frame(values, [REF] * len(values)))


def boundary_cases() -> list[tuple[str, date]]:
    """Every writing of numbers born on awkward days, against reference dates on the century boundaries."""
    births = [date(2000, 2, 29), date(1924, 7, 1), date(1924, 6, 30), date(1925, 1, 1), date(1899, 12, 31),
              date(1900, 1, 1), date(1964, 8, 23), date(1999, 12, 31)]
    out = []
    for born in births:
        refs = [years_later(born, years) + timedelta(days=days)
                for years in (0, 1, 99, 100, 101, 199, 200) for days in (-1, 0, 1)]
        sixes = [yymmdd(born), yymmdd(born, 60), f"{born:%y}00{born.day + 60}", f"{born:%y%m}60"]
        others = [  # the edges of the all-digit and lettered kinds
            f"{born.year // 100}{born:%y%m}{day}123" for day in (31, 32, 59, 60)
        ] + [f"{born:%Y%m%d}{letter}{gg:02d}" for letter in "MT" for gg in (5, 6, 79, 80, 89, 90)]
        values = []
        for six in sixes:
            ten = six + "123" + str(check_digit(six + "123"))
            century = str(born.year // 100)
            values += [ten, f"{ten[:6]}-{ten[6:]}", f"{ten[:6]}+{ten[6:]}", century + ten,
                       f"{century}{ten[:6]}+{ten[6:]}", f"{century}{ten[:6]}-{ten[6:]}"]
        out += [(value, ref) for value in values for ref in refs]
        # The other kinds' dates only meet the reference date, and every check digit is tried.
        out += [(text + str(c), ref) for text in others for c in range(10) for ref in refs[:6]]
    for nine in ("551900123", "552000123", "559999123"):  # organisationsnummer "month" 19, 20, 99
        out += [(f"{prefix}{nine[:6]}{sep}{nine[6:]}{check_digit(nine)}", REF)
                for prefix in ("", "16") for sep in ("", "-", "+")]
    for year in (1979, 1980, 2299, 2300):  # SLL year issued
        eleven = f"99{year}00012"
        out += [(eleven + str(check_digit(eleven[4:11])), REF)]
    return out


def test_rows_equal_the_scalar_functions_on_the_boundaries():
    values, refs = zip(*boundary_cases())
    pd.testing.assert_frame_equal(parse_many(list(values), reference_date=list(refs)),
                                  scalar_frame(values, refs))


# --- containers -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    list,
    lambda v: np.array(v, dtype=object),
    lambda v: pd.Series(v, dtype=object),
    lambda v: pd.Series(v, dtype="string"),
    lambda v: pd.Series(v, dtype="string[pyarrow]"),
    lambda v: pd.Series(v, dtype="category"),
    lambda v: pa.array(v, type=pa.string()),
    lambda v: pa.array(v, type=pa.large_string()),
    lambda v: pa.chunked_array([pa.array(v[:7]), pa.array(v[7:])]),
    lambda v: pa.array(["pad", "pad", *v, "pad"])[2:-1],  # a slice: the Arrow offset is not 0
    lambda v: pa.array(v).dictionary_encode(),
    lambda v: pd.concat([pd.Series(v[:7], dtype="string[pyarrow]"), pd.Series(v[7:], dtype="string[pyarrow]")],
                        ignore_index=True),  # Arrow-backed in two chunks
])
def test_every_container_of_text(make):
    pd.testing.assert_frame_equal(parse_many(make(SAMPLES), reference_date=REF),
                                  scalar_frame(SAMPLES, [REF] * len(SAMPLES)))


def test_bytes_are_read_as_utf8():
    values = [v.encode() if v is not None else None for v in SAMPLES]
    expected = scalar_frame(SAMPLES, [REF] * len(SAMPLES))
    for column in (values, np.array(values, dtype=object), pa.array(values, type=pa.binary())):
        pd.testing.assert_frame_equal(parse_many(column, reference_date=REF), expected)


def test_numpy_unicode_array():
    values = [v for v in SAMPLES if v is not None]
    pd.testing.assert_frame_equal(parse_many(np.array(values), reference_date=REF),
                                  scalar_frame(values, [REF] * len(values)))


@pytest.mark.parametrize("make", [
    lambda v: np.array(v, dtype=np.int64),
    lambda v: pd.Series(v, dtype="Int64"),
    lambda v: pd.Series(v, dtype="float64"),
    lambda v: pa.array(v, type=pa.int64()),
])
def test_numbers(make):
    values = [196408233234, 6408233234, 5560360793, 2292399, 1, 191500722390]
    expected = scalar_frame(values, [REF] * len(values))
    pd.testing.assert_frame_equal(parse_many(make(values), reference_date=REF), expected)
    with_gap = parse_many(pd.Series([196408233234, None, 1.5], dtype="float64"), reference_date=REF)
    assert list(with_gap["kind"]) == ["personnummer", "invalid", "invalid"]
    assert list(with_gap["reason"].astype(object).fillna("-")) == ["-", "empty", "format"]


def test_bools_and_dates_are_refused():
    with pytest.raises(TypeError):
        parse_many(np.array([True, False]))
    with pytest.raises(TypeError):
        parse_many(pd.Series(pd.to_datetime(["2020-01-01"])))


def test_empty_input():
    frame = parse_many([], reference_date=REF)
    pd.testing.assert_frame_equal(frame, scalar_frame([], []))
    assert len(parse_arrays(pa.array([], type=pa.string()))) == 0


# --- the frame --------------------------------------------------------------------------------------------------

def test_frame_columns_types_and_index():
    series = pd.Series(SAMPLES, index=pd.Index([f"r{i}" for i in range(len(SAMPLES))], name="row"))
    frame = parse_many(series, reference_date=REF)
    assert list(frame.columns) == ["canonical", "kind", "reason", "birth_date", "birth_year", "sex",
                                   "is_samordningsnummer"]
    assert frame.index.equals(series.index)
    assert frame["canonical"].dtype == "string"
    assert list(frame["kind"].cat.categories) == list(KINDS)
    assert list(frame["reason"].cat.categories) == list(REASONS)
    assert str(frame["birth_date"].dtype) == "datetime64[ns]"
    assert (str(frame["birth_year"].dtype), str(frame["sex"].dtype)) == ("Int16", "Int8")
    assert frame["is_samordningsnummer"].dtype == bool
    assert parse_many(SAMPLES).index.equals(pd.RangeIndex(len(SAMPLES)))


def test_linkage_evidence_from_interim_and_reserve_numbers():
    frame = parse_many(["20000101T220", "19810829M071", "20100315-TF10"], reference_date=REF)
    assert list(frame["birth_date"]) == [pd.Timestamp("2000-01-01"), pd.Timestamp("1981-08-29"),
                                         pd.Timestamp("2010-03-15")]
    assert list(frame["sex"]) == [2, 1, 1]
    assert frame["canonical"].isna().all()


def test_normalize_many_and_classify_many():
    series = pd.Series(["640823-3234", "hello", None], index=[10, 20, 30])
    assert normalize_many(series, reference_date=REF).tolist() == ["196408233234", pd.NA, pd.NA]
    assert normalize_many(series, reference_date=REF).index.tolist() == [10, 20, 30]
    kinds = classify_many(series, reference_date=REF)
    assert kinds.dtype == "category" and kinds.tolist() == ["personnummer", "invalid", "invalid"]


# --- reference dates ------------------------------------------------------------------------------------------

def test_per_row_reference_dates_and_missing_means_today():
    born_today = date.today().strftime("%Y%m%d") + "-" + \
        (lambda nine: nine[6:] + str(check_digit(nine)))(date.today().strftime("%y%m%d") + "123")
    values = [born_today, born_today, "000101-" + "123" + str(check_digit("000101123"))]
    refs = [date.today() - timedelta(days=1), None, "1999-12-31"]
    frame = parse_many(values, reference_date=refs)
    assert frame["kind"].tolist() == ["invalid", "personnummer", "personnummer"]
    assert frame["canonical"][2].startswith("1900")
    frame = parse_many(pd.Series(values), reference_date=pd.Series(pd.to_datetime(["2000-01-01", None, "2000-01-01"])))
    assert frame["canonical"][2].startswith("2000")


def test_reference_dates_must_match_the_values():
    with pytest.raises(ValueError):
        parse_many(["640823-3234"], reference_date=[REF, REF])
    with pytest.raises(ValueError):
        parse_many(pd.Series(["640823-3234"], index=[5]), reference_date=pd.Series([REF], index=[6]))


# --- the engine's contract --------------------------------------------------------------------------------------

def test_parse_arrays_contract():
    parsed = parse_arrays(SAMPLES, reference_date=REF)
    assert isinstance(parsed, ParsedIds) and len(parsed) == len(SAMPLES)
    assert parsed.canonical.dtype == np.dtype("S12")
    assert (parsed.kind.dtype, parsed.reason.dtype, parsed.sex.dtype) == (np.int8, np.int8, np.int8)
    assert parsed.birth_date.dtype == np.dtype("datetime64[D]")
    assert parsed.is_samordningsnummer.dtype == bool and parsed.birth_year.dtype == np.int16
    pnr = np.isin(parsed.kind, [KINDS.index("personnummer"), KINDS.index("samordningsnummer")])
    assert (parsed.canonical[~pnr] == b"").all() and (parsed.canonical[pnr] != b"").all()
    assert ((parsed.reason == -1) == (parsed.kind != KINDS.index("invalid"))).all()
    assert set(parsed.sex.tolist()) <= {0, 1, 2}
    assert parsed.canonical[0] == b"196408233234"
    with pytest.raises(ValueError):
        parsed.kind[0] = 0  # read-only: a parsed column cannot be changed after the fact
    assert "6408" not in repr(parsed)
    pd.testing.assert_frame_equal(parsed.to_frame(), scalar_frame(SAMPLES, [REF] * len(SAMPLES)))
    index = pd.Index(range(100, 100 + len(SAMPLES)))
    assert parsed.to_frame(index).index.equals(index)


@given(st.lists(st.text(DIGIT, min_size=9, max_size=9), min_size=1, max_size=20))
def test_vectorised_check_digits_equal_the_scalar_ones(numbers):
    matrix = np.array([[int(c) for c in n] for n in numbers], dtype=np.uint8)
    assert check_digits(matrix).tolist() == [check_digit(n) for n in numbers]
    assert check_digits(np.ascontiguousarray(matrix.T).T).tolist() == [check_digit(n) for n in numbers]


def test_the_whitespace_table_is_exactly_what_str_strip_removes():
    from pseudonym.vectorized import _WHITESPACE

    assert set(_WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}
