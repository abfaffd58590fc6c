"""`reglink codebook` commands: list, show, render and validate against the codebooks."""

from __future__ import annotations

import sys
from pathlib import Path

from typing import TYPE_CHECKING

import typer

from linkage.cli.app import app, fail

if TYPE_CHECKING:
    import codebooks

#: The formats `codebooks.render` writes (kept equal to codebooks.FORMATS by a test; named here so that --help
#: does not load the codebooks package and pandas).
FORMATS = ("md", "html", "datapackage", "ddi")

codebook_app = typer.Typer(help="Codebooks: what every variable means, and files checked against them.",
                           no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")


def resolve(name: str) -> codebooks.Codebook:
    """A shipped codebook by name, or a user's own codebook from a YAML file path."""
    import codebooks

    if name.endswith((".yaml", ".yml")):
        return codebooks.load_file(Path(name))
    return codebooks.load(name)


@codebook_app.command("list")
def list_codebooks() -> None:
    """List the shipped codebooks with their English titles."""
    import codebooks

    names = codebooks.available()
    width = max(map(len, names))
    sys.stdout.write("".join(f"{name:<{width}}  {codebooks.load(name).title.en}\n" for name in names))


@codebook_app.command()
def show(name: str = typer.Argument(..., help="Codebook name (see `reglink codebook list`) or a YAML file.")) -> None:
    """Print a codebook's variables as a table."""
    import codebooks

    sys.stdout.write(codebooks.render_text(resolve(name)))


@codebook_app.command()
def render(
    name: str = typer.Argument(..., help="Codebook name or a YAML file."),
    format: str = typer.Option(..., "--format", help=f"One of: {', '.join(FORMATS)}."),
    out: Path = typer.Option(..., "--out", help="File to write (replaced atomically if it exists)."),
) -> None:
    """Render a codebook as Markdown, HTML, a Frictionless datapackage.json or DDI-Codebook 2.5 XML."""
    import codebooks
    from linkage.atomic import atomic_file

    data = codebooks.render(resolve(name), format)
    with atomic_file(out) as tmp:
        tmp.write_bytes(data)
    typer.echo(f"wrote {out}", err=True)


@codebook_app.command()
def validate(
    file: Path = typer.Argument(..., help="Register file: CSV, Parquet, Stata, SAS or SPSS."),
    codebook: str = typer.Option(..., "--codebook", help="Codebook name or a YAML file."),
) -> None:
    """Check a file against a codebook; prints counts and row numbers, never values. Exit 1 if it does not match."""
    import codebooks
    from linkage.io import read_table

    chosen = resolve(codebook)
    result = read_table(file)
    report = codebooks.validate(result.table, chosen)
    sys.stdout.write(report.to_text())
    problems = len(report.issues)
    if result.bad_lines:
        problems += 1
        sys.stdout.write(f"  {len(result.bad_lines):,} line(s) with the wrong number of fields "
                         f"(first: line {result.bad_lines[0]}), not checked\n")
    sys.stdout.flush()
    if problems:
        raise fail(f"{file} does not match codebook {chosen.name}: {problems} problems")
