"""Key rotation: the old → new crosswalk maps every person's pseudonym exactly, lives in the secure area only, holds
no identifier, and `reglink keys rotate` takes two passphrases."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from generated_ids import number
from reglink_testing import assert_one_line_error, run_cli

from linkage.changes import load_changes
from linkage.errors import InputError, OutputError
from linkage.rotate import rotate_keys, rotation_crosswalk
from pseudonym.keys import MIN_SCRYPT_N, create_key_file
from pseudonym.pseudonyms import pseudonymise

PROJECT = "rot-2026"
OLD_PASS, NEW_PASS = "old passphrase", "new passphrase"
ENV = {"REGLINK_PASSPHRASE": OLD_PASS, "REGLINK_NEW_PASSPHRASE": NEW_PASS}
PEOPLE = [number(f"{year}{month:02d}{day:02d}", nnn) for year, month, day, nnn in
          [(1981, 12, 18, 987), (2004, 2, 29, 124), (1970, 10, 63, 239), (1999, 1, 1, 2), (2010, 7, 31, 998)]]
REPLACED = number("19990102", 3)  # the fourth person's number before Skatteverket changed it


def pseudonym(value: str, key) -> str:
    return pseudonymise(value, master_key=key, project=PROJECT)


def every_form(identifier: str) -> set[str]:
    return {identifier, identifier[2:], f"{identifier[:8]}-{identifier[8:]}", f"{identifier[2:8]}-{identifier[8:]}"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    return (create_key_file(folder / "old.key", OLD_PASS, scrypt_n=MIN_SCRYPT_N),
            create_key_file(folder / "new.key", NEW_PASS, scrypt_n=MIN_SCRYPT_N))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data folder with a population register and one personnummer change."""
    folder = tmp_path_factory.mktemp("data")
    (folder / "population").mkdir()
    pq.write_table(pa.table({"personnummer": PEOPLE, "kon": ["1", "2", "1", "2", "2"]}),
                   folder / "population" / "population.parquet")
    (folder / "population" / "pnr_changes.csv").write_text(
        f"gammalt_personnr;nytt_personnr;andringsdatum\n{REPLACED};{PEOPLE[3]};2001-03-01\n", encoding="utf-8")
    return folder


def test_crosswalk_maps_every_old_pseudonym_to_the_new_one(keys):
    old, new = (k.master_key for k in keys)
    values = [PEOPLE[0][2:], f"{PEOPLE[1][:8]}-{PEOPLE[1][8:]}", *PEOPLE[2:], PEOPLE[0], "556036-0793", None, "x"]
    crosswalk = rotation_crosswalk(values, old_key=old, new_key=new, project=PROJECT)
    assert crosswalk.column_names == ["old_pseudonym_id", "new_pseudonym_id"]
    rows = crosswalk.to_pylist()
    assert rows == sorted(rows, key=lambda r: r["old_pseudonym_id"])
    assert {(r["old_pseudonym_id"], r["new_pseudonym_id"]) for r in rows} == {
        (pseudonym(p, old), pseudonym(p, new)) for p in PEOPLE}
    again = rotation_crosswalk(list(reversed(values)), old_key=old.secret_bytes(), new_key=new.secret_bytes(),
                               project=PROJECT)
    assert again.equals(crosswalk)


def test_a_replaced_number_maps_to_the_current_persons_new_pseudonym(keys, data_dir):
    old, new = (k.master_key for k in keys)
    crosswalk = rotation_crosswalk(PEOPLE, old_key=old, new_key=new, project=PROJECT,
                                   changes=load_changes(data_dir)).to_pandas()
    assert len(crosswalk) == len(PEOPLE) + 1 and crosswalk["old_pseudonym_id"].is_unique
    mapped = dict(zip(crosswalk["old_pseudonym_id"], crosswalk["new_pseudonym_id"]))
    assert mapped[pseudonym(REPLACED, old)] == mapped[pseudonym(PEOPLE[3], old)] == pseudonym(PEOPLE[3], new)


