"""Ingesting source registers: typed frames keyed by pseudonym, identifiers dropped, rejects in the secure folder,
every row counted, old numbers mapped, century inferred from each record's own date, temporary IDs grouped within
their kommun — on the real files of a synthetic world and on small hand-made files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concurrent.futures import ThreadPoolExecutor

from linkage.changes import load_changes, to_canonical
from linkage.errors import InputError
from linkage.ingest import EVIDENCE_COLUMNS, Digests, ingest_register
from linkage.io import read_table
from linkage.registers import REGISTERS
from pseudonym.luhn import check_digit
from pseudonym.pseudonyms import HEX_DIGITS, hex_digests, pseudonymise_many

PERSON_REGISTERS = [name for name, r in REGISTERS.items() if r.identifier is not None]
MEASURE_HEADER = "redovisningsar;kommun;personnr;insats_nr;lagrum;beslutsdatum;startdatum;slutdatum;avslutsorsak"


@pytest.fixture(scope="module")
def ingested(small_world, master_key, project, secure_dir):
    changes = load_changes(small_world)
    return {name: ingest_register(name, small_world, key=master_key, project=project, changes=changes,
                                  secure_dir=secure_dir)
            for name in REGISTERS if name != "pnr_changes"}


def written_forms(identifiers: pd.Series) -> set[str]:
    """Every way a register may write these identifiers: as given, and 12/10 digits with and without a dash."""
    forms = set(identifiers.dropna().astype(str))
    digits = [i for i in forms if len(i) == 12 and i.isdigit()]
    for i in digits:
        forms.update({i[:8] + "-" + i[8:], i[2:], i[2:8] + "-" + i[8:]})
    return forms


def pseudonym_of(numbers, key: bytes, project: str) -> pd.Series:
    return pseudonymise_many(pd.Series(numbers, dtype="string"), master_key=key, project=project)


# ------------------------------------------------------------------------------------------------ world

def test_every_row_is_counted(ingested, small_world, truth):
    records = truth["records"].groupby("dataset").size()
    for name, ing in ingested.items():
        c = ing.counts
        assert c.rows_read == c.rows_kept + c.rows_rejected + c.duplicates_dropped, name
        assert len(ing.frame) == c.rows_kept, name
        assert len(ing.evidence) == sum(c.without_id.values()), name
        if name in records:
            assert c.rows_read == records[name], name
        assert c.rows_rejected == len(pd.read_csv(ing.rejects)), name


def test_exact_duplicates_are_dropped_and_nothing_else(ingested, small_world, truth):
    errors = truth["errors"]
    for name, ing in ingested.items():
        planted = set(errors[(errors["dataset"] == name) & (errors["kind"] == "duplicate_row")]["row"])
        dropped = set(ing.duplicate_rows.tolist())
        assert planted <= dropped, name
        if dropped:  # the rest repeat an earlier row too (the generator may make two identical rows by chance)
            raw = read_table(ing.register.file(small_world)).table.to_pandas()
            repeats = set(np.flatnonzero(raw.duplicated(keep="first").to_numpy()) + 1)
            assert dropped == repeats, name


def test_no_direct_identifier_column_survives_and_columns_are_typed(ingested):
    for name, ing in ingested.items():
        codebook = ing.register.codebook
        secret = {v.name for v in codebook.with_role("direct_identifier")}
        assert not secret & set(ing.frame.columns), name
        assert set(ing.frame.columns) - {"row", "pseudonym_id", "birth_date", "sex", "id_kind"} <= set(
            codebook.names), name
        for variable in codebook.variables:
            if variable.name in ing.frame and variable.type == "date":
                assert str(ing.frame[variable.name].dtype) == "datetime64[ns]", (name, variable.name)
            if variable.name in ing.frame and variable.type == "integer":
                assert str(ing.frame[variable.name].dtype) == "int64[pyarrow]", (name, variable.name)
    patient = ingested["patient"].frame
    assert list(patient.columns[:2]) == ["row", "pseudonym_id"]
    assert list(patient.columns[-3:]) == ["birth_date", "sex", "id_kind"]
    assert list(ingested["patient"].evidence.columns) == list(EVIDENCE_COLUMNS)


def test_no_raw_identifier_appears_in_any_frame(ingested, truth):
    forms = written_forms(truth["identifiers"]["identifier"])
    assert len(forms) > 10_000
    for name, ing in ingested.items():
        for frame in (ing.frame, ing.evidence):
            for column in frame.columns:
                if frame[column].dtype == object or "string" in str(frame[column].dtype):
                    values = set(frame[column].dropna().astype(str).str.strip())
                    assert not values & forms, (name, column)


def test_pseudonyms_are_the_current_persons_and_old_numbers_are_mapped(ingested, truth, master_key, project):
    current = truth["persons"].set_index("person_id")["pnr"]
    errors = truth["errors"]
    records = truth["records"]
    mapped_in_all = 0
    for name in ("placement_measure", "grades_year9", "patient", "drugs", "upper_secondary"):
        frame = ingested[name].frame
        true = records[records["dataset"] == name].set_index("row")["person_id"]
        old_rows = errors[(errors["dataset"] == name) & (errors["kind"] == "old_personnummer")]["row"]
        rows = frame[frame["pseudonym_id"].notna()]
        expected = pseudonym_of(current.reindex(true.reindex(rows["row"].to_numpy()).to_numpy()).to_numpy(),
                                master_key, project)
        assert (rows["pseudonym_id"].to_numpy(dtype=object) == expected.to_numpy(dtype=object)).all(), name
        assert set(old_rows) <= set(rows["row"]), name
        assert ingested[name].counts.old_numbers_mapped >= len(old_rows)
        mapped_in_all += len(old_rows)
    assert mapped_in_all > 0


def test_rows_without_a_usable_identifier_keep_evidence_but_no_pseudonym(ingested, truth):
    patient = ingested["patient"]
    errors = truth["errors"]
    reserve = errors[(errors["dataset"] == "patient") & (errors["kind"] == "reserve_number")]["row"]
    without = patient.frame[patient.frame["pseudonym_id"].isna()]
    assert set(reserve) - set(patient.duplicate_rows) <= set(without["row"])
    assert set(without["id_kind"].astype(str)) <= {"reserve", "interim", "invalid"}
    assert patient.evidence["row"].tolist() == without["row"].tolist()
    assert patient.evidence["group"].notna().all() and patient.evidence["event_date"].notna().all()
    typo = patient.evidence[patient.evidence["id_kind"] == "invalid"]
    assert len(typo) and typo["neighbours"].notna().mean() > 0.9  # the true number is one digit away


def test_temporary_ids_group_within_their_kommun(ingested, truth):
    temporary = truth["identifiers"][truth["identifiers"]["kind"] == "temporary_id"]
    assert len(temporary)
    groups = {}
    for name in ("placement_child", "placement_measure", "placement_placement"):
        evidence = ingested[name].evidence
        interim = evidence[evidence["id_kind"] == "interim"]
        frame = ingested[name].frame.set_index("row")
        kommun = frame.loc[interim["row"], "kommun"].to_numpy()
        true = truth["records"][truth["records"]["dataset"] == name].set_index("row")["person_id"]
        for group, k, person in zip(interim["group"], kommun, true.reindex(interim["row"]).to_numpy()):
            groups.setdefault(group, set()).add((k, person))
    # One group is one child in one kommun, across the three files; as many groups as (kommun, temporary ID).
    assert all(len(members) == 1 for members in groups.values())
    assert len(groups) == len(temporary.drop_duplicates(["identifier", "kommun"]))


def test_the_population_is_read_without_names(ingested):
    population = ingested["population"].frame
    assert not {"fornamn", "efternamn", "personnummer"} & set(population.columns)
    assert population["pseudonym_id"].notna().all() and population["pseudonym_id"].is_unique


def test_streaming_in_small_batches_gives_the_same_frame(ingested, small_world, master_key, project, secure_dir):
    changes = load_changes(small_world)
    for name in ("patient", "grades_year9"):
        batched = ingest_register(name, small_world, key=master_key, project=project, changes=changes,
                                  secure_dir=secure_dir / "batched", batch_rows=997, workers=2)
        whole = ingested[name]
        pd.testing.assert_frame_equal(batched.frame, whole.frame)
        pd.testing.assert_frame_equal(batched.evidence, whole.evidence)
        assert batched.counts == whole.counts


def test_columns_limit_what_is_kept_never_which_rows(ingested, small_world, master_key, project, secure_dir):
    changes = load_changes(small_world)
    slim = ingest_register("drugs", small_world, key=master_key, project=project, changes=changes,
                           secure_dir=secure_dir, columns=["atc", "edatum"])
    assert list(slim.frame.columns) == ["row", "pseudonym_id", "atc", "edatum", "birth_date", "sex", "id_kind"]
    assert slim.counts == ingested["drugs"].counts
    with pytest.raises(InputError, match="'pnr' is a direct identifier"):
        ingest_register("drugs", small_world, key=master_key, project=project, secure_dir=secure_dir,
                        columns=["pnr"])


# ------------------------------------------------------------------------------------------------ hand-made files

def pnr(yymmdd: str, serial: int) -> str:
    """YYMMDD-NNNC with a valid check digit (generated numbers, no real person)."""
    core = f"{yymmdd}{serial:03d}"
    return f"{yymmdd}-{serial:03d}{check_digit(core)}"


def write_measures(folder: Path, rows: list[str]) -> Path:
    path = folder / "placement" / "placement_measure.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join([MEASURE_HEADER, *rows]) + "\n").encode("latin-1"))
    return path


def test_the_century_comes_from_each_records_own_date(tmp_path, master_key, project):
    born_1920 = pnr("200105", 123)  # 2020-01-05 is after a 2019 decision: the child must be born 1920
    write_measures(tmp_path, [
        f"2019;0180;{born_1920};1;1;20190501;20190501;;",
        f"2021;0180;{born_1920};1;1;20210301;20210301;;",
    ])
    ing = ingest_register("placement_measure", tmp_path, key=master_key, project=project,
                          secure_dir=tmp_path / "secure")
    digits = born_1920.replace("-", "")
    expected = pseudonym_of([f"19{digits}", f"20{digits}"], master_key, project)
    assert ing.frame["pseudonym_id"].tolist() == expected.tolist()
    assert ing.frame["birth_date"].dt.date.tolist() == [date(1920, 1, 5), date(2020, 1, 5)]


def test_rejects_name_row_column_and_reason_and_go_to_the_secure_folder_only(tmp_path, master_key, project):
    child = pnr("150310", 246)
    broken = child[:-1] + str((int(child[-1]) + 1) % 10)
    rows = [
        f"2019;0180;{child};1;1;20190501;20190501;;",  # 1 kept
        f"2019;0180;{child};1;1;20190501;20190501;;",  # 2 exact duplicate of 1
        f"2019;0180;{child};2;9;20190601;20190601;;",  # 3 lagrum 9 is no code
        "2019;0180;556036-0793;1;1;20190501;20190501;;",  # 4 an organisation number (Saab AB)
        "2019;0180;;1;1;20190501;20190501;;",  # 5 no identifier
        f"2019;0180;{child};1;1;20190501",  # 6 too few fields
        "2019;0180;20180301-TA12;1;1;20190501;20190501;;",  # 7 temporary ID in 0180
        "2019;1280;20180301-TA12;1;1;20190501;20190501;;",  # 8 the same ID in another kommun: another child
        "2020;0180;20180301-TA12;1;1;20200501;20200501;;",  # 9 the child of row 7 again
        f"2019;0180;{broken};3;1;20190701;20190701;;",  # 10 broken check digit: kept, no pseudonym
        "2019;0180;991231-0000;1;1;20190501;20190501;;",  # 11 födelsenummer 000 does not exist
    ]
    write_measures(tmp_path, rows)
    secure = tmp_path / "secure"
    ing = ingest_register("placement_measure", tmp_path, key=master_key, project=project, secure_dir=secure)
    c = ing.counts
    assert (c.rows_read, c.rows_kept, c.rows_rejected, c.duplicates_dropped) == (11, 5, 5, 1)
    assert ing.duplicate_rows.tolist() == [2]
    assert ing.frame["row"].tolist() == [1, 7, 8, 9, 10]
    assert ing.frame["pseudonym_id"].notna().tolist() == [True, False, False, False, False]
    assert ing.rejects.parent == secure and ing.rejects.name == "placement_measure.rejects.csv"
    assert (secure.stat().st_mode & 0o077) == 0
    rejects = pd.read_csv(ing.rejects, dtype=str)
    assert rejects[["row", "column", "reason"]].fillna("").values.tolist() == [
        ["3", "lagrum", "unknown_category"],
        ["4", "personnr", "organisationsnummer"],
        ["5", "personnr", "missing_value"],
        ["6", "", "wrong_number_of_fields"],
        ["11", "personnr", "identifier_format"],
    ]
    assert c.rejected == {"identifier_format": 1, "missing_value": 1, "organisationsnummer": 1,
                          "unknown_category": 1, "wrong_number_of_fields": 1}
    evidence = ing.evidence.set_index("row")
    assert evidence.loc[7, "group"] == evidence.loc[9, "group"] != evidence.loc[8, "group"]
    assert evidence.loc[7, "birth_date"].date() == date(2018, 3, 1) and evidence.loc[7, "sex"] == 1
    assert evidence.loc[10, "birth_date"].date() == date(2015, 3, 10)
    assert pd.isna(evidence.loc[7, "neighbours"]) and len(evidence.loc[10, "neighbours"].split(",")) >= 5
    assert child not in " ".join(map(str, ing.frame.astype(str).to_numpy().ravel()))


def test_input_problems_are_one_line_errors_without_values(tmp_path, master_key, project):
    with pytest.raises(InputError, match="placement_measure.csv: no such file"):
        ingest_register("placement_measure", tmp_path, key=master_key, project=project, secure_dir=tmp_path / "s")
    path = write_measures(tmp_path, [f"2019;0180;{pnr('150310', 246)};1;1;20190501;20190501;;"])
    path.write_bytes(path.read_bytes().replace(b"avslutsorsak", b"secret_extra"))
    with pytest.raises(InputError, match="column 'secret_extra': unknown column") as error:
        ingest_register("placement_measure", tmp_path, key=master_key, project=project, secure_dir=tmp_path / "s")
    assert "150310" not in str(error.value)
    (tmp_path / "health").mkdir()
    (tmp_path / "health" / "drugs.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="drugs.parquet: is not a readable Parquet file"):
        ingest_register("drugs", tmp_path, key=master_key, project=project, secure_dir=tmp_path / "s")


def test_row_numbers_stay_true_across_batches_and_damaged_lines(tmp_path, master_key, project):
    lines, bad = [], {3, 200, 201, 450}
    for row in range(1, 501):
        number = pnr(f"08{(row % 12) + 1:02d}15", row)
        lines.append(f"{number}" if row in bad else f"{number.replace('-', '')};12345678;2024;SV;C")
    path = tmp_path / "school" / "grades_year9.csv"
    path.parent.mkdir()
    path.write_text("personnr;skolenhetskod;avgangsar;amne;betyg\n" + "\n".join(lines) + "\n", encoding="latin-1")
    ing = ingest_register("grades_year9", tmp_path, key=master_key, project=project, secure_dir=tmp_path / "s",
                          batch_rows=20)  # blocks of about 1,280 bytes: dozens of batches
    assert ing.frame["row"].tolist() == [r for r in range(1, 501) if r not in bad]
    assert pd.read_csv(ing.rejects)["row"].tolist() == sorted(bad)
    assert ing.counts.rows_read == 500 and ing.counts.rejected == {"wrong_number_of_fields": 4}


def test_each_distinct_number_is_pseudonymised_once_and_held_once(ingested, small_world, master_key, project,
                                                                    secure_dir, monkeypatch):
    import linkage.ingest

    hashed = []
    real = linkage.ingest.hex_digests
    monkeypatch.setattr(linkage.ingest, "hex_digests", lambda key, numbers: hashed.append(len(numbers)) or
                        real(key, numbers))
    again = ingest_register("drugs", small_world, key=master_key, project=project, changes=load_changes(small_world),
                            secure_dir=secure_dir / "again", batch_rows=5000, workers=2)
    pseudonyms = again.frame["pseudonym_id"]
    assert isinstance(pseudonyms.dtype, pd.CategoricalDtype)
    categories = list(pseudonyms.cat.categories)
    assert categories == sorted(categories) and pseudonyms.cat.codes.max() == len(categories) - 1
    distinct = pseudonyms.nunique()
    typos = again.evidence["neighbours"].notna().sum()  # a broken number's neighbours are hashed on their own
    assert distinct <= sum(hashed) <= distinct + 10 * typos and distinct < len(pseudonyms) / 5
    pd.testing.assert_frame_equal(again.frame, ingested["drugs"].frame)


def test_repeats_are_found_across_many_batches_however_far_apart():
    """150 batches into a table of 8 slots: it grows many times, and rows seen long before are still found."""
    from linkage.ingest import _row_hashes, _Seen

    rng = np.random.default_rng(3)
    rows = pd.DataFrame({"a": rng.integers(0, 50, 6000), "b": rng.choice(["x", "y", None], 6000),
                         "c": rng.integers(0, 40, 6000).astype(float)})
    seen, found = _Seen(slots=8), []
    for start in range(0, len(rows), 40):
        batch = pa.Table.from_pandas(rows.iloc[start:start + 40], preserve_index=False)
        found.append(seen.repeats(_row_hashes(batch)))
    assert np.concatenate(found).tolist() == rows.duplicated(keep="first").tolist()
    assert seen.count == (~rows.duplicated()).sum() <= 0.75 * len(seen.slots) / 12


def test_digests_shared_by_threads_are_each_numbers_own_hmac():
    """Registers share one Digests: overlapping lookups from threads, runs merged as they pile up, and every number
    still gets its own pseudonym."""
    key = bytes(range(32))
    rng = np.random.default_rng(3)
    batches = [np.unique(rng.integers(190001010000, 190001019999, 400)) for _ in range(40)]  # > 8 runs: merged
    digests = Digests(key)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(digests.of, batches))
    for numbers, found in zip(batches, results, strict=True):
        assert (found == hex_digests(key, to_canonical(numbers)).reshape(-1, HEX_DIGITS)).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text("0123456789abcdef", min_size=32, max_size=32), max_size=40, unique=True),
       st.integers(0, 31))
def test_hex_order_sorts_pseudonyms_as_text_even_when_their_first_16_digits_tie(texts, shared):
    from linkage.ingest import _hex_order

    # Give pairs the same first 16 digits (and more) so the order must come from the digits after them.
    texts = list(dict.fromkeys(t if i % 2 == 0 or not texts else texts[i - 1][:shared] + t[shared:]
                               for i, t in enumerate(texts)))
    digits = np.frombuffer("".join(texts).encode(), dtype=np.uint8).reshape(-1, HEX_DIGITS)
    assert [texts[i] for i in _hex_order(digits)] == sorted(texts)


def test_registers_sharing_digests_pseudonymise_as_alone(small_world, master_key, project, secure_dir):
    """Registers ingested with one Digests (as link_world does) give each row the pseudonym it gets when its register
    is ingested alone, with categories of their own, sorted."""
    from pseudonym.pseudonyms import project_key

    digests, changes = Digests(project_key(master_key, project)), load_changes(small_world)
    for name in ("population", "drugs"):
        shared, alone = (ingest_register(name, small_world, key=master_key, project=project, changes=changes,
                                         secure_dir=secure_dir / folder, digests=d).frame["pseudonym_id"]
                         for folder, d in (("shared", digests), ("alone", None)))
        assert shared.astype("string").equals(alone.astype("string"))
        assert shared.cat.categories.is_monotonic_increasing and shared.cat.categories.is_unique


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "a\0", "b", "é" * 40, None]), st.integers(0, 2)), max_size=120),
       st.integers(1, 25))
def test_repeats_are_exact_repeats_of_whole_rows(rows, batch):
    from linkage.ingest import _row_hashes, _Seen

    frame = pd.DataFrame(rows, columns=["text", "number"], dtype=object).astype({"number": "Int64"})
    seen, found = _Seen(slots=4), []
    for start in range(0, len(frame), batch):
        table = pa.Table.from_pandas(frame.iloc[start:start + batch], preserve_index=False)
        found.append(seen.repeats(_row_hashes(table)))
    earlier: set[tuple] = set()  # not pandas' duplicated: its string hashtable stops at a NUL ("a" == "a\0")
    expected = [row in earlier or earlier.add(row) is not None for row in rows]
    assert (np.concatenate(found).tolist() if found else []) == expected


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=80), st.integers(1, 20), st.booleans())
def test_repeats_when_one_hash_ties_for_every_row_are_decided_by_the_other(values, batch, second_ties):
    """Force every row to tie on one hash (on the second, every row also probes from the same slot, so the
    probes run long and wrap around the table), so that only the other hash can tell rows apart. The table keeps
    the second hash but for its lowest bit, and 0 (its mark of an empty slot) is a hash like any other."""
    import linkage.ingest
    from linkage.ingest import _Seen

    def tied(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        distinct = table["v"].to_numpy().astype(np.uint64)
        if second_ties:
            return distinct << np.uint64(32), np.zeros(len(distinct), np.uint64)
        return np.zeros(len(distinct), np.uint64), distinct << np.uint64(1)

    seen, found, real = _Seen(slots=2), [], linkage.ingest._row_hashes
    linkage.ingest._row_hashes = tied
    try:
        for start in range(0, len(values), batch):
            found.append(seen.repeats(linkage.ingest._row_hashes(pa.table({"v": values[start:start + batch]}))))
    finally:
        linkage.ingest._row_hashes = real
    assert (np.concatenate(found).tolist() if found else []) == pd.Series(values, dtype="int64").duplicated().tolist()


def test_the_row_table_refuses_buffers_that_do_not_fit_instead_of_reading_past_them():
    """linkage/_rowset.c checks every buffer's size (and every code against its tables, every text offset against its
    data) before its loops run."""
    from linkage import _rowset

    rows = np.arange(4, dtype=np.uint64)
    with pytest.raises(ValueError, match="power of two"):
        _rowset.add(np.zeros(3 * 12, np.uint8), rows, rows, np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="must match"):
        _rowset.add(np.zeros(8 * 12, np.uint8), rows, rows[:3], np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="power of two"):
        _rowset.rehash(np.zeros(4 * 12, np.uint8), np.zeros(5 * 12, np.uint8))
    first, second = np.zeros(4, np.uint64), np.zeros(4, np.uint64)
    table = np.arange(3, dtype=np.uint64)
    with pytest.raises(ValueError, match="outside the tables"):
        _rowset.mix_codes(first, second, table, table, np.array([0, 1, 3, 0], np.int32), 3)
    with pytest.raises(ValueError, match="one per row"):
        _rowset.mix_codes(first, second, table, table, np.array([0, 1], np.int32), 3)
    with pytest.raises(ValueError, match="one per row"):
        _rowset.mix_bits(first, second, rows, np.zeros(3, np.uint8), 1, 2, 3, 5)
    with pytest.raises(ValueError, match="one length"):
        _rowset.mix_bits(first, second[:2], rows, b"", 1, 2, 3, 5)
    hashes = np.zeros(2, np.uint64)
    with pytest.raises(ValueError, match="rise within the data"):
        _rowset.hash_texts(np.array([0, 3, 9], np.int64), b"abcdef", 1, 2, hashes, hashes.copy())
    with pytest.raises(ValueError, match="rise within the data"):
        _rowset.hash_texts(np.array([0, 4, 2], np.int64), b"abcdef", 1, 2, hashes, hashes.copy())
    with pytest.raises(ValueError, match="one more than"):
        _rowset.hash_texts(np.array([0, 3], np.int64), b"abcdef", 1, 2, hashes, hashes.copy())

