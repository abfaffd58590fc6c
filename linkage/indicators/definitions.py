"""The indicators as data: ids, Swedish and English titles, populations, periods and sources, from definitions.yaml.

Every table, figure and report names an indicator through these definitions, so a title or a source is written once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import pandas as pd
import yaml

import codebooks
from codebooks import Reference, Text

MEASURES = ("children", "starts")
COUNT_DESCRIPTIONS = {
    "children": Text(
        sv="Barn i uttagets kohort med minst en post som pågår under året (startår ≤ år ≤ slutår; pågående poster "
           "räknas till referensåret); ett barn räknas en gång per år och kategori.",
        en="Children of the extract's cohort with at least one record running in the year (start year ≤ year ≤ end "
           "year; ongoing records count up to the reference year); a child counts once per year and category."),
    "starts": Text(
        sv="Poster som börjar under året, bland uttagets kohort; en post som rapporterats flera år räknas en gång.",
        en="Records starting in the year, among the extract's cohort; a record reported in several years counts once."),
}


@dataclass(frozen=True)
class Population:
    """An ÖJ population: the persons whose cohort flag `column` is true; `within` is the population it is part of."""

    code: str
    column: str
    title: Text
    within: str | None = None


@dataclass(frozen=True)
class Share:
    """A share indicator: persons with (or, if `lacking`, without) the outcome among a population's persons.

    The period is birth year + `age`; persons flagged in `exclude` leave the denominator; `bortfall` is the flag of
    persons missing from the outcome register (ÖJ's > 20% missing-data rule)."""

    id: str
    outcome: tuple[str, ...]
    age: int
    title: Text
    description: Text
    sources: tuple[Reference, ...]
    lacking: bool = False
    exclude: str | None = None
    bortfall: str | None = None

    def kpi(self, population: Population) -> str:
        return self.id + population.code


@dataclass(frozen=True)
class Breakdown:
    """A count broken down by a categorical column (code list of the same name); KPI id = id + prefix + code."""

    column: str
    prefix: str

    def categories(self) -> tuple[codebooks.Category, ...]:
        return codebooks.codelist(self.column).categories


@dataclass(frozen=True)
class Count:
    """A yearly number from an event table: `children` with a record running in the year, or record `starts`."""

    id: str
    table: str
    measure: str
    title: Text
    sources: tuple[Reference, ...]
    breakdown: Breakdown | None = None
    total: bool = True


@dataclass(frozen=True)
class Definitions:
    populations: tuple[Population, ...]
    shares: tuple[Share, ...]
    counts: tuple[Count, ...]


@functools.cache
def definitions() -> Definitions:
    """The shipped indicator definitions (linkage/indicators/definitions.yaml)."""
    text = (resources.files("linkage.indicators") / "definitions.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    sources = {key: Reference(**value) for key, value in data["sources"].items()}

    def text_of(value: dict) -> Text:
        return Text(sv=value["sv"], en=value["en"])

    def sources_of(keys: list[str]) -> tuple[Reference, ...]:
        return tuple(sources[key] for key in keys)

    populations = tuple(Population(code=p["code"], column=p["column"], title=text_of(p["title"]),
                                   within=p.get("within")) for p in data["populations"])
    shares = tuple(Share(id=s["id"], outcome=tuple(s["outcome"]), age=int(s["age"]), title=text_of(s["title"]),
                         description=text_of(s["description"]), sources=sources_of(s["sources"]),
                         lacking=bool(s.get("lacking", False)), exclude=s.get("exclude"), bortfall=s.get("bortfall"))
                   for s in data["shares"])
    counts = tuple(Count(id=c["id"], table=c["table"], measure=c["measure"], title=text_of(c["title"]),
                         sources=sources_of(c["sources"]), total=bool(c.get("total", True)),
                         breakdown=Breakdown(**c["breakdown"]) if c.get("breakdown") else None)
                   for c in data["counts"])
    for count in counts:
        if count.measure not in MEASURES:
            raise ValueError(f"definitions.yaml: {count.id}: measure must be one of {', '.join(MEASURES)}")
    return Definitions(populations, shares, counts)


def kpis() -> pd.DataFrame:
    """One row per KPI, as Kolada describes its KPIs: id, titles in Swedish and English, kind, unit and sources."""
    defs = definitions()
    rows = []
    for share in defs.shares:
        for population in defs.populations:
            rows.append({
                "id": share.kpi(population), "kind": "share", "unit": "procent",
                "title_sv": f"{share.title.sv}, {population.title.sv}",
                "title_en": f"{share.title.en}, {population.title.en}",
                "group": share.id, "population": population.code, "category": "",
                "description_sv": share.description.sv, "description_en": share.description.en,
                "sources": " · ".join(source.url for source in share.sources),
            })
    for count in defs.counts:
        variants = [("", None)] if count.total else []
        if count.breakdown is not None:
            variants += [(count.breakdown.prefix + c.code, c) for c in count.breakdown.categories()]
        description = COUNT_DESCRIPTIONS[count.measure]
        for suffix, category in variants:
            rows.append({
                "id": count.id + suffix, "kind": "count", "unit": "antal",
                "title_sv": count.title.sv + (f": {category.label.sv}" if category else ""),
                "title_en": count.title.en + (f": {category.label.en}" if category else ""),
                "group": count.id, "population": "", "category": category.code if category else "",
                "description_sv": description.sv, "description_en": description.en,
                "sources": " · ".join(source.url for source in count.sources),
            })
    return pd.DataFrame(rows)
