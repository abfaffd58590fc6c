"""Deterministic linkage on the pseudonym across every register, the spine, and frames the outcomes take."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage import outcomes
from linkage.deterministic import LINK_METHODS, PseudonymSet, link_deterministic, spine, with_persons
from linkage.errors import InputError
from linkage.ingest import Ingested
from linkage.registers import register


def true_pseudonyms(linked, truth, name: str) -> pd.DataFrame:
    """Per record of `name`: our row, our pseudonym and method, and the true person's pseudonym (via the spine)."""
    records = truth["records"]
    population = records[records["dataset"] == "population"].set_index("row")["person_id"]
    person_pseudonym = pd.Series(linked.persons["pseudonym_id"].to_numpy(dtype=object),
                                 index=population.reindex(linked.persons["row"].to_numpy()).to_numpy())
    true = records[records["dataset"] == name].set_index("row")["person_id"]
    frame = linked.registers[name]
    return pd.DataFrame({"row": frame["row"].to_numpy(),
                         "ours": frame["pseudonym_id"].to_numpy(dtype=object, na_value=None),
                         "method": frame["link_method"].astype(str).to_numpy(),
                         "truth": person_pseudonym.reindex(true.reindex(frame["row"].to_numpy()).to_numpy())
                         .to_numpy(dtype=object)})


def test_every_personnummer_record_links_to_its_true_person(linked_world, truth):
    for name, frame in linked_world.registers.items():
        if register(name).identifier is None:
            assert "link_method" not in frame
            continue
        scored = true_pseudonyms(linked_world, truth, name)
        deterministic = scored[scored["method"] == "deterministic"]
        assert len(deterministic) and (deterministic["ours"] == deterministic["truth"]).all(), name
        pnr = frame["id_kind"].isin(["personnummer", "samordningsnummer"]).to_numpy()
        assert (scored.loc[pnr, "method"].isin(["deterministic", "not_in_population"])).all(), name


def test_the_report_accounts_for_every_kept_record(linked_world):
    report = linked_world.report.set_index("register")
    for name, frame in linked_world.registers.items():
        row = report.loc[name]
        by_method = (row["linked_deterministic"] + row["linked_probabilistic"] + row["ambiguous"]
                     + row["unlinked"] + row["not_in_population"])
        assert by_method == (row["rows_kept"] if "link_method" in frame else 0), name
        assert row["rows_read"] == row["rows_kept"] + row["rows_rejected"] + row["duplicates_dropped"], name
    assert report["old_numbers_mapped"].sum() > 0 and report.loc["drugs", "linked_deterministic"] > 0


def test_the_spine_has_one_row_per_person_in_pseudonym_order_and_no_identifier(linked_world, truth):
    persons = linked_world.persons
    assert persons["pseudonym_id"].is_unique and len(persons) == len(truth["persons"])
    assert persons["pseudonym_id"].is_monotonic_increasing and not persons["row"].is_monotonic_increasing
    assert not {"personnummer", "fornamn", "efternamn"} & set(persons.columns)
    twice = Ingested(register("population"), pd.concat([persons.head(2), persons.head(1)], ignore_index=True),
                     pd.DataFrame(), None, None)
    with pytest.raises(InputError, match="population: rows .* hold the same person's number"):
        spine(twice)


def test_link_methods_of_a_small_frame():
    persons = pd.DataFrame({"pseudonym_id": pd.array(["a" * 32, "b" * 32], dtype="string[pyarrow]")})
    frame = pd.DataFrame({"pseudonym_id": pd.array(["b" * 32, None, "c" * 32, "a" * 32], dtype="string[pyarrow]")})
    methods = link_deterministic(frame, persons)
    assert list(methods) == ["deterministic", "unlinked", "not_in_population", "deterministic"]
    assert list(methods.categories) == list(LINK_METHODS)


