"""`write_indicators`: an extract folder in; indicators.csv/.parquet (Kolada's shape), kpis.csv, the figures and a
self-contained report.html out.

The extract is verified against its manifest first (`linkage.extract.verify_extract`), so the answers come from
exactly what reglink delivered. The output folder is built beside its target and renamed into place; a folder an
earlier run made is replaced, any other folder is left alone. Nothing here shows a suppressed cell: tables print
".." for it, figures leave it out, and the HTML has no scripts, tooltips or hidden data.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from linkage.atomic import atomic_file
from linkage.errors import InputError, OutputError
from linkage.extract import verify_extract
from linkage.indicators.compute import (
    DEFAULT_RULES,
    RIKET,
    STATUS_BORTFALL,
    STATUS_SUPPRESSED,
    Rules,
    compute_indicators,
    partial_indicators,
    skipped_indicators,
)
from linkage.indicators.definitions import definitions, kpis
from linkage.indicators.plots import Chart, comparison_chart, kommun_charts, shown, trend_chart
from linkage.io import write_table

MARKER = ".reglink-indicators"
TABLES = {"persons": "persons", "placements": "placement_placement", "measures": "placement_measure"}
SUPPRESSED = ".."

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Extract:
    """The tables of an extract the indicators use, its manifest and the reference year (with where it came from)."""

    folder: Path
    persons: pd.DataFrame
    placements: pd.DataFrame | None
    measures: pd.DataFrame | None
    manifest: dict
    reference_year: int | None
    reference_source: str


@dataclass(frozen=True)
class IndicatorsResult:
    """What `write_indicators` wrote: the folder, the indicators, the charts, the indicator groups left out or computed
    from part of their columns, and the reference year used."""

    folder: Path
    indicators: pd.DataFrame
    charts: list[Chart]
    skipped: dict[str, str]
    partial: dict[str, str]
    reference_year: int | None


def read_extract(folder: Path | str) -> Extract:
    """The persons and placement tables of a verified extract folder; one-line errors for anything else."""
    folder = Path(folder)
    if not folder.exists():
        raise InputError(f"{folder}: no such extract folder")
    if not folder.is_dir():
        raise InputError(f"{folder}: is a file, not an extract folder")
    verify_extract(folder)  # a manifest reglink wrote, and every file exactly as it lists
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    frames = {name: _table(folder, table) for name, table in TABLES.items()}
    if frames["persons"] is None:
        raise InputError(f"{folder}: the extract has no persons table (data/persons.parquet)")
    year, source = _reference_year(manifest, frames)
    return Extract(folder, frames["persons"], frames["placements"], frames["measures"], manifest, year, source)


def write_indicators(extract_dir: Path | str, out_dir: Path | str, *, rules: Rules = DEFAULT_RULES,
                     progress: Progress | None = None) -> IndicatorsResult:
    """Compute the indicators of the extract `extract_dir` and write them, the figures and report.html to `out_dir`.

    The reference year is `rules.reference_year`, else the extract manifest's reference date, else the latest year
    of any placement or measure date (stated in the report)."""
    say = progress or (lambda step: None)
    extract_dir, out_dir = Path(extract_dir), Path(out_dir)
    _check_target(extract_dir, out_dir)
    extract = read_extract(extract_dir)  # before any progress: a bad extract is one line of error and nothing else
    say(f"verified the extract ({len(extract.persons):,} persons)")
    year, source = ((rules.reference_year, "given") if rules.reference_year is not None
                    else (extract.reference_year, extract.reference_source))
    rules = dataclasses.replace(rules, reference_year=year)
    say("computing the indicators and suppressing small cells")
    indicators = compute_indicators(extract.persons, extract.placements, extract.measures, rules=rules)
    skipped = skipped_indicators(extract.persons, extract.placements, extract.measures)
    partial = partial_indicators(extract.persons)
    say("drawing the figures")
    charts = [trend_chart(indicators), comparison_chart(indicators), *kommun_charts(indicators)]
    pngs = {chart.name: chart.png() for chart in charts}
    say("writing the tables and the report")
    page = render_html(indicators, charts, pngs, rules=rules, skipped=skipped, partial=partial,
                       title=str(extract.manifest.get("project", extract_dir.name)), reference_source=source)
    with _fresh_folder(out_dir) as folder:
        write_table(indicators, folder / "indicators.csv")
        write_table(indicators, folder / "indicators.parquet")
        write_table(kpis(), folder / "kpis.csv")
        for name, png in pngs.items():
            _write_bytes(folder / "figures" / f"{name}.png", png)
        _write_bytes(folder / "report.html", page.encode("utf-8"))
        _write_bytes(folder / MARKER, b"made by reglink indicators; replaced by the next run\n")
    return IndicatorsResult(out_dir, indicators, charts, skipped, partial, year)


def render_html(indicators: pd.DataFrame, charts: list[Chart], pngs: dict[str, bytes], *, rules: Rules,
                skipped: dict[str, str], partial: dict[str, str], title: str, reference_source: str) -> str:
    """The report: the question's answers in tables and figures, how cells were suppressed, and the definitions."""
    by_name = {chart.name: chart for chart in charts}
    kommun = [chart for chart in charts if chart.name.startswith("kommuner-")]
    parts = [
        f"<h1>Indicators: {_e(title)}</h1>",
        _p(f"Öppna jämförelser-style register indicators computed by reglink from the extract, in Kolada's shape "
           f"(indicators.csv, indicators.parquet; KPI definitions in kpis.csv). Reference year: "
           f"{_e(rules.reference_year if rules.reference_year is not None else 'unknown')} ({_e(reference_source)}). "
           f"Cells with a count or denominator below {rules.min_count} are suppressed, with secondary suppression; "
           f"suppressed cells show as “{SUPPRESSED}” and are left out of every figure."),
        "<h2>Placed children beside never-placed peers (riket)</h2>",
        _share_table(indicators),
        _figure(by_name["comparison"], pngs),
        "<h2>Placed children over time (riket)</h2>",
        _figure(by_name["trend"], pngs),
        _trend_table(indicators),
        "<h2>Kommun results</h2>",
        _p("Ranked dot plots of the kommuner whose value is shown (sex T, latest period with a kommun value), with "
           "Wilson 95% intervals; the dashed line is riket. A kommun whose cell is suppressed is not in the plot."),
        *(_figure(chart, pngs) for chart in kommun),
        "" if kommun else _p("No kommun value can be shown: every kommun cell is suppressed."),
        "<h2>Disclosure control</h2>",
        _disclosure(indicators, rules, skipped, partial),
        "<h2>Definitions</h2>",
        _definitions(),
    ]
    style = ("body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;margin:1em 0;font-size:0.85em}"
             "th,td{border:1px solid #ccc;padding:0.2em 0.5em;text-align:right}"
             "th:first-child,td:first-child,td.text{text-align:left}img{max-width:100%}"
             "figcaption{font-size:0.85em;color:#555}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Indicators: {_e(title)}</title><style>{style}</style></head><body>\n"
            + "\n".join(part for part in parts if part) + "\n</body></html>\n")


