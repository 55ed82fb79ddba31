"""`credx log ...`"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import col, select

from audit.events import EventLog
from audit.models import Event
from credx.cli.common import JsonFlag, app_context, console, err_console, print_json
from credx.database import session_scope

app = typer.Typer(no_args_is_help=True)


@app.command("verify")
def verify(json_output: JsonFlag = False) -> None:
    """Recompute the hash chain; exit 4 naming the first bad entry if anything was changed."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        checked, problem = EventLog(session).verify()
    result = {
        "ok": problem is None,
        "entries": checked,
        "first_bad_seq": problem.seq if problem else None,
        "problem": problem.problem if problem else None,
    }
    if json_output:
        print_json(result)
    elif problem is None:
        console.print(f"event log intact: {checked} entries verified")
    else:
        err_console.print(
            f"[bold red]event log broken[/] at entry {problem.seq}: {problem.problem}"
        )
    if problem is not None:
        sys.exit(4)


@app.command("show")
def show(
    subject: Annotated[
        str | None, typer.Option(help="Only entries about this subject, e.g. delivery:3")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    json_output: JsonFlag = False,
) -> None:
    """Show the latest entries of the event log."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        query = select(Event).order_by(col(Event.seq).desc()).limit(limit)
        if subject:
            query = query.where(Event.subject == subject)
        rows = [e.model_dump() for e in session.exec(query)][::-1]
    if json_output:
        print_json([{**r, "payload": json.loads(r["payload"])} for r in rows])
        return
    table = Table("seq", "when (UTC)", "actor", "action", "subject", "details")
    for r in rows:
        table.add_row(
            str(r["seq"]),
            r["occurred_at"][:19],
            r["actor"],
            r["action"],
            r["subject"],
            r["payload"],
        )
    console.print(table)