def test_linked_frames_are_what_the_outcome_functions_take(linked_world):
    persons = linked_world.for_outcomes("persons")
    patient = linked_world.for_outcomes("patient")
    assert set(patient["link_method"].astype(str)) <= {"deterministic", "probabilistic"}
    assert patient["id"].notna().all()
    ids = patient["id"].cat  # categorical: each pseudonym held once, only those of these rows
    assert len(ids.categories) == patient["id"].nunique() and list(ids.categories) == sorted(ids.categories)
    care = outcomes.psychiatric_care(patient, persons)
    assert len(care) == len(persons) and care["psykiatrisk_vard"].sum() > 0
    slim = linked_world.for_outcomes("patient", columns=["indatum", "hdia", "pvard"])
    assert list(slim.columns) == ["id", "indatum", "hdia", "pvard"] and len(slim) == len(patient)
    pd.testing.assert_frame_equal(outcomes.psychiatric_care(slim, persons), care)
    drugs = outcomes.psychotropics(linked_world.for_outcomes("drugs"), persons)
    assert len(drugs) == len(persons)
    history = outcomes.placement_history(linked_world.for_outcomes("placement_measure"),
                                         linked_world.for_outcomes("placement_placement"), persons,
                                         end_date=date(2025, 12, 31),
                                         inspections=linked_world.for_outcomes("provider_inspections"))
    assert history["antal_insatser"].sum() > 0
    school = outcomes.completed_compulsory_school(linked_world.for_outcomes("grades_year9"), persons)
    assert school.iloc[:, 1].mean() > 0.5
    lvm = outcomes.lvm_by_age(linked_world.for_outcomes("lvm_application"),
                              linked_world.for_outcomes("lvm_emergency"),
                              linked_world.for_outcomes("lvm_discharge"), persons)
    assert len(lvm) == len(persons)


def test_records_of_some_persons_are_those_persons_linked_records(linked_world):
    patient = linked_world.for_outcomes("patient")
    some = pd.Index(patient["id"].cat.categories[::3])
    mine = linked_world.for_outcomes("patient", ["indatum"], of=some)
    expected = patient[patient["id"].isin(some)]
    assert len(mine) == len(expected) > 0 and set(mine["id"]) == set(expected["id"])
    assert list(mine.columns) == ["id", "indatum"] and list(mine["id"].cat.categories) == sorted(set(expected["id"]))
    as_text = linked_world.for_outcomes("patient", ["indatum"], of=pd.Series(list(some) + list(some[:5])))
    pd.testing.assert_frame_equal(as_text, mine)  # a Series, repeats and all, selects the same


@pytest.mark.parametrize("form", ["categorical", "arrow text", "arrow dictionary chunks"])
def test_the_link_method_is_the_same_whatever_form_the_pseudonyms_come_in(form):
    import pyarrow as pa

    values = ["a" * 32, None, "b" * 32, "c" * 32, "a" * 32, "d" * 32, None, "b" * 32]
    persons = pd.DataFrame({"pseudonym_id": ["a" * 32, "b" * 32, "e" * 32]})
    if form == "categorical":
        column = pd.Series(values, dtype="category")
    elif form == "arrow text":
        column = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([values[:3], values[3:]], pa.string())))
    else:  # as Parquet gives a dictionary column back: each row group with a dictionary of its own
        chunks = [pa.array(part, pa.string()).dictionary_encode() for part in (values[:5], values[5:])]
        column = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks)))
    methods = link_deterministic(pd.DataFrame({"pseudonym_id": column}), persons)
    assert list(methods) == ["deterministic", "unlinked", "deterministic", "not_in_population", "deterministic",
                             "not_in_population", "unlinked", "deterministic"]


hex_ids = st.text("0123456789abcdef", min_size=4, max_size=4)


@settings(max_examples=150, deadline=None)
@given(spine_ids=st.lists(hex_ids, unique=True, max_size=30), values=st.lists(hex_ids, max_size=30),
       odd=st.lists(st.text("ab\x00", max_size=5), max_size=5))
def test_a_pseudonym_set_finds_exactly_its_members_and_where_they_are(spine_ids, values, odd):
    """Same-width pseudonyms go by bisection, anything else by hashing: the answers are the same."""
    for members, asked in ((spine_ids, values), (spine_ids + odd, values + odd), (spine_ids, values + odd),
                           (spine_ids, [None, *values, None])):
        found = PseudonymSet(pa.array(members, pa.string())).positions(pa.array(asked, pa.string()))
        assert found.tolist() == [members.index(v) if v in members else -1 for v in asked]
        ranks = PseudonymSet(pa.array(members, pa.string())).ranks()
        assert [members[i] for i in np.argsort(ranks)] == sorted(members, key=lambda v: v.encode())
        as_dictionary = pa.array(asked, pa.string()).dictionary_encode()
        assert PseudonymSet(pa.array(members, pa.string())).contains(as_dictionary).tolist() == \
            [v in members for v in asked]


