"""Probabilistic linkage of records without a usable identifier against the population spine.

Records with a temporary municipal ID, an interim or reserve number or a broken check digit carry weak evidence:
the birth date most such identifiers embed, sex, the kommun of the event and, in the placement register, the
country of birth. Records of one identifier within its scope (a temporary ID within its kommun) are one entity,
linked once with the evidence of all its records. Each entity is compared with the persons of the spine, one
candidate row per kommun the person has lived in (the residence history), by Fellegi–Sunter
(`linkage.probabilistic`): u from value frequencies, the prior — the share of matches among all entity × person
pairs — by EM, m as documented in MATCH_PROBABILITIES. Agreeing on the country of birth weighs by how rare that
country is among the spine's persons (term frequency): an unaccompanied child born in Eritrea is told apart by it,
a child born in Sweden is not. (Term frequency on the kommun, tried, linked reserve numbers at national scale with
precision 0.97: a small kommun alone is not evidence enough.) The evidence is weak for common birth dates in large
kommuner, and a false link is worse than a missing one (domain.md §7): an entity is linked only when its best
person reaches the threshold and no other person comes within `margin` bits of weight; otherwise it stays
unlinked, and ambiguous entities are counted and kept for clerical review.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.deterministic import PseudonymSet, arrow, plain_text
from linkage.ingest import PSEUDONYM
from linkage.memory import release_memory
from linkage.outcomes.persons import calendar_keys
from linkage.probabilistic import LinkConfig, load_config, run
from linkage.probabilistic.compare import sorted_codes

#: The configuration shipped for linking records without a usable identifier to the spine.
CONFIG: dict[str, Any] = {
    "blocking": [["neighbour"], ["birth_date", "sex"], ["birth_date"], ["block_month", "sex", "kommun"]],
    "comparisons": [
        {"field": "birth_date", "method": "date", "thresholds": [2]},
        {"field": "sex", "method": "exact"},
        {"field": "kommun", "method": "exact"},
        {"field": "country", "method": "exact", "term_frequency": True},
        {"field": "neighbour", "method": "exact"},
    ],
    "threshold": 0.95,
    "review_band": [0.01, 0.95],
    "one_to_one": False,
}
#: m = P(level | match), set from what the identifiers and registers are known to do rather than estimated. EM
#: (`link_evidence(..., m=None)`) cannot tell matches from non-matches here: among candidates blocked on the birth
#: date only sex, kommun and (in one register) country are left to compare — two or three binary fields, too few for
#: a two-class mixture to be identified — and among a broken number's neighbours it would learn the typo's pattern
#: instead of the person; on a 200,000-child world it gave m(sex agrees) 0.52 and m(same kommun) 0.15–0.18.
#: Dates: temporary and reserve numbers carry the registered birth date, which may be a nearby day (domain.md §1.1);
#: sex: misreported in about 0.3% of placement records; kommun: the event's kommun is usually one the person has
#: lived in (not always: the residence history starts at folkbokföring); neighbour: a broken number's true one is
#: one digit away (a single typo).
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
    """One row per group (sorted): the most common non-missing birth date, sex, kommun and country of its records,
    and the pseudonyms one digit away from a number with a broken check digit (ties: the smallest value)."""
    group, groups = sorted_codes(evidence["group"].astype("string"))
    out = pd.DataFrame(index=pd.Index(groups, dtype=object, name="group"))
    out["records"] = np.bincount(group, minlength=len(groups))
    fields = {"birth_date": _yyyymmdd(evidence["birth_date"]), "sex": evidence["sex"],
              "kommun": evidence["kommun"], "country": evidence["country"], "neighbours": evidence["neighbours"]}
    for name, values in fields.items():
        out[name] = _mode(group, len(groups), values)
    return out


def comparable(entity: pd.DataFrame) -> pd.DataFrame:
    """The left table: an entity with a broken check digit once per neighbour, any other entity once (`entity`:
    its position in `entity`).

    A broken number's true one is among its neighbours, so it is blocked on them alone, and its birth date and
    sex are not compared: each neighbour differs from it in one digit, so the neighbours that share its date (a
    typo outside the date) are as likely as the true person to share it — only kommun and country of birth tell
    them apart. Other entities are blocked on their birth date."""
    neighbours = pa.array(entity["neighbours"], pa.string(), from_pandas=True)
    lists = pc.split_pattern(pc.fill_null(neighbours, ""), ",")
    counts = np.maximum(pc.list_value_length(lists).to_numpy(zero_copy_only=False), 1)
    owner = np.repeat(np.arange(len(entity)), counts)
    flat = pc.list_flatten(lists)
    dated = entity["neighbours"].isna().to_numpy()[owner]
    columns = {"entity": owner}
    for name in ("birth_date", "sex", "kommun", "country"):
        values = pa.array(entity[name], pa.string(), from_pandas=True).take(pa.array(owner))
        if name in ("birth_date", "sex"):
            values = pc.if_else(pa.array(dated), values, pa.scalar(None, pa.string()))
        columns[name] = pd.arrays.ArrowStringArray(values)
    columns["neighbour"] = pd.arrays.ArrowStringArray(pc.if_else(pc.equal(flat, ""), pa.scalar(None, pa.string()),
                                                                 flat))
    rows = pd.DataFrame(columns)
    rows["block_month"] = rows["birth_date"].str.slice(0, 6)
    return rows


def candidates(persons: pd.DataFrame, residence: pd.DataFrame | None) -> pd.DataFrame:
    """The spine as candidates: one row per person and kommun lived in (one row without kommun if none), the
    persons in spine order and each person's kommuner in the order the residence history first names them
    (`person`: the position in `persons`, the neighbour a broken number is compared with)."""
    spine = PseudonymSet.of(persons)
    ids = spine.ids
    position = np.arange(len(persons))
    kommun = pa.nulls(len(persons), pa.string())
    if residence is not None and len(residence):
        lived = spine.positions(arrow(residence[PSEUDONYM]))
        place = pc.dictionary_encode(plain_text(arrow(residence["kommun"])))
        code = place.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        known = np.flatnonzero((lived >= 0) & (code >= 0))
        rows = len(residence) + 1
        # Plain sorts of one 64-bit key each (pairs packed as key × rows + row), not stable or lexical ones.
        pair = np.sort((lived[known] * (len(place.dictionary) + 1) + code[known]) * rows + known)
        pair = pair[np.r_[True, pair[1:] // rows != pair[:-1] // rows]]
        first = pair % rows  # each (person, kommun) at its first row
        housed = np.zeros(len(persons), dtype=bool)
        housed[lived[first]] = True
        alone = np.flatnonzero(~housed)  # persons without a residence row
        key = np.sort(np.r_[lived[first] * rows + first + 1, alone * rows])  # by person, then first row
        position, row = key // rows, key % rows - 1
        names = place.dictionary.take(pa.array(np.where(row >= 0, code[np.maximum(row, 0)], 0)))
        kommun = pc.if_else(pa.array(row >= 0), names, pa.scalar(None, pa.string()))
    at = pa.array(position)
    people = pd.DataFrame({
        PSEUDONYM: pd.arrays.ArrowStringArray(ids.take(at)),
        "person": position,
        "birth_date": pd.arrays.ArrowStringArray(pa.array(_yyyymmdd(persons["fodelsedatum"])).take(at)),
        "sex": pd.arrays.ArrowStringArray(plain_text(arrow(persons["kon"])).take(at)),
        "country": pd.arrays.ArrowStringArray(plain_text(arrow(persons["fodelseland"])).take(at)),
        "kommun": pd.arrays.ArrowStringArray(kommun),
        "neighbour": position,
    })
    people["block_month"] = people["birth_date"].str.slice(0, 6)
    return people


def link_evidence(evidence: pd.DataFrame, persons: pd.DataFrame, residence: pd.DataFrame | None, *,
                  config: dict[str, Any] | LinkConfig = CONFIG, margin: float = MARGIN,
                  m: dict[str, dict[str, float]] | None = MATCH_PROBABILITIES) -> EvidenceLinks:
    """Link the entities of `evidence` (rows of every register without a pseudonym) to persons of the spine.

    u comes from `linkage.probabilistic.run` (value frequencies of both tables), m from `m` (None: estimated by
    EM too), and the prior by EM as the share of matches among all entity × person pairs — the pairs Fellegi–
    Sunter's weights are about, however many rows (neighbours, kommuner lived in) each of them is compared as.
    Persons are compared as their positions in `persons` (a broken number's neighbours too), not as pseudonyms.
    """
    cfg = load_config(config)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reglink-candidates") as beside:
        # The spine's side (Arrow and numpy mostly) is made while the entities are grouped.
        right_later = beside.submit(candidates, persons, residence) if len(persons) and len(evidence) else None
        entity = entities(evidence)
        status = np.full(len(entity), "unlinked", dtype=object)
        linked = np.full(len(entity), None, dtype=object)
        probability = np.full(len(entity), np.nan)
        if not len(entity) or right_later is None:
            return EvidenceLinks(_entity_frame(entity, status, linked, probability), _no_pairs(), cfg)
        spine = PseudonymSet.of(persons)
        left = comparable(entity)
        left["neighbour"] = _neighbour_positions(left["neighbour"], spine)
        right = right_later.result()
    ids = spine.ids
    result = run(left, right, cfg, m=m, pairs=len(entity) * len(persons))
    model = result.model
    pairs = [(frame["left"].to_numpy(), frame["right"].to_numpy(), frame["weight"].to_numpy(),
              frame["probability"].to_numpy()) for frame in (result.links, result.review)]
    li, ri, weight, prob = (np.concatenate(part) for part in zip(*pairs))
    owner, person = left["entity"].to_numpy()[li], right["person"].to_numpy()[ri]
    # A person counts once per entity: the best of their kommun rows (and neighbour rows); ties by pseudonym.
    order = np.lexsort((spine.ranks()[person], -weight))
    _, first = np.unique(owner[order] * len(ids) + person[order], return_index=True)
    keep = order[np.sort(first)]
    owner, person, weight, prob = owner[keep], person[keep], weight[keep], prob[keep]
    by_entity = np.argsort(owner, kind="stable")
    starts = np.flatnonzero(np.r_[True, owner[by_entity][1:] != owner[by_entity][:-1]]) if len(owner) else \
        np.zeros(0, np.int64)
    best = by_entity[starts]
    has_second = np.r_[starts[1:], len(owner)] - starts > 1
    runner_up = np.full(len(best), -np.inf)
    runner_up[has_second] = weight[by_entity[starts[has_second] + 1]]
    clear = weight[best] - runner_up >= margin
    above = prob[best] >= cfg.threshold
    chosen = best[above & clear]
    status[owner[chosen]] = "probabilistic"
    status[owner[best[above & ~clear]]] = "ambiguous"
    linked[owner[chosen]] = ids.take(pa.array(person[chosen])).to_numpy(zero_copy_only=False)
    probability[owner[chosen]] = prob[chosen]
    unchosen = np.ones(len(entity), dtype=bool)
    unchosen[owner[chosen]] = False
    review = np.flatnonzero(unchosen[owner])
    review_frame = pd.DataFrame({
        "group": pd.array(entity.index.to_numpy()[owner[review]], dtype="string"),
        PSEUDONYM: pd.array(ids.take(pa.array(person[review])).to_numpy(zero_copy_only=False), dtype="string"),
        "probability": prob[review], "weight": weight[review]})
    stats = {"candidate_pairs": result.stats.candidate_pairs, "prior": model.prior, "model": model}
    found = EvidenceLinks(_entity_frame(entity, status, linked, probability), review_frame, cfg, stats)
    del left, right, result
    release_memory()  # the candidate tables and pairs
    return found


def _neighbour_positions(neighbours: pd.Series, spine: PseudonymSet) -> pd.arrays.IntegerArray:
    """A broken number's neighbour as the position of its person in the spine; every neighbour who is not in the
    spine as one number beyond it, none as NA. Such a neighbour agrees with no person, which is all the
    comparison asks of it: the spine's side never holds that number, so the pairs, their levels and u (from the
    values both sides share) are as they would be with each outside neighbour a number of its own."""
    values = pa.array(neighbours, pa.string(), from_pandas=True)
    position = spine.positions(values)
    present = values.is_valid().to_numpy(zero_copy_only=False)
    position[present & (position < 0)] = len(spine.ids)
    return pd.arrays.IntegerArray(np.where(present, position, 0), ~present)


def _entity_frame(entity: pd.DataFrame, status: np.ndarray, linked: np.ndarray,
                  probability: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"group": entity.index.to_numpy(), "records": entity["records"].to_numpy(),
                         "status": pd.array(status, dtype="string"), PSEUDONYM: pd.array(linked, dtype="string"),
                         "probability": probability})


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame({"group": pd.array([], dtype="string"), PSEUDONYM: pd.array([], dtype="string"),
                         "probability": np.zeros(0), "weight": np.zeros(0)})


def _yyyymmdd(values: pd.Series) -> pd.Series:
    """Dates as YYYYMMDD text, NA where missing (their calendar keys as numbers: fast on millions)."""
    number = calendar_keys(pd.to_datetime(values).to_numpy("datetime64[D]"))
    text = pa.array(number, pa.int64(), mask=number < 0).cast(pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(text), index=values.index)


def _mode(group: np.ndarray, groups: int, values: pd.Series) -> pd.arrays.ArrowStringArray:
    """Per group (codes 0..groups-1), the most common non-missing value as text (ties: the smallest), NA where
    none. Values stay in Arrow, and are sorted only when some group's records disagree (mostly they do not)."""
    encoded = pc.dictionary_encode(plain_text(arrow(values)))
    code = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    width = len(encoded.dictionary) + 1
    present = code >= 0
    keys, counts = np.unique(group[present].astype(np.int64) * width + code[present], return_counts=True)
    owner, value = keys // width, keys % width
    if len(owner) and (owner[1:] == owner[:-1]).any():  # per group: most common first, then the smallest
        rank = np.empty(width - 1, dtype=np.int64)
        rank[pc.sort_indices(encoded.dictionary).to_numpy()] = np.arange(width - 1)
        order = np.lexsort((rank[value], -counts, owner))
        owner, value = owner[order], value[order]
        first = np.r_[True, owner[1:] != owner[:-1]]
        owner, value = owner[first], value[first]
    at = np.full(groups, -1, dtype=np.int64)
    at[owner] = value
    return pd.arrays.ArrowStringArray(encoded.dictionary.take(pa.array(at, mask=at < 0)))
