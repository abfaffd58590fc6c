"""The `reglink` command line: each command parses options, calls one library function, prints."""

from linkage.cli import (  # noqa: F401  (registers the commands)
    audit,
    codebook,
    demo,
    extract,
    indicators,
    keys,
    link,
    pseudonymise,
    quality,
    synth,
    verify,
)
from linkage.cli.app import app, main

__all__ = ["app", "main"]
