"""Derived outcomes, each documented in a codebook with its official reference."""

from linkage.outcomes.education import eligibility
from linkage.outcomes.health import (
    concurrent_psychotropics, psychiatric_care, psychotropics, self_harm, substance_related,
)
from linkage.outcomes.placement import placement_history, populations, year9_school_year
from linkage.outcomes.school import absent_from_grade_register, completed_compulsory_school, upper_secondary_completed
from linkage.outcomes.social import death_and_emigration, lvm_by_age

__all__ = [
    "absent_from_grade_register", "completed_compulsory_school", "concurrent_psychotropics", "death_and_emigration",
    "eligibility", "lvm_by_age", "placement_history", "populations", "psychiatric_care", "psychotropics", "self_harm",
    "substance_related", "upper_secondary_completed", "year9_school_year",
]
