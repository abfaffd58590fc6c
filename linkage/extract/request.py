"""The request file of an extract: what an approved project may receive, checked before any data is read.

A request (YAML) names the project (the pseudonym scope), the ethics approval, the cohort, the variables by
codebook, the health window, the date precision, the disclosure settings and the output formats (the contract:
issue 6, "The request file"). The request may only ask for what its codebooks define, and never for a
`direct_identifier`. Every error is one line, `<file>, line <n>: <dotted.key>: <reason>`, naming keys and variable
names but never a value that could be data (a text that is not shaped like a name is not repeated).
The canonical form (`Request.to_dict`, every default filled in) is what the manifest's request hash covers, so key
order, comments and layout do not change the hash, while any value or any delivery order does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor

import codebooks
from codebooks import Codebook, Text
from linkage.atomic import atomic_file
from linkage.errors import OutputError, ReglinkError
from linkage.io import read_text
from linkage.registers import EVENT_REGISTERS

#: The request format this module reads.
VERSION = 1
#: The derived, person-level codebooks; their variables form the `persons` table.
PERSON_CODEBOOKS = ("cohort", "placement_history", "education_outcomes", "health_outcomes", "social_outcomes")
#: Who is in the cohort: ever placed, placed the whole of year 9, or everyone (with the placed/never-placed flags).
POPULATIONS = ("placed_ever", "placed_year9", "all")
PRECISIONS = ("day", "month", "year")
#: What to do with a quasi-identifier class smaller than k.
ACTIONS = ("fail", "suppress", "generalise")
FORMATS = ("parquet", "csv", "stata")
#: The table of one row per cohort person, and its key (always delivered, defined by the cohort codebook).
PERSONS = "persons"
PSEUDONYM_ID = "pseudonym_id"

DEFAULT_HEALTH_AGES = (13, 25)
DEFAULT_PRECISION = "month"
DEFAULT_BIRTH_PRECISION = "year"
DEFAULT_K = 5
DEFAULT_ACTION = "fail"
DEFAULT_FORMATS = ("parquet",)
BIRTH_YEARS = (1890, 2100)
MAX_AGE = 120
MAX_APPROVAL = 200
MAX_TITLE = 200
MAX_K = 1_000_000

_PROJECT = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
#: A personnummer or samordningsnummer in any written form: never in the project, title or approval (written out).
_IDENTIFIER_SHAPED = re.compile(r"[0-9]{6}(?:[0-9]{2})?[-+]?[0-9]{4}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: What may be repeated in a message: a key or variable name (never a run of digits long enough to be an identifier).
_SHOWN = re.compile(r"(?!.*[0-9]{6})[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


class RequestError(ReglinkError):
    """A request file that breaks a rule: one line naming the file, the line and the key."""


@dataclass(frozen=True)
class Request:
    """A validated extract request, every default filled in.

    `variables` is codebook name → requested variable names, in request order (`pseudonym_id` is always delivered
    and never listed here); `quasi_identifiers` is resolved (given, or every delivered person-level variable whose
    codebook role is quasi_identifier) and in delivery order; `formats` is in FORMATS order.
    """

    version: int
    project: str
    title: str
    approval: str
    reference_date: dt.date
    birth_years: tuple[int, int]
    population: str
    variables: tuple[tuple[str, tuple[str, ...]], ...]
    health_ages: tuple[int, int]
    self_harm_undetermined_intent: bool
    date_precision: str
    birth_precision: str
    k: int
    quasi_identifiers: tuple[str, ...]
    action: str
    formats: tuple[str, ...]
    code_key: bool

    @property
    def person_variables(self) -> tuple[str, ...]:
        """The requested person-level variables in delivery order (the `persons` columns after `pseudonym_id`)."""
        return tuple(n for name, names in self.variables if name in PERSON_CODEBOOKS for n in names)

    @property
    def event_tables(self) -> dict[str, tuple[str, ...]]:
        """Event register → its requested columns (after `pseudonym_id`), in request order."""
        return {name: names for name, names in self.variables if name not in PERSON_CODEBOOKS}

    @property
    def tables(self) -> tuple[str, ...]:
        """The delivered tables: `persons` first, then each event register in request order."""
        return (PERSONS, *self.event_tables)

    def codebook(self, table: str) -> Codebook:
        """The codebook of exactly the variables delivered in `table`, `pseudonym_id` first (dates not yet coarsened)."""
        if table == PERSONS:
            person = [(name, names) for name, names in self.variables if name in PERSON_CODEBOOKS]
            if person and person[0][0] == "cohort":
                person[0] = ("cohort", (PSEUDONYM_ID, *person[0][1]))
            else:
                person.insert(0, ("cohort", (PSEUDONYM_ID,)))
            return codebooks.combine(PERSONS, Text(sv="Personer i kohorten", en="Persons in the cohort"),
                                     [codebooks.load(name).select(names) for name, names in person])
        events = self.event_tables
        if table not in events:
            raise RequestError(f"no table '{table}' in this request (tables: {', '.join(self.tables)})")
        selected = codebooks.load(table).select(events[table])
        return replace(selected, variables=(codebooks.load("cohort").variable(PSEUDONYM_ID), *selected.variables))

    def to_dict(self) -> dict[str, Any]:
        """The canonical plain-JSON form: the request's keys with every default filled in.

        `variables` is a list of {codebook, variables} because its order is the delivery order (a JSON object's
        key order is not kept by the hash).
        """
        return {
            "reglink_request": self.version,
            "project": self.project,
            "title": self.title,
            "approval": self.approval,
            "reference_date": self.reference_date.isoformat(),
            "cohort": {"birth_years": {"from": self.birth_years[0], "to": self.birth_years[1]},
                       "population": self.population},
            "variables": [{"codebook": name, "variables": list(names)} for name, names in self.variables],
            "windows": {"health": {"from_age": self.health_ages[0], "to_age": self.health_ages[1]},
                        "self_harm_undetermined_intent": self.self_harm_undetermined_intent},
            "dates": {"precision": self.date_precision, "birth": self.birth_precision},
            "disclosure": {"k": self.k, "quasi_identifiers": list(self.quasi_identifiers), "action": self.action},
            "formats": list(self.formats),
            "code_key": self.code_key,
        }

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8): the manifest's request hash."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_request(path: Path | str) -> Request:
    """The request in the YAML file at `path`, validated (errors name the file by its name)."""
    path = Path(path)
    return parse_request(read_text(path, what="request file", error=RequestError), source=path.name)


def parse_request(text: str, source: str = "request") -> Request:
    """The request in YAML `text`, validated; `source` names it in error messages."""
    root = _compose(text, source) if text.strip() else None
    if root is None:
        raise RequestError(f"{source}: is empty; expected a reglink request (YAML)")
    return _Reader(source).request(root)


def write_example(path: Path | str) -> Path:
    """Write the example request (EXAMPLE) to `path`, atomically; refuses to replace an existing file."""
    path = Path(path)
    if path.exists():
        raise OutputError(f"{path.name}: exists already; choose a new path")
    try:
        with atomic_file(path) as tmp:
            tmp.write_text(EXAMPLE, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{path.name}: could not be written ({exc.strerror or type(exc).__name__})") from None
    return path


# ------------------------------------------------------------------------------------------------ YAML nodes

class _Refused(Exception):
    """A YAML feature a request may not use, at `mark`."""

    def __init__(self, mark: yaml.Mark, reason: str):
        super().__init__(reason)
        self.mark = mark
        self.reason = reason


class _Loader(yaml.SafeLoader):
    """Safe YAML composition that refuses anchors and aliases (a request is read as written, nothing shared)."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, "YAML anchors and aliases (&, *) are not allowed in a request")
        return super().compose_node(parent, index)


