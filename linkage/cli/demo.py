"""`reglink demo`: the main job on the built-in synthetic data (what `make demo` runs)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from linkage.cli.app import app, console, wide_console
from linkage.demo import DEMO_PASSPHRASE, run_demo


@app.command("demo")
def demo(outdir: Path = typer.Argument(Path("demo-output"), help="Folder for the demo (replaced if an earlier "
                                                                   "demo made it).")) -> None:
    """Generate the default synthetic world, key it with a DEMO-ONLY key, link placements to year-9 grades and
    answer: how many placed children lack gymnasiebehörighet, beside never-placed peers?"""
    result = run_demo(outdir, progress=lambda step: console.print(f"· {step}", markup=False))
    linkage = Table(title="Linkage (records per register)", title_justify="left")
    for column in ("register", "rows_read", "rows_rejected", "duplicates_dropped", "linked_deterministic",
                   "linked_probabilistic", "unlinked"):
        linkage.add_column(column.replace("_", " "), justify="left" if column == "register" else "right")
    for row in result.linkage.itertuples():
        linkage.add_row(row.register, *(f"{getattr(row, c, 0):,}" for c in (
            "rows_read", "rows_rejected", "duplicates_dropped", "linked_deterministic", "linked_probabilistic",
            "unlinked")))
    wide_console().print(linkage)
    answer = Table(title="How many placed children lack gymnasiebehörighet? (Swedish-born, born 1998–2008)",
                   title_justify="left")
    for column in ("population", "children", "missing from grade register", "lacking behörighet (yrkesprogram)"):
        answer.add_column(column, justify="left" if column == "population" else "right")
    for row in result.answer.itertuples():
        answer.add_row(row.population, f"{row.children:,}", f"{row.missing_from_grade_register:.0%}",
                       f"{row.lacking_behorighet_yrkesprogram:.0%}")
    wide_console().print(answer)
    console.print(f"World, truth and calibration: {result.world}\nDemo key (DEMO ONLY, passphrase "
                  f"'{DEMO_PASSPHRASE}'): {result.key_file}\nRejected rows (secure zone): {result.outdir / 'secure'}",
                  markup=False, soft_wrap=True)
