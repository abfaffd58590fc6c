"""The catalogue of source registers: where each file lies, its codebook, its identifier and its reference date.

Layout and columns follow the data contract (registers.md): the dataset name is the codebook name. Each register
says which column holds the person's identifier and how a record's own reference date is found, because a 10-digit
personnummer's century is inferred from the record's date, never from today (domain.md §1.3): the placement
register's decision or start date (or the end of its reporting year), 1 July of the year-9 leaving year, the
patient register's admission or visit date, the dispensing date, the LVM decision or admission date. The
population register writes 12 digits and needs none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

import codebooks
from codebooks import Codebook
from linkage.errors import InputError

#: What a register is to the linkage stage.
ROLES = ("spine", "residence", "changes", "events", "units")


@dataclass(frozen=True)
class ReferenceDate:
    """How a record's reference date is found: the first present of `columns` (date columns), else the day
    `month`/`day` of the integer year in `year_column`."""

    columns: tuple[str, ...] = ()
    year_column: str | None = None
    month: int = 12
    day: int = 31

    @property
    def needs(self) -> tuple[str, ...]:
        """The columns the date is read from."""
        return self.columns + ((self.year_column,) if self.year_column else ())

    def dates(self, typed: pa.Table) -> pa.Array:
        """Each row's reference date (date32, null where none of the columns has one), from typed columns."""
        found = pa.nulls(typed.num_rows, pa.date32())
        for name in self.columns:
            found = pc.coalesce(found, _single(typed[name]).cast(pa.date32()))
        if self.year_column is not None:
            # The date of each distinct year, spread to the rows (a batch of 18 million grade rows holds a few
            # dozen years; converting every row's date took three times as long).
            encoded = pc.dictionary_encode(_single(typed[self.year_column]).cast(pa.int64()))
            months = (encoded.dictionary.to_numpy() - 1970) * 12 + (self.month - 1)
            days = pa.array(months.astype("datetime64[M]").astype("datetime64[D]") + (self.day - 1), pa.date32())
            found = pc.coalesce(found, days.take(encoded.indices))
        return found


@dataclass(frozen=True)
class Register:
    """One source register: dataset (= codebook) name, file under the data folder, and its linkage facts.

    `identifier` is the column holding the person's identifier (None for registers of units, not persons);
    `kommun` and `country` are the columns that are evidence for linking records without a usable identifier;
    such identifiers are unique within `namespace` (by default the register; the three placement files share
    one) and, with `group_within`, within a column's value (the placement register's temporary IDs are unique
    only within the reporting kommun); `large` registers are read in Arrow record batches.
    """

    name: str
    path: str
    role: str
    identifier: str | None = None
    reference: ReferenceDate | None = None
    large: bool = False
    kommun: str | None = None
    country: str | None = None
    group_within: str | None = None
    namespace: str | None = None

    @property
    def scope(self) -> str:
        """The namespace of identifiers that are not personnummer: the register's own unless shared."""
        return self.namespace or self.name

    def file(self, data_dir: Path | str) -> Path:
        """The register's file under `data_dir`."""
        return Path(data_dir) / self.path

    @property
    def codebook(self) -> Codebook:
        return codebooks.load(self.name)

    @property
    def linkage_columns(self) -> tuple[str, ...]:
        """The columns ingest needs whatever else is asked for: identifier, reference date, evidence."""
        names = [self.identifier, *(self.reference.needs if self.reference else ()), self.kommun, self.country,
                 self.group_within]
        return tuple(dict.fromkeys(n for n in names if n is not None))


def _placement(name: str, reference: ReferenceDate, **more) -> Register:
    return Register(name, f"placement/{name}.csv", "events", "personnr", reference, kommun="kommun",
                    group_within="kommun", namespace="placement", **more)


_LVM = ReferenceDate(("beslutsdatum",))

REGISTERS: dict[str, Register] = {r.name: r for r in (
    Register("population", "population/population.parquet", "spine", "personnummer"),
    Register("residence", "population/residence.parquet", "residence", "personnummer"),
    Register("pnr_changes", "population/pnr_changes.csv", "changes"),
    _placement("placement_child", ReferenceDate(year_column="redovisningsar"), country="fodelseland"),
    _placement("placement_measure", ReferenceDate(("beslutsdatum", "startdatum"))),
    _placement("placement_placement", ReferenceDate(("startdatum",))),
    Register("grades_year9", "school/grades_year9.csv", "events", "personnr",
             ReferenceDate(year_column="avgangsar", month=7, day=1), large=True),
    Register("upper_secondary", "school/upper_secondary.parquet", "events", "personnr",
             ReferenceDate(year_column="startar")),
    Register("patient", "health/patient.parquet", "events", "pnr", ReferenceDate(("indatum",)), large=True,
             kommun="kommun"),
    Register("drugs", "health/drugs.parquet", "events", "pnr", ReferenceDate(("edatum",)), large=True,
             kommun="kommun"),
    Register("lvm_application", "lvm/lvm_application.csv", "events", "personnummer", _LVM, kommun="kommun"),
    Register("lvm_emergency", "lvm/lvm_emergency.csv", "events", "personnummer", _LVM, kommun="kommun"),
    Register("lvm_discharge", "lvm/lvm_discharge.csv", "events", "personnummer",
             ReferenceDate(("inskrivningsdatum",))),
    Register("providers", "providers/providers.csv", "units"),
    Register("provider_inspections", "providers/provider_inspections.csv", "units"),
)}

#: The registers of events about persons, linked to the population spine.
EVENT_REGISTERS = tuple(name for name, r in REGISTERS.items() if r.role == "events")


def register(name: str) -> Register:
    """The catalogue entry of dataset `name`."""
    if name not in REGISTERS:
        raise InputError(f"unknown register '{name}' (known: {', '.join(REGISTERS)})")
    return REGISTERS[name]


def registers(names: Iterable[str] | None = None, *, roles: Iterable[str] = ROLES) -> tuple[Register, ...]:
    """Catalogue entries by name (all of the given roles when `names` is None), in catalogue order."""
    if names is None:
        wanted = set(roles)
        return tuple(r for r in REGISTERS.values() if r.role in wanted)
    return tuple(register(name) for name in dict.fromkeys(names))


def _single(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
