"""What every variable means: codebook definitions, validation and rendering."""

from codebooks.errors import CodebookError

__all__ = ["CodebookError"]
