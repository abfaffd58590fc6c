"""What every variable means: codebook definitions, validation and rendering.

The codebook is the single source of truth for a variable's meaning, type, allowed values, derivation and disclosure
role; the extract writer asks it, never the column name, what may leave.
"""

from codebooks.codes import match_codes
from codebooks.errors import CodebookError
from codebooks.frequencies import Frequency, frequencies
from codebooks.labelled import Labelled, labelled, write_labelled
from codebooks.loading import available, available_codelists, codelist, from_dict, load, load_file, to_dict
from codebooks.model import ROLES, TYPES, Category, Codebook, CodeList, Derivation, Reference, Text, Variable, combine
from codebooks.parquet_metadata import attach_codebook, codebook_json, read_codebook
from codebooks.parsing import cast
from codebooks.render import (
    FORMATS, render, render_datapackage, render_ddi, render_html, render_markdown, render_text,
)
from codebooks.validation import Problem, ValidationReport, validate

__all__ = [
    "FORMATS", "ROLES", "TYPES",
    "Category", "CodeList", "Codebook", "CodebookError", "Derivation", "Frequency", "Labelled", "Problem",
    "Reference", "Text", "ValidationReport", "Variable",
    "attach_codebook", "available", "available_codelists", "cast", "codebook_json", "codelist", "combine",
    "frequencies", "from_dict", "labelled", "load", "load_file", "match_codes", "read_codebook", "render",
    "render_datapackage", "render_ddi", "render_html", "render_markdown", "render_text", "to_dict", "validate",
    "write_labelled",
]
