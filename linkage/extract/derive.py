"""The tables of an extract from the linked registers: the cohort, its person-level variables and its event rows.

Every person-level variable comes from the one function that defines it (`linkage.outcomes`, or the cohort rules
here, as codebooks/definitions/cohort.yaml states them); `DERIVERS` says which registers each one reads, so an
extract links only the registers its request needs.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from codebooks import codelist
from linkage import outcomes
from linkage.errors import ReglinkError
from linkage.extract.request import Request
from linkage.linking import LinkedWorld
from linkage.outcomes.persons import DAY, Persons, days, sort_order, year_of

ID = "id"
PSEUDONYM = "pseudonym_id"
#: The cohort is defined on these registers whatever the request asks for (the ÖJ populations).
POPULATION_REGISTERS = ("placement_placement", "grades_year9")
CHILD_REGISTER = "placement_child"


class EmptyCohortError(ReglinkError):
    """The request's cohort holds no one."""


#: The columns the outcome functions read from the large registers: only these are copied out of them.
EVENT_COLUMNS = {
    "patient": ("indatum", "vardform", "hdia", "dia1", "dia2", "ekod1", "pvard"),
    "drugs": ("edatum", "atc"),
    "grades_year9": ("avgangsar", "amne", "betyg"),
}


@dataclass(frozen=True)
class Sources:
    """What derivers read: the linked registers, the cohort persons (sorted by id) and the request."""

    linked: LinkedWorld
    persons: pd.DataFrame
    request: Request
    copies: dict[str, pd.DataFrame] = field(default_factory=dict)

    def events(self, register: str) -> pd.DataFrame:
        """The register's linked records of the cohort persons keyed by `id` (for the large ones only the columns
        outcomes read), copied out once and shared by the derivers that read it: every outcome is a person's own,
        so the records of others are never needed — nor copied away when they are few (`others`: the outcome
        functions pass over them)."""
        if register not in self.copies:
            columns = EVENT_COLUMNS.get(register)
            self.copies[register] = self.linked.for_outcomes(register, list(columns) if columns else None,
                                                             of=Persons.of(self.persons).ids, others=True)
        return self.copies[register]

    def release(self, registers: set[str]) -> None:
        """Let go of the copies of `registers` (no deriver still to run reads them): memory stays at about one
        large register's copy per lane of derivers at a time."""
        for register in registers:
            self.copies.pop(register, None)

    @property
    def end_date(self) -> date:
        return self.request.reference_date


@dataclass(frozen=True)
class Deriver:
    """Person-level `columns` computed together from `registers` by `compute` (a frame with `id` and the columns)."""

    columns: tuple[str, ...]
    registers: tuple[str, ...]
    compute: Callable[[Sources], pd.DataFrame]


def _ages(sources: Sources) -> dict[str, int]:
    low, high = sources.request.health_ages
    return {"from_age": low, "to_age": high}


def _eligibility(s: Sources) -> pd.DataFrame:
    grades = s.events("grades_year9").rename(columns={"avgangsar": "year", "amne": "subject", "betyg": "grade"})
    found = outcomes.eligibility(grades)
    return found.drop(columns="year").rename(columns={c: f"behorig_{c}" for c in found.columns
                                                      if c not in (ID, "year", "meritvarde")})


def _lvm(s: Sources) -> pd.DataFrame:
    return outcomes.lvm_by_age(s.events("lvm_application"), s.events("lvm_emergency"), s.events("lvm_discharge"),
                               s.persons)


