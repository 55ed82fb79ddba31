"""`credx jobs ...`: the worker's queue, for an operator: list, and retry."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from credx.cli.common import JsonFlag, app_context, console, print_json
from eventlog.log import cli_actor
from exchange.jobs import list_jobs, retry, state_of
from kernel.database import session_scope

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(
    failed: Annotated[
        bool, typer.Option("--failed", help="Only jobs whose last attempt failed")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    json_output: JsonFlag = False,
) -> None:
    """Jobs newest first: pending, running, retrying (with backoff), done or failed."""
    with session_scope(app_context().engine) as session:
        jobs = list_jobs(session, failed=failed, limit=limit)
    if json_output:
        print_json([
            {"id": j.id, "key": j.key, "kind": j.kind, "target": j.target, "state": state_of(j),
             "attempts": j.attempts, "run_after": j.run_after, "claimed_by": j.claimed_by,
             "finished_at": j.finished_at, "error": j.error}
            for j in jobs
        ])  # fmt: skip
        return
    table = Table("id", "key", "state", "attempts", "run after (UTC)", "error")
    for j in jobs:
        table.add_row(
            str(j.id), escape(j.key), state_of(j), str(j.attempts),
            f"{j.run_after:%Y-%m-%d %H:%M}", escape((j.error or "")[:120]),
        )  # fmt: skip
    console.print(table)


@app.command("retry")
def retry_(job_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Run a failed or retrying job again now, with a fresh count of attempts."""
    with session_scope(app_context().engine) as session:
        job = retry(session, job_id, cli_actor())
        key = job.key
    console.print(f"job {job_id} ({escape(key)}) will run again at the worker's next poll")
