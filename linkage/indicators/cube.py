"""Tables of cells and the sums that tie them together, rolled up from per-person rows along hierarchical axes.

A cell is one node on every axis. On a hierarchical axis a parent node is the sum of its children (T = K + M + unknown
sex; riket = Σ län + unknown län; ever placed = placed the whole of year 9 + the rest): each such sum is a relation,
and secondary suppression must make sure no suppressed cell can be worked out from them. An axis without parents only
separates cells (period, KPI). Cells whose `size` is 0 are empty and left out: no row, nobody described.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Axis:
    """A dimension of the table; `parents` maps each node that rolls up to its parent (empty: no sums)."""

    name: str
    parents: Mapping[str, str] = field(default_factory=dict)

    def path(self, node: str) -> list[str]:
        """The node and its ancestors, the node first."""
        out = [node]
        while out[-1] in self.parents:
            out.append(self.parents[out[-1]])
        return out


@dataclass(frozen=True)
class Relations:
    """Sums between cells, one row per member: relation id, cell id, and whether the member is the sum (total)."""

    relation: np.ndarray
    cell: np.ndarray
    total: np.ndarray

    @property
    def count(self) -> int:
        return int(self.relation.max()) + 1 if len(self.relation) else 0


@dataclass(frozen=True)
class Cube:
    """The non-empty cells (one row each, axis columns then values) and the relations between them."""

    cells: pd.DataFrame
    relations: Relations


def build_cube(rows: pd.DataFrame, axes: list[Axis], values: list[str], *, size: str,
               complete: str | None = None) -> Cube:
    """Sum `values` of per-person (or pre-aggregated) `rows` up every axis; cells with `size` 0 are left out.

    `rows` holds a leaf node (text) for every axis; every leaf of a hierarchical axis must have a path in `parents`
    to the axis's root, so that the leaves partition the whole. `complete` names a hierarchical axis whose every node
    is a cell wherever its root is not empty, even with nothing in it: then whether a cell is there tells nothing
    (no row for never-placed children in a kommun would say every child there was placed)."""
    names = [axis.name for axis in axes]
    frame = rows[names + values].groupby(names, sort=False, observed=True)[values].sum().reset_index()
    for axis in axes:
        if not axis.parents:
            continue
        leaves = frame[axis.name].unique()
        pairs = pd.DataFrame([(leaf, node) for leaf in leaves for node in axis.path(leaf)],
                             columns=["_leaf", "_node"])
        frame = frame.merge(pairs, left_on=axis.name, right_on="_leaf")
        frame[axis.name] = frame["_node"]
        frame = frame.groupby(names, sort=False)[values].sum().reset_index()
    keep = frame[size] > 0
    if complete is not None:
        axis = next(a for a in axes if a.name == complete)
        nodes = sorted(set(axis.parents) | set(axis.parents.values()))
        root = next(node for node in nodes if node not in axis.parents)
        others = [name for name in names if name != complete]
        filled = frame[keep & (frame[complete] == root)][others].merge(pd.DataFrame({complete: nodes}), how="cross")
        frame = filled.merge(frame, on=names, how="left").fillna({v: 0 for v in values})
        frame[values] = frame[values].astype(np.int64)
        keep = np.ones(len(frame), bool)
    frame = frame[keep].sort_values(names, kind="stable").reset_index(drop=True)
    return Cube(frame, _relations(frame, axes))


def _relations(cells: pd.DataFrame, axes: list[Axis]) -> Relations:
    names = [axis.name for axis in axes]
    ids = cells[names].assign(_cell=np.arange(len(cells)))
    relation, cell, total, offset = [], [], [], 0
    for axis in axes:
        if not axis.parents:
            continue
        others = [name for name in names if name != axis.name]
        children = ids[ids[axis.name].isin(list(axis.parents))].copy()
        children["_parent"] = children[axis.name].map(axis.parents)
        totals = ids.rename(columns={axis.name: "_parent", "_cell": "_total"})
        joined = children.merge(totals, on=[*others, "_parent"], how="left")
        if joined["_total"].isna().any():  # a child without its parent: the leaves did not partition the whole
            raise ValueError(f"axis {axis.name}: a non-empty cell has an empty parent")
        sums = joined["_total"].astype(np.int64).to_numpy()
        number = pd.factorize(sums, sort=True)[0] + offset
        unique_totals = np.unique(sums)
        relation += [number, np.arange(len(unique_totals)) + offset]
        cell += [joined["_cell"].to_numpy(np.int64), unique_totals]
        total += [np.zeros(len(sums), bool), np.ones(len(unique_totals), bool)]
        offset += len(unique_totals)
    if not relation:
        empty = np.zeros(0, np.int64)
        return Relations(empty, empty, np.zeros(0, bool))
    return Relations(np.concatenate(relation), np.concatenate(cell), np.concatenate(total))
