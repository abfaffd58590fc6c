"""Identifiers in, pseudonyms out: personnummer handling, encrypted keys and keyed pseudonyms."""

from pseudonym.errors import PseudonymError

__all__ = ["PseudonymError"]
