"""`credx agreements ...` (apply, list, show, history)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from agreements.standing import (
    Standing,
    agreement_history,
    list_agreements,
    record_expiry_warnings,
    standing_of,
)
from agreements.store import get_agreement
from credx.cli import retention
from credx.cli.common import JsonFlag, app_context, console, print_json
from eventlog.log import cli_actor
from kernel.clock import as_utc, today
from kernel.database import session_scope

app = typer.Typer(no_args_is_help=True)

AgreementId = Annotated[str, typer.Argument(metavar="ID", help="The agreement's id")]


def _summary(standing: Standing) -> dict[str, Any]:
    agreement, terms = standing.agreement, standing.terms
    return {
        "id": agreement.id,
        "title": agreement.title,
        "vendor": agreement.vendor_id,
        "states": list(terms.states),
        "effective_from": agreement.effective_from.isoformat(),
        "effective_to": agreement.effective_to.isoformat(),
        "version": agreement.version,
        "is_template": agreement.is_template,
        "template": agreement.template_id,
        "status": str(standing.status),
        "expiring_soon": standing.expiring_soon,
    }


@app.command("apply")
def apply(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="The agreement's YAML document")],
    json_output: JsonFlag = False,
) -> None:
    """Check an agreement document and store it; a changed document becomes a new version."""
    from agreements.documents import apply_file  # pandas and pandera: only `apply` needs them

    ctx = app_context()
    with session_scope(ctx.engine) as session:
        stored = apply_file(session, path, cli_actor())
    adoptions = [{"id": a.agreement_id, "version": a.version, "changes": a.changes}
                 for a in stored.adoptions]  # fmt: skip
    result = {"id": stored.agreement_id, "version": stored.version, "changed": stored.changed,
              "adoptions": adoptions}  # fmt: skip
    if json_output:
        print_json(result)
        return
    if stored.changed:
        console.print(f"agreement {stored.agreement_id} applied as version {stored.version}")
    else:
        console.print(f"agreement {stored.agreement_id} unchanged (version {stored.version})")
    for reached in stored.adoptions:
        console.print(f"  adoption {reached.agreement_id} now version {reached.version}:")
        for field, (before, after) in reached.changes.items():
            console.print(f"    {field}: {before} -> {after}", markup=False)


@app.command("list")
def list_(json_output: JsonFlag = False) -> None:
    """List agreements and templates; flags those in force that end within 60 days."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        standings = list_agreements(session, today())
        record_expiry_warnings(session, standings, cli_actor())
        rows = [_summary(s) for s in standings]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "vendor", "states", "from", "to", "version", "status")
    for row in rows:
        status = row["status"] + (" (ending soon)" if row["expiring_soon"] else "")
        states = ",".join(row["states"])
        dates = (row["effective_from"], row["effective_to"])
        table.add_row(row["id"], row["vendor"], states, *dates, str(row["version"]), status)
    console.print(table)


@app.command("show")
def show(agreement_id: AgreementId, json_output: JsonFlag = False) -> None:
    """Show an agreement's resolved terms (a template merged with the state's overrides)."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        standing = standing_of(get_agreement(session, agreement_id), today())
    result = {
        **standing.terms.model_dump(mode="json"),
        "version": standing.agreement.version,
        "status": str(standing.status),
        "expiring_soon": standing.expiring_soon,
    }
    if json_output:
        print_json(result)
        return
    for key, value in result.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        console.print(f"{key}: {shown}", markup=False)


@app.command("history")
def history(agreement_id: AgreementId, json_output: JsonFlag = False) -> None:
    """Every version of an agreement: when and by whom it was applied, and its SHA-256."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        rows: list[dict[str, Any]] = [
            {
                "version": v.version,
                "applied_at": as_utc(v.applied_at).isoformat(),
                "applied_by": v.applied_by,
                "sha256": v.document_sha256,
            }
            for v in agreement_history(session, agreement_id)
        ]
    if json_output:
        print_json(rows)
        return
    table = Table("version", "applied at", "applied by", "document sha256")
    for row in rows:
        applied_at = row["applied_at"][:16].replace("T", " ")
        table.add_row(str(row["version"]), applied_at, row["applied_by"], row["sha256"])
    console.print(table)


# Destruction when an agreement ends, and its certificates, are agreement commands too.
app.command("purge")(retention.purge)
app.command("verify-certificate")(retention.verify)
app.command("signing-key")(retention.signing_key)
