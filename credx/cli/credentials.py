"""`credx credentials ...`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from credx.cli.common import JsonFlag, app_context, console, print_json
from eventlog.log import EventLog, cli_actor
from kernel.database import session_scope
from schemas.credentials import list_credentials, load_registry_file
from schemas.events import CredentialEvent

app = typer.Typer(no_args_is_help=True)


@app.command("load")
def load(
    path: Annotated[
        Path, typer.Argument(metavar="FILE.csv", help="CSV with columns code,agency,name")
    ],
    json_output: JsonFlag = False,
) -> None:
    """Add or update credential codes from a CSV file (the whole file or nothing)."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        result = load_registry_file(session, path)
        EventLog(session).record(
            CredentialEvent.CREDENTIALS_LOADED, "registry:credentials", cli_actor(),
            file=path.name, added=result.added, updated=result.updated,
        )  # fmt: skip
    summary = {"added": result.added, "updated": result.updated, "unchanged": result.unchanged}
    if json_output:
        print_json(summary)
    else:
        console.print(
            f"{result.added} added, {result.updated} updated, {result.unchanged} unchanged"
        )


@app.command("list")
def list_(json_output: JsonFlag = False) -> None:
    """List the credential codes credx accepts."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        rows = [
            {"code": c.code, "agency": c.agency, "name": c.name} for c in list_credentials(session)
        ]
    if json_output:
        print_json(rows)
        return
    table = Table("code", "agency", "name")
    for row in rows:
        table.add_row(row["code"], row["agency"], row["name"])
    console.print(table)
