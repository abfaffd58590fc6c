"""Answers for analysts: Öppna jämförelser-style indicators from an extract, in Kolada's shape, with disclosure
control, figures and a report (issue 7).

    indicators = compute_indicators(persons, placements, measures, rules=Rules(reference_year=2025))
    write_indicators("extract/", "indicators/")   # indicators.csv/.parquet, kpis.csv, figures/, report.html
"""

from linkage.indicators.compute import (
    COLUMNS,
    Rules,
    compute_indicators,
    partial_indicators,
    skipped_indicators,
    wilson_interval,
)
from linkage.indicators.definitions import definitions, kpis
from linkage.indicators.plots import Chart, comparison_chart, kommun_chart, kommun_charts, shown, trend_chart
from linkage.indicators.report import (
    Extract,
    IndicatorsResult,
    count_summary,
    read_extract,
    render_html,
    share_summary,
    write_indicators,
)
from linkage.indicators.suppression import protect, recoverable, sensitive

__all__ = [
    "COLUMNS", "Chart", "Extract", "IndicatorsResult", "Rules", "comparison_chart", "compute_indicators",
    "count_summary", "definitions", "kommun_chart", "kommun_charts", "kpis", "partial_indicators", "protect",
    "read_extract", "recoverable", "render_html", "sensitive", "share_summary", "shown", "skipped_indicators",
    "trend_chart", "wilson_interval", "write_indicators",
]
