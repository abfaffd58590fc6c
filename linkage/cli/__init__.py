"""The `reglink` command line: each command parses options, calls one library function, prints."""

from linkage.cli import codebook, demo, keys, link, pseudonymise, synth  # noqa: F401  (registers the commands)
from linkage.cli.app import app, main

__all__ = ["app", "main"]
