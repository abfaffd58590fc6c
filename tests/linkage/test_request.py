"""The extract request file: every rule checked on load with a one-line error at the right line and key,
defaults filled in, and a canonical hash that only a change of meaning can change."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest
import yaml
from generated_ids import number
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import codebooks
from linkage.errors import OutputError, ReglinkError
from linkage.extract.request import (
    ACTIONS, EXAMPLE, FORMATS, PERSON_CODEBOOKS, POPULATIONS, PRECISIONS, Request, RequestError, load_request,
    parse_request, write_example,
)
from linkage.registers import EVENT_REGISTERS

DATA = Path(__file__).resolve().parents[1] / "data" / "requests"
SOURCE = "request.yaml"

# Line numbers below refer to this text.
BASE = """\
reglink_request: 1
project: test-request
title: Placerade barns skolgång
approval: "Dnr 2026-00001-01"
reference_date: 2025-12-31
cohort:
  birth_years:
    from: 2000
    to: 2004
  population: all
variables:
  cohort:
    - kon
    - fodelsear
    - kommun
    - placerad_nagon_gang
  health_outcomes: [psykiatrisk_vard, sjalvskada]
  placement_measure: [startdatum, lagrum]
windows:
  health: {from_age: 13, to_age: 25}
  self_harm_undetermined_intent: false
dates:
  precision: month
  birth: year
disclosure:
  k: 5
  quasi_identifiers: [kon, fodelsear]
  action: suppress
formats: [parquet, csv]
code_key: false
"""

# BASE with the same meaning: other key order and layout, comments, quoting, flow style, pseudonym_id listed,
# formats in another order.
SAME_AS_BASE = """\
# the same request, written differently
code_key: no
formats:
  - csv
  - parquet
disclosure: {action: "suppress", quasi_identifiers: [fodelsear, kon], k: 5}
dates: {birth: year, precision: month}
windows:
  self_harm_undetermined_intent: false
  health:
    to_age: 25
    from_age: 13
variables:
  cohort: [pseudonym_id, kon, fodelsear, kommun, placerad_nagon_gang]   # pseudonym_id is always delivered
  health_outcomes:
    - psykiatrisk_vard
    - sjalvskada
  placement_measure: [pseudonym_id, startdatum, lagrum]
cohort: {population: "all", birth_years: {to: 2004, from: 2000}}
reference_date: "2025-12-31"
approval: 'Dnr 2026-00001-01'
title: "Placerade barns skolgång"
project: 'test-request'
reglink_request: 1
"""


def edit(text: str, old: str, new: str) -> str:
    """`text` with its one occurrence of `old` replaced by `new`."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def error(text: str) -> str:
    with pytest.raises(RequestError) as caught:
        parse_request(text, SOURCE)
    message = str(caught.value)
    assert "\n" not in message
    return message


def assert_error(text: str, line: int, key: str, reason: str) -> None:
    message = error(text)
    expected = f"{SOURCE}, line {line}: {key}: " if key else f"{SOURCE}, line {line}: "
    assert message.startswith(expected), message
    assert reason in message[len(expected):], message


# ------------------------------------------------------------------------------------------------ valid requests

def test_the_example_is_a_valid_request_for_the_demo():
    request = parse_request(EXAMPLE)
    assert request.project == "demo-2026"
    assert request.birth_years == (1998, 2008)
    assert request.population == "all"
    assert request.reference_date == dt.date(2025, 12, 31)
    assert {"placerad_nagon_gang", "placerad_hela_ak9", "aldrig_placerad", "behorig_yrkesprogram",
            "fullfoljt_grundskolan_17", "psykiatrisk_vard", "sjalvskada", "ny_placering_inom_12_man",
            "lvm_fore_25"} <= set(request.person_variables)
    assert request.event_tables == {"placement_measure": ("startdatum", "slutdatum", "lagrum"),
                                    "placement_placement": ("startdatum", "slutdatum", "placeringsform")}
    assert request.tables == ("persons", "placement_measure", "placement_placement")
    assert (request.date_precision, request.birth_precision) == ("month", "year")
    assert (request.k, request.action) == (5, "suppress")
    assert request.quasi_identifiers == ("kon", "fodelsear", "lan", "kommun")
    assert request.formats == ("parquet", "csv", "stata")
    assert request.code_key is False
    for table in request.tables:
        assert not request.codebook(table).with_role("direct_identifier")


