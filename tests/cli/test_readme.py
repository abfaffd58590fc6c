"""The README's command table and the command line agree: every command is documented, and every command and option
the README names exists (what `reglink COMMAND --help` shows)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from linkage.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"
#: A row of the command table: its first cell is code spans, the first one starting with `reglink `.
ROW = re.compile(r"^\| (`reglink [^\n]*?) \| (.*) \|$", re.MULTILINE)
SPAN = re.compile(r"`([^`]+)`")


def cli_commands() -> dict[str, set[str]]:
    """Every leaf command of the CLI ("keys new", "verify", …) with its long options."""
    found: dict[str, set[str]] = {}

    def walk(command, path: list[str]) -> None:
        if hasattr(command, "commands"):  # a group
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found[" ".join(path)] = {o for p in command.params for o in p.opts if o.startswith("--")}

    walk(typer.main.get_command(app), [])
    return found


def documented() -> list[tuple[str, set[str]]]:
    """(command, options named with it) for each command the README's table names, in table order."""
    commands = cli_commands()
    prefixes = {" ".join(name.split()[:n]) for name in commands for n in range(1, len(name.split()) + 1)}
    out = []
    for first, description in ROW.findall(README.read_text(encoding="utf-8")):
        group: list[str] = []
        spans = SPAN.findall(first) + [s for s in SPAN.findall(description) if s.startswith("reglink ")]
        for span in spans:
            words = span.split()
            path = [] if words[0] == "reglink" else list(group)
            words = words[1:] if words[0] == "reglink" else words
            while words and " ".join([*path, words[0]]) in prefixes:
                path.append(words.pop(0))
            if len(path) > 1:
                group = path[:-1]
            out.append((" ".join(path), {w.split("=")[0] for w in words if w.lstrip("[").startswith("--")}))
    return out


def test_the_table_is_found():
    assert len(documented()) >= len(cli_commands())


def test_every_command_is_in_the_readme():
    missing = set(cli_commands()) - {command for command, _ in documented()}
    assert not missing, f"commands the README's table does not document: {sorted(missing)}"


@pytest.mark.parametrize("command, options", documented(), ids=lambda v: v if isinstance(v, str) else "")
def test_what_the_readme_names_exists(command, options):
    commands = cli_commands()
    assert command in commands, f"the README names `reglink {command}`, which is no command"
    unknown = {o.strip("[]") for o in options} - commands[command]
    assert not unknown, f"the README gives `reglink {command}` options it does not have: {sorted(unknown)}"
