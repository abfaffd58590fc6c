"""Comparison levels: how alike two records are on one field, one small integer per candidate pair.

Level 0 is full agreement and the last level is disagreement; `MISSING` (-1) marks a pair where either
value is absent, which is evidence neither way (Fellegi–Sunter weight 0), never an agreement.
String similarities are computed once per distinct pair of values in a chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MISSING = -1


@dataclass(frozen=True)
class Method:
    """How a comparison method reads values (`kind`) and what its thresholds mean."""

    kind: str  # "text" (exact agreement only), "string", "date" or "numeric"
    defaults: tuple[float, ...]  # thresholds used when the config gives none
    similarity: bool  # thresholds are similarities in (0, 1] (at least), else distances (at most)


METHODS: dict[str, Method] = {
    "exact": Method("text", (), False),
    "jaro": Method("string", (0.92, 0.8), True),
    "jarowinkler": Method("string", (0.92, 0.8), True),
    "levenshtein": Method("string", (0.85, 0.7), True),
    "damerau_levenshtein": Method("string", (0.85, 0.7), True),
    "qgram": Method("string", (0.8, 0.6), True),
    "cosine": Method("string", (0.8, 0.6), True),
    "date": Method("date", (2,), False),
    "numeric": Method("numeric", (), False),
}


def level_names(method: str, thresholds: tuple[float, ...]) -> tuple[str, ...]:
    """Names of a comparison's levels, most to least alike (missing is not a level)."""
    kind = METHODS[method].kind
    if kind == "text":
        return ("exact", "different")
    if kind == "string":
        return ("exact", *(f"{method}>={t:g}" for t in thresholds), "different")
    if kind == "numeric":
        return ("exact", *(f"within_{t:g}" for t in thresholds), "different")
    return ("exact", "day_month_swapped", *(f"within_{t:g}_days" for t in thresholds),
            "one_digit_typo", "same_year_month", "different")


@dataclass(frozen=True)
class DateParts:
    """Calendar parts of each distinct date value; -1 (or `valid` False) where it is not a date."""

    year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    days: np.ndarray  # days since 1970-01-01 where the date exists in the calendar
    valid: np.ndarray
    digits: np.ndarray  # (n, 8) digits of YYYYMMDD; rows of 255 where the value is not of that shape


@dataclass(frozen=True)
class TextProfile:
    """What bounds the similarity of two distinct text values cheaply: length, letters, first letters."""

    length: np.ndarray
    letters: np.ndarray  # (n, 64) uint8: how often each letter occurs, letters folded by code point mod 64
    prefix: np.ndarray  # (n, 4) first four code points, -1 past the end


@dataclass(frozen=True)
class Column:
    """One field of both tables, normalised and coded jointly: equal values get equal codes, missing is -1."""

    left: np.ndarray
    right: np.ndarray
    values: np.ndarray  # distinct normalised values by code: text, or float for numeric
    unparsed: int = 0  # present values that could not be read as the method's type (numeric: treated as missing)
    dates: DateParts | None = None
    profile: TextProfile | None = None


def prepare(left: pd.Series, right: pd.Series, kind: str) -> Column:
    """Normalise one field of both tables for a comparison of this kind and code its values jointly.

    Each distinct raw value is normalised once, so the cost follows the number of distinct values. Codes
    number the sorted distinct values, so they do not depend on the order of the rows.
    """
    if kind == "text" and all(pd.api.types.is_integer_dtype(side) for side in (left, right)):
        return _integer_column(left, right)  # integer keys compare exactly as they are: nothing to normalise
    normalise = _numbers if kind == "numeric" else _dates if kind == "date" else _text
    raw_codes, raw_values = pd.factorize(pd.concat([left, right], ignore_index=True), use_na_sentinel=True)
    normalised, unparsed = normalise(pd.Series(raw_values))
    value_codes, values = sorted_codes(normalised, numeric=kind == "numeric")  # codes follow the values
    codes = np.r_[value_codes, -1][raw_codes].astype(np.int32)  # raw code -1 (missing) picks the final -1
    bad_rows = int(np.r_[np.asarray(unparsed, dtype=bool), False][raw_codes].sum())
    return Column(codes[: len(left)], codes[len(left):], values, bad_rows,
                  _date_parts(values) if kind == "date" else None, _profile(values) if kind == "string" else None)


