"""Identifiers of the synthetic world, and writing them the way each register does (mess included, on purpose).

Numbers are held as int64 `YYYYMMDDNNNC` (a samordningsnummer has 60 added to the day). Rules from domain.md §1:
födelsenummer 001-999 with the 9th digit odd for men and even for women (§1.1), Luhn over the 9 digits YYMMDDNNN
(`pseudonym.luhn`), a nearby day in the same month when a birth date's numbers run out (prop. 2008/09:111, §1.1),
samordningsnummer day + 60 and day 60 for an unknown day (§1.2), the placement register's municipal temporary IDs
`YYYYMMDD-TXNN` unique within the kommun (§2.1, §1.6) and the regional reserve-number formats (§1.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.synth.timeline import NONE, from_ymd
from pseudonym.luhn import check_digits

#: How registers write a personnummer: 12 digits, 12 with a dash, 10 with a dash, 10 without a separator.
STYLES = ("12", "12dash", "10dash", "10")
KIND_PERSONNUMMER, KIND_SAMORDNINGSNUMMER = 1, 2
_CAPACITY = {True: 500, False: 499}  # födelsenummer per date: odd 001-999 for men, even 002-998 for women
_NEARBY = tuple(s for k in range(1, 31) for s in (k, -k))  # nearest days first, within the month
#: Skåne reserve numbers: date + a letter + 3 digits; letters that no interim/VGR/Värmland rule reads.
_SKANE_LETTERS = np.array(list("ABCDEFGHPQYZ"))
_TEMP_X = np.array(list("0123456789F"))
_VGR_LETTERS = np.array(["K", "M", "X"])
_VGR_VALUE = np.array([5, 7, 8])
_VARMLAND_CHECK = np.array(list("ABCDEFGHIJKLMNOPQRSTUWXYZ"))  # A-Z except V


def group_rank(rng: np.random.Generator, keys: np.ndarray) -> np.ndarray:
    """Rank (0, 1, …) of every element among those with the same (non-negative) key, in random order."""
    keys = np.asarray(keys, dtype=np.int64)
    n = len(keys)
    if not n:
        return np.zeros(0, dtype=np.int64)
    bits = 62 - int(keys.max()).bit_length()
    order = np.argsort((keys << bits) | rng.integers(0, 1 << bits, n))
    sorted_keys = keys[order]
    starts = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first
    return rank


def spread(rng: np.random.Generator, keys: np.ndarray, rank: np.ndarray, capacity: int | np.ndarray) -> np.ndarray:
    """Distinct slots 0..capacity-1 within each key: slot = (offset + rank * stride) mod capacity, per-key offset
    and stride (coprime with the capacity), so the slots look random but never collide for rank < capacity."""
    unique, inverse = np.unique(keys, return_inverse=True)
    capacity = np.broadcast_to(np.asarray(capacity, dtype=np.int64), keys.shape)
    cap_of_key = np.zeros(len(unique), dtype=np.int64)
    cap_of_key[inverse] = capacity
    offset = (rng.random(len(unique)) * cap_of_key).astype(np.int64)
    stride = np.ones(len(unique), dtype=np.int64)
    for cap in np.unique(cap_of_key):
        candidates = np.flatnonzero(np.gcd(np.arange(1, max(cap, 2)), cap) == 1) + 1
        mine = cap_of_key == cap
        stride[mine] = candidates[rng.integers(0, len(candidates), mine.sum())]
    return (offset[inverse] + rank * stride[inverse]) % capacity


def days_in_month(ymd: np.ndarray) -> np.ndarray:
    """Days in the month of each `YYYYMMDD` int."""
    first = from_ymd(ymd - ymd % 100 + 1).astype("datetime64[D]")
    return ((first.astype("datetime64[M]") + 1).astype("datetime64[D]") - first).astype(np.int64)


def assign_numbers(rng: np.random.Generator, ymd: np.ndarray, male: np.ndarray, samordning: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Unique numbers for birth dates `ymd` (YYYYMMDD; day 00 = unknown day), returning (numbers, day shift).

    Where a date's födelsenummer run out, the number uses a nearby day in the same month (shift != 0).
    """
    n = len(ymd)
    ymd = np.asarray(ymd, dtype=np.int64)
    male = np.asarray(male, dtype=bool)
    coded = ymd + np.where(samordning, 60, 0)
    capacity = np.where(male, _CAPACITY[True], _CAPACITY[False])
    keys = coded * 2 + male
    rank = group_rank(rng, keys)
    shift = np.zeros(n, dtype=np.int64)
    pending = np.flatnonzero(rank >= capacity)
    if len(pending):
        used = pd.Series(keys[rank < capacity]).value_counts()
        month_days = days_in_month(ymd)
        for step in _NEARBY:
            day = ymd[pending] % 100 + step
            ok = (ymd[pending] % 100 > 0) & (day >= 1) & (day <= month_days[pending])
            trial = pending[ok]
            trial_keys = (coded[trial] + step) * 2 + male[trial]
            trial_rank = group_rank(rng, trial_keys) + \
                used.reindex(trial_keys, fill_value=0).to_numpy()
            fits = trial_rank < capacity[trial]
            accepted = trial[fits]
            shift[accepted], rank[accepted] = step, trial_rank[fits]
            used = used.add(pd.Series(trial_keys[fits]).value_counts(), fill_value=0).astype(np.int64)
            pending = np.setdiff1d(pending, accepted)
            if not len(pending):
                break
        if len(pending):
            raise ValueError("the synthetic world is too large: födelsenummer ran out for some birth dates")
    keys = (coded + shift) * 2 + male
    slot = spread(rng, keys, rank, capacity)
    fodelsenummer = np.where(male, 2 * slot + 1, 2 * slot + 2)
    return with_check_digit((coded + shift) * 1000 + fodelsenummer), shift