def test_base_is_read_as_written():
    request = parse_request(BASE)
    assert request == Request(
        version=1, project="test-request", title="Placerade barns skolgång", approval="Dnr 2026-00001-01",
        reference_date=dt.date(2025, 12, 31), birth_years=(2000, 2004), population="all",
        variables=(("cohort", ("kon", "fodelsear", "kommun", "placerad_nagon_gang")),
                   ("health_outcomes", ("psykiatrisk_vard", "sjalvskada")),
                   ("placement_measure", ("startdatum", "lagrum"))),
        health_ages=(13, 25), self_harm_undetermined_intent=False, date_precision="month", birth_precision="year",
        k=5, quasi_identifiers=("kon", "fodelsear"), action="suppress", formats=("parquet", "csv"), code_key=False)
    assert request.person_variables == ("kon", "fodelsear", "kommun", "placerad_nagon_gang", "psykiatrisk_vard",
                                        "sjalvskada")


def test_defaults_are_filled_in():
    request = load_request(DATA / "minimal.yaml")
    assert request.to_dict() == {
        "reglink_request": 1, "project": "test-request", "title": "Minimal request",
        "approval": "Dnr 2026-00001-01", "reference_date": "2025-12-31",
        "cohort": {"birth_years": {"from": 2000, "to": 2002}, "population": "placed_ever"},
        "variables": [{"codebook": "cohort", "variables": ["kon", "fodelsear", "placerad_hela_ak9"]}],
        "windows": {"health": {"from_age": 13, "to_age": 25}, "self_harm_undetermined_intent": False},
        "dates": {"precision": "month", "birth": "year"},
        "disclosure": {"k": 5, "quasi_identifiers": ["kon", "fodelsear"], "action": "fail"},
        "formats": ["parquet"], "code_key": False,
    }
    assert request.tables == ("persons",)
    assert request.event_tables == {}


def test_default_quasi_identifiers_are_the_delivered_person_level_ones_in_delivery_order():
    text = edit(BASE, "  quasi_identifiers: [kon, fodelsear]\n", "")
    text = edit(text, "  placement_measure: [startdatum, lagrum]",
                "  placement_measure: [kommun, startdatum]\n  education_outcomes: [meritvarde]")
    request = parse_request(edit(text, "    - kon\n", "    - placerad_hela_ak9\n    - ensamkommande\n    - kon\n"))
    # kommun of the placement register is an event column, not a person-level quasi-identifier
    assert request.quasi_identifiers == ("ensamkommande", "kon", "fodelsear", "kommun")
    only_outcomes = parse_request(edit(text, "  cohort:\n    - kon\n    - fodelsear\n    - kommun\n"
                                             "    - placerad_nagon_gang\n", ""))
    assert only_outcomes.quasi_identifiers == ()


def test_given_quasi_identifiers_may_be_any_delivered_person_variable_and_follow_delivery_order():
    request = parse_request(edit(BASE, "[kon, fodelsear]", "[sjalvskada, kommun]"))
    assert request.quasi_identifiers == ("kommun", "sjalvskada")


def test_ages_may_be_given_one_at_a_time():
    assert parse_request(edit(BASE, "{from_age: 13, to_age: 25}", "{to_age: 30}")).health_ages == (13, 30)
    assert parse_request(edit(BASE, "{from_age: 13, to_age: 25}", "{from_age: 0}")).health_ages == (0, 25)


def test_pseudonym_id_alone_gives_a_table_of_persons_with_events():
    request = parse_request(edit(edit(BASE, "[startdatum, lagrum]", "[pseudonym_id]"),
                                 "[psykiatrisk_vard, sjalvskada]", "[pseudonym_id]"))
    assert request.event_tables == {"placement_measure": ()}
    assert [name for name, _ in request.variables] == ["cohort", "placement_measure"]
    assert request.codebook("placement_measure").names == ("pseudonym_id",)


