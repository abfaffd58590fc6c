"""`reglink demo`: the main job on built-in synthetic data — generate a world, key it, link it, answer a question.

The question is the first one analysts ask: how many children who have been placed lack gymnasiebehörighet
(eligibility for a vocational programme), beside their never-placed peers? The demo key protects synthetic data
only: its passphrase is printed in this module and must never be used for anything else.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from linkage.errors import OutputError
from linkage.linking import LinkedWorld, link_world
from linkage.outcomes import absent_from_grade_register, eligibility, populations
from linkage.synth import Calibration, generate_world
from pseudonym.keys import MIN_SCRYPT_N, create_key_file

DEMO_PASSPHRASE = "reglink-demo-only"  # DEMO ONLY: protects synthetic data in the demo folder, nothing else
DEMO_PROJECT = "demo-2026"
DEMO_CHILDREN = 20_000
DEMO_SEED = 2026
END_DATE = date(2025, 12, 31)
#: Marks a folder the demo made, so a second run may replace it (and nothing else).
MARKER = ".reglink-demo"
REGISTERS = ("placement_measure", "placement_placement", "grades_year9")
GROUPS = (("placerad_hela_ak9", "placed the whole of year 9"), ("placerad_nagon_gang", "placed at some time"),
          ("aldrig_placerad", "never placed"))

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """What the demo made: the world, the demo key, the linkage report and the answer table."""

    outdir: Path
    world: Path
    key_file: Path
    calibration: Calibration
    linkage: pd.DataFrame
    answer: pd.DataFrame


def run_demo(outdir: Path | str = "demo-output", *, children: int = DEMO_CHILDREN, seed: int = DEMO_SEED,
             progress: Progress | None = None) -> DemoResult:
    """Generate the default synthetic world in `outdir`, create a demo key, link the placement and grade registers
    on project pseudonyms, and compare gymnasiebehörighet of placed children with never-placed peers."""
    say = progress or (lambda step: None)
    outdir = _fresh(Path(outdir))
    world, secure = outdir / "world", outdir / "secure"
    say("generating the synthetic world")
    calibration = generate_world(world, children=children, seed=seed, end_date=END_DATE)
    say("creating the demo key (DEMO ONLY)")
    secure.mkdir(mode=0o700)
    key = create_key_file(secure / "demo.key", DEMO_PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    say("ingesting, pseudonymising and linking the registers")
    linked = link_world(world, key=key.master_key, project=DEMO_PROJECT, secure_dir=secure, registers=REGISTERS)
    say("deriving gymnasiebehörighet")
    return DemoResult(outdir, world, key.path, calibration, linked.report, answer(linked, end_date=END_DATE))


def answer(linked: LinkedWorld, *, end_date: date) -> pd.DataFrame:
    """Per ÖJ population of Swedish-born children who have left year 9: the share missing from the grade register,
    and the share of those with grades who lack eligibility for a vocational programme (yrkesprogram)."""
    persons = linked.for_outcomes("persons")
    grades = linked.for_outcomes("grades_year9")
    groups = populations(linked.for_outcomes("placement_placement"), persons, end_date=end_date)
    absent = absent_from_grade_register(grades, persons)
    eligible = eligibility(grades.rename(columns={"avgangsar": "year", "amne": "subject", "betyg": "grade"}))
    frame = groups.merge(absent, on="id").merge(eligible[["id", "yrkesprogram"]], on="id", how="left")
    # As ÖJ's education indicators: Swedish-born children who have reached the end of year 9.
    people = persons.set_index("id")
    cohort = (people["fodelseland"] == "SE") & (people["fodelsedatum"].dt.year + 16 <= end_date.year)
    frame = frame[frame["id"].map(cohort).fillna(False).astype(bool).to_numpy()]
    rows = []
    for column, label in GROUPS:
        group = frame[frame[column].fillna(False).astype(bool)]
        graded = group[~group["saknas_i_betygsregistret"].fillna(False).astype(bool)]
        rows.append({"population": label, "children": len(group),
                     "missing_from_grade_register": _share(len(group) - len(graded), len(group)),
                     "lacking_behorighet_yrkesprogram": _share(int((~graded["yrkesprogram"].astype(bool)).sum()),
                                                                len(graded))})
    return pd.DataFrame(rows)


def _share(count: int, total: int) -> float:
    return count / total if total else float("nan")


def _fresh(outdir: Path) -> Path:
    """An empty demo folder: a previous demo's folder is replaced; anything else is left alone."""
    if outdir.exists():
        if not (outdir / MARKER).exists():
            raise OutputError(f"{outdir}: exists and was not made by `reglink demo`; choose another folder")
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    (outdir / MARKER).write_text("made by reglink demo; synthetic data and a demo-only key\n")
    return outdir
