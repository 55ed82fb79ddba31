"""A command group that imports a command's module only when that command runs.

`credx --help` lists every command with its help line from a table of `Lazy`
entries, so it imports no domain package; `credx vendors list` imports
`credx.cli.vendors` (and what that needs) alone.  Anything else that asks the
group for a command by name (running it, `credx vendors --help`, the generated
CLI reference) gets the real one.  `tests/credx/test_cli_start.py` renders the
help from the table and from the loaded commands and compares them, so the
table cannot drift from the commands' own help.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, ClassVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """Where a command lives, `module:attribute` under `credx.cli`, and its help line.

    The attribute is a `typer.Typer` (a group: `help` is the group's help) or a
    function (one command: `help` is the first paragraph of its docstring).
    """

    target: str
    help: str

    def load(self, name: str) -> Any:
        """The command as `app.add_typer` / `app.command` would have registered it."""
        module, attribute = self.target.split(":")
        found = getattr(importlib.import_module(f"credx.cli.{module}"), attribute)
        parent = typer.Typer()
        if isinstance(found, typer.Typer):
            parent.add_typer(found, name=name, help=self.help)
        else:
            parent.command(name)(found)
        return typer.main.get_group(parent).commands[name]


class LazyGroup(TyperGroup):
    """A Typer group whose commands come from `lazy` (set by a subclass), loaded on use."""

    lazy: ClassVar[Mapping[str, Lazy]] = {}
    _listing = False  # True while formatting this group's own help

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        entry = self.lazy[cmd_name]
        if self._listing:  # a name and a help line are all the listing shows
            return TyperCommand(cmd_name, help=entry.help)
        self.commands[cmd_name] = entry.load(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As Typer's, but "Did you mean" draws on every command, not only loaded ones."""
        name = args[0] if args else ""
        known = self.list_commands(ctx)
        if name and name not in known and self.suggest_commands and not ctx.resilient_parsing:
            matches = get_close_matches(name, known)
            if matches:
                ctx.fail(f"No such command {name!r}. Did you mean {', '.join(map(repr, matches))}?")
        return super().resolve_command(ctx, args)
