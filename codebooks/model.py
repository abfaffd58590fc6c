"""The codebook model: what a dataset and each of its variables mean, as immutable values.

A codebook is data (loaded from YAML shipped in the package or written by a user); nothing here reads files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from codebooks.errors import CodebookError

#: Variable types. `categorical` codes are strings (kommun `0114` keeps its zero); `integer` may carry integer codes.
TYPES = ("string", "integer", "number", "date", "boolean", "categorical")
#: Disclosure roles: the extract writer asks these, never the column name, what may leave.
ROLES = ("direct_identifier", "quasi_identifier", "sensitive", "other")
LANGUAGES = ("sv", "en")

Code = str | int
Bound = int | float | dt.date


@dataclass(frozen=True)
class Text:
    """A text in Swedish and English."""

    sv: str
    en: str

    def get(self, language: str) -> str:
        """The text in `language` ("sv" or "en")."""
        if language not in LANGUAGES:
            raise CodebookError(f"unknown language '{language}' (use {' or '.join(LANGUAGES)})")
        return getattr(self, language)


@dataclass(frozen=True)
class Reference:
    """An official source: title and address."""

    title: str
    url: str


@dataclass(frozen=True)
class Category:
    """One code of a categorical variable or code list; `group` is its code in the list's grouping (kommun → län)."""

    code: Code
    label: Text
    group: str | None = None


@dataclass(frozen=True)
class CodeList:
    """A shared list of codes (kommuner, län, countries, ICD-10 groups, ATC groups, …), defined once."""

    name: str
    title: Text
    categories: tuple[Category, ...]
    references: tuple[Reference, ...] = ()
    note: Text | None = None
    #: Name of the code list that each category's `group` points into (e.g. kommun → lan).
    groups: str | None = None

    @property
    def codes(self) -> tuple[Code, ...]:
        return tuple(c.code for c in self.categories)

    def category(self, code: Code) -> Category:
        """The category with `code`."""
        for category in self.categories:
            if category.code == code:
                return category
        raise CodebookError(f"code list '{self.name}' has no code '{code}'")

    def group_map(self) -> dict[Code, str]:
        """code → group code, for lists that are grouped (kommun → län, country → region)."""
        if self.groups is None:
            raise CodebookError(f"code list '{self.name}' is not grouped")
        return {c.code: c.group for c in self.categories if c.group is not None}


@dataclass(frozen=True)
class Derivation:
    """How a derived variable is computed: the rule in words, the codes it uses and its official source."""

    rule: Text
    references: tuple[Reference, ...] = ()
    #: (code list name, codes of that list the rule uses), e.g. ("icd10_grupp", ("F10-F19",)).
    codes: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Variable:
    """One variable (column): meaning, type, allowed values and disclosure role."""

    name: str
    label: Text
    type: str
    role: str
    description: Text | None = None
    unit: str | None = None
    #: The shared code list the categories come from (None for inline categories).
    codelist: str | None = None
    categories: tuple[Category, ...] = ()
    #: Codes that mean "missing" besides an empty field / null.
    missing_values: tuple[str, ...] = ()
    minimum: Bound | None = None
    maximum: Bound | None = None
    #: A regular expression the whole value must match (string and categorical variables).
    pattern: str | None = None
    required: bool = False
    #: The register the variable comes from (for derived variables: the registers it is derived from).
    source: str | None = None
    derivation: Derivation | None = None
    #: strftime format of dates written as text (e.g. "%Y%m%d"); typed date columns need none.
    date_format: str = "%Y-%m-%d"
    #: Decimal separator of numbers written as text.
    decimal: str = "."

    @property
    def codes(self) -> tuple[Code, ...]:
        return tuple(c.code for c in self.categories)

    def category_label(self, code: Code, language: str = "sv") -> str:
        for category in self.categories:
            if category.code == code:
                return category.label.get(language)
        raise CodebookError(f"variable '{self.name}' has no category code '{code}'")

    @property
    def integer_coded(self) -> bool:
        """Categories whose codes are all plain integers without leading zeros (Stata/SPSS value labels fit)."""
        if self.type == "integer":
            return bool(self.categories)
        return self.type == "categorical" and bool(self.categories) and all(
            isinstance(c, str) and c.isascii() and c.isdigit() and (c == "0" or not c.startswith("0"))
            for c in self.codes
        )


