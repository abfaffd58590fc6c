"""`reglink keys new|show`: create an encrypted key file, show its fingerprint; and the passphrase prompt.

The passphrase comes from REGLINK_PASSPHRASE or a hidden prompt on a terminal; without either
the command stops with one line rather than waiting for input that will never come.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import typer

from linkage.cli.app import app, console, fail
from pseudonym.keys import KeyFile, create_key_file, open_key_file

PASSPHRASE_ENV = "REGLINK_PASSPHRASE"

keys = typer.Typer(help="Create and inspect encrypted key files (the project's kodnyckel).", no_args_is_help=True)
app.add_typer(keys, name="keys")


def read_passphrase(*, confirm: bool = False) -> str:
    """The passphrase from $REGLINK_PASSPHRASE, else asked (twice when `confirm`) without echo on a terminal."""
    if PASSPHRASE_ENV in os.environ:
        return os.environ[PASSPHRASE_ENV]
    if not sys.stdin.isatty():
        raise fail(f"no passphrase: set {PASSPHRASE_ENV} or run the command in a terminal")
    try:
        passphrase = getpass.getpass("Passphrase: ", stream=sys.stderr)
        if confirm and getpass.getpass("Repeat passphrase: ", stream=sys.stderr) != passphrase:
            raise fail("the two passphrases differ; nothing was written")
    except (EOFError, KeyboardInterrupt):
        raise fail("no passphrase was given") from None
    return passphrase


def open_key(path: Path) -> KeyFile:
    """Open a key file with the passphrase from the environment or the terminal."""
    return open_key_file(path, read_passphrase())


@keys.command("new")
def new(path: Path = typer.Argument(..., help="Where to write the new key file (never overwritten).")) -> None:
    """Create a key file holding a fresh random master key, encrypted under a passphrase."""
    key_file = create_key_file(path, read_passphrase(confirm=True))
    console.print(f"Created key file {key_file.path} (fingerprint {key_file.fingerprint}). Keep it apart "
                  "from the data and keep the passphrase apart from the file.", markup=False, soft_wrap=True)


@keys.command("show")
def show(path: Path = typer.Argument(..., help="The key file to check.")) -> None:
    """Print a key file's fingerprint and creation date (decrypting it checks the passphrase and the file)."""
    key_file = open_key(path)
    typer.echo(f"fingerprint: {key_file.fingerprint}")
    typer.echo(f"created:     {key_file.created:%Y-%m-%d %H:%M:%S} UTC")