# ------------------------------------------------------------------------------------------------------- report

def share_summary(indicators: pd.DataFrame, *, municipality: str = RIKET,
                  groups: Collection[str] | None = None) -> pd.DataFrame:
    """Per share indicator and population: the latest period whose total is shown, and T, K and M as text —
    "value (lower–upper), n=denominator" († where flagged for bortfall), ".." where suppressed."""
    defs = definitions()
    rows = indicators[indicators["municipality"] == municipality]
    visible = shown(rows)
    out = []
    for share in defs.shares:
        if groups is not None and share.id not in groups:
            continue
        for population in defs.populations:
            kpi = share.kpi(population)
            mine = rows[rows["kpi"] == kpi]
            if mine.empty:
                continue
            totals = visible[(visible["kpi"] == kpi) & (visible["gender"] == "T")]
            period = int(totals["period"].max()) if not totals.empty else int(mine["period"].max())
            cells = mine[mine["period"] == period].set_index("gender")
            out.append({"kpi": kpi, "indicator": share.title.en, "population": population.title.en,
                        "period": period, **{g: _share_cell(cells, g) for g in ("T", "K", "M")}})
    return pd.DataFrame(out, columns=["kpi", "indicator", "population", "period", "T", "K", "M"])


def count_summary(indicators: pd.DataFrame, *, kpis: Sequence[str] = ("RLP01", "RLP02", "RLP04"),
                  municipality: str = RIKET, gender: str = "T") -> pd.DataFrame:
    """Counts per year (rows) and KPI (columns) as text: the number, ".." where suppressed, empty where absent."""
    rows = indicators[(indicators["municipality"] == municipality) & (indicators["gender"] == gender)
                      & indicators["kpi"].isin(list(kpis))]
    table = pd.DataFrame(index=pd.Index(sorted(rows["period"].unique()), name="period"), columns=list(kpis),
                         data="")
    for row in rows.itertuples():
        table.loc[row.period, row.kpi] = SUPPRESSED if row.status == STATUS_SUPPRESSED else f"{int(row.count):,}"
    return table


