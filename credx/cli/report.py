"""`credx report priorities apply|list`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from audit.events import cli_actor
from credx.cli.common import JsonFlag, app_context, console, print_json
from credx.database import session_scope
from reports.priorities import apply_priorities, list_priorities

app = typer.Typer(no_args_is_help=True)
priorities = typer.Typer(no_args_is_help=True)
app.add_typer(priorities, name="priorities", help="States' priority credential lists.")


@priorities.command("apply")
def apply(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="Priority list (YAML)")],
    json_output: JsonFlag = False,
) -> None:
    """Replace a state's priority list for a school year with the document's."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        applied = apply_priorities(session, path, cli_actor())
    data = {"state": applied.state, "school_year": applied.school_year,
            "credentials": len(applied.entries), "sha256": applied.sha256}  # fmt: skip
    if json_output:
        print_json(data)
    else:
        console.print(
            f"{applied.state} {applied.school_year}: {len(applied.entries)} priority credentials"
        )


@priorities.command("list")
def list_(
    state: Annotated[str | None, typer.Option("--state", metavar="ST")] = None,
    year: Annotated[str | None, typer.Option("--year", metavar="YYYY-YY")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Priority credentials with their tier and weight."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        data = [
            {"state": p.state, "school_year": p.school_year, "credential_code": p.credential_code,
             "tier": p.tier, "weight": p.weight}
            for p in list_priorities(session, state, year)
        ]  # fmt: skip
    if json_output:
        print_json(data)
        return
    table = Table("state", "year", "credential", "tier", "weight")
    for p in data:
        table.add_row(p["state"], p["school_year"], p["credential_code"], p["tier"],
                      f"{p['weight']:g}")  # fmt: skip
    console.print(table)
