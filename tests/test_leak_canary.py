"""The leak canary: every reglink command, succeeding and failing, on the synthetic worlds — and not one input
identifier in any file a run wrote, in what it printed, or in an exception a library call raised.

The identifiers looked for are every input identifier of the worlds in play (the demo's and a small one made here:
truth/identifiers.parquet `identifier`, population `personnummer`), in every written form (leakscan.py). Each run
writes into its own folder; everything in it is scanned (Parquet and Stata decoded), and so are its stdout and
stderr. Zero hits are allowed, with exactly these exceptions, each checked for what it is:

* rejects files (`*.rejects.csv`): the raw values of rejected rows, by design, and only in a secure area;
* the synthetic worlds themselves (`reglink synth` and `reglink demo` write the input registers; a world's
  calibration.json is scanned like any output).

Not exceptions, though they concern identifiers: the code key (`*.codekey`) holds the delivered persons'
personnummer encrypted, so its bytes are scanned like any file (and decrypted once to show it does hold them); the
rotation crosswalk holds only pseudonyms.

Library calls given bad input that holds identifiers (generated ones) are checked the same way: the exception's
message, repr and whole traceback text (chained exceptions included). Not covered: text drawn into figures (PNG
pixels); only a PNG's bytes (its text chunks) are scanned.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from generated_ids import number
from leakscan import Canary, files_under, run_cli_many
from reglink_testing import assert_one_line_error

from linkage.demo import DEMO_PASSPHRASE
from linkage.extract.request import EXAMPLE
from pseudonym.keys import MIN_SCRYPT_N, create_key_file

PROJECT = "demo-2026"
NEW_PASSPHRASE = "canary rotation passphrase"
ENV = {"REGLINK_PASSPHRASE": DEMO_PASSPHRASE}
SMALL = ("--children", "3000", "--seed", "8")


# ------------------------------------------------------------------------------------------------ the runs

@dataclass(frozen=True)
class Place:
    """Where a run reads and writes (the demo folder, the small world, the prepared inputs, the run's own folder),
    and an input identifier for arguments that should never hold one."""

    demo: Path
    small: Path
    inputs: Path
    out: Path
    identifier: str

    @property
    def key(self) -> Path:
        return self.demo / "secure" / "demo.key"


@dataclass(frozen=True)
class Case:
    """One CLI run: its arguments, whether it must succeed, what it must say (a failure) or write (a success)."""

    name: str
    args: Callable[[Place], list]
    ok: bool
    says: str = ""
    writes: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    #: A bug this run is known to show, until it is fixed (xfail, strict): a leak, unless `leak` is False.
    bug: str = ""
    leak: bool = True
    #: 0: first (the small world the others read); 1: the rest, but 2: what reads an extract made in stage 1.
    stage: int = 1


def extract_args(request: str, world: str = "demo", *more) -> Callable[[Place], list]:
    def args(p: Place) -> list:
        data = p.demo / "world" if world == "demo" else p.small if world == "small" else p.inputs / world
        return ["extract", p.inputs / request, "--data", data, "--key", p.key, "--out", p.out / "extract",
                "--secure", p.out / "secure", *[p.inputs / m if m.endswith((".txt", ".csv")) else m for m in more]]
    return args


def pseudonymise_args(source: str, *more: str) -> Callable[[Place], list]:
    return lambda p: ["pseudonymise", p.inputs / source, p.out / "pseudonymised.parquet", "--key", p.key,
                      "--project", PROJECT, "--rejects", p.out / "secure" / "rejects.csv", *more]


def personnummer(world: Path) -> list[str]:
    """The population register's personnummer (12 digits) of a world."""
    return pq.read_table(world / "population" / "population.parquet", columns=["personnummer"]).column(
        "personnummer").to_pylist()


def ten_digits(number: str) -> str:
    """A 12-digit personnummer written as YYMMDD-NNNC."""
    return f"{number[2:8]}-{number[8:]}"


def wrong_check_digit(number: str) -> str:
    """`number` with its check digit off by one (no longer a valid number)."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


CASES = [
    # synth: its world is the small world other runs read (stage 0)
    Case("synth", lambda p: ["synth", p.out / "world", *SMALL], True, writes=("world/calibration.json",), stage=0),
    Case("synth-into-a-folder-in-use", lambda p: ["synth", p.inputs, *SMALL], False, "not an empty folder"),
    # keys
    Case("keys-new", lambda p: ["keys", "new", p.out / "new.key"], True, writes=("new.key",),
         env={"REGLINK_PASSPHRASE": NEW_PASSPHRASE}),
    Case("keys-new-over-an-existing-file", lambda p: ["keys", "new", p.inputs / "demo-copy.key"], False, "exists"),
    Case("keys-show", lambda p: ["keys", "show", p.key], True),
    Case("keys-show-wrong-passphrase", lambda p: ["keys", "show", p.key], False, "passphrase",
         env={"REGLINK_PASSPHRASE": "not the passphrase"}),
    Case("keys-rotate", lambda p: ["keys", "rotate", "--old", p.key, "--new", p.inputs / "new.key", "--project",
                                   PROJECT, "--data", p.demo / "world", "--secure", p.out / "secure"],
         True, writes=("secure/*.rotation-*.parquet",), env={"REGLINK_NEW_PASSPHRASE": NEW_PASSPHRASE}),
    Case("keys-rotate-to-the-same-key", lambda p: ["keys", "rotate", "--old", p.key, "--new", p.key, "--project",
                                                   PROJECT, "--data", p.demo / "world", "--secure", p.out / "secure"],
         False, "same key", env={"REGLINK_NEW_PASSPHRASE": DEMO_PASSPHRASE}),
    # pseudonymise
    Case("pseudonymise", pseudonymise_args("placement_measure.csv", "--column", "personnr", "--reference-date",
                                           "2025-12-31"), True, writes=("pseudonymised.parquet",)),
    Case("pseudonymise-missing-column", pseudonymise_args("placement_measure.csv", "--column", "pnr"), False,
         "no column 'pnr'"),
    Case("pseudonymise-headerless-file", pseudonymise_args("headerless.csv", "--column", "personnummer"), False,
         "no column 'personnummer'"),
    Case("pseudonymise-bad-reference-date", pseudonymise_args("placement_measure.csv", "--column", "personnr",
                                                              "--reference-date", "2025-13-45"), False,
         "reference date"),
    Case("pseudonymise-identifier-as-reference-date", lambda p: pseudonymise_args(
        "placement_measure.csv", "--column", "personnr", "--reference-date")(p) + [p.identifier], False,
        "reference date"),
    Case("pseudonymise-reference-date-column-not-iso", pseudonymise_args(
        "placement_measure.csv", "--column", "personnr", "--reference-date-column", "beslutsdatum"), False,
        "beslutsdatum"),
    Case("pseudonymise-wrong-passphrase", pseudonymise_args("placement_measure.csv", "--column", "personnr"), False,
         "passphrase", env={"REGLINK_PASSPHRASE": "not the passphrase"}),
    # codebook
    Case("codebook-list", lambda p: ["codebook", "list"], True),
    Case("codebook-show", lambda p: ["codebook", "show", "placement_measure"], True),
    Case("codebook-show-unknown", lambda p: ["codebook", "show", "no_such_codebook"], False, "no_such_codebook"),
    Case("codebook-render", lambda p: ["codebook", "render", "cohort", "--format", "html", "--out",
                                       p.out / "cohort.html"], True, writes=("cohort.html",)),
    Case("codebook-render-unknown-format", lambda p: ["codebook", "render", "cohort", "--format", "pdf", "--out",
                                                      p.out / "cohort.pdf"], False, "unknown format 'pdf'"),
    Case("codebook-validate", lambda p: ["codebook", "validate", p.demo / "world" / "population" / "population.parquet",
                                         "--codebook", "population"], True),
    Case("codebook-validate-identifiers-in-the-wrong-column", lambda p: [
        "codebook", "validate", p.inputs / "swapped.csv", "--codebook", "placement_child"], False, "does not match"),
    Case("codebook-validate-headerless-file", lambda p: [
        "codebook", "validate", p.inputs / "headerless.csv", "--codebook", "lvm_emergency"], False, "does not match"),
    # link
    Case("link", lambda p: ["link", p.inputs / "placement_child.csv", p.inputs / "placement_measure.csv",
                            "--config", p.inputs / "link.yaml", "--out", p.out / "pairs.parquet", "--review",
                            p.out / "review.csv", "--model-out", p.out / "model.json"], True,
         writes=("pairs.parquet", "review.csv", "model.json")),
    Case("link-missing-column", lambda p: ["link", p.inputs / "placement_child.csv", p.inputs / "headerless.csv",
                                           "--config", p.inputs / "link.yaml", "--out", p.out / "pairs.parquet"],
         False, "no column"),
    # extract
    Case("extract", extract_args("request-code-key.yaml", "small", "--exclude", "exclude.txt"), True,
         writes=("extract/manifest.json", "secure/audit.jsonl", f"secure/{PROJECT}-*.codekey",
                 "secure/*.rejects.csv")),
    Case("extract-example", lambda p: ["extract", p.out / "request.yaml", "--example"], True,
         writes=("request.yaml",)),
    Case("extract-wrong-passphrase", extract_args("request.yaml"), False, "passphrase",
         env={"REGLINK_PASSPHRASE": "not the passphrase"}),
    Case("extract-direct-identifier", extract_args("request-direct-identifier.yaml"), False, "direct identifier"),
    Case("extract-identifier-as-variable", extract_args("request-identifier-variable.yaml"), False,
         "not a name"),
    Case("extract-identifier-in-title", extract_args("request-identifier-title.yaml"), False,
         "shaped like a personnummer"),
    Case("extract-empty-cohort", extract_args("request-empty-cohort.yaml", "small"), False, "the cohort is empty"),
    Case("extract-bad-exclusion-line", extract_args("request.yaml", "demo", "--exclude", "exclude-bad.txt"), False,
         "exclude-bad.txt, line 4"),
    Case("extract-register-missing-column", extract_args("request.yaml", "world-missing-column"), False,
         "startdatum"),
    Case("extract-register-without-header", extract_args("request.yaml", "world-headerless"), False,
         "lvm_emergency"),
    Case("extract-missing-options", lambda p: ["extract", p.inputs / "request.yaml"], False, "missing option"),
    # verify and audit
    Case("verify", lambda p: ["verify", p.demo / "extract"], True),
    Case("verify-tampered", lambda p: ["verify", p.inputs / "tampered-extract"], False, "data/persons.csv"),
    Case("audit-verify", lambda p: ["audit", "verify", p.demo / "secure" / "audit.jsonl"], True),
    Case("audit-verify-tampered", lambda p: ["audit", "verify", p.inputs / "audit.jsonl"], False, "line 1"),
    # quality
    Case("quality", lambda p: ["quality", p.small, "--key", p.key, "--project", PROJECT, "--secure", p.out / "secure",
                               "--truth", p.small / "truth", "--out", p.out / "quality.md"], True,
         writes=("quality.md", "secure/*.rejects.csv")),
    Case("quality-to-stdout", lambda p: ["quality", p.small, "--key", p.key, "--project", PROJECT, "--secure",
                                         p.out / "secure"], True),
    Case("quality-register-missing-column", lambda p: [
        "quality", p.inputs / "world-missing-column", "--key", p.key, "--project", PROJECT, "--secure",
        p.out / "secure"], False, "startdatum"),
    Case("quality-wrong-passphrase", lambda p: ["quality", p.small, "--key", p.key, "--project", PROJECT],
         False, "passphrase", env={"REGLINK_PASSPHRASE": "not the passphrase"}),
    # indicators (from the extract made above)
    Case("indicators", lambda p: ["indicators", p.out.parent / "extract" / "extract", "--out", p.out / "indicators"],
         True, writes=("indicators/indicators.parquet", "indicators/report.html"), stage=2),
    Case("indicators-tampered-extract", lambda p: ["indicators", p.inputs / "tampered-extract", "--out",
                                                   p.out / "indicators"], False, "data/persons.csv"),
    Case("indicators-into-a-folder-in-use", lambda p: ["indicators", p.demo / "extract", "--out", p.inputs], False,
         "not made by `reglink indicators`"),
    # demo (its successful run is the session's `demo_run`, scanned below)
    Case("demo-into-a-folder-in-use", lambda p: ["demo", p.inputs], False, "not made by `reglink demo`"),
]
#: Every command the canary runs; each succeeds in one run at least and fails in another (`codebook list` takes
#: nothing that could be wrong; `demo` succeeds in the session's `demo_run`).
COMMANDS = {"synth", "keys new", "keys show", "keys rotate", "pseudonymise", "codebook list", "codebook show",
            "codebook render", "codebook validate", "link", "extract", "verify", "audit verify", "quality",
            "indicators", "demo"}


@dataclass
class Run:
    case: Case
    folder: Path
    proc: subprocess.CompletedProcess[str]


@dataclass
class Canaried:
    """Everything the module ran, and what to look for."""

    runs: dict[str, Run]
    canary: Canary
    inputs: Path
    demo: Path
    small: Path
    identifier: str


@pytest.fixture(scope="module")
def canaried(demo_run, tmp_path_factory) -> Canaried:
    base = tmp_path_factory.mktemp("canary")
    inputs, runs_dir = base / "inputs", base / "runs"
    demo = demo_run.outdir
    identifier = ten_digits(personnummer(demo / "world")[7])
    demo_before = _snapshot(demo)
    small = runs_dir / "synth" / "world"
    runs: dict[str, Run] = {}
    for stage in (0, 1, 2):
        if stage == 1:  # the small world (stage 0's synth) is there: the inputs made from it, then none may change
            _prepare_inputs(inputs, demo, small)
            inputs_before = _snapshot(inputs)
        cases = [case for case in CASES if case.stage == stage]
        places = [Place(demo, small, inputs, runs_dir / case.name, identifier) for case in cases]
        for place in places:
            (place.out / "secure").mkdir(parents=True, mode=0o700)
        procs = run_cli_many([(case.args(place), {**ENV, **case.env}) for case, place in zip(cases, places)],
                             folder=base / "streams" / str(stage))
        runs.update((case.name, Run(case, place.out, proc)) for case, place, proc in zip(cases, places, procs))
    assert _snapshot(inputs) == inputs_before, "a run wrote into or beside its inputs"
    assert _snapshot(demo) == demo_before, "a run wrote into the demo folder it only reads"
    return Canaried(runs, Canary.of_worlds(demo / "world", small), inputs, demo, small, identifier)


def _prepare_inputs(inputs: Path, demo: Path, small: Path) -> None:
    """The files the runs read that the worlds do not hold as such (some hold identifiers: they are inputs)."""
    inputs.mkdir()
    _broken_worlds(inputs, small)
    world = demo / "world"
    for name in ("placement_child.csv", "placement_measure.csv"):
        shutil.copy(world / "placement" / name, inputs / name)
    emergency = (world / "lvm" / "lvm_emergency.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (inputs / "headerless.csv").write_text("".join(emergency[1:]), encoding="utf-8")
    child = pd.read_csv(world / "placement" / "placement_child.csv", sep=";", dtype=str, keep_default_na=False)
    child["kon"], child["personnr"] = child["personnr"], child["kon"]
    child.to_csv(inputs / "swapped.csv", sep=";", index=False)
    (inputs / "link.yaml").write_text("blocking: [[kommun, redovisningsar]]\n"
                                      "comparisons:\n  - {field: personnr, method: jarowinkler}\n", encoding="utf-8")
    shutil.copy(demo / "secure" / "demo.key", inputs / "demo-copy.key")
    create_key_file(inputs / "new.key", NEW_PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    # requests
    population = personnummer(world)
    ten = [ten_digits(n) for n in population[:3]]
    variants = {
        "request.yaml": EXAMPLE,
        "request-code-key.yaml": EXAMPLE.replace("code_key: false", "code_key: true"),
        "request-direct-identifier.yaml": EXAMPLE.replace("  placement_placement: [",
                                                          "  placement_placement: [personnr, "),
        "request-identifier-variable.yaml": EXAMPLE.replace("  cohort: [kon,", f"  cohort: [{ten[0]}, kon,"),
        "request-identifier-title.yaml": EXAMPLE.replace("title: ", f"title: {population[1]} ", 1),
        "request-empty-cohort.yaml": re.sub(r"birth_years: \{from: \d+, to: \d+\}", "birth_years: {from: 1950, "
                                                                                   "to: 1951}", EXAMPLE),
    }
    for name, text in variants.items():
        assert name == "request.yaml" or text != EXAMPLE, name
        (inputs / name).write_text(text, encoding="utf-8")
    # exclusion lists: a good one (for the small world), and one whose fourth line has a wrong check digit
    (inputs / "exclude.txt").write_text("# withheld after a decision\npersonnummer\n"
                                        + "".join(f"{ten_digits(n)}\n" for n in personnummer(small)[:3]))
    wrong = wrong_check_digit(ten[2])
    (inputs / "exclude-bad.txt").write_text(f"# withheld\n{ten[0]}\n{population[1]}\n{wrong}\n")
    # a tampered extract (an identifier added to a data file) and a tampered audit log (an identifier in a line)
    shutil.copytree(demo / "extract", inputs / "tampered-extract")
    with open(inputs / "tampered-extract" / "data" / "persons.csv", "a", encoding="utf-8") as handle:
        handle.write(f'"{population[2]}",1\n')
    log = (demo / "secure" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"approval":"Dnr 2026-01234-01"' in log
    (inputs / "audit.jsonl").write_text(log.replace('"approval":"Dnr 2026-01234-01"',
                                                    f'"approval":"{ten[1]}"', 1), encoding="utf-8")


def _broken_worlds(inputs: Path, small: Path) -> None:
    """Two broken copies of the small world: a register without a required column, a register without header."""
    missing = inputs / "world-missing-column"
    shutil.copytree(small, missing)
    measure = pd.read_csv(small / "placement" / "placement_measure.csv", sep=";", dtype=str, keep_default_na=False)
    measure.drop(columns=["startdatum"]).to_csv(missing / "placement" / "placement_measure.csv", sep=";", index=False)
    headerless = inputs / "world-headerless"
    shutil.copytree(small, headerless)
    lines = (small / "lvm" / "lvm_emergency.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (headerless / "lvm" / "lvm_emergency.csv").write_text("".join(lines[1:]), encoding="utf-8")


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in files_under(folder)}


# ------------------------------------------------------------------------------------------------ what is exempt

def exempt(path: Path) -> bool:
    """The files allowed to hold identifiers: rejects files in a secure area, and the synthetic worlds' registers."""
    if path.name.endswith("rejects.csv"):
        return "secure" in path.parts
    return in_world(path) and path.name != "calibration.json"


def in_world(path: Path) -> bool:
    return "world" in path.parts


def leaks(canaried: Canaried, folder: Path, proc: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    """Hits in every non-exempt file under `folder`, and in stdout and stderr."""
    found = canaried.canary.folder_hits(folder, exempt=exempt)
    for stream in ("stdout", "stderr"):
        hits = canaried.canary.hits(getattr(proc, stream))
        if hits:
            found[stream] = {"text": hits}
    return found


class Leak(AssertionError):
    """Identifiers found where none may be."""


class Misbehaved(AssertionError):
    """A run that leaked nothing but did not do what it should (exit status, its one error line, its output)."""


def _params() -> list:
    return [pytest.param(case.name, id=case.name, marks=[
        pytest.mark.xfail(strict=True, raises=Leak if case.leak else Misbehaved, reason=case.bug)] if case.bug
        else []) for case in CASES]


# ------------------------------------------------------------------------------------------------ the tests

@pytest.mark.parametrize("name", _params())
def test_a_run_does_what_it_should_and_leaks_nothing(canaried, name):
    run = canaried.runs[name]
    case, proc = run.case, run.proc
    found = leaks(canaried, run.folder, proc)
    if found:
        raise Leak(found)
    try:
        assert "Traceback" not in proc.stderr
        if case.ok:
            assert proc.returncode == 0, proc.stderr
            for pattern in case.writes:
                assert list(run.folder.glob(pattern)), f"{name} wrote no {pattern}"
        else:
            line = assert_one_line_error(proc)
            assert case.says in line, line
    except AssertionError as exc:
        raise Misbehaved(str(exc)) from exc


def test_the_demo_leaks_nothing_outside_its_world_and_rejects(demo_run, canaried):
    assert leaks(canaried, demo_run.outdir, demo_run.proc) == {}
    written = [p for p in files_under(demo_run.outdir) if not in_world(p)]
    assert {p.name for p in written} >= {"manifest.json", "persons.parquet", "persons.dta", "audit.jsonl", "demo.key"}


def test_the_exempt_files_are_what_they_claim_and_the_scan_finds_identifiers(canaried):
    canary = canaried.canary
    everything = [p for folder in (canaried.demo, canaried.inputs.parent / "runs") for p in files_under(folder)]
    rejects = [p for p in everything if p.name.endswith("rejects.csv") and exempt(p)]
    assert rejects and all(p.parent.name == "secure" for p in rejects)
    assert any(canary.file_hits(p) for p in rejects), "rejects hold raw values: the scan must find them"
    assert [p for p in everything if p.name.endswith("rejects.csv") and not exempt(p)] == []
    world = canaried.small / "population" / "population.parquet"
    assert "parquet values of column personnummer" in canary.file_hits(world)
    # inputs planted with identifiers: the same scan that passes the outputs finds each of them
    for planted in ("tampered-extract/data/persons.csv", "audit.jsonl", "exclude.txt", "swapped.csv",
                    "headerless.csv", "request-identifier-variable.yaml"):
        assert canary.file_hits(canaried.inputs / planted), planted
    assert canary.hits(f"reglink: error: x {canaried.identifier}.") == [canaried.identifier.encode()]


def test_the_scanner_finds_every_written_form_as_a_whole_token_only():
    twelve = number("20050317", 412)
    canary = Canary([twelve, "19980208X345"])
    forms = [twelve, twelve[2:], f"{twelve[:8]}-{twelve[8:]}", ten_digits(twelve), f"{twelve[2:8]}+{twelve[8:]}",
             f"{twelve[2:8]} {twelve[8:]}", "980208X345", "980208-X345"]
    for form in forms:
        assert canary.hits(f'row 5, "{form}": x') == [form.encode()], form
    for hidden in (f"a{twelve}", f"{twelve}0", f"{ten_digits(twelve)}9", f"ff{twelve[2:]}ab"):
        assert canary.hits(f"id {hidden} ok") == [], hidden


def test_the_code_key_holds_identifiers_only_encrypted(canaried):
    from linkage.extract.codekey import read_code_key
    from pseudonym import open_key_file

    secure = canaried.runs["extract"].folder / "secure"
    (code_key,) = secure.glob("*.codekey")
    assert canaried.canary.file_hits(code_key) == {}
    key = open_key_file(canaried.demo / "secure" / "demo.key", DEMO_PASSPHRASE).master_key
    table = read_code_key(code_key, master_key=key, project=PROJECT)
    assert canaried.canary.hits("\n".join(table.column("personnummer").to_pylist()))


def test_the_rotation_crosswalk_holds_pseudonyms_only(canaried):
    (crosswalk,) = (canaried.runs["keys-rotate"].folder / "secure").glob("*.rotation-*.parquet")
    table = pq.read_table(crosswalk)
    assert table.column_names == ["old_pseudonym_id", "new_pseudonym_id"] and table.num_rows >= 20_000
    assert canaried.canary.file_hits(crosswalk) == {}


def test_the_extract_withheld_the_excluded_and_says_so_without_naming_them(canaried):
    manifest = json.loads((canaried.runs["extract"].folder / "extract" / "manifest.json").read_text())
    assert manifest["exclusions"]["applied"] is True and manifest["exclusions"]["records_removed"] >= 3


def test_every_command_is_run_by_the_canary():
    import typer

    from linkage.cli import app

    def paths(command, prefix=""):
        for name, sub in getattr(command, "commands", {}).items():
            full = f"{prefix} {name}".strip()
            yield from paths(sub, full) if getattr(sub, "commands", None) else [full]

    listed = set(paths(typer.main.get_command(app)))
    assert listed - COMMANDS == set(), "a command the leak canary does not run: add its runs to CASES"
    assert COMMANDS <= listed
    somewhere = Place(*[Path("/nowhere")] * 4, identifier="")
    outcomes = {(" ".join(str(a) for a in case.args(somewhere)[:2] if not str(a).startswith("/")), case.ok)
                for case in CASES}
    assert outcomes | {("codebook list", False), ("demo", True)} == {(c, ok) for c in COMMANDS for ok in (True, False)}


# ------------------------------------------------------------------------------------------------ library exceptions

def _library_calls():
    """(label, call(identifiers) that must raise, known bug or "")."""
    import codebooks
    import pseudonym
    from linkage.exclusion import load_exclusions
    from linkage.extract.audit import append_audit
    from linkage.extract.leakguard import assert_no_identifiers
    from linkage.extract.request import parse_request
    from linkage.io import read_table, require_columns

    key = pseudonym.MasterKey(b"\x07" * 32)

    def frame(ids):
        return pd.DataFrame({"personnr": [ids.ten, ids.wrong, ids.twelve], "beslut": ["2020-01-01", "2020-01-01",
                                                                                      ids.ten]})

    def headerless(ids):
        return pd.DataFrame({ids.ten: [ids.twelve], "0126": ["0180"]})

    def request(old, new):
        assert old in EXAMPLE
        return lambda ids: parse_request(EXAMPLE.replace(old, new.format(ids=ids), 1), source="request.yaml")

    def written(ids, name, text):
        path = ids.folder / name
        path.write_text(text, encoding="utf-8")
        return path

    return [
        ("pseudonym.parse: wrong check digit, 12 digits", lambda ids: pseudonym.parse(ids.wrong12), ""),
        ("pseudonym.parse: wrong check digit, 10 digits and -", lambda ids: pseudonym.parse(ids.wrong), ""),
        ("pseudonym.parse: a number in a sentence", lambda ids: pseudonym.parse(f"pnr {ids.ten} x"), ""),
        ("pseudonym.normalize: a + on a young person's 12 digits",
         lambda ids: pseudonym.normalize(ids.twelve[:8] + "+" + ids.twelve[8:]), ""),
        ("pseudonym.pseudonymise: wrong check digit",
         lambda ids: pseudonym.pseudonymise(ids.wrong, master_key=key, project=PROJECT), ""),
        ("pseudonymise_frame: impossible reference date",
         lambda ids: pseudonym.pseudonymise_frame(frame(ids), "personnr", master_key=key, project=PROJECT,
                                                  reference_date="2025-13-45"), ""),
        ("pseudonymise_frame: an identifier given as the reference date",
         lambda ids: pseudonym.pseudonymise_frame(frame(ids), "personnr", master_key=key, project=PROJECT,
                                                  reference_date=ids.ten), ""),
        ("pseudonymise_frame: a reference-date column holding an identifier",
         lambda ids: pseudonym.pseudonymise_frame(frame(ids), "personnr", master_key=key, project=PROJECT,
                                                  reference_date="beslut"), ""),
        ("pseudonymise_frame: missing column in a frame read without its header",
         lambda ids: pseudonym.pseudonymise_frame(headerless(ids), "personnr", master_key=key, project=PROJECT), ""),
        ("linkage.io.require_columns: a table read without its header",
         lambda ids: require_columns(headerless(ids), ["personnr"], source="register.csv"), ""),
        ("linkage.io.read_table: a header of two equal identifiers",
         lambda ids: read_table(written(ids, "dup.csv", f"{ids.ten};{ids.ten};x\n1;2;3\n")), ""),
        ("parse_request: an identifier as a variable name",
         request("  cohort: [kon,", "  cohort: [{ids.ten}, kon,"), ""),
        ("parse_request: an identifier as a whole-number variable name",
         request("  cohort: [kon,", "  cohort: [{ids.twelve}, kon,"), ""),
        ("parse_request: an identifier as a codebook name",
         request("  cohort: [kon,", "  {ids.ten}: [kon]\n  cohort: [kon,"), ""),
        ("parse_request: an identifier as a top-level key", request("formats:", "{ids.ten}: 1\nformats:"), ""),
        ("parse_request: an identifier as the project", request("project: demo-2026", "project: {ids.ten}"), ""),
        ("parse_request: an identifier in the title", request("title: ", "title: {ids.twelve} "), ""),
        ("parse_request: an identifier in the approval", request('approval: "', 'approval: "{ids.ten} '), ""),
        ("parse_request: an identifier as a quasi-identifier",
         request("  quasi_identifiers: [kon,", "  quasi_identifiers: [{ids.ten}, kon,"), ""),
        ("parse_request: an identifier as the population", request("population: all", "population: {ids.ten}"), ""),
        ("parse_request: an identifier as the reference date",
         request("reference_date: 2025-12-31", "reference_date: {ids.ten}"), ""),
        ("load_exclusions: a wrong check digit",
         lambda ids: load_exclusions(written(ids, "x1.txt", f"{ids.ten}\n{ids.wrong}\n")), ""),
        ("load_exclusions: a number with text around it",
         lambda ids: load_exclusions(written(ids, "x2.txt", f"{ids.ten}\nperson {ids.twelve} (beslut)\n")), ""),
        ("append_audit: an identifier in an entry",
         lambda ids: append_audit(ids.folder / "audit.jsonl", {"event": "extract", "note": ids.ten}), ""),
        ("assert_no_identifiers: an identifier in a file about to be published",
         lambda ids: assert_no_identifiers(_planted_folder(ids), [ids.twelve]), ""),
        ("codebooks.validate + to_text: identifiers in the wrong column",
         lambda ids: _raise_report(codebooks.validate(
             pd.DataFrame({"redovisningsar": ["1998"], "kommun": ["0180"], "personnr": ["1"], "kon": [ids.ten]}),
             codebooks.load("placement_child"))), ""),
        ("codebooks.validate + to_text: a frame read without its header",
         lambda ids: _raise_report(codebooks.validate(headerless(ids), codebooks.load("lvm_emergency"))), ""),
    ]


class Reported(Exception):
    """A report a library call returned, raised so that it is checked like an exception."""


def _raise_report(report) -> None:
    raise Reported(f"{report.to_text()}\n{report!r}\n{report.problems.to_string()}")


def _planted_folder(ids) -> Path:
    folder = ids.folder / "to-publish"
    folder.mkdir()
    (folder / "persons.csv").write_text(f"pseudonym_id,note\nabc,{ids.twelve}\n")
    return folder


@dataclass(frozen=True)
class Ids:
    """A few generated identifiers, in the forms the calls use, and a folder for files."""

    twelve: str
    ten: str
    wrong: str
    wrong12: str
    folder: Path


def _library_params() -> list:
    return [pytest.param(call, id=label,
                         marks=[pytest.mark.xfail(strict=True, raises=Leak, reason=bug)] if bug else [])
            for label, call, bug in _library_calls()]


@pytest.mark.parametrize("call", _library_params())
def test_a_library_exception_names_no_identifier(tmp_path, call):
    import traceback

    twelve, other = number("20050317", 412), number("19990831", 86)
    wrong = wrong_check_digit(twelve)
    ids = Ids(twelve, ten_digits(other), ten_digits(wrong), wrong, tmp_path)
    canary = Canary([twelve, other, wrong])
    with pytest.raises(Exception) as caught:
        call(ids)
    exc = caught.value
    text = "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)
    if canary.hits(text):
        raise Leak(text)