DERIVERS: tuple[Deriver, ...] = (
    Deriver(("alder_forsta_placering", "antal_insatser", "antal_placeringar", "antal_omplaceringar", "dagar_i_vard",
             "nagon_gang_lvu", "nagon_gang_hvb_sis", "forsta_placeringsform", "forsta_lagrum",
             "ny_placering_inom_12_man", "placering_efter_ivo_anmarkning"),
            ("placement_measure", "placement_placement", "provider_inspections"),
            lambda s: outcomes.placement_history(s.events("placement_measure"), s.events("placement_placement"),
                                                 s.persons, end_date=s.end_date,
                                                 inspections=s.linked.registers["provider_inspections"])),
    Deriver(("behorig_yrkesprogram", "behorig_ekonomi_humanistiska_samhall", "behorig_naturvetenskap_teknik",
             "behorig_estetiska", "meritvarde"), ("grades_year9",), _eligibility),
    Deriver(("fullfoljt_grundskolan_17",), ("grades_year9",),
            lambda s: outcomes.completed_compulsory_school(s.events("grades_year9"), s.persons)),
    Deriver(("saknas_i_betygsregistret", "avgangsar_ak9"), ("grades_year9",),
            lambda s: outcomes.absent_from_grade_register(s.events("grades_year9"), s.persons)),
    Deriver(("gymnasieexamen_20",), ("upper_secondary",),
            lambda s: outcomes.upper_secondary_completed(s.events("upper_secondary"), s.persons)),
    Deriver(("psykiatrisk_vard",), ("patient",),
            lambda s: outcomes.psychiatric_care(s.events("patient"), s.persons, **_ages(s))),
    Deriver(("sjalvskada",), ("patient",),
            lambda s: outcomes.self_harm(s.events("patient"), s.persons, **_ages(s),
                                         include_undetermined=s.request.self_harm_undetermined_intent)),
    Deriver(("substansrelaterad_vard",), ("patient",),
            lambda s: outcomes.substance_related(s.events("patient"), s.persons, **_ages(s))),
    Deriver(tuple(f"psykofarmaka_{g.lower()}" for g in outcomes.health.PSYCHOTROPIC_GROUPS), ("drugs",),
            lambda s: outcomes.psychotropics(s.events("drugs"), s.persons, **_ages(s))),
    Deriver(("minst_tva_psykofarmaka_15_16",), ("drugs",),
            lambda s: outcomes.concurrent_psychotropics(s.events("drugs"), s.persons)),
    Deriver(("lvm_fore_25", "alder_forsta_lvm"), ("lvm_application", "lvm_emergency", "lvm_discharge"), _lvm),
    Deriver(("dod_fore_25", "utvandrad_fore_25"), (),
            lambda s: outcomes.death_and_emigration(s.persons, end_date=s.end_date)),
    Deriver(("kommun", "lan"), (), lambda s: residence_at_15(s.persons, s.linked.residence)),
    Deriver(("fodelseland_grupp", "ensamkommande"), (CHILD_REGISTER,),
            lambda s: background(s.persons, s.events(CHILD_REGISTER))),
)
#: Cohort variables every cohort frame carries from the start (no deriver needed).
COHORT_COLUMNS = ("kon", "fodelsear", "fodelsedatum", "placerad_nagon_gang", "placerad_hela_ak9", "aldrig_placerad")


def _deriver_of(name: str) -> Deriver | None:
    return next((d for d in DERIVERS if name in d.columns), None)


def needed_registers(request: Request) -> tuple[str, ...]:
    """The registers to link for `request`: the cohort's, its derived variables' and its event tables', in order."""
    wanted = list(POPULATION_REGISTERS)
    for name in request.person_variables:
        deriver = _deriver_of(name)
        if deriver is None and name not in COHORT_COLUMNS and name != PSEUDONYM:
            raise ReglinkError(f"variable '{name}' is defined in a codebook but reglink cannot derive it yet")
        wanted += deriver.registers if deriver else ()
    wanted += list(request.event_tables)
    return tuple(dict.fromkeys(wanted))


def register_columns(request: Request) -> dict[str, list[str]]:
    """The columns to keep of each large register (`link_world(columns=...)`): those the derivers read and those
    the request's event tables deliver. Every column is still read and checked; the rest are not kept."""
    return {name: list(dict.fromkeys([*columns, *request.event_tables.get(name, ())]))
            for name, columns in EVENT_COLUMNS.items()}


