"""`credx version` (and `credx --version`): the installed distribution's version."""

from __future__ import annotations

from importlib.metadata import version as distribution_version

from credx.cli.common import JsonFlag, console, print_json


def installed_version() -> str:
    """The version pip installed (pyproject.toml's, as recorded in the distribution)."""
    return distribution_version("credx")


def version(json_output: JsonFlag = False) -> None:
    """Print the installed credx version."""
    if json_output:
        print_json({"version": installed_version()})
    else:
        console.print(f"credx {installed_version()}")
