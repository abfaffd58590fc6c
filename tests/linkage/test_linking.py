"""`link_world` on the small synthetic world: registers ingested side by side, and the deterministic and probabilistic
linkages run side by side, give the world of one at a time, and the identifiers it gathers for the leak guard are
every identifier the input files hold."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import PROJECT

from linkage.io import read_table
from linkage.linking import link_world
from linkage.registers import REGISTERS


@pytest.fixture(scope="module")
def side_by_side(small_world, master_key, tmp_path_factory):
    return link_world(small_world, key=master_key, project=PROJECT, secure_dir=tmp_path_factory.mktemp("secure2"),
                      workers=2, identifiers=True)


def test_registers_side_by_side_give_the_world_of_one_at_a_time(linked_world, side_by_side):
    assert list(side_by_side.registers) == list(linked_world.registers)
    pd.testing.assert_frame_equal(side_by_side.persons, linked_world.persons)
    pd.testing.assert_frame_equal(side_by_side.residence, linked_world.residence)
    for name, frame in linked_world.registers.items():
        pd.testing.assert_frame_equal(side_by_side.registers[name], frame, obj=name)
        assert side_by_side.counts[name] == linked_world.counts[name]
    pd.testing.assert_frame_equal(side_by_side.evidence_links.entities, linked_world.evidence_links.entities)
    pd.testing.assert_frame_equal(side_by_side.report, linked_world.report)


def test_the_identifiers_gathered_are_every_identifier_written_in_the_inputs(small_world, linked_world,
                                                                            side_by_side):
    assert linked_world.identifiers is None  # only when asked for
    written = set()
    for name in ["population", "residence", *linked_world.registers]:
        entry = REGISTERS[name]
        if entry.identifier is not None:
            column = read_table(entry.file(small_world), columns=[entry.identifier]).table[entry.identifier]
            written |= set(pc.unique(column.cast(pa.string())).to_pylist())
    gathered = side_by_side.identifiers.to_pylist()
    assert len(gathered) == len(set(gathered))
    assert set(gathered) == written - {None}
    assert len(written) > 5_000  # 2,500 children, their parents, numbers written several ways


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["g1", "g2", "g3"]), st.sampled_from(["b", "a", "ab", "é", None])),
                min_size=1, max_size=40))
def test_an_entity_takes_its_records_most_common_value_ties_to_the_smallest(records):
    """`entities`: per group, the most common non-missing value of each field (ties: the smallest as text), NA
    where its records have none; the groups sorted."""
    from linkage.evidence import entities

    groups, values = zip(*records)
    text = pd.array(list(values), dtype="string[pyarrow]")
    evidence = pd.DataFrame({"group": pd.array(list(groups), dtype="string[pyarrow]"),
                             "birth_date": pd.NaT, "sex": pd.array([None] * len(records), dtype="Int8"),
                             "kommun": text, "country": text, "neighbours": text})
    found = entities(evidence)
    expected = {}
    for group in sorted(set(groups)):
        present = [v for g, v in records if g == group and v is not None]
        counts = {v: present.count(v) for v in present}
        expected[group] = min(counts, key=lambda v: (-counts[v], v)) if counts else None
    assert list(found.index) == sorted(expected)
    for name in ("kommun", "country", "neighbours"):
        assert [None if pd.isna(v) else v for v in found[name]] == list(expected.values())
    assert found["birth_date"].isna().all() and found["sex"].isna().all()
    assert found["records"].tolist() == [groups.count(g) for g in sorted(expected)]


def test_candidates_are_each_person_once_per_kommun_in_the_order_first_lived():
    """`candidates`: persons in spine order; each person's kommuner in the order the residence history first names
    them, once each; a person without residence once, without kommun; residence of someone outside the spine and
    rows without kommun ignored."""
    from linkage.evidence import candidates

    persons = pd.DataFrame({"pseudonym_id": pd.array(["a1", "b2", "c3"], dtype="string[pyarrow]"),
                            "fodelsedatum": pd.to_datetime(["2001-02-03", "2002-03-04", "2003-04-05"]),
                            "kon": pd.array(["1", "2", "1"], dtype="string[pyarrow]"),
                            "fodelseland": pd.array(["SE", "ER", None], dtype="string[pyarrow]")})
    residence = pd.DataFrame({"pseudonym_id": pd.Categorical(["c3", "zz", "a1", "c3", "a1", "c3", "c3"]),
                              "kommun": pd.array(["0180", "0180", "1480", "0114", None, "0180", "2480"],
                                                 dtype="string[pyarrow]")})
    found = candidates(persons, residence)
    assert list(zip(found["pseudonym_id"], found["person"], found["kommun"].fillna("-"))) == [
        ("a1", 0, "1480"), ("b2", 1, "-"), ("c3", 2, "0180"), ("c3", 2, "0114"), ("c3", 2, "2480")]
    assert list(found["birth_date"]) == ["20010203", "20020304", "20030405", "20030405", "20030405"]
    assert list(found["block_month"]) == ["200102", "200203", "200304", "200304", "200304"]
    assert list(found["sex"]) == ["1", "2", "1", "1", "1"] and found["country"].isna().sum() == 3
