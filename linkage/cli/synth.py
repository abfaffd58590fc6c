"""`reglink synth`: write a synthetic world of linked Swedish registers, with its ground truth and calibration."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from linkage.cli.app import app, console, fail, wide_console

if TYPE_CHECKING:
    from linkage.synth import Calibration


@app.command("synth")
def synth(
    outdir: Path = typer.Argument(..., help="Folder to create for the world (must not exist, or be empty)."),
    children: int = typer.Option(
        20000, help="Persons in the birth cohorts (default 20000, what `make demo` and the tests use; "
                    "national scale, 10-11 cohorts, is about 1200000)."),
    birth_years: str = typer.Option("1998-2008", help="Birth cohorts FIRST-LAST, inclusive."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives byte-identical files."),
    end_date: str = typer.Option("2025-12-31", help="The world's last day, YYYY-MM-DD."),
) -> None:
    """Write a synthetic world to OUTDIR: population, placement, school, health, LVM and provider registers as
    the registers deliver them (identifier mess included), truth/ for evaluating linkage, and calibration.json."""
    from linkage.synth import generate_world

    years = _birth_years(birth_years)
    last_day = _date(end_date)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("synthetic world", total=None)
        calibration = generate_world(
            outdir, children=children, birth_years=years, seed=seed, end_date=last_day,
            progress=lambda done, total, step: bar.update(task, completed=done, total=total, description=step))
    wide_console().print(calibration_table(calibration, outdir))


def _birth_years(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*", text)
    if not match or int(match.group(1)) > int(match.group(2)):
        raise fail("--birth-years must be FIRST-LAST, e.g. 1998-2008, with FIRST <= LAST")
    return int(match.group(1)), int(match.group(2))


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail("--end-date must be a date YYYY-MM-DD") from None


def calibration_table(calibration: Calibration, outdir: Path) -> Table:
    """Achieved | target | source section, one row per figure (✗ where the achieved value is outside its range);
    calibration.json has the full source texts."""
    table = Table(title=f"Synthetic world → {outdir} (calibration.json)", title_justify="left")
    table.add_column("figure", no_wrap=True)
    table.add_column("achieved", justify="right", no_wrap=True)
    table.add_column("target", justify="right")
    table.add_column("source", overflow="fold")
    for figure in calibration.figures:
        target = "" if figure.target is None else _number(figure.target)
        if figure.low is not None and figure.high is not None:
            target += f" ({_number(figure.low)}–{_number(figure.high)})"
        mark = {True: "", False: " ✗", None: ""}[figure.within]
        section = re.search(r"§[0-9.]*[0-9]", figure.source)
        table.add_row(figure.name, _number(figure.achieved) + mark, target.strip(),
                      section.group(0) if section else figure.source)
    return table


def _number(value: float | None) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"
