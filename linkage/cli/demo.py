"""`reglink demo`: the main job on the built-in synthetic data (what `make demo` runs)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from linkage.cli.app import app, console, stage_progress, wide_console


@app.command("demo")
def demo(outdir: Path = typer.Argument(Path("demo-output"), help="Folder for the demo (replaced if an earlier "
                                                                   "demo made it).")) -> None:
    """Generate the default synthetic world, key it with a DEMO-ONLY key, run the example request into a verified
    extract and answer: how many placed children lack gymnasiebehörighet, beside never-placed peers?"""
    from linkage.demo import DEMO_PASSPHRASE, run_demo

    with stage_progress() as progress:
        result = run_demo(outdir, progress=progress)
    linkage = Table(title="Linkage (records per register)", title_justify="left")
    for column in ("register", "rows_read", "rows_rejected", "duplicates_dropped", "linked_deterministic",
                   "linked_probabilistic", "unlinked"):
        linkage.add_column(column.replace("_", " "), justify="left" if column == "register" else "right")
    for row in result.extract.linkage.itertuples():
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
    console.print(f"Extract (verified: {result.verified.files} files, {result.verified.rows:,} rows): "
                  f"{result.extract.path}\nRequest: {result.request}\nWorld, truth and calibration: {result.world}\n"
                  f"Demo key (DEMO ONLY, passphrase '{DEMO_PASSPHRASE}'): {result.key_file}\n"
                  f"Secure zone (rejects, audit log): {result.outdir / 'secure'}", markup=False, soft_wrap=True)
