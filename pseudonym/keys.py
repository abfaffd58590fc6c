"""Encrypted key files holding a project's 32-byte master key (scrypt → AES-256-GCM).

The key is the "kodnyckel" of Swedish register practice (domain.md §7.2): whoever holds it can
re-create every pseudonym, so it lives encrypted under a passphrase, apart from the data.

File layout (JSON, UTF-8), version 1::

    {"format": "reglink-key", "version": 1, "created": "2026-01-31T12:00:00Z",
     "fingerprint": "<16 hex>",
     "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<base64, 16 bytes>"},
     "cipher": {"name": "AES-256-GCM", "nonce": "<base64, 12 bytes>"},
     "ciphertext": "<base64: the 32-byte master key + 16-byte GCM tag>"}

The wrapping key is scrypt(passphrase as NFC-normalised UTF-8, salt, n, r, p, length 32). Everything
but "ciphertext" is the header; its canonical JSON (sorted keys, no spaces) is the GCM associated
data, so an edit anywhere in the file makes decryption fail. The fingerprint is the first 16 hex
characters of SHA-256(b"reglink/v1/fingerprint\\x00" + master key): it names a key without
revealing it (the domain prefix keeps it unrelated to any pseudonym), so it may be printed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pseudonym.errors import PseudonymError

FORMAT = "reglink-key"
VERSION = 1
KEY_BYTES = 32
#: scrypt cost: 2**17 with r=8 (128 MiB, about half a second) is OWASP's recommendation; 2**15 is the floor.
SCRYPT_N = 2**17
MIN_SCRYPT_N = 2**15
_MAX_SCRYPT_MEMORY = 1 << 30  # refuse files that ask for more than 1 GiB (a hostile or damaged header)
_SALT_BYTES = 16
_NONCE_BYTES = 12
_FINGERPRINT_DOMAIN = b"reglink/v1/fingerprint\x00"
_FINGERPRINT_HEX = 16


class KeyFileError(PseudonymError):
    """A key file that cannot be created or opened; the message is one line and never holds key material."""


class MasterKey:
    """32 secret bytes; repr and str show only the fingerprint, never the bytes."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes | bytearray) or len(secret) != KEY_BYTES:
            raise KeyFileError(f"a master key is exactly {KEY_BYTES} bytes")
        self._secret = bytes(secret)

    @classmethod
    def generate(cls) -> MasterKey:
        """A fresh key from the operating system's random source."""
        return cls(os.urandom(KEY_BYTES))

    @property
    def fingerprint(self) -> str:
        """16 hex characters of SHA-256("reglink/v1/fingerprint\\0" + key): names the key, safe to print."""
        return hashlib.sha256(_FINGERPRINT_DOMAIN + self._secret).hexdigest()[:_FINGERPRINT_HEX]

    def secret_bytes(self) -> bytes:
        """The raw key, for deriving project keys; never print or log it."""
        return self._secret

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MasterKey) and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"MasterKey(fingerprint={self.fingerprint!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class KeyFile:
    """An opened key file: the master key and its non-secret facts."""

    path: Path
    master_key: MasterKey
    created: datetime

    @property
    def fingerprint(self) -> str:
        return self.master_key.fingerprint


