"""`credx results` (a recorded release of student-level results) and `credx disclosures`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from access.scope import Scope, scoped_session
from agreements.disclosures import Release, disclosures_of_student
from credx.cli.common import JsonFlag, app_context, console, print_json
from eventlog.log import cli_actor
from exchange.releases import RELEASED_COLUMNS, release_results
from kernel import csvfile
from kernel.database import session_scope


def results(
    state: Annotated[
        list[str], typer.Option("--state", help="State(s) whose students to release; repeatable")
    ],
    recipient: Annotated[str, typer.Option(help="Who receives the data (person and organisation)")],
    purpose: Annotated[str, typer.Option(help="Why, under the agreement's stated purpose")],
    credential: Annotated[str | None, typer.Option(help="Only this credential code")] = None,
    out: Annotated[Path | None, typer.Option(help="Write CSV here instead of stdout")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Release student-level exam results of the given states as a recorded disclosure.

    Every release is recorded (FERPA 34 CFR 99.32); rows of other states are never included.
    """
    ctx = app_context()
    scope = Scope.for_states(state, cli_actor())
    with scoped_session(ctx.engine, scope) as session, session.begin():
        rows = release_results(
            session, scope, Release(recipient, purpose, f"exam results for {','.join(state)}"),
            credential=credential, actor=cli_actor(),
        )  # fmt: skip
    if json_output:
        print_json(rows)
        return
    stream = open(out, "w", encoding="utf-8", newline="") if out else sys.stdout  # noqa: SIM115
    try:
        writer = csvfile.writer(stream)
        writer.writerow(RELEASED_COLUMNS)
        writer.writerows(row.values() for row in rows)
    finally:
        if out:
            stream.close()


def disclosures(
    student: Annotated[str, typer.Option(help="State student id, or VENDOR:CANDIDATE_ID")],
    json_output: JsonFlag = False,
) -> None:
    """Every recorded disclosure that named this student."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        rows: list[dict[str, Any]] = [
            {"id": d.id, "occurred_at": d.occurred_at, "recipient": d.recipient,
             "agreement_id": d.agreement_id, "purpose": d.purpose, "what": d.what,
             "data_elements": d.data_elements.split(","), "event_seq": d.event_seq}
            for d in disclosures_of_student(session, student)
        ]  # fmt: skip
    if json_output:
        print_json(rows)
        return
    table = Table("id", "when (UTC)", "recipient", "agreement", "purpose", "what")
    for r in rows:
        table.add_row(
            str(r["id"]), f"{r['occurred_at']:%Y-%m-%d %H:%M}", r["recipient"],
            r["agreement_id"] or "", r["purpose"], r["what"],
        )  # fmt: skip
    console.print(table)
