"""Codebook definitions as data: strict loading from YAML (shipped or a user's own) and the dict form both ways.

The same dict form is the YAML file, the JSON embedded in Parquet metadata and what `to_dict` returns, so a
codebook read back from anywhere goes through the same checks. Every error names the file, the variable and the key.

The form (see codebooks/definitions/*.yaml for examples):
  name, title {sv, en}, register, description {sv, en}, version, source (holder), access {sv, en}, variables;
  optional references [{title, url}], codelists [...] (own code lists, used before the shipped ones of the same
  name), date_format and decimal (defaults for the date and number variables).
  A variable: name, label {sv, en}, type, role; optional description {sv, en}, unit, codelist (a code list name) or
  categories [{code, sv, en}], missing_values, minimum, maximum, pattern (the whole value must match), required,
  source (defaults to the register), derivation {rule {sv, en}, references, codes {code list: [codes]}},
  date_format (strftime with %Y, %m, %d), decimal ("." or ",").
  A code list: name, title {sv, en}, codes [{code, sv, en[, group]}]; optional references, note {sv, en}, groups
  (the code list that each code's `group` belongs to, e.g. kommun → lan).
Categorical codes are text: quote them in YAML ("1", "NO"), or YAML reads numbers and booleans.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from codebooks.errors import CodebookError
from codebooks.model import (
    LANGUAGES, ROLES, TYPES, Category, Codebook, CodeList, Derivation, Reference, Text, Variable, _used_codelists,
)
from codebooks.parsing import DATE_FORMAT

DEFINITIONS = "definitions"
CODELISTS = "codelists"
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DECIMALS = (".", ",")

_CODEBOOK_KEYS = {"name", "title", "register", "description", "version", "source", "access", "variables"}
_CODEBOOK_OPTIONAL = {"references", "codelists", "date_format", "decimal"}
_VARIABLE_KEYS = {"name", "label", "type", "role"}
_VARIABLE_OPTIONAL = {"description", "unit", "codelist", "categories", "missing_values", "minimum", "maximum",
                      "pattern", "required", "source", "derivation", "date_format", "decimal"}
_CODELIST_KEYS = {"name", "title", "codes"}
_CODELIST_OPTIONAL = {"references", "note", "groups"}


# ---------------------------------------------------------------------------------------------------- public API

def available() -> tuple[str, ...]:
    """Names of the codebooks shipped with reglink."""
    folder = resources.files("codebooks") / DEFINITIONS
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


@functools.lru_cache(maxsize=None)
def load(name: str) -> Codebook:
    """A shipped codebook by name (see `available()`)."""
    names = available()
    if name not in names:
        raise CodebookError(f"unknown codebook '{name}' (available: {', '.join(names)})")
    resource = resources.files("codebooks") / DEFINITIONS / f"{name}.yaml"
    return from_dict(_parse_yaml(resource.read_text(encoding="utf-8"), f"{name}.yaml"), where=f"{name}.yaml")


def load_file(path: Path | str) -> Codebook:
    """A codebook from a user's own YAML file (same format as the shipped ones; may define its own code lists)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodebookError(f"{path.name}: no such codebook file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CodebookError(f"{path.name}: cannot be read as UTF-8 text ({type(exc).__name__})") from None
    return from_dict(_parse_yaml(text, path.name), where=path.name)


def codelist(name: str) -> CodeList:
    """A shipped code list by name (kommun, lan, land, icd10_grupp, atc_grupp, …)."""
    lists = _shipped_codelists()
    if name not in lists:
        raise CodebookError(f"unknown code list '{name}' (available: {', '.join(sorted(lists))})")
    return lists[name]


def available_codelists() -> tuple[str, ...]:
    """Names of the code lists shipped with reglink."""
    return tuple(sorted(_shipped_codelists()))


