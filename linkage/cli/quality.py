"""`reglink quality`: link a data folder's registers and report how well the linkage went."""

from __future__ import annotations

from pathlib import Path

import typer

from linkage.cli.app import app, console, stage_progress
from linkage.cli.keys import open_key


@app.command("quality")
def quality(
    data: Path = typer.Argument(..., help="Folder of register files (the layout `reglink synth` writes)."),
    key: Path = typer.Option(..., help="The encrypted key file (passphrase: $REGLINK_PASSPHRASE or a prompt)."),
    project: str = typer.Option(..., help="Project id: 1-64 of A-Z a-z 0-9 . _ - (pseudonyms differ per project)."),
    secure: Path | None = typer.Option(None, help="Secure working area for rejected rows (raw values) "
                                                  "(default: the key file's folder)."),
    truth: Path | None = typer.Option(None, help="A synthetic world's truth/ folder: adds precision and recall "
                                                 "per register, identifier kind and subgroup."),
    out: Path | None = typer.Option(None, help="Write the report (Markdown) here, never over an existing file "
                                               "(default: print it on stdout)."),
    k: int = typer.Option(5, min=1, help="Smallest count shown; smaller ones are shown as <k."),
    workers: int = typer.Option(1, min=1, help="Threads for ingesting large registers."),
) -> None:
    """Link DATA's registers (deterministically, then by evidence) and report records linked per register and
    identifier kind; small cells suppressed; with --truth, precision, recall and under-linkage by subgroup."""
    from linkage.quality import linkage_quality

    master = open_key(key).master_key
    with stage_progress() as progress:
        report = linkage_quality(data, key=master, project=project, secure=secure or key.parent, truth=truth, k=k,
                                 workers=workers, out=out,
                                 progress=lambda step, steps, name: progress(name, step, steps))
    if out is None:
        typer.echo(report.markdown, nl=False)
    else:
        console.print(f"Wrote the linkage quality report to {out}", markup=False, soft_wrap=True)