def cohort(linked: LinkedWorld, request: Request) -> pd.DataFrame:
    """The persons of the request's cohort, sorted by `id`: birth years, then the population; with the cohort
    columns (`kon`, `fodelsear`, `fodelsedatum` and the three ÖJ population flags) and the spine's own columns."""
    persons = linked.for_outcomes("persons")
    birth = days(persons["fodelsedatum"], source="population", column="fodelsedatum")
    fallback = days(persons["birth_date"], source="population", column="birth_date")
    birth = np.where(np.isnat(birth), fallback, birth)
    year = np.where(np.isnat(birth), -1, year_of(birth))
    low, high = request.birth_years
    chosen = persons[(year >= low) & (year <= high)].assign(fodelsedatum=birth[(year >= low) & (year <= high)])
    chosen = chosen.take(sort_order(chosen[ID])).reset_index(drop=True)
    ids = pd.Index(np.asarray(chosen[ID], dtype=object))  # one hash table of the ids for every look-up below
    grades = linked.for_outcomes("grades_year9", ["avgangsar"], of=ids, others=True)
    latest = outcomes.absent_from_grade_register(grades, chosen)  # each person's latest leaving year (NA: none)
    leaving = latest.set_index(ID)["avgangsar_ak9"] if len(grades) else None
    flags = outcomes.populations(linked.for_outcomes("placement_placement", of=ids), chosen,
                                 end_date=request.reference_date, year9_year=leaving)
    flags = aligned(ids, flags, list(flags.columns.drop(ID)))
    chosen = chosen.assign(**flags)
    chosen["kon"] = chosen["kon"].astype("string")
    chosen["fodelsear"] = pd.array(year_of(chosen["fodelsedatum"].to_numpy(DAY)), dtype="Int32")
    keep = {"placed_ever": "placerad_nagon_gang", "placed_year9": "placerad_hela_ak9"}.get(request.population)
    if keep is not None:
        chosen = chosen[chosen[keep].fillna(False).to_numpy(dtype=bool)].reset_index(drop=True)
    if chosen.empty:
        raise EmptyCohortError(f"the cohort is empty: no one born {low}–{high} in the population register is "
                               f"'{request.population}' by {request.reference_date}")
    return chosen


def persons_table(linked: LinkedWorld, request: Request, persons: pd.DataFrame, *, workers: int = 1) -> pd.DataFrame:
    """The `persons` table: `pseudonym_id` and the requested person-level variables, one row per cohort person.
    With `workers` above one the derivers run in that many lanes side by side (`_lanes`); the table is the same."""
    sources = Sources(linked, persons, request)
    ids = pd.Index(np.asarray(persons[ID], dtype=object))
    columns: dict[str, pd.Series] = {PSEUDONYM: pd.Series(ids.to_numpy(), dtype="string")}
    for name in request.person_variables:
        if name in COHORT_COLUMNS:
            columns[name] = persons[name].reset_index(drop=True)
    derivers = list(dict.fromkeys(d for name in request.person_variables if (d := _deriver_of(name))))
    derived: dict[int, dict[str, pd.Series]] = {}

    def run(lane: list[int]) -> None:
        for step, number in enumerate(lane):
            deriver = derivers[number]
            wanted = [c for c in deriver.columns if c in request.person_variables]
            derived[number] = aligned(ids, deriver.compute(sources), wanted)
            later = {register for n in lane[step + 1:] for register in derivers[n].registers}
            sources.release(set(deriver.registers) - later)

    lanes = _lanes(derivers, workers, linked, len(persons))
    Persons.of(persons)  # checked and hashed here, once, not by two lanes at a time
    with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="reglink-derive") as pool:
        for done in [pool.submit(run, lane) for lane in lanes]:
            done.result()
    for number in range(len(derivers)):
        columns.update(derived[number])
    return pd.DataFrame({name: columns[name] for name in (PSEUDONYM, *request.person_variables)})


def _lanes(derivers: list[Deriver], workers: int, linked: LinkedWorld, persons: int) -> list[list[int]]:
    """The derivers (by number) in at most `workers` lanes: derivers that read a register in common share a lane (its
    copy is made once and let go of after its last reader), and the groups go to the least loaded lane, the largest
    first, by the rows they read (a register's rows, and the persons once per deriver). In order within a lane."""
    groups: list[list[int]] = []
    for number, deriver in enumerate(derivers):
        shared = [g for g in groups if any(set(derivers[n].registers) & set(deriver.registers) for n in g)]
        groups = [g for g in groups if g not in shared] + [sorted([n for g in shared for n in g] + [number])]
    rows = {name: len(frame) for name, frame in linked.registers.items()}

    def load(group: list[int]) -> int:
        read = {r for n in group for r in derivers[n].registers}
        return sum(rows.get(r, 0) for r in read) + persons * len(group)

    lanes: list[list[int]] = [[] for _ in range(max(1, min(workers, len(groups))))]
    loads = [0] * len(lanes)
    for group in sorted(groups, key=load, reverse=True):
        lightest = loads.index(min(loads))
        lanes[lightest] += group
        loads[lightest] += load(group)
    return [sorted(lane) for lane in lanes]


