"""Kommuner and län of the synthetic world: official codes and names, approximate population sizes.

Codes and names are SCB's classification (290 kommuner, 21 län); the sizes in `data/kommuner.csv` are rounded
approximations, used only to weight where synthetic persons live.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd


@cache
def kommuner() -> pd.DataFrame:
    """The 290 kommuner: `kommun` (4-digit code), `lan` (2-digit code), `namn`, `folkmangd` (approximate)."""
    with resources.files("linkage.synth").joinpath("data/kommuner.csv").open(encoding="utf-8") as handle:
        frame = pd.read_csv(handle, comment="#", dtype={"kommun": str, "lan": str, "namn": str, "folkmangd": "int64"})
    return frame[["kommun", "lan", "namn", "folkmangd"]]


def draw_kommun(rng: np.random.Generator, n: int, *, flatten: float = 1.0) -> np.ndarray:
    """Indices into `kommuner()` for `n` persons, drawn in proportion to folkmängd ** `flatten`."""
    weights = kommuner()["folkmangd"].to_numpy(dtype=float) ** flatten
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def draw_kommun_in_lan(rng: np.random.Generator, lan_index: np.ndarray) -> np.ndarray:
    """For each entry of `lan_index` (indices into `lan_codes()`), a kommun index in that län, by folkmängd."""
    frame = kommuner()
    lan_of_kommun = kommun_lan_index()
    out = np.empty(len(lan_index), dtype=np.int64)
    for lan in np.unique(lan_index):
        rows = np.flatnonzero(lan_index == lan)
        members = np.flatnonzero(lan_of_kommun == lan)
        weights = frame["folkmangd"].to_numpy(dtype=float)[members]
        out[rows] = members[rng.choice(len(members), size=len(rows), p=weights / weights.sum())]
    return out


@cache
def lan_codes() -> tuple[str, ...]:
    """The 21 län codes, sorted."""
    return tuple(sorted(kommuner()["lan"].unique()))


@cache
def kommun_lan_index() -> np.ndarray:
    """For each kommun index, the index of its län in `lan_codes()`."""
    return np.searchsorted(np.array(lan_codes()), kommuner()["lan"].to_numpy())
