"""Registers in, linked, derived and minimised research extracts out."""

__version__ = "0.1.0"
