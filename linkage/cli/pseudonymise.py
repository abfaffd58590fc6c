"""`reglink pseudonymise`: replace a file's identifier column by the project pseudonym."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from linkage.cli.app import app, console
from linkage.cli.keys import open_key

if TYPE_CHECKING:
    from linkage.pseudonymise import PseudonymisedFile


@app.command("pseudonymise")
def pseudonymise(
    input: Path = typer.Argument(..., help="Register file (CSV , or ;, UTF-8 or latin-1/cp1252; Parquet; Stata; SAS)."),
    output: Path = typer.Argument(..., help="Pseudonymised file to write (.parquet or .csv; never overwritten)."),
    column: str = typer.Option(..., help="The column holding personnummer / samordningsnummer."),
    key: Path = typer.Option(..., help="Encrypted key file (see `reglink keys new`)."),
    project: str = typer.Option(..., help="Project id: 1-64 of A-Z a-z 0-9 . _ - (pseudonyms differ per project)."),
    reference_date: str | None = typer.Option(
        None, help="YYYY-MM-DD date against which 10-digit numbers get their century (default: today)."),
    reference_date_column: str | None = typer.Option(
        None, help="Column holding each row's reference date (e.g. the decision date), YYYY-MM-DD."),
    rejects: Path | None = typer.Option(
        None, help="CSV for rejected rows (raw values: secure zone only). Default: <INPUT>.rejects.csv."),
    workers: int = typer.Option(1, min=1, help="Threads sharing the work."),
) -> None:
    """Pseudonymise INPUT's --column for --project into OUTPUT; rejected rows go to the rejects file."""
    from linkage.pseudonymise import pseudonymise_file

    master_key = open_key(key).master_key
    with Progress(TextColumn("pseudonymising"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("rows", total=None)
        result = pseudonymise_file(
            input, output, column=column, key=master_key, project=project, reference_date=reference_date,
            reference_date_column=reference_date_column, rejects=rejects, workers=workers,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    console.print(summary(result))
    if result.rejects is not None:
        console.print(f"{result.counts.rejected_total:,} rejected row(s) written to {result.rejects} "
                      "(raw values: keep it in the secure zone)", markup=False, soft_wrap=True)


def summary(result: PseudonymisedFile) -> Table:
    """The closing table: rows read, pseudonymised, kept without pseudonym by kind, rejected by reason."""
    counts = result.counts
    table = Table(title=f"Pseudonymised → {result.output}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("rows read", f"{counts.rows:,}")
    table.add_row("pseudonymised", f"{counts.pseudonymised:,}")
    table.add_row("  of which samordningsnummer", f"{counts.samordningsnummer:,}")
    for kind, n in counts.kept.items():
        table.add_row(f"kept without pseudonym: {kind}", f"{n:,}")
    for reason, n in counts.rejected.items():
        table.add_row(f"rejected: {reason}", f"{n:,}")
    return table
