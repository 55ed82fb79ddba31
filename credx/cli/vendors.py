"""`credx vendors ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from agreements.events import AgreementEvent
from agreements.vendors import add_vendor, list_vendors
from credx.cli.common import JsonFlag, app_context, console, print_json
from eventlog.log import EventLog, cli_actor
from kernel.database import session_scope

app = typer.Typer(no_args_is_help=True)


@app.command("add")
def add(
    vendor_id: Annotated[str, typer.Argument(metavar="ID", help="Short slug, e.g. nccer")],
    name: Annotated[str, typer.Option("--name", help="The vendor's display name")],
    json_output: JsonFlag = False,
) -> None:
    """Register a credentialing vendor."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        vendor = add_vendor(session, vendor_id=vendor_id, name=name)
        EventLog(session).record(
            AgreementEvent.VENDOR_CREATED, f"vendor:{vendor.id}", cli_actor(), name=name
        )
        result = {"id": vendor.id, "name": vendor.name}
    if json_output:
        print_json(result)
    else:
        console.print(f"vendor {result['id']} registered ({result['name']})")


@app.command("list")
def list_(json_output: JsonFlag = False) -> None:
    """List registered vendors."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        rows: list[dict[str, Any]] = [
            {"id": v.id, "name": v.name, "created_at": v.created_at} for v in list_vendors(session)
        ]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "name", "registered")
    for row in rows:
        table.add_row(row["id"], row["name"], f"{row['created_at']:%Y-%m-%d}")
    console.print(table)
