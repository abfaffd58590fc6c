"""The catalogue of source registers agrees with the data contract, the codebooks and the synthetic world."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

import codebooks
from linkage.errors import InputError
from linkage.registers import EVENT_REGISTERS, REGISTERS, ReferenceDate, register, registers
from linkage.synth import LAYOUT


def test_every_dataset_of_the_contract_is_catalogued_at_its_path():
    assert set(REGISTERS) == set(LAYOUT), "the synthetic world writes exactly the catalogued datasets"
    for name, entry in REGISTERS.items():
        assert entry.codebook.name == name


def test_the_identifier_column_is_a_direct_identifier_of_its_codebook():
    for entry in REGISTERS.values():
        secret = {v.name for v in entry.codebook.with_role("direct_identifier")}
        if entry.identifier is not None:
            assert entry.identifier in secret, entry.name
        assert set(entry.linkage_columns) <= set(entry.codebook.names), entry.name


def test_events_have_a_reference_date_from_date_or_year_columns_of_their_codebook():
    for name in EVENT_REGISTERS:
        entry = register(name)
        assert entry.reference is not None, name
        for column in entry.reference.columns:
            assert entry.codebook.variable(column).type == "date", (name, column)
        if entry.reference.year_column:
            assert entry.codebook.variable(entry.reference.year_column).type == "integer", name
    assert register("population").reference is None  # 12 digits: no century to infer


def test_the_large_registers_are_streamed():
    assert {r.name for r in REGISTERS.values() if r.large} == {"patient", "drugs", "grades_year9"}


def test_reference_dates_take_the_first_present_column_then_the_year():
    typed = pa.table({"beslutsdatum": pa.array([date(2019, 5, 1), None, None], pa.date32()),
                      "startdatum": pa.array([date(2019, 6, 1), date(2020, 2, 3), None], pa.date32()),
                      "ar": pa.array([2001, 2002, None], pa.int64())})
    assert ReferenceDate(("beslutsdatum", "startdatum")).dates(typed).to_pylist() == [
        date(2019, 5, 1), date(2020, 2, 3), None]
    assert ReferenceDate(year_column="ar", month=7, day=1).dates(typed).to_pylist() == [
        date(2001, 7, 1), date(2002, 7, 1), None]
    assert ReferenceDate(("beslutsdatum",), year_column="ar").dates(typed).to_pylist() == [
        date(2019, 5, 1), date(2002, 12, 31), None]


def test_placement_identifiers_are_scoped_by_the_reporting_kommun():
    for name in ("placement_child", "placement_measure", "placement_placement"):
        assert register(name).group_within == "kommun"
        assert codebooks.load(name).variable("kommun").codelist == "kommun"


def test_unknown_registers_are_an_error_naming_the_known_ones():
    with pytest.raises(InputError, match="unknown register 'nope'.*patient"):
        register("nope")
    assert [r.name for r in registers(["drugs", "patient", "drugs"])] == ["drugs", "patient"]
    assert {r.role for r in registers(roles=["units"])} == {"units"}
