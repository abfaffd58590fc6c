"""One coherent synthetic world of linked registers, written as the registers deliver them, with its ground truth.

`generate_world` builds every register from one seed (a child random stream per register, so adding a register
never shifts the others), writes them in the formats of the data contract (Parquet, or `;`-separated latin-1 CSV
with YYYYMMDD dates, ISO dates, decimal commas), writes `truth/` (which record belongs to whom, every identifier,
every planted error) and `calibration.json`, and moves the finished folder into place in one rename.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from linkage.errors import InputError, OutputError
from linkage.io import write_parquet
from linkage.registers import REGISTERS
from linkage.synth import calibration as cal
from linkage.synth import geography, health, identifiers, lvm, placement, providers as providers_module, timeline
from linkage.synth.identifiers import KIND_SAMORDNINGSNUMMER, Special, WrittenIds
from linkage.synth.population import Population, generate_population
from linkage.synth.school import GRADES, SUBJECTS, School, generate_school, school_year
from linkage.synth.timeline import NONE
from pseudonym import normalize_many

Progress = Callable[[int, int, str], None]

#: The child random streams, in a fixed order: new registers are appended, so existing ones keep their numbers.
STREAMS = ("population", "placement", "school", "providers", "units", "patient", "drugs", "lvm", "ids_placement",
           "ids_school", "ids_patient", "ids_drugs", "ids_lvm", "duplicates")
NATIONAL_CHILDREN = 1_200_000  # ≈ 10-11 birth cohorts of Sweden
STEPS = 8  # progress steps of generate_world
MIN_CHILDREN = 1000  # smaller worlds have too few placed children to be a world


@dataclass(frozen=True)
class FileFormat:
    """How a register file is written."""

    kind: str  # "parquet" or "csv"
    delimiter: str = ","
    encoding: str = "utf-8"
    quote_text: bool = False


PARQUET = FileFormat("parquet")
SEMICOLON_LATIN1 = FileFormat("csv", ";", "latin-1")
COMMA_UTF8 = FileFormat("csv", ",", "utf-8")
QUOTED_UTF8 = FileFormat("csv", ",", "utf-8", quote_text=True)

#: How the world writes each dataset (= codebook name), as in the data contract.
FORMATS = {
    "population": PARQUET,
    "residence": PARQUET,
    "pnr_changes": COMMA_UTF8,
    "placement_child": SEMICOLON_LATIN1,
    "placement_measure": SEMICOLON_LATIN1,
    "placement_placement": SEMICOLON_LATIN1,
    "grades_year9": SEMICOLON_LATIN1,
    "upper_secondary": PARQUET,
    "patient": PARQUET,
    "drugs": PARQUET,
    "lvm_application": SEMICOLON_LATIN1,
    "lvm_emergency": SEMICOLON_LATIN1,
    "lvm_discharge": SEMICOLON_LATIN1,
    "providers": QUOTED_UTF8,
    "provider_inspections": COMMA_UTF8,
}
#: dataset → (file under the world folder, format); the path is the register catalogue's, so there is one list.
LAYOUT = {name: (REGISTERS[name].path, fmt) for name, fmt in FORMATS.items()}

#: Identifier mess per register (domain.md §1, synth task): typo rate, duplicate-row rate.
TYPOS = {"placement": 0.008, "grades_year9": 0.005, "upper_secondary": 0.004, "patient": 0.005, "drugs": 0.005,
         "lvm": 0.006}
WHITESPACE_PLACEMENT = 0.005
DUPLICATES = {"placement_child": 0.003, "placement_measure": 0.003, "placement_placement": 0.003,
              "grades_year9": 0.0005, "patient": 0.001}
KON_MISMATCH = 0.003  # placement_child.kon reported wrong
#: How kommuner write personnummer in the placement register (share of kommuner per style of identifiers.STYLES).
PLACEMENT_STYLES = (0.15, 0.08, 0.72, 0.05)
GRADES_12_DIGITS = 0.15  # share of school units writing 12 digits instead of 10
RESERVE_PAIRS, RESERVE_WITHIN_PAIR = 0.01, 0.5  # patient: (person, region) pairs using reserve numbers


@dataclass
class Dataset:
    """A register file to write: its table, the true person of each row (-1: nobody) and the planted errors."""

    name: str
    table: pa.Table
    person: np.ndarray
    errors: dict[tuple[str | None, str], np.ndarray] = field(default_factory=dict)  # (column, kind) → row mask
    #: identifiers made up while writing (typo'd numbers, temporary IDs, reserve numbers): person_id, identifier,
    #: kind, kommun
    made_up: pd.DataFrame | None = None

    def only(self, keep: np.ndarray) -> Dataset:
        """The rows where `keep` is true."""
        if keep.all():
            return self
        errors = {key: mask[keep] for key, mask in self.errors.items()}
        return Dataset(self.name, self.table.filter(pa.array(keep)), self.person[keep], errors, self.made_up)

    def with_duplicates(self, rng: np.random.Generator, rate: float) -> Dataset:
        """Some rows delivered twice (the copies at the end, as a batch sent again), as error `duplicate_row`."""
        n = self.table.num_rows
        copies = np.flatnonzero(rng.random(n) < rate)
        order = np.r_[np.arange(n), copies]
        errors = {key: mask[order] for key, mask in self.errors.items()} | \
            {(None, "duplicate_row"): np.arange(len(order)) >= n}
        table = pa.concat_tables([self.table, self.table.take(pa.array(copies))])
        return Dataset(self.name, table, self.person[order], errors, self.made_up)


def generate_world(outdir: Path | str, *, children: int, birth_years: tuple[int, int] = (1998, 2008), seed: int = 0,
                   end_date: date = date(2025, 12, 31), progress: Progress | None = None) -> cal.Calibration:
    """Write a synthetic world of `children` persons born in `birth_years` (inclusive) to `outdir`.

    The folder is built beside `outdir` and renamed into place when complete; an existing non-empty `outdir` is
    refused. Same arguments ⇒ byte-identical files. Returns the calibration (also written as calibration.json).
    """
    outdir = Path(outdir)
    _check_arguments(children, birth_years, end_date)
    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())):
        raise OutputError(f"{outdir.name}: exists already and is not an empty folder; choose a new output folder")
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".partial", dir=outdir.parent))
    try:
        calibration = _build(tmp, children, birth_years, seed, end_date, progress or (lambda *_: None))
        if outdir.exists():
            outdir.rmdir()
        os.replace(tmp, outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return calibration


def _check_arguments(children: int, birth_years: tuple[int, int], end_date: date) -> None:
    first, last = birth_years
    if children < MIN_CHILDREN:
        raise InputError(f"--children must be at least {MIN_CHILDREN}")
    if not 1900 <= first <= last:
        raise InputError("--birth-years must be FIRST-LAST with 1900 <= FIRST <= LAST")
    if last >= end_date.year:
        raise InputError(f"--birth-years must end before the world's end year ({end_date.year})")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(child)) for name, child in zip(STREAMS, children)}


def _build(root: Path, children: int, birth_years: tuple[int, int], seed: int, end_date: date,
           progress: Progress) -> cal.Calibration:
    """Generate register by register; each file is written on a background thread while the next is generated."""
    steps = iter(["population", "placement register", "school registers", "providers", "patient register",
                  "drug register", "LVM registers", "ground truth and calibration"])
    done = 0

    def advance() -> None:
        nonlocal done
        progress(done, STEPS, next(steps))
        done += 1

    rng = _streams(seed)
    end_day = timeline.day(end_date)
    kommuner = geography.kommuner()
    with _Writer(root) as writer:
        advance()
        population = generate_population(rng["population"], children, birth_years, end_day)
        for dataset in (population_dataset(population), residence_dataset(population),
                        pnr_changes_dataset(population)):
            writer.write(dataset)
        advance()
        placements = placement.generate_placements(rng["placement"], population, end_day)
        flags = placement.person_flags(population, placements)
        advance()
        school = generate_school(rng["school"], population, flags, end_day)
        grades, upper = school_datasets(rng["ids_school"], population, school)
        writer.write(grades.with_duplicates(rng["duplicates"], DUPLICATES["grades_year9"]))
        writer.write(upper)
        del grades, upper  # tens of millions of rows: let the writer thread hold the only reference
        persons = persons_frame(population, flags)
        advance()
        providers, inspections = providers_module.generate_providers(
            rng["providers"], kommuner=kommuner, end_date=end_date, scale=children / NATIONAL_CHILDREN)
        placements.placements["enhet_id"] = placement.assign_units(
            rng["units"], placements, providers, kommuner["lan"].to_numpy())
        for dataset in placement_datasets(rng["ids_placement"], population, placements, end_day):
            writer.write(dataset.with_duplicates(rng["duplicates"], DUPLICATES[dataset.name]))
        writer.write(provider_dataset(providers, "providers"))
        writer.write(provider_dataset(inspections, "provider_inspections"))
        writer.extra.append(_sole_traders(providers, end_date))
        advance()
        patient = health.generate_patient(rng["patient"], persons, end_date=end_date)
        advance()
        drugs = health.generate_drugs(rng["drugs"], persons, end_date=end_date)
        health_rows = health.calibration(persons, patient, drugs, end_date=end_date)
        writer.write(patient_dataset(rng["ids_patient"], population, patient)
                     .with_duplicates(rng["duplicates"], DUPLICATES["patient"]))
        del patient  # the register's Arrow table is all that is needed from here on
        writer.write(drugs_dataset(rng["ids_drugs"], population, drugs))
        del drugs
        advance()
        lvm_frames = lvm.generate_lvm(rng["lvm"], persons, end_date=end_date)
        lvm_rows = lvm.calibration(persons, lvm_frames, end_date=end_date)
        for name, frame in lvm_frames.items():
            writer.write(lvm_dataset(rng["ids_lvm"], population, name, frame))
        advance()
    errors = writer.finish_truth(population, persons)
    rows = (cal.placement_figures(population, placements, end_day)
            + cal.school_figures(population, flags, school, end_day)
            + cal.error_figures(errors, writer.sizes, writer.identifier_rows) + health_rows + lvm_rows)
    calibration = cal.Calibration.from_rows(rows)
    (root / "calibration.json").write_text(calibration.to_json(), encoding="utf-8")
    progress(STEPS, STEPS, "done")
    return calibration


def persons_frame(population: Population, flags: pd.DataFrame) -> pd.DataFrame:
    """One row per person for the health and LVM generators (the contract between the two halves of synth).

    `invandringsdatum` is the day the person arrived in Sweden (for ensamkommande: seeking asylum), so registers
    that see people before folkbokföring (health care) can use it.
    """
    people = population.people
    kommun_codes = geography.kommuner()["kommun"].to_numpy()
    return pd.DataFrame({
        "person_id": np.arange(len(people), dtype=np.int64),
        "pnr": identifiers.canonical(population.history.current),
        "kon": np.where(people["male"], 1, 2).astype(np.int8),
        "fodelsedatum": timeline.to_datetime64(people["birth"]),
        "kommun": kommun_codes[people["kommun15"].to_numpy()],
        "invandringsdatum": timeline.to_datetime64(people["arrival"]),
        "utvandringsdatum": timeline.to_datetime64(people["emigration"]),
        "dodsdatum": timeline.to_datetime64(people["death"]),
        "risk": people["risk"].to_numpy(np.float64),
        "placed_ever": flags["placed_ever"].to_numpy(bool),
        "first_placement_date": timeline.to_datetime64(flags["first_placement"]),
        "placed_whole_year9": flags["placed_whole_year9"].to_numpy(bool),
        "ever_lvu3": flags["ever_lvu3"].to_numpy(bool),
        "ever_hvb_sis": flags["ever_hvb_sis"].to_numpy(bool),
        "ensamkommande": people["ensamkommande"].to_numpy(bool),
        "year9_year": people["year9_year"].to_numpy().astype(np.int16),
    })


# ------------------------------------------------------------------------------------------------ population

def population_dataset(population: Population) -> Dataset:
    """RTB-like: current number, sex, birth date, names, countries of birth, migration and death."""
    people = population.people
    current = population.history.current
    order = np.argsort(current, kind="stable")
    p = people.iloc[order]
    registered = p["folkbokford_day"].to_numpy() != NONE
    immigrated = np.where(registered & (p["arrival"].to_numpy() != NONE), p["folkbokford_day"].to_numpy(), NONE)
    table = pa.table({
        "personnummer": pa.array(identifiers.canonical(current[order]), pa.string()),
        "kon": _codes(np.where(p["male"], 1, 2)),
        "fodelsedatum": _date32(p["birth"].to_numpy()),
        "fornamn": pa.array(p["fornamn"].to_numpy(), pa.string()),
        "efternamn": pa.array(p["efternamn"].to_numpy(), pa.string()),
        "fodelseland": pa.array(p["country"].to_numpy(), pa.string()),
        "fodelseland_mor": pa.array(p["mother_country"].to_numpy(), pa.string()),
        "fodelseland_far": pa.array(p["father_country"].to_numpy(), pa.string()),
        "folkbokford": pa.array(registered, pa.bool_()),
        "invandringsdatum": _date32(immigrated),
        "utvandringsdatum": _date32(p["emigration"].to_numpy()),
        "dodsdatum": _date32(p["death"].to_numpy()),
    })
    return Dataset("population", table, order.astype(np.int64),
                   {("personnummer", "nearby_day"): population.nearby_day[order]})


def residence_dataset(population: Population) -> Dataset:
    res = population.residence
    current = population.history.current[res["person_id"].to_numpy()]
    order = np.argsort(current * 2**16 + res["fran"].to_numpy())
    res = res.iloc[order]
    table = pa.table({
        "personnummer": pa.array(identifiers.canonical(current[order]), pa.string()),
        "kommun": pa.array(geography.kommuner()["kommun"].to_numpy()[res["kommun"].to_numpy()], pa.string()),
        "fran_datum": _date32(res["fran"].to_numpy()),
        "till_datum": _date32(res["till"].to_numpy()),
    })
    return Dataset("residence", table, res["person_id"].to_numpy().astype(np.int64))


def pnr_changes_dataset(population: Population) -> Dataset:
    changes = population.changes.sort_values(["day", "old"], kind="stable")
    table = pa.table({
        "gammalt_personnr": pa.array(identifiers.canonical(changes["old"].to_numpy()), pa.string()),
        "nytt_personnr": pa.array(identifiers.canonical(changes["new"].to_numpy()), pa.string()),
        "andringsdatum": pa.array(timeline.iso(changes["day"].to_numpy()), pa.string()),
    })
    return Dataset("pnr_changes", table, changes["person_id"].to_numpy().astype(np.int64))


# ------------------------------------------------------------------------------------------------ placement

def placement_datasets(rng: np.random.Generator, population: Population, placements: placement.Placements,
                       end_day: int) -> list[Dataset]:
    """The three placement files; one identifier per child, kommun and reporting year, the same in all three."""
    reported = placement.report(population, placements, end_day)
    people = population.people
    child = reported.child
    person = child["person"].to_numpy()
    kommun = child["kommun"].to_numpy()
    number, _, _ = population.history.at(person, child["day"].to_numpy())
    special, special_kommun = _temporary_ids(rng, population, person, kommun, number == 0)
    style_of_kommun = rng.choice(len(identifiers.STYLES), size=len(geography.kommuner()), p=PLACEMENT_STYLES)
    written = identifiers.write_ids(rng, population.history, person, child["day"].to_numpy(),
                                    style=style_of_kommun[kommun], typo_rate=TYPOS["placement"],
                                    whitespace_rate=WHITESPACE_PLACEMENT, special=special)
    kommun_code = geography.kommuner()["kommun"].to_numpy()
    made_up = written.extra
    made_up.loc[made_up["kind"] == "temporary_id", "kommun"] = kommun_code[special_kommun]
    male = people["male"].to_numpy()[person]
    wrong_kon = rng.random(len(child)) < KON_MISMATCH
    guardian = child["vardnadshavare"].to_numpy()
    child_table = pa.table({
        "redovisningsar": pa.array(child["redovisningsar"].to_numpy(), pa.int64()),
        "kommun": pa.array(kommun_code[kommun], pa.string()),
        "personnr": written.values,
        "kon": _codes(np.where(male != wrong_kon, 1, 2)),
        "fodelseland": pa.array(people["country"].to_numpy()[person], pa.string()),
        "fodelseland_mor": pa.array(people["mother_country"].to_numpy()[person], pa.string()),
        "fodelseland_far": pa.array(people["father_country"].to_numpy()[person], pa.string()),
        "ensamkommande": _codes(people["ensamkommande"].to_numpy()[person].astype(int)),
        # The contract has no code for "no guardian" (18 years and older): 9 okänd.
        "vardnadshavare": _codes(np.where(guardian == 0, 9, guardian)),
    })
    id_errors = _column_errors("personnr", written)
    datasets = [Dataset("placement_child", child_table, person.astype(np.int64),
                        id_errors | {("kon", "kon_mismatch"): wrong_kon}, made_up)]
    key = pd.MultiIndex.from_arrays([child["redovisningsar"], child["kommun"], child["person"]])
    for name, rows, columns in (("placement_measure", reported.measure, _measure_columns(reported.measure)),
                                ("placement_placement", reported.placement,
                                 _placement_columns(reported.placement, placements))):
        at = key.get_indexer(pd.MultiIndex.from_arrays([rows["redovisningsar"], rows["kommun"], rows["person"]]))
        table = pa.table({
            "redovisningsar": pa.array(rows["redovisningsar"].to_numpy(), pa.int64()),
            "kommun": pa.array(kommun_code[rows["kommun"].to_numpy()], pa.string()),
            "personnr": written.values.take(pa.array(at)),
            **columns,
        })
        datasets.append(Dataset(name, table, rows["person"].to_numpy().astype(np.int64),
                                {k: v[at] for k, v in id_errors.items()}))
    return datasets


def _temporary_ids(rng: np.random.Generator, population: Population, person: np.ndarray, kommun: np.ndarray,
                   needed: np.ndarray) -> tuple[Special, np.ndarray]:
    """Temporary IDs for rows of children without a number yet: one per child and kommun, unique in the kommun."""
    rows = np.flatnonzero(needed)
    if not len(rows):
        return Special(rows, np.zeros(0, object), "temporary_id"), kommun[rows]
    pairs, inverse = np.unique(np.c_[person[rows], kommun[rows]], axis=0, return_inverse=True)
    people = population.people
    ids = identifiers.temporary_ids(rng, pairs[:, 1], people["first_ymd"].to_numpy()[pairs[:, 0]],
                                    people["male"].to_numpy()[pairs[:, 0]])
    return Special(rows, ids[inverse.reshape(-1)], "temporary_id"), kommun[rows]


def _measure_columns(rows: pd.DataFrame) -> dict[str, pa.Array]:
    return {
        "insats_nr": pa.array(rows["insats_nr"].to_numpy(), pa.int64()),
        "lagrum": _codes(rows["lagrum"].to_numpy()),
        "beslutsdatum": pa.array(timeline.compact(rows["beslutsdatum"].to_numpy()), pa.string()),
        "startdatum": pa.array(timeline.compact(rows["startdatum"].to_numpy()), pa.string()),
        "slutdatum": pa.array(timeline.compact(rows["slutdatum"].to_numpy()), pa.string()),
        "avslutsorsak": _codes(rows["avslutsorsak"].to_numpy(), missing=0),
    }


def _placement_columns(rows: pd.DataFrame, placements: placement.Placements) -> dict[str, pa.Array]:
    return {
        "insats_nr": pa.array(rows["insats_nr"].to_numpy(), pa.int64()),
        "placering_nr": pa.array(rows["placering_nr"].to_numpy(), pa.int64()),
        "placeringsform": _codes(rows["placeringsform"].to_numpy()),
        "startdatum": pa.array(timeline.compact(rows["startdatum"].to_numpy()), pa.string()),
        "slutdatum": pa.array(timeline.compact(rows["slutdatum"].to_numpy()), pa.string()),
        "enhet_id": pa.array(placements.placements["enhet_id"].to_numpy()[rows["placement"].to_numpy()],
                             pa.string()),
    }


# ------------------------------------------------------------------------------------------------ school

def school_datasets(rng: np.random.Generator, population: Population, school: School) -> tuple[Dataset, Dataset]:
    """Year-9 grades (long: one row per pupil and subject; the school writes the pupil's number once, so a typo
    repeats on every row) and upper-secondary programmes."""
    pupils = school.pupils
    person = pupils["person"].to_numpy()
    _, spring = school_year(pupils["avgangsar"].to_numpy())
    units = np.unique(pupils["skolenhetskod"].to_numpy())
    twelve = pd.Series(rng.random(len(units)) < GRADES_12_DIGITS, index=units)
    style = np.where(twelve.reindex(pupils["skolenhetskod"]).to_numpy(), identifiers.STYLES.index("12"),
                     identifiers.STYLES.index("10"))
    written = identifiers.write_ids(rng, population.history, person, spring, style=style,
                                    typo_rate=TYPOS["grades_year9"])
    pupil, subject = np.nonzero(school.grades)
    taken = pa.array(pupil)
    grades = pa.table({
        "personnr": written.values.take(taken),
        "skolenhetskod": pc.cast(pa.array(pupils["skolenhetskod"].to_numpy()), pa.string()).take(taken),
        "avgangsar": pa.array(pupils["avgangsar"].to_numpy(), pa.int64()).take(taken),
        "amne": _decoded(subject, SUBJECTS),
        "betyg": _decoded(school.grades[pupil, subject], GRADES),
    })
    errors = {k: v[pupil] for k, v in _column_errors("personnr", written).items()}
    grades_ds = Dataset("grades_year9", grades, person[pupil].astype(np.int64), errors, written.extra)

    upper = school.upper
    who = upper["person"].to_numpy()
    start_day = timeline.year_start(upper["startar"].to_numpy()) + 231
    written = identifiers.write_ids(rng, population.history, who, start_day, style="12",
                                    typo_rate=TYPOS["upper_secondary"])
    table = pa.table({
        "personnr": written.values,
        "program": pa.array(upper["program"].to_numpy(), pa.string()),
        "startar": pa.array(upper["startar"].to_numpy(), pa.int64()),
        "examensar": pa.array(upper["examensar"].to_numpy(), pa.int64(), mask=upper["examensar"].to_numpy() == 0),
        "examen": _codes(upper["examen"].to_numpy(), missing=0),
    })
    return grades_ds, Dataset("upper_secondary", table, who.astype(np.int64),
                              _column_errors("personnr", written), written.extra)


# ------------------------------------------------------------------------------------------------ health, LVM

def patient_dataset(rng: np.random.Generator, population: Population, patient: pd.DataFrame) -> Dataset:
    """Patientregistret: 12-digit numbers, reserve numbers in the region's format for some (person, region) pairs
    and for care before a person had any number (domain.md §1.5)."""
    person = patient["person_id"].to_numpy(np.int64)
    day = timeline.from_ymd(pc.cast(pa.array(patient["indatum"], pa.string()), pa.int64()).to_numpy())
    number, _, _ = population.history.at(person, day)
    lan = patient["kommun"].astype(str).str[:2].to_numpy()
    lan_index = pd.Index(geography.lan_codes()).get_indexer(lan)
    pair_draw = (rng.random(len(population.people))[person] + lan_index * 0.6180339887) % 1.0
    reserve = (number == 0) | ((pair_draw < RESERVE_PAIRS) & (rng.random(len(person)) < RESERVE_WITHIN_PAIR))
    rows = np.flatnonzero(reserve)
    pairs, first, inverse = np.unique(np.c_[person[rows], lan_index[rows]], axis=0, return_index=True,
                                      return_inverse=True)
    people = population.people
    numbers = identifiers.reserve_numbers(
        rng, lan[rows][first], timeline.ymd(people["birth"].to_numpy()[pairs[:, 0]]),
        people["male"].to_numpy()[pairs[:, 0]], timeline.year_of(day[rows][first])) if len(rows) \
        else np.zeros(0, object)
    written = identifiers.write_ids(rng, population.history, person, day, style="12", typo_rate=TYPOS["patient"],
                                    special=Special(rows, numbers[inverse.reshape(-1)], "reserve_number"))
    return _register_dataset("patient", patient, written, person)


def drugs_dataset(rng: np.random.Generator, population: Population, drugs: pd.DataFrame) -> Dataset:
    """Läkemedelsregistret: `YYYYMMDD-NNNC`; dispensings to persons without any number are not in the register."""
    person = drugs["person_id"].to_numpy(np.int64)
    written = identifiers.write_ids(rng, population.history, person, _day_counts(drugs["edatum"]), style="12dash",
                                    typo_rate=TYPOS["drugs"])
    dataset = _register_dataset("drugs", drugs, written, person)
    return dataset.only(~written.errors.get("missing_identifier", np.zeros(len(person), bool)))


def lvm_dataset(rng: np.random.Generator, population: Population, name: str, frame: pd.DataFrame) -> Dataset:
    """The LVM sub-registers: `YYMMDD-NNNC`, ISO dates, decimal comma; persons without a number are left out."""
    when = "inskrivningsdatum" if name == "lvm_discharge" else "beslutsdatum"
    person = frame["person_id"].to_numpy(np.int64)
    written = identifiers.write_ids(rng, population.history, person, _day_counts(frame[when]), style="10dash",
                                    typo_rate=TYPOS["lvm"])
    dataset = _register_dataset(name, frame, written, person, identifier="personnummer")
    return dataset.only(~written.errors.get("missing_identifier", np.zeros(len(person), bool)))


def provider_dataset(frame: pd.DataFrame, name: str) -> Dataset:
    """IVO's units and inspections: records of units, so of no person in the world (person -1 in the truth)."""
    columns = {column: _text_column(frame[column]) for column in _CONTRACT[name]}
    return Dataset(name, pa.table(columns), np.full(len(frame), -1, np.int64))


