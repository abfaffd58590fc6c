"""`target_lock`: one writer per target across real processes; released on exit, on error and when killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from linkage.errors import OutputError
from linkage.locking import lock_path, target_lock

HOLDER = textwrap.dedent("""
    import sys
    from linkage.locking import target_lock
    with target_lock(sys.argv[1]):
        print("locked", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
""")


def hold(target: Path) -> subprocess.Popen[str]:
    """Start a process that takes the lock on `target` and keeps it until its stdin gets a line."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(target)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "locked\n", proc.stderr.read()
    return proc


def test_a_second_process_is_refused_while_the_first_writes_then_gets_the_lock(tmp_path):
    target = tmp_path / "extract"
    holder = hold(target)
    try:
        with pytest.raises(OutputError) as refused:
            with target_lock(target):
                pytest.fail("two writers held the lock at once")
        assert str(refused.value) == f"another reglink run is writing {target}"
        assert "\n" not in str(refused.value)
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    with target_lock(target) as path:
        assert path == lock_path(target) == tmp_path / ".extract.lock"
        assert path.exists()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    target = tmp_path / "extract"
    holder = hold(target)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert holder.returncode == -signal.SIGKILL
    assert lock_path(target).exists()  # the file stays behind, but the kernel released the lock with the process
    with target_lock(target):
        pass
    assert not lock_path(target).exists()


def test_released_on_error_and_the_lock_file_removed(tmp_path):
    target = tmp_path / "sub" / "extract"
    with pytest.raises(RuntimeError):
        with target_lock(target):
            assert lock_path(target).exists()
            raise RuntimeError("the writer failed")
    assert list(tmp_path.joinpath("sub").iterdir()) == []
    with target_lock(target):  # free again, and in the same process
        pass


def test_one_process_cannot_take_the_same_lock_twice(tmp_path):
    target = tmp_path / "extract"
    with target_lock(target):
        with pytest.raises(OutputError, match="another reglink run is writing"):
            with target_lock(target):
                pass


def test_a_folder_that_cannot_be_created_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="its folder cannot be created"):
        with target_lock(blocker / "extract"):
            pass
