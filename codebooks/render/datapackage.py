"""A Frictionless Data Package (`datapackage.json`, Data Package v2) with a Table Schema per codebook.

Standard properties carry what validators check (types, formats, required, minimum/maximum, pattern, enum,
missingValues, categories); Swedish labels go in `title`/`categories`, and a `reglink` property per field keeps the
English labels, role, unit, source and derivation so nothing of the codebook is lost.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from codebooks.model import Codebook, Reference, Text, Variable
from codebooks.parsing import FALSE_VALUES, TRUE_VALUES
from codebooks.render.document import as_codebooks, document_title

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
_TYPES = {"string": "string", "categorical": "string", "integer": "integer", "number": "number", "date": "date",
          "boolean": "boolean"}
_ISO_DATE = "%Y-%m-%d"


def render_datapackage(codebooks: Codebook | Sequence[Codebook], *, name: str | None = None, title: Text | None = None,
                       paths: Mapping[str, str] | None = None) -> str:
    """`datapackage.json` text for one or more codebooks; `paths` maps a codebook name to its data file.

    Data files default to `data/<name>.parquet` (the extract layout).
    """
    parts = as_codebooks(codebooks)
    paths = dict(paths or {})
    doc_title = document_title(parts, title)
    package = {
        "$schema": PROFILE,
        "name": name or (parts[0].name if len(parts) == 1 else "codebook"),
        "title": f"{doc_title.sv} / {doc_title.en}",
        "resources": [_resource(c, paths.get(c.name, f"data/{c.name}.parquet")) for c in parts],
    }
    return json.dumps(package, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _resource(codebook: Codebook, path: str) -> dict[str, Any]:
    return {
        "name": codebook.name,
        "path": path,
        "title": f"{codebook.title.sv} / {codebook.title.en}",
        "description": f"{codebook.description.sv}\n\n{codebook.description.en}",
        "sources": [_source(r) for r in codebook.references],
        "schema": {"fields": [_field(v) for v in codebook.variables], "missingValues": [""]},
        "reglink": {
            "register": codebook.register,
            "holder": codebook.source,
            "version": codebook.version,
            "access": _text(codebook.access),
            "title": _text(codebook.title),
        },
    }


def _field(variable: Variable) -> dict[str, Any]:
    field: dict[str, Any] = {"name": variable.name, "type": _TYPES[variable.type], "title": variable.label.sv}
    description = variable.description or variable.label
    field["description"] = f"{description.sv}\n\n{description.en}"
    constraints: dict[str, Any] = {}
    if variable.required:
        constraints["required"] = True
    if variable.minimum is not None:
        constraints["minimum"] = _bound(variable.minimum, variable)
    if variable.maximum is not None:
        constraints["maximum"] = _bound(variable.maximum, variable)
    if variable.pattern is not None:
        # Table Schema anchors the pattern as ^...$; a group keeps alternatives ("a|b") inside the anchors.
        constraints["pattern"] = f"({variable.pattern})" if "|" in variable.pattern else variable.pattern
    if variable.categories:
        constraints["enum"] = [c.code for c in variable.categories]
        field["categories"] = [{"value": c.code, "label": c.label.sv} for c in variable.categories]
    if constraints:
        field["constraints"] = constraints
    if variable.type == "date" and variable.date_format != _ISO_DATE:
        field["format"] = variable.date_format
    if variable.type == "number" and variable.decimal != ".":
        field["decimalChar"] = variable.decimal
    if variable.type == "boolean":
        field["trueValues"] = list(TRUE_VALUES)
        field["falseValues"] = list(FALSE_VALUES)
    if variable.missing_values:
        field["missingValues"] = ["", *variable.missing_values]
    extra: dict[str, Any] = {"role": variable.role, "label": _text(variable.label)}
    if variable.description:
        extra["description"] = _text(variable.description)
    if variable.categories:
        extra["categories"] = [{"value": c.code, "label": _text(c.label)} for c in variable.categories]
    if variable.codelist:
        extra["codelist"] = variable.codelist
    if variable.unit:
        extra["unit"] = variable.unit
    if variable.source:
        extra["source"] = variable.source
    if variable.derivation:
        extra["derivation"] = {"rule": _text(variable.derivation.rule),
                               "references": [_source(r) for r in variable.derivation.references],
                               "codes": {name: list(codes) for name, codes in variable.derivation.codes}}
    field["reglink"] = extra
    return field


def _bound(bound: Any, variable: Variable) -> Any:
    """Date bounds are written in the field's own date format (validators read constraints with it)."""
    return bound.strftime(variable.date_format) if isinstance(bound, dt.date) else bound


def _source(reference: Reference) -> dict[str, str]:
    return {"title": reference.title, "path": reference.url}


def _text(text: Text) -> dict[str, str]:
    return {"sv": text.sv, "en": text.en}