def from_dict(data: Any, *, where: str = "codebook") -> Codebook:
    """A codebook from its dict form, checked strictly (unknown keys, wrong types, unknown codes → CodebookError)."""
    c = _Checker(where)
    data = c.mapping(data, "codebook")
    c.keys(data, _CODEBOOK_KEYS, _CODEBOOK_OPTIONAL, "codebook")
    name = c.name(data["name"], "name")
    local = {}
    for item in c.sequence(data.get("codelists", []), "codelists"):
        parsed = _codelist(item, _Checker(where, "code list"))
        if parsed.name in local:
            raise CodebookError(f"{where}: code list '{parsed.name}' is defined twice")
        local[parsed.name] = parsed
    lists = {**_shipped_codelists(), **local}
    for parsed in local.values():
        _check_groups(parsed, lists, where)
    defaults = {
        "date_format": c.date_format(data["date_format"], "date_format") if "date_format" in data else None,
        "decimal": c.decimal(data["decimal"], "decimal") if "decimal" in data else None,
    }
    register = c.string(data["register"], "register")
    raw_variables = c.sequence(data["variables"], "variables")
    if not raw_variables:
        raise CodebookError(f"{where}: key 'variables': the codebook has no variables")
    variables: list[Variable] = []
    seen: set[str] = set()
    for index, item in enumerate(raw_variables, start=1):
        variable = _variable(item, index, lists, defaults, register, where)
        if variable.name in seen:
            raise CodebookError(f"{where}: variable '{variable.name}': key 'name': defined more than once")
        seen.add(variable.name)
        variables.append(variable)
    variables_t = tuple(variables)
    return Codebook(
        name=name,
        title=c.text(data["title"], "title"),
        register=register,
        description=c.text(data["description"], "description"),
        version=c.string(data["version"], "version"),
        source=c.string(data["source"], "source"),
        access=c.text(data["access"], "access"),
        variables=variables_t,
        references=c.references(data.get("references", []), "references"),
        codelists=_used_codelists(variables_t, tuple(lists.values())),
    )


def to_dict(codebook: Codebook) -> dict[str, Any]:
    """The dict form of a codebook (JSON-ready; `from_dict` gives the same codebook back)."""
    data: dict[str, Any] = {
        "name": codebook.name,
        "title": _text(codebook.title),
        "register": codebook.register,
        "description": _text(codebook.description),
        "version": codebook.version,
        "source": codebook.source,
        "access": _text(codebook.access),
    }
    if codebook.references:
        data["references"] = [_reference(r) for r in codebook.references]
    if codebook.codelists:
        data["codelists"] = [_codelist_dict(c) for c in codebook.codelists]
    data["variables"] = [_variable_dict(v) for v in codebook.variables]
    return data


# ------------------------------------------------------------------------------------------------- the dict form

def _variable(item: Any, index: int, lists: Mapping[str, CodeList], defaults: Mapping[str, Any],
              register: str, where: str) -> Variable:
    c = _Checker(where, f"variable #{index}")
    item = c.mapping(item, "variable")
    if isinstance(item.get("name"), str):
        c = _Checker(where, f"variable '{item['name']}'")
    c.keys(item, _VARIABLE_KEYS, _VARIABLE_OPTIONAL, "variable")
    name = c.name(item["name"], "name")
    vtype = c.choice(item["type"], "type", TYPES)
    role = c.choice(item["role"], "role", ROLES)
    pattern = c.pattern(item["pattern"], "pattern") if "pattern" in item else None
    if pattern is not None and vtype not in ("string", "categorical"):
        c.fail("pattern", f"only string and categorical variables take a pattern, not {vtype}")

    categories: tuple[Category, ...] = ()
    codelist_name = None
    if "codelist" in item and "categories" in item:
        c.fail("codelist", "give either 'codelist' or 'categories', not both")
    if "codelist" in item:
        codelist_name = c.string(item["codelist"], "codelist")
        if codelist_name not in lists:
            c.fail("codelist", f"unknown code list '{codelist_name}' (available: {', '.join(sorted(lists))})")
        if vtype != "categorical":
            c.fail("codelist", f"only categorical variables take a code list, not {vtype}")
        categories = lists[codelist_name].categories
    elif "categories" in item:
        if vtype not in ("categorical", "integer"):
            c.fail("categories", f"only categorical and integer variables take categories, not {vtype}")
        categories = c.categories(item["categories"], "categories", code_type=int if vtype == "integer" else str)
    elif vtype == "categorical":
        c.fail("type", "a categorical variable needs 'categories' or a 'codelist'")
    if pattern is not None:
        for category in categories:
            if not re.fullmatch(pattern, str(category.code)):
                c.fail("categories", f"code '{category.code}' does not match the variable's pattern")

    missing = tuple(c.strings(item.get("missing_values", []), "missing_values"))
    clash = set(missing) & {str(code) for code in (cat.code for cat in categories)}
    if clash:
        c.fail("missing_values", f"code(s) {', '.join(sorted(clash))} are also categories")

    minimum = c.bound(item["minimum"], "minimum", vtype) if "minimum" in item else None
    maximum = c.bound(item["maximum"], "maximum", vtype) if "maximum" in item else None
    if minimum is not None and maximum is not None and minimum > maximum:
        c.fail("maximum", "is below the minimum")

    date_format = item.get("date_format", defaults.get("date_format"))
    if "date_format" in item and vtype != "date":
        c.fail("date_format", f"only date variables take a date_format, not {vtype}")
    decimal = item.get("decimal", defaults.get("decimal"))
    if "decimal" in item and vtype != "number":
        c.fail("decimal", f"only number variables take a decimal separator, not {vtype}")

    derivation = _derivation(item["derivation"], lists, c) if "derivation" in item else None
    return Variable(
        name=name,
        label=c.text(item["label"], "label"),
        type=vtype,
        role=role,
        description=c.text(item["description"], "description") if "description" in item else None,
        unit=c.string(item["unit"], "unit") if "unit" in item else None,
        codelist=codelist_name,
        categories=categories,
        missing_values=missing,
        minimum=minimum,
        maximum=maximum,
        pattern=pattern,
        required=c.boolean(item.get("required", False), "required"),
        source=c.string(item["source"], "source") if "source" in item else register,
        derivation=derivation,
        date_format=c.date_format(date_format, "date_format") if vtype == "date" and date_format else "%Y-%m-%d",
        decimal=c.decimal(decimal, "decimal") if vtype == "number" and decimal else ".",
    )