def create_key_file(path: Path | str, passphrase: str, *, created: datetime | None = None,
                    master_key: MasterKey | None = None, scrypt_n: int = SCRYPT_N) -> KeyFile:
    """Write a new key file (mode 0600, never over an existing file) holding a fresh or given master key.

    `created` defaults to now (UTC); `scrypt_n` is the scrypt cost, a power of two ≥ 2**15.
    """
    path = Path(path)
    _check_passphrase(passphrase)
    if scrypt_n < MIN_SCRYPT_N or scrypt_n & (scrypt_n - 1):
        raise KeyFileError(f"the scrypt cost must be a power of two of at least {MIN_SCRYPT_N}")
    master_key = master_key or MasterKey.generate()
    created = (created or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    salt, nonce = os.urandom(_SALT_BYTES), os.urandom(_NONCE_BYTES)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "fingerprint": master_key.fingerprint,
        "kdf": {"name": "scrypt", "n": scrypt_n, "r": 8, "p": 1, "salt": _b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
    }
    wrapping_key = _derive(passphrase, header["kdf"], salt)
    ciphertext = AESGCM(wrapping_key).encrypt(nonce, master_key.secret_bytes(), _associated_data(header))
    document = json.dumps({**header, "ciphertext": _b64(ciphertext)}, indent=2) + "\n"
    _write_new(path, document.encode("utf-8"))
    return KeyFile(path, master_key, created)


def open_key_file(path: Path | str, passphrase: str) -> KeyFile:
    """Decrypt a key file; any edit, a wrong passphrase or another file type raises KeyFileError."""
    path = Path(path)
    header, ciphertext = _read_header(path)
    kdf = header["kdf"]
    wrapping_key = _derive(passphrase, kdf, _unb64(kdf["salt"], path))
    try:
        secret = AESGCM(wrapping_key).decrypt(
            _unb64(header["cipher"]["nonce"], path), ciphertext, _associated_data(header))
    except (InvalidTag, ValueError):
        raise KeyFileError(
            f"{path}: wrong passphrase or damaged key file (the two cannot be told apart)") from None
    master_key = MasterKey(secret)
    if not hmac.compare_digest(master_key.fingerprint, header["fingerprint"]):
        raise KeyFileError(f"{path}: damaged key file (its fingerprint does not match its key)")
    created = datetime.strptime(header["created"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return KeyFile(path, master_key, created)


def _check_passphrase(passphrase: str) -> None:
    if not isinstance(passphrase, str) or not passphrase:
        raise KeyFileError("the passphrase is empty; a key file needs a passphrase")


def _derive(passphrase: str, kdf: dict, salt: bytes) -> bytes:
    _check_passphrase(passphrase)
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return Scrypt(salt=salt, length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(secret)


def _associated_data(header: dict) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _read_header(path: Path) -> tuple[dict, bytes]:
    """The parsed header and ciphertext of a key file, after checking its shape (not its secret)."""
    if not path.exists():
        raise KeyFileError(f"{path}: no such key file")
    if path.is_dir():
        raise KeyFileError(f"{path}: is a folder, not a key file")
    not_ours = KeyFileError(f"{path}: is not a reglink key file")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(1 << 16)
        document = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise not_ours from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise not_ours
    version = document.get("version")
    if version != VERSION:
        raise KeyFileError(f"{path}: unsupported key file version {version!r} (this reglink reads version {VERSION})")
    try:
        header = {key: document[key] for key in ("format", "version", "created", "fingerprint", "kdf", "cipher")}
        kdf, cipher = header["kdf"], header["cipher"]
        n, r, p = (kdf[name] for name in ("n", "r", "p"))
        shape_ok = (
            set(document) == set(header) | {"ciphertext"}
            and kdf.get("name") == "scrypt" and cipher.get("name") == "AES-256-GCM"
            and all(type(v) is int for v in (n, r, p))
            and n >= MIN_SCRYPT_N and not n & (n - 1) and 1 <= r <= 32 and 1 <= p <= 16
            and 128 * n * r * p <= _MAX_SCRYPT_MEMORY
            and isinstance(header["fingerprint"], str) and isinstance(header["created"], str)
            and isinstance(kdf.get("salt"), str) and isinstance(cipher.get("nonce"), str)
        )
        datetime.strptime(header["created"], "%Y-%m-%dT%H:%M:%SZ")
        ciphertext = _unb64(document["ciphertext"], path)
    except (KeyError, TypeError, AttributeError, ValueError):
        raise not_ours from None
    if not shape_ok:
        raise not_ours
    return header, ciphertext


def _write_new(path: Path, content: bytes) -> None:
    """Create `path` exclusively with mode 0600 and write it whole; a failed write leaves nothing."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path}: exists already; refusing to overwrite a key file") from None
    except FileNotFoundError:
        raise KeyFileError(f"{path}: its folder does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot be created ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise KeyFileError(f"{path}: could not be written ({exc.strerror})") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, path: Path) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{path}: is not a reglink key file") from None
