"""The codebooks package's exceptions."""


class CodebookError(Exception):
    """A codebook that cannot be found, loaded or applied; the message never quotes data values."""