def _sole_traders(providers: pd.DataFrame, end_date: date) -> pd.DataFrame:
    """Sole traders' org numbers are their owners' personnummer (domain.md §1.7), canonical 12 digits: identifiers
    of no one in this world, which must never leak either."""
    sole = providers[providers["enskild_naringsidkare"].astype(str).isin(["1", "True", "true"])]
    canonical = normalize_many(sole["orgnr"].astype(str).to_numpy(), reference_date=end_date)
    return pd.DataFrame({"person_id": pd.array([None] * len(sole), dtype="Int64"),
                         "identifier": canonical.to_numpy(object), "kind": "orgnr_sole_trader", "kommun": None})


#: Contract column order of the registers the other generators fill (without the identifier column).
_CONTRACT = {
    "patient": ("vardform", "indatum", "utdatum", "hdia", "dia1", "dia2", "ekod1", "pvard", "mvo", "kommun"),
    "drugs": ("atc", "fdatum", "edatum", "antal_ddd", "kommun"),
    "lvm_application": ("kommun", "beslutsdatum", "utfall", "grund", "missbruk"),
    "lvm_emergency": ("kommun", "beslutsdatum", "faststallt"),
    "lvm_discharge": ("inskrivningsdatum", "utskrivningsdatum", "vardtid_manader", "utskrivningsorsak",
                      "vard_annan_form"),
    "providers": ("enhet_id", "enhetsnamn", "enhetstyp", "huvudman", "orgnr", "enskild_naringsidkare", "kommun",
                  "startdatum", "slutdatum"),
    "provider_inspections": ("enhet_id", "beslutsdatum", "beslutstyp"),
}