def test_a_reference_date_may_be_quoted_text():
    assert parse_request(edit(BASE, "2025-12-31", "'2025-06-30'")).reference_date == dt.date(2025, 6, 30)


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    assert load_request(path) == parse_request(BASE)


def test_person_level_codebooks_share_no_variable_name():
    """A variable is requested from one codebook only, so `persons` never has a column twice."""
    seen: dict[str, str] = {}
    for name in PERSON_CODEBOOKS:
        for variable in codebooks.load(name).names:
            assert variable not in seen or variable == "pseudonym_id", (variable, seen.get(variable), name)
            seen[variable] = name


# --------------------------------------------------------------------------------------------------- codebooks

def test_the_persons_codebook_is_pseudonym_id_then_the_requested_variables():
    request = parse_request(BASE)
    persons = request.codebook("persons")
    assert persons.name == "persons"
    assert persons.names == ("pseudonym_id", "kon", "fodelsear", "kommun", "placerad_nagon_gang",
                             "psykiatrisk_vard", "sjalvskada")
    assert persons.variable("pseudonym_id") == codebooks.load("cohort").variable("pseudonym_id")
    assert persons.variable("sjalvskada") == codebooks.load("health_outcomes").variable("sjalvskada")
    assert "kommun" in {c.name for c in persons.codelists}


@pytest.mark.parametrize("variables", [
    "  health_outcomes: [sjalvskada]\n  cohort: [kon]\n",
    "  health_outcomes: [sjalvskada]\n",
])
def test_pseudonym_id_comes_first_whatever_the_order_of_codebooks(variables):
    text = BASE[:BASE.index("variables:\n")] + "variables:\n" + variables + BASE[BASE.index("windows:"):]
    text = edit(text, "[kon, fodelsear]", "[sjalvskada]")
    persons = parse_request(text).codebook("persons")
    assert persons.names[0] == "pseudonym_id"
    assert persons.names[1:] == tuple(re.findall(r"\[(\w+)\]", variables))


def test_an_event_codebook_is_pseudonym_id_then_the_requested_columns():
    events = parse_request(BASE).codebook("placement_measure")
    assert events.name == "placement_measure"
    assert events.names == ("pseudonym_id", "startdatum", "lagrum")
    assert events.variable("pseudonym_id") == codebooks.load("cohort").variable("pseudonym_id")
    assert events.variable("lagrum") == codebooks.load("placement_measure").variable("lagrum")


def test_a_table_not_in_the_request_has_no_codebook():
    with pytest.raises(RequestError, match="no table 'patient' in this request"):
        parse_request(BASE).codebook("patient")


# -------------------------------------------------------------------------------------------------- errors

PNR = number("19121212", 121)


