"""`credx connectors ...`: apply, list, test, run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from credx.cli.common import JsonFlag, app_context, console, err_console, print_json
from eventlog.log import cli_actor
from exchange.pulls import (
    PulledItem,
    apply_connector,
    list_connectors,
    missing_today,
    pull,
    record_missing_files,
)
from kernel.clock import utcnow
from kernel.database import session_scope
from kernel.errors import InvalidInput

app = typer.Typer(no_args_is_help=True)


@app.command("apply")
def apply(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="Connector YAML document")],
    json_output: JsonFlag = False,
) -> None:
    """Load a connector document; the same document again changes nothing."""
    if not path.is_file():
        raise InvalidInput(f"{path} is not a readable file")
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        applied = apply_connector(session, path.read_text(encoding="utf-8"), path.name, cli_actor())
    result = {"name": applied.name, "version": applied.version, "changed": applied.changed}
    if json_output:
        print_json(result)
    else:
        state = "applied" if applied.changed else "unchanged"
        console.print(f"connector {applied.name} version {applied.version} ({state})")


@app.command("list")
def list_(json_output: JsonFlag = False) -> None:
    """Connectors with their vendor, kind and last pull; flags a nightly file that has not
    come by the connector's `expect_by` time (and records that alert in the event log)."""
    ctx = app_context()
    now = utcnow()
    with session_scope(ctx.engine) as session:
        record_missing_files(session, now, cli_actor())
        rows: list[dict[str, Any]] = [
            {"name": c.name, "vendor": c.vendor_id, "kind": c.kind, "version": c.version,
             "last_pull_at": c.last_pull_at, "file_missing": missing_today(session, c, now)}
            for c in list_connectors(session)
        ]  # fmt: skip
    if json_output:
        print_json(rows)
        return
    table = Table("name", "vendor", "kind", "version", "last pull (UTC)", "today's file")
    for r in rows:
        last = f"{r['last_pull_at']:%Y-%m-%d %H:%M}" if r["last_pull_at"] else "never"
        missing = "[bold red]MISSING[/]" if r["file_missing"] else ""
        table.add_row(r["name"], r["vendor"], r["kind"], str(r["version"]), last, missing)
    console.print(table)


def _show(item: PulledItem) -> None:
    outcome = item.outcome or {}
    detail = (
        f" -> delivery {item.delivery_id} {outcome.get('status', '')}" if item.delivery_id else ""
    )
    err_console.print(f"  {item.status:15} {item.name} ({item.size:,} bytes){detail}")


@app.command("test")
def test(
    name: Annotated[str, typer.Argument(metavar="NAME")], json_output: JsonFlag = False
) -> None:
    """Connect, list, and show what would be pulled; pulls nothing."""
    ctx = app_context()
    report = pull(
        ctx, name, actor=cli_actor(), dry_run=True, on_file=None if json_output else _show
    )
    items = [vars(i) for i in report.items]
    if json_output:
        print_json({"connector": name, "reachable": True, "files": items})
    else:
        console.print(f"connector {name}: reachable, {len(items)} ready file(s)")


@app.command("run")
def run(
    name: Annotated[str, typer.Argument(metavar="NAME")], json_output: JsonFlag = False
) -> None:
    """Pull now: every ready file not pulled before is fetched, ingested, then post-actioned."""
    ctx = app_context()
    if json_output:
        report = pull(ctx, name, actor=cli_actor())
        print_json({"connector": name, "files": [vars(i) for i in report.items]})
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               DownloadColumn(), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(f"pulling {escape(name)}", total=None)

        def listed(ready: list) -> None:
            progress.update(task, total=sum(f.size for f in ready))

        def done(item: PulledItem) -> None:
            progress.advance(task, item.size)
            progress.console.print(f"  {item.status:15} {item.name} ({item.size:,} bytes)")

        report = pull(ctx, name, actor=cli_actor(), on_file=done, on_listed=listed)
    pulled = sum(1 for i in report.items if i.status == "pulled")
    console.print(
        f"connector {name}: {pulled} file(s) pulled, {len(report.items) - pulled} already had"
    )
