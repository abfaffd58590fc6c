"""A user's own codebook YAML is checked strictly: every mistake is one error naming the file, variable and key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import codebooks
from codebooks import CodebookError

HEADER = """\
name: my_study
title: {sv: Min studie, en: My study}
register: Eget register
description: {sv: Beskrivning., en: Description.}
version: "1"
source: Forskargruppen
access: {sv: Endast projektet., en: The project only.}
"""


def write(tmp_path: Path, variables: str, *, extra: str = "") -> Path:
    path = tmp_path / "my_study.yaml"
    path.write_text(HEADER + extra + "variables:\n" + variables, encoding="utf-8")
    return path


def test_a_users_codebook_may_define_its_own_code_lists_and_use_shipped_ones(tmp_path):
    path = write(tmp_path, """\
  - name: skola
    label: {sv: Skola, en: School}
    type: categorical
    codelist: skoltyp
    role: other
  - name: hemkommun
    label: {sv: Hemkommun, en: Home municipality}
    type: categorical
    codelist: kommun
    role: quasi_identifier
    required: true
  - name: start
    label: {sv: Start, en: Start}
    type: date
    role: other
    minimum: 2000-01-01
""", extra="""\
date_format: "%Y%m%d"
codelists:
  - name: skoltyp
    title: {sv: Skoltyp, en: School type}
    codes:
      - {code: "1", sv: Kommunal, en: Municipal}
      - {code: "2", sv: Fristående, en: Independent}
""")
    codebook = codebooks.load_file(path)
    assert codebook.variable("skola").codes == ("1", "2")
    assert len(codebook.variable("hemkommun").categories) == 290
    assert codebook.variable("start").date_format == "%Y%m%d"
    assert codebook.variable("start").minimum == dt.date(2000, 1, 1)
    assert codebook.variable("skola").source == "Eget register"
    assert [c.name for c in codebook.codelists] == ["kommun", "lan", "skoltyp"]


@pytest.mark.parametrize(("variables", "expected"), [
    ("  - name: a\n    label: {sv: A, en: A}\n    type: string\n    role: other\n    colour: red\n",
     r"my_study.yaml: variable 'a': key 'colour': unknown key"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: text\n    role: other\n",
     r"variable 'a': key 'type': must be one of string, integer"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: string\n    role: secret\n",
     r"variable 'a': key 'role': must be one of direct_identifier"),
    ("  - name: a\n    label: {sv: A}\n    type: string\n    role: other\n",
     r"variable 'a': key 'label': must give exactly 'sv' and 'en'"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: string\n    role: other\n    required: yes please\n",
     r"variable 'a': key 'required': must be true or false"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: string\n    role: other\n"
     "  - name: a\n    label: {sv: B, en: B}\n    type: string\n    role: other\n",
     r"variable 'a': key 'name': defined more than once"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: categorical\n    role: other\n"
     "    categories:\n      - {code: 1, sv: Ett, en: One}\n",
     r"variable 'a': key 'categories': code 1 must be a text"),
    ("  - name: land\n    label: {sv: A, en: A}\n    type: categorical\n    role: other\n"
     "    categories:\n      - {code: NO, sv: Norge, en: Norway}\n",
     r"variable 'land': key 'categories': code False must be a text"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: integer\n    role: other\n"
     "    categories:\n      - {code: \"1\", sv: Ett, en: One}\n",
     r"variable 'a': key 'categories': code '1' must be an integer"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: categorical\n    role: other\n    pattern: \"[0-9]{2}\"\n"
     "    categories:\n      - {code: \"1\", sv: Ett, en: One}\n",
     r"variable 'a': key 'categories': code '1' does not match the variable's pattern"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: categorical\n    role: other\n    codelist: nosuch\n",
     r"variable 'a': key 'codelist': unknown code list 'nosuch'"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: categorical\n    role: other\n",
     r"variable 'a': key 'type': a categorical variable needs 'categories' or a 'codelist'"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: integer\n    role: other\n    minimum: low\n",
     r"variable 'a': key 'minimum': must be an integer"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: integer\n    role: other\n    minimum: 5\n    maximum: 1\n",
     r"variable 'a': key 'maximum': is below the minimum"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: date\n    role: other\n    date_format: \"%d/%m\"\n",
     r"variable 'a': key 'date_format': must be a strftime format with %Y, %m and %d"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: string\n    role: other\n    decimal: \",\"\n",
     r"variable 'a': key 'decimal': only number variables"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: string\n    role: other\n    pattern: \"([0-9]\"\n",
     r"variable 'a': key 'pattern': is not a usable regular expression"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: boolean\n    role: other\n"
     "    derivation:\n      rule: {sv: R, en: R}\n      codes: {icd10_grupp: [F99-F99]}\n",
     r"variable 'a': key 'derivation.codes.icd10_grupp': code\(s\) F99-F99 are not in the list"),
    ("  - name: Bad-Name\n    label: {sv: A, en: A}\n    type: string\n    role: other\n",
     r"variable 'Bad-Name': key 'name': must be lower case letters"),
    ("  - name: a\n    label: {sv: A, en: A}\n    type: string\n    role: other\n    label: {sv: B, en: B}\n",
     r"my_study.yaml: line 13: key 'label' appears twice in one mapping"),
])
def test_mistakes_in_a_codebook_name_the_file_the_variable_and_the_key(tmp_path, variables, expected):
    with pytest.raises(CodebookError, match=expected):
        codebooks.load_file(write(tmp_path, variables))


def test_codebook_level_mistakes_name_the_key(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(HEADER.replace("version: \"1\"\n", "") + "variables: []\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"broken.yaml: key 'version': required in a codebook"):
        codebooks.load_file(path)
    path.write_text(HEADER + "variables: []\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"key 'variables': the codebook has no variables"):
        codebooks.load_file(path)
    path.write_text("just: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"broken.yaml: line \d+:"):
        codebooks.load_file(path)
    with pytest.raises(CodebookError, match=r"missing.yaml: no such codebook file"):
        codebooks.load_file(tmp_path / "missing.yaml")


def test_code_list_groups_must_point_at_existing_codes(tmp_path):
    path = write(tmp_path, "  - name: a\n    label: {sv: A, en: A}\n    type: categorical\n    codelist: zon\n"
                           "    role: other\n", extra="""\
