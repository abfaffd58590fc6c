"""Derived outcomes, each documented in a codebook with its official reference."""

from linkage.outcomes.education import eligibility

__all__ = ["eligibility"]
