"""The code key (kodnyckel): encrypted, authenticated, bound to a key and a project, never overwritten."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from generated_ids import number

from linkage.extract.codekey import CodeKeyError, read_code_key, write_code_key
from linkage.extract.leakguard import find_identifiers
from pseudonym import MasterKey

PROJECT = "demo-2026"
PERSONS = [number(f"20{y:02d}0{m}1{d}", n) for y, m, d, n in [(1, 3, 4, 12), (2, 5, 1, 377), (5, 9, 7, 908)]]


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def table() -> pa.Table:
    return pa.table({"pseudonym_id": [os.urandom(16).hex() for _ in PERSONS], "personnummer": PERSONS})


@pytest.fixture
def written(tmp_path, key, table) -> Path:
    return write_code_key(tmp_path / f"{PROJECT}.codekey", table, master_key=key, project=PROJECT)


def test_round_trip_with_the_same_key_and_project(written, key, table):
    assert read_code_key(written, master_key=key, project=PROJECT).equals(table)
    assert read_code_key(written, master_key=MasterKey(key), project=PROJECT).equals(table)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert [p.name for p in written.parent.iterdir()] == [written.name]  # no temporary file left behind


def test_the_file_holds_no_readable_identifier(written):
    data = written.read_bytes()
    assert not find_identifiers(data)
    assert not any(p.encode() in data or p[2:].encode() in data for p in PERSONS)


def test_the_layout_is_the_documented_one(written, key, table):
    """Decrypt with the primitives alone: HKDF-SHA256(key, info "reglink/v1/codekey/" + project), AES-256-GCM."""
    data = written.read_bytes()
    header_end = 16 + 1 + 16 + 1 + len(PROJECT)
    assert data[:16] == b"REGLINK-CODEKEY\n" and data[16] == 1
    assert data[17:33] == MasterKey(key).fingerprint.encode() and data[34:header_end] == PROJECT.encode()
    derived = HKDF(hashes.SHA256(), 32, None, b"reglink/v1/codekey/" + PROJECT.encode()).derive(key)
    plain = AESGCM(derived).decrypt(data[header_end:header_end + 12], data[header_end + 12:], data[:header_end])
    assert pq.read_table(pa.BufferReader(plain)).equals(table)


def test_a_code_key_is_never_overwritten(written, key, table):
    before = written.read_bytes()
    with pytest.raises(CodeKeyError, match="exists already; refusing to overwrite"):
        write_code_key(written, table.slice(0, 1), master_key=key, project=PROJECT)
    assert written.read_bytes() == before


def test_two_writes_of_the_same_table_differ(tmp_path, key, table):
    first = write_code_key(tmp_path / "a.codekey", table, master_key=key, project=PROJECT).read_bytes()
    second = write_code_key(tmp_path / "b.codekey", table, master_key=key, project=PROJECT).read_bytes()
    assert first[:40] == second[:40] and first[40:] != second[40:]  # same header, fresh nonce


def cut(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("damage", "expected"), [
    (lambda p: flip(p, -30), "damaged, truncated or tampered with"),
    (lambda p: flip(p, 50), "damaged, truncated or tampered with"),  # the nonce
    (lambda p: cut(p, len(p.read_bytes()) - 1), "damaged, truncated or tampered with"),
    (lambda p: cut(p, 45), "truncated code key"),
    (lambda p: cut(p, 10), "is not a reglink code key"),
    (lambda p: p.write_bytes(b"PAR1" + bytes(100)), "is not a reglink code key"),
    (lambda p: flip(p, 16), "unsupported code key version"),
    (lambda p: flip(p, 36), "is the code key of project"),
])
def test_damage_is_detected(written, key, damage, expected):
    damage(written)
    with pytest.raises(CodeKeyError, match=expected) as caught:
        read_code_key(written, master_key=key, project=PROJECT)
    assert not find_identifiers(str(caught.value))


def test_a_wrong_key_or_project_is_named_by_fingerprint_and_project(written, key):
    other = MasterKey(os.urandom(32))
    with pytest.raises(CodeKeyError, match=f"fingerprint {MasterKey(key).fingerprint}, not {other.fingerprint}"):
        read_code_key(written, master_key=other, project=PROJECT)
    with pytest.raises(CodeKeyError, match="is the code key of project 'demo-2026', not 'demo-2027'"):
        read_code_key(written, master_key=key, project="demo-2027")


def test_only_the_two_columns_are_accepted(tmp_path, key, table):
    with pytest.raises(CodeKeyError, match="exactly the columns pseudonym_id, personnummer"):
        write_code_key(tmp_path / "x.codekey", table.append_column("kon", pa.array([1, 2, 1])), master_key=key,
                       project=PROJECT)
    assert not (tmp_path / "x.codekey").exists()


def test_a_missing_folder_is_an_error(tmp_path, key, table):
    with pytest.raises(CodeKeyError, match="its folder does not exist"):
        write_code_key(tmp_path / "nowhere" / "x.codekey", table, master_key=key, project=PROJECT)
