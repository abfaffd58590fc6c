"""`reglink demo`: the main job on built-in synthetic data — generate a world, key it, run the example request,
verify the extract and answer a question from it.

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
import pyarrow.parquet as pq

from linkage.errors import OutputError
from linkage.extract.manifest import VerifyResult, verify_extract
from linkage.extract.pipeline import ExtractResult, build_extract
from linkage.extract.request import EXAMPLE, parse_request
from linkage.synth import Calibration, generate_world
from pseudonym.keys import MIN_SCRYPT_N, create_key_file

DEMO_PASSPHRASE = "reglink-demo-only"  # DEMO ONLY: protects synthetic data in the demo folder, nothing else
DEMO_CHILDREN = 20_000
DEMO_SEED = 2026
END_DATE = date(2025, 12, 31)
#: Marks a folder the demo made, so a second run may replace it (and nothing else).
MARKER = ".reglink-demo"
GROUPS = (("placerad_hela_ak9", "placed the whole of year 9"), ("placerad_nagon_gang", "placed at some time"),
          ("aldrig_placerad", "never placed"))
SWEDEN = "1"  # fodelseland_grupp 1: Sverige

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoResult:
    """What the demo made: the world, the demo key, the request, the verified extract and the answer table."""

    outdir: Path
    world: Path
    key_file: Path
    request: Path
    calibration: Calibration
    extract: ExtractResult
    verified: VerifyResult
    answer: pd.DataFrame


def run_demo(outdir: Path | str = "demo-output", *, children: int = DEMO_CHILDREN, seed: int = DEMO_SEED,
             progress: Progress | None = None) -> DemoResult:
    """Generate the default synthetic world in `outdir`, create a demo key, run the example request into
    `outdir/extract`, verify it, and compare gymnasiebehörighet of placed children with never-placed peers."""
    say = progress or (lambda stage, done, total: None)
    outdir = _fresh(Path(outdir))
    world, secure = outdir / "world", outdir / "secure"
    say("generating the synthetic world", 0, 1)
    calibration = generate_world(world, children=children, seed=seed, end_date=END_DATE)
    say("creating the demo key (DEMO ONLY)", 0, 1)
    secure.mkdir(mode=0o700)
    key = create_key_file(secure / "demo.key", DEMO_PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    request_path = outdir / "request.yaml"
    request_path.write_text(EXAMPLE, encoding="utf-8")
    request = parse_request(EXAMPLE, source=str(request_path))
    extract = build_extract(request, data_dir=world, key=key, out=outdir / "extract", secure_dir=secure,
                            progress=say)
    say("verifying the extract", 0, 1)
    verified = verify_extract(extract.path)
    persons = pq.read_table(extract.path / "data" / "persons.parquet").to_pandas()
    return DemoResult(outdir, world, key.path, request_path, calibration, extract, verified,
                      answer(persons, end_date=request.reference_date))


def answer(persons: pd.DataFrame, *, end_date: date) -> pd.DataFrame:
    """Per ÖJ population of Swedish-born children who have left year 9: the share missing from the grade register,
    and the share of those with grades who lack eligibility for a vocational programme (yrkesprogram).

    `persons` is an extract's persons table; rows whose birth year was suppressed for disclosure are left out.
    """
    # As ÖJ's education indicators: Swedish-born children who have reached the end of year 9.
    cohort = (persons["fodelseland_grupp"] == SWEDEN) & (persons["fodelsear"] + 16 <= end_date.year)
    frame = persons[cohort.fillna(False).astype(bool)]
    rows = []
    for column, label in GROUPS:
        group = frame[frame[column].fillna(False).astype(bool)]
        graded = group[~group["saknas_i_betygsregistret"].fillna(False).astype(bool)]
        lacking = int((~graded["behorig_yrkesprogram"].fillna(False).astype(bool)).sum())
        rows.append({"population": label, "children": len(group),
                     "missing_from_grade_register": _share(len(group) - len(graded), len(group)),
                     "lacking_behorighet_yrkesprogram": _share(lacking, len(graded))})
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
