"""Identifiers in, pseudonyms out: personnummer handling, encrypted keys and keyed pseudonyms."""

from pseudonym.errors import PseudonymError
from pseudonym.kinds import Identified, classify, identify
from pseudonym.personnummer import KINDS, REASONS, InvalidPersonnummer, Personnummer, normalize, parse
from pseudonym.vectorized import ParsedIds, classify_many, normalize_many, parse_arrays, parse_many

__all__ = [
    "KINDS",
    "REASONS",
    "Identified",
    "InvalidPersonnummer",
    "ParsedIds",
    "Personnummer",
    "PseudonymError",
    "classify",
    "classify_many",
    "identify",
    "normalize",
    "normalize_many",
    "parse",
    "parse_arrays",
    "parse_many",
]
