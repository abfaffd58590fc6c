"""`reglink keys new|show` through the real CLI: passphrase from the environment or a terminal, one-line errors."""

from __future__ import annotations

import base64
import os
import select
import stat
import subprocess
import sys
import time

from reglink_testing import assert_one_line_error, run_cli

from pseudonym.keys import MIN_SCRYPT_N, create_key_file, open_key_file

PASS = {"REGLINK_PASSPHRASE": "test passphrase"}


def test_new_then_show(tmp_path):
    path = tmp_path / "project.key"
    made = run_cli("keys", "new", path, env=PASS)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key_file = open_key_file(path, PASS["REGLINK_PASSPHRASE"])
    assert key_file.fingerprint in made.stderr and made.stdout == ""

    shown = run_cli("keys", "show", path, env=PASS)
    assert shown.returncode == 0, shown.stderr
    assert f"fingerprint: {key_file.fingerprint}" in shown.stdout
    assert f"created:     {key_file.created:%Y-%m-%d %H:%M:%S} UTC" in shown.stdout
    secret = key_file.master_key.secret_bytes()
    for output in (made.stdout + made.stderr, shown.stdout + shown.stderr):
        assert secret.hex() not in output and base64.b64encode(secret).decode() not in output


def test_new_never_overwrites(tmp_path):
    path = tmp_path / "project.key"
    path.write_text("precious")
    line = assert_one_line_error(run_cli("keys", "new", path, env=PASS))
    assert "exists already; refusing to overwrite" in line
    assert path.read_text() == "precious"


def test_show_errors_are_one_line(tmp_path):
    path = create_key_file(tmp_path / "project.key", PASS["REGLINK_PASSPHRASE"], scrypt_n=MIN_SCRYPT_N).path
    assert "wrong passphrase or damaged key file" in assert_one_line_error(
        run_cli("keys", "show", path, env={"REGLINK_PASSPHRASE": "not it"}))
    assert "no such key file" in assert_one_line_error(run_cli("keys", "show", tmp_path / "none.key", env=PASS))


def test_empty_passphrase_is_refused(tmp_path):
    line = assert_one_line_error(run_cli("keys", "new", tmp_path / "k.key", env={"REGLINK_PASSPHRASE": ""}))
    assert "passphrase is empty" in line
    assert not (tmp_path / "k.key").exists()


def test_no_terminal_and_no_variable_is_an_error_not_a_hang(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REGLINK_PASSPHRASE"}
    proc = subprocess.run([sys.executable, "-m", "linkage.cli", "keys", "new", str(tmp_path / "k.key")],
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert "set REGLINK_PASSPHRASE or run the command in a terminal" in assert_one_line_error(proc)


def in_terminal(args: list[str], answers: list[tuple[str, str]]) -> tuple[int, str]:
    """Run reglink on a pseudo-terminal with no controlling tty, typing each answer after its prompt appears."""
    env = {k: v for k, v in os.environ.items() if k not in ("REGLINK_PASSPHRASE", "REGLINK_DEBUG")}
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "linkage.cli", *args], stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True)
    os.close(slave)
    seen, deadline = b"", time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if answers and answers[0][0].encode() in seen:
                os.write(master, answers.pop(0)[1].encode() + b"\n")
                seen = b""
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=60), seen.decode(errors="replace")
    finally:
        proc.kill() if proc.poll() is None else None
        os.close(master)


def test_prompt_asks_twice_hidden_and_the_key_opens_with_that_passphrase(tmp_path):
    path = tmp_path / "k.key"
    code, output = in_terminal(["keys", "new", str(path)],
                               [("Passphrase:", "typed secret"), ("Repeat passphrase:", "typed secret")])
    assert code == 0, output
    assert "typed secret" not in output  # not echoed
    assert open_key_file(path, "typed secret").fingerprint in output


def test_prompt_answers_that_differ_write_nothing(tmp_path):
    path = tmp_path / "k.key"
    code, output = in_terminal(["keys", "new", str(path)],
                               [("Passphrase:", "one thing"), ("Repeat passphrase:", "another")])
    assert code != 0 and "the two passphrases differ" in output
    assert not path.exists()
