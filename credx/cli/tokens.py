"""`credx tokens ...`: API tokens for districts, auditors, operators, vendors, admins."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from access.models import ApiToken
from access.principals import Role
from access.tokens import TokenService, TokenSpec, is_active
from credx.cli.common import JsonFlag, app_context, console, err_console, print_json
from eventlog.log import cli_actor
from kernel.database import session_scope

app = typer.Typer(no_args_is_help=True)


def token_json(token: ApiToken) -> dict:
    return {
        "id": token.id,
        "role": token.role,
        "state": token.state,
        "district": token.district,
        "vendor": token.vendor_id,
        "label": token.label,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "last_used_at": token.last_used_at,
        "active": is_active(token),
    }


@app.command("create")
def create(
    role: Annotated[Role, typer.Option("--role", help="What the holder may do")],
    state: Annotated[str | None, typer.Option("--state", help="Tenant state (not admin)")] = None,
    district: Annotated[
        str | None, typer.Option("--district", help="District code (district tokens)")
    ] = None,
    vendor: Annotated[
        str | None, typer.Option("--vendor", help="Vendor id (vendor tokens)")
    ] = None,
    expires_days: Annotated[int, typer.Option("--expires-days", min=1, max=3660)] = 90,
    label: Annotated[str, typer.Option("--label", help="Who holds it, for lists")] = "",
    json_output: JsonFlag = False,
) -> None:
    """Create a token; its secret is printed once and never stored."""
    ctx = app_context()
    spec = TokenSpec(role, state, district, vendor, label, expires_days)
    with session_scope(ctx.engine) as session:
        created = TokenService(session).create(spec, actor=cli_actor())
        data = {**token_json(created.token), "token": created.secret}
    if json_output:
        print_json(data)
        return
    console.print(data["token"])
    err_console.print(
        f"token {data['id']} ({role}, expires {data['expires_at']:%Y-%m-%d}): "
        "copy the secret above now, it is not shown again"
    )


@app.command("list")
def list_(json_output: JsonFlag = False) -> None:
    """List tokens (never their secrets)."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        rows = [token_json(token) for token in TokenService(session).list()]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "role", "tenant", "label", "expires", "last used", "state")
    for row in rows:
        tenant = "/".join(x for x in (row["state"], row["district"], row["vendor"]) if x) or "all"
        used = f"{row['last_used_at']:%Y-%m-%d %H:%M}" if row["last_used_at"] else "never"
        status = "revoked" if row["revoked_at"] else ("active" if row["active"] else "expired")
        table.add_row(row["id"], row["role"], tenant, row["label"],
                      f"{row['expires_at']:%Y-%m-%d}", used, status)  # fmt: skip
    console.print(table)


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID")], json_output: JsonFlag = False
) -> None:
    """Revoke a token at once; web sessions signed in with it end too."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        data = token_json(TokenService(session).revoke(token_id, actor=cli_actor()))
    if json_output:
        print_json(data)
    else:
        console.print(f"token {token_id} revoked")
