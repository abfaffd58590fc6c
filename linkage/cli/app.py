"""The typer application every command module registers on, and how errors reach the user."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from linkage.errors import ReglinkError

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


@contextlib.contextmanager
def stage_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A `progress(stage, done, total)` callback: a bar on a terminal, silence otherwise (so a failing run's
    stderr is its one error line). Stages are names of steps, never data."""
    if not console.is_terminal:
        yield lambda stage, done, total: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("starting", total=1)
        yield lambda stage, done, total: bar.update(task, description=stage, completed=done, total=total)


EXIT_USER_ERROR = 1
EXIT_INTERNAL = 70


def user_errors() -> tuple[type[Exception], ...]:
    """The errors a user can cause and fix (imported here, not at start-up: the packages load pandas)."""
    from codebooks.errors import CodebookError
    from pseudonym.errors import PseudonymError

    return ReglinkError, PseudonymError, CodebookError


def fail(message: str, code: int = EXIT_USER_ERROR) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    return typer.Exit(_report(message, code))


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes give one line and exit 1; nothing prints register values or tracebacks."""
    try:
        app(args=argv, prog_name="reglink")  # standalone: usage errors, --help and Ctrl-C are handled there
    except Exception as exc:
        if isinstance(exc, user_errors()):
            raise SystemExit(_report(str(exc), EXIT_USER_ERROR)) from None
        if os.environ.get("REGLINK_DEBUG") == "1":  # an internal bug; developers on synthetic data only
            raise  # otherwise its message may quote data, so only the type is shown
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
