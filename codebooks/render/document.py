"""A codebook as a neutral document (headings, paragraphs, tables, fact lists), emitted as Markdown or HTML.

Building the content once keeps the two human-readable formats saying the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from codebooks.errors import CodebookError
from codebooks.frequencies import DEFAULT_K, frequencies, has_frequencies
from codebooks.model import Category, Codebook, CodeList, Reference, Text, Variable
from codebooks.parsing import Frame, column_arrays, describe_range


@dataclass(frozen=True)
class Code:
    """A name or code, shown in a monospace font."""

    text: str


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class English:
    """English text inside a Swedish document (marked lang="en" in HTML)."""

    text: str


Inline = str | Code | Link | English
Line = tuple[Inline, ...]


@dataclass(frozen=True)
class Heading:
    level: int
    text: Line
    anchor: str


@dataclass(frozen=True)
class Paragraph:
    text: Line


@dataclass(frozen=True)
class Table:
    header: tuple[Line, ...]
    rows: tuple[tuple[Line, ...], ...]


@dataclass(frozen=True)
class Facts:
    """Term → description pairs."""

    items: tuple[tuple[Line, Line], ...]


Block = Heading | Paragraph | Table | Facts

ROLE_LABELS = {
    "direct_identifier": Text(sv="direkt identifierande", en="direct identifier"),
    "quasi_identifier": Text(sv="indirekt identifierande", en="quasi-identifier"),
    "sensitive": Text(sv="känslig", en="sensitive"),
    "other": Text(sv="övrig", en="other"),
}
TYPE_LABELS = {
    "string": Text(sv="text", en="text"), "integer": Text(sv="heltal", en="integer"),
    "number": Text(sv="tal", en="number"), "date": Text(sv="datum", en="date"),
    "boolean": Text(sv="sant/falskt", en="boolean"), "categorical": Text(sv="kategorisk", en="categorical"),
}
DEFAULT_TITLE = Text(sv="Kodbok", en="Codebook")


def as_codebooks(codebooks: Codebook | Sequence[Codebook]) -> tuple[Codebook, ...]:
    """One codebook or several as a tuple; several must have distinct names."""
    parts = (codebooks,) if isinstance(codebooks, Codebook) else tuple(codebooks)
    if not parts:
        raise CodebookError("nothing to render: no codebooks given")
    names = [c.name for c in parts]
    if len(set(names)) != len(names):
        raise CodebookError(f"codebook names must differ to be rendered together ({', '.join(names)})")
    return parts


def document_title(parts: tuple[Codebook, ...], title: Text | None) -> Text:
    return title or (parts[0].title if len(parts) == 1 else DEFAULT_TITLE)


def frames_by_codebook(parts: tuple[Codebook, ...], frames: Frame | Mapping[str, Frame] | None
                       ) -> Mapping[str, Frame]:
    """Frames for frequency tables keyed by codebook name (a single frame goes with a single codebook)."""
    if frames is None:
        return {}
    if not isinstance(frames, Mapping):
        if len(parts) != 1:
            raise CodebookError("give frames for frequencies as a mapping from codebook name to frame")
        return {parts[0].name: frames}
    unknown = sorted(set(frames) - {c.name for c in parts})
    if unknown:
        raise CodebookError(f"frames given for unknown codebook(s): {', '.join(unknown)}")
    return frames


def build(codebooks: Codebook | Sequence[Codebook], *, title: Text | None = None,
          frames: Frame | Mapping[str, Frame] | None = None, k: int = DEFAULT_K) -> tuple[Text, tuple[Block, ...]]:
    """The document for one or more codebooks: title and blocks."""
    parts = as_codebooks(codebooks)
    by_name = frames_by_codebook(parts, frames)
    blocks: list[Block] = []
    lists: dict[str, CodeList] = {}
    for codebook in parts:
        arrays = column_arrays(by_name[codebook.name]) if codebook.name in by_name else None
        blocks.extend(_codebook_blocks(codebook, arrays, k))
        for codelist in codebook.codelists:
            lists.setdefault(codelist.name, codelist)
    if lists:
        blocks.append(Heading(2, ("Kodlistor / ", English("Code lists")), "codelists"))
        for name in sorted(lists):
            blocks.extend(_codelist_blocks(lists[name]))
    return document_title(parts, title), tuple(blocks)


def bilingual(text: Text) -> Line:
    return (text.sv, " / ", English(text.en)) if text.sv != text.en else (text.sv,)


def _codebook_blocks(codebook: Codebook, arrays: Mapping | None, k: int) -> list[Block]:
    facts: list[tuple[Line, Line]] = [
        (("Register",), (codebook.register,)),
        (("Källa / ", English("Source")), (codebook.source,)),
        (("Version",), (codebook.version,)),
        (("Åtkomst / ", English("Access")), (codebook.access.sv, " ", English(codebook.access.en))),
    ]
    if codebook.references:
        facts.append((("Referenser / ", English("References")), _references(codebook.references)))
    blocks: list[Block] = [
        Heading(2, bilingual(codebook.title), f"cb-{codebook.name}"),
        Paragraph((Code(codebook.name),)),
        Paragraph((codebook.description.sv,)),
        Paragraph((English(codebook.description.en),)),
        Facts(tuple(facts)),
        Heading(3, ("Variabler / ", English("Variables")), f"cb-{codebook.name}-variables"),
        Table(
            header=(("Namn / ", English("Name")), ("Etikett / ", English("Label")), ("Typ / ", English("Type")),
                    ("Roll / ", English("Role")), ("Krav / ", English("Required")), ("Värden / ", English("Values"))),
            rows=tuple(((Code(v.name),), bilingual(v.label), bilingual(TYPE_LABELS[v.type]),
                        bilingual(ROLE_LABELS[v.role]), ("ja / ", English("yes")) if v.required else ("nej / ", English("no")),
                        _values_summary(v)) for v in codebook.variables),
        ),
    ]
    for variable in codebook.variables:
        blocks.extend(_variable_blocks(codebook, variable, arrays, k))
    return blocks


def _variable_blocks(codebook: Codebook, variable: Variable, arrays: Mapping | None, k: int) -> list[Block]:
    facts: list[tuple[Line, Line]] = []
    if variable.description:
        facts.append((("Beskrivning / ", English("Description")),
                      (variable.description.sv, " ", English(variable.description.en))))
    facts.append((("Typ / ", English("Type")), bilingual(TYPE_LABELS[variable.type])))
    facts.append((("Roll / ", English("Role")), bilingual(ROLE_LABELS[variable.role])))
    if variable.unit:
        facts.append((("Enhet / ", English("Unit")), (variable.unit,)))
    if variable.minimum is not None or variable.maximum is not None:
        facts.append((("Giltiga värden / ", English("Valid range")), (describe_range(variable),)))
    if variable.pattern:
        facts.append((("Mönster / ", English("Pattern")), (Code(variable.pattern),)))
    if variable.type == "date":
        facts.append((("Datumformat i textfiler / ", English("Date format in text files")),
                       (Code(variable.date_format),)))
    if variable.type == "number":
        facts.append((("Decimaltecken / ", English("Decimal separator")), (Code(variable.decimal),)))
    if variable.missing_values:
        facts.append((("Koder för saknat värde / ", English("Missing-value codes")),
                       _join([(Code(c),) for c in variable.missing_values])))
    if variable.codelist:
        facts.append((("Kodlista / ", English("Code list")), (Link(variable.codelist, f"#codelist-{variable.codelist}"),)))
    if variable.source:
        facts.append((("Källregister / ", English("Source register")), (variable.source,)))
    derivation = variable.derivation
    if derivation:
        facts.append((("Härledning / ", English("Derivation")), (derivation.rule.sv, " ", English(derivation.rule.en))))
        if derivation.codes:
            facts.append((("Koder / ", English("Codes")), _derivation_codes(codebook, derivation.codes)))
        if derivation.references:
            facts.append((("Referenser / ", English("References")), _references(derivation.references)))
    blocks: list[Block] = [Heading(4, (Code(variable.name), " — ", *bilingual(variable.label)),
                                   f"cb-{codebook.name}-{variable.name}"),
                           Facts(tuple(facts))]
    if variable.categories and not variable.codelist:
        blocks.append(_category_table(variable.categories))
    if arrays is not None and variable.name in arrays and has_frequencies(variable):
        rows = frequencies(arrays[variable.name], variable, k=k)
        blocks.append(Paragraph((f"Frekvenser (celler under {k} visas som <{k}) / ",
                                 English(f"Frequencies (cells below {k} shown as <{k})"))))
        blocks.append(Table(header=(("Kod / ", English("Code")), ("Etikett / ", English("Label")), ("Antal / ", English("Count"))),
                            rows=tuple(((Code(r.code),) if r.code else (), bilingual(r.label), (r.shown,)) for r in rows)))
    return blocks


def _codelist_blocks(codelist: CodeList) -> list[Block]:
    blocks: list[Block] = [Heading(3, (Code(codelist.name), " — ", *bilingual(codelist.title)),
                                   f"codelist-{codelist.name}")]
    facts: list[tuple[Line, Line]] = []
    if codelist.references:
        facts.append((("Källa / ", English("Source")), _references(codelist.references)))
    if codelist.note:
        facts.append((("Anmärkning / ", English("Note")), (codelist.note.sv, " ", English(codelist.note.en))))
    if codelist.groups:
        facts.append((("Grupperas i / ", English("Grouped into")), (Link(codelist.groups, f"#codelist-{codelist.groups}"),)))
    if facts:
        blocks.append(Facts(tuple(facts)))
    blocks.append(_category_table(codelist.categories, grouped=codelist.groups is not None))
    return blocks


def _category_table(categories: tuple[Category, ...], grouped: bool = False) -> Table:
    header: tuple[Line, ...] = (("Kod / ", English("Code")), ("Svenska",), (English("English"),))
    if grouped:
        header += (("Grupp / ", English("Group")),)
    rows = tuple(((Code(str(c.code)),), (c.label.sv,), (English(c.label.en),))
                 + (((Code(c.group or ""),),) if grouped else ()) for c in categories)
    return Table(header=header, rows=rows)


def _values_summary(variable: Variable) -> Line:
    if variable.codelist:
        return (Link(variable.codelist, f"#codelist-{variable.codelist}"), f" ({len(variable.categories)})")
    if variable.categories:
        return _join([(Code(str(c.code)), f" {c.label.sv}") for c in variable.categories])
    if variable.minimum is not None or variable.maximum is not None:
        return (describe_range(variable),)
    if variable.pattern:
        return (Code(variable.pattern),)
    if variable.type == "boolean":
        return (Code("1"), " ja / ", English("yes"), ", ", Code("0"), " nej / ", English("no"))
    return ()


def _derivation_codes(codebook: Codebook, codes: tuple[tuple[str, tuple[str, ...]], ...]) -> Line:
    parts: list[Line] = []
    for list_name, used in codes:
        codelist = codebook.codelist(list_name)
        parts.append((Link(list_name, f"#codelist-{list_name}"), ": ",
                      *_join([(Code(code), f" {codelist.category(code).label.sv}") for code in used])))
    return _join(parts, "; ")


def _references(references: tuple[Reference, ...]) -> Line:
    return _join([(Link(r.title, r.url),) for r in references], "; ")


def _join(lines: list[Line], separator: str = ", ") -> Line:
    out: list[Inline] = []
    for i, line in enumerate(lines):
        if i:
            out.append(separator)
        out.extend(line)
    return tuple(out)