def _derivation(item: Any, lists: Mapping[str, CodeList], c: _Checker) -> Derivation:
    item = c.mapping(item, "derivation")
    c.keys(item, {"rule"}, {"references", "codes"}, "derivation")
    codes: list[tuple[str, tuple[str, ...]]] = []
    for list_name, used in sorted(c.mapping(item.get("codes", {}), "derivation.codes").items()):
        if list_name not in lists:
            c.fail("derivation.codes", f"unknown code list '{list_name}'")
        used = tuple(c.strings(used, f"derivation.codes.{list_name}"))
        unknown = [code for code in used if code not in lists[list_name].codes]
        if unknown:
            c.fail(f"derivation.codes.{list_name}", f"code(s) {', '.join(unknown)} are not in the list")
        codes.append((list_name, used))
    return Derivation(
        rule=c.text(item["rule"], "derivation.rule"),
        references=c.references(item.get("references", []), "derivation.references"),
        codes=tuple(codes),
    )


def _codelist(item: Any, c: _Checker) -> CodeList:
    item = c.mapping(item, "code list")
    if isinstance(item.get("name"), str):
        c = _Checker(c.where, f"code list '{item['name']}'")
    c.keys(item, _CODELIST_KEYS, _CODELIST_OPTIONAL, "code list")
    return CodeList(
        name=c.name(item["name"], "name"),
        title=c.text(item["title"], "title"),
        categories=c.categories(item["codes"], "codes", code_type=str, grouped="groups" in item),
        references=c.references(item.get("references", []), "references"),
        note=c.text(item["note"], "note") if "note" in item else None,
        groups=c.name(item["groups"], "groups") if "groups" in item else None,
    )


def _check_groups(codelist_: CodeList, lists: Mapping[str, CodeList], where: str) -> None:
    if codelist_.groups is None:
        return
    if codelist_.groups not in lists:
        raise CodebookError(f"{where}: code list '{codelist_.name}': key 'groups': unknown code list "
                            f"'{codelist_.groups}'")
    known = set(lists[codelist_.groups].codes)
    for category in codelist_.categories:
        if category.group not in known:
            raise CodebookError(f"{where}: code list '{codelist_.name}': code '{category.code}': key 'group': "
                                f"'{category.group}' is not a code of '{codelist_.groups}'")


def _text(text: Text) -> dict[str, str]:
    return {"sv": text.sv, "en": text.en}


def _reference(reference: Reference) -> dict[str, str]:
    return {"title": reference.title, "url": reference.url}