@pytest.mark.parametrize(("old", "new", "line", "key", "reason"), [
    # versions and required keys
    ("reglink_request: 1", "reglink_request: 2", 1, "reglink_request", "unsupported request version 2"),
    ("reglink_request: 1", "reglink_request: true", 1, "reglink_request", "unsupported request version"),
    ("reglink_request: 1\n", "", 1, "reglink_request", "is required"),
    ("title: Placerade barns skolgång\n", "", 1, "title", "is required"),
    ("  population: all\n", "", 7, "cohort.population", "is required"),
    ("    to: 2004\n", "", 8, "cohort.birth_years.to", "is required"),
    # unknown keys at every level
    ("code_key: false", "code_key: false\ncodekey: true", 31, "codekey", ("unknown key (allowed: reglink_request, "
                                                                           "project, title")),
    ("  population: all", "  populations: all", 10, "cohort.populations",
     "unknown key (allowed: birth_years, population)"),
    ("    to: 2004", "    to: 2004\n    till: 2005", 10, "cohort.birth_years.till", "unknown key (allowed: from, to)"),
    ("{from_age: 13, to_age: 25}", "{from_age: 13, upto: 25}", 20, "windows.health.upto",
     "unknown key (allowed: from_age, to_age)"),
    ("  action: suppress", "  actions: suppress", 28, "disclosure.actions", ("unknown key (allowed: k, "
                                                                            "quasi_identifiers, action)")),
    ("code_key: false", "code_key: false\ncode_key: true", 31, "code_key", "is given twice"),
    ("code_key: false", "code_key: false\n<<: {k: 3}", 31, "", "an unknown key that is not a name"),
    # scalars
    ("project: test-request", "project: Test_Request", 2, "project", "must be 1-64 of a-z 0-9"),
    ("project: test-request", "project: 2026", 2, "project", "must be 1-64"),
    ("title: Placerade barns skolgång", "title:", 3, "title", "must be a non-empty text, not empty"),
    ("title: Placerade barns skolgång", 'title: "två\\nrader"', 3, "title", "must be one line"),
    ("title: Placerade barns skolgång", "title: [a, b]", 3, "title", "must be a single value, not a list"),
    ('approval: "Dnr 2026-00001-01"', "approval: " + "x" * 201, 4, "approval", "must be at most 200 characters"),
    ("reference_date: 2025-12-31", "reference_date: 2025-02-30", 5, "reference_date", "is not a date of the calendar"),
    ("reference_date: 2025-12-31", "reference_date: 31/12/2025", 5, "reference_date", "must be a date YYYY-MM-DD"),
    ("reference_date: 2025-12-31", "reference_date: 2025-12-31 10:00:00", 5, "reference_date",
     "must be a date YYYY-MM-DD"),
    ("reference_date: 2025-12-31", "reference_date: 20251231", 5, "reference_date",
     "must be a date YYYY-MM-DD, not a whole number"),
    # cohort
    ("    from: 2000", "    from: 2005", 8, "cohort.birth_years", "from (2005) must not be after to (2004)"),
    ("    from: 2000", "    from: 1850", 8, "cohort.birth_years.from", "must be from 1890 to 2100, not 1850"),
    ("    from: 2000", "    from: '2000'", 8, "cohort.birth_years.from", "must be a whole number, not a text"),
    ("    to: 2004", "    to: 2026", 9, "cohort.birth_years.to", "2026 is after the year of reference_date (2025)"),
    ("  population: all", "  population: everyone", 10, "cohort.population",
     "must be one of placed_ever, placed_year9, all"),
    ("cohort:\n  birth_years:\n    from: 2000\n    to: 2004\n  population: all", "cohort: 1998", 6, "cohort",
     "must be a mapping, not a whole number"),
    # variables
    ("  placement_measure: [startdatum, lagrum]", "  population: [kon]", 18, "variables.population",
     "not a codebook a request can name (person-level: cohort, placement_history"),
    ("  placement_measure: [startdatum, lagrum]", "  pnr_changes: [kon]", 18, "variables.pnr_changes",
     "not a codebook a request can name"),
    ("    - kommun", "    - kommune", 15, "variables.cohort", ("unknown variable kommune (codebook cohort has: "
                                                              "pseudonym_id, kon")),
    ("[startdatum, lagrum]", "[startdatum, personnr]", 18, "variables.placement_measure",
     "personnr is a direct identifier and can never be delivered"),
    ("    - kommun", "    - kon", 15, "variables.cohort", "kon is listed twice"),
    ("[psykiatrisk_vard, sjalvskada]", "[pseudonym_id, psykiatrisk_vard, pseudonym_id]", 17,
     "variables.health_outcomes", "pseudonym_id is listed twice"),
    ("[startdatum, lagrum]", "[]", 18, "variables.placement_measure", "lists nothing"),
    ("[startdatum, lagrum]", "startdatum", 18, "variables.placement_measure", "must be a list, not a text"),
    ("[startdatum, lagrum]", "[startdatum, [lagrum]]", 18, "variables.placement_measure",
     "must be a single value, not a list"),
    ("    - kommun", "    - 1", 15, "variables.cohort", "must list names, not a whole number"),
    # windows and dates
    ("{from_age: 13, to_age: 25}", "{from_age: 25, to_age: 13}", 20, "windows.health",
     "from_age (25) must be below to_age (13)"),
    ("{from_age: 13, to_age: 25}", "{from_age: 30}", 20, "windows.health", "from_age (30) must be below to_age (25)"),
    ("{from_age: 13, to_age: 25}", "{from_age: -1, to_age: 25}", 20, "windows.health.from_age",
     "must be from 0 to 120, not -1"),
    ("self_harm_undetermined_intent: false", "self_harm_undetermined_intent: maybe", 21,
     "windows.self_harm_undetermined_intent", "must be true or false, not a text"),
    ("  precision: month", "  precision: week", 23, "dates.precision", "must be one of day, month, year"),
    ("  birth: year", "  birth: decade", 24, "dates.birth", "must be one of day, month, year"),
    # disclosure
    ("  k: 5", "  k: 1", 26, "disclosure.k", "must be from 2 to"),
    ("  k: 5", "  k: 5.5", 26, "disclosure.k", "must be a whole number, not a decimal number"),
    ("[kon, fodelsear]", "[kon, lagrum]", 27, "disclosure.quasi_identifiers",
     "lagrum is not a delivered person-level variable (delivered: kon, fodelsear, kommun"),
    ("[kon, fodelsear]", "[kon, lan]", 27, "disclosure.quasi_identifiers",
     "lan is not a delivered person-level variable"),
    ("[kon, fodelsear]", "[pseudonym_id]", 27, "disclosure.quasi_identifiers",
     "pseudonym_id is unique to each person and cannot be a quasi-identifier"),
    ("[kon, fodelsear]", "[kon, kon]", 27, "disclosure.quasi_identifiers", "kon is listed twice"),
    ("[kon, fodelsear]", "[]", 27, "disclosure.quasi_identifiers", "lists nothing"),
    ("  action: suppress", "  action: round", 28, "disclosure.action", "must be one of fail, suppress, generalise"),
    # formats, code key
    ("formats: [parquet, csv]", "formats: []", 29, "formats", "lists nothing"),
    ("formats: [parquet, csv]", "formats: [parquet, sas]", 29, "formats", ("unknown format sas (formats: parquet, "
                                                                          "csv, stata)")),
    ("formats: [parquet, csv]", "formats: [csv, csv]", 29, "formats", "csv is listed twice"),
    ("formats: [parquet, csv]", "formats: parquet", 29, "formats", "must be a list, not a text"),
    ("code_key: false", "code_key: 1", 30, "code_key", "must be true or false, not a whole number"),
    # YAML features a request does not use
    ("reference_date: 2025-12-31", "reference_date: !!binary aGVq", 5, "reference_date", ("a YAML tag (!…) is not "
                                                                                         "allowed")),
    ("reference_date: 2025-12-31", "reference_date: !!python/object:os.system x", 5, "reference_date",
     "a YAML tag"),
    ("  precision: month", "  precision: !local month", 23, "dates.precision", "a YAML tag"),
    ("  birth_years:", "  birth_years: !!set", 7, "cohort.birth_years", "a YAML tag"),
    ("  birth_years:", "  birth_years: &years", 7, "", "YAML anchors and aliases (&, *) are not allowed"),
    ('approval: "Dnr 2026-00001-01"', "approval: *dnr", 4, "", "YAML anchors and aliases"),
    # YAML syntax
    ("formats: [parquet, csv]", "formats: [parquet, csv", 30, "", "not valid YAML (expected ',' or ']'"),
    ("  k: 5", "   k: 5", 27, "", "not valid YAML ("),
    ('approval: "Dnr 2026-00001-01"', 'approval: "Dnr 2026-00001-01', 31, "", "not valid YAML ("),
    ("  k: 5", "  k: \x07", 26, "", "not valid YAML (a control character is not allowed)"),
    ("code_key: false", "code_key: false\n---\ncode_key: true", 31, "",
     "not valid YAML (expected a single document in the stream, but found another document)"),
])
def test_each_rule_is_one_line_naming_line_and_key(old, new, line, key, reason):
    assert_error(edit(BASE, old, new), line, key, reason)


