"""`credx report attainment` and `credx report priorities apply|list`"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from access.scope import Scope, scoped_session
from agreements.disclosures import Release
from credx.cli.common import JsonFlag, app_context, console, err_console, print_json
from eventlog.log import cli_actor
from kernel.database import session_scope
from kernel.errors import InvalidInput
from reports.attainment import AttainmentReport, ReportRequest, attainment_report
from reports.exports import check_format, student_level, table_bytes, write_out
from reports.pathways import pathways_for
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
        data: list[dict[str, Any]] = [
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


@app.command("attainment")
def attainment(
    state: Annotated[str, typer.Option("--state", metavar="ST", help="The state reported on")],
    year: Annotated[str, typer.Option("--year", metavar="YYYY-YY", help="School year (roster)")],
    by: Annotated[
        str,
        typer.Option(
            help="Group by any of credential, school, district, state, gender, "
            "race_ethnicity, economically_disadvantaged, english_learner, disability"
        ),
    ] = "school,credential",
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    out: Annotated[Path | None, typer.Option(help="Write here (default: CSV on stdout)")] = None,
    cohort: Annotated[
        int | None, typer.Option(help="Only this graduating cohort, counting all it earned")
    ] = None,
    basis: Annotated[str, typer.Option(help="graduates_earned counts verified or claimed")] = (
        "verified"
    ),
    min_cell: Annotated[
        int | None,
        typer.Option(help="Hide counts below this, and complements (CREDX_SUPPRESSION_THRESHOLD)"),
    ] = None,
    pathways: Annotated[
        Path | None,
        typer.Option(
            help="Pathway -> credential map (YAML); default $CREDX_HOME/pathways/<STATE>.yaml"
        ),
    ] = None,
    student_level_export: Annotated[
        bool, typer.Option("--student-level", help="Student rows: a recorded disclosure")
    ] = False,
    recipient: Annotated[str | None, typer.Option(help="--student-level: who receives it")] = None,
    purpose: Annotated[str | None, typer.Option(help="--student-level: why")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Attainment with its denominators side by side, small cells suppressed (public), or
    with --student-level the students themselves (a recorded disclosure)."""
    check_format(fmt, out)
    ctx = app_context()
    threshold = min_cell if min_cell is not None else ctx.settings.suppression_threshold
    request = ReportRequest(state, year, by, cohort, basis, threshold).check()
    actor = cli_actor()
    scope = Scope.for_states([request.state], actor)
    with scoped_session(ctx.engine, scope) as session, session.begin():
        found = pathways_for(session, ctx.settings.home, request.state, pathways)
        if student_level_export:
            table = _student_level(session, request, found, (recipient, purpose, out), actor)
        else:
            report = attainment_report(session, request, found, actor)
    if student_level_export:
        _print_student_level(table, fmt, out, json_output)
    else:
        _print_report(report, fmt, out, json_output)


def _student_level(session, request: ReportRequest, found, release_to: tuple, actor: str):
    recipient, purpose, out = release_to
    if not (recipient and purpose and out):
        raise InvalidInput("--student-level needs --recipient, --purpose and --out FILE")
    what = f"attainment of {request.state} {request.school_year} students"
    return student_level(session, request, found, Release(recipient, purpose, what), actor)


def _print_student_level(table, fmt: str, out: Path | None, json_output: bool) -> None:
    assert out is not None  # _student_level refused an export without --out
    write_out(table_bytes(table, fmt), out)
    summary = {"out": str(out), "students": int(table["state_student_id"].nunique()),
               "rows": len(table), "disclosure": "recorded"}  # fmt: skip
    if json_output:
        print_json(summary)
    else:
        console.print(f"{summary['rows']} rows on {summary['students']} students written to "
                      f"{out}; the disclosure is recorded (`credx disclosures`)")  # fmt: skip


def _print_report(report: AttainmentReport, fmt: str, out: Path | None, json_output: bool) -> None:
    data = table_bytes(report.table, fmt)
    if out is not None:
        write_out(data, out)
    if json_output:
        print_json({**report.as_json(), "out": str(out) if out else None})
        return
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        console.print(f"{len(report.table)} rows written to {out} "
                      f"({report.suppressed_cells} cells suppressed)")  # fmt: skip
    for note in report.notes:
        err_console.print(f"note: {note}")
