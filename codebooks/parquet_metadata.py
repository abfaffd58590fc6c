"""Self-describing Parquet: the codebook as JSON in the schema metadata, and each field's labels and role beside it.

A table's codebook is restricted to its own columns; reading it back goes through the same strict checks as YAML.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from codebooks.errors import CodebookError
from codebooks.loading import from_dict, to_dict
from codebooks.model import Codebook

#: Schema metadata key holding the codebook JSON (UTF-8, sorted keys).
CODEBOOK_KEY = b"reglink.codebook"
#: Per-field metadata keys.
FIELD_KEYS = (b"reglink.label.sv", b"reglink.label.en", b"reglink.type", b"reglink.role")


def attach_codebook(data: pa.Table | pa.Schema, codebook: Codebook) -> pa.Table | pa.Schema:
    """`data` (a table or schema) with `codebook` in its metadata; every column must have a codebook entry."""
    schema = data.schema if isinstance(data, pa.Table) else data
    unknown = [name for name in schema.names if name not in codebook.names]
    if unknown:
        raise CodebookError(f"column '{unknown[0]}' is not in codebook '{codebook.name}' "
                            f"({len(unknown)} such column(s)); every column needs a codebook entry")
    own = codebook.select(schema.names)
    fields = []
    for field in schema:
        variable = own.variable(field.name)
        metadata = dict(field.metadata or {})
        metadata.update(zip(FIELD_KEYS, (variable.label.sv.encode(), variable.label.en.encode(),
                                         variable.type.encode(), variable.role.encode()), strict=True))
        fields.append(field.with_metadata(metadata))
    metadata = dict(schema.metadata or {})
    metadata[CODEBOOK_KEY] = codebook_json(own).encode("utf-8")
    described = pa.schema(fields, metadata=metadata)
    return pa.Table.from_arrays(data.columns, schema=described) if isinstance(data, pa.Table) else described


def read_codebook(source: pa.Table | pa.Schema | Path | str) -> Codebook:
    """The codebook embedded in a Parquet file, table or schema by `attach_codebook`."""
    if isinstance(source, (str, Path)):
        try:
            schema = pq.read_schema(source)
        except (OSError, pa.ArrowInvalid):
            raise CodebookError(f"{Path(source).name}: is not a readable Parquet file") from None
        where = Path(source).name
    else:
        schema = source.schema if isinstance(source, pa.Table) else source
        where = "Parquet metadata"
    raw = (schema.metadata or {}).get(CODEBOOK_KEY)
    if raw is None:
        raise CodebookError(f"{where}: carries no reglink codebook")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CodebookError(f"{where}: the embedded codebook is not valid JSON") from None
    return from_dict(data, where=where)


def codebook_json(codebook: Codebook) -> str:
    """The codebook as canonical JSON (sorted keys, no spaces): the same codebook always gives the same bytes."""
    return json.dumps(to_dict(codebook), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
