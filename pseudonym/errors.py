"""The pseudonym package's exceptions: each message names a reason, never an identifier's value."""


class PseudonymError(Exception):
    """Base of every error raised by `pseudonym`."""
