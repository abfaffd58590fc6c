"""Unsupervised estimation of m, u and the match prior (no labels), in the order Splink uses.

Everything is relative to all left × right pairs, not to the candidate pairs blocking produced, so that a
candidate's weight — prior plus every field's log2(m/u), blocked fields included — counts each piece of evidence
once (Fellegi & Sunter 1969): candidates already agree on the blocked fields, and a prior estimated among them
would count that agreement a second time.

1. u (the level shares among non-matches) from pairs of records taken at random, which are almost all
   non-matches: the exact level from the value counts of both tables (the share of all pairs that agree, less
   the matches' own exact agreement, m × λ), the other levels from random pairs of values
   (`blocking.random_pairs`). Never from the candidates, whose non-matches agree on the blocked fields by
   construction. In large files the matches are a negligible share of all pairs; in small ones they are not,
   and counting their agreement as chance would leave agreement no evidence at all.
2. m by expectation–maximisation with u held fixed, one session per blocking pass on the pairs that
   agree on it, that pass's own fields left out (as missing). Blocking breaks conditional independence:
   candidate non-matches agree on the blocked fields by construction, and an EM over all candidates at
   once splits them by pass, or by a common first name, instead of into matches and non-matches. A
   field's m averages the sessions that estimate it, weighted by their expected matches; a field no
   session estimates (blocked in every pass) gets m from one EM over all candidates. m may also be given
   (documented rather than estimated) for some or all fields.
3. The prior λ, the share of matches among all left × right pairs, by EM with m and u fixed: the expected
   matches among the candidates over the number of all pairs (pairs blocking did not produce count as
   non-matches: blocking recall is taken to be complete).
Steps 1–3 repeat until λ settles, u taking the matches out by the last m and λ (first guess: the candidates that
disagree on at most one field are the matches, and they agree exactly).

EM runs on the table of distinct comparison patterns with their counts — a sufficient statistic for the
conditional-independence model — so every candidate pair counts (no sampling) while memory grows only
with the number of distinct patterns. A value missing on either side is its own outcome, equally likely
for matches and non-matches: it drops out of its field's likelihood (weight 0), and m and u are shares among
the pairs with both values present.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from linkage.probabilistic.compare import MISSING
from linkage.probabilistic.config import Comparison, LinkConfigError
from linkage.probabilistic.model import FieldModel, Model

#: Added to each level's expected count so a level never seen in one class gets a small, finite weight.
PSEUDOCOUNT = 0.5
MAX_ITERATIONS = 1000
#: Rounds of u, m and prior (each round's u excludes the matches the last one expected).
MAX_ROUNDS = 50
TOLERANCE = 1e-7
#: A session needs this many comparisons besides its pass's own fields, or it says too little about m.
MIN_SESSION_COMPARISONS = 2
#: Patterns are counted in a table of every possible one up to this many (8 bytes each).
_PATTERN_TABLE = 1 << 20


class PatternCounts:
    """Distinct comparison patterns and their counts (`codes` ascending, `counts`), accumulated chunk by chunk:
    in a table of every possible pattern where there are few (a count per pattern, no sorting of millions of
    pairs), else merged as sorted distinct codes."""

    def __init__(self, comparisons: Sequence[Comparison]):
        self.radix = [len(c.levels) + 1 for c in comparisons]  # +1: missing is stored as 0
        size = np.prod(np.array(self.radix, dtype=float))
        if size >= 2.0**62:
            raise LinkConfigError("config: comparisons: too many comparisons and levels to count patterns")
        self.base = np.cumprod([1, *self.radix[:-1]]).astype(np.int64)
        self._table = np.zeros(int(size), dtype=np.int64) if size <= _PATTERN_TABLE else None
        self._codes = np.zeros(0, dtype=np.int64)
        self._counts = np.zeros(0, dtype=np.int64)

    def add(self, levels: np.ndarray) -> None:
        codes = np.zeros(len(levels), dtype=np.int64)
        for column, base in enumerate(self.base):  # column by column: numpy's integer matrix product is slow
            codes += (levels[:, column].astype(np.int64) + 1) * base
        if self._table is not None:
            self._table += np.bincount(codes, minlength=len(self._table))
            return
        merged, inverse = np.unique(np.concatenate([self._codes, codes]), return_inverse=True)
        weights = np.concatenate([self._counts, np.ones(len(codes), dtype=np.int64)])
        self._codes, self._counts = merged, np.bincount(inverse, weights=weights).astype(np.int64)

    @property
    def codes(self) -> np.ndarray:
        return np.flatnonzero(self._table) if self._table is not None else self._codes

    @property
    def counts(self) -> np.ndarray:
        return self._table[self._table > 0] if self._table is not None else self._counts

    def patterns(self) -> np.ndarray:
        """The distinct patterns as levels (patterns × comparisons, -1 missing)."""
        return np.stack([(self.codes // b) % r - 1 for b, r in zip(self.base, self.radix)], axis=1)


class Training:
    """Pattern counts for the EM: all candidates, and per blocking pass the pairs agreeing on it."""

    def __init__(self, comparisons: Sequence[Comparison], passes: Sequence[Sequence[str]], *,
                 sessions: bool = True):
        self.comparisons = tuple(comparisons)
        self.blocked = [np.array([c.field in fields for c in comparisons], dtype=bool) for fields in passes]
        self.pooled = PatternCounts(comparisons)
        self.sessions = [PatternCounts(comparisons) for _ in passes]
        self.with_sessions = sessions  # False where every m is given: only the prior is left to estimate

    def add(self, levels: np.ndarray, agreement: np.ndarray) -> None:
        """Count a chunk of candidates: their levels, and which passes each agrees on (pairs × passes)."""
        self.pooled.add(levels)
        if not self.with_sessions:
            return
        for number, (blocked, counts) in enumerate(zip(self.blocked, self.sessions)):
            rows = agreement[:, number]
            if rows.any() and (~blocked).sum() >= MIN_SESSION_COMPARISONS:
                session = levels[rows]
                session[:, blocked] = MISSING
                counts.add(session)

    def fit(self, exact_shares: Sequence[float], random_levels: Sequence[np.ndarray], pairs: int,
            fixed_m: Mapping[str, np.ndarray] | None = None) -> Model:
        """u from the share of all pairs agreeing exactly and the levels of random pairs (per comparison); m as
        given in `fixed_m` (by field), else from the pass sessions, else from all candidates; then the prior among
        all `pairs` left × right pairs — repeated until the prior settles, u excluding the expected matches."""
        fixed = {name: np.asarray(values, dtype=float) for name, values in (fixed_m or {}).items()}
        sizes = [len(c.levels) for c in self.comparisons]
        mixture = _Mixture(self.pooled, sizes)
        prior, m_exact = mixture.start_prior(pairs), [1.0] * len(sizes)
        fits: list[_Fit] = []
        for _ in range(MAX_ROUNDS):
            u = [_u(share, levels, size, prior=prior, m_exact=me)
                 for share, levels, size, me in zip(exact_shares, random_levels, sizes, m_exact)]
            m, round_fits = self._m(u, sizes, fixed, pairs)
            last = mixture.fit(np.concatenate(m), np.concatenate(u), mixture.start_prior(pairs), fixed=True,
                               total=pairs)
            fits += [*round_fits, last]
            settled = abs(last.prior - prior) <= TOLERANCE * max(prior, 1e-12)
            prior, m_exact = last.prior, [float(mf[0]) for mf in m]
            if settled:
                break
        fields = tuple(FieldModel(c.field, c.method, c.thresholds, c.levels, tuple(map(float, mf)),
                                  tuple(map(float, uf))) for c, mf, uf in zip(self.comparisons, m, u))
        return Model(prior, fields, sum(f.iterations for f in fits), all(f.converged for f in fits) and settled)

    def _m(self, u: list[np.ndarray], sizes: list[int], fixed: Mapping[str, np.ndarray],
           pairs: int) -> tuple[list[np.ndarray], list[_Fit]]:
        """m per comparison (given, from the pass sessions, or from one EM over all candidates) and the fits made."""
        estimated = [c.field not in fixed for c in self.comparisons]
        sessions = [(~blocked & estimated, _em(counts, sizes, u)) for blocked, counts
                    in zip(self.blocked, self.sessions) if counts.counts.sum() and any(estimated)]
        m: list[np.ndarray] = []
        pooled: _Fit | None = None
        for f, comparison in enumerate(self.comparisons):
            if comparison.field in fixed:
                m.append(fixed[comparison.field])
                continue
            used = [(s.matches, s.m[f]) for free, s in sessions if free[f] and s.matches > 0]
            if used:
                m.append(sum(w * v for w, v in used) / sum(w for w, _ in used))
            else:
                pooled = pooled or _em(self.pooled, sizes, u, total=pairs)
                m.append(pooled.m[f])
        return m, [s for _, s in sessions] + ([pooled] if pooled else [])


def _u(exact_share: float, levels: np.ndarray, size: int, *, prior: float, m_exact: float) -> np.ndarray:
    """u of one comparison: exact from value counts (rare agreements are estimated exactly) among the non-matches,
    the matches' exact agreement (m × λ of all pairs) taken out; the other levels sharing the rest as they do among
    the random pairs (smoothed)."""
    share = (exact_share - m_exact * prior) / (1 - prior)
    exact = min(max(share, 1e-9), 1 - 1e-9)
    others = np.bincount(levels[levels > 0].astype(np.int64), minlength=size)[1:] + PSEUDOCOUNT
    return np.r_[exact, (1 - exact) * others / others.sum()]


@dataclass(frozen=True)
class _Fit:
    prior: float
    m: list[np.ndarray]
    matches: float  # expected number of matching pairs
    iterations: int
    converged: bool
    log_likelihood: float


def _em(counts: PatternCounts, sizes: list[int], u: list[np.ndarray], *, total: int | None = None) -> _Fit:
    """m and the prior of the two-class mixture over counted patterns, u fixed; the prior among the counted
    pairs, or among `total` pairs when given.

    EM finds a local maximum, so it runs from two starts and keeps the likelier fit: (1) matches mostly
    agree exactly; (2) the pairs that disagree on at most one present field are the matches.
    """
    mixture, u_flat = _Mixture(counts, sizes), np.concatenate(u)
    agreeing = mixture.n * (mixture.disagreements <= 1)
    if total is None:
        first_prior, second_prior = 0.5, float(np.clip(agreeing.sum() / max(mixture.n.sum(), 1), 0.01, 0.99))
    else:
        first_prior = second_prior = mixture.start_prior(total)
    first = mixture.fit(np.concatenate([np.r_[0.9, np.full(k - 1, 0.1 / (k - 1))] for k in sizes]), u_flat,
                        first_prior, total=total)
    second = mixture.fit(mixture.estimate(agreeing), u_flat, second_prior, total=total)
    return first if first.log_likelihood >= second.log_likelihood else second


class _Mixture:
    """Counted patterns as slots into one flat parameter vector (all fields' levels, then one slot of weight
    0 for missing), so each EM iteration is a gather and a bincount whatever the number of fields."""

    def __init__(self, counts: PatternCounts, sizes: list[int]):
        patterns = counts.patterns()
        self.n, self.sizes = counts.counts.astype(float), sizes
        self.offsets = np.cumsum([0, *sizes[:-1]])
        self.slots = np.where(patterns == MISSING, sum(sizes), patterns + self.offsets)
        self.disagreements = (patterns == np.array(sizes) - 1).sum(axis=1)  # the last level: different

    def start_prior(self, total: int) -> float:
        """A first guess of the prior among `total` pairs: the counted pairs that disagree on at most one present
        field are the matches."""
        agreeing = (self.n * (self.disagreements <= 1)).sum()
        return float(np.clip(max(agreeing, 1.0) / max(total, 1), 1e-12, 0.5))

    def fit(self, m: np.ndarray, u: np.ndarray, prior: float, *, fixed: bool = False,
            total: int | None = None) -> _Fit:
        """EM for the prior and (unless `fixed`) m; u stays as given. The prior is the share of matches among the
        counted pairs, or among `total` pairs (the counted ones and others taken to be non-matches)."""
        n, iterations, converged = self.n, 0, self.n.sum() == 0
        denominator = float(n.sum() if total is None else max(total, n.sum()))
        match = n * prior
        while not converged and iterations < MAX_ITERATIONS:
            iterations += 1
            match = n / (1 + np.exp(-self.log_odds(m, u, prior)))
            new_prior = float(np.clip(match.sum() / denominator, 1e-12, 1 - 1e-12))
            change = abs(new_prior - prior) / max(prior, 1e-12) if total is not None else abs(new_prior - prior)
            if not fixed:
                new_m = self.estimate(match)
                change, m = max(change, np.abs(new_m - m).max()), new_m
            prior = new_prior
            converged = change < TOLERANCE
        log_likelihood = self.log_likelihood(m, u, prior) + (denominator - n.sum()) * np.log1p(-prior)
        return _Fit(prior, np.split(m, self.offsets[1:]), float(match.sum()), iterations, bool(converged),
                    float(log_likelihood))

    def log_odds(self, m: np.ndarray, u: np.ndarray, prior: float) -> np.ndarray:
        return np.log(prior / (1 - prior)) + np.r_[np.log(m) - np.log(u), 0.0][self.slots].sum(axis=1)

    def log_likelihood(self, m: np.ndarray, u: np.ndarray, prior: float) -> float:
        log_m = np.r_[np.log(m), 0.0][self.slots].sum(axis=1) + np.log(prior)
        log_u = np.r_[np.log(u), 0.0][self.slots].sum(axis=1) + np.log(1 - prior)
        return float((self.n * np.logaddexp(log_m, log_u)).sum())

    def estimate(self, weight: np.ndarray) -> np.ndarray:
        """Level shares per field from (expected) counts of the patterns, missing excluded, smoothed."""
        total = sum(self.sizes)
        expected = np.bincount(self.slots.ravel(), weights=np.repeat(weight, self.slots.shape[1]),
                               minlength=total + 1)[:total] + PSEUDOCOUNT
        return expected / np.repeat(np.add.reduceat(expected, self.offsets), self.sizes)