def test_variables_must_name_a_codebook():
    text = BASE[:BASE.index("variables:\n")] + "variables: {}\n" + BASE[BASE.index("windows:"):]
    assert_error(text, 11, "variables", "names no codebook")


@pytest.mark.parametrize(("old", "new", "line", "key"), [
    ("    - kommun", f"    - '{PNR}'", 15, "variables.cohort"),
    ("    - kommun", f"    - {PNR}", 15, "variables.cohort"),
    ("  placement_measure: [startdatum, lagrum]", f"  '{PNR[2:8]}-{PNR[8:]}': [kon]", 18, "variables"),
    ("code_key: false", f"code_key: false\n{PNR}: x", 31, ""),
    ("[kon, fodelsear]", f"[kon, '{PNR}']", 27, "disclosure.quasi_identifiers"),
    ("project: test-request", f"project: '{PNR}'", 2, "project"),
    ("project: test-request", f"project: '{PNR[:8]}-{PNR[8:]}'", 2, "project"),
    ("title: Placerade barns skolgång", f"title: Barn {PNR[2:8]}-{PNR[8:]}", 3, "title"),
    ('approval: "Dnr 2026-00001-01"', f"approval: Dnr {PNR[2:]}", 4, "approval"),
])
def test_an_identifier_written_where_a_name_belongs_is_never_repeated(old, new, line, key):
    message = error(edit(BASE, old, new))
    assert message.startswith(f"{SOURCE}, line {line}: {key}")
    for form in (PNR, PNR[2:], PNR[:8], PNR[8:], PNR[2:8]):
        assert form not in message, message