def _share_table(indicators: pd.DataFrame) -> str:
    summary = share_summary(indicators)
    if summary.empty:
        return _p("No share indicator could be computed.")
    head = ("<tr><th>Indicator</th><th>Population</th><th>Period</th><th>Total % (95% CI), n</th>"
            "<th>Girls/women</th><th>Boys/men</th></tr>")
    body = "".join("<tr>" + f"<td class=\"text\">{_e(r.indicator)}</td><td class=\"text\">{_e(r.population)}</td>"
                   f"<td>{r.period}</td>" + "".join(f"<td>{_e(v)}</td>" for v in (r.T, r.K, r.M)) + "</tr>"
                   for r in summary.itertuples())
    return f"<table>{head}{body}</table>"


def _share_cell(cells: pd.DataFrame, gender: str) -> str:
    if gender not in cells.index:
        return ""
    cell = cells.loc[gender]
    if cell["status"] == STATUS_SUPPRESSED:
        return SUPPRESSED
    flag = " †" if cell["status"] == STATUS_BORTFALL else ""
    return f"{cell['value']:.1f} ({cell['lower']:.1f}–{cell['upper']:.1f}), n={cell['denominator']}{flag}"


def _trend_table(indicators: pd.DataFrame) -> str:
    labels = {"RLP01": "Children placed", "RLP02": "Placements started", "RLP04": "Measures started"}
    table = count_summary(indicators, kpis=list(labels))
    if table.empty:
        return ""
    head = "<tr><th>Year</th>" + "".join(f"<th>{_e(label)}</th>" for label in labels.values()) + "</tr>"
    body = "".join(f"<tr><td>{period}</td>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>"
                   for period, row in table.iterrows())
    return f"<table>{head}{body}</table>"


def _disclosure(indicators: pd.DataFrame, rules: Rules, skipped: dict[str, str], partial: dict[str, str]) -> str:
    level = indicators["municipality"].map(lambda m: "riket" if m == RIKET else "län" if m.startswith("00")
                                           else "kommun")
    table = pd.crosstab(level, indicators["status"]).reindex(["riket", "län", "kommun"]).fillna(0).astype(int)
    head = "<tr><th>Level</th>" + "".join(f"<th>{_e(c)}</th>" for c in table.columns) + "</tr>"
    body = "".join(f"<tr><td>{_e(i)}</td>" + "".join(f"<td>{v:,}</td>" for v in row) + "</tr>"
                   for i, row in table.iterrows())
    k = rules.min_count
    complement = f", or its denominator minus its count is below {k}" if rules.complement else ""
    known = "" if rules.population_known else " (not assumed here)"
    notes = [
        (f"Primary: a share is suppressed when its denominator or count is below {k}{complement}; a number when it "
         f"is below {k}. A population with nobody in it is a suppressed row like any small one; other empty cells "
         "(no placements in a kommun and year) are not listed."),
        ("Secondary: more cells are suppressed until no suppressed cell can be worked out from the cells shown — "
         "through T = K + M (with persons of unknown sex), kommun → län → riket (with unknown kommun), ever placed = "
         "placed the whole of year 9 + the rest, and a breakdown adding up to its total — checked one sum at a time "
         f"and exactly over all sums at once; a cohort's size per area and sex counts as public{known}, and the "
         "populations' sizes are suppressed alike in every indicator."),
        (f"† bortfall: more than {rules.bortfall:.0%} of the population is missing from the outcome register "
         "(ÖJ's rule; for education, saknas_i_betygsregistret). The value is shown but uncertain."),
        ("Not covered: relations between different outcomes (e.g. the two eligibility indicators), and counts by "
         "placement type or legal basis against their total for children, where a child can be in several."),
    ]
    skipped_list = "".join(f"<li>{_e(group)}: {_e(reason)}</li>" for group, reason in sorted(skipped.items()))
    partial_list = "".join(f"<li>{_e(group)}: {_e(note)}</li>" for group, note in sorted(partial.items()))
    return (f"<table>{head}{body}</table><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
            + (f"<p>Not computed (the extract lacks what they need):</p><ul>{skipped_list}</ul>" if skipped else "")
            + (f"<p>Computed from part of their definition:</p><ul>{partial_list}</ul>" if partial else ""))


