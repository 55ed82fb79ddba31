"""The operator dashboard: `/dashboard` (page) and `/api/v1/dashboard/<panel>` (JSON).

Both call `reports.dashboard`; `access.policy.dashboard_state` decides the
state a caller sees (an operator its own, an admin any or all).  Panels are
aggregates: vendors, agreements, plans and counts, never a student.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from access.policy import Permission, dashboard_state, may
from access.principals import Principal
from exchange.resources import Resources
from kernel.clock import utcnow
from kernel.database import session_scope
from kernel.errors import CredxError
from reports.dashboard import PANELS, Window, panel, rejection_reasons
from web.auth import AppDep, Caller, web_user
from web.deliveries import MAX_ID, visible_delivery
from web.pages import render, to_sign_in

router = APIRouter(tags=["dashboard"])
PanelName = Literal["deliveries", "rejections", "agreements", "audits", "reviews"]
StateQuery = Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")]


def panels_for(app: Resources, principal: Principal, state: str | None, names=PANELS) -> dict:
    """The named panels for this caller, in one read-only transaction (not `web_session`'s
    IMMEDIATE one: reading aggregates must not queue behind uploads for SQLite's write lock)."""
    scope = dashboard_state(principal, state)
    window = Window.from_settings(app.settings, utcnow())
    with session_scope(app.engine) as session:
        data = {name: panel(session, name, scope, window, app.settings.dashboard_expiry_days)
                for name in names}  # fmt: skip
    return {"state": scope, "generated_at": window.now.isoformat(),
            "nights": window.nights, **data}  # fmt: skip


class PanelOut(BaseModel):
    """One dashboard panel; only the key named in the path is present."""

    state: str | None = Field(description="the state shown, or null for every state (admin)")
    generated_at: str
    nights: int
    deliveries: list[dict[str, Any]] | None = None
    rejections: list[dict[str, Any]] | None = None
    agreements: list[dict[str, Any]] | None = None
    audits: list[dict[str, Any]] | None = None
    reviews: list[dict[str, Any]] | None = None


@router.get("/api/v1/dashboard/{name}", response_model=PanelOut,
            response_model_exclude_unset=True, summary="Read one dashboard panel")  # fmt: skip
def panel_api(
    name: PanelName, caller: Caller, request_app: AppDep, state: StateQuery = None
) -> dict:
    """One panel as JSON: `{"state", "generated_at", "nights", "<name>": [...]}`.

    An operator gets its own state whatever `state` says; an admin every state,
    or the one named."""
    return panels_for(request_app, caller, state, (name,))


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(request: Request, app: AppDep, state: StateQuery = None) -> Response:
    user = web_user(request)
    if user is None:
        return to_sign_in()
    if not may(user.principal, Permission.DASHBOARD_READ):
        return render(request, "error.html", 403, user=user,
                      error="The dashboard is for operators and admins.")  # fmt: skip
    data = panels_for(app, user.principal, state)
    return render(request, "dashboard.html", user=user, d=data,
                  late_after=app.settings.dashboard_late_after_minutes,
                  horizon=app.settings.dashboard_expiry_days)  # fmt: skip


@router.get("/dashboard/deliveries/{delivery_id}", response_class=HTMLResponse,
            include_in_schema=False)  # fmt: skip
def delivery_report_page(
    delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request, app: AppDep
) -> Response:
    """A delivery's outcome and its rejection reasons counted by column (no values)."""
    user = web_user(request)
    if user is None:
        return to_sign_in()
    try:
        with session_scope(app.engine) as session:
            delivery = visible_delivery(session, user.principal, delivery_id)
            reasons = rejection_reasons(session, delivery_id)
    except CredxError as exc:
        return render(request, "error.html", exc.http_status, user=user, error=str(exc))
    return render(request, "dashboard_delivery.html", user=user, delivery=delivery,
                  reasons=reasons)  # fmt: skip
