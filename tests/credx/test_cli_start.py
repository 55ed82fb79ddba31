"""`credx` starts without importing what its commands need: `credx --help` lists every
command from a table (`credx.cli.COMMANDS`), and a command imports its module when it runs.

Start-up time itself is a benchmark (bench/cli_start.py), not a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest
import typer.main
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from credx.cli import COMMANDS, app
from tests.cli import credx

HEAVY = ("pandas", "splink", "pandera", "duckdb", "httpx", "pyarrow", "fastapi", "boto3",
         "paramiko", "sqlalchemy")  # fmt: skip

# Runs `main(argv)` in a fresh interpreter, then prints the heavy modules and credx.cli.*
# modules it imported as the last line of stdout.
PROBE = f"""
import json, sys
from credx.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
loaded = [m for m in {HEAVY!r} if m in sys.modules]
commands = sorted(m for m in sys.modules if m.startswith("credx.cli."))
print(json.dumps({{"heavy": loaded, "commands": commands}}))
"""


def imported_by(*argv: str) -> dict[str, list[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                            text=True, timeout=120, check=True)  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("argv", [(), ("--help",), ("--version",), ("version", "--json")])
def test_help_and_version_import_no_domain_package(argv):
    loaded = imported_by(*argv)
    assert loaded["heavy"] == []
    assert set(loaded["commands"]) <= {"credx.cli.common", "credx.cli.lazy", "credx.cli.version"}


def test_a_command_imports_its_own_module_only():
    loaded = imported_by("audit", "size", "--confidence", "0.95", "--tolerable", "0.05",
                         "--expected", "0")  # fmt: skip
    assert "credx.cli.audit" in loaded["commands"]
    assert not {"credx.cli.link", "credx.cli.report", "credx.cli.deliveries"} & set(
        loaded["commands"]
    )
    assert not {"pandas", "splink", "httpx", "fastapi"} & set(loaded["heavy"])


def help_text(group, capsys) -> str:
    """`credx --help` as printed (Typer prints rich help itself rather than returning it)."""
    group.get_help(group.context_class(group, info_name="credx"))
    return capsys.readouterr().out


def test_the_table_lists_what_the_loaded_commands_say(capsys):
    listed = help_text(typer.main.get_command(app), capsys)
    loaded = typer.main.get_command(app)
    ctx = loaded.context_class(loaded, info_name="credx")
    for name in loaded.list_commands(ctx):
        assert loaded.get_command(ctx, name).name == name  # imports the module
    assert set(loaded.commands) == set(COMMANDS)
    assert help_text(loaded, capsys) == listed
    assert all(name in listed for name in COMMANDS)


def test_version_is_the_installed_distributions():
    installed = version("credx")
    assert json.loads(credx("version", "--json", env={}).stdout) == {"version": installed}
    assert credx("--version", env={}).stdout == f"credx {installed}\n"
    assert credx("version", env={}).stdout == f"credx {installed}\n"


def test_a_mistyped_command_is_refused_with_a_suggestion():
    refused = credx("vendor", "list", env={}, check=2)
    assert "No such command 'vendor'. Did you mean 'vendors'?" in refused.stderr


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_command_run_in_process_leaves_no_database_connection_open(cli_env, database_url):
    credx("vendors", "add", "nccer", "--name", "NCCER", env=cli_env)
    credx("vendors", "list", env=cli_env)
    admin = create_engine(make_url(database_url).set(database="postgres"))
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name")
    with admin.connect() as connection:
        count = connection.execute(query, {"name": make_url(database_url).database}).scalar()
    admin.dispose()
    assert count == 0