def with_check_digit(first11: np.ndarray) -> np.ndarray:
    """`YYYYMMDDNNN` → `YYYYMMDDNNNC` with the Luhn check digit over YYMMDDNNN."""
    first11 = np.asarray(first11, dtype=np.int64)
    return first11 * 10 + check_digits(_digits(first11 % 10**9, 9))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def luhn_valid(numbers: np.ndarray) -> np.ndarray:
    """Does the check digit of each `YYYYMMDDNNNC` hold?"""
    numbers = np.asarray(numbers, dtype=np.int64)
    return check_digits(_digits((numbers // 10) % 10**9, 9)) == numbers % 10


def with_typo(rng: np.random.Generator, numbers: np.ndarray) -> np.ndarray:
    """One digit of YYMMDDNNNC replaced by another: Luhn catches every such change, so the check digit breaks."""
    numbers = np.asarray(numbers, dtype=np.int64)
    power = 10 ** rng.integers(0, 10, len(numbers)).astype(np.int64)
    digit = (numbers // power) % 10
    new_digit = (digit + rng.integers(1, 10, len(numbers))) % 10
    return numbers + (new_digit - digit) * power


def format_numbers(numbers: np.ndarray, style: str | np.ndarray) -> pa.Array:
    """Numbers written in a style of `STYLES` (one style, or a per-row array of style indices)."""
    text = pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string())
    forms = {
        "12": lambda: text,
        "12dash": lambda: pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, 8),
                                                      pc.utf8_slice_codeunits(text, 8, 12), "-"),
        "10dash": lambda: pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 2, 8),
                                                      pc.utf8_slice_codeunits(text, 8, 12), "-"),
        "10": lambda: pc.utf8_slice_codeunits(text, 2, 12),
    }
    if isinstance(style, str):
        return forms[style]()
    style = np.asarray(style)
    out = None
    for i, name in enumerate(STYLES):
        mask = style == i
        if mask.any():
            written = forms[name]()
            out = written if out is None else pc.if_else(pa.array(mask), written, out)
    return out if out is not None else text


def canonical(numbers: np.ndarray) -> np.ndarray:
    """Numbers as 12-digit strings (object array)."""
    return pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()).to_numpy(zero_copy_only=False)


