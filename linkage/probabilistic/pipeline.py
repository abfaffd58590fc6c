"""The linkage run: prepare fields, block, compare, fit m/u by EM, score, assign — chunk by chunk.

Candidate pairs are generated and compared at most `chunk_size` at a time; only pairs that score at
or above the lowest probability anyone asked for (the review band's low end, else the threshold) are
kept. The fit needs the whole stream before scoring, so the compared chunks are kept for scoring up to
CACHE_CHUNKS chunks' worth and beyond that compared a second time: memory stays bounded either way.
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from linkage.errors import InputError
from linkage.probabilistic.assign import assign
from linkage.probabilistic.blocking import Blocking, random_pairs
from linkage.probabilistic.compare import Column, compare, exact_share, prepare
from linkage.probabilistic.config import LinkConfig, LinkConfigError, load_config
from linkage.probabilistic.em import Training
from linkage.probabilistic.model import Model, probability

ConfigLike = LinkConfig | Mapping[str, Any] | str | Path
Chunk = tuple[np.ndarray, np.ndarray, np.ndarray]  # left positions, right positions, levels (pairs × comparisons)
#: Compared chunks kept for scoring after the fit (about 16 + comparisons bytes a pair); more are compared again.
CACHE_CHUNKS = 4


@dataclass(frozen=True)
class PassStats:
    """Pairs agreeing on one blocking pass, and how many of them no earlier pass produced."""

    fields: tuple[str, ...]
    pairs: int
    new_pairs: int


@dataclass(frozen=True)
class LinkStats:
    """Counts of a run and seconds per stage (blocking and compare include any second pass)."""

    passes: tuple[PassStats, ...]
    candidate_pairs: int
    links: int
    review_pairs: int
    ambiguous_pairs: int  # near-tied candidates above the threshold, none linked (all in review)
    ambiguous_left: int  # left records they leave unlinked
    ambiguous_right: int
    unparsed: dict[str, int]  # per field, present values not readable as a date / number
    seconds: dict[str, float]


@dataclass
class LinkResult:
    """Links, pairs for clerical review, the model that scored them and what the run saw."""

    links: pd.DataFrame
    review: pd.DataFrame
    model: Model
    stats: LinkStats
    blocking_recall: float | None
    _fields: _Fields = field(repr=False)

    def explain(self, pairs: pd.DataFrame | None = None) -> pd.DataFrame:
        """Per pair (the links by default): the prior and each comparison's level, m, u and log2 weight.

        The weights of a pair's rows sum to its total weight.
        """
        pairs = self.links if pairs is None else pairs
        li = _positions(self._fields.left_index, pairs["left"], "left")
        ri = _positions(self._fields.right_index, pairs["right"], "right")
        levels = self._fields.levels(li, ri)
        u = self._fields.exact_u(self.model, li, levels)
        n, rows = len(li), []
        rows.append(pd.DataFrame({"pair": np.arange(n), "comparison": "(prior)", "level": "",
                                  "m": np.nan, "u": np.nan, "weight": self.model.prior_weight}))
        for f, fm in enumerate(self.model.fields):
            lv = levels[:, f].astype(np.int64)  # -1 (missing) picks the last entry of each table below
            names = np.array([*fm.levels, "missing"], dtype=object)
            m = np.r_[fm.m, np.nan][lv]
            weights = np.where(lv >= 0, np.log2(m / u[:, f]), 0.0)  # m and u are NaN where missing
            rows.append(pd.DataFrame({"pair": np.arange(n), "comparison": fm.field, "level": names[lv],
                                      "m": m, "u": u[:, f], "weight": weights}))
        long = pd.concat(rows, ignore_index=True).sort_values("pair", kind="stable")
        long.insert(0, "right", self._fields.right_index.take(ri[long["pair"].to_numpy()]))
        long.insert(0, "left", self._fields.left_index.take(li[long["pair"].to_numpy()]))
        return long.drop(columns="pair").reset_index(drop=True)


def link(left: pd.DataFrame, right: pd.DataFrame, config: ConfigLike) -> pd.DataFrame:
    """Link two tables: one row per link with the index labels of both records, probability and weight."""
    return run(left, right, config).links


def run(left: pd.DataFrame, right: pd.DataFrame, config: ConfigLike, *, model: Model | None = None,
        m: Mapping[str, Mapping[str, float]] | None = None, pairs: int | None = None,
        true_pairs: Any = None) -> LinkResult:
    """Link two tables without labels (EM), or with a trained `model`; `true_pairs` adds blocking recall.

    `m` gives m (P(level | match)) for some fields instead of estimating it: field → level name → probability,
    every level of the field named (u and the prior are still estimated). `pairs` is the number of record pairs
    the prior is a share of, where rows are views of fewer records (several rows of one record, the best of
    which decides); by default every row is a record: len(left) × len(right)."""
    seconds = dict.fromkeys(("prepare", "blocking", "compare", "fit", "score", "assign"), 0.0)
    start = time.perf_counter()
    cfg = load_config(config)
    fields = _Fields(left, right, cfg)
    if pairs is not None:
        fields.pairs = pairs
    blocking = Blocking(cfg.blocking, fields.columns)
    seconds["prepare"] = time.perf_counter() - start
    new_pairs = [0] * len(cfg.blocking)
    stream = functools.partial(_compared, blocking, fields, cfg.chunk_size, seconds, new_pairs)
    cache = None
    if model is None:
        model, cache = _fit(stream(), cfg, blocking, fields, seconds, _fixed_m(cfg, m or {}))
    else:
        model.check(cfg)
    chunks = stream() if cache is None else cache
    floor = min(cfg.threshold, cfg.review_band[0]) if cfg.review_band else cfg.threshold
    li, ri, weight = _score(chunks, model, fields, floor, seconds)

    start = time.perf_counter()
    prob = probability(weight)
    linked, ambiguous, review = _decide(li, ri, weight, prob, cfg)
    links = fields.frame(li[linked], ri[linked], prob[linked], weight[linked])
    review_frame = fields.frame(li[review], ri[review], prob[review], weight[review])
    review_frame["reason"] = np.where(ambiguous[review], "ambiguous", "review_band")[
        np.lexsort((ri[review], li[review]))]  # the order fields.frame gives
    seconds["assign"] = time.perf_counter() - start

    stats = LinkStats(
        passes=tuple(PassStats(p, s, n) for p, s, n in zip(cfg.blocking, blocking.sizes(), new_pairs)),
        candidate_pairs=sum(new_pairs), links=int(linked.sum()), review_pairs=int(review.sum()),
        ambiguous_pairs=int(ambiguous.sum()), ambiguous_left=len(np.unique(li[ambiguous])),
        ambiguous_right=len(np.unique(ri[ambiguous])),
        unparsed={name: c.unparsed for name, c in fields.columns.items() if c.unparsed}, seconds=seconds)
    recall = None if true_pairs is None else fields.blocking_recall(blocking, true_pairs)
    return LinkResult(links, review_frame, model, stats, recall, fields)


def blocking_recall(left: pd.DataFrame, right: pd.DataFrame, config: ConfigLike, true_pairs: Any) -> float:
    """Share of the true pairs (index labels) that the blocking passes make candidates."""
    cfg = load_config(config)
    fields = _Fields(left, right, cfg)
    return fields.blocking_recall(Blocking(cfg.blocking, fields.columns), true_pairs)


def evaluate(links: pd.DataFrame, true_pairs: Any) -> dict[str, float]:
    """Precision, recall and F1 of links against the true pairs (both as index labels)."""
    found = pd.MultiIndex.from_arrays([links["left"], links["right"]])
    truth = pd.MultiIndex.from_arrays(_pair_labels(true_pairs))
    hits = len(found.intersection(truth))
    precision = hits / len(found) if len(found) else 0.0
    recall = hits / len(truth) if len(truth) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "links": len(found), "true_pairs": len(truth),
            "true_links": hits}


class _Fields:
    """Both tables' compared and blocked fields, normalised and coded; index labels kept for output."""

    def __init__(self, left: pd.DataFrame, right: pd.DataFrame, cfg: LinkConfig):
        for frame, side in ((left, "left"), (right, "right")):
            cfg.check_columns(frame.columns, side)
            if not frame.index.is_unique:
                raise InputError(f"{side} table: its index labels are not unique, so links could not name rows")
        kinds = {c.field: c.kind for c in cfg.comparisons}
        self.comparisons = cfg.comparisons
        self.columns: dict[str, Column] = {
            name: prepare(left[name], right[name], kinds.get(name, "text")) for name in cfg.fields}
        self.left_index, self.right_index = left.index, right.index
        #: All left × right pairs: what the prior is a share of.
        self.pairs = len(left) * len(right)
        #: Per term-frequency comparison: the share of the right table's present values that are each value (by
        #: code; the last entry, for a missing value, is never used).
        self.frequencies = {c.field: _shares(self.columns[c.field]) for c in cfg.comparisons if c.term_frequency}

    def levels(self, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        """Comparison levels of pairs of positions (pairs × comparisons, int8, -1 missing)."""
        if not self.comparisons:
            return np.zeros((len(li), 0), dtype=np.int8)
        return np.stack([compare(self.columns[c.field], c.method, c.thresholds, li, ri)
                         for c in self.comparisons], axis=1)

    def exact_u(self, model: Model, li: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """u of each pair's level per comparison (pairs × comparisons; NaN where missing): the model's, except that
        an exact agreement of a term-frequency comparison has the share of the right table with that value."""
        u = np.stack([np.r_[fm.u, np.nan][levels[:, f].astype(np.int64)] for f, fm in enumerate(model.fields)],
                     axis=1) if model.fields else np.zeros((len(li), 0))
        for f, exact, shares in self._term_frequency_u(model, li, levels):
            u[exact, f] = shares
        return u

    def weights(self, model: Model, li: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Total weight of each pair: the model's, with term-frequency u for exact agreements where configured."""
        weight = model.weights(levels)
        for f, exact, shares in self._term_frequency_u(model, li, levels):
            weight[exact] += np.log2(model.fields[f].u[0]) - np.log2(shares)
        return weight

    def _term_frequency_u(self, model: Model, li: np.ndarray,
                          levels: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Per term-frequency comparison: its position, the pairs agreeing exactly, and the share of the right table
        with each such pair's value (its u)."""
        for f, fm in enumerate(model.fields):
            if fm.field in self.frequencies:
                exact = np.flatnonzero(levels[:, f] == 0)
                yield f, exact, self.frequencies[fm.field][self.columns[fm.field].left[li[exact]]]

    def random_levels(self) -> list[np.ndarray]:
        """Per comparison, the levels of random pairs of present values (for u)."""
        return [compare(column, c.method, c.thresholds, *random_pairs(column.left, column.right))
                for c in self.comparisons for column in [self.columns[c.field]]]

    def frame(self, li: np.ndarray, ri: np.ndarray, prob: np.ndarray, weight: np.ndarray) -> pd.DataFrame:
        """Pairs as index labels, ordered by left then right position."""
        order = np.lexsort((ri, li))
        return pd.DataFrame({"left": self.left_index.take(li[order]), "right": self.right_index.take(ri[order]),
                             "probability": prob[order], "weight": weight[order]})

    def blocking_recall(self, blocking: Blocking, true_pairs: Any) -> float:
        left_labels, right_labels = _pair_labels(true_pairs)
        li = _positions(self.left_index, left_labels, "left")
        ri = _positions(self.right_index, right_labels, "right")
        return float(blocking.agreement(li, ri).any(axis=1).mean()) if len(li) else float("nan")


def _compared(blocking: Blocking, fields: _Fields, chunk_size: int, seconds: dict[str, float],
              new_pairs: list[int]) -> Iterator[Chunk]:
    """Candidate pairs and their comparison levels, a chunk at a time and in order; sets new_pairs per pass at the
    end. A chunk is compared in a second thread while the next one is blocked and the last one used (numpy lets
    go of the interpreter in both), with at most two chunks in hand."""
    counts = [0] * len(new_pairs)

    def levels(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        tick = time.perf_counter()
        found = fields.levels(li, ri)
        seconds["compare"] += time.perf_counter() - tick
        return found

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reglink-compare") as pool:
        pending: deque[tuple[np.ndarray, np.ndarray, Future[np.ndarray]]] = deque()
        chunks = blocking.chunks(chunk_size)
        while True:
            tick = time.perf_counter()
            number, li, ri = next(chunks, (-1, None, None))
            seconds["blocking"] += time.perf_counter() - tick
            if li is not None:
                counts[number] += len(li)
                pending.append((li, ri, pool.submit(levels, li, ri)))
            if pending and (li is None or len(pending) > 1):
                done_li, done_ri, compared = pending.popleft()
                yield done_li, done_ri, compared.result()
            elif li is None:
                new_pairs[:] = counts
                return


def _fixed_m(cfg: LinkConfig, given: Mapping[str, Mapping[str, float]]) -> dict[str, np.ndarray]:
    """Given m per field as arrays in the order of the field's levels; a field or level the configuration does not
    have, or a level left out, is an error naming it."""
    comparisons = {c.field: c for c in cfg.comparisons}
    fixed = {}
    for name, levels in given.items():
        if name not in comparisons:
            raise LinkConfigError(f"m: field '{name}' is not compared by the configuration")
        expected = comparisons[name].levels
        if set(levels) != set(expected):
            raise LinkConfigError(f"m: field '{name}': give m for exactly its levels ({', '.join(expected)})")
        values = np.array([float(levels[level]) for level in expected])
        if not ((values > 0) & (values <= 1)).all():
            raise LinkConfigError(f"m: field '{name}': each m must be a probability above 0")
        fixed[name] = values / values.sum()
    return fixed


def _fit(stream: Iterator[Chunk], cfg: LinkConfig, blocking: Blocking, fields: _Fields,
         seconds: dict[str, float], fixed_m: dict[str, np.ndarray]) -> tuple[Model, list[Chunk] | None]:
    """Count patterns over the whole stream, compare random pairs (for u) and fit; return the model and the compared chunks when there
    are at most CACHE_CHUNKS chunks' worth of them (None: compare them again to score)."""
    training = Training(cfg.comparisons, cfg.blocking,
                        sessions=not all(c.field in fixed_m for c in cfg.comparisons))
    cache: list[Chunk] | None = []
    cached = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reglink-random-pairs") as beside:
        random_levels = beside.submit(fields.random_levels)  # (for u) while the candidates stream: mostly numpy
        for chunk in stream:
            tick = time.perf_counter()
            training.add(chunk[2], blocking.agreement(chunk[0], chunk[1]) if training.with_sessions else None)
            cached += len(chunk[0])
            if cached > CACHE_CHUNKS * cfg.chunk_size:
                cache = None
            elif cache is not None:
                cache.append(chunk)
            seconds["fit"] += time.perf_counter() - tick
        tick = time.perf_counter()
        exact_shares = [exact_share(fields.columns[c.field]) for c in cfg.comparisons]
        model = training.fit(exact_shares, random_levels.result(), fields.pairs, fixed_m)
    seconds["fit"] += time.perf_counter() - tick
    return model, cache


def _score(chunks: Iterable[Chunk], model: Model, fields: _Fields, floor: float,
           seconds: dict[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left, right positions and weight of the pairs whose probability is at least `floor`."""
    tick, before = time.perf_counter(), seconds["blocking"] + seconds["compare"]
    kept: list[Chunk] = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))]  # (left, right, weight)
    for li, ri, levels in chunks:
        weight = fields.weights(model, li, levels)
        keep = probability(weight) >= floor
        kept.append((li[keep], ri[keep], weight[keep]))
    li, ri, weight = (np.concatenate(part) for part in zip(*kept))
    seconds["score"] = time.perf_counter() - tick - (seconds["blocking"] + seconds["compare"] - before)
    return li.astype(np.int64), ri.astype(np.int64), weight


def _decide(li: np.ndarray, ri: np.ndarray, weight: np.ndarray, prob: np.ndarray,
            cfg: LinkConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(linked, ambiguous, review) masks: review holds the ambiguous pairs and, with a review band, the
    pairs below the threshold — in one-to-one mode only those whose records are not linked already."""
    above = prob >= cfg.threshold
    linked, ambiguous = assign(li, ri, weight, above, one_to_one=cfg.one_to_one, margin=cfg.ambiguity_margin)
    band = ~above if cfg.review_band is not None else np.zeros(len(li), dtype=bool)
    if cfg.one_to_one:
        band &= ~(np.isin(li, li[linked]) | np.isin(ri, ri[linked]))
    return linked, ambiguous, ambiguous | band


def _shares(column: Column) -> np.ndarray:
    """Each value's share of the right table's present values (by code), with a last entry for missing (-1)."""
    present = column.right[column.right >= 0]
    counts = np.bincount(present, minlength=len(column.values)).astype(float)
    return np.r_[counts / max(len(present), 1), np.nan]


def _pair_labels(pairs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Left and right labels from a frame with columns left/right, a two-level MultiIndex or (l, r) tuples."""
    if isinstance(pairs, pd.DataFrame):
        return pairs["left"].to_numpy(), pairs["right"].to_numpy()
    if isinstance(pairs, pd.MultiIndex):
        return pairs.get_level_values(0).to_numpy(), pairs.get_level_values(1).to_numpy()
    tuples = list(pairs)
    return (np.array([p[0] for p in tuples], dtype=object), np.array([p[1] for p in tuples], dtype=object))


def _positions(index: pd.Index, labels: Any, side: str) -> np.ndarray:
    positions = index.get_indexer(pd.Index(labels))
    if (positions < 0).any():
        raise InputError(f"pairs: {int((positions < 0).sum())} {side} label(s) are not in the {side} table")
    return positions.astype(np.int64)