def aligned(ids: pd.Index, derived: pd.DataFrame, names: list[str]) -> dict[str, pd.Series]:
    """`names` of a per-person frame (keyed by `id`) in the order of `ids`: missing where a person has no row
    (never placed, no grades), as nullable types; rows of ids not in `ids` are left out.

    Positions, not a merge: the ids are 32-character strings and a merge of a million of them costs seconds. Most
    outcome functions give their rows in the order of `ids` already (the same id objects): then nothing is looked
    up or moved."""
    derived_ids = np.asarray(derived[ID], dtype=object)
    same = ids.equals(pd.Index(derived_ids, dtype=object))  # identity first, element by element: cheap
    if not same:  # per person, the row of theirs (-1: none), gathered with a fill: no reindex by a million labels
        position = ids.get_indexer(derived_ids)
        mine = np.flatnonzero(position >= 0)
        row_of = np.full(len(ids), -1, dtype=np.intp)
        row_of[position[mine]] = mine
    out = {}
    for name in names:
        values = derived[name]
        if values.dtype == bool:
            values = values.astype("boolean")
        elif pd.api.types.is_integer_dtype(values.dtype) and not isinstance(values.dtype, pd.Int64Dtype):
            values = values.astype("Int64")
        out[name] = values.set_axis(range(len(ids))) if same else \
            pd.Series(values.array.take(row_of, allow_fill=True), name=values.name)
    return out


def event_table(linked: LinkedWorld, register: str, columns: tuple[str, ...], persons: pd.DataFrame) -> pd.DataFrame:
    """A register's linked records of the cohort: `pseudonym_id` and `columns`, by pseudonym then source row."""
    frame = linked.for_outcomes(register, of=Persons.of(persons).ids)  # the derivers' ids: looked up once
    frame = frame.sort_values([ID, "row"], kind="stable")
    table = frame[[ID, *columns]].rename(columns={ID: PSEUDONYM}).reset_index(drop=True)
    return table.assign(**{PSEUDONYM: table[PSEUDONYM].astype("string")})  # plain text, as its codebook says


def residence_at_15(persons: pd.DataFrame, residence: pd.DataFrame) -> pd.DataFrame:
    """`kommun` where the person was registered on their 15th birthday (cohort codebook) and its `lan`."""
    people = Persons.of(persons)
    birth = people.birth.astype("datetime64[M]")
    day = people.birth - birth.astype(DAY)
    fifteenth = ((birth + np.timedelta64(15 * 12, "M")).astype(DAY) + day).astype(DAY)
    position = people.positions(residence[PSEUDONYM])  # the frame's own columns: no renamed copy of it
    start = days(residence["fran_datum"], source="residence", column="fran_datum")
    end = days(residence["till_datum"], source="residence", column="till_datum")
    known = position >= 0
    when = np.full(len(residence), np.datetime64("NaT"), dtype=DAY)
    when[known] = fifteenth[position[known]]
    covers = np.flatnonzero(known & ~np.isnat(when) & (start <= when) & (np.isnat(end) | (when <= end)))
    kommun = np.full(len(people), None, dtype=object)
    kommun[position[covers]] = residence["kommun"].iloc[covers].to_numpy(dtype=object)  # the covering rows only
    kommun = pd.Series(kommun, dtype="string")
    return people.result(kommun=kommun.array, lan=kommun.map(codelist("kommun").group_map()).astype("string").array)


def background(persons: pd.DataFrame, children: pd.DataFrame) -> pd.DataFrame:
    """`fodelseland_grupp` (population's country of birth, else the placement register's latest) and
    `ensamkommande` (reported unaccompanied in any year), as the cohort codebook defines them."""
    people = Persons.of(persons, columns=("fodelseland",))
    reported = children[[ID, "redovisningsar", "fodelseland"]].dropna(subset=["fodelseland"])
    latest = reported.sort_values("redovisningsar", kind="stable").drop_duplicates(ID, keep="last")
    found = aligned(people.ids, latest, ["fodelseland"])["fodelseland"].astype("string")
    country = people.frame["fodelseland"].astype("string").fillna(found)
    group = country.map(codelist("land").group_map()).astype("string").array
    flags = children.assign(flag=children["ensamkommande"].astype("string").isin(["1", "True", "true"]))
    unaccompanied = flags.groupby(ID, observed=True)["flag"].any().reindex(people.ids, fill_value=False)
    return people.result(fodelseland_grupp=group,
                         ensamkommande=pd.array(unaccompanied.to_numpy(dtype=bool), dtype="boolean"))


__all__ = ["DERIVERS", "EmptyCohortError", "cohort", "event_table", "needed_registers", "persons_table"]
