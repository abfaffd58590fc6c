"""The typer application every command module registers on, and how errors reach the user."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from codebooks import CodebookError
from linkage.errors import ReglinkError
from pseudonym import PseudonymError

app = typer.Typer(
    name="reglink",
    help="Pseudonymise, link and extract Swedish social-services register data for research.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Messages, progress and summaries go to stderr; stdout carries only what a command is asked to print.
console = Console(stderr=True, highlight=False)



def wide_console() -> Console:
    """The stderr console for tables: piped or captured output has no width of its own, so give tables room."""
    return console if console.is_terminal else Console(file=sys.stderr, width=130, highlight=False)


EXIT_USER_ERROR = 1
EXIT_INTERNAL = 70
USER_ERRORS = (ReglinkError, PseudonymError, CodebookError)


def fail(message: str, code: int = EXIT_USER_ERROR) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    return typer.Exit(_report(message, code))


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes give one line and exit 1; nothing prints register values or tracebacks."""
    try:
        app(args=argv, prog_name="reglink")  # standalone: usage errors, --help and Ctrl-C are handled there
    except USER_ERRORS as exc:
        raise SystemExit(_report(str(exc), EXIT_USER_ERROR)) from None
    except Exception as exc:  # an internal bug: its message may quote data, so only the type is shown
        if os.environ.get("REGLINK_DEBUG") == "1":  # developers on synthetic data only
            raise
        raise SystemExit(_report(
            f"internal error ({type(exc).__name__}); details are withheld because they may contain "
            "register data. Please report it.", EXIT_INTERNAL)) from None


def _report(message: str, code: int) -> int:
    console.print(f"reglink: error: {message}", markup=False, soft_wrap=True)
    sys.stderr.flush()
    return code


@app.callback()
def _root() -> None:
    """Pseudonymise, link and extract Swedish social-services register data for research."""
