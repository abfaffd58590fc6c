"""`reglink verify EXTRACT`: re-check an extract against its manifest (checksums, row counts, nothing extra)."""

from __future__ import annotations

from pathlib import Path

import typer

from linkage.cli.app import app


@app.command()
def verify(extract: Path = typer.Argument(..., help="The extract folder (the one holding manifest.json).")) -> None:
    """Check every file of an extract against its manifest.json; any difference is an error naming the file."""
    from linkage.extract.manifest import verify_extract

    result = verify_extract(extract)
    typer.echo(f"ok: {result.files} files, {result.rows} rows verified")
