"""Cell suppression: primary rules, secondary suppression through the table's sums, and the exact audit.

The oracle here is independent of the code under test (which eliminates sparse rows): a suppressed cell is
recoverable exactly when its unit vector lies in the row space of the sums over the unknown cells (numpy's SVD)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage.indicators import protect, recoverable, sensitive
from linkage.indicators.cube import Axis, Relations, build_cube

GENDER = Axis("gender", {"K": "T", "M": "T", "?": "T"})
AREA = Axis("area", {"0180": "0001", "0184": "0001", "?01": "0001", "1280": "0012", "1281": "0012",
                     "0001": "0000", "0012": "0000", "?": "0000"})


def rank_oracle(relations: Relations, hidden: np.ndarray) -> np.ndarray:
    """Per hidden cell: determined by the sums — its unit vector lies in their row space, i.e. its leverage (squared
    norm of its column in the SVD's row-space basis) is 1. Dense, one SVD: for small tables only."""
    cells = np.flatnonzero(hidden)
    column = {cell: j for j, cell in enumerate(cells)}
    rows: dict[int, np.ndarray] = {}
    for rel, cell, total in zip(relations.relation, relations.cell, relations.total):
        if hidden[cell]:
            rows.setdefault(int(rel), np.zeros(len(cells)))[column[cell]] = -1.0 if total else 1.0
    out = np.zeros(len(hidden), bool)
    if not rows:
        return out
    _, singular, vt = np.linalg.svd(np.array(list(rows.values())), full_matrices=False)
    rank = int((singular > 1e-9 * singular.max()).sum())
    out[cells] = (vt[:rank] ** 2).sum(axis=0) > 1 - 1e-9
    return out


def table(counts: dict[tuple[str, str], int], *, denominators: dict[tuple[str, str], int] | None = None):
    """A kommun × sex table (with län, riket and T) from leaf counts; returns the cube and its published cells."""
    rows = pd.DataFrame([{"area": a, "gender": g, "count": c,
                          "denominator": (denominators or {}).get((a, g), c)} for (a, g), c in counts.items()])
    cube = build_cube(rows, [AREA, GENDER], ["count", "denominator"], size="denominator")
    cells = cube.cells
    published = (~cells["area"].str.startswith("?") & (cells["gender"] != "?")).to_numpy()
    return cube, published


def test_the_primary_rule_for_counts_and_shares():
    counts = np.array([0, 1, 4, 5, 9])
    assert sensitive(counts, None, min_count=5, complement=True).tolist() == [True, True, True, False, False]
    # shares: denominator < 5, count < 5, or denominator − count < 5 (complement)
    count = np.array([3, 5, 0, 10, 10, 0])
    denominator = np.array([40, 40, 40, 12, 40, 0])
    assert sensitive(count, denominator, min_count=5, complement=True).tolist() == [True, False, True, True, False,
                                                                                    True]
    assert sensitive(count, denominator, min_count=5, complement=False).tolist() == [True, False, True, False, False,
                                                                                     True]


def test_a_single_small_cell_gets_company_in_its_row_and_column():
    cube, published = table({("0180", "K"): 30, ("0180", "M"): 2, ("0184", "K"): 20, ("0184", "M"): 25,
                             ("1280", "K"): 40, ("1280", "M"): 41})
    counts = cube.cells["count"].to_numpy()
    hidden = protect(counts, None, cube.relations, published=published, known=np.zeros(len(counts), bool),
                     min_count=5)
    cells = cube.cells.assign(hidden=hidden)
    small = (cells["area"] == "0180") & (cells["gender"] == "M")
    assert cells.loc[small, "hidden"].all()
    assert cells["hidden"].sum() >= 4  # a second cell in its kommun, in its län column, and their partners
    assert not (recoverable(cube.relations, hidden) & sensitive(counts, None, min_count=5, complement=True)).any()
    assert not (rank_oracle(cube.relations, hidden) & hidden & (counts < 5)).any()


def test_unknown_sex_hides_a_cell_only_as_much_as_it_is_itself_unknown():
    """Persons of unknown sex are in T but never shown: they can protect a cell, and need no protection."""
    cube, published = table({("0180", "K"): 30, ("0180", "M"): 3, ("0180", "?"): 6,
                             ("0184", "K"): 20, ("0184", "M"): 25, ("1280", "K"): 40, ("1280", "M"): 41})
    counts = cube.cells["count"].to_numpy()
    protected = published.copy()
    hidden = protect(counts, None, cube.relations, published=published, known=np.zeros(len(counts), bool),
                     protected=protected, min_count=5)
    unknowns = hidden | ~published
    assert not (rank_oracle(cube.relations, unknowns) & unknowns & published & (counts < 5)).any()


def test_the_audit_catches_a_cell_that_bridges_two_blocks():
    """Sums one at a time never give a bridge away (every sum holds two unknowns), the sums together do."""
    # Two 2×2 blocks of unknowns in a 4×4 table with row and column totals, joined by the cell (1, 2).
    relation, cell, total = [], [], []
    grid = {(r, c): r * 4 + c for r in range(4) for c in range(4)}
    row_total = {r: 16 + r for r in range(4)}
    col_total = {c: 20 + c for c in range(4)}
    number = 0
    for r in range(4):
        relation += [number] * 5
        cell += [grid[r, c] for c in range(4)] + [row_total[r]]
        total += [False] * 4 + [True]
        number += 1
    for c in range(4):
        relation += [number] * 5
        cell += [grid[r, c] for r in range(4)] + [col_total[c]]
        total += [False] * 4 + [True]
        number += 1
    relations = Relations(np.array(relation), np.array(cell), np.array(total))
    hidden = np.zeros(24, bool)
    for r, c in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]:
        hidden[grid[r, c]] = True
    exposed = recoverable(relations, hidden)
    assert exposed[grid[1, 2]]
    assert exposed.tolist() == rank_oracle(relations, hidden).tolist()
    counts = np.full(24, 50)
    counts[grid[1, 2]] = 2
    published = np.ones(24, bool)
    result = protect(counts, None, relations, published=published, known=np.zeros(24, bool), min_count=5,
                     prehidden=hidden)
    assert result[grid[1, 2]]
    assert not rank_oracle(relations, result)[grid[1, 2]]