codelists:
  - name: zon
    title: {sv: Zon, en: Zone}
    groups: lan
    codes:
      - {code: "N", sv: Norr, en: North, group: "99"}
""")
    with pytest.raises(CodebookError, match=r"code list 'zon': code 'N': key 'group': '99' is not a code of 'lan'"):
        codebooks.load_file(path)


def test_select_and_combine_build_an_extracts_codebook_from_parts():
    cohort = codebooks.load("cohort").select(["pseudonym_id", "kon", "kommun"])
    assert cohort.names == ("pseudonym_id", "kon", "kommun")
    assert [c.name for c in cohort.codelists] == ["kommun", "kon", "lan"]
    combined = codebooks.combine("persons", codebooks.Text(sv="Personer", en="Persons"),
                                 [cohort, codebooks.load("health_outcomes").select(["sjalvskada"])])
    assert combined.names == ("pseudonym_id", "kon", "kommun", "sjalvskada")
    assert combined.variable("sjalvskada").derivation is not None
    assert "icd10_grupp" in [c.name for c in combined.codelists]
    assert codebooks.from_dict(codebooks.to_dict(combined)) == combined
    with pytest.raises(CodebookError, match="variable 'pseudonym_id' is in both 'cohort' and 'cohort'"):
        codebooks.combine("x", codebooks.Text(sv="X", en="X"), [cohort, cohort])
    with pytest.raises(CodebookError, match="codebook 'cohort' has no variable 'nosuch'"):
        codebooks.load("cohort").select(["nosuch"])
