"""Helpers for tests that run the real `reglink` CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str | os.PathLike, env: dict[str, str] | None = None, input: str | None = None,
            cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `reglink ARGS` as a real subprocess and return the finished process (text stdout/stderr)."""
    full_env = {k: v for k, v in os.environ.items() if k != "REGLINK_DEBUG"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "linkage.cli", *map(str, args)],
        capture_output=True, text=True, env=full_env, input=input, cwd=cwd, timeout=timeout,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """A user mistake: non-zero exit, no traceback, exactly one error line on stderr; returns that line."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("reglink: error: "), lines[0]
    return lines[0]
