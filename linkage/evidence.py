"""Probabilistic linkage of records without a usable identifier against the population spine.

Records with a temporary municipal ID, an interim or reserve number or a broken check digit carry weak evidence:
the birth date most such identifiers embed, sex, the kommun of the event and, in the placement register, the
country of birth. Records of one identifier within its scope (a temporary ID within its kommun) are one entity,
linked once with the evidence of all its records. Each entity is compared with the persons of the spine, one
candidate row per kommun the person has lived in (the residence history), by Fellegi–Sunter
(`linkage.probabilistic`; u from value frequencies, m as documented in MATCH_PROBABILITIES). The evidence is weak
for common birth dates in large kommuner, and a false link is worse than a missing one (domain.md §7): an entity
is linked only when its best person reaches the threshold and no other person comes within `margin` bits of
weight; otherwise it stays unlinked, and ambiguous entities are counted and kept for clerical review.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.ingest import PSEUDONYM
from linkage.probabilistic import LinkConfig, Model, load_config, run

#: The configuration shipped for linking records without a usable identifier to the spine.
CONFIG: dict[str, Any] = {
    "blocking": [["neighbour"], ["block_date", "sex"], ["block_date"], ["block_month", "sex", "kommun"]],
    "comparisons": [
        {"field": "birth_date", "method": "date", "thresholds": [2]},
        {"field": "sex", "method": "exact"},
        {"field": "kommun", "method": "exact"},
        {"field": "country", "method": "exact"},
        {"field": "neighbour", "method": "exact"},
    ],
    "threshold": 0.95,
    "review_band": [0.01, 0.95],
    "one_to_one": False,
}
#: m = P(level | match) per comparison, set from what the identifiers and registers are known to do rather than
#: estimated: EM has too few entities with dates to go on in a small world, and among a broken number's neighbours
#: it would learn the typo's pattern instead of the person. Dates: temporary and reserve numbers carry the
#: registered birth date, which may be a nearby day (domain.md §1.1); sex: misreported in about 0.3% of placement
#: records; kommun: the event's kommun is usually one the person has lived in (not always: the residence history
#: starts at folkbokföring); neighbour: a broken number's true one is one digit away (a single typo).
MATCH_PROBABILITIES: dict[str, dict[str, float]] = {
    "birth_date": {"exact": 0.90, "day_month_swapped": 0.005, "within_2_days": 0.04, "one_digit_typo": 0.03,
                   "same_year_month": 0.015, "different": 0.01},
    "sex": {"exact": 0.97, "different": 0.03},
    "kommun": {"exact": 0.80, "different": 0.20},
    "country": {"exact": 0.95, "different": 0.05},
    "neighbour": {"exact": 0.999, "different": 0.001},
}
#: The best person must be at least 2**MARGIN times as likely as the next one.
MARGIN = 3.0
#: How an entity came out.
STATUSES = ("probabilistic", "ambiguous", "unlinked")


@dataclass(frozen=True)
class EvidenceLinks:
    """Per entity (`group`): status, the linked person's pseudonym and probability; plus candidate pairs that were
    ambiguous or below the threshold, for clerical review (pseudonyms and probabilities only)."""

    entities: pd.DataFrame
    review: pd.DataFrame
    config: LinkConfig
    stats: dict[str, Any] = field(default_factory=dict)

    def status_counts(self) -> dict[str, int]:
        return {s: int((self.entities["status"] == s).sum()) for s in STATUSES}


def entities(evidence: pd.DataFrame) -> pd.DataFrame:
    """One row per group: the most common non-missing birth date, sex, kommun and country of its records, and
    the pseudonyms one digit away from a number with a broken check digit."""
    frame = pd.DataFrame({
        "group": evidence["group"].astype("string"),
        "birth_date": _yyyymmdd(evidence["birth_date"]),
        "sex": evidence["sex"].astype("string"),
        "kommun": evidence["kommun"].astype("string"),
        "country": evidence["country"].astype("string"),
        "neighbours": evidence["neighbours"].astype("string"),
    })
    groups = pd.Index(frame["group"].dropna().unique()).sort_values()
    out = pd.DataFrame(index=groups.rename("group"))
    out["records"] = frame.groupby("group").size().reindex(groups).to_numpy()
    for name in ("birth_date", "sex", "kommun", "country", "neighbours"):
        out[name] = _mode(frame, name).reindex(groups)
    return out


def comparable(entity: pd.DataFrame) -> pd.DataFrame:
    """The left table: an entity with a broken check digit once per neighbour, any other entity once.

    A broken number's true one is among its neighbours, so it is blocked on them alone, and its birth date and
    sex are not compared: each neighbour differs from it in one digit, so the neighbours that share its date (a
    typo outside the date) are as likely as the true person to share it — only kommun and country of birth tell
    them apart. Other entities are blocked on their birth date."""
    typo = entity["neighbours"].notna()
    rows = entity.assign(neighbour=entity["neighbours"].str.split(",")).explode("neighbour")
    rows["neighbour"] = rows["neighbour"].astype("string")
    dated = ~typo.reindex(rows.index).to_numpy()
    rows["birth_date"] = rows["birth_date"].where(dated)
    rows["sex"] = rows["sex"].where(dated)
    rows["block_date"] = rows["birth_date"]
    rows["block_month"] = rows["block_date"].str.slice(0, 6)
    rows = rows.reset_index()
    rows.index = rows["group"] + ":" + rows.groupby("group").cumcount().astype(str)
    return rows.drop(columns="neighbours")


def candidates(persons: pd.DataFrame, residence: pd.DataFrame | None) -> pd.DataFrame:
    """The spine as candidates: one row per person and kommun lived in (one row without kommun if none)."""
    people = pd.DataFrame({
        PSEUDONYM: persons[PSEUDONYM].astype("string[pyarrow]"),
        "birth_date": _yyyymmdd(persons["fodelsedatum"]),
        "sex": persons["kon"].astype("string[pyarrow]"),
        "country": persons["fodelseland"].astype("string[pyarrow]"),
    })
    if residence is not None and len(residence):
        lived = residence[[PSEUDONYM, "kommun"]].astype("string[pyarrow]").drop_duplicates()
        people = people.merge(lived, on=PSEUDONYM, how="left")
    else:
        people["kommun"] = pd.array([pd.NA] * len(people), dtype="string[pyarrow]")
    people["neighbour"] = people[PSEUDONYM]
    people["block_date"] = people["birth_date"]
    people["block_month"] = people["birth_date"].str.slice(0, 6)
    return people


def link_evidence(evidence: pd.DataFrame, persons: pd.DataFrame, residence: pd.DataFrame | None, *,
                  config: dict[str, Any] | LinkConfig = CONFIG, margin: float = MARGIN) -> EvidenceLinks:
    """Link the entities of `evidence` (rows of every register without a pseudonym) to persons of the spine.

    u comes from `linkage.probabilistic.run` (value frequencies of both tables), m from MATCH_PROBABILITIES, and
    the prior is what Fellegi–Sunter's weights assume: the chance that a random entity–person pair matches, one
    in the number of persons. (EM's prior is the share of matches among the blocked candidates, which already
    agree on the blocking fields: with every field's weight added it would count that agreement twice.)
    """
    cfg = load_config(config)
    entity = entities(evidence)
    status = pd.Series("unlinked", index=entity.index, dtype="string")
    linked = pd.Series(pd.NA, index=entity.index, dtype="string")
    probability = pd.Series(np.nan, index=entity.index)
    if not len(entity) or not len(persons):
        return EvidenceLinks(_entity_frame(entity, status, linked, probability), _no_pairs(), cfg)
    left, right = comparable(entity), candidates(persons, residence)
    fitted = run(left, right, cfg).model  # u from the value frequencies of both tables
    model = _model(fitted, prior=1 / right[PSEUDONYM].nunique())
    result = run(left, right, cfg, model=model)
    pairs = pd.concat([result.links, result.review.drop(columns="reason")], ignore_index=True)
    pairs[PSEUDONYM] = right[PSEUDONYM].to_numpy()[right.index.get_indexer(pairs["right"])]
    pairs["group"] = left.loc[pairs["left"], "group"].to_numpy()
    # A person counts once per entity: the best of their kommun rows (and neighbour rows).
    per_person = (pairs.sort_values(["weight", PSEUDONYM], ascending=[False, True], kind="stable")
                  .drop_duplicates(["group", PSEUDONYM]).reset_index(drop=True))
    ranked = per_person.groupby("group", sort=False)
    best = ranked.head(1).set_index("group")
    runner_up = ranked.nth(1).set_index("group")["weight"].reindex(best.index)
    clear = (runner_up.isna() | (best["weight"] - runner_up >= margin)).to_numpy()
    above = (best["probability"] >= cfg.threshold).to_numpy()
    status.loc[best.index[above & clear]] = "probabilistic"
    status.loc[best.index[above & ~clear]] = "ambiguous"
    chosen = best.index[above & clear]
    linked.loc[chosen] = best.loc[chosen, PSEUDONYM].to_numpy()
    probability.loc[chosen] = best.loc[chosen, "probability"].to_numpy()
    review = per_person[~per_person["group"].isin(chosen)]
    stats = {"candidate_pairs": result.stats.candidate_pairs, "prior": model.prior, "model": model}
    return EvidenceLinks(_entity_frame(entity, status, linked, probability),
                         review[["group", PSEUDONYM, "probability", "weight"]].reset_index(drop=True), cfg, stats)


def _model(fitted: Model, *, prior: float) -> Model:
    """The fitted model with m from MATCH_PROBABILITIES and the given prior."""
    fields = []
    for field_model in fitted.fields:
        m = MATCH_PROBABILITIES[field_model.field]
        fields.append(dataclasses.replace(field_model, m=tuple(m[level] for level in field_model.levels)))
    return dataclasses.replace(fitted, prior=prior, fields=tuple(fields))


def _entity_frame(left: pd.DataFrame, status: pd.Series, linked: pd.Series, probability: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"group": left.index.to_numpy(), "records": left["records"].to_numpy(),
                         "status": status.to_numpy(), PSEUDONYM: linked.to_numpy(),
                         "probability": probability.to_numpy()})


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame({"group": pd.array([], dtype="string"), PSEUDONYM: pd.array([], dtype="string"),
                         "probability": np.zeros(0), "weight": np.zeros(0)})


def _yyyymmdd(values: pd.Series) -> pd.Series:
    """Dates as YYYYMMDD text, NA where missing (Arrow's strftime: fast on millions of dates)."""
    days = pa.array(values, from_pandas=True)
    if pa.types.is_date(days.type):
        days = days.cast(pa.timestamp("s"))
    return pd.Series(pd.arrays.ArrowExtensionArray(pc.strftime(days, format="%Y%m%d")), index=values.index)


def _mode(frame: pd.DataFrame, name: str) -> pd.Series:
    """Per group, the most common non-missing value of `name` (ties: the smallest)."""
    present = frame.dropna(subset=[name])
    counts = present.groupby(["group", name]).size().rename("n").reset_index()
    counts = counts.sort_values(["group", "n", name], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates("group").set_index("group")[name]
