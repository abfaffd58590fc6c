"""`reglink keys new|show|rotate`: create an encrypted key file, show its fingerprint, rotate to a new key; and
the passphrase prompt.

The passphrase comes from REGLINK_PASSPHRASE or a hidden prompt on a terminal; without either
the command stops with one line rather than waiting for input that will never come. `rotate` opens two
keys: the new key's passphrase comes from REGLINK_NEW_PASSPHRASE or its own prompt.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from linkage.cli.app import app, console, fail

if TYPE_CHECKING:
    from pseudonym.keys import KeyFile

PASSPHRASE_ENV = "REGLINK_PASSPHRASE"
NEW_PASSPHRASE_ENV = "REGLINK_NEW_PASSPHRASE"

keys = typer.Typer(help="Create and inspect encrypted key files (the project's kodnyckel).", no_args_is_help=True)
app.add_typer(keys, name="keys")


def read_passphrase(*, confirm: bool = False, variable: str = PASSPHRASE_ENV, prompt: str = "Passphrase: ") -> str:
    """The passphrase from $`variable`, else asked (twice when `confirm`) without echo on a terminal."""
    if variable in os.environ:
        return os.environ[variable]
    if not sys.stdin.isatty():
        raise fail(f"no passphrase: set {variable} or run the command in a terminal")
    try:
        passphrase = getpass.getpass(prompt, stream=sys.stderr)
        if confirm and getpass.getpass("Repeat passphrase: ", stream=sys.stderr) != passphrase:
            raise fail("the two passphrases differ; nothing was written")
    except (EOFError, KeyboardInterrupt):
        raise fail("no passphrase was given") from None
    return passphrase


def open_key(path: Path, *, variable: str = PASSPHRASE_ENV, prompt: str = "Passphrase: ") -> KeyFile:
    """Open a key file with the passphrase from $`variable` or the terminal."""
    from pseudonym.keys import open_key_file

    return open_key_file(path, read_passphrase(variable=variable, prompt=prompt))


@keys.command("new")
def new(path: Path = typer.Argument(..., help="Where to write the new key file (never overwritten).")) -> None:
    """Create a key file holding a fresh random master key, encrypted under a passphrase."""
    from pseudonym.keys import create_key_file

    key_file = create_key_file(path, read_passphrase(confirm=True))
    console.print(f"Created key file {key_file.path} (fingerprint {key_file.fingerprint}). Keep it apart "
                  "from the data and keep the passphrase apart from the file.", markup=False, soft_wrap=True)


@keys.command("show")
def show(path: Path = typer.Argument(..., help="The key file to check.")) -> None:
    """Print a key file's fingerprint and creation date (decrypting it checks the passphrase and the file)."""
    key_file = open_key(path)
    typer.echo(f"fingerprint: {key_file.fingerprint}")
    typer.echo(f"created:     {key_file.created:%Y-%m-%d %H:%M:%S} UTC")


@keys.command("rotate", epilog=(
    f"Passphrases: the old key's from {PASSPHRASE_ENV}, the new key's from {NEW_PASSPHRASE_ENV}; where a "
    "variable is not set, each is asked for on the terminal (old first, then new)."))
def rotate(
    old: Path = typer.Option(..., help="The key file in use so far."),
    new: Path = typer.Option(..., help="The key file to move to (create it first with `reglink keys new`)."),
    project: str = typer.Option(..., help="Project id whose pseudonyms are carried over."),
    data: Path = typer.Option(..., help="Data folder holding the population register (and personnummer changes)."),
    secure: Path = typer.Option(..., help="Secure working folder for the crosswalk; never an extract."),
) -> None:
    """Write an old → new pseudonym crosswalk for --project into --secure (never an extract).

    Follow-up deliveries under the new key can then be joined to earlier ones without re-identifying anyone.
    """
    import pyarrow.parquet as pq

    from linkage.rotate import rotate_keys

    old_key = open_key(old, prompt=f"Passphrase for {old.name} (old key): ")
    new_key = open_key(new, variable=NEW_PASSPHRASE_ENV, prompt=f"Passphrase for {new.name} (new key): ")
    path = rotate_keys(data, old_key=old_key.master_key, new_key=new_key.master_key, project=project,
                       secure_dir=secure)
    rows = pq.read_metadata(path).num_rows
    console.print(f"Wrote the crosswalk of {rows:,} pseudonym(s) ({old_key.fingerprint} → {new_key.fingerprint}) to "
                  f"{path}. It links deliveries under both keys: keep it in the secure area, never in an extract.",
                  markup=False, soft_wrap=True)