def _category_dict(category: Category) -> dict[str, Any]:
    data: dict[str, Any] = {"code": category.code, "sv": category.label.sv, "en": category.label.en}
    if category.group is not None:
        data["group"] = category.group
    return data


def _codelist_dict(codelist_: CodeList) -> dict[str, Any]:
    data: dict[str, Any] = {"name": codelist_.name, "title": _text(codelist_.title)}
    if codelist_.groups:
        data["groups"] = codelist_.groups
    if codelist_.references:
        data["references"] = [_reference(r) for r in codelist_.references]
    if codelist_.note:
        data["note"] = _text(codelist_.note)
    data["codes"] = [_category_dict(c) for c in codelist_.categories]
    return data


def _variable_dict(variable: Variable) -> dict[str, Any]:
    data: dict[str, Any] = {"name": variable.name, "label": _text(variable.label), "type": variable.type,
                            "role": variable.role, "required": variable.required}
    if variable.description:
        data["description"] = _text(variable.description)
    if variable.unit:
        data["unit"] = variable.unit
    if variable.codelist:
        data["codelist"] = variable.codelist
    elif variable.categories:
        data["categories"] = [_category_dict(c) for c in variable.categories]
    if variable.missing_values:
        data["missing_values"] = list(variable.missing_values)
    for key in ("minimum", "maximum"):
        value = getattr(variable, key)
        if value is not None:
            data[key] = value.isoformat() if isinstance(value, dt.date) else value
    if variable.pattern:
        data["pattern"] = variable.pattern
    if variable.source:
        data["source"] = variable.source
    if variable.type == "date":
        data["date_format"] = variable.date_format
    if variable.type == "number":
        data["decimal"] = variable.decimal
    if variable.derivation:
        derivation: dict[str, Any] = {"rule": _text(variable.derivation.rule)}
        if variable.derivation.references:
            derivation["references"] = [_reference(r) for r in variable.derivation.references]
        if variable.derivation.codes:
            derivation["codes"] = {name: list(codes) for name, codes in variable.derivation.codes}
        data["derivation"] = derivation
    return data


# ---------------------------------------------------------------------------------------------- shipped lists

@functools.lru_cache(maxsize=1)
def _shipped_codelists() -> dict[str, CodeList]:
    folder = resources.files("codebooks") / DEFINITIONS / CODELISTS
    lists: dict[str, CodeList] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        where = f"{CODELISTS}/{entry.name}"
        parsed = _codelist(_parse_yaml(entry.read_text(encoding="utf-8"), where), _Checker(where, "code list"))
        if parsed.name != entry.name[:-5]:
            raise CodebookError(f"{where}: key 'name': '{parsed.name}' differs from the file name")
        lists[parsed.name] = parsed
    for parsed in lists.values():
        _check_groups(parsed, lists, f"{CODELISTS}/{parsed.name}.yaml")
    return lists


# ------------------------------------------------------------------------------------------------ YAML parsing

