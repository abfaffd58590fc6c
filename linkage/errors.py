"""Errors a user can cause and fix: the CLI prints their message as one line and exits non-zero.

Messages name the file, row, column and reason, never a value from the data.
"""


class ReglinkError(Exception):
    """Base of every error reglink reports to a user as one line."""


class InputError(ReglinkError):
    """An input file that cannot be read as asked: missing, empty, unreadable, malformed."""


class OutputError(ReglinkError):
    """An output that cannot be written: exists already, locked, disk full."""
