"""What every CLI command shares: settings, the app, output in text or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape

if TYPE_CHECKING:
    from credx.app import App

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]

class SafeConsole(Console):
    """A console whose markup cannot be broken by a value: a line whose interpolated text
    (a file name, a label, an id an operator typed: `abc[/]`) is not valid rich markup is
    printed as plain text instead of raising."""

    def print(self, *objects: Any, **options: Any) -> None:
        try:
            super().print(*objects, **options)
        except MarkupError:
            super().print(*objects, **{**options, "markup": False})


console = SafeConsole(highlight=False, soft_wrap=True)
err_console = SafeConsole(stderr=True, highlight=False, soft_wrap=True)


# Apps the running command opened; `credx.cli.CredxGroup` closes them when it ends.
_opened: list[App] = []


def app_context() -> App:
    """The installation this command works on; refuses one that is not initialised."""
    # imported here: `credx --help` and `credx version` need no database, blobs or keys
    from credx.app import open_app
    from kernel.settings import load_settings

    return command_app(open_app(load_settings()))


def command_app(app: App) -> App:
    """`app`, closed (its database connections too) when the command ends."""
    _opened.append(app)
    return app


def close_apps() -> None:
    while _opened:
        _opened.pop().close()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


@contextmanager
def row_progress(label: str, *, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A live "N rows processed" line on stderr for long work (silent when not a terminal)."""
    if quiet or not err_console.is_terminal:
        yield lambda _rows: None
        return
    with err_console.status(f"{escape(label)}: storing and checking the file") as status:
        yield lambda rows: status.update(f"{escape(label)}: {rows:,} rows validated and loaded")
