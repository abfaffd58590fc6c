"""Run one call in a forked child process beside the caller, for work that holds Python's lock for seconds while
the caller has other work to do (pyreadstat's Stata writer: about 8 s of the national extract, in which no other
thread of the process can run Python).

The child is a copy of the caller at the fork, so nothing is pickled on the way in (a million-row frame costs
nothing to hand over); only the call's return value or exception comes back, through a pipe. The child dies with
its parent (Linux: PR_SET_PDEATHSIG), and leaving the `with` block before `result()` kills it, so it never writes
on behind a caller that has given up. Where `fork` does not exist the call simply runs in the caller.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Beside:
    """A call running in a child process; `result()` waits for it and returns its value or raises its exception."""

    def __init__(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._pid: int | None = None
        self._outcome: tuple[bool, Any] | None = None
        if not hasattr(os, "fork"):
            self._outcome = _call(function, args, kwargs)
            return
        parent = os.getpid()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read)
            try:
                _die_with(parent)
                payload = _payload(_call(function, args, kwargs))
                with os.fdopen(write, "wb") as out:
                    out.write(payload)
            finally:
                os._exit(0)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> Any:
        if self._outcome is None:
            with os.fdopen(self._read, "rb") as pipe:
                payload = pipe.read()
            _, status = os.waitpid(self._pid, 0)
            self._pid = None
            self._outcome = pickle.loads(payload) if payload else (False, ChildProcessError(
                f"the process beside stopped without an answer ({_how(status)})"))
        ok, value = self._outcome
        if not ok:
            raise value
        return value

    def __enter__(self) -> Beside:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pid is not None:  # not waited for: the caller gave up
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            os.close(self._read)
            self._pid = None


def _call(function: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[bool, Any]:
    try:
        return True, function(*args, **kwargs)
    except Exception as exc:  # handed to the caller, who raises it
        return False, exc


def _payload(outcome: tuple[bool, Any]) -> bytes:
    try:
        return pickle.dumps(outcome)
    except Exception as exc:  # an unpicklable value or exception: say what it was, never its content
        return pickle.dumps((False, TypeError(f"the process beside could not hand back its "
                                              f"{type(outcome[1]).__name__} ({type(exc).__name__})")))


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when its parent dies (Linux only; elsewhere the child finishes its call)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


__all__ = ["Beside"]
