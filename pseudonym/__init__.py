"""Identifiers in, pseudonyms out: personnummer handling, encrypted keys and keyed pseudonyms."""

from pseudonym.errors import PseudonymError
from pseudonym.frame import PseudonymCollision, PseudonymCounts, PseudonymisedFrame, pseudonymise_frame
from pseudonym.keys import KeyFile, KeyFileError, MasterKey, create_key_file, open_key_file
from pseudonym.kinds import Identified, classify, identify
from pseudonym.personnummer import KINDS, REASONS, InvalidPersonnummer, Personnummer, normalize, parse
from pseudonym.pseudonyms import project_key, pseudonymise, pseudonymise_many
from pseudonym.vectorized import ParsedIds, classify_many, normalize_many, parse_arrays, parse_many

__all__ = [
    "KINDS",
    "REASONS",
    "Identified",
    "KeyFile",
    "KeyFileError",
    "MasterKey",
    "InvalidPersonnummer",
    "ParsedIds",
    "PseudonymCollision",
    "PseudonymCounts",
    "PseudonymisedFrame",
    "Personnummer",
    "PseudonymError",
    "classify",
    "classify_many",
    "create_key_file",
    "identify",
    "normalize",
    "normalize_many",
    "open_key_file",
    "parse",
    "parse_arrays",
    "parse_many",
    "project_key",
    "pseudonymise",
    "pseudonymise_frame",
    "pseudonymise_many",
]
