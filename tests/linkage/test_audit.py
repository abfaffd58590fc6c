"""The audit log: a hash chain of JSON lines that shows an edited, removed, reordered or cut line."""

from __future__ import annotations

import getpass
import hashlib
import json
import multiprocessing
import re
import stat
from pathlib import Path

import pytest
from generated_ids import number

from linkage.extract.audit import GENESIS, AuditError, append_audit, verify_audit

PERSON = number("20030411", 562)


def run(n: int) -> dict:
    return {"event": "extract", "project": "demo-2026", "request_sha256": f"{n:064x}",
            "key_fingerprint": "0123456789abcdef", "counts": {"persons": 100 + n, "by_year": {2: 1, 10: 2}}}


@pytest.fixture
def log(tmp_path) -> Path:
    path = tmp_path / "audit.jsonl"
    for n in range(4):
        append_audit(path, run(n))
    return path


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def test_each_line_is_the_entry_plus_time_user_and_the_chain(log):
    lines = lines_of(log)
    assert len(lines) == 4 and verify_audit(log) == 4
    records = [json.loads(line) for line in lines]
    assert records[0]["previous"] == GENESIS == "0" * 64
    for before, line, record in zip(lines, lines[1:], records[1:], strict=False):
        assert record["previous"] == hashlib.sha256(before).hexdigest()
        assert json.loads(line) == record
    first = records[0]
    assert {k: first[k] for k in run(0)} == json.loads(json.dumps(run(0)))
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", first["time"])
    assert first["user"] == getpass.getuser()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_append_returns_the_line_it_wrote(tmp_path):
    written = append_audit(tmp_path / "audit.jsonl", run(7))
    assert json.loads(lines_of(tmp_path / "audit.jsonl")[0]) == written


def rewrite(path: Path, lines: list[bytes], tail: bytes = b"\n") -> None:
    path.write_bytes(b"\n".join(lines) + tail)


def edit(line: bytes) -> bytes:
    return line.replace(b'"persons":10', b'"persons":90', 1)


@pytest.mark.parametrize(("damage", "expected"), [
    (lambda ls: [ls[0], edit(ls[1]), *ls[2:]], "line 2: edited"),
    (lambda ls: [*ls[:3], edit(ls[3])], "line 4: edited"),
    (lambda ls: [ls[0], *ls[2:]], "line 2: does not follow line 1"),
    (lambda ls: ls[1:], "line 1: is not the first entry"),
    (lambda ls: [ls[0], ls[2], ls[1], ls[3]], "line 2: does not follow line 1"),
    (lambda ls: [ls[0], b"not json", *ls[1:]], "line 2: not a JSON line"),
    (lambda ls: [ls[0], b'{"a": 1}', *ls[1:]], "line 2: not an audit entry"),
])
def test_verify_names_the_first_bad_line(log, damage, expected):
    rewrite(log, damage(lines_of(log)))
    with pytest.raises(AuditError, match=re.escape(f"audit.jsonl, {expected}")):
        verify_audit(log)


def test_a_cut_last_line_is_named_and_blocks_appending(log):
    data = log.read_bytes()
    log.write_bytes(data[:-20])
    with pytest.raises(AuditError, match=r"line 4: incomplete"):
        verify_audit(log)
    with pytest.raises(AuditError, match="last line is incomplete"):
        append_audit(log, run(9))
    assert log.read_bytes() == data[:-20]


def test_an_empty_or_missing_log(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert verify_audit(tmp_path / "empty.jsonl") == 0
    with pytest.raises(AuditError, match="no such audit log"):
        verify_audit(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("value", [PERSON, f"{PERSON[2:8]}-{PERSON[8:]}", {"nested": [f"id {PERSON[2:]}"]}])
def test_entries_holding_a_personnummer_are_refused_without_quoting_it(tmp_path, value):
    path = tmp_path / "audit.jsonl"
    with pytest.raises(AuditError, match="'note' holds something shaped like a personnummer") as caught:
        append_audit(path, {"event": "extract", "note": value})
    assert PERSON[2:8] not in str(caught.value)
    assert not path.exists()


@pytest.mark.parametrize(("entry", "expected"), [
    ({"time": "yesterday"}, "time are set by the log itself"),
    ({"when": {1, 2}}, "not all plain JSON"),
    ({"ratio": float("nan")}, "not all plain JSON"),
])
def test_entries_that_cannot_be_plain_json_lines_are_refused(tmp_path, entry, expected):
    with pytest.raises(AuditError, match=expected):
        append_audit(tmp_path / "audit.jsonl", entry)


def append_many(args: tuple[str, int]) -> None:
    path, worker = args
    for n in range(10):
        append_audit(path, {"worker": worker, "n": n})


def test_concurrent_appends_keep_the_chain(tmp_path):
    path = tmp_path / "audit.jsonl"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(append_many, [(str(path), worker) for worker in range(4)])
    assert verify_audit(path) == 40