def test_a_remainder_without_anyone_with_the_outcome_is_not_left():
    """If the suppressed parts of a sum together hold 0 with the outcome, each of them is known to hold 0."""
    counts = {("0180", "K"): 0, ("0180", "M"): 20, ("0184", "K"): 0, ("0184", "M"): 25,
              ("1280", "K"): 30, ("1280", "M"): 41, ("1281", "K"): 30, ("1281", "M"): 33}
    denominators = {("0180", "K"): 30, ("0180", "M"): 40, ("0184", "K"): 30, ("0184", "M"): 40,
                    ("1280", "K"): 60, ("1280", "M"): 60, ("1281", "K"): 60, ("1281", "M"): 60}
    cube, published = table(counts, denominators=denominators)
    cells = cube.cells
    hidden = protect(cells["count"], cells["denominator"], cube.relations, published=published,
                     known=np.zeros(len(cells), bool), min_count=5)
    # the two K cells of län 01 hold 0 with the outcome between them: län 01's K cell must not be shown
    lan_k = ((cells["area"] == "0001") & (cells["gender"] == "K")).to_numpy()
    assert hidden[lan_k].all()


@st.composite
def tables(draw):
    leaves = [("0180", "K"), ("0180", "M"), ("0180", "?"), ("0184", "K"), ("0184", "M"), ("?01", "K"),
              ("1280", "K"), ("1280", "M"), ("1281", "K"), ("1281", "M"), ("?", "M")]
    counts = {leaf: draw(st.integers(0, 14)) for leaf in leaves}
    extra = {leaf: draw(st.integers(0, 10)) for leaf in leaves}
    prehidden = draw(st.lists(st.integers(0, 40), max_size=3))
    return counts, {leaf: counts[leaf] + extra[leaf] for leaf in leaves}, prehidden, draw(st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_suppressed_cell_can_be_worked_out(drawn):
    counts, denominators, prehidden, share = drawn
    if not any(denominators.values()):
        return
    cube, published = table(counts, denominators=denominators)
    cells = cube.cells
    count = cells["count"].to_numpy()
    denominator = cells["denominator"].to_numpy() if share else None
    protected = published  # unknown sex and kommun: never shown, nobody outside can point them out
    pre = np.zeros(len(cells), bool)
    pre[[i for i in prehidden if i < len(cells)]] = True
    hidden = protect(count, denominator, cube.relations, published=published, known=np.zeros(len(cells), bool),
                     protected=protected, min_count=5, prehidden=pre)
    risky = sensitive(count, denominator, min_count=5, complement=True) & protected
    assert not (published & risky & ~hidden).any(), "a small cell is shown"
    assert not (published & pre & ~hidden).any(), "a cell suppressed elsewhere is shown"
    unknown = hidden | ~published
    assert not (rank_oracle(cube.relations, unknown) & risky).any(), "a suppressed small cell can be worked out"


POPULATION = Axis("population", {"H": "N", "_restN": "N", "N": "_all", "A": "_all", "_all?": "_all"})
SMALL_AREA = Axis("area", {"0180": "0001", "0184": "0001", "1280": "0012", "0001": "0000", "0012": "0000",
                           "?": "0000"})


@st.composite
def population_tables(draw):
    leaves = [(p, a, g) for p in ("H", "_restN", "A", "_all?") for a in ("0180", "0184", "1280", "?")
              for g in ("K", "M", "?")]
    chosen = draw(st.lists(st.sampled_from(leaves), min_size=4, max_size=16, unique=True))
    rows = [{"population": p, "area": a, "gender": g, "count": draw(st.integers(0, 9)),
             "extra": draw(st.integers(0, 12))} for p, a, g in chosen]
    return rows, draw(st.booleans())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(population_tables())
def test_nested_populations_and_a_public_cohort_size_give_nothing_away(drawn):
    """ÖJ's populations nest (ever placed = whole of year 9 + the rest) and add up to a cohort whose size per
    kommun and sex is public: with them in the sums, still no small cell can be worked out."""
    rows, share = drawn
    frame = pd.DataFrame(rows)
    frame["denominator"] = frame["count"] + frame["extra"]
    size = "denominator" if share else "count"
    cube = build_cube(frame, [POPULATION, SMALL_AREA, GENDER], ["count", "denominator"], size=size,
                      complete="population")
    cells = cube.cells
    if cells.empty:
        return
    known_area = (cells["area"] != "?").to_numpy() & (cells["gender"] != "?").to_numpy()
    published = cells["population"].isin(["H", "N", "A"]).to_numpy() & known_area
    identifiable = known_area & (cells["population"] != "_all?").to_numpy()
    known = (cells["population"] == "_all").to_numpy() & known_area & (not share)
    count = cells["count"].to_numpy()
    denominator = cells["denominator"].to_numpy() if share else None
    hidden = protect(count, denominator, cube.relations, published=published, known=known,
                     protected=identifiable, min_count=5)
    risky = sensitive(count, denominator, min_count=5, complement=True) & identifiable & ~known
    unknown = hidden | (~published & ~known)
    assert not (published & risky & ~hidden).any()
    assert not (rank_oracle(cube.relations, unknown) & risky).any()