class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # the C parser where PyYAML has it
    """Safe YAML that refuses a key given twice in one mapping (PyYAML would silently keep the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice in one mapping", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise CodebookError(f"{where}:{line}: {problem}") from None


class _Checker:
    """Type checks for one part of a definition; every failure names the file, the part and the key."""

    def __init__(self, where: str, part: str | None = None):
        self.where = where
        self.part = part

    def fail(self, key: str, reason: str) -> None:
        part = f" {self.part}:" if self.part else ""
        raise CodebookError(f"{self.where}:{part} key '{key}': {reason}")

    def keys(self, data: Mapping, required: set[str], optional: set[str], what: str) -> None:
        unknown = sorted(set(map(str, data)) - required - optional)
        if unknown:
            self.fail(unknown[0], f"unknown key in a {what} (allowed: {', '.join(sorted(required | optional))})")
        missing = sorted(required - set(data))
        if missing:
            self.fail(missing[0], f"required in a {what}")

    def mapping(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping, not {_kind(value)}")
        return value

    def sequence(self, value: Any, key: str) -> list:
        if not isinstance(value, list):
            self.fail(key, f"must be a list, not {_kind(value)}")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"must be a non-empty text, not {_kind(value)}")
        return value

    def strings(self, value: Any, key: str) -> list[str]:
        return [self.string(v, key) for v in self.sequence(value, key)]

    def name(self, value: Any, key: str) -> str:
        value = self.string(value, key)
        if not _NAME.fullmatch(value):
            self.fail(key, "must be lower case letters, digits and '_', starting with a letter")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {_kind(value)}")
        return value

    def choice(self, value: Any, key: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}")
        return value

    def text(self, value: Any, key: str) -> Text:
        value = self.mapping(value, key)
        unknown = sorted(set(map(str, value)) - set(LANGUAGES))
        if unknown or set(value) != set(LANGUAGES):
            self.fail(key, "must give exactly 'sv' and 'en'")
        return Text(sv=self.string(value["sv"], f"{key}.sv"), en=self.string(value["en"], f"{key}.en"))

    def references(self, value: Any, key: str) -> tuple[Reference, ...]:
        result = []
        for item in self.sequence(value, key):
            item = self.mapping(item, key)
            self.keys(item, {"title", "url"}, set(), "reference")
            url = self.string(item["url"], f"{key}.url")
            if not url.startswith(("https://", "http://")):
                self.fail(f"{key}.url", "must be an http(s) address")
            result.append(Reference(title=self.string(item["title"], f"{key}.title"), url=url))
        return tuple(result)

    def categories(self, value: Any, key: str, *, code_type: type, grouped: bool = False) -> tuple[Category, ...]:
        result: list[Category] = []
        seen: set = set()
        for item in self.sequence(value, key):
            item = self.mapping(item, key)
            self.keys(item, {"code", "sv", "en"}, {"group"} if grouped else set(), "category")
            code = item["code"]
            if code_type is str and not (isinstance(code, str) and code.strip() and code == code.strip()):
                self.fail(key, f"code {code!r} must be a text without surrounding spaces (quote it in YAML: "
                               f"'\"1\"', '\"NO\"')")
            if code_type is int and (isinstance(code, bool) or not isinstance(code, int)):
                self.fail(key, f"code {code!r} must be an integer for an integer variable")
            if code in seen:
                self.fail(key, f"code '{code}' is given twice")
            seen.add(code)
            if grouped and "group" not in item:
                self.fail(f"{key}.group", f"code '{code}' has no group")
            group = self.string(item["group"], f"{key}.group") if grouped else None
            result.append(Category(code=code, label=Text(sv=self.string(item["sv"], f"{key}.sv"),
                                                         en=self.string(item["en"], f"{key}.en")), group=group))
        if not result:
            self.fail(key, "no codes given")
        return tuple(result)

    def bound(self, value: Any, key: str, vtype: str) -> Any:
        if vtype == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(key, f"must be an integer for an integer variable, not {_kind(value)}")
        elif vtype == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            self.fail(key, f"must be a number, not {_kind(value)}")
        elif vtype == "date":
            if isinstance(value, str):
                try:
                    value = dt.date.fromisoformat(value)
                except ValueError:
                    self.fail(key, "must be a date YYYY-MM-DD")
            if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
                self.fail(key, f"must be a date YYYY-MM-DD, not {_kind(value)}")
        elif vtype not in ("integer", "number", "date"):
            self.fail(key, f"only integer, number and date variables take a range, not {vtype}")
        return value

    def pattern(self, value: Any, key: str) -> str:
        value = self.string(value, key)
        try:
            re.compile(value)
            pc.match_substring_regex(pa.array([""]), f"^(?:{value})$")
        except (re.error, pa.ArrowInvalid) as exc:
            self.fail(key, f"is not a usable regular expression ({exc})")
        return value

    def date_format(self, value: Any, key: str) -> str:
        value = self.string(value, key)
        probe = dt.date(2001, 2, 3)
        try:
            back = dt.datetime.strptime(probe.strftime(value), value).date()
        except ValueError:
            back = None
        if back != probe or not DATE_FORMAT.fullmatch(value) or any(value.count(d) != 1 for d in ("%Y", "%m", "%d")):
            self.fail(key, "must be a strftime format with %Y, %m and %d once each and no other directive "
                           "(e.g. '%Y%m%d' or '%Y-%m-%d')")
        return value

    def decimal(self, value: Any, key: str) -> str:
        if value not in _DECIMALS:
            self.fail(key, "must be '.' or ','")
        return value


def _kind(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a text", list: "a list",
            dict: "a mapping", type(None): "empty"}.get(type(value), type(value).__name__)
