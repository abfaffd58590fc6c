"""A DDI-Codebook 2.5 XML document (`codeBook`): study, access conditions, one file per codebook, every variable.

Swedish and English texts are separate elements tagged with xml:lang; the disclosure role goes in `var/security`.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

from codebooks.model import Codebook, Reference, Text, Variable
from codebooks.render.document import as_codebooks, document_title

NAMESPACE = "ddi:codebook:2_5"
SCHEMA_LOCATION = "http://www.ddialliance.org/Specification/DDI-Codebook/2.5/XMLSchema/codebook.xsd"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NUMERIC = ("integer", "number", "boolean")
_DATE_NAMES = {"%Y-%m-%d": "YYYY-MM-DD", "%Y%m%d": "YYYYMMDD"}

ET.register_namespace("", NAMESPACE)
ET.register_namespace("xsi", _XSI)


def render_ddi(codebooks: Codebook | Sequence[Codebook], *, title: Text | None = None,
               paths: Mapping[str, str] | None = None) -> bytes:
    """DDI-Codebook 2.5 XML (UTF-8 bytes) for one or more codebooks; `paths` maps codebook name to data file."""
    parts = as_codebooks(codebooks)
    paths = dict(paths or {})
    doc_title = document_title(parts, title)
    root = ET.Element(_tag("codeBook"), {"version": "2.5", _XML_LANG: "sv",
                                          f"{{{_XSI}}}schemaLocation": f"{NAMESPACE} {SCHEMA_LOCATION}"})
    _study(root, parts, doc_title)
    for codebook in parts:
        _file(root, codebook, paths.get(codebook.name, f"data/{codebook.name}.parquet"))
    data = _sub(root, "dataDscr")
    for codebook in parts:
        for variable in codebook.variables:
            _variable(data, codebook, variable)
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) \
        + b"\n"


def _study(root: ET.Element, parts: tuple[Codebook, ...], doc_title: Text) -> None:
    study = _sub(root, "stdyDscr")
    citation = _sub(study, "citation")
    titles = _sub(citation, "titlStmt")
    _sub(titles, "titl", doc_title.sv, lang="sv")
    _sub(titles, "parTitl", doc_title.en, lang="en")
    for codebook in parts:
        _sub(titles, "IDNo", codebook.name)
    authors = _sub(citation, "rspStmt")
    for holder in dict.fromkeys(c.source for c in parts):
        _sub(authors, "AuthEnty", holder)
    info = _sub(study, "stdyInfo")
    for language in ("sv", "en"):
        _sub(info, "abstract", " ".join(c.description.get(language) for c in parts), lang=language)
    access = _sub(study, "dataAccs")
    for text in dict.fromkeys(c.access for c in parts):
        for language in ("sv", "en"):
            _sub(_sub(access, "useStmt", lang=language), "restrctn", text.get(language))
    references = list(dict.fromkeys(r for c in parts for r in c.references))
    if references:
        material = _sub(study, "othrStdyMat")
        for reference in references:
            _reference(_sub(material, "relMat"), reference)


def _file(root: ET.Element, codebook: Codebook, path: str) -> None:
    file = _sub(root, "fileDscr", ID=_file_id(codebook), URI=path)
    text = _sub(file, "fileTxt")
    _sub(text, "fileName", path)
    citation = _sub(text, "fileCitation")
    titles = _sub(citation, "titlStmt")
    _sub(titles, "titl", codebook.title.sv, lang="sv")
    _sub(titles, "parTitl", codebook.title.en, lang="en")
    _sub(titles, "IDNo", codebook.name)
    _sub(_sub(citation, "rspStmt"), "AuthEnty", codebook.source)
    _sub(_sub(citation, "verStmt"), "version", codebook.version)
    _sub(text, "fileCont", codebook.description.sv, lang="sv")
    _sub(_sub(text, "dimensns"), "varQnty", str(len(codebook.variables)))
    _sub(file, "notes", f"Register: {codebook.register}", type="register")
    _sub(file, "notes", codebook.description.en, lang="en", type="description")


def _variable(data: ET.Element, codebook: Codebook, variable: Variable) -> None:
    attributes = {"ID": f"V_{codebook.name}.{variable.name}", "name": variable.name, "files": _file_id(codebook),
                  "intrvl": "contin" if variable.type in ("number", "date") else "discrete"}
    if variable.type == "number" and variable.decimal != ".":
        attributes["dcml"] = variable.decimal
    var = _sub(data, "var", **attributes)
    _sub(var, "labl", variable.label.sv, lang="sv")
    _sub(var, "labl", variable.label.en, lang="en")
    _sub(var, "security", variable.role)
    if variable.minimum is not None or variable.maximum is not None:
        bounds = {key: _bound(value) for key, value in (("min", variable.minimum), ("max", variable.maximum))
                  if value is not None}
        if variable.type in ("integer", "number"):
            bounds["UNITS"] = "INT" if variable.type == "integer" else "REAL"
        _sub(_sub(var, "valrng"), "range", **bounds)
    if variable.description:
        _sub(var, "txt", variable.description.sv, lang="sv")
        _sub(var, "txt", variable.description.en, lang="en")
    for category in variable.categories:
        element = _sub(var, "catgry")
        _sub(element, "catValu", str(category.code))
        _sub(element, "labl", category.label.sv, lang="sv")
        _sub(element, "labl", category.label.en, lang="en")
    for code in variable.missing_values:
        _sub(_sub(var, "catgry", missing="Y"), "catValu", code)
    if variable.derivation:
        _sub(_sub(var, "derivation"), "drvdesc", variable.derivation.rule.sv, lang="sv")
    _var_format(var, variable)
    if variable.derivation:
        _sub(var, "notes", variable.derivation.rule.en, lang="en", type="derivation")
        for list_name, codes in variable.derivation.codes:
            _sub(var, "notes", f"{list_name}: {', '.join(codes)}", type="derivation-codes")
        for reference in variable.derivation.references:
            _reference(_sub(var, "notes", type="derivation-reference"), reference)
    if variable.pattern:
        _sub(var, "notes", variable.pattern, type="pattern")
    if variable.unit:
        _sub(var, "notes", variable.unit, type="unit")
    if variable.codelist:
        _sub(var, "notes", variable.codelist, type="codelist")
    if variable.source:
        _sub(var, "notes", variable.source, type="source")
    if variable.required:
        _sub(var, "notes", "required", type="required")


def _var_format(var: ET.Element, variable: Variable) -> None:
    if variable.type == "date":
        name = _DATE_NAMES.get(variable.date_format, variable.date_format)
        _sub(var, "varFormat", type="character", formatname=name, schema="ISO", category="date")
    else:
        _sub(var, "varFormat", variable.type, type="numeric" if variable.type in _NUMERIC else "character",
             schema="other")


def _reference(element: ET.Element, reference: Reference) -> None:
    element.text = f"{reference.title} "
    _sub(element, "ExtLink", URI=reference.url)


def _bound(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _file_id(codebook: Codebook) -> str:
    return f"F_{codebook.name}"


def _tag(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, /, *, lang: str | None = None,
         **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, _tag(tag), attributes)
    if lang:
        element.set(_XML_LANG, lang)
    if text is not None:
        element.text = text
    return element
