"""Faults through the CLI: a kill at any point of an extract, a full disk, tampered key files, extracts and audit
logs, and two runs writing one target at once.

Every run is a process of its own (leakscan.run_cli_many); a fault is injected in that process just before the
command starts: a function wrapped to SIGKILL the process or to raise ENOSPC, a timer that SIGKILLs it after a delay
drawn from a fixed seed, or a file-size limit that makes the kernel refuse a write. The world is a small synthetic
one (3,000 children), keyed here; the request asks for a few variables of three registers in every format.
The runs are made in three batches (faults; then races, reruns and checks; then the last checks) and the tests
read their results.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from leakscan import run_cli_many
from reglink_testing import assert_one_line_error

from linkage.extract.audit import append_audit
from linkage.extract.pipeline import build_extract
from linkage.extract.request import EXAMPLE
from linkage.synth import generate_world
from pseudonym.keys import MIN_SCRYPT_N, create_key_file

PASSPHRASE = "fault passphrase"
ENV = {"REGLINK_PASSPHRASE": PASSPHRASE}
EXTRACT_FILES = 12  # 2 tables × 3 formats, 4 codebook files, 2 reports
REQUEST = (EXAMPLE[:EXAMPLE.index("variables:")]
           + "variables:\n"
             "  cohort: [kon, fodelsear, lan, kommun, placerad_nagon_gang]\n"
             "  placement_history: [antal_placeringar, dagar_i_vard]\n"
             "  placement_placement: [startdatum, slutdatum, placeringsform]\n\n"
           + EXAMPLE[EXAMPLE.index("windows:"):])

#: Python run in the process before the command: wrap `owner.name` (module:attribute, or module:Class.attribute)
#: to SIGKILL the process before or after the real call, or to raise ENOSPC instead of it; with `only`, act only on
#: calls that name a path containing it (other calls go through).
FAULT = """
import errno, importlib, os, signal
module, _, attribute = {point!r}.partition(":")
owner = importlib.import_module(module)
*parents, name = attribute.split(".")
for parent in parents:
    owner = getattr(owner, parent)
real, only, action = getattr(owner, name), {only!r}, {action!r}
def applies(args):
    return only is None or any(only in os.fspath(a) for a in args if isinstance(a, (str, os.PathLike)))
def fault(*args, **kwargs):
    if not applies(args):
        return real(*args, **kwargs)
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if action == "kill before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(owner, name, fault)
"""
KILL_AFTER = """
import os, signal, threading
threading.Timer({seconds}, os.kill, (os.getpid(), signal.SIGKILL)).start()
"""
FILE_SIZE_LIMIT = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
"""


def fault(point: str, action: str, only: str | None = None) -> str:
    return FAULT.format(point=point, action=action, only=only)


# ------------------------------------------------------------------------------------------------ the faults

@dataclass(frozen=True)
class Kill:
    name: str
    prelude: str
    #: Whether the extract must be there afterwards (killed after it was renamed into place); None: either.
    published: bool | None

    def target(self, setup: Setup) -> Path:
        return setup.folder / "killed" / ("killed-" + "".join(c if c.isalnum() else "-" for c in self.name))


SEEDED = random.Random(2026)
KILLS = [
    Kill("after linking", fault("linkage.extract.pipeline:link_world", "kill after"), False),
    Kill("after the data files", fault("linkage.extract.pipeline:_write_data", "kill after"), False),
    Kill("before the leak scan", fault("linkage.extract.leakguard:Scanner.check", "kill before"), False),
    Kill("after the manifest, before the rename", fault("linkage.extract.pipeline:write_manifest", "kill after"),
         False),
    Kill("after the rename into place", fault("os:rename", "kill after", only="/killed-after-the-rename"), True),
    *(Kill(f"after {s:.2f} s", KILL_AFTER.format(seconds=round(s, 2)), None)
      for s in sorted(SEEDED.uniform(0.2, 1.5) for _ in range(2))),
]
KILLED = {kill.name: kill for kill in KILLS}

