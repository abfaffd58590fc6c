"""The audit log: one JSON line per run, each line carrying the SHA-256 of the line before it (a hash chain).

Why: register holders must be able to show who made which extract when (issue 6); the chain makes an edited,
removed or reordered line detectable by `verify_audit`. Each line is one JSON object: the caller's entry plus

* ``time``: UTC, ISO 8601 to the second (``2026-01-31T12:00:00Z``);
* ``user``: the login name (`getpass.getuser()`);
* ``previous``: SHA-256 hex of the previous line's bytes (without its line end), 64 zeros on the first line;
* ``sha256``: SHA-256 hex of this line's canonical JSON without this field, so an edit is pinned to its line
  (and an edit of the last line, which no later line's ``previous`` covers, is seen too).

Canonical JSON: sorted keys, no spaces, UTF-8 (not ASCII-escaped). Removing the last line(s) whole leaves a valid,
shorter chain: compare the number of lines with the runs you know of (each extract's manifest records its run).
An entry whose values hold anything the leak guard's shape detector flags is refused: the log never holds a
personnummer.
"""

from __future__ import annotations

import errno
import fcntl
import getpass
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from linkage.errors import ReglinkError
from linkage.extract.leakguard import find_identifiers
from linkage.io import read_bytes

AUDIT_LOG = "audit.jsonl"
GENESIS = "0" * 64
ADDED_FIELDS = ("time", "user", "previous", "sha256")
_TAIL_CHUNK = 1 << 16


class AuditError(ReglinkError):
    """An audit entry that cannot be appended, or a log whose chain is broken (the message names the line)."""


def append_audit(log: Path | str, entry: dict) -> dict:
    """Append `entry` with time, user and the chain hashes as one line, under an exclusive lock; returns the line.

    The log is created with mode 0600; the line is flushed and fsynced before the lock is released.
    """
    log = Path(log)
    record = {**_plain(entry), "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "user": _user()}
    _refuse_identifiers(record)
    try:
        fd = os.open(log, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        raise AuditError(f"{log}: cannot open the audit log ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        end, last = _last_line(fd, log)
        record["previous"] = hashlib.sha256(last).hexdigest() if last is not None else GENESIS
        record["sha256"] = _self_hash(record)
        _append(fd, _canonical(record) + b"\n", end)
    except OSError as exc:
        raise AuditError(f"{log}: could not append to the audit log ({exc.strerror})") from None
    finally:
        os.close(fd)  # closing releases the lock
    return record


def verify_audit(log: Path | str) -> int:
    """Check every line's own hash and its link to the line before; returns the number of lines.

    Raises AuditError naming the first bad line: not JSON, edited, not following its predecessor (a line removed,
    inserted or reordered), or cut short.
    """
    log = Path(log)
    data = read_bytes(log, what="audit log", error=AuditError)
    lines = data.split(b"\n")
    complete = lines.pop() == b""  # text after the last line end is a line cut short
    if not complete:
        lines.append(data.rsplit(b"\n", 1)[-1])
    expected = GENESIS
    for number, line in enumerate(lines, start=1):
        if number == len(lines) and not complete:
            raise AuditError(f"{log.name}, line {number}: incomplete (no line end): the log was cut short")
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise AuditError(f"{log.name}, line {number}: not a JSON line") from None
        if not isinstance(record, dict) or not all(isinstance(record.get(f), str) for f in ("previous", "sha256")):
            raise AuditError(f"{log.name}, line {number}: not an audit entry (no chain hashes)")
        if record["sha256"] != _self_hash(record):
            raise AuditError(f"{log.name}, line {number}: edited (its content does not match its hash)")
        if record["previous"] != expected:
            raise AuditError(f"{log.name}, line {number}: does not follow line {number - 1} "
                             "(a line was removed, inserted or reordered)" if number > 1 else
                             f"{log.name}, line 1: is not the first entry (lines before it were removed)")
        expected = hashlib.sha256(line).hexdigest()
    return len(lines)


def _plain(entry: dict) -> dict:
    """The entry as plain JSON values (as it will read back), or AuditError naming what is wrong."""
    if not isinstance(entry, dict):
        raise AuditError("an audit entry is a dict of JSON values")
    clash = [key for key in ADDED_FIELDS if key in entry]
    if clash:
        raise AuditError(f"audit entry refused: {', '.join(clash)} are set by the log itself")
    try:
        return json.loads(json.dumps(entry, allow_nan=False))
    except (TypeError, ValueError):
        raise AuditError("audit entry refused: its values are not all plain JSON (text, numbers, lists, dicts)") \
            from None


def _refuse_identifiers(record: dict) -> None:
    """Refuse a line any of whose fields holds something the leak guard's shape detector flags."""
    for key, value in record.items():
        if find_identifiers(f"{key}\n{json.dumps(value, ensure_ascii=False)}"):
            raise AuditError(f"audit entry refused: {key!r} holds something shaped like a personnummer "
                             "or samordningsnummer")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment and no passwd entry (some containers)
        return f"uid {os.getuid()}"


def _canonical(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _self_hash(record: dict) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in record.items() if k != "sha256"})).hexdigest()


def _append(fd: int, line: bytes, end: int) -> None:
    """Write the whole line and fsync it, or cut the log back to `end` (a full disk must not leave half a line)."""
    try:
        if os.write(fd, line) != len(line):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)
    except OSError:
        os.ftruncate(fd, end)
        raise


def _last_line(fd: int, log: Path) -> tuple[int, bytes | None]:
    """The log's size and last line (without its line end; None for an empty log); a cut last line is refused."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0:
        return end, None
    if os.pread(fd, 1, end - 1) != b"\n":
        raise AuditError(f"{log}: its last line is incomplete; run `reglink audit verify` and repair the log first")
    tail, start = b"", end - 1
    while start > 0 and b"\n" not in tail:
        size = min(_TAIL_CHUNK, start)
        start -= size
        tail = os.pread(fd, size, start) + tail
    return end, tail.rsplit(b"\n", 1)[-1]
