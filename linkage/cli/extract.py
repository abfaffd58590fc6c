"""`reglink extract`: an approved request in, a minimised, disclosure-checked, verifiable extract out."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from linkage.cli.app import app, console, fail, stage_progress, wide_console
from linkage.cli.keys import open_key


@app.command("extract")
def extract(
    request: Path = typer.Argument(..., help="The request file (YAML); with --example, where to write an example."),
    data: Path = typer.Option(None, "--data", help="Folder of register files (the layout `reglink synth` writes)."),
    key: Path = typer.Option(None, "--key", help="The encrypted key file (passphrase: $REGLINK_PASSPHRASE or a "
                                                 "prompt)."),
    out: Path = typer.Option(None, "--out", help="The new extract folder (never overwritten)."),
    secure: Path = typer.Option(None, "--secure", help="Secure working area for rejects, the audit log and the code "
                                                       "key [default: the key file's folder]."),
    exclude: Path = typer.Option(None, "--exclude", help="Exclusion list: personnummer whose records are withheld."),
    workers: int = typer.Option(1, "--workers", min=1, help="Threads for ingesting large registers."),
    example: bool = typer.Option(False, "--example", help="Write an example request to REQUEST and stop."),
) -> None:
    """Build the extract REQUEST asks for: link, derive, minimise, check disclosure, write, scan, publish."""
    from linkage.changes import load_changes
    from linkage.exclusion import load_exclusions
    from linkage.extract.pipeline import build_extract
    from linkage.extract.request import load_request, write_example

    if example:
        write_example(request)
        console.print(f"Wrote an example request to {request}", markup=False, soft_wrap=True)
        return
    missing = [name for name, value in (("--data", data), ("--key", key), ("--out", out)) if value is None]
    if missing:
        raise fail(f"missing option(s) {', '.join(missing)}; see `reglink extract --help`")
    parsed = load_request(request)  # every request error before the passphrase is asked for
    exclusions = load_exclusions(exclude) if exclude else None
    key_file = open_key(key)
    withhold = (exclusions.pseudonyms(key_file.master_key, parsed.project, changes=load_changes(data))
                if exclusions else frozenset())
    with stage_progress() as progress:
        result = build_extract(parsed, data_dir=data, key=key_file, out=out, secure_dir=secure or key.parent,
                               withhold=withhold, workers=workers, progress=progress)
    summary = Table(title=f"Extract {result.path}", title_justify="left")
    summary.add_column("table")
    summary.add_column("rows", justify="right")
    for name, rows in result.rows.items():
        summary.add_row(name, f"{rows:,}")
    wide_console().print(summary)
    check = result.disclosure
    console.print(f"Disclosure (k = {check.k}, action {check.action}): {check.before.classes_below_k} classes below k "
                  f"before, {check.after.classes_below_k} after. Reports: {result.path / 'reports'}", markup=False,
                  soft_wrap=True)
    typer.echo(str(result.path))