class IdentifierHistory:
    """Every person's numbers over time: up to three versions (e.g. samordningsnummer → personnummer → corrected).

    numbers/kinds/since are (3, n), version-major; since = first day (days since 1970) the version is used, NONE
    where the person never had that version.
    """

    def __init__(self, numbers: np.ndarray, kinds: np.ndarray, since: np.ndarray) -> None:
        self.numbers, self.kinds, self.since = numbers, kinds, since
        self.last = ((since != NONE).sum(axis=0) - 1).astype(np.int8)  # current version, -1: no number at all
        self._text: dict[str, pa.Array] = {}

    @property
    def current(self) -> np.ndarray:
        return np.take_along_axis(self.numbers, np.maximum(self.last, 0)[None, :].astype(np.int64), 0)[0] * \
            (self.last >= 0)

    @property
    def current_kind(self) -> np.ndarray:
        return np.take_along_axis(self.kinds, np.maximum(self.last, 0)[None, :].astype(np.int64), 0)[0] * \
            (self.last >= 0)

    def text(self, style: str) -> pa.Array:
        """All numbers written in `style`, version-major (index = version * n + person); computed once."""
        if style not in self._text:
            self._text[style] = format_numbers(self.numbers.reshape(-1), style)
        return self._text[style]

    def version_at(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Version in use on `day` (-1 before the person had any number)."""
        person = np.asarray(person, dtype=np.int64)
        day = np.asarray(day, dtype=np.int64)
        version = np.where(day >= self.since[0][person], 0, -1).astype(np.int8)
        several = np.flatnonzero(self.last[person] > 0)
        if len(several):
            who, when = person[several], day[several]
            version[several] = ((when >= self.since[0][who]).astype(np.int8) + (when >= self.since[1][who])
                                + (when >= self.since[2][who]) - 1)
        return version

    def at(self, person: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(number, kind, is_superseded) in use on `day`; number 0 and kind 0 where the person had none yet."""
        person = np.asarray(person, dtype=np.int64)
        version = self.version_at(person, day)
        flat = np.maximum(version, 0).astype(np.int64) * self.numbers.shape[1] + person
        has = version >= 0
        number = np.where(has, self.numbers.reshape(-1)[flat], 0)
        kind = np.where(has, self.kinds.reshape(-1)[flat], 0)
        return number, kind, has & (version < self.last[person])


@dataclass
class Special:
    """Rows (indices) that carry a non-number identifier of one kind (temporary_id, reserve_number), and its text."""

    rows: np.ndarray
    values: np.ndarray
    kind: str


@dataclass
class WrittenIds:
    """An identifier column as a register wrote it, the planted errors by kind, and identifiers it made up."""

    values: pa.Array
    errors: dict[str, np.ndarray]  # error kind → bool mask over rows
    extra: pd.DataFrame  # person_id, identifier, kind, kommun: typo'd numbers (canonical) and raw special IDs


def write_ids(rng: np.random.Generator, history: IdentifierHistory, person: np.ndarray, day: np.ndarray, *,
              style: str | np.ndarray, typo_rate: float, whitespace_rate: float = 0.0,
              special: Special | None = None) -> WrittenIds:
    """Write each row's identifier as the number in use on `day` in `style`, with typos and stray whitespace.

    `style` is one of STYLES or a per-row array of indices into STYLES. `special` overrides some rows with a
    temporary ID or reserve number; rows with no number and no special value stay empty (a missing identifier).
    """
    n = len(person)
    person = np.asarray(person, dtype=np.int64)
    version = history.version_at(person, day)
    flat = np.maximum(version, 0).astype(np.int64) * history.numbers.shape[1] + person
    kind = np.where(version >= 0, history.kinds.reshape(-1)[flat], 0)
    use_special = _mask(n, special.rows) if special is not None else np.zeros(n, bool)
    regular = (version >= 0) & ~use_special
    row_style = np.full(n, STYLES.index(style)) if isinstance(style, str) else np.asarray(style)
    main = int(np.bincount(row_style, minlength=len(STYLES)).argmax())
    typo = regular & (rng.random(n) < typo_rate)
    pad = regular & (rng.random(n) < whitespace_rate) if whitespace_rate else np.zeros(n, bool)
    missing = ~regular & ~use_special
    errors = {"samordningsnummer": regular & (kind == KIND_SAMORDNINGSNUMMER),
              "old_personnummer": regular & (kind == KIND_PERSONNUMMER) & (version < history.last[person]),
              "typo_checksum": typo, "whitespace": pad, "missing_identifier": missing}
    # Most rows are the number in the register's usual style; the rest are written one by one below.
    values = history.text(STYLES[main]).take(pa.array(flat))
    changed = (regular & ((row_style != main) | typo | pad)) | use_special | missing
    rows = np.flatnonzero(changed)
    number = history.numbers.reshape(-1)[flat[rows]]
    typo_rows = typo[rows]
    number[typo_rows] = with_typo(rng, number[typo_rows])
    text = format_numbers(number, row_style[rows]).to_numpy(zero_copy_only=False).astype(object)
    padded = pad[rows]
    if padded.any():
        left = np.array(["", " ", "  ", " "], dtype=object)[rng.integers(0, 4, padded.sum())]
        right = np.where(left == "", " ", np.array(["", " "], dtype=object)[rng.integers(0, 2, padded.sum())])
        text[padded] = left + text[padded] + right
    extra = [pd.DataFrame({"person_id": person[rows][typo_rows], "identifier": canonical(number[typo_rows]),
                           "kind": "typo_checksum", "kommun": None})]
    if special is not None and len(special.rows):
        texts = np.asarray(special.values).astype(str).astype(object)
        text[np.searchsorted(rows, special.rows)] = texts
        errors[special.kind] = use_special
        extra.append(pd.DataFrame({"person_id": person[special.rows], "identifier": texts,
                                   "kind": special.kind, "kommun": None}))
    text[missing[rows]] = None
    if len(rows):
        values = pc.replace_with_mask(values, pa.array(changed), pa.array(text, pa.string()))
    return WrittenIds(values, {k: v for k, v in errors.items() if v.any()}, pd.concat(extra, ignore_index=True))


def _mask(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, bool)
    mask[rows] = True
    return mask


def temporary_ids(rng: np.random.Generator, kommun: np.ndarray, ymd: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Municipal temporary IDs `YYYYMMDD-TXNN` (X digit or letter, the first N odd for a man), unique within
    each kommun for distinct rows (each row one child in one kommun)."""
    keys = (np.asarray(kommun, dtype=np.int64) * 10**8 + ymd) * 2 + male
    rank = group_rank(rng, keys)
    capacity = len(_TEMP_X) * 50
    if (rank >= capacity).any():
        raise ValueError("the synthetic world is too large: temporary IDs ran out for a kommun and birth date")
    slot = spread(rng, keys, rank, capacity)
    x = _TEMP_X[slot // 50]
    sex_digit = 2 * ((slot // 10) % 5) + np.where(male, 1, 0)
    last = slot % 10
    return _join(ymd.astype(str), "-T", x, sex_digit.astype(str), last.astype(str))


def reserve_numbers(rng: np.random.Generator, lan: np.ndarray, ymd: np.ndarray, male: np.ndarray,
                    issued_year: np.ndarray) -> np.ndarray:
    """Reserve numbers in the region's format (domain.md §1.5), one per row (each row one person in one region):
    Stockholm `99yyyyNNNNNC`, Västra Götaland `yyyymmddGggC`, Värmland `yyyymmddSFNC`, Skåne date + letter + 3
    digits, elsewhere Inera Carelink `yyyymmxxNNNC`."""
    n = len(lan)
    out = np.empty(n, dtype=object)
    ymd = np.asarray(ymd, dtype=np.int64)
    male = np.asarray(male, dtype=bool)
    date_text = ymd.astype(str)
    regions = {"01": _stockholm, "14": _vgr, "17": _varmland, "12": _skane}
    for code, make in regions.items():
        rows = np.flatnonzero(lan == code)
        if len(rows):
            out[rows] = make(rng, ymd[rows], date_text[rows], male[rows], np.asarray(issued_year)[rows])
    rows = np.flatnonzero(~np.isin(lan, list(regions)))
    if len(rows):
        out[rows] = _carelink(rng, ymd[rows])
    return out


def _stockholm(rng, ymd, date_text, male, year):
    rank = group_rank(rng, year)
    serial = spread(rng, year, rank, 99999) + 1
    first11 = 99 * 10**9 + year.astype(np.int64) * 10**5 + serial
    check = check_digits(_digits(first11 % 10**7, 7))  # Luhn over positions 5-11
    return (first11 * 10 + check).astype(str)


def _vgr(rng, ymd, date_text, male, year):
    keys = ymd * 2 + male
    rank = group_rank(rng, keys)
    slot = spread(rng, keys, rank, 3 * 37)  # G in K/M/X, gg in 06-79 with the sex's parity
    letter = slot // 37
    gg = 6 + 2 * (slot % 37) + np.where(male, 1, 0)
    digits = np.concatenate([_digits(ymd % 10**6, 6), _VGR_VALUE[letter][:, None], _digits(gg, 2)], axis=1)
    check = check_digits(digits)
    return _join(date_text, _VGR_LETTERS[letter], np.char.zfill(gg.astype(str), 2), check.astype(str))


def _varmland(rng, ymd, date_text, male, year):
    keys = ymd * 2 + male
    slot = spread(rng, keys, group_rank(rng, keys), 4 * len(_VARMLAND_CHECK))
    sex_digit = np.where(male, 3, 2) + 2 * (slot // len(_VARMLAND_CHECK))
    return _join(date_text, "SF", sex_digit.astype(str), _VARMLAND_CHECK[slot % len(_VARMLAND_CHECK)])


def _skane(rng, ymd, date_text, male, year):
    slot = spread(rng, ymd, group_rank(rng, ymd), len(_SKANE_LETTERS) * 1000)
    return _join(date_text, _SKANE_LETTERS[slot // 1000], np.char.zfill((slot % 1000).astype(str), 3))


def _carelink(rng, ymd):
    month = ymd // 100
    slot = spread(rng, month, group_rank(rng, month), 28 * 999)
    first11 = (month * 100 + 32 + slot // 999) * 1000 + slot % 999 + 1
    return with_check_digit(first11).astype(str)


def _join(*parts) -> np.ndarray:
    out = np.asarray(parts[0]).astype(object)
    for part in parts[1:]:
        out = out + np.asarray(part).astype(object)
    return out
