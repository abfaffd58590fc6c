"""Figures of the indicators (matplotlib, Agg): the placement trend, placed children beside never-placed peers, and
kommun results as ranked dot plots with Wilson intervals.

Each figure is drawn only from shown cells (`shown`): a suppressed cell has no value to draw, so it leaves a gap in
a line, no dot and no label. Every chart carries the data it draws, so tests and notebooks can check a figure
against its numbers. Figures are PNG without tooltips or embedded data.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import codebooks
from linkage.indicators.compute import RIKET, STATUS_SUPPRESSED
from linkage.indicators.definitions import definitions, kpis

DPI = 100
COLOURS = {"T": "#333333", "K": "#c2185b", "M": "#1565c0"}
GENDER_LABELS = {"T": "total", "K": "girls/women", "M": "boys/men"}
#: Which population's kommun results to plot for a share: the first with a kommun value shown.
KOMMUN_PREFERENCE = ("N", "H", "A")
#: Offsets of the sexes within a population's slot in the comparison chart.
OFFSETS = {"K": -0.18, "T": 0.0, "M": 0.18}


@dataclass(frozen=True)
class Chart:
    """A figure, the file name it is saved under, its title and the rows it draws (shown cells only)."""

    name: str
    title: str
    figure: Figure
    data: pd.DataFrame

    def png(self) -> bytes:
        """The figure as PNG bytes, without a software or time stamp (the same figure gives the same bytes)."""
        buffer = io.BytesIO()
        FigureCanvasAgg(self.figure)
        self.figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        return buffer.getvalue()

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the PNG in pixels."""
        width, height = self.figure.get_size_inches()
        return round(width * DPI), round(height * DPI)


def shown(indicators: pd.DataFrame) -> pd.DataFrame:
    """The rows a figure may draw: not suppressed and with a value."""
    return indicators[(indicators["status"] != STATUS_SUPPRESSED) & indicators["value"].notna()]


def trend_chart(indicators: pd.DataFrame, *, municipality: str = RIKET) -> Chart:
    """Children placed and placements started per year, in total, by placeringsform and by lagrum (sex T)."""
    titles = _titles()
    rows = shown(indicators)
    rows = rows[(rows["municipality"] == municipality) & (rows["gender"] == "T")]
    counts = {c.id: c for c in definitions().counts}
    panels = [  # (row, column, title, KPI ids)
        (0, 0, "Children placed during the year", ["RLP01"]),
        (0, 1, "Placements and measures started during the year", ["RLP02", "RLP04"]),
        (1, 0, "Children placed, by placement type", _breakdown("RLP01", counts)),
        (1, 1, "Placements started, by placement type", _breakdown("RLP02", counts)),
        (2, 0, "Children with a measure, by legal basis", _breakdown("RLP03", counts)),
        (2, 1, "Measures started, by legal basis", _breakdown("RLP04", counts)),
    ]
    figure = Figure(figsize=(13, 12))
    axes = figure.subplots(3, 2, squeeze=False)
    years = sorted(rows["period"].unique()) or [0]
    drawn = []
    for r, c, title, ids in panels:
        ax = axes[r][c]
        for kpi in ids:
            series = rows[rows["kpi"] == kpi].set_index("period")["value"].astype(float)
            if series.empty:
                continue
            series = series.reindex(range(min(years), max(years) + 1))  # a suppressed year is a gap
            label = titles.loc[kpi, "label"]
            ax.plot(series.index, series.to_numpy(), marker="o", markersize=3, linewidth=1.2, label=label)
            drawn.append(pd.DataFrame({"panel": title, "kpi": kpi, "label": label,
                                       "period": series.dropna().index, "value": series.dropna().to_numpy()}))
        ax.set_title(title, fontsize=10, loc="left")
        ax.set_ylabel("number")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="upper left", frameon=False)
        else:
            ax.text(0.5, 0.5, "nothing to show (suppressed or not in the extract)", ha="center", va="center",
                    transform=ax.transAxes, fontsize=9, color="#777777")
    figure.suptitle(f"Placements in the extract's cohort, {_area_name(municipality)} (suppressed years left out)",
                    fontsize=12)
    figure.tight_layout()
    data = pd.concat(drawn, ignore_index=True) if drawn else pd.DataFrame(
        columns=["panel", "kpi", "label", "period", "value"])
    return Chart("trend", "Placed children and new placements per year", figure, data)


