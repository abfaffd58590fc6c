"""`reglink audit verify LOG`: check the audit log's hash chain (no line edited, removed or reordered)."""

from __future__ import annotations

from pathlib import Path

import typer

from linkage.cli.app import app

audit_app = typer.Typer(help="The audit log of extract runs.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(log: Path = typer.Argument(..., help="The audit log (audit.jsonl in the secure working area).")) -> None:
    """Check every line's hash and its link to the line before; a broken chain is an error naming the line."""
    from linkage.extract.audit import verify_audit

    entries = verify_audit(log)
    typer.echo(f"ok: {entries} entries, chain intact")
