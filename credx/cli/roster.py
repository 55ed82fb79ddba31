"""`credx roster import`, `credx roster list`, `credx roster rejections`"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from credx.cli.common import JsonFlag, app_context, console, print_json
from credx.cli.deliveries import EXIT_REJECTED, ReportFormat
from eventlog.log import EventLog, cli_actor
from exchange import rejections as reports
from kernel.database import session_scope
from rosters.events import RosterEvent
from rosters.imports import import_roster, list_imports, outcome_of, roster_rejections
from schemas.rosters import load_code_sets

app = typer.Typer(no_args_is_help=True)


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="CSV, gzip'd CSV or Parquet")],
    state: Annotated[str, typer.Option("--state", metavar="ST", help="Two-letter state code")],
    year: Annotated[str, typer.Option("--year", metavar="YYYY-YY", help="School year, 2025-26")],
    schools: Annotated[
        Path | None,
        typer.Option("--schools", metavar="FILE", help="School list CSV to load first "
                     "(district_code,school_code,name[,district_name])"),
    ] = None,
    code_sets: Annotated[
        Path | None,
        typer.Option("--code-sets", metavar="FILE", help="TOML code sets (default: the "
                     "CREDX_ROSTER_CODE_SETS setting, else the built-in sets)"),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Import a state's student roster: store it encrypted, validate every row, load the good ones.

    Exit code 3 when no row could be loaded.
    """
    ctx = app_context()
    codes = load_code_sets(code_sets or ctx.settings.roster_code_sets)
    outcome = import_roster(
        ctx, path, state=state, school_year=year, actor=cli_actor(), codes=codes, schools=schools
    )
    if json_output:
        print_json(outcome.as_json())
    else:
        console.print(
            f"{path.name}: roster import {outcome.import_id} [bold]{outcome.status}[/]: "
            f"{outcome.rows_loaded} of {outcome.rows_total} students loaded, "
            f"{outcome.rows_rejected} rejected"
        )
        if outcome.error:
            console.print(f"  reason: {outcome.error}")
        if outcome.columns_ignored:
            console.print(f"  columns not loaded: {', '.join(outcome.columns_ignored)}")
        if outcome.rows_rejected or outcome.error:
            console.print(
                f"  error report: credx roster rejections {outcome.import_id} --format csv"
            )
    if outcome.status == "rejected":
        sys.exit(EXIT_REJECTED)


@app.command("list")
def list_(
    state: Annotated[str | None, typer.Option("--state", metavar="ST")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    json_output: JsonFlag = False,
) -> None:
    """Roster imports, newest first (counts only, never students)."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        data = [
            {**outcome_of(r).as_json(), "file": r.original_name, "imported_at": r.imported_at}
            for r in list_imports(session, state, limit)
        ]
    if json_output:
        print_json(data)
        return
    table = Table("id", "state", "year", "file", "imported (UTC)", "status", "rows", "loaded",
                  "rejected")  # fmt: skip
    for r in data:
        table.add_row(
            str(r["import_id"]), r["state"], r["school_year"], r["file"],
            f"{r['imported_at']:%Y-%m-%d %H:%M}", r["status"], str(r["rows_total"]),
            str(r["rows_loaded"]), str(r["rows_rejected"]),
        )  # fmt: skip
    console.print(table)


@app.command("rejections")
def rejections(
    import_id: Annotated[int, typer.Argument(metavar="IMPORT")],
    fmt: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.csv,
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout")] = None,
) -> None:
    """Per-row error report of a roster import: import_id,row_number,column,value,reason."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        rows = roster_rejections(session, import_id)
        EventLog(session).record(
            RosterEvent.ROSTER_REJECTIONS_EXPORTED, f"roster:{import_id}", cli_actor(),
            rows=len(rows), destination=str(out) if out else "stdout",
        )  # fmt: skip
    write = reports.write_csv if fmt == ReportFormat.csv else reports.write_json
    if out:
        with open(out, "w", encoding="utf-8", newline="") as stream:
            write(rows, stream, key="import_id")
    else:
        write(rows, sys.stdout, key="import_id")