def _register_dataset(name: str, frame: pd.DataFrame, written: WrittenIds, person: np.ndarray,
                      identifier: str = "pnr") -> Dataset:
    """A register from another generator's frame: the written identifier first, then the contract columns typed
    for the file (Parquet: dates as date32 except the patient register's YYYYMMDD text; CSV: text)."""
    parquet = LAYOUT[name][1].kind == "parquet"
    columns = {identifier: written.values}
    for column in _CONTRACT[name]:
        values = frame[column]
        if parquet and name == "drugs" and column in ("fdatum", "edatum"):
            columns[column] = _date32(_day_counts(values))
        elif parquet and column == "antal_ddd":
            columns[column] = pa.array(values.to_numpy(np.float64), pa.float64())
        elif column == "vardtid_manader":
            columns[column] = pa.array([f"{v:.1f}".replace(".", ",") for v in values.to_numpy(np.float64)],
                                       pa.string())
        else:
            columns[column] = _text_column(values)
    return Dataset(name, pa.table(columns), person, _column_errors(identifier, written), written.extra)


def _text_column(values: pd.Series) -> pa.Array:
    """A column as contract text: dates ISO, booleans 1/0, codes and numbers as written, missing as null."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pa.array(timeline.iso(_day_counts(values)), pa.string())
    if pd.api.types.is_bool_dtype(values):
        return pa.array(np.where(values.to_numpy(bool), "1", "0"), pa.string())
    if isinstance(values.dtype, pd.CategoricalDtype):  # codes with their labels: no Python object per row
        return pa.array(values).dictionary_decode().cast(pa.string())
    if pd.api.types.is_numeric_dtype(values):
        return pc.cast(pa.array(values, from_pandas=True), pa.string())
    try:
        return pa.array(values.to_numpy(object), pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # dates or numbers in an object column: their str() is the text
        return pa.array([None if pd.isna(v) else str(v) for v in values], pa.string())


def _day_counts(values: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(values, errors="coerce")
    return np.where(stamps.isna().to_numpy(), NONE, stamps.to_numpy("datetime64[D]").astype(np.int64))


# ------------------------------------------------------------------------------------------------ helpers

def _codes(values: np.ndarray, missing: int | None = None) -> pa.Array:
    """Small non-negative integer codes as text, null where equal to `missing`."""
    values = np.asarray(values, dtype=np.int32)
    labels = pa.array([str(code) for code in range(int(values.max(initial=0)) + 1)])
    mask = values == missing if missing is not None else None
    return pa.DictionaryArray.from_arrays(pa.array(values, mask=mask), labels).dictionary_decode()


def _decoded(index: np.ndarray, labels: tuple[str, ...]) -> pa.Array:
    """labels[index] as an Arrow string array, built in Arrow (no Python objects per row)."""
    return pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)), pa.array(labels)).dictionary_decode()


def _date32(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int64)
    none = days == NONE
    return pa.array(np.where(none, 0, days).astype(np.int32), pa.date32(), mask=none)


def _column_errors(column: str, written: WrittenIds) -> dict[tuple[str | None, str], np.ndarray]:
    return {(column, kind): mask for kind, mask in written.errors.items()}


class _Writer:
    """Writes datasets in their formats on a background thread and gathers the truth (records, errors, made-up
    identifiers) as they are handed over. Use as a context manager: leaving it waits for every file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.records: list[tuple[str, np.ndarray]] = []  # (dataset, person per row, -1 for nobody)
        self.errors: list[pd.DataFrame] = []
        self.extra: list[pd.DataFrame] = []
        self.sizes: dict[str, int] = {}
        self.identifier_rows: dict[str, int] = {}
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: list[Future] = []

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, exc_type, *_) -> None:
        self._pool.shutdown(wait=True)
        if exc_type is None:
            for future in self._pending:
                future.result()  # re-raises a failed write

    def write(self, dataset: Dataset) -> None:
        relative, fmt = LAYOUT[dataset.name]
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        self._pending.append(self._pool.submit(_write_file, dataset.table, path, fmt))
        self.sizes[dataset.name] = dataset.table.num_rows
        self.records.append((dataset.name, dataset.person))
        for (column, kind), mask in dataset.errors.items():
            hit = np.flatnonzero(mask) + 1
            if len(hit):
                self.errors.append(pd.DataFrame({"dataset": dataset.name, "row": hit, "column": column,
                                                 "kind": kind}))
        if dataset.name not in ("population", "residence", "pnr_changes", "providers", "provider_inspections"):
            self.identifier_rows[dataset.name] = dataset.table.num_rows  # registers that write numbers with errors
        if dataset.made_up is not None:
            self.extra.append(dataset.made_up)

    def finish_truth(self, population: Population, persons: pd.DataFrame) -> pd.DataFrame:
        """Write truth/*.parquet; returns the error table (for the calibration)."""
        folder = self.root / "truth"
        folder.mkdir()
        names = [name for name, _ in self.records]
        which = np.concatenate([np.full(len(person), i, np.int32) for i, (_, person) in enumerate(self.records)])
        person = np.concatenate([person for _, person in self.records])
        row = np.concatenate([np.arange(1, len(p) + 1, dtype=np.int64) for _, p in self.records])
        _write_parquet(pa.table({"dataset": pa.DictionaryArray.from_arrays(pa.array(which), pa.array(names)),
                                 "row": pa.array(row), "person_id": pa.array(person, mask=person < 0)}),
                       folder / "records.parquet")
        errors = pd.concat(self.errors, ignore_index=True).sort_values(["dataset", "row", "column", "kind"],
                                                                      kind="stable", ignore_index=True)
        _write_parquet(pa.Table.from_pandas(errors, preserve_index=False), folder / "errors.parquet")
        history = population.history
        version, person = np.nonzero(history.since != NONE)
        superseded = version < history.last[person]
        kinds = np.where(history.kinds[version, person] == KIND_SAMORDNINGSNUMMER, "samordningsnummer",
                         np.where(superseded, "old_personnummer", "personnummer"))
        numbers = pd.DataFrame({"person_id": person, "identifier": identifiers.canonical(
            history.numbers[version, person]), "kind": kinds, "kommun": None})
        table = pa.Table.from_pandas(pd.concat([numbers, *self.extra], ignore_index=True).astype(
            {"person_id": "Int64", "kommun": object}), preserve_index=False)
        columns = ["kind", "identifier", "kommun", "person_id"]
        table = table.group_by(columns, use_threads=False).aggregate([]).sort_by(
            [(c, "ascending", "at_start") for c in columns]).select(["person_id", "identifier", "kind", "kommun"])
        _write_parquet(table, folder / "identifiers.parquet")
        truth_persons = persons.assign(folkbokford=population.people["folkbokford_day"].to_numpy() != NONE,
                                       born_abroad=population.people["born_abroad"].to_numpy(),
                                       nearby_day=population.nearby_day)
        _write_parquet(pa.Table.from_pandas(truth_persons, preserve_index=False), folder / "persons.parquet")
        return errors