@dataclass(frozen=True)
class Codebook:
    """What one dataset is: its source and access conditions, and every variable in column order."""

    name: str
    title: Text
    register: str
    description: Text
    version: str
    source: str
    access: Text
    variables: tuple[Variable, ...]
    references: tuple[Reference, ...] = ()
    #: The code lists the variables and derivations use, by name (each defined once, shared between codebooks).
    codelists: tuple[CodeList, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def variable(self, name: str) -> Variable:
        """The variable called `name`."""
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise CodebookError(f"codebook '{self.name}' has no variable '{name}'")

    def codelist(self, name: str) -> CodeList:
        """The code list called `name` (one this codebook uses)."""
        for codelist in self.codelists:
            if codelist.name == name:
                return codelist
        raise CodebookError(f"codebook '{self.name}' uses no code list '{name}'")

    def with_role(self, *roles: str) -> tuple[Variable, ...]:
        """The variables whose disclosure role is one of `roles`."""
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise CodebookError(f"unknown role(s) {', '.join(sorted(unknown))} (roles: {', '.join(ROLES)})")
        return tuple(v for v in self.variables if v.role in roles)

    def select(self, names: Iterable[str]) -> Codebook:
        """This codebook restricted to `names`, in that order (an extract's delivered variables)."""
        chosen = tuple(self.variable(name) for name in names)
        return replace(self, variables=chosen, codelists=_used_codelists(chosen, self.codelists))


def combine(name: str, title: Text, parts: Iterable[Codebook], *, description: Text | None = None) -> Codebook:
    """One codebook for a table whose columns come from several codebooks (e.g. cohort + outcomes).

    Variables keep their own source and derivation; the combined codebook lists every part's register and holder.
    """
    parts = tuple(parts)
    if not parts:
        raise CodebookError(f"combine('{name}'): no codebooks given")
    variables: list[Variable] = []
    seen: dict[str, str] = {}
    for part in parts:
        for variable in part.variables:
            if variable.name in seen:
                raise CodebookError(f"combine('{name}'): variable '{variable.name}' is in both "
                                    f"'{seen[variable.name]}' and '{part.name}'")
            seen[variable.name] = part.name
            variables.append(variable)
    lists: dict[str, CodeList] = {}
    for part in parts:
        for codelist in part.codelists:
            lists.setdefault(codelist.name, codelist)
    references = tuple(dict.fromkeys(r for part in parts for r in part.references))
    return Codebook(
        name=name, title=title,
        register="; ".join(dict.fromkeys(p.register for p in parts)),
        description=description or Text(
            sv="Variabler från: " + ", ".join(p.title.sv for p in parts) + ".",
            en="Variables from: " + ", ".join(p.title.en for p in parts) + "."),
        version="; ".join(dict.fromkeys(f"{p.name} {p.version}" for p in parts)),
        source="; ".join(dict.fromkeys(p.source for p in parts)),
        access=_join_texts([p.access for p in parts]),
        variables=tuple(variables), references=references,
        codelists=_used_codelists(tuple(variables), tuple(lists.values())),
    )


def _join_texts(texts: list[Text]) -> Text:
    unique = list(dict.fromkeys(texts))
    return Text(sv=" ".join(t.sv for t in unique), en=" ".join(t.en for t in unique))


def _used_codelists(variables: tuple[Variable, ...], available: tuple[CodeList, ...]) -> tuple[CodeList, ...]:
    """The code lists `variables` refer to (directly, through derivations, or as a grouping), sorted by name."""
    by_name = {c.name: c for c in available}
    wanted: set[str] = set()
    for variable in variables:
        if variable.codelist:
            wanted.add(variable.codelist)
        if variable.derivation:
            wanted.update(name for name, _codes in variable.derivation.codes)
    pending = list(wanted)
    while pending:
        grouping = by_name[pending.pop()].groups
        if grouping and grouping not in wanted:
            wanted.add(grouping)
            pending.append(grouping)
    return tuple(by_name[name] for name in sorted(wanted))
