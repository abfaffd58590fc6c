"""The leak canary's helpers: a scanner for known input identifiers in every written form (in bytes, files and
folders), and a runner for many CLI runs.

Independent of the code under test (linkage.extract.leakguard): it looks only for the exact identifiers of the
inputs, so a hit is a leak, never a look-alike. A value is searched for as given and, where it has a date part
(12 characters whose first eight are digits, separators aside), as 12 and 10 characters, with no separator and
with `-`, `+` or a space before the last four. It is found as a whole token: a run of letters and digits that no
letter or digit touches, alone or joined to the next run by one separator (so `row 5: 980123-3439` and
`"19980123-3439"` are hits; the same digits inside a hex pseudonym or a SHA-256 sum are not).
Parquet files are scanned as raw bytes and as decoded values and metadata (pages are compressed); Stata files as
raw bytes and read back value by value with their labels.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyreadstat

#: The shortest written form of an identifier (10 digits); shorter tokens are never compared.
SHORTEST = 10
SEPARATORS = ("", "-", "+", " ")
# At the start of every letter/digit run: the run, and the run joined to the next one by one separator.
_TOKEN = re.compile(rb"(?<![0-9A-Za-z])(?=([0-9A-Za-z]{6,})([-+ ][0-9A-Za-z]+)?)")
_SEPARATOR = re.compile(r"[-+ ]")


def written_forms(value: str) -> set[bytes]:
    """Every form in which `value` may be written: as given and, with a date part, in 12 and 10 characters with and
    without a `-`, `+` or space before the last four."""
    value = value.strip()
    forms = {value}
    compact = _SEPARATOR.sub("", value)
    if len(compact) == 12 and compact[:8].isdigit():
        tail = compact[8:]
        forms |= {f"{date}{sep}{tail}" for date in (compact[:8], compact[2:8]) for sep in SEPARATORS}
    elif len(compact) == 10 and compact[:6].isdigit():
        forms |= {f"{compact[:6]}{sep}{compact[6:]}" for sep in SEPARATORS}
    return {form.encode() for form in forms if len(form) >= SHORTEST}


class Canary:
    """A set of identifiers to look for, in all their written forms."""

    def __init__(self, values: Iterable[str | None]):
        self.values = sorted({v.strip() for v in values if v and v.strip()})
        self.forms = frozenset(form for value in self.values for form in written_forms(value))

    @classmethod
    def of_worlds(cls, *worlds: Path) -> Canary:
        """Every input identifier of synthetic worlds: truth/identifiers.parquet `identifier` (each as the
        registers write it, typos, reserve and temporary numbers included) and the population's `personnummer`."""
        values: list[str] = []
        for world in worlds:
            values += pq.read_table(world / "truth" / "identifiers.parquet", columns=["identifier"]).column(
                "identifier").to_pylist()
            values += pq.read_table(world / "population" / "population.parquet", columns=["personnummer"]).column(
                "personnummer").to_pylist()
        return cls(values)

    def hits(self, data: bytes | str) -> list[bytes]:
        """The forms found in `data`, once per occurrence."""
        if isinstance(data, str):
            data = data.encode("utf-8", errors="replace")
        found = []
        for match in _TOKEN.finditer(data):
            run, joined = match.group(1), match.group(2)
            if joined and run + joined in self.forms:
                found.append(run + joined)
            elif run in self.forms:
                found.append(run)
        return found

    def file_hits(self, path: Path) -> dict[str, list[bytes]]:
        """Hits per part of a file ("bytes", "parquet values", "stata labels", ...); only parts with hits."""
        found = {}
        for part, data in file_parts(path):
            hits = self.hits(data)
            if hits:
                found[part] = hits
        return found

    def folder_hits(self, folder: Path, *, exempt: Callable[[Path], bool] = lambda path: False
                    ) -> dict[str, dict[str, list[bytes]]]:
        """Hits per file (relative path) of every file under `folder` that is not `exempt`."""
        found = {}
        for path in files_under(folder):
            if not exempt(path):
                hits = self.file_hits(path)
                if hits:
                    found[str(path.relative_to(folder))] = hits
        return found


