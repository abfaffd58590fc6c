"""Encrypted key files: round trip, tamper detection, refusals, and nothing secret in reprs or messages."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from datetime import UTC, datetime

import pytest

from pseudonym.errors import PseudonymError
from pseudonym.keys import MIN_SCRYPT_N, KeyFileError, MasterKey, create_key_file, open_key_file

FAST = MIN_SCRYPT_N  # the floor the format accepts; keeps the tests quick
WHEN = datetime(2026, 1, 31, 12, 30, tzinfo=UTC)


@pytest.fixture
def key_path(tmp_path):
    path = tmp_path / "project.key"
    create_key_file(path, "correct horse", created=WHEN, scrypt_n=FAST)
    return path


def test_round_trip_gives_the_same_key_fingerprint_and_date(tmp_path):
    master = MasterKey.generate()
    path = tmp_path / "k.key"
    made = create_key_file(path, "pass phrase", created=WHEN, master_key=master, scrypt_n=FAST)
    opened = open_key_file(path, "pass phrase")
    assert opened.master_key == master == made.master_key
    assert opened.fingerprint == master.fingerprint
    assert opened.created == WHEN


def test_file_is_private_versioned_json_without_the_key(key_path):
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    document = json.loads(key_path.read_text())
    assert document["format"] == "reglink-key" and document["version"] == 1
    assert document["kdf"]["name"] == "scrypt" and document["kdf"]["n"] >= 2**15
    assert document["kdf"]["r"] == 8 and document["kdf"]["p"] == 1
    assert document["cipher"]["name"] == "AES-256-GCM"
    assert document["created"] == "2026-01-31T12:30:00Z"
    secret = open_key_file(key_path, "correct horse").master_key.secret_bytes()
    raw = key_path.read_bytes()
    assert secret not in raw and secret.hex().encode() not in raw and base64.b64encode(secret) not in raw


def test_fingerprint_is_documented_domain_separated_sha256():
    master = MasterKey(bytes(range(32)))
    expected = hashlib.sha256(b"reglink/v1/fingerprint\x00" + bytes(range(32))).hexdigest()[:16]
    assert master.fingerprint == expected
    assert master.fingerprint != hashlib.sha256(bytes(range(32))).hexdigest()[:16]


def test_repr_and_str_never_show_the_bytes():
    master = MasterKey(bytes(range(32)))
    for text in (repr(master), str(master), f"{master}", repr([master])):
        assert bytes(range(32)).hex() not in text and "\\x01\\x02" not in text
        assert master.fingerprint in text


def test_salts_and_nonces_differ_between_files(tmp_path):
    master = MasterKey.generate()
    docs = [json.loads(create_key_file(tmp_path / f"{i}.key", "pp", master_key=master, scrypt_n=FAST)
                       .path.read_text()) for i in range(2)]
    assert docs[0]["kdf"]["salt"] != docs[1]["kdf"]["salt"]
    assert docs[0]["ciphertext"] != docs[1]["ciphertext"]


def test_wrong_passphrase_is_one_plain_message(key_path):
    with pytest.raises(KeyFileError) as info:
        open_key_file(key_path, "wrong horse")
    message = str(info.value)
    assert "wrong passphrase or damaged" in message and "\n" not in message
    assert isinstance(info.value, PseudonymError)


@pytest.mark.parametrize("edit", [
    lambda d: d.update(created="2020-01-01T00:00:00Z"),
    lambda d: d.update(fingerprint="0" * 16),
    lambda d: d["kdf"].update(r=4),
    lambda d: d["kdf"].update(n=2**16),
    lambda d: d["kdf"].update(salt=base64.b64encode(b"\x00" * 16).decode()),
    lambda d: d["cipher"].update(nonce=base64.b64encode(b"\x00" * 12).decode()),
    lambda d: d.update(ciphertext=base64.b64encode(
        bytes([base64.b64decode(d["ciphertext"])[0] ^ 1]) + base64.b64decode(d["ciphertext"])[1:]).decode()),
], ids=["created", "fingerprint", "r", "n", "salt", "nonce", "ciphertext"])
def test_any_edit_of_header_or_ciphertext_is_detected(key_path, edit):
    document = json.loads(key_path.read_text())
    edit(document)
    key_path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="wrong passphrase or damaged"):
        open_key_file(key_path, "correct horse")


def test_reformatting_the_json_is_not_an_edit(key_path):
    key_path.write_text(json.dumps(json.loads(key_path.read_text()), indent=None, sort_keys=True))
    assert open_key_file(key_path, "correct horse").created == WHEN


def test_never_overwrites(key_path):
    before = key_path.read_bytes()
    with pytest.raises(KeyFileError, match="exists already; refusing to overwrite"):
        create_key_file(key_path, "other", scrypt_n=FAST)
    assert key_path.read_bytes() == before


@pytest.mark.parametrize(("content", "reason"), [
    (None, "no such key file"),
    (b"", "not a reglink key file"),
    (b"\xff\xfe binary", "not a reglink key file"),
    (b'{"format": "something-else", "version": 1}', "not a reglink key file"),
    (b'[1, 2, 3]', "not a reglink key file"),
    (b'{"format": "reglink-key", "version": 9}', "unsupported key file version 9"),
    (b'{"format": "reglink-key", "version": 1}', "not a reglink key file"),
])
def test_files_that_are_not_key_files(tmp_path, content, reason):
    path = tmp_path / "x.key"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(KeyFileError, match=reason) as info:
        open_key_file(path, "pp")
    assert "\n" not in str(info.value)


def test_a_header_asking_for_absurd_scrypt_memory_is_refused_before_deriving(key_path):
    document = json.loads(key_path.read_text())
    document["kdf"]["n"] = 2**30
    key_path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="not a reglink key file"):
        open_key_file(key_path, "correct horse")


def test_empty_passphrase_and_weak_cost_are_refused(tmp_path):
    with pytest.raises(KeyFileError, match="passphrase is empty"):
        create_key_file(tmp_path / "a.key", "", scrypt_n=FAST)
    with pytest.raises(KeyFileError, match="scrypt cost"):
        create_key_file(tmp_path / "b.key", "pp", scrypt_n=2**14)
    assert not list(tmp_path.iterdir())


def test_missing_folder_is_a_plain_error(tmp_path):
    with pytest.raises(KeyFileError, match="folder does not exist"):
        create_key_file(tmp_path / "nope" / "a.key", "pp", scrypt_n=FAST)


def test_passphrase_is_unicode_normalised(tmp_path):
    path = tmp_path / "k.key"
    create_key_file(path, "sm\u00f6rg\u00e5s", scrypt_n=FAST)  # precomposed ö, å
    assert open_key_file(path, "smo\u0308rga\u030as").path == path  # combining diaeresis, ring


def test_master_key_must_be_32_bytes():
    with pytest.raises(KeyFileError, match="32 bytes"):
        MasterKey(b"short")
