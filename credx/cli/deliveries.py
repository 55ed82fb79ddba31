"""`credx ingest`, `credx sweep`, `credx rejections`, `credx deliveries ...`"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agreements.mapping import ColumnMapping, load_mapping
from credx.cli.common import JsonFlag, app_context, console, print_json, row_progress
from eventlog.log import EventLog, cli_actor
from exchange import rejections as reports
from exchange.deliveries import (
    DeliveryFilter,
    get_delivery,
    ingest_file,
    list_deliveries,
    rejections_of,
    retry_delivery,
    sweep,
)
from exchange.events import ExchangeEvent
from exchange.ingest import IngestOutcome, outcome_of
from exchange.models import DeliveryStatus
from exchange.sources import LocalDropFolder
from kernel.database import session_scope
from kernel.errors import InvalidInput

app = typer.Typer(no_args_is_help=True)
EXIT_REJECTED = 3

MappingOption = Annotated[
    Path | None,
    typer.Option("--mapping", metavar="FILE", help="TOML column mapping for this vendor's headers"),
]


def _mapping(path: Path | None) -> ColumnMapping | None:
    return load_mapping(path) if path else None


def _print_outcome(outcome: IngestOutcome, label: str) -> None:
    console.print(
        f"{label}: delivery {outcome.delivery_id} [bold]{outcome.status}[/]: "
        f"{outcome.rows_loaded} of {outcome.rows_total} rows loaded, "
        f"{outcome.rows_rejected} rejected"
    )
    if outcome.error:
        console.print(f"  reason: {outcome.error}")
    if outcome.duplicate_of:
        console.print(f"  same content as delivery {outcome.duplicate_of}; nothing loaded twice")
    if outcome.columns_ignored:
        console.print(f"  columns not loaded: {', '.join(outcome.columns_ignored)}")
    if outcome.columns_dropped:
        dropped = ", ".join(outcome.columns_dropped)
        console.print(f"  not permitted by the agreement, not stored: {dropped}")
    if outcome.agreements:
        console.print(f"  taken in under: {', '.join(outcome.agreements)}")
    if outcome.rows_superseded or outcome.rows_unchanged or outcome.rows_retracted:
        console.print(
            f"  corrections: {outcome.rows_superseded:,} superseded, {outcome.rows_unchanged:,} "
            f"unchanged, {outcome.rows_retracted:,} retracted"
        )
    if outcome.rows_rejected or outcome.error:
        console.print(f"  error report: credx rejections {outcome.delivery_id} --format csv")


def ingest(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="CSV, gzip'd CSV or Parquet")],
    vendor: Annotated[str, typer.Option("--vendor", metavar="ID", help="Registered vendor id")],
    mapping: MappingOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Ingest one vendor file: store it encrypted, validate every row, load the good ones.

    Exit code 3 when the delivery as a whole was rejected or quarantined.
    """
    if not path.is_file():
        raise InvalidInput(f"{path} is not a readable file")
    ctx = app_context()
    with row_progress(f"ingesting {path.name}", quiet=json_output) as progress:
        outcome = ingest_file(
            ctx, path, vendor, actor=cli_actor(), mapping=_mapping(mapping), progress=progress
        )
    if json_output:
        print_json(outcome.as_json())
    else:
        _print_outcome(outcome, path.name)
    if outcome.status in (DeliveryStatus.REJECTED, DeliveryStatus.QUARANTINED):
        sys.exit(EXIT_REJECTED)


def sweep_command(
    vendor: Annotated[
        str, typer.Option("--vendor", metavar="ID", help="Vendor the files come from")
    ],
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Drop folder (default: CREDX_HOME/drop/VENDOR)"),
    ] = None,
    mapping: MappingOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Ingest every settled file in a vendor's drop folder, then delete the plaintext copies."""
    ctx = app_context()
    folder = directory or ctx.settings.home / "drop" / vendor
    source = LocalDropFolder(folder, ctx.settings.drop_settle_seconds)
    swept = sweep(ctx, source, vendor, actor=cli_actor(), mapping=_mapping(mapping))
    if json_output:
        print_json([{"file": s.name, **s.outcome.as_json()} for s in swept])
        return
    if not swept:
        console.print(f"nothing ready in {folder}")
    for item in swept:
        _print_outcome(item.outcome, item.name)


class ReportFormat(StrEnum):
    csv = "csv"
    json = "json"


def rejections(
    delivery_id: Annotated[int, typer.Argument(metavar="DELIVERY")],
    fmt: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.csv,
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout")] = None,
) -> None:
    """Per-row error report of a delivery: row number, column, value as received, reason."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        rows = rejections_of(session, delivery_id)
        EventLog(session).record(
            ExchangeEvent.REJECTIONS_EXPORTED, f"delivery:{delivery_id}", cli_actor(),
            rows=len(rows), destination=str(out) if out else "stdout",
        )  # fmt: skip
    write = reports.write_csv if fmt == ReportFormat.csv else reports.write_json
    if out:
        with open(out, "w", encoding="utf-8", newline="") as stream:
            write(rows, stream)
    else:
        write(rows, sys.stdout)


@app.command("list")
def list_(
    vendor: Annotated[str | None, typer.Option("--vendor")] = None,
    status: Annotated[DeliveryStatus | None, typer.Option("--status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    json_output: JsonFlag = False,
) -> None:
    """List recent deliveries, newest first."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        rows = list_deliveries(session, DeliveryFilter(vendor, status, limit))
        data = [
            {**outcome_of(d).as_json(), "vendor": d.vendor_id, "file": d.original_name,
             "received_at": d.received_at, "size": d.size}
            for d in rows
        ]  # fmt: skip
    if json_output:
        print_json(data)
        return
    table = Table("id", "vendor", "file", "received (UTC)", "status", "rows", "loaded", "rejected")
    for d in data:
        table.add_row(
            str(d["delivery_id"]), d["vendor"], d["file"], f"{d['received_at']:%Y-%m-%d %H:%M}",
            d["status"], str(d["rows_total"]), str(d["rows_loaded"]), str(d["rows_rejected"]),
        )  # fmt: skip
    console.print(table)


@app.command("show")
def show(
    delivery_id: Annotated[int, typer.Argument(metavar="ID")], json_output: JsonFlag = False
) -> None:
    """Show one delivery."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        d = get_delivery(session, delivery_id)
        data = {**outcome_of(d).as_json(), "vendor": d.vendor_id, "file": d.original_name,
                "source": d.source, "received_at": d.received_at, "size": d.size,
                "summary": d.summary}  # fmt: skip
    if json_output:
        print_json(data)
    else:
        for key, value in data.items():
            console.print(f"{key:16} {value}")


@app.command("retry")
def retry(
    delivery_id: Annotated[int, typer.Argument(metavar="ID")], json_output: JsonFlag = False
) -> None:
    """Process a quarantined, rejected or failed delivery again from its stored original,
    once the cause is fixed; it is counted and logged as a new delivery."""
    ctx = app_context()
    outcome = retry_delivery(ctx, delivery_id, actor=cli_actor())
    if json_output:
        print_json({"retried": delivery_id, **outcome.as_json()})
    else:
        console.print(f"delivery {delivery_id} processed again as delivery {outcome.delivery_id}")
        _print_outcome(outcome, f"delivery {delivery_id}")
    if outcome.status in (DeliveryStatus.REJECTED, DeliveryStatus.QUARANTINED):
        sys.exit(EXIT_REJECTED)
