"""A linkage configuration — blocking passes, comparisons, decision rules — validated on load.

Plain data (a dict or a YAML file) so a run can be stored beside its output and repeated::

    blocking: [[efternamn], [fodelsedatum], [fornamn, kon]]  # passes; a pair agreeing on all fields of one
                                                             # pass is compared (a bare name is a pass of one)
    comparisons:
      - {field: fornamn, method: jarowinkler}                # thresholds default to [0.92, 0.8]
      - {field: efternamn, method: levenshtein, thresholds: [0.8]}
      - {field: fodelsedatum, method: date}                  # thresholds: days apart, default [2]
      - {field: inkomst, method: numeric, thresholds: [100, 1000]}
      - {field: kon, method: exact}
      - {field: kommun, method: exact, term_frequency: true}  # agreeing on a rare value weighs more
    threshold: 0.5            # link at match probability >= threshold (default 0.5)
    review_band: [0.1, 0.5]   # [low, high): pairs for clerical review; high at most threshold (default none)
    one_to_one: true          # each record in at most one link (default true)
    ambiguity_margin: 1.0     # one-to-one: candidates within this many bits of weight are a tie, not linked
    chunk_size: 2000000       # candidate pairs compared at a time (bounds memory)

Methods and levels (most alike first; a missing value on either side is its own level, weight 0):
exact (exact, different); jaro, jarowinkler, levenshtein, damerau_levenshtein, qgram, cosine (exact,
similarity >= each threshold in (0, 1], different); date (exact, day_month_swapped, within each number of
days, one_digit_typo, same_year_month, different); numeric (exact, absolute difference <= each threshold,
different). Text is compared trimmed and case-folded. With `term_frequency: true` an exact agreement weighs
log2(m / f) where f is the share of the right table's records with that value (Splink's term-frequency adjustment):
two records agreeing on a rare kommun or country of birth say more than two agreeing on a common one. Every error
names the key and, for a file, its line; none quotes a value from the register data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from linkage.errors import ReglinkError
from linkage.io import read_text
from linkage.probabilistic.compare import METHODS, level_names


class LinkConfigError(ReglinkError):
    """A linkage configuration that cannot be used; the message names the key (and YAML line)."""


@dataclass(frozen=True)
class Comparison:
    """How one field is compared: its method and the thresholds that split it into levels."""

    field: str
    method: str
    thresholds: tuple[float, ...] = ()
    term_frequency: bool = False

    @property
    def kind(self) -> str:
        return METHODS[self.method].kind

    @property
    def levels(self) -> tuple[str, ...]:
        return level_names(self.method, self.thresholds)


@dataclass(frozen=True)
class LinkConfig:
    """A validated configuration; `lines` maps each key path to its YAML line for later messages."""

    blocking: tuple[tuple[str, ...], ...]
    comparisons: tuple[Comparison, ...]
    threshold: float = 0.5
    review_band: tuple[float, float] | None = None
    one_to_one: bool = True
    ambiguity_margin: float = 1.0
    chunk_size: int = 2_000_000
    source: str = field(default="config", compare=False)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the configuration reads, compared ones first, each once."""
        names = [c.field for c in self.comparisons] + [f for fields in self.blocking for f in fields]
        return tuple(dict.fromkeys(names))

    def where(self, path: str) -> str:
        """`source line N: path` for messages about a key."""
        return _where(self.source, self.lines, path)

    def check_columns(self, columns: Iterable[str], side: str) -> None:
        """Fail naming the config key when a field it uses is not a column of the `side` table."""
        present = set(columns)
        paths = [(f"comparisons[{i}].field", c.field) for i, c in enumerate(self.comparisons)]
        paths += [(f"blocking[{i}][{j}]", name) for i, fields in enumerate(self.blocking)
                  for j, name in enumerate(fields)]
        for path, name in paths:
            if name not in present:
                raise LinkConfigError(f"{self.where(path)}: no column '{name}' in the {side} table")

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain data (what `load_config` reads back)."""
        data: dict[str, Any] = {
            "blocking": [list(p) for p in self.blocking],
            "comparisons": [{"field": c.field, "method": c.method,
                             **({"thresholds": list(c.thresholds)} if c.thresholds else {}),
                             **({"term_frequency": True} if c.term_frequency else {})}
                            for c in self.comparisons],
            "threshold": self.threshold,
            "one_to_one": self.one_to_one,
            "ambiguity_margin": self.ambiguity_margin,
            "chunk_size": self.chunk_size,
        }
        if self.review_band is not None:
            data["review_band"] = list(self.review_band)
        return data


_KEYS = {"blocking", "comparisons", "threshold", "review_band", "one_to_one", "ambiguity_margin", "chunk_size"}
_COMPARISON_KEYS = {"field", "method", "thresholds", "term_frequency"}


def _where(source: str, lines: Mapping[str, int], path: str) -> str:
    """`source line N: path`, N the line of the nearest enclosing key that has one (no line for a dict)."""
    key = path
    while key and key not in lines:
        key = key.rsplit("[", 1)[0] if key.endswith("]") else key.rpartition(".")[0]
    line = f" line {lines[key]}" if key else ""
    return f"{source}{line}: {path}" if path else f"{source}{line}"


def load_config(config: LinkConfig | Mapping[str, Any] | str | Path) -> LinkConfig:
    """Validate a configuration given as a LinkConfig, a dict, or the path of a YAML file."""
    if isinstance(config, LinkConfig):
        return config
    if isinstance(config, (str, Path)):
        path = Path(config)
        text = read_text(path, what="configuration file", error=LinkConfigError)
        data, lines = _parse_yaml(text, path.name)
        return _Checker(path.name, lines).config(data)
    return _Checker("config", {}).config(config)


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[str, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise LinkConfigError(f"{source}{line}: {problem}") from None
    lines: dict[str, int] = {}
    if node is not None:
        _collect_lines(node, "", lines, source)
    return data, lines


def _collect_lines(node: yaml.Node, path: str, lines: dict[str, int], source: str) -> None:
    """Record the line of every key and list item, by its path (`comparisons[2].method`)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            if key.value in seen:
                raise LinkConfigError(f"{source} line {key.start_mark.line + 1}: {child}: key given twice")
            seen.add(key.value)
            lines[child] = key.start_mark.line + 1
            _collect_lines(value, child, lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{path}[{i}]"
            lines[child] = item.start_mark.line + 1
            _collect_lines(item, child, lines, source)


class _Checker:
    """Builds a LinkConfig from plain data, failing at the first problem with its key and line."""

    def __init__(self, source: str, lines: dict[str, int]):
        self.source, self.lines = source, lines

    def fail(self, path: str, reason: str) -> LinkConfigError:
        return LinkConfigError(f"{_where(self.source, self.lines, path)}: {reason}")

    def config(self, data: Any) -> LinkConfig:
        if not isinstance(data, Mapping):
            raise self.fail("", "a linkage configuration must be a mapping of keys to values")
        self.known(data, "", _KEYS, required=("blocking", "comparisons"))
        comparisons = self.comparisons(data["comparisons"])
        threshold = self.number(data.get("threshold", 0.5), "threshold", low=0.0, high=1.0)
        band = None
        if data.get("review_band") is not None:
            band = self.review_band(data["review_band"], threshold)
        one_to_one = data.get("one_to_one", True)
        if not isinstance(one_to_one, bool):
            raise self.fail("one_to_one", "must be true or false")
        margin = self.number(data.get("ambiguity_margin", 1.0), "ambiguity_margin", low=0.0)
        chunk_size = data.get("chunk_size", 2_000_000)
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise self.fail("chunk_size", "must be a whole number of pairs, at least 1")
        return LinkConfig(self.blocking(data["blocking"]), comparisons, threshold, band, one_to_one, margin,
                          chunk_size, source=self.source, lines=self.lines)

    def known(self, data: Mapping, path: str, keys: set[str], required: tuple[str, ...]) -> None:
        prefix = f"{path}." if path else ""
        for key in data:
            if key not in keys:
                raise self.fail(f"{prefix}{key}", f"unknown key (known: {', '.join(sorted(keys))})")
        for key in required:
            if key not in data:
                raise self.fail(path, f"missing required key '{key}'")

    def blocking(self, value: Any) -> tuple[tuple[str, ...], ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("blocking", "must be a non-empty list of passes, each a list of fields")
        passes = []
        for i, item in enumerate(value):
            fields = [item] if isinstance(item, str) else item
            if not isinstance(fields, list) or not fields:
                raise self.fail(f"blocking[{i}]", "must be a field name or a non-empty list of field names")
            for j, name in enumerate(fields):
                if not isinstance(name, str) or not name:
                    raise self.fail(f"blocking[{i}][{j}]", "must be a field name")
            if len(set(fields)) != len(fields):
                raise self.fail(f"blocking[{i}]", "names a field twice")
            passes.append(tuple(fields))
        return tuple(passes)

    def comparisons(self, value: Any) -> tuple[Comparison, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("comparisons", "must be a non-empty list of {field, method} mappings")
        result: list[Comparison] = []
        for i, item in enumerate(value):
            path = f"comparisons[{i}]"
            if not isinstance(item, Mapping):
                raise self.fail(path, "must be a mapping with keys field and method")
            self.known(item, path, _COMPARISON_KEYS, required=("field", "method"))
            name, method = item["field"], item["method"]
            if not isinstance(name, str) or not name:
                raise self.fail(f"{path}.field", "must be a field name")
            if any(c.field == name for c in result):
                raise self.fail(f"{path}.field", f"field '{name}' is compared twice")
            if method not in METHODS:
                raise self.fail(f"{path}.method", f"unknown method '{method}' (known: {', '.join(METHODS)})")
            term_frequency = item.get("term_frequency", False)
            if not isinstance(term_frequency, bool):
                raise self.fail(f"{path}.term_frequency", "must be true or false")
            result.append(Comparison(name, method, self.thresholds(item, path, method), term_frequency))
        return tuple(result)

    def thresholds(self, item: Mapping, path: str, method: str) -> tuple[float, ...]:
        spec = METHODS[method]
        if "thresholds" not in item:
            return spec.defaults
        path = f"{path}.thresholds"
        if spec.kind == "text":
            raise self.fail(path, f"method '{method}' takes no thresholds")
        raw = item["thresholds"]
        values = raw if isinstance(raw, list) else [raw]
        if spec.similarity:
            numbers = [self.number(v, path, low=0.0, high=1.0, low_open=True) for v in values]
        else:
            numbers = [self.number(v, path, low=0.0, low_open=True) for v in values]
        if spec.kind == "date" and any(n != int(n) for n in numbers):
            raise self.fail(path, "must be whole numbers of days")
        if len(set(numbers)) != len(numbers):
            raise self.fail(path, "gives a threshold twice")
        return tuple(sorted(numbers, reverse=spec.similarity))

    def review_band(self, value: Any, threshold: float) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail("review_band", "must be a list of two probabilities [low, high]")
        low = self.number(value[0], "review_band", low=0.0, high=1.0)
        high = self.number(value[1], "review_band", low=0.0, high=1.0)
        if not low < high:
            raise self.fail("review_band", "low must be below high")
        if high > threshold:
            raise self.fail("review_band", "must lie below threshold (high at most threshold)")
        return (low, high)

    def number(self, value: Any, path: str, *, low: float, high: float = math.inf,
               low_open: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise self.fail(path, "must be a number")
        if value < low or (low_open and value == low) or value > high:
            bound = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high != math.inf else "")
            raise self.fail(path, f"out of range (must be {bound})")
        return float(value)