def comparison_chart(indicators: pd.DataFrame, *, municipality: str = RIKET,
                     groups: Sequence[str] | None = None) -> Chart:
    """Per share indicator (all, or `groups`): placed the whole of year 9, ever placed and never placed, by sex, with
    Wilson intervals, for the latest period in which a placed population's total is shown (else the latest with any
    value)."""
    rows = shown(indicators)
    rows = rows[rows["municipality"] == municipality]
    defs = definitions()
    shares = [s for s in defs.shares if groups is None or s.id in groups]
    columns = min(4, len(shares))
    lines = -(-len(shares) // columns)
    figure = Figure(figsize=(4 * columns, 0.5 + 4 * lines))
    axes = figure.subplots(lines, columns, squeeze=False).ravel()
    for ax in axes[len(shares):]:
        ax.set_visible(False)
    drawn = []
    for ax, share in zip(axes, shares):
        ids = {share.kpi(p): p for p in defs.populations}
        mine = rows[rows["kpi"].isin(list(ids))]
        ax.set_title(_wrap(share.title.en), fontsize=9, loc="left")
        ax.set_xticks(range(len(defs.populations)))
        ax.set_xticklabels([_wrap(p.title.en, 14) for p in defs.populations], fontsize=8)
        ax.set_ylabel("percent")
        ax.grid(axis="y", alpha=0.3)
        if mine.empty:
            ax.text(0.5, 0.5, "nothing to show", ha="center", va="center", transform=ax.transAxes, fontsize=9,
                    color="#777777")
            continue
        placed = mine[(mine["gender"] == "T") & mine["kpi"].isin([k for k, p in ids.items() if p.code != "A"])]
        period = int((placed if not placed.empty else mine)["period"].max())
        mine = mine[mine["period"] == period]
        for gender in ("K", "T", "M"):
            part = mine[mine["gender"] == gender]
            x = [list(ids).index(kpi) + OFFSETS[gender] for kpi in part["kpi"]]
            values = part["value"].to_numpy(float)
            errors = np.vstack([values - part["lower"].to_numpy(float), part["upper"].to_numpy(float) - values])
            ax.errorbar(x, values, yerr=errors, fmt="o", color=COLOURS[gender], markersize=4, capsize=2,
                        linewidth=1, label=GENDER_LABELS[gender])
            drawn.append(part.assign(group=share.id, population=[ids[k].code for k in part["kpi"]]))
        ax.set_xlim(-0.5, len(defs.populations) - 0.5)
        ax.text(0.98, 0.98, str(period), ha="right", va="top", transform=ax.transAxes, fontsize=8, color="#555555")
    handles, labels = next(((a.get_legend_handles_labels()) for a in axes if a.lines), ([], []))
    if handles:
        figure.legend(handles, labels, loc="lower center", ncol=3, frameon=False, fontsize=9)
    figure.suptitle(f"Placed children beside never-placed peers, {_area_name(municipality)} "
                    "(period in the corner; bars: Wilson 95% intervals)", fontsize=12)
    figure.tight_layout(rect=(0, 0.5 / (0.5 + 4 * lines), 1, 1 - 0.4 / (0.5 + 4 * lines)))
    columns = ["group", "kpi", "population", "period", "gender", "value", "lower", "upper", "count", "denominator"]
    data = pd.concat(drawn, ignore_index=True)[columns] if drawn else pd.DataFrame(columns=columns)
    return Chart("comparison", "Placed children beside never-placed peers", figure, data)


def kommun_chart(indicators: pd.DataFrame, kpi: str, *, period: int | None = None) -> Chart | None:
    """Kommun values of a share KPI (sex T) as a ranked dot plot with Wilson intervals and the riket value as a line;
    None when no kommun value is shown. `period`: the latest with a kommun value shown, unless given."""
    rows = shown(indicators)
    rows = rows[(rows["kpi"] == kpi) & (rows["gender"] == "T")]
    kommuner = rows[~rows["municipality"].str.startswith("00")]
    if period is None and not kommuner.empty:
        period = int(kommuner["period"].max())
    kommuner = kommuner[kommuner["period"] == period].sort_values(["value", "municipality"])
    if kommuner.empty:
        return None
    names = {c.code: c.label.en for c in codebooks.codelist("kommun").categories}
    labels = [f"{names.get(code, code)} ({code})" for code in kommuner["municipality"]]
    height = 1.6 + 0.26 * len(kommuner)
    figure = Figure(figsize=(8, height))
    ax = figure.subplots()
    values = kommuner["value"].to_numpy(float)
    y = np.arange(len(kommuner))
    ax.errorbar(values, y, xerr=np.vstack([values - kommuner["lower"].to_numpy(float),
                                           kommuner["upper"].to_numpy(float) - values]),
                fmt="o", color=COLOURS["T"], markersize=4, capsize=2, linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylim(-0.7, len(kommuner) - 0.3)
    riket = rows[(rows["municipality"] == RIKET) & (rows["period"] == period)]
    if not riket.empty:
        ax.axvline(float(riket["value"].iloc[0]), color="#999999", linestyle="--", linewidth=1, label="riket")
        ax.legend(fontsize=8, loc="lower right", frameon=False)
    ax.set_xlabel("percent (Wilson 95% interval)")
    ax.grid(axis="x", alpha=0.3)
    title = kpis().set_index("id").loc[kpi, "title_en"]
    ax.set_title(f"{_wrap(title, 70)}\n{kpi}, {period}, kommuner with a value shown", fontsize=9, loc="left")
    # fixed margins (in inches) instead of tight_layout: as good for one axis with short labels, and much faster
    figure.subplots_adjust(left=0.3, right=0.97, top=1 - 0.75 / height, bottom=0.6 / height)
    data = kommuner.assign(label=labels)[["kpi", "municipality", "label", "period", "value", "lower", "upper",
                                          "count", "denominator"]].reset_index(drop=True)
    return Chart(f"kommuner-{kpi}", f"{title}: kommuner", figure, data)


def kommun_charts(indicators: pd.DataFrame) -> list[Chart]:
    """Per share indicator, a ranked dot plot of the first of its populations (ever placed, placed the whole of year
    9, never placed) with a kommun value shown."""
    out = []
    order = {code: rank for rank, code in enumerate(KOMMUN_PREFERENCE)}
    preference = sorted(definitions().populations, key=lambda p: order.get(p.code, len(order)))
    for share in definitions().shares:
        chart = next((c for p in preference if (c := kommun_chart(indicators, share.kpi(p))) is not None), None)
        if chart is not None:
            out.append(chart)
    return out


def _breakdown(kpi: str, counts: dict) -> list[str]:
    count = counts[kpi]
    if count.breakdown is None:
        return []
    return [kpi + count.breakdown.prefix + category.code for category in count.breakdown.categories()]


def _titles() -> pd.DataFrame:
    """Per KPI the short label a legend shows: the category of a breakdown, else the title."""
    table = kpis().set_index("id")
    labels = []
    for kpi, row in table.iterrows():
        labels.append(_category_label(row) if row["category"] else row["title_en"])
    return table.assign(label=labels)


def _category_label(row: pd.Series) -> str:
    return row["title_en"].split(": ", 1)[-1]


def _area_name(code: str) -> str:
    if code == RIKET:
        return "Sweden (riket)"
    if code.startswith("00"):
        names = {c.code: c.label.en for c in codebooks.codelist("lan").categories}
        return names.get(code[2:], code)
    names = {c.code: c.label.en for c in codebooks.codelist("kommun").categories}
    return names.get(code, code)


def _wrap(text: str, width: int = 38) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])
