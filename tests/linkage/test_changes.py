"""Personnummer changes: chains resolve to the current number, cycles and conflicts are errors naming rows only."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.changes import NO_CHANGES, load_changes, resolve_changes, to_canonical, to_integers
from linkage.errors import InputError
from pseudonym.luhn import check_digit


def number(yyyymmdd: str, serial: int) -> int:
    """A valid 12-digit personnummer (generated, no real person) as an integer."""
    first = f"{yyyymmdd[2:]}{serial:03d}"
    return int(f"{yyyymmdd}{serial:03d}{check_digit(first)}")


A, B, C, D = (number("19990101", s) for s in (101, 202, 303, 404))


def test_a_chain_resolves_every_old_number_to_the_last_one():
    changes = resolve_changes([A, B, D], [B, C, A])  # D -> A -> B -> C
    assert dict(zip(changes.old.tolist(), changes.current.tolist())) == {A: C, B: C, D: C}


def test_resolve_maps_canonical_numbers_and_says_where():
    changes = resolve_changes([A, B], [B, C])
    canonical = to_canonical(np.array([A, C, D, B]))
    canonical = np.r_[canonical, np.array([b""], dtype="S12")]
    mapped, changed = changes.resolve(canonical)
    assert changed.tolist() == [True, False, False, True, False]
    assert to_integers(mapped).tolist() == [C, C, D, C, 0]
    assert NO_CHANGES.resolve(canonical)[1].sum() == 0


def test_a_cycle_is_an_error_naming_the_rows_of_the_change_file_never_a_number():
    with pytest.raises(InputError) as error:
        resolve_changes([D, A, B, C], [A, B, C, A])  # D leads into the cycle A -> B -> C -> A (rows 2-4)
    message = str(error.value)
    assert "cycle" in message and "rows 2, 3, 4" in message
    assert not any(str(n) in message or str(n)[2:] in message for n in (A, B, C, D))


def test_a_number_changed_into_itself_or_into_two_numbers_is_an_error():
    with pytest.raises(InputError, match="cycle.*rows 2"):
        resolve_changes([A, B], [B, B])
    with pytest.raises(InputError, match="rows 1 and 3 change the same old number to two different numbers"):
        resolve_changes([A, B, A], [B, C, C])


def test_exact_repeats_count_once():
    changes = resolve_changes([A, A, B], [B, B, C])
    assert changes.rows == 3 and changes.repeated == 1 and len(changes) == 2


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=30, unique=True), st.integers(1, 5))
def test_random_chains_resolve_to_their_ends(nodes, chains):
    """Split distinct numbers into chains; every number but the last of its chain maps to that last one."""
    numbers = [number("20050505", 100 + n) for n in nodes]
    parts = np.array_split(np.array(numbers), min(chains, len(numbers)))
    old = [int(x) for part in parts for x in part[:-1]]
    new = [int(x) for part in parts for x in part[1:]]
    order = np.random.default_rng(len(nodes)).permutation(len(old))
    changes = resolve_changes(np.array(old, dtype=np.int64)[order], np.array(new, dtype=np.int64)[order])
    expected = {int(x): int(part[-1]) for part in parts for x in part[:-1]}
    assert dict(zip(changes.old.tolist(), changes.current.tolist())) == expected


def test_the_synthetic_change_file_loads_and_maps_to_current_numbers(small_world, truth):
    changes = load_changes(small_world)
    ids = truth["identifiers"]
    current = ids[ids["kind"] == "personnummer"].set_index("person_id")["identifier"]
    held = ids[ids["kind"].isin(["old_personnummer", "samordningsnummer"])]
    held = held[held["person_id"].isin(current.index)]
    mapped, replaced = changes.resolve(held["identifier"].to_numpy().astype("S12"))
    # Every old number (and every samordningsnummer later replaced) resolves to the person's current number.
    assert replaced.sum() >= (held["kind"] == "old_personnummer").sum() > 0
    assert (mapped[replaced].astype(str) == current.reindex(held["person_id"][replaced]).to_numpy()).all()


def test_a_damaged_change_file_is_an_error_naming_row_and_column(tmp_path):
    (tmp_path / "population").mkdir()
    path = tmp_path / "population" / "pnr_changes.csv"
    path.write_text(f"gammalt_personnr,nytt_personnr,andringsdatum\n{A},{B},2001-01-01\n{B + 1},{C},2002-01-01\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as error:
        load_changes(tmp_path)
    assert "row 2, column 'gammalt_personnr'" in str(error.value) and str(B + 1) not in str(error.value)
    path.write_text(f"gammalt_personnr,nytt_personnr,andringsdatum\n{A},{B},2001-01-01\n{B},{A},2002-01-01\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match="cycle .rows 1, 2 of the change file"):
        load_changes(tmp_path)


@given(st.lists(st.integers(0, 10**12 - 1), max_size=50))
def test_canonical_text_is_the_number_in_twelve_digits_and_back(numbers):
    canonical = to_canonical(np.array(numbers, dtype=np.int64))
    assert canonical.dtype == np.dtype("S12")
    assert [c.decode() for c in canonical] == [f"{n:012d}" for n in numbers]
    assert list(to_integers(canonical)) == numbers