def test_the_same_key_twice_is_refused(keys):
    with pytest.raises(InputError, match="the same key"):
        rotation_crosswalk(PEOPLE, old_key=keys[0].master_key, new_key=keys[0].master_key, project=PROJECT)


def test_rotate_keys_writes_the_secure_area_once_and_reproducibly(keys, data_dir, tmp_path):
    old, new = (k.master_key for k in keys)
    path = rotate_keys(data_dir, old_key=old, new_key=new, project=PROJECT, secure_dir=tmp_path / "secure")
    assert path == tmp_path / "secure" / f"{PROJECT}.rotation-{old.fingerprint[:8]}-{new.fingerprint[:8]}.parquet"
    assert pq.read_table(path).num_rows == len(PEOPLE) + 1
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    content = path.read_bytes()
    assert not [f for p in [*PEOPLE, REPLACED] for f in every_form(p) if f.encode() in content]
    with pytest.raises(OutputError, match="refusing to overwrite"):
        rotate_keys(data_dir, old_key=old, new_key=new, project=PROJECT, secure_dir=tmp_path / "secure")
    assert path.read_bytes() == content
    elsewhere = rotate_keys(data_dir, old_key=old, new_key=new, project=PROJECT, secure_dir=tmp_path / "other")
    assert elsewhere.read_bytes() == content


def test_cli_rotates_with_two_passphrases(keys, data_dir, tmp_path):
    old, new = keys
    secure = tmp_path / "secure"
    proc = run_cli("keys", "rotate", "--old", old.path, "--new", new.path, "--project", PROJECT, "--data", data_dir,
                   "--secure", secure, env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert f"{len(PEOPLE) + 1} pseudonym(s)" in proc.stderr and "never in an extract" in proc.stderr
    assert old.fingerprint in proc.stderr and new.fingerprint in proc.stderr
    printed = proc.stdout + proc.stderr
    assert not [f for p in [*PEOPLE, REPLACED] for f in every_form(p) if f in printed]
    crosswalk = pd.read_parquet(next(secure.iterdir()))
    expected = {pseudonym(p, old.master_key): pseudonym(p, new.master_key) for p in PEOPLE}
    assert {k: v for k, v in zip(crosswalk["old_pseudonym_id"], crosswalk["new_pseudonym_id"]) if k in expected} \
        == expected


def test_cli_wrong_new_passphrase_is_one_line_and_writes_nothing(keys, data_dir, tmp_path):
    old, new = keys
    proc = run_cli("keys", "rotate", "--old", old.path, "--new", new.path, "--project", PROJECT, "--data", data_dir,
                   "--secure", tmp_path / "secure", env={**ENV, "REGLINK_NEW_PASSPHRASE": OLD_PASS})
    assert f"{new.path}: wrong passphrase" in assert_one_line_error(proc)
    assert not (tmp_path / "secure").exists()


def test_cli_without_the_new_passphrase_and_no_terminal_names_the_variable(keys, data_dir, tmp_path):
    old, new = keys
    env = {k: v for k, v in os.environ.items() if k not in ("REGLINK_NEW_PASSPHRASE", "REGLINK_DEBUG")}
    env["REGLINK_PASSPHRASE"] = OLD_PASS
    proc = subprocess.run([sys.executable, "-m", "linkage.cli", "keys", "rotate", "--old", str(old.path), "--new",
                           str(new.path), "--project", PROJECT, "--data", str(data_dir), "--secure",
                           str(tmp_path / "secure")], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)
    assert "set REGLINK_NEW_PASSPHRASE or run the command in a terminal" in assert_one_line_error(proc)


def test_cli_help_explains_both_passphrases():
    proc = run_cli("keys", "rotate", "--help")
    assert proc.returncode == 0
    assert "REGLINK_PASSPHRASE" in proc.stdout and "REGLINK_NEW_PASSPHRASE" in proc.stdout