def files_under(folder: Path) -> list[Path]:
    """Every file below `folder`, hidden ones and those in hidden folders included, sorted."""
    return sorted(path for path in Path(folder).rglob("*") if path.is_file())


def file_parts(path: Path) -> Iterator[tuple[str, bytes]]:
    """A file's raw bytes and, for Parquet and Stata files, its decoded values, names, labels and metadata."""
    raw = path.read_bytes()
    yield "bytes", raw
    if raw[:4] == b"PAR1" and raw[-4:] == b"PAR1":
        table = pq.read_table(path)
        yield "parquet names and metadata", _json({
            "names": table.column_names,
            "schema": {k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
                       for k, v in (table.schema.metadata or {}).items()},
            "fields": [{k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in f.metadata.items()}
                       for f in table.schema if f.metadata]})
        for name in table.column_names:
            yield f"parquet values of column {name}", _values(table.column(name))
    elif path.suffix.lower() == ".dta":
        frame, meta = pyreadstat.read_dta(str(path))
        yield "stata values", frame.to_csv(index=False).encode()
        yield "stata labels", _json({"file": meta.file_label, "columns": meta.column_names,
                                     "labels": meta.column_labels, "values": meta.variable_value_labels,
                                     "notes": getattr(meta, "notes", None)})


def _values(column: pa.ChunkedArray) -> bytes:
    try:
        text = pc.cast(column, pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return "\n".join(map(str, column.to_pylist())).encode()
    return "\n".join("" if v is None else v for v in text.to_pylist()).encode()


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str).encode()


# ------------------------------------------------------------------------------------------------ many CLI runs

_SERVER = r"""
import json, os, sys, traceback
import linkage.cli, linkage.demo, linkage.extract.pipeline, linkage.quality, linkage.synth  # imported once
from linkage.cli import main

def run(job):
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
    os.environ.update(job["env"])
    try:
        exec(job["prelude"], {"__name__": "prelude"})
        main(job["argv"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except BaseException:  # a broken prelude: never fall back into the server's loop
        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

jobs, workers = json.loads(sys.stdin.read()), int(sys.argv[1])
codes, running, waiting = {}, {}, list(enumerate(jobs))
while waiting or running:
    while waiting and len(running) < workers:
        index, job = waiting.pop(0)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            run(job)
        running[pid] = index
    pid, status = os.wait()
    codes[running.pop(pid)] = os.waitstatus_to_exitcode(status)
print(json.dumps([codes[i] for i in range(len(jobs))]))
"""


def run_cli_many(runs: Sequence[tuple], *, folder: Path, workers: int = 3,
                 timeout: float = 600) -> list[subprocess.CompletedProcess[str]]:
    """Run `reglink ARGS` for each (ARGS, ENV) or (ARGS, ENV, PRELUDE) of `runs`, each in a process of its own,
    `workers` at once; PRELUDE is Python source run in that process just before the command (to inject a fault).

    Each run is a child forked from one interpreter that has imported reglink once (`linkage.cli.main(ARGS)`, what
    `python -m linkage.cli` calls), with its own stdin (/dev/null), stdout, stderr, environment and exit status
    (negative: killed by that signal): as `reglink_testing.run_cli`, without paying the import time per run.
    The captured output goes to files in `folder`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [{"argv": [str(a) for a in run[0]], "env": dict(run[1]), "prelude": run[2] if len(run) > 2 else "",
             "stdout": str(folder / f"{n}.stdout"), "stderr": str(folder / f"{n}.stderr")}
            for n, run in enumerate(runs)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REGLINK_")}
    server = subprocess.run([sys.executable, "-c", _SERVER, str(workers)], input=json.dumps(jobs), text=True,
                            capture_output=True, env=environment, timeout=timeout, check=False)
    assert server.returncode == 0, server.stderr
    codes = json.loads(server.stdout)
    return [subprocess.CompletedProcess(job["argv"], code, Path(job["stdout"]).read_text(encoding="utf-8"),
                                        Path(job["stderr"]).read_text(encoding="utf-8"))
            for job, code in zip(jobs, codes, strict=True)]