def _integer_column(left: pd.Series, right: pd.Series) -> Column:
    """An exact comparison of integer columns (nullable or not): codes number the distinct integers in order."""
    sides = [pd.array(side, dtype="Int64") for side in (left, right)]
    present = np.concatenate([~np.asarray(side.isna()) for side in sides])
    number = np.concatenate([side.to_numpy(dtype=np.int64, na_value=0) for side in sides])
    low, high = (int(number[present].min()), int(number[present].max())) if present.any() else (0, -1)
    if high - low <= 4 * len(number):  # a small range (positions, years): ranked by a table of it, not sorted
        seen = np.zeros(high - low + 1, dtype=bool)
        seen[number[present] - low] = True
        codes = np.full(len(number), -1, dtype=np.int32)
        codes[present] = (np.cumsum(seen) - 1)[number[present] - low]
        values = np.flatnonzero(seen) + low
    else:
        codes, values = pd.factorize(pd.arrays.IntegerArray(number, ~present), sort=True, use_na_sentinel=True)
        codes = codes.astype(np.int32)
    return Column(codes[: len(left)], codes[len(left):], np.asarray(values, dtype=object))


def sorted_codes(values: pd.Series, *, numeric: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """`pd.factorize(values, sort=True)`: codes numbering the distinct values in sorted order (-1 missing) and those
    values; the distinct values sorted by Arrow (text in code point order, as Python sorts it), far faster than
    sorting Python strings."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if numeric:
        uniques = np.asarray(uniques, dtype=float)
        order = np.argsort(uniques, kind="stable")
    else:
        uniques = np.asarray(uniques, dtype=object)
        order = pc.sort_indices(pa.array(uniques, pa.string())).to_numpy() if len(uniques) else np.zeros(0, np.int64)
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1
    return rank[codes], uniques[order]


def exact_share(column: Column) -> float:
    """Share of all left × right pairs with both values present whose values are equal."""
    size = len(column.values)
    left = np.bincount(column.left[column.left >= 0], minlength=size).astype(float)
    right = np.bincount(column.right[column.right >= 0], minlength=size).astype(float)
    present = left.sum() * right.sum()
    return float(left @ right / present) if present else 0.0


def compare(column: Column, method: str, thresholds: tuple[float, ...],
            li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """The comparison level (int8) of each pair of left/right row positions."""
    cl, cr = column.left[li], column.right[ri]
    missing = (cl < 0) | (cr < 0)
    if missing.all():
        return np.full(len(cl), MISSING, dtype=np.int8)
    exact = (cl == cr) & ~missing
    kind = METHODS[method].kind
    if kind == "text":
        levels = np.where(exact, 0, 1)
    elif kind == "string":
        levels = _string_levels(column, method, thresholds, cl, cr, ~(missing | exact))
    elif kind == "numeric":
        safe_l, safe_r = np.where(missing, 0, cl), np.where(missing, 0, cr)
        diff = np.abs(column.values[safe_l] - column.values[safe_r])
        levels = 1 + (diff[:, None] > np.asarray(thresholds, dtype=float)[None, :]).sum(axis=1)
        levels[exact] = 0
    else:
        levels = _date_levels(column.dates, thresholds, np.where(missing, 0, cl), np.where(missing, 0, cr), exact)
    return np.where(missing, MISSING, levels).astype(np.int8)


def _string_levels(column: Column, method: str, thresholds: tuple[float, ...], cl: np.ndarray, cr: np.ndarray,
                   todo: np.ndarray) -> np.ndarray:
    """0 where equal; else 1 + the number of (descending) similarity thresholds the pair falls short of."""
    levels = np.zeros(len(cl), dtype=np.int64)
    if not todo.any():
        return levels
    n = np.int64(len(column.values))
    pair_codes, inverse = np.unique(cl[todo].astype(np.int64) * n + cr[todo], return_inverse=True)
    a, b = pair_codes // n, pair_codes % n
    similarity = np.zeros(len(pair_codes))
    reach = np.ones(len(pair_codes), dtype=bool)
    if method in _BOUNDED:  # most pairs are far apart: skip those that cannot reach the lowest threshold
        reach = _upper_bound(column.profile, method, a, b) >= min(thresholds)
    similarity[reach] = _similarity(method, column.values[a[reach]], column.values[b[reach]])
    short = (similarity[:, None] < np.asarray(thresholds, dtype=float)[None, :]).sum(axis=1)
    levels[todo] = 1 + short[inverse]
    return levels


def _similarity(method: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Similarity in [0, 1] of aligned arrays of distinct, non-empty text values.

    Edit distances and Jaro(-Winkler) call jellyfish directly, as recordlinkage does but 3–14 times faster
    than its pandas `apply` (levenshtein is 1 − distance / longer length, recordlinkage's definition);
    q-gram and cosine use recordlinkage's vectorised (scikit-learn) implementations.
    """
    if method in ("qgram", "cosine"):
        # Imported here: recordlinkage pulls in scikit-learn (about 1.5 s), needed only for these methods.
        from recordlinkage.algorithms import string as rl_string

        function = rl_string.qgram_similarity if method == "qgram" else rl_string.cosine_similarity
        return np.nan_to_num(np.asarray(function(pd.Series(a), pd.Series(b)), dtype=float))
    if method in _EDIT_DISTANCES:
        distance = _EDIT_DISTANCES[method]
        pairs = (1 - distance(x, y) / max(len(x), len(y)) for x, y in zip(a, b))
    else:
        similarity = _SIMILARITIES[method]
        pairs = (similarity(x, y) for x, y in zip(a, b))
    return np.fromiter(pairs, dtype=float, count=len(a))


_EDIT_DISTANCES = {"levenshtein": jellyfish.levenshtein_distance,
                   "damerau_levenshtein": jellyfish.damerau_levenshtein_distance}
_SIMILARITIES = {"jaro": jellyfish.jaro_similarity, "jarowinkler": jellyfish.jaro_winkler_similarity}


_BOUNDED = ("jaro", "jarowinkler", "levenshtein", "damerau_levenshtein")


def _upper_bound(profile: TextProfile, method: str, a: np.ndarray, b: np.ndarray,
                 batch: int = 1 << 16) -> np.ndarray:
    """An upper bound of the similarity of value pairs (a[i], b[i]), from their profiles only.

    At most `common` letters can match or stay unchanged (the multiset intersection of the letters), so
    Jaro <= (common/len_a + common/len_b + 1) / 3, Jaro-Winkler adds at most 0.1 per shared leading letter
    (up to 4) of the rest, and 1 − edit distance / longer length <= common / longer length.
    """
    bound = np.empty(len(a))
    for start in range(0, len(a), batch):  # bounded memory: 64 bytes a value per batch row
        i, j = a[start:start + batch], b[start:start + batch]
        common = np.minimum(profile.letters[i], profile.letters[j]).sum(axis=1, dtype=np.int64)
        len_a, len_b = profile.length[i], profile.length[j]
        if method in ("levenshtein", "damerau_levenshtein"):
            bound[start:start + batch] = common / np.maximum(len_a, len_b)
            continue
        jaro = np.where(common > 0, (common / len_a + common / len_b + 1) / 3, 0.0)
        if method == "jarowinkler":
            shared = np.cumprod(profile.prefix[i] == profile.prefix[j], axis=1).sum(axis=1)
            jaro = jaro + 0.1 * shared * (1 - jaro)
        bound[start:start + batch] = jaro
    return bound


def _profile(values: np.ndarray) -> TextProfile:
    """Lengths, letter counts and first letters of text values, from one array of all their code points."""
    length = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
    points = np.frombuffer("".join(values).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    owner = np.repeat(np.arange(len(values)), length)
    letters = np.bincount(owner * 64 + points % 64, minlength=len(values) * 64).reshape(len(values), 64)
    starts, padded = np.cumsum(length) - length, np.r_[points, -1]  # index len(points): past the end
    prefix = np.stack([padded[np.where(length > k, starts + k, len(points))] for k in range(4)], axis=1)
    return TextProfile(length, np.minimum(letters, 255).astype(np.uint8), prefix)


def _date_levels(parts: DateParts, thresholds: tuple[float, ...], cl: np.ndarray, cr: np.ndarray,
                 exact: np.ndarray) -> np.ndarray:
    """exact, day/month swapped, within N days, one digit typo (or two adjacent digits swapped), same year and
    month, different — the first that holds; codes of missing pairs are masked by the caller."""
    year_l, year_r = parts.year[cl], parts.year[cr]
    month_l, month_r = parts.month[cl], parts.month[cr]
    day_l, day_r = parts.day[cl], parts.day[cr]
    shaped = year_l >= 0
    shaped_both = shaped & (year_r >= 0)
    swapped = shaped_both & (year_l == year_r) & (month_l == day_r) & (day_l == month_r)
    valid = parts.valid[cl] & parts.valid[cr]
    apart = np.abs(parts.days[cl] - parts.days[cr])
    within = [valid & (apart <= t) for t in thresholds]
    digits_l, digits_r = parts.digits[cl], parts.digits[cr]
    differ = digits_l != digits_r
    n_differ = differ.sum(axis=1)
    transposed = ((differ[:, :-1] & differ[:, 1:]) & (digits_l[:, :-1] == digits_r[:, 1:])
                  & (digits_l[:, 1:] == digits_r[:, :-1])).any(axis=1)
    typo = shaped_both & ((n_differ == 1) | ((n_differ == 2) & transposed))
    same_month = shaped_both & (year_l == year_r) & (month_l == month_r)
    conditions = [exact, swapped, *within, typo, same_month]
    return np.select(conditions, list(range(len(conditions))), default=len(conditions))


def _text(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Trimmed, case-folded text with runs of white space made one space; blank is missing.

    ASCII values are normalised by Arrow (case folding is lower-casing there); others one by one by Python's
    `str.split` and `str.casefold`."""
    if pd.api.types.is_datetime64_any_dtype(series):
        series = series.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_float_dtype(series):
        finite = series.dropna()
        if np.isfinite(finite).all() and (finite == np.floor(finite)).all():  # whole numbers read as "12", not "12.0"
            series = series.astype("Int64")
    raw = pa.array(series.astype("string").to_numpy(dtype=object, na_value=None), pa.string())
    text = pc.ascii_lower(pc.utf8_trim(pc.replace_substring_regex(raw, _ASCII_SPACE, " "), " "))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    other = np.flatnonzero(~pc.fill_null(pc.string_is_ascii(raw), True).to_numpy(zero_copy_only=False))
    if len(other):
        folded = [" ".join(v.split()).casefold() or None for v in raw.take(pa.array(other)).to_pylist()]
        text = pc.replace_with_mask(text, _mask(len(raw), other), pa.array(folded, pa.string()))
    return pd.Series(pd.arrays.ArrowStringArray(text), index=series.index), np.zeros(len(raw), dtype=bool)


#: The ASCII characters Python's `str.split()` splits on, in runs.
_ASCII_SPACE = "[\t\n\x0b\x0c\r\x1c-\x1f ]+"


def _mask(n: int, rows: np.ndarray) -> pa.Array:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return pa.array(mask)


_DATE = r"^([0-9]{4})(?:([0-9]{2})([0-9]{2})|[-/.]([0-9]{1,2})[-/.]([0-9]{1,2}))(?:[ t].*)?$"  # text is case-folded


def _dates(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates as YYYYMMDD text (also when not a real calendar date, so typos compare); other text is kept
    as it is (compared for equality only) and counted as unparsed."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y%m%d").astype("string"), np.zeros(len(series), dtype=bool)
    text, _ = _text(series)
    canonical = text.where(text.str.fullmatch("[0-9]{8}").fillna(False))
    other = text.notna() & canonical.isna()
    if other.any():  # separated forms such as 2011-3-9; the regex is slow, so only where needed
        parts = text[other].str.extract(_DATE)
        canonical[other] = parts[0] + parts[1].fillna(parts[3].str.zfill(2)) + parts[2].fillna(parts[4].str.zfill(2))
    return canonical.fillna(text), (text.notna() & canonical.isna()).to_numpy(dtype=bool)


def _numbers(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers as float (a decimal comma is read too); present text that is not a number is counted as
    unparsed and treated as missing."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype(float), np.zeros(len(series), dtype=bool)
    text, _ = _text(series)
    numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").astype(float)
    return numbers, (text.notna() & numbers.isna()).to_numpy(dtype=bool)


def _date_parts(values: np.ndarray) -> DateParts:
    text = pd.Series(values, dtype="string")
    shaped = text.str.fullmatch(r"[0-9]{8}").fillna(False).to_numpy(dtype=bool)
    eight = np.where(shaped, values, "99999999").astype("U8")
    digits = np.frombuffer("".join(eight).encode("ascii"), dtype=np.uint8).reshape(-1, 8) - ord("0")
    digits = np.where(shaped[:, None], digits, 255).astype(np.uint8)
    numbers = digits.astype(np.int64)
    year = np.where(shaped, numbers[:, :4] @ np.array([1000, 100, 10, 1]), -1)
    month = np.where(shaped, numbers[:, 4] * 10 + numbers[:, 5], -1)
    day = np.where(shaped, numbers[:, 6] * 10 + numbers[:, 7], -1)
    parsed = pd.to_datetime(pd.Series(np.where(shaped, values, None), dtype=object), format="%Y%m%d",
                            errors="coerce")
    valid = parsed.notna().to_numpy()
    days = np.where(valid, parsed.to_numpy(dtype="datetime64[D]").astype(np.int64, copy=False), 0)
    return DateParts(year, month, day, days, valid, digits)
