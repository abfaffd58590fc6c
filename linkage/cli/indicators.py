"""`reglink indicators`: Öppna jämförelser-style indicators, figures and a report from an extract."""

from __future__ import annotations

from pathlib import Path

import typer

from linkage.cli.app import app, console, stage_progress


@app.command("indicators")
def indicators(
    extract: Path = typer.Argument(..., help="Extract folder made by `reglink extract` (verified against its "
                                             "manifest first)."),
    out: Path = typer.Option(..., help="Folder to write indicators.csv/.parquet, kpis.csv, figures/ and "
                                       "report.html (replaced if an earlier run made it)."),
    min_count: int = typer.Option(5, min=2, help="Suppress counts and denominators below this (secondary "
                                                 "suppression follows)."),
    reference_year: int | None = typer.Option(None, help="The extract's reference year (default: the manifest's, "
                                                         "else the latest placement date)."),
) -> None:
    """Compute the indicators of EXTRACT by kommun, län and riket, period and sex, suppress small cells, and write
    the tables, figures and report to --out."""
    from linkage.indicators import Rules, write_indicators  # matplotlib: loaded only for this command
    from linkage.indicators.compute import STATUS_SUPPRESSED

    with stage_progress() as progress:
        steps = iter(range(1, 1_000))
        result = write_indicators(extract, out, rules=Rules(min_count=min_count, reference_year=reference_year),
                                  progress=lambda step: progress(step, next(steps), None))
    frame = result.indicators
    hidden = int((frame["status"] == STATUS_SUPPRESSED).sum())
    console.print(f"{len(frame):,} cells of {frame['kpi'].nunique()} KPIs ({hidden:,} suppressed), "
                  f"{len(result.charts)} figures, reference year {result.reference_year}: {result.folder}",
                  markup=False, soft_wrap=True)
    for group, reason in sorted(result.skipped.items()):
        console.print(f"not computed: {group} ({reason})", markup=False, soft_wrap=True)
    for group, note in sorted(result.partial.items()):
        console.print(f"partly computed: {group} ({note})", markup=False, soft_wrap=True)
