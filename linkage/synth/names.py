"""First names and surnames for synthetic persons, by name tradition (approximate frequencies in `data/names.csv`).

Only the population register carries names, as in reality; they exist so that probabilistic linkage has something
to compare when an identifier is unusable.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

#: Name tradition by ISO 3166-1 country of birth (the codes of the `land` code list).
ORIGIN_OF_COUNTRY = {
    "SE": "se", "FI": "fi", "NO": "nordic", "DK": "nordic", "DE": "de", "PL": "pl", "BA": "balkan", "RS": "balkan",
    "HR": "balkan", "IQ": "arab", "SY": "arab", "LB": "arab", "IR": "persian", "AF": "persian", "SO": "somali",
    "ER": "horn", "ET": "horn", "TR": "tr", "TH": "th", "CN": "cn", "IN": "south_asia", "PK": "south_asia",
    "CL": "latin", "US": "english", "GB": "english", "XX": "arab",
}


@cache
def _names() -> pd.DataFrame:
    with resources.files("linkage.synth").joinpath("data/names.csv").open(encoding="utf-8") as handle:
        return pd.read_csv(handle, comment="#", dtype={"origin": str, "kind": str, "kon": str, "name": str,
                                                      "weight": float}, keep_default_na=False)


def draw_names(rng: np.random.Generator, origin: np.ndarray, kon: np.ndarray, kind: str) -> np.ndarray:
    """A name of `kind` ("fornamn" or "efternamn") for each person, from their origin's distribution (and sex)."""
    table = _names()
    table = table[table["kind"] == kind]
    by_sex = kind == "fornamn"
    codes, origins = pd.factorize(origin, sort=True)
    group = codes * 3 + (np.asarray(kon, dtype=np.int64) if by_sex else 0)
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0, True])
    out = np.empty(len(origin), dtype=object)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        rows = order[start:stop]
        origin_name, sex = origins[group[rows[0]] // 3], str(group[rows[0]] % 3)
        pool = table[(table["origin"] == origin_name) & ((table["kon"] == sex) if by_sex else True)]
        weights = pool["weight"].to_numpy()
        out[rows] = pool["name"].to_numpy()[rng.choice(len(pool), size=len(rows), p=weights / weights.sum())]
    return out
