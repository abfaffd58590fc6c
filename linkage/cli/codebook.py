"""`reglink codebook` commands: list, show, render and validate against the codebooks."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

import codebooks
from linkage.atomic import atomic_file
from linkage.cli.app import app, fail
from linkage.io import read_table

codebook_app = typer.Typer(help="Codebooks: what every variable means, and files checked against them.",
                           no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")


def resolve(name: str) -> codebooks.Codebook:
    """A shipped codebook by name, or a user's own codebook from a YAML file path."""
    if name.endswith((".yaml", ".yml")):
        return codebooks.load_file(Path(name))
    return codebooks.load(name)


@codebook_app.command("list")
def list_codebooks() -> None:
    """List the shipped codebooks with their English titles."""
    names = codebooks.available()
    width = max(map(len, names))
    sys.stdout.write("".join(f"{name:<{width}}  {codebooks.load(name).title.en}\n" for name in names))


@codebook_app.command()
def show(name: str = typer.Argument(..., help="Codebook name (see `reglink codebook list`) or a YAML file.")) -> None:
    """Print a codebook's variables as a table."""
    sys.stdout.write(codebooks.render_text(resolve(name)))


@codebook_app.command()
def render(
    name: str = typer.Argument(..., help="Codebook name or a YAML file."),
    format: str = typer.Option(..., "--format", help=f"One of: {', '.join(codebooks.FORMATS)}."),
    out: Path = typer.Option(..., "--out", help="File to write (replaced atomically if it exists)."),
) -> None:
    """Render a codebook as Markdown, HTML, a Frictionless datapackage.json or DDI-Codebook 2.5 XML."""
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
