"""`credx notifications ...`: the outbox, the contacts list and opt-outs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from credx.cli.common import JsonFlag, app_context, console, print_json
from kernel.database import session_scope
from notifications.catalogue import CATALOGUE
from notifications.contacts import list_contacts, load_contacts, set_opt_out
from notifications.models import OutboxStatus
from notifications.outbox import list_messages, retry

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(
    status: Annotated[OutboxStatus | None, typer.Option("--status", help="Only this one")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    json_output: JsonFlag = False,
) -> None:
    """Notifications, newest first: kind, channel, recipient, status, attempts, last error."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        rows = [view.as_json() for view in list_messages(session, status=status, limit=limit)]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "kind", "channel", "recipient", "status", "attempts", "last error")
    for row in rows:
        table.add_row(row["id"], row["kind"], row["channel"], row["recipient"], row["status"],
                      str(row["attempts"]), row["last_error"] or "")  # fmt: skip
    console.print(table)


@app.command("retry")
def retry_command(
    notification: Annotated[str | None, typer.Argument(help="One dead notification's id")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Every dead notification")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Send dead notifications again (the worker picks them up at once)."""
    if not notification and not all_dead:
        raise typer.BadParameter("name a notification id, or pass --all")
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        count = retry(session, None if all_dead else notification)
    if json_output:
        print_json({"retried": count})
    else:
        console.print(f"{count} notification(s) queued again")


@app.command("contacts")
def contacts(
    csv_file: Annotated[Path | None, typer.Argument(help="CSV: state,district,role,name,email; "
                                                    "replaces the list of its states")] = None,
    state: Annotated[str | None, typer.Option("--state", help="List only this state")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Load (with a file) or show the district coordinators and state auditors to notify."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        if csv_file is not None:
            data: object = load_contacts(session, csv_file).as_json()
        else:
            data = list_contacts(session, state)
    if json_output:
        print_json(data)
    elif isinstance(data, dict):
        console.print(f"{data['contacts']} contact(s) for {', '.join(data['states'])}")
    else:
        for row in data:  # type: ignore[attr-defined]
            console.print(f"{row['state']} {row['district'] or '-'} {row['role']} {row['email']}")


@app.command("opt-out")
def opt_out(
    email: Annotated[str, typer.Argument(help="The address")],
    kind: Annotated[str, typer.Argument(help="A kind that is not mandatory")],
    undo: Annotated[bool, typer.Option("--undo", help="Opt back in")] = False,
) -> None:
    """Stop (or with --undo resume) one kind of message to one address."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        set_opt_out(session, email, kind, opted_out=not undo)
    console.print(f"{email}: {kind} {'resumed' if undo else 'stopped'}")


@app.command("kinds")
def kinds(json_output: JsonFlag = False) -> None:
    """The catalogue: each kind, its trigger, who is told, and whether it is mandatory."""
    rows: list[dict] = [{"kind": k.name, "trigger": k.trigger, "recipients": list(k.audiences),
                         "mandatory": k.mandatory, "description": k.description}
                        for k in CATALOGUE]  # fmt: skip
    if json_output:
        print_json(rows)
        return
    for row in rows:
        console.print(f"{row['kind']:20} {row['trigger']:26} {','.join(row['recipients']):14} "
                      f"{'mandatory' if row['mandatory'] else 'optional'}")  # fmt: skip
