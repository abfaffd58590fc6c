"""The extract's manifest.json (every file with its SHA-256, size and row count) and `verify_extract`, its check.

Why: a researcher, or a later audit, can prove an extract is exactly what reglink wrote (issue 6, "verifiable").
The manifest holds no times, so the same inputs, key and request give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyreadstat

from linkage.atomic import atomic_file
from linkage.errors import ReglinkError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
DATA_FOLDER = "data"
DATA_SUFFIXES = (".parquet", ".csv", ".dta")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ExtractError(ReglinkError):
    """An extract that is incomplete or differs from its manifest; the message names the first problem."""


@dataclass(frozen=True)
class VerifyResult:
    """What `verify_extract` checked: how many files, and the rows of the data files among them."""

    files: int
    rows: int


def build_manifest(folder: Path | str, *, project: str, request: dict, request_sha256: str, key_fingerprint: str,
                   counts: dict, exclusions: dict) -> dict:
    """The manifest of every file under `folder` but manifest.json itself, sorted by POSIX path; with the request
    as delivered (its canonical form: what was asked, the reference date and the disclosure settings)."""
    folder = Path(folder)
    listing = _listing(folder)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # hashlib lets go of Python's lock
        sums = list(pool.map(_sha256, [folder / rel for rel in listing]))
    files = []
    for rel, sha256 in zip(listing, sums, strict=True):
        path = folder / rel
        entry = {"path": rel, "sha256": sha256, "bytes": path.stat().st_size}
        rows = _rows(path, rel)
        if rows is not None:
            entry["rows"] = rows
        files.append(entry)
    return {
        "reglink_manifest": FORMAT_VERSION,
        "software": {"name": "reglink", "version": _software_version()},
        "project": project,
        "request": request,
        "request_sha256": request_sha256,
        "key_fingerprint": key_fingerprint,
        "files": files,
        "counts": counts,
        "exclusions": exclusions,
    }


def write_manifest(folder: Path | str, manifest: dict) -> Path:
    """Write `folder`/manifest.json atomically as deterministic JSON (sorted keys, indent 2, final line end)."""
    path = Path(folder) / MANIFEST
    with atomic_file(path) as tmp:
        tmp.write_bytes(manifest_bytes(manifest))
    return path


def manifest_bytes(manifest: dict) -> bytes:
    """The exact bytes of a manifest file: the same manifest always gives the same bytes."""
    return (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def verify_extract(path: Path | str) -> VerifyResult:
    """Check every listed file's size, SHA-256 and row count and that nothing unlisted is present.

    Raises ExtractError naming the first problem: no or unreadable manifest, a missing, changed or unlisted file.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ExtractError(f"{folder}: no such extract folder")
    entries = _listed(folder)
    rows = 0
    for entry in entries:
        rel = entry["path"]
        file = folder / rel
        if file.is_symlink() or not file.is_file():
            raise ExtractError(f"{rel}: listed in the manifest but missing")
        size = file.stat().st_size
        if size != entry["bytes"]:
            raise ExtractError(f"{rel}: checksum mismatch ({size} bytes, manifest says {entry['bytes']})")
        if _sha256(file) != entry["sha256"]:
            raise ExtractError(f"{rel}: checksum mismatch (its SHA-256 differs from the manifest)")
        counted = _rows(file, rel)
        if counted != entry.get("rows"):
            raise ExtractError(f"{rel}: row count mismatch ({_or_none(counted)} rows, "
                               f"manifest says {_or_none(entry.get('rows'))})")
        rows += counted or 0
    listed = {entry["path"] for entry in entries}
    unlisted = [rel for rel in _listing(folder) if rel not in listed]
    if unlisted:
        more = f" and {len(unlisted) - 1} more" if len(unlisted) > 1 else ""
        raise ExtractError(f"{unlisted[0]}{more}: present but not listed in the manifest")
    return VerifyResult(files=len(entries), rows=rows)


def _listed(folder: Path) -> list[dict]:
    """The manifest's file entries, after checking the manifest is one reglink wrote (shape, safe paths)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ExtractError(f"{folder.name}: no {MANIFEST} (not a reglink extract, or an incomplete one)")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ExtractError(f"{MANIFEST}: not valid JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise ExtractError(f"{MANIFEST}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(manifest, dict) or manifest.get("reglink_manifest") != FORMAT_VERSION:
        raise ExtractError(f"{MANIFEST}: not a reglink manifest of version {FORMAT_VERSION}")
    entries = manifest.get("files")
    if not isinstance(entries, list):
        raise ExtractError(f"{MANIFEST}: 'files' is not a list")
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        ok = (isinstance(entry, dict) and isinstance(entry.get("path"), str)
              and isinstance(entry.get("sha256"), str) and _SHA256.fullmatch(entry["sha256"])
              and type(entry.get("bytes")) is int and type(entry.get("rows", 0)) is int)
        if not ok:
            raise ExtractError(f"{MANIFEST}: file entry {number} is malformed")
        rel = PurePosixPath(entry["path"])
        if rel.is_absolute() or ".." in rel.parts or str(rel) != entry["path"] or entry["path"] == MANIFEST:
            raise ExtractError(f"{MANIFEST}: file entry {number} has a path outside the extract")
        if entry["path"] in seen:
            raise ExtractError(f"{MANIFEST}: {entry['path']} is listed twice")
        seen.add(entry["path"])
    return entries


def _listing(folder: Path) -> list[str]:
    """POSIX paths, relative and sorted, of every file under `folder` but the top-level manifest."""
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            raise ExtractError(f"{rel}: is a symbolic link; an extract holds only regular files")
        if path.is_file() and rel != MANIFEST:
            found.append(rel)
    return sorted(found)


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _rows(path: Path, rel: str) -> int | None:
    """Rows of a data file (data/*.parquet, .csv, .dta) from its own metadata or parse; None for other files."""
    parts = PurePosixPath(rel).parts
    suffix = path.suffix.lower()
    if len(parts) != 2 or parts[0] != DATA_FOLDER or suffix not in DATA_SUFFIXES:
        return None
    try:
        if suffix == ".parquet":
            return pq.ParquetFile(path).metadata.num_rows
        if suffix == ".csv":
            return _csv_records(path)
        return pyreadstat.read_dta(str(path), metadataonly=True)[1].number_rows
    except (pa.ArrowException, pyreadstat.PyreadstatError, pyreadstat.ReadstatError, OSError):
        raise ExtractError(f"{rel}: cannot be read as a {suffix[1:]} file to count its rows") from None


def _csv_records(path: Path) -> int:
    """CSV records (not lines: a quoted value may hold a line end), UTF-8 with a header, parsed by Arrow."""
    read = pacsv.ReadOptions(encoding="utf8")
    parse = pacsv.ParseOptions(newlines_in_values=True)
    first = pacsv.open_csv(path, read_options=read, parse_options=parse).schema.names[0]
    reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=pacsv.ConvertOptions(
        include_columns=[first], column_types={first: pa.string()}))
    return sum(batch.num_rows for batch in reader)


def _software_version() -> str:
    try:
        return version("reglink")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _or_none(rows: int | None) -> str:
    return "no" if rows is None else str(rows)