DISKS = {
    "Parquet data file": (fault("pyarrow.parquet:write_table", "enospc", only=".full.tmp-"), ""),
    "CSV data file": (fault("pyarrow.csv:write_csv", "enospc", only=".full.tmp-"), ""),
    "Stata data file": (fault("pyreadstat:write_dta", "enospc", only=".full.tmp-"), ""),
    "codebook files": (fault("pathlib:Path.write_bytes", "enospc", only=".full.tmp-"), ""),
    "manifest": (fault("pathlib:Path.write_bytes", "enospc", only="manifest.json"), ""),
    "the kernel refuses a write (file size limit)": (FILE_SIZE_LIMIT.format(limit=100_000), ""),
}


def _edit_key(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        document = json.loads(path.read_text())
        change(document)
        path.write_text(json.dumps(document))
    return edit


def _flip_base64(section: str | None, name: str, index: int) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        holder = document[section] if section else document
        raw = bytearray(base64.b64decode(holder[name]))
        raw[index] ^= 0x01
        holder[name] = base64.b64encode(bytes(raw)).decode()
    return change


def _flip_first_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))


KEY_TAMPERS = {
    "a bit of the ciphertext": (_edit_key(_flip_base64(None, "ciphertext", 5)),
                                "wrong passphrase or damaged key file"),
    "the fingerprint in the header": (_edit_key(lambda d: d.update(fingerprint="0" * 16)), "damaged key file"),
    "the creation time in the header": (_edit_key(lambda d: d.update(created="2020-01-01T00:00:00Z")),
                                        "wrong passphrase or damaged key file"),
    "a bit of the salt in the header": (_edit_key(_flip_base64("kdf", "salt", 0)),
                                        "wrong passphrase or damaged key file"),
    "a hostile scrypt cost in the header": (_edit_key(lambda d: d["kdf"].update(n=2**30)), "not a reglink key file"),
    "a raw byte of the file": (_flip_first_byte, "not a reglink key file"),
}


def _flip_data_byte(folder: Path) -> None:
    path = folder / "data" / "persons.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_manifest(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "manifest.json"
        manifest = json.loads(path.read_text())
        change(manifest)
        path.write_text(json.dumps(manifest, sort_keys=True, indent=2) + "\n")
    return edit


def _entry(manifest: dict, rel: str) -> dict:
    return next(entry for entry in manifest["files"] if entry["path"] == rel)


def _drop_a_row_and_match_the_manifest(folder: Path) -> None:
    """A data file cut by a row, and the manifest edited to match its new bytes and size: only the rows can tell."""
    csv = folder / "data" / "persons.csv"
    csv.write_text("".join(csv.read_text().splitlines(keepends=True)[:-1]))
    _edit_manifest(lambda m: _entry(m, "data/persons.csv").update(
        sha256=hashlib.sha256(csv.read_bytes()).hexdigest(), bytes=csv.stat().st_size))(folder)


def _link_instead(folder: Path) -> None:
    (folder / "codebook.md").unlink()
    (folder / "codebook.md").symlink_to(folder / "codebook.html")


EXTRACT_TAMPERS = {
    "a byte of a data file changed": (_flip_data_byte, "data/persons.parquet: checksum mismatch"),
    "a file deleted": (lambda f: (f / "reports" / "linkage.md").unlink(),
                       "reports/linkage.md: listed in the manifest but missing"),
    "a file added": (lambda f: (f / "data" / "extra.csv").write_text("a\n1\n"),
                     "data/extra.csv: present but not listed"),
    "a hidden file added": (lambda f: (f / ".notes").write_text("x\n"), ".notes: present but not listed"),
    "a file replaced by a link": (_link_instead, "codebook.md"),
    "manifest: a row count edited": (_edit_manifest(lambda m: _entry(m, "data/persons.parquet").update(rows=1)),
                                     "data/persons.parquet: row count mismatch"),
    "manifest: an entry removed": (_edit_manifest(lambda m: m["files"].remove(_entry(m, "data/persons.dta"))),
                                   "data/persons.dta: present but not listed"),
    "manifest: a file's hash and size edited to match it": (_drop_a_row_and_match_the_manifest,
                                                             "data/persons.csv: row count mismatch"),
    "manifest: not JSON any more": (lambda f: (f / "manifest.json").write_text('{"files": [\n'),
                                    "manifest.json: not valid JSON"),
    "manifest deleted": (lambda f: (f / "manifest.json").unlink(), "no manifest.json"),
}


