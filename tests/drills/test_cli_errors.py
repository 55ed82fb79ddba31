"""Every CLI command, given what an operator gets wrong, answers with a message, never a
traceback (issue 15): a missing file, a folder where a file was wanted, a database another
process holds locked, and text that is not valid rich markup (`abc[/]`).

The commands are enumerated from `credx.cli.COMMANDS`, so a command added later is drilled
too.  Arguments are made from each parameter's name: files get the path under test, numbers
a number, everything else the markup-breaking text.
"""

from __future__ import annotations

import sqlite3
import traceback
from pathlib import Path

import pytest

from credx.cli import COMMANDS
from tests.cli import credx

on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
MARKUP = "abc[/]"
FILES = {"path", "source", "manifest", "out"}
NUMBERS = {"delivery_id": "1", "import_id": "1", "pair_id": "1", "task": "1", "seed": "1",
           "size": "1", "confidence": "0.95", "tolerable": "0.05", "rows": "10"}  # fmt: skip
VALID = {"state": "LA", "year": "2025-26", "role": "auditor"}
# Serving and the demo would run on: they get arguments that end them, not a locked database.
FIXED = {"serve": ["--host", MARKUP], "demo": ["--rows", "1"], "worker": ["--once"]}
LONG_RUNNING = {"serve", "demo"}


def leaf_commands() -> list[tuple[list[str], object]]:
    found: list[tuple[list[str], object]] = []

    def walk(command, path):
        if hasattr(command, "list_commands"):
            for name in command.list_commands(None):
                walk(command.get_command(None, name), [*path, name])
        else:
            found.append((path, command))

    for name, entry in COMMANDS.items():
        walk(entry.load(name), [name])
    # `worker` routes this process's logging to the stderr it was given: last, so that the
    # in-process runs after it do not log to a stream the test harness has closed
    return sorted(found, key=lambda item: item[0][0] == "worker")


def arguments(path: list[str], command, file: Path, strings: str) -> list[str]:
    if path[0] in FIXED:
        return [*path, *FIXED[path[0]]]
    args, options = [*path], []
    for param in command.params:
        if not (param.required or param.param_type_name == "argument"):
            continue
        name = param.name or ""
        if name in FILES:
            value = str(file)
        elif strings == MARKUP:
            value = NUMBERS.get(name, MARKUP)
        else:
            value = NUMBERS.get(name) or VALID.get(name) or "abc"
        if param.param_type_name == "argument":
            args.append(value)
        else:
            options += [param.opts[0], value]
    return args + options


def run_all(
    env: dict[str, str], file: Path, *, strings: str = MARKUP,
    skip: frozenset[str] = frozenset(), outputs: list[str] | None = None,
) -> list[str]:  # fmt: skip
    """Runs every command; returns what went wrong (a traceback or a crash), one per line."""
    problems = []
    outputs = [] if outputs is None else outputs
    for path, command in leaf_commands():
        if path[0] in skip:
            continue
        args = arguments(path, command, file, strings)
        try:
            ran = credx(*args, env=env, check=None)
        except Exception as exc:  # escaped main(): a traceback for a user
            problems.append(f"credx {' '.join(args)}: {type(exc).__name__}: {exc}"
                            + "".join(traceback.format_exception(exc))[-600:])  # fmt: skip
            continue
        output = ran.stdout + ran.stderr
        outputs.append(output)
        if "Traceback" in output or ran.returncode not in (0, 1, 2, 3, 4):
            problems.append(f"credx {' '.join(args)}: exit {ran.returncode}: {output[-300:]}")
    return problems


@pytest.fixture(autouse=True)
def logging_restored():
    """`credx worker` configures this process's logging and excepthook: put them back."""
    import logging
    import sys

    handlers, hook = logging.root.handlers[:], sys.excepthook
    yield
    logging.root.handlers[:] = handlers
    sys.excepthook = hook


@on_sqlite
def test_a_missing_file_and_bad_markup_give_messages(app, cli_env, tmp_path):
    """Before: `credx tokens revoke 'abc[/]'` crashed in the error printer."""
    problems = run_all(cli_env, tmp_path / "no-such-folder" / "missing.csv")
    assert not problems, "\n".join(problems)


@on_sqlite
def test_a_folder_where_a_file_was_wanted_gives_a_message(app, cli_env, tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    problems = run_all(cli_env, folder, strings="valid")
    assert not problems, "\n".join(problems)


@on_sqlite
def test_a_locked_database_gives_a_message(app, cli_env, tmp_path):
    """Another process holds SQLite's write lock: commands wait the busy timeout, then say so."""
    file = tmp_path / "input.csv"
    file.write_text("a,b\n1,2\n")
    database = cli_env["CREDX_DATABASE_URL"].removeprefix("sqlite:///")
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        env = {**cli_env, "CREDX_SQLITE_BUSY_TIMEOUT_SECONDS": "0.05"}
        outputs: list[str] = []
        problems = run_all(env, file, strings="valid", skip=frozenset(LONG_RUNNING),
                           outputs=outputs)  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not problems, "\n".join(problems)
    busy = [output for output in outputs if "the database is busy" in output]
    assert len(busy) >= 5  # the commands that write did meet the lock, and said so


def test_the_error_printer_never_reads_a_message_as_markup(cli_env):
    ran = credx("tokens", "revoke", "abc[/]", env=cli_env, check=1)
    assert "abc[/]" in ran.stderr and "Traceback" not in ran.stderr