def _compose(text: str, source: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
    except _Refused as exc:
        raise RequestError(f"{source}, line {exc.mark.line + 1}: {exc.reason}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise RequestError(f"{source}, line {line}: not valid YAML (a control character is not allowed)") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "cannot be parsed"
        if exc.context and problem.startswith("but "):
            problem = f"{exc.context}, {problem}"
        problem = " ".join(problem.split())
        raise RequestError(f"{source}{where}: not valid YAML ({problem})") from None


def _shown(value: Any) -> str | None:
    """`value` if it may be repeated in a message (a name), else None."""
    return value if isinstance(value, str) and _SHOWN.fullmatch(value) else None


def _kind(node: yaml.Node, value: Any = None) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {bool: "true/false", int: "a whole number", float: "a decimal number", str: "a text",
            type(None): "empty"}.get(type(value), "a value")


class _Section:
    """A mapping read from the request: its node, dotted key and entries (name → key node, value node)."""

    def __init__(self, node: yaml.Node, key: str, entries: dict[str, tuple[yaml.Node, yaml.Node]]):
        self.node, self.key, self.entries = node, key, entries

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def __getitem__(self, name: str) -> yaml.Node:
        return self.entries[name][1]

    def key_of(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name


class _Reader:
    """Reads a composed request node by node; every failure names the source, the node's line and the dotted key."""

    def __init__(self, source: str):
        self.source = source
        self._constructor = SafeConstructor()

    def fail(self, node: yaml.Node, key: str, reason: str) -> NoReturn:
        where = f"{key}: " if key else ""
        raise RequestError(f"{self.source}, line {node.start_mark.line + 1}: {where}{reason}")

    # ---- shapes

    def mapping(self, node: yaml.Node, key: str, required: tuple[str, ...] = (),
                optional: tuple[str, ...] | None = ()) -> _Section:
        """The mapping at `node` with exactly the allowed keys (`optional=None`: any keys that are names)."""
        self.tag(node, key)
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, key, f"must be a mapping, not {_kind(node, self._value(node))}")
        allowed = "" if optional is None else f" (allowed: {', '.join((*required, *optional))})"
        section = _Section(node, key, {})
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _YAML + "str" else None
            if _shown(name) is None:
                self.fail(key_node, key, f"an unknown key that is not a name{allowed}")
            if optional is not None and name not in (*required, *optional):
                self.fail(key_node, section.key_of(name), f"unknown key{allowed}")
            if name in section:
                self.fail(key_node, section.key_of(name), "is given twice")
            section.entries[name] = (key_node, value_node)
        for name in required:
            if name not in section:
                self.fail(node, section.key_of(name), "is required")
        return section

    def sequence(self, node: yaml.Node, key: str) -> list[yaml.Node]:
        self.tag(node, key)
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, key, f"must be a list, not {_kind(node, self._value(node))}")
        return node.value

    def scalar(self, node: yaml.Node, key: str) -> Any:
        self.tag(node, key)
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, key, f"must be a single value, not {_kind(node)}")
        return self._value(node)

    def tag(self, node: yaml.Node, key: str) -> None:
        """Refuse YAML tags beyond plain values, lists and mappings (`!!python/...`, `!!binary`, `!local`)."""
        standard = (_SCALAR_TAGS if isinstance(node, yaml.ScalarNode)
                    else {_YAML + ("map" if isinstance(node, yaml.MappingNode) else "seq")})
        if node.tag not in standard:
            self.fail(node, key, "a YAML tag (!…) is not allowed in a request")

    def _value(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return None
        if node.tag == _YAML + "timestamp":  # dates are read as ISO text: YAML 1.1 timestamps are laxer
            return node.value
        return self._constructor.construct_object(node)

    def optional(self, section: _Section, name: str, read: Callable[..., Any], *args: Any, default: Any) -> Any:
        """`read(node, key, *args)` of entry `name` of `section`, or `default` where it is not given."""
        return read(section[name], section.key_of(name), *args) if name in section else default

    # ---- values

    def text(self, node: yaml.Node, key: str, limit: int) -> str:
        value = self.scalar(node, key)
        if not isinstance(value, str) or not value.strip():
            self.fail(node, key, f"must be a non-empty text, not {_kind(node, value)}")
        value = value.strip()
        if "\n" in value or "\r" in value:
            self.fail(node, key, "must be one line")
        if len(value) > limit:
            self.fail(node, key, f"must be at most {limit} characters, not {len(value)}")
        self.no_identifier(node, key, value)
        return value

    def no_identifier(self, node: yaml.Node, key: str, value: str) -> None:
        """Refuse a text that will be written out (manifest, codebook) if it holds a personnummer-shaped part."""
        if _IDENTIFIER_SHAPED.search(value):
            self.fail(node, key, "must not contain anything shaped like a personnummer or samordningsnummer")

    def integer(self, node: yaml.Node, key: str, low: int, high: int) -> int:
        value = self.scalar(node, key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(node, key, f"must be a whole number, not {_kind(node, value)}")
        if not low <= value <= high:
            self.fail(node, key, f"must be from {low} to {high}, not {value}")
        return value

    def boolean(self, node: yaml.Node, key: str) -> bool:
        value = self.scalar(node, key)
        if not isinstance(value, bool):
            self.fail(node, key, f"must be true or false, not {_kind(node, value)}")
        return value

    def choice(self, node: yaml.Node, key: str, choices: tuple[str, ...]) -> str:
        value = self.scalar(node, key)
        if not isinstance(value, str) or value not in choices:
            self.fail(node, key, f"must be one of {', '.join(choices)}")
        return value

    def date(self, node: yaml.Node, key: str) -> dt.date:
        value = self.scalar(node, key)
        if not (isinstance(value, str) and _DATE.fullmatch(value)):
            self.fail(node, key, f"must be a date YYYY-MM-DD, not {_kind(node, value)}")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(node, key, "is not a date of the calendar")

    def names(self, node: yaml.Node, key: str) -> list[tuple[yaml.Node, str]]:
        """A non-empty list of distinct names, each with its node."""
        items = self.sequence(node, key)
        if not items:
            self.fail(node, key, "lists nothing")
        seen: set[str] = set()
        for item in items:
            name = self.scalar(item, key)
            if not isinstance(name, str):
                self.fail(item, key, f"must list names, not {_kind(item, name)}")
            if _shown(name) is None:
                self.fail(item, key, "lists a text that is not a name (not shown)")
            if name in seen:
                self.fail(item, key, f"{name} is listed twice")
            seen.add(name)
        return [(item, item.value) for item in items]

    # ---- the request

    def request(self, root: yaml.Node) -> Request:
        if not isinstance(root, yaml.MappingNode):
            self.fail(root, "", f"must be a mapping of request keys (reglink_request, project, …), not "
                                f"{_kind(root, self._value(root))}")
        self.version(root)
        top = self.mapping(root, "", ("reglink_request", "project", "title", "approval", "reference_date", "cohort",
                                      "variables"), ("windows", "dates", "disclosure", "formats", "code_key"))
        project = self.scalar(top["project"], "project")
        if not isinstance(project, str) or not _PROJECT.fullmatch(project):
            self.fail(top["project"], "project", "must be 1-64 of a-z 0-9 . _ -, starting with a letter or digit")
        self.no_identifier(top["project"], "project", project)
        title = self.text(top["title"], "title", MAX_TITLE)
        approval = self.text(top["approval"], "approval", MAX_APPROVAL)
        reference_date = self.date(top["reference_date"], "reference_date")
        birth_years, population = self.cohort(top["cohort"], reference_date)
        variables = self.variables(top["variables"])
        person = {n: cb for cb, names in variables if cb in PERSON_CODEBOOKS for n in names}

        windows = self.optional(top, "windows", self.mapping, (), ("health", "self_harm_undetermined_intent"),
                                default=_Section(root, "windows", {}))
        dates = self.optional(top, "dates", self.mapping, (), ("precision", "birth"),
                              default=_Section(root, "dates", {}))
        disclosure = self.optional(top, "disclosure", self.mapping, (), ("k", "quasi_identifiers", "action"),
                                   default=_Section(root, "disclosure", {}))
        return Request(
            version=VERSION, project=project, title=title, approval=approval, reference_date=reference_date,
            birth_years=birth_years, population=population, variables=variables,
            health_ages=self.optional(windows, "health", self.health_ages, default=DEFAULT_HEALTH_AGES),
            self_harm_undetermined_intent=self.optional(windows, "self_harm_undetermined_intent", self.boolean,
                                                        default=False),
            date_precision=self.optional(dates, "precision", self.choice, PRECISIONS, default=DEFAULT_PRECISION),
            birth_precision=self.optional(dates, "birth", self.choice, PRECISIONS, default=DEFAULT_BIRTH_PRECISION),
            k=self.optional(disclosure, "k", self.integer, 2, MAX_K, default=DEFAULT_K),
            quasi_identifiers=self.optional(
                disclosure, "quasi_identifiers", self.quasi_identifiers, person,
                default=tuple(n for n, cb in person.items()
                              if codebooks.load(cb).variable(n).role == "quasi_identifier")),
            action=self.optional(disclosure, "action", self.choice, ACTIONS, default=DEFAULT_ACTION),
            formats=self.optional(top, "formats", self.formats, default=DEFAULT_FORMATS),
            code_key=self.optional(top, "code_key", self.boolean, default=False),
        )

    def version(self, root: yaml.MappingNode) -> None:
        """`reglink_request` first: a request of another version is refused as such, not for its keys."""
        node = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "reglink_request"),
                    None)
        if node is None:
            self.fail(root, "reglink_request", f"is required (reglink_request: {VERSION})")
        value = self.scalar(node, "reglink_request")
        if isinstance(value, bool) or value != VERSION:
            shown = f" {value}" if isinstance(value, int) and not isinstance(value, bool) else ""
            self.fail(node, "reglink_request", f"unsupported request version{shown} (this reglink reads {VERSION})")

    def cohort(self, node: yaml.Node, reference_date: dt.date) -> tuple[tuple[int, int], str]:
        cohort = self.mapping(node, "cohort", ("birth_years", "population"))
        years = self.mapping(cohort["birth_years"], "cohort.birth_years", ("from", "to"))
        first = self.integer(years["from"], "cohort.birth_years.from", *BIRTH_YEARS)
        last = self.integer(years["to"], "cohort.birth_years.to", *BIRTH_YEARS)
        if first > last:
            self.fail(years.node, "cohort.birth_years", f"from ({first}) must not be after to ({last})")
        if last > reference_date.year:
            self.fail(years["to"], "cohort.birth_years.to",
                      f"{last} is after the year of reference_date ({reference_date.year})")
        return (first, last), self.choice(cohort["population"], "cohort.population", POPULATIONS)

    def health_ages(self, node: yaml.Node, key: str) -> tuple[int, int]:
        health = self.mapping(node, key, (), ("from_age", "to_age"))
        ages = (self.optional(health, "from_age", self.integer, 0, MAX_AGE, default=DEFAULT_HEALTH_AGES[0]),
                self.optional(health, "to_age", self.integer, 0, MAX_AGE, default=DEFAULT_HEALTH_AGES[1]))
        if ages[0] >= ages[1]:
            self.fail(node, key, f"from_age ({ages[0]}) must be below to_age ({ages[1]})")
        return ages

    def variables(self, node: yaml.Node) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Codebook → requested names: known codebooks and variables, no direct identifier, nothing twice.

        The person-level codebooks share no variable name (tests/linkage/test_request.py checks it), so a name
        listed once is delivered once in `persons`.
        """
        entries = self.mapping(node, "variables", (), None)
        if not entries.entries:
            self.fail(node, "variables", "names no codebook (e.g. cohort: [kon, fodelsear])")
        requested: list[tuple[str, tuple[str, ...]]] = []
        for codebook_name, (key_node, value_node) in entries.entries.items():
            key = entries.key_of(codebook_name)
            if codebook_name not in PERSON_CODEBOOKS and codebook_name not in EVENT_REGISTERS:
                self.fail(key_node, key, f"not a codebook a request can name (person-level: "
                                         f"{', '.join(PERSON_CODEBOOKS)}; event registers: "
                                         f"{', '.join(EVENT_REGISTERS)})")
            codebook = codebooks.load(codebook_name)
            names = []
            for item, name in self.names(value_node, key):
                if name == PSEUDONYM_ID:
                    continue
                if name not in codebook.names:
                    deliverable = (v.name for v in codebook.variables if v.role != "direct_identifier")
                    self.fail(item, key, f"unknown variable {name} (codebook {codebook_name} has: "
                                         f"{', '.join(deliverable)})")
                if codebook.variable(name).role == "direct_identifier":
                    self.fail(item, key, f"{name} is a direct identifier and can never be delivered")
                names.append(name)
            if names or codebook_name not in PERSON_CODEBOOKS:
                requested.append((codebook_name, tuple(names)))
        return tuple(requested)

    def quasi_identifiers(self, node: yaml.Node, key: str, person: dict[str, str]) -> tuple[str, ...]:
        """The given quasi-identifiers, each a delivered person-level variable, in delivery order."""
        chosen = set()
        for item, name in self.names(node, key):
            if name == PSEUDONYM_ID:
                self.fail(item, key, f"{PSEUDONYM_ID} is unique to each person and cannot be a quasi-identifier")
            if name not in person:
                self.fail(item, key, f"{name} is not a delivered person-level variable (delivered: "
                                     f"{', '.join(person) or 'none'})")
            chosen.add(name)
        return tuple(n for n in person if n in chosen)

    def formats(self, node: yaml.Node, key: str) -> tuple[str, ...]:
        """The given formats, in FORMATS order."""
        chosen = set()
        for item, name in self.names(node, key):
            if name not in FORMATS:
                self.fail(item, key, f"unknown format {name} (formats: {', '.join(FORMATS)})")
            chosen.add(name)
        return tuple(f for f in FORMATS if f in chosen)


#: The demo's request, and the template `reglink extract --example` writes.
EXAMPLE = """\
# A reglink extract request: what an approved project may receive. Every key is checked before any data is read.
reglink_request: 1                     # format version
project: demo-2026                     # pseudonym scope: the same project always gets the same pseudonyms
title: Placerade barns skolgång och hälsa
approval: "Dnr 2026-01234-01"          # the ethics approval (etikprövning) reference
reference_date: 2025-12-31             # end of follow-up

