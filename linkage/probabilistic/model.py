"""A trained Fellegi–Sunter model as data: m and u per comparison level and the match prior, in JSON.

m = P(level | match), u = P(level | non-match). A level's weight is log2(m/u); a missing value weighs 0.
A pair's weight is the prior weight log2(λ/(1−λ)) plus its levels' weights, so its match probability is
1 / (1 + 2^−weight) (Fellegi & Sunter 1969; the "match weight" of Splink).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linkage.io import read_text
from linkage.probabilistic.config import LinkConfig, LinkConfigError

FORMAT = "reglink-fellegi-sunter/1"


@dataclass(frozen=True)
class FieldModel:
    """m and u of each level of one comparison."""

    field: str
    method: str
    thresholds: tuple[float, ...]
    levels: tuple[str, ...]
    m: tuple[float, ...]
    u: tuple[float, ...]

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(math.log2(m / u) for m, u in zip(self.m, self.u))


@dataclass(frozen=True)
class Model:
    """The prior — the share of matches among all left × right pairs (not among the candidates blocking made,
    which already agree on the blocked fields) — and a FieldModel per comparison, in config order."""

    prior: float
    fields: tuple[FieldModel, ...]
    iterations: int = 0
    converged: bool = True

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def weights(self, levels: np.ndarray) -> np.ndarray:
        """Total weight of each pair from its levels (pairs × comparisons, -1 missing)."""
        total = np.full(len(levels), self.prior_weight)
        for f, field in enumerate(self.fields):
            table = np.array((0.0, *field.weights))  # index 0: missing, weight 0
            total = total + table[levels[:, f].astype(np.int64) + 1]
        return total

    def check(self, config: LinkConfig) -> None:
        """Fail unless the model was trained with the same comparisons (fields, methods, thresholds)."""
        ours = [(f.field, f.method, f.thresholds) for f in self.fields]
        theirs = [(c.field, c.method, c.thresholds) for c in config.comparisons]
        if ours != theirs:
            raise LinkConfigError(f"{config.where('comparisons')}: differ from the comparisons the model was "
                                  "trained with (same fields, methods and thresholds in the same order needed)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "prior": self.prior,
            "iterations": self.iterations,
            "converged": self.converged,
            "comparisons": [
                {"field": f.field, "method": f.method, "thresholds": list(f.thresholds),
                 "levels": [{"level": name, "m": m, "u": u, "weight": w}
                            for name, m, u, w in zip(f.levels, f.m, f.u, f.weights)]}
                for f in self.fields
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "model") -> Model:
        """Read a model written by `to_dict`; anything else is a LinkConfigError naming the key."""
        try:
            if data.get("format") != FORMAT:
                raise LinkConfigError(f"{source}: format: not a {FORMAT} model")
            fields = []
            for item in data["comparisons"]:
                levels = item["levels"]
                fields.append(FieldModel(
                    str(item["field"]), str(item["method"]), tuple(float(t) for t in item["thresholds"]),
                    tuple(str(level["level"]) for level in levels),
                    tuple(_probability(level["m"], source, "m") for level in levels),
                    tuple(_probability(level["u"], source, "u") for level in levels),
                ))
            prior = _probability(data["prior"], source, "prior")
            if prior >= 1:
                raise LinkConfigError(f"{source}: prior: must be below 1")
            return cls(prior, tuple(fields), int(data.get("iterations", 0)), bool(data.get("converged", True)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            key = f" {exc.args[0]}:" if isinstance(exc, KeyError) else ""
            raise LinkConfigError(f"{source}:{key} malformed model ({type(exc).__name__})") from None

    @classmethod
    def from_json(cls, text: str, *, source: str = "model") -> Model:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LinkConfigError(f"{source} line {exc.lineno}: not valid JSON") from None
        if not isinstance(data, Mapping):
            raise LinkConfigError(f"{source}: a model must be a JSON object")
        return cls.from_dict(data, source=source)

    @classmethod
    def load(cls, path: Path | str) -> Model:
        path = Path(path)
        return cls.from_json(read_text(path, what="model file", error=LinkConfigError), source=path.name)


def probability(weight: np.ndarray) -> np.ndarray:
    """Match probability from total weight (log2 odds)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp2(-weight))


def _probability(value: Any, source: str, key: str) -> float:
    number = float(value)
    if not 0 < number <= 1:
        raise LinkConfigError(f"{source}: {key}: must be a probability above 0")
    return number
