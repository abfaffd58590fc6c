"""The optional code key (kodnyckel): an encrypted pseudonym ↔ personnummer table kept in the secure area.

Why: register staff need it to handle a follow-up delivery or a withdrawal for a project (domain.md §7.2), so it
must exist somewhere, but never in an extract and never readable without the project's master key.

File layout, version 1 (binary)::

    magic        b"REGLINK-CODEKEY\\n"          16 bytes
    version      1                               1 byte
    fingerprint  the master key's, ASCII hex     16 bytes   (pseudonym.keys: names the key, reveals nothing)
    project      length (1 byte) + ASCII         1 + n bytes
    nonce        random                          12 bytes
    ciphertext   AES-256-GCM(Parquet bytes of the table) + 16-byte tag

The encryption key is HKDF-SHA256(master key, no salt, info b"reglink/v1/codekey/" + project), unrelated to the
project's pseudonym key; everything before the nonce is the GCM associated data, so the header is authenticated too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from linkage.atomic import fsync_dir
from linkage.errors import ReglinkError
from linkage.io import read_bytes, write_parquet
from pseudonym.keys import MasterKey
from pseudonym.pseudonyms import check_project

COLUMNS = ("pseudonym_id", "personnummer")
MAGIC = b"REGLINK-CODEKEY\n"
VERSION = 1
_INFO_PREFIX = b"reglink/v1/codekey/"
_NONCE_BYTES = 12
_FINGERPRINT_BYTES = 16
_TAG_BYTES = 16


class CodeKeyError(ReglinkError):
    """A code key that cannot be written or opened; one line, never a value or key material."""


def write_code_key(path: Path | str, table: pa.Table, *, master_key: MasterKey | bytes, project: str) -> Path:
    """Encrypt `table` (exactly the columns pseudonym_id, personnummer) to a new file: atomic, mode 0600, never over
    an existing file."""
    path = Path(path)
    key = _as_master_key(master_key)
    if tuple(table.column_names) != COLUMNS:
        raise CodeKeyError(f"a code key table has exactly the columns {', '.join(COLUMNS)} "
                           f"(got {', '.join(table.column_names) or 'none'})")
    sink = pa.BufferOutputStream()
    write_parquet(table, sink, unique_columns=COLUMNS)
    header = _header(key, project)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(_derive(key, project)).encrypt(nonce, sink.getvalue().to_pybytes(), header)
    _publish_new(path, header + nonce + ciphertext)
    return path


def read_code_key(path: Path | str, *, master_key: MasterKey | bytes, project: str) -> pa.Table:
    """Decrypt a code key; a wrong key or project, an edit or a cut raise CodeKeyError."""
    path = Path(path)
    key = _as_master_key(master_key)
    data = read_bytes(path, what="code key", error=CodeKeyError)
    fixed = len(MAGIC) + 1 + _FINGERPRINT_BYTES + 1
    if len(data) < fixed or data[:len(MAGIC)] != MAGIC:
        raise CodeKeyError(f"{path.name}: is not a reglink code key")
    if data[len(MAGIC)] != VERSION:
        raise CodeKeyError(f"{path.name}: unsupported code key version {data[len(MAGIC)]} "
                           f"(this reglink reads version {VERSION})")
    end = fixed + data[fixed - 1]
    if len(data) < end + _NONCE_BYTES + _TAG_BYTES:
        raise CodeKeyError(f"{path.name}: truncated code key")
    fingerprint = data[len(MAGIC) + 1: fixed - 1].decode("ascii", errors="replace")
    written_for = data[fixed:end].decode("ascii", errors="replace")
    if written_for != check_project(project):
        raise CodeKeyError(f"{path.name}: is the code key of project {written_for!r}, not {project!r}")
    if fingerprint != key.fingerprint:
        raise CodeKeyError(f"{path.name}: was written under the master key with fingerprint {fingerprint}, "
                           f"not {key.fingerprint}")
    try:
        plaintext = AESGCM(_derive(key, project)).decrypt(data[end:end + _NONCE_BYTES], data[end + _NONCE_BYTES:],
                                                           data[:end])
    except InvalidTag:
        raise CodeKeyError(f"{path.name}: damaged, truncated or tampered with (it fails authentication)") from None
    return pq.read_table(pa.BufferReader(plaintext))


def _as_master_key(master_key: MasterKey | bytes) -> MasterKey:
    return master_key if isinstance(master_key, MasterKey) else MasterKey(master_key)


def _header(key: MasterKey, project: str) -> bytes:
    name = check_project(project).encode("ascii")
    return MAGIC + bytes([VERSION]) + key.fingerprint.encode("ascii") + bytes([len(name)]) + name


def _derive(key: MasterKey, project: str) -> bytes:
    info = _INFO_PREFIX + check_project(project).encode("ascii")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key.secret_bytes())


def _publish_new(path: Path, content: bytes) -> None:
    """Write a 0600 temporary file beside `path`, fsync it, then hard-link it into place: the link fails if `path`
    exists, so a code key is never overwritten, and a crash leaves either nothing or the whole file."""
    if path.exists():
        raise CodeKeyError(f"{path.name}: exists already; refusing to overwrite a code key")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except FileNotFoundError:
        raise CodeKeyError(f"{path.name}: its folder does not exist") from None
    except OSError as exc:
        raise CodeKeyError(f"{path.name}: cannot be created ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp_name, path)
        fsync_dir(path.parent)
    except FileExistsError:
        raise CodeKeyError(f"{path.name}: exists already; refusing to overwrite a code key") from None
    except OSError as exc:
        raise CodeKeyError(f"{path.name}: could not be written ({exc.strerror})") from None
    finally:
        os.unlink(tmp_name)
