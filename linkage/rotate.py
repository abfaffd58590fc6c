"""Key rotation: an old → new pseudonym crosswalk, so a longitudinal project can move to a new master key.

The crosswalk is computed in the secure zone from the population register (and the personnummer changes), and
written to the secure working folder only: whoever holds it can carry a person from deliveries under the old key
to deliveries under the new one, so it is as sensitive as both sets of pseudonyms together, and it never goes
into an extract. It holds pseudonyms only, never an identifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.changes import NO_REFERENCE, Changes, load_changes, to_canonical
from linkage.errors import InputError, OutputError
from linkage.ingest import _secure_folder
from linkage.io import read_whole_table, write_table
from linkage.registers import register
from pseudonym.frame import check_one_to_one
from pseudonym.keys import MasterKey
from pseudonym.personnummer import KINDS
from pseudonym.pseudonyms import HEX_DIGITS, ReferenceDate, check_project, hex_digests, project_key
from pseudonym.vectorized import parse_arrays

COLUMNS = ("old_pseudonym_id", "new_pseudonym_id")
_PERSON_KINDS = (KINDS.index("personnummer"), KINDS.index("samordningsnummer"))


def rotation_crosswalk(identifiers: Sequence | pa.Array | pa.ChunkedArray, *, old_key: MasterKey | bytes,
                       new_key: MasterKey | bytes, project: str, changes: Changes | None = None,
                       reference_date: ReferenceDate = None) -> pa.Table:
    """Each person's pseudonym in `project` under `old_key` beside the one under `new_key`, sorted by the old one.

    One row per distinct personnummer or samordningsnummer among `identifiers` (other values never had a
    pseudonym and are left out) and, with `changes`, per old number too: a record once pseudonymised under a
    number that has since been replaced maps to the person's current number's new pseudonym. `old_pseudonym_id`
    is unique; `new_pseudonym_id` repeats only where one person had several numbers. `reference_date` gives
    10-digit numbers their century, as in `pseudonym.pseudonymise_many`.
    """
    old_project, new_project = project_key(old_key, project), project_key(new_key, project)
    if old_project == new_project:
        raise InputError("the old and the new key are the same key; there is nothing to rotate")
    parsed = parse_arrays(identifiers, reference_date=reference_date)
    numbers = parsed.canonical[np.isin(parsed.kind, _PERSON_KINDS)]
    if changes is not None and len(changes):
        numbers = np.concatenate([numbers, to_canonical(changes.old)])
    numbers = np.unique(numbers)
    current = changes.resolve(numbers)[0] if changes is not None else numbers
    old = _pseudonyms(old_project, numbers)
    new = _pseudonyms(new_project, current)
    check_one_to_one(numbers, old)
    check_one_to_one(current, new)
    order = pc.sort_indices(old)
    return pa.table({COLUMNS[0]: old.take(order), COLUMNS[1]: new.take(order)})


def rotate_keys(data_dir: Path | str, *, old_key: MasterKey | bytes, new_key: MasterKey | bytes, project: str,
                secure_dir: Path | str) -> Path:
    """Write the crosswalk of `data_dir`'s population (column personnummer) and personnummer changes, if any.

    The file is `<secure_dir>/<project>.rotation-<old fingerprint[:8]>-<new fingerprint[:8]>.parquet`, written
    atomically and never over an existing one; returns its path.
    """
    check_project(project)
    old_key, new_key = _master(old_key), _master(new_key)
    target = Path(secure_dir) / f"{project}.rotation-{old_key.fingerprint[:8]}-{new_key.fingerprint[:8]}.parquet"
    if target.exists():
        raise OutputError(f"{target}: exists already; refusing to overwrite a rotation crosswalk")
    entry = register("population")
    identifiers = read_whole_table(entry.file(data_dir), columns=[entry.identifier])[entry.identifier]
    changes_file = register("pnr_changes").file(data_dir)
    changes = load_changes(data_dir) if changes_file.exists() else None
    # The population writes 12 digits: no century to infer, as when ingest reads it.
    crosswalk = rotation_crosswalk(identifiers, old_key=old_key, new_key=new_key, project=project, changes=changes,
                                   reference_date=NO_REFERENCE)
    _secure_folder(secure_dir)
    return write_table(crosswalk, target)


def _pseudonyms(key: bytes, canonical: np.ndarray) -> pa.StringArray:
    """Pseudonyms of canonical numbers (S12, all valid) as an Arrow string array."""
    digits = hex_digests(key, canonical)
    return pa.Array.from_buffers(pa.binary(HEX_DIGITS), len(canonical), [None, pa.py_buffer(digits)]).cast(
        pa.string())


def _master(key: MasterKey | bytes) -> MasterKey:
    return key if isinstance(key, MasterKey) else MasterKey(key)