#: Columns with (nearly) one value per row: dictionary encoding would be wasted work.
_UNIQUE_COLUMNS = {"personnummer", "personnr", "pnr", "gammalt_personnr", "nytt_personnr", "identifier", "row",
                   "person_id"}


def _write_parquet(table: pa.Table, path: Path) -> None:
    write_parquet(table, path, unique_columns=_UNIQUE_COLUMNS)


def _write_file(table: pa.Table, path: Path, fmt: FileFormat) -> None:
    if fmt.kind == "parquet":
        _write_parquet(table, path)
    else:
        _write_csv(table, path, fmt)


def _write_csv(table: pa.Table, path: Path, fmt: FileFormat) -> None:
    """CSV with an unquoted header, in batches (bounded memory), transcoded where the encoding is not UTF-8."""
    options = pacsv.WriteOptions(include_header=False, delimiter=fmt.delimiter,
                                 quoting_style="needed" if fmt.quote_text else "none")
    with open(path, "wb") as handle:
        handle.write((fmt.delimiter.join(table.column_names) + "\n").encode(fmt.encoding))
        for batch in table.to_batches(max_chunksize=1 << 20):
            buffer = io.BytesIO()
            pacsv.write_csv(pa.Table.from_batches([batch], table.schema), buffer, options)
            data = buffer.getvalue()
            handle.write(data if fmt.encoding == "utf-8" or data.isascii()
                         else data.decode("utf-8").encode(fmt.encoding))