def _definitions() -> str:
    table = kpis()
    head = "<tr><th>KPI</th><th>Titel</th><th>Title</th><th>Sources</th></tr>"
    body = "".join(
        f"<tr><td>{_e(row.id)}</td><td class=\"text\">{_e(row.title_sv)}</td><td class=\"text\">{_e(row.title_en)}"
        f"</td><td class=\"text\">" + " ".join(f"<a href=\"{_e(url)}\">source</a>" for url in row.sources.split(" · "))
        + "</td></tr>" for row in table.itertuples())
    return f"<table>{head}{body}</table>"


def _figure(chart: Chart, pngs: dict[str, bytes]) -> str:
    data = base64.b64encode(pngs[chart.name]).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{_e(chart.title)}\">"
            f"<figcaption>{_e(chart.title)} (figures/{_e(chart.name)}.png)</figcaption></figure>")


def _p(text: str) -> str:
    return f"<p>{text}</p>"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


# -------------------------------------------------------------------------------------------------------- files

def _table(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / "data" / f"{name}.parquet"
    if not path.is_file():
        return None
    try:
        return pq.read_table(path).to_pandas()
    except (OSError, ValueError):
        raise InputError(f"{folder.name}: data/{name}.parquet is not a readable Parquet file") from None


def _reference_year(manifest: dict, frames: dict[str, pd.DataFrame | None]) -> tuple[int | None, str]:
    """From the manifest's reference date where it states one; else the latest year of a placement or measure date."""
    for holder in (manifest, manifest.get("request") or {}):
        if isinstance(holder, dict) and holder.get("reference_date"):
            return int(str(holder["reference_date"])[:4]), "the extract manifest"
    years = []
    for name in ("placements", "measures"):
        frame = frames[name]
        for column in ("startdatum", "slutdatum"):
            if frame is not None and column in frame.columns:
                text = frame[column].dropna().astype(str).str[:4]
                years += [int(y) for y in text[text.str.fullmatch(r"\d{4}")].unique()]
    if years:
        return max(years), "the latest placement or measure date; the manifest states none"
    return None, "not stated in the manifest and no placement dates to infer it from"


def _check_target(extract_dir: Path, out_dir: Path) -> None:
    extract, out = extract_dir.resolve(), out_dir.resolve()
    if out == extract or extract in out.parents:
        raise OutputError(f"{out_dir}: the output folder must be outside the extract (its manifest lists every file)")
    if out in extract.parents:
        raise OutputError(f"{out_dir}: the output folder must not hold the extract")
    if out_dir.exists() and not (out_dir.is_dir() and (out_dir / MARKER).is_file()):
        raise OutputError(f"{out_dir}: exists and was not made by `reglink indicators`; choose a new folder")


@contextlib.contextmanager
def _fresh_folder(target: Path) -> Iterator[Path]:
    """Build the output in a temporary folder beside `target`, then put it in place of `target` (an earlier run's)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        old = tmp.with_name(tmp.name.replace(".tmp-", ".old-")) if target.exists() else None
        if old is not None:
            os.rename(target, old)
        os.rename(tmp, target)
        if old is not None:
            shutil.rmtree(old)
    except OSError as error:
        raise OutputError(f"{target}: could not be written ({error.strerror or type(error).__name__})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        with atomic_file(path) as tmp:
            tmp.write_bytes(data)
    except OSError as error:
        raise OutputError(f"{path.name}: could not be written ({error.strerror or type(error).__name__})") from None
