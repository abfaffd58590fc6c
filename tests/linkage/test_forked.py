"""linkage.forked.Beside: a call in a forked child, its value or exception handed back, the child never left behind."""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from linkage.forked import Beside

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="Beside runs in the caller where fork is missing")


def _write(path: Path, values: np.ndarray) -> tuple[int, int]:
    np.save(path, values)
    return os.getpid(), int(values.sum())


def test_the_call_runs_in_another_process_on_the_callers_data_and_its_value_comes_back(tmp_path):
    values = np.arange(1_000_000)  # inherited at the fork: nothing is pickled on the way in
    with Beside(_write, tmp_path / "values.npy", values) as beside:
        pid, total = beside.result()
    assert pid != os.getpid()
    assert total == int(values.sum())
    assert np.array_equal(np.load(tmp_path / "values.npy"), values)


def _full_disk() -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_the_childs_exception_is_raised_in_the_caller():
    with Beside(_full_disk) as beside, pytest.raises(OSError) as caught:
        beside.result()
    assert caught.value.errno == errno.ENOSPC


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_child_that_dies_without_an_answer_is_an_error_not_a_hang():
    with Beside(_die) as beside, pytest.raises(ChildProcessError, match="killed by signal 9"):
        beside.result()


def _stay(path: Path) -> None:
    path.write_text(str(os.getpid()))
    time.sleep(60)


def test_leaving_the_block_without_the_result_kills_the_child(tmp_path):
    marker = tmp_path / "pid"
    with pytest.raises(RuntimeError), Beside(_stay, marker):
        while not marker.exists() or not marker.read_text():
            time.sleep(0.01)
        raise RuntimeError("the caller gives up")
    with pytest.raises(ProcessLookupError):
        os.kill(int(marker.read_text()), 0)  # gone, and reaped


def _unpicklable() -> object:
    return lambda: None


def test_a_value_that_cannot_be_handed_back_is_an_error_naming_its_type_only():
    with Beside(_unpicklable) as beside, pytest.raises(TypeError, match="could not hand back its function"):
        beside.result()


@pytest.mark.skipif(not os.uname().sysname == "Linux", reason="the kernel's parent-death signal is Linux's")
def test_the_child_dies_with_its_parent(tmp_path):
    import subprocess
    import sys

    marker = tmp_path / "pid"
    parent = subprocess.Popen([sys.executable, "-c", f"""
import os, signal, time
from pathlib import Path
from linkage.forked import Beside
def stay():
    Path({str(marker)!r}).write_text(str(os.getpid()))
    time.sleep(60)
with Beside(stay):
    while not Path({str(marker)!r}).exists() or not Path({str(marker)!r}).read_text():
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGKILL)
"""])
    assert parent.wait(timeout=30) == -signal.SIGKILL
    child = int(marker.read_text())
    for _ in range(500):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    pytest.fail("the child outlived its parent")