def _lines(edit: Callable[[list[bytes]], list[bytes]]) -> Callable[[Path], None]:
    def change(log: Path) -> None:
        log.write_bytes(b"".join(line + b"\n" for line in edit(log.read_bytes().split(b"\n")[:-1])))
    return change


AUDIT_TAMPERS = {
    "a value edited": (_lines(lambda ls: [ls[0], ls[1].replace(b'"persons":11', b'"persons":12'), ls[2]]),
                       "line 2: edited"),
    "a line removed": (_lines(lambda ls: [ls[0], ls[2]]), "line 2: does not follow line 1"),
    "two lines swapped": (_lines(lambda ls: [ls[0], ls[2], ls[1]]), "line 2: does not follow line 1"),
    "a line inserted": (_lines(lambda ls: [ls[0], ls[1], ls[1], ls[2]]), "line 3: does not follow line 2"),
    "the last line cut short": (lambda log: log.write_bytes(log.read_bytes()[:-20]), "line 3: incomplete"),
}


# ------------------------------------------------------------------------------------------------ the runs

@dataclass(frozen=True)
class Setup:
    folder: Path
    world: Path
    key: Path
    request: Path
    extract: Path

    def extract_args(self, out: Path, *, key: Path | None = None) -> list:
        return ["extract", self.request, "--data", self.world, "--key", key or self.key, "--out", out,
                "--secure", secure_of(out)]