@pytest.mark.parametrize(("text", "message"), [
    ("", f"{SOURCE}: is empty; expected a reglink request (YAML)"),
    ("  \n\n", f"{SOURCE}: is empty; expected a reglink request (YAML)"),
    ("# only a comment\n", f"{SOURCE}: is empty; expected a reglink request (YAML)"),
    ("- reglink_request: 1\n", (f"{SOURCE}, line 1: must be a mapping of request keys (reglink_request, project, …), "
                               f"not a list")),
    ("\n\njust some text\n", (f"{SOURCE}, line 3: must be a mapping of request keys (reglink_request, project, …), "
                             f"not a text")),
])
def test_a_document_that_is_not_a_request(text, message):
    assert error(text) == message


def test_a_file_that_is_not_utf8_is_one_clear_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.encode("latin-1"))
    with pytest.raises(RequestError, match=r"^latin1\.yaml: cannot be read as UTF-8 text"):
        load_request(path)


def test_a_missing_file_is_one_clear_line(tmp_path):
    with pytest.raises(RequestError, match=r"^nowhere\.yaml: no such request file$"):
        load_request(tmp_path / "nowhere.yaml")


def test_errors_from_a_file_name_it(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(edit(BASE, "  k: 5", "  k: 0"), encoding="utf-8")
    with pytest.raises(RequestError, match=r"^mine\.yaml, line 26: disclosure\.k: must be from 2 to"):
        load_request(path)


def test_a_request_error_is_a_reglink_error():
    assert issubclass(RequestError, ReglinkError)


# ----------------------------------------------------------------------------------------------- the hash

def test_the_hash_is_sha256_of_the_canonical_json():
    request = parse_request(BASE)
    canonical = json.dumps(request.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert request.sha256 == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert json.loads(canonical) == request.to_dict()


def test_the_canonical_form_is_pinned():
    """The manifest's request hash must not drift between releases: a change here is a format change."""
    assert load_request(DATA / "minimal.yaml").sha256 == (
        "b42176ac3e9d883ca0cae93070b678dac7592b189507ac794b368582dd7dc92d")


def test_the_hash_ignores_key_order_comments_layout_and_explicit_defaults():
    assert parse_request(SAME_AS_BASE) == parse_request(BASE)
    assert parse_request(SAME_AS_BASE).sha256 == parse_request(BASE).sha256
    minimal = (DATA / "minimal.yaml").read_text(encoding="utf-8")
    explicit = minimal + ("windows:\n  health: {from_age: 13, to_age: 25}\n  self_harm_undetermined_intent: false\n"
                          "dates: {precision: month, birth: year}\n"
                          "disclosure: {k: 5, quasi_identifiers: [kon, fodelsear], action: fail}\n"
                          "formats: [parquet]\ncode_key: false\n")
    assert parse_request(explicit).sha256 == parse_request(minimal).sha256


@pytest.mark.parametrize(("old", "new"), [
    ("project: test-request", "project: test-request2"),
    ("title: Placerade barns skolgång", "title: Placerade barns skolgång och hälsa"),
    ('approval: "Dnr 2026-00001-01"', 'approval: "Dnr 2026-00001-02"'),
    ("reference_date: 2025-12-31", "reference_date: 2025-12-30"),
    ("    from: 2000", "    from: 2001"),
    ("    to: 2004", "    to: 2005"),
    ("  population: all", "  population: placed_ever"),
    ("    - kon\n    - fodelsear", "    - fodelsear\n    - kon"),
    ("    - placerad_nagon_gang\n", "    - placerad_nagon_gang\n    - aldrig_placerad\n"),
    ("    - placerad_nagon_gang\n", ""),
    ("[psykiatrisk_vard, sjalvskada]", "[sjalvskada, psykiatrisk_vard]"),
    (("  cohort:\n    - kon\n    - fodelsear\n    - kommun\n    - placerad_nagon_gang\n"
     "  health_outcomes: [psykiatrisk_vard, sjalvskada]\n"),
     ("  health_outcomes: [psykiatrisk_vard, sjalvskada]\n"
     "  cohort:\n    - kon\n    - fodelsear\n    - kommun\n    - placerad_nagon_gang\n")),
    ("[startdatum, lagrum]", "[startdatum, slutdatum, lagrum]"),
    ("  placement_measure: [startdatum, lagrum]", "  placement_placement: [startdatum]"),
    ("{from_age: 13, to_age: 25}", "{from_age: 12, to_age: 25}"),
    ("{from_age: 13, to_age: 25}", "{from_age: 13, to_age: 26}"),
    ("self_harm_undetermined_intent: false", "self_harm_undetermined_intent: true"),
    ("  precision: month", "  precision: day"),
    ("  birth: year", "  birth: month"),
    ("  k: 5", "  k: 6"),
    ("[kon, fodelsear]", "[kon, fodelsear, kommun]"),
    ("  action: suppress", "  action: generalise"),
    ("formats: [parquet, csv]", "formats: [parquet, csv, stata]"),
    ("code_key: false", "code_key: true"),
])
def test_any_change_of_meaning_changes_the_hash(old, new):
    assert parse_request(edit(BASE, old, new)).sha256 != parse_request(BASE).sha256


# -------------------------------------------------------------------------------------------- a property

def _deliverable(name: str) -> list[str]:
    return [v.name for v in codebooks.load(name).variables if v.role != "direct_identifier" and v.name !=
            "pseudonym_id"]


@st.composite
def request_forms(draw) -> tuple[dict, dict]:
    """A valid request in its YAML form, and the fields parsing it must give."""
    chosen = draw(st.lists(st.sampled_from(PERSON_CODEBOOKS + EVENT_REGISTERS), min_size=1, max_size=4,
                           unique=True))
    variables = {name: draw(st.lists(st.sampled_from(_deliverable(name)), min_size=1, max_size=5, unique=True))
                 for name in chosen}
    person = [n for cb, names in variables.items() if cb in PERSON_CODEBOOKS for n in names]
    first = draw(st.integers(1890, 2025))
    form: dict = {
        "reglink_request": 1, "project": draw(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)),
        "title": draw(st.text(st.characters(codec="utf-8", categories=("L", "Zs", "P")), min_size=1,
                              max_size=40).filter(lambda t: t.strip() == t and t)),
        "approval": "Dnr 2026-1", "reference_date": "2025-12-31",
        "cohort": {"birth_years": {"from": first, "to": draw(st.integers(first, 2025))},
                   "population": draw(st.sampled_from(POPULATIONS))},
        "variables": variables,
    }
    expected = {"health_ages": (13, 25), "self_harm_undetermined_intent": False, "date_precision": "month",
                "birth_precision": "year", "k": 5, "action": "fail", "formats": ("parquet",), "code_key": False,
                "quasi_identifiers": tuple(n for n in person if codebooks.load(
                    next(cb for cb, names in variables.items() if n in names)).variable(n).role
                    == "quasi_identifier")}
    if draw(st.booleans()):
        ages = sorted(draw(st.lists(st.integers(0, 120), min_size=2, max_size=2, unique=True)))
        form["windows"] = {"health": {"from_age": ages[0], "to_age": ages[1]},
                           "self_harm_undetermined_intent": draw(st.booleans())}
        expected["health_ages"] = tuple(ages)
        expected["self_harm_undetermined_intent"] = form["windows"]["self_harm_undetermined_intent"]
    if draw(st.booleans()):
        form["dates"] = {"precision": draw(st.sampled_from(PRECISIONS)), "birth": draw(st.sampled_from(PRECISIONS))}
        expected["date_precision"], expected["birth_precision"] = form["dates"]["precision"], form["dates"]["birth"]
    if draw(st.booleans()):
        form["disclosure"] = {"k": draw(st.integers(2, 50)), "action": draw(st.sampled_from(ACTIONS))}
        expected["k"], expected["action"] = form["disclosure"]["k"], form["disclosure"]["action"]
        if person:
            quasi = draw(st.lists(st.sampled_from(person), min_size=1, unique=True))
            form["disclosure"]["quasi_identifiers"] = quasi
            expected["quasi_identifiers"] = tuple(n for n in person if n in quasi)
    if draw(st.booleans()):
        formats = draw(st.lists(st.sampled_from(FORMATS), min_size=1, unique=True))
        form["formats"] = formats
        expected["formats"] = tuple(f for f in FORMATS if f in formats)
    if draw(st.booleans()):
        form["code_key"] = expected["code_key"] = draw(st.booleans())
    expected["variables"] = tuple((name, tuple(names)) for name, names in variables.items())
    return form, expected


def _shuffled(data, draw):
    """`data` with every mapping's keys in a drawn order, except `variables`, whose order is the delivery order."""
    if not isinstance(data, dict):
        return data
    keys = draw(st.permutations(list(data)))
    return {key: data[key] if key == "variables" else _shuffled(data[key], draw) for key in keys}


def _yaml_form(request: Request) -> dict:
    form = request.to_dict()
    form["variables"] = {entry["codebook"]: entry["variables"] for entry in form["variables"]}
    if not form["disclosure"]["quasi_identifiers"]:  # none delivered: the default, and an explicit [] is refused
        del form["disclosure"]["quasi_identifiers"]
    return form


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_request_reads_as_written_whatever_its_layout_and_its_canonical_form_reads_back(data):
    form, expected = data.draw(request_forms())
    text = yaml.safe_dump(_shuffled(form, data.draw), sort_keys=False, allow_unicode=True,
                          default_flow_style=data.draw(st.sampled_from([False, None, True])))
    request = parse_request(text)
    for field, value in expected.items():
        assert getattr(request, field) == value, field
    again = parse_request(yaml.safe_dump(_shuffled(_yaml_form(request), data.draw), sort_keys=False,
                                         allow_unicode=True))
    assert again == request
    assert again.sha256 == request.sha256


# ------------------------------------------------------------------------------------------ writing the example

def test_write_example_writes_the_example_and_it_loads(tmp_path):
    path = write_example(tmp_path / "sub" / "request.yaml")
    assert path.read_text(encoding="utf-8") == EXAMPLE
    assert load_request(path) == parse_request(EXAMPLE)
    assert sorted(p.name for p in path.parent.iterdir()) == ["request.yaml"]


def test_write_example_never_replaces_a_file(tmp_path):
    path = tmp_path / "request.yaml"
    path.write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match=r"^request\.yaml: exists already"):
        write_example(path)
    assert path.read_text(encoding="utf-8") == "mine"
