"""Code groups: ICD-10 ranges over the leading characters, ATC groups as prefixes."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

import codebooks
from codebooks import CodebookError


def test_icd10_ranges_match_on_the_leading_characters():
    codes = pd.Series(["F321", "F10", "f19.2", "F20", "X609", "X85", "Y10", "Y349", None, "F"])
    assert codebooks.match_codes(codes, ["F10-F19"]).tolist() == [False, True, True] + [False] * 7
    assert codebooks.match_codes(codes, ["X60-X84", "Y10-Y34"]).tolist() == [
        False, False, False, False, True, False, True, True, False, False]
    assert codebooks.match_codes(codes, ["F00-F99"]).tolist() == [True, True, True, True] + [False] * 6


def test_atc_groups_match_as_prefixes():
    codes = pa.array(["N06AB06", "N06BA04", "N05CH01", "N07BB03", None])
    assert codebooks.match_codes(codes, ["N06A", "N05C"]).tolist() == [True, False, True, False, False]


def test_every_group_a_health_outcome_uses_holds_its_own_first_code():
    for variable in codebooks.load("health_outcomes").variables:
        for _list, groups in variable.derivation.codes:
            for group in groups:
                first = group.split("-")[0]
                assert codebooks.match_codes(pd.Series([first, "Q"]), [group]).tolist() == [True, False], group


def test_malformed_groups_are_refused():
    with pytest.raises(CodebookError, match="both ends need the same number of characters"):
        codebooks.match_codes(pd.Series(["F10"]), ["F1-F199"])