@settings(max_examples=150, deadline=None)
@given(heads=st.lists(st.text("ab", min_size=8, max_size=8), unique=True, min_size=1, max_size=20),
       tails=st.lists(st.text("xy", min_size=2, max_size=2), min_size=20, max_size=20), data=st.data())
def test_a_pseudonym_set_searched_by_heads_finds_only_whole_matches(heads, tails, data):
    """Where the first 8 bytes tell the members apart, values are searched by them: a value sharing a member's
    head but not its tail is not that member; members with a shared head are searched as text."""
    members = [head + tail for head, tail in zip(heads, tails)]
    asked = data.draw(st.lists(st.builds(str.__add__, st.sampled_from(heads), st.text("xy", min_size=2, max_size=2)),
                               max_size=40))
    shared = members + [members[0][:8] + ("xx" if members[0][8:] != "xx" else "yy")]  # two with one head
    for spine_ids in (members, shared):
        found = PseudonymSet(pa.array(spine_ids, pa.string())).positions(pa.array(asked, pa.string()))
        assert found.tolist() == [spine_ids.index(v) if v in spine_ids else -1 for v in asked]


@settings(max_examples=150, deadline=None)
@given(prefixes=st.lists(st.text("0f", min_size=8, max_size=8), min_size=1, max_size=3),
       middles=st.lists(st.text("9a", min_size=8, max_size=8), min_size=1, max_size=4), data=st.data())
def test_hex_pseudonyms_sharing_their_first_8_digits_are_found_by_their_first_16(prefixes, middles, data):
    """Pseudonyms (32 hex digits) are searched by their first 16 digits as a number, so members whose first 8
    characters are alike are still told apart; a value sharing a member's first 16 digits but not the rest, or a
    value that is not hex at all, is no member."""
    tails = st.text("0123456789abcdef", min_size=16, max_size=16)
    members = sorted({p + m + data.draw(tails) for p in prefixes for m in middles})
    near = [m[:16] + ("0" if m[16] != "0" else "1") + m[17:] for m in members]
    asked = data.draw(st.lists(st.sampled_from(members + near + ["X" * 32, "G" + members[0][1:]]), max_size=30))
    found = PseudonymSet(pa.array(members, pa.string())).positions(pa.array(asked, pa.string()))
    assert found.tolist() == [members.index(v) if v in members else -1 for v in asked]
    ranks = PseudonymSet(pa.array(members[::-1], pa.string())).ranks()
    assert [members[::-1][i] for i in np.argsort(ranks)] == members


@settings(max_examples=100, deadline=None)
@given(spine_ids=st.lists(hex_ids, unique=True, min_size=1, max_size=40), outsiders=st.lists(hex_ids, max_size=5),
       data=st.data())
def test_setting_persons_keeps_every_other_row_and_the_categories_sorted(spine_ids, outsiders, data):
    """`with_persons`: the rows set get their persons' pseudonyms, every other row keeps its own, and the
    categories (persons of the spine and others, who are not_in_population) stay sorted, new ones merged in."""
    outsiders = [v for v in dict.fromkeys(outsiders) if v not in spine_ids]
    categories = sorted(data.draw(st.sets(st.sampled_from(spine_ids))) | set(outsiders)) or sorted(spine_ids[:1])
    rows = data.draw(st.lists(st.one_of(st.none(), st.sampled_from(categories)), min_size=1, max_size=20))
    at = np.array(sorted(data.draw(st.sets(st.integers(0, len(rows) - 1)))), dtype=np.int64)
    person = np.array(data.draw(st.lists(st.integers(0, len(spine_ids) - 1), min_size=len(at), max_size=len(at))),
                      dtype=np.int64)
    column = pd.Series(pd.Categorical(rows, categories=categories))
    result = with_persons(column, at, person, PseudonymSet(pa.array(spine_ids, pa.string())))
    expected = list(rows)
    for position, who in zip(at, person):
        expected[position] = spine_ids[who]
    assert [None if pd.isna(v) else v for v in result] == expected
    assert list(result.cat.categories) == sorted(set(categories) | {spine_ids[who] for who in person})

