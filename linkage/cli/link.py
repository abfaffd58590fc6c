"""`reglink link`: probabilistic linkage of two tables (Fellegi–Sunter, m/u estimated by EM, no labels)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from linkage.cli.app import app, console

if TYPE_CHECKING:
    from linkage.probabilistic import LinkedFiles


@app.command("link")
def link(
    left: Path = typer.Argument(..., help="Left table (CSV or Parquet; also Stata/SAS/SPSS)."),
    right: Path = typer.Argument(..., help="Right table."),
    config: Path = typer.Option(..., help="Linkage configuration (YAML): blocking, comparisons, threshold, ..."),
    out: Path = typer.Option(..., help="Pairs to write (.parquet or .csv): left, right (0-based row positions "
                                       "in LEFT and RIGHT, header not counted), probability, weight."),
    review: Path | None = typer.Option(None, help="Pairs for clerical review (review band and ambiguous "
                                                  "candidates), same columns plus reason."),
    model: Path | None = typer.Option(None, help="Trained model (JSON from --model-out) to use instead of EM."),
    model_out: Path | None = typer.Option(None, help="Write the fitted model (m/u per level) as JSON."),
    overwrite: bool = typer.Option(False, help="Replace output files that exist already."),
) -> None:
    """Link LEFT and RIGHT: write the links to --out and print counts on stderr."""
    from linkage.probabilistic import link_files

    console.print(summary(link_files(left, right, config=config, out=out, review=review, model=model,
                                     model_out=model_out, overwrite=overwrite)))


def summary(files: LinkedFiles) -> Table:
    """Candidate pairs per blocking pass, links, review pairs and ambiguous candidates left unlinked."""
    stats, model = files.result.stats, files.result.model
    table = Table(title=f"Linked → {files.out}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("candidate pairs", f"{stats.candidate_pairs:,}")
    for p in stats.passes:
        table.add_row(f"  pass {' + '.join(p.fields)} (new / agreeing)", f"{p.new_pairs:,} / {p.pairs:,}")
    table.add_row("links", f"{stats.links:,}")
    table.add_row("review pairs" + ("" if files.review else " (not written: no --review)"), f"{stats.review_pairs:,}")
    table.add_row("ambiguous pairs, left unlinked", f"{stats.ambiguous_pairs:,}")
    table.add_row("  left / right records involved", f"{stats.ambiguous_left:,} / {stats.ambiguous_right:,}")
    for name, n in stats.unparsed.items():
        table.add_row(f"values of {name} not readable as its type", f"{n:,}")
    fitted = f"EM, {model.iterations} iterations" + ("" if model.converged else " (not converged)")
    source = f"given ({files.model.name})" if files.model else fitted
    table.caption = f"model: {source}; prior match share {model.prior:.4g}"
    table.caption_justify = "left"
    return table