def secure_of(target: Path) -> Path:
    return target.parent / f"{target.name}-secure"


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}.tmp-"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Setup:
    """A small world, a key, the request and one complete extract of them (made by the library, with its audit
    line, as the material the tampering starts from)."""
    folder = tmp_path_factory.mktemp("faults")
    generate_world(folder / "world", children=3000, seed=8)
    key = create_key_file(folder / "fault.key", PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    request = folder / "request.yaml"
    request.write_text(REQUEST, encoding="utf-8")
    made = Setup(folder, folder / "world", key.path, request, folder / "extract")
    build_extract(request, data_dir=made.world, key=key, out=made.extract, secure_dir=secure_of(made.extract))
    return made


@pytest.fixture(scope="module")
def faulted(setup) -> dict[str, subprocess.CompletedProcess[str]]:
    """Batch 1: every fault at once — kills, full disks, tampered keys, extracts and audit logs."""
    runs: dict[str, tuple] = {}
    for kill in KILLS:
        runs[f"kill: {kill.name}"] = (setup.extract_args(kill.target(setup)), ENV, kill.prelude)
    for n, (name, (prelude, _)) in enumerate(DISKS.items()):
        runs[f"disk: {name}"] = (setup.extract_args(setup.folder / f"disk-{n}" / "full"), ENV, prelude)
    keys = setup.folder / "keys"
    keys.mkdir()
    for n, (name, (tamper, _)) in enumerate(KEY_TAMPERS.items()):
        key = Path(shutil.copy(setup.key, keys / f"tampered-{n}.key"))
        tamper(key)
        assert key.read_bytes() != setup.key.read_bytes()
        runs[f"key: {name}"] = (["keys", "show", key], ENV)
    runs["key: extract"] = (setup.extract_args(keys / "extract", key=keys / "tampered-0.key"), ENV)
    for n, (name, (tamper, _)) in enumerate(EXTRACT_TAMPERS.items()):
        folder = Path(shutil.copytree(setup.extract, setup.folder / "tampered" / f"extract-{n}"))
        tamper(folder)
        runs[f"extract: {name}"] = (["verify", folder], {})
    log = setup.folder / "logs" / "audit.jsonl"
    log.parent.mkdir()
    shutil.copy(secure_of(setup.extract) / "audit.jsonl", log)
    for persons in (11, 12):
        append_audit(log, {"event": "extract", "project": "demo-2026", "persons": persons})
    runs["log: intact"] = (["audit", "verify", log], {})
    for n, (name, (tamper, _)) in enumerate(AUDIT_TAMPERS.items()):
        tampered = Path(shutil.copy(log, log.with_name(f"tampered-{n}.jsonl")))
        tamper(tampered)
        runs[f"log: {name}"] = (["audit", "verify", tampered], {})
    return dict(zip(runs, run_cli_many(list(runs.values()), folder=setup.folder / "streams-1")))


@dataclass(frozen=True)
class Left:
    """What a killed run left beside its target: the extract or not, temporary folders, the lock file or not."""

    published: bool
    temporary: list[str]
    lock: bool


@dataclass(frozen=True)
class AfterKills:
    """What each kill left (looked at before anything else touched the targets), and batches 2 and 3."""

    left: dict[str, Left]
    runs: dict[str, subprocess.CompletedProcess[str]]


#: The kills whose targets get a new run: they leave a temporary folder and a lock file behind.
RERUN = ("after the data files", "after the manifest, before the rename")


@pytest.fixture(scope="module")
def after(setup, faulted) -> AfterKills:
    """Batch 2: two runs racing for one target (started together), new runs on targets killed runs left behind, and
    `reglink verify` of every extract a killed run published. Batch 3: verify what batch 2 made."""
    left = {kill.name: Left(kill.target(setup).exists(), leftovers(kill.target(setup)),
                            (kill.target(setup).parent / f".{kill.target(setup).name}.lock").exists())
            for kill in KILLS}
    race = setup.folder / "race" / "extract"
    runs = {"race 1": (setup.extract_args(race), ENV), "race 2": (setup.extract_args(race), ENV)}
    runs |= {f"rerun: {name}": (setup.extract_args(KILLED[name].target(setup)), ENV) for name in RERUN}
    runs |= {f"verify: {kill.name}": (["verify", kill.target(setup)], {})
             for kill in KILLS if left[kill.name].published}
    done = dict(zip(runs, run_cli_many(list(runs.values()), folder=setup.folder / "streams-2", workers=2)))
    checks = {"verify: race": (["verify", race], {})}
    checks |= {f"verify rerun: {name}": (["verify", KILLED[name].target(setup)], {}) for name in RERUN}
    done |= dict(zip(checks, run_cli_many(list(checks.values()), folder=setup.folder / "streams-3")))
    return AfterKills(left, done)


# ------------------------------------------------------------------------------------------------ SIGKILL

@pytest.mark.parametrize("kill", KILLS, ids=[k.name for k in KILLS])
def test_a_kill_leaves_no_extract_or_a_complete_one_that_verifies(setup, faulted, after, kill):
    proc = faulted[f"kill: {kill.name}"]
    published = after.left[kill.name].published
    if kill.published is not None:
        assert proc.returncode == -9, proc.stderr  # the fault fired where it was put
        assert published is kill.published
    if published:
        checked = after.runs[f"verify: {kill.name}"]
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.startswith(f"ok: {EXTRACT_FILES} files")
    else:
        assert proc.returncode == -9, proc.stderr


def test_after_a_kill_a_new_run_on_the_same_target_succeeds_byte_for_byte(setup, after):
    """Where a killed run left its temporary folder and its lock file, a new run goes ahead and publishes."""
    for name in RERUN:
        target = KILLED[name].target(setup)
        left = after.left[name]
        assert not left.published and left.temporary and left.lock  # what the killed run left behind
        assert after.runs[f"rerun: {name}"].returncode == 0, after.runs[f"rerun: {name}"].stderr
        assert after.runs[f"verify rerun: {name}"].returncode == 0, after.runs[f"verify rerun: {name}"].stderr
        for path in setup.extract.rglob("*"):  # the same inputs and key: the bytes of the run without a fault
            if path.is_file():
                assert (target / path.relative_to(setup.extract)).read_bytes() == path.read_bytes(), path


def test_a_published_extract_always_has_its_audit_line(setup, after):
    target = KILLED["after the rename into place"].target(setup)
    assert after.left["after the rename into place"].published
    log = secure_of(target) / "audit.jsonl"
    assert log.exists() and log.read_text().count("\n") == 1


# ------------------------------------------------------------------------------------------------ a full disk

class Unclean(AssertionError):
    """A failure that is not one clean user-error line."""


@pytest.mark.parametrize("disk", [
    pytest.param(name, marks=[pytest.mark.xfail(strict=True, raises=Unclean, reason=bug)] if bug else [])
    for name, (_, bug) in DISKS.items()])
def test_a_full_disk_while_the_extract_is_written_is_one_clean_error_and_no_extract(setup, faulted, disk):
    target = setup.folder / f"disk-{list(DISKS).index(disk)}" / "full"
    proc = faulted[f"disk: {disk}"]
    assert proc.returncode > 0 and "Traceback" not in proc.stderr
    assert not target.exists() and not leftovers(target)
    try:
        line = assert_one_line_error(proc)
        assert proc.returncode == 1 and "could not be written" in line, line
    except AssertionError as exc:
        raise Unclean(str(exc)) from exc


# ------------------------------------------------------------------------------------------------ tampering

@pytest.mark.parametrize("tamper", list(KEY_TAMPERS))
def test_a_tampered_key_file_is_refused_in_one_line(faulted, tamper):
    line = assert_one_line_error(faulted[f"key: {tamper}"])
    assert KEY_TAMPERS[tamper][1] in line, line


def test_an_extract_with_a_tampered_key_fails_in_one_line_and_writes_nothing(setup, faulted):
    line = assert_one_line_error(faulted["key: extract"])
    assert "wrong passphrase or damaged key file" in line
    assert not (setup.folder / "keys" / "extract").exists()


@pytest.mark.parametrize("tamper", list(EXTRACT_TAMPERS))
def test_a_tampered_extract_fails_verify_naming_the_file(faulted, tamper):
    line = assert_one_line_error(faulted[f"extract: {tamper}"])
    assert EXTRACT_TAMPERS[tamper][1] in line, line


def test_the_intact_audit_log_verifies(faulted):
    assert faulted["log: intact"].returncode == 0, faulted["log: intact"].stderr
    assert faulted["log: intact"].stdout == "ok: 3 entries, chain intact\n"


@pytest.mark.parametrize("tamper", list(AUDIT_TAMPERS))
def test_a_tampered_audit_log_fails_naming_the_line(faulted, tamper):
    line = assert_one_line_error(faulted[f"log: {tamper}"])
    assert f"tampered-{list(AUDIT_TAMPERS).index(tamper)}.jsonl, {AUDIT_TAMPERS[tamper][1]}" in line, line


# ------------------------------------------------------------------------------------------------ two runs at once

def test_two_runs_on_one_target_at_once_one_wins_the_other_fails_in_one_line(setup, after):
    procs = [after.runs["race 1"], after.runs["race 2"]]
    assert sorted(proc.returncode for proc in procs) == [0, 1], [proc.stderr for proc in procs]
    (loser,) = [proc for proc in procs if proc.returncode]
    line = assert_one_line_error(loser)
    assert "another reglink run is writing" in line or "exists already" in line, line
    assert after.runs["verify: race"].returncode == 0, after.runs["verify: race"].stderr
    race = setup.folder / "race" / "extract"
    assert not leftovers(race)
    assert (secure_of(race) / "audit.jsonl").read_text().count("\n") == 1  # one extract made, one line records it