cohort:
  birth_years: {from: 1998, to: 2008}  # inclusive
  population: all                      # placed_ever | placed_year9 | all (everyone, with the placed flags)

variables:                             # codebook → variables, in delivery order; pseudonym_id is always delivered
  cohort: [kon, fodelsear, lan, kommun, fodelseland_grupp, ensamkommande,
           placerad_nagon_gang, placerad_hela_ak9, aldrig_placerad]
  placement_history: [alder_forsta_placering, antal_placeringar, antal_omplaceringar, dagar_i_vard,
                      nagon_gang_lvu, nagon_gang_hvb_sis, ny_placering_inom_12_man]
  education_outcomes: [behorig_yrkesprogram, behorig_ekonomi_humanistiska_samhall, behorig_naturvetenskap_teknik,
                       behorig_estetiska,
                       meritvarde, fullfoljt_grundskolan_17, saknas_i_betygsregistret, gymnasieexamen_20,
                       avgangsar_ak9]
  health_outcomes: [psykiatrisk_vard, sjalvskada, substansrelaterad_vard, psykofarmaka_n05a, psykofarmaka_n05b,
                    psykofarmaka_n06a, psykofarmaka_n06b, minst_tva_psykofarmaka_15_16]
  social_outcomes: [lvm_fore_25]
  placement_measure: [startdatum, slutdatum, lagrum]          # an event register → a table of its own
  placement_placement: [startdatum, slutdatum, placeringsform]

windows:
  health: {from_age: 13, to_age: 25}   # ages [from, to) for the health outcomes
  self_harm_undetermined_intent: false # also count Y10-Y34 (undetermined intent) as self-harm

dates:
  precision: month                     # event dates: day | month | year
  birth: year                          # fodelsedatum, if requested: day | month | year

disclosure:
  k: 5                                 # every combination of the quasi-identifiers must hold at least k persons
  quasi_identifiers: [kon, fodelsear, lan, kommun]
  action: suppress                     # below k: fail | suppress | generalise

formats: [parquet, csv, stata]
code_key: false                        # true: an encrypted code key is kept in the secure area
"""
