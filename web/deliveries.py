"""`/api/v1/deliveries` and the `/deliveries` page: vendors see their own files' outcomes,
operators the ledger of their state's vendors.

The same services as `credx deliveries list|show`; `access.policy` decides scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlmodel import Session

from access.policy import Permission, check_delivery, delivery_vendor_scope, may, require
from access.principals import Principal, Role
from exchange.models import Delivery, DeliveryStatus
from kernel.errors import CredxError, NotFound
from reports.dashboard import vendors_of_state
from web.auth import AppDep, Caller, WebUser, web_user
from web.db import web_session
from web.names import Names
from web.pages import render, to_sign_in
from web.paging import Day, Listing, PageDep

# `_lazy_ingest`: exchange.deliveries imports the ingest pipeline (pandas, pyarrow,
# pandera: ~80 MB resident); a web process loads it on its first deliveries request,
# not at start, so processes serving only uploads stay small.
router = APIRouter(prefix="/api/v1/deliveries", tags=["deliveries"])
pages = APIRouter(include_in_schema=False)
MAX_ID = 2**31 - 1  # PostgreSQL integer: a larger id is simply not found, never a 500


class DeliveryOut(BaseModel):
    delivery_id: int
    vendor: str
    file: str
    received_at: str
    size: int
    sha256: str
    status: str
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    error: str | None
    duplicate_of: int | None


def state_vendors(session: Session, principal: Principal) -> frozenset[str] | None:
    """The vendors whose deliveries a state's operator sees: those with an agreement covering
    its state (None: no state limit, for a vendor, who sees only its own, or a national
    operator or admin, who see all)."""
    if principal.role is Role.VENDOR or principal.state is None:
        return None
    return frozenset(vendors_of_state(session, principal.state))


def visible_delivery(session: Session, principal: Principal, delivery_id: int) -> Delivery:
    """The delivery, if it is in the caller's scope; outside it, `NotFound` as if it did
    not exist (the API's `show` and the dashboard's reason page)."""
    from exchange.deliveries import get_delivery  # see `_lazy_ingest`

    delivery = get_delivery(session, delivery_id)
    check_delivery(principal, vendor_id=delivery.vendor_id)
    vendors = state_vendors(session, principal)
    if vendors is not None and delivery.vendor_id not in vendors:
        raise NotFound("no such delivery")
    return delivery


def _out(delivery: Delivery) -> DeliveryOut:
    from exchange.ingest import outcome_of

    outcome = outcome_of(delivery)
    return DeliveryOut(
        delivery_id=delivery.id, vendor=delivery.vendor_id, file=delivery.original_name,
        received_at=delivery.received_at.isoformat(), size=delivery.size, sha256=delivery.sha256,
        status=outcome.status, rows_total=outcome.rows_total, rows_loaded=outcome.rows_loaded,
        rows_rejected=outcome.rows_rejected, error=outcome.error,
        duplicate_of=outcome.duplicate_of,
    )  # fmt: skip


@router.get("", response_model=list[DeliveryOut], summary="List deliveries")
def list_(
    caller: Caller,
    request_app: AppDep,
    request: Request,
    response: Response,
    page: PageDep,
    vendor: Annotated[str | None, Query(max_length=64)] = None,
    status: DeliveryStatus | None = None,
) -> list[DeliveryOut]:
    """Vendor files received, newest first, with their outcome and row counts.  A vendor
    token sees only its own; an operator its state's vendors."""
    from exchange.deliveries import DeliveryFilter, list_deliveries  # see `_lazy_ingest`

    scoped = delivery_vendor_scope(caller, vendor)
    with web_session(request_app) as session:
        where = DeliveryFilter(scoped, status, page.fetch, page.offset,
                               vendor_ids=state_vendors(session, caller))  # fmt: skip
        rows = page.serve(list_deliveries(session, where), request, response)
        return [_out(d) for d in rows]


@router.get("/{delivery_id}", response_model=DeliveryOut, summary="Show one delivery")
def show(
    delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    caller: Caller,
    request_app: AppDep,
) -> DeliveryOut:
    """One delivery's outcome: status, sha256, row counts and the error that stopped it
    (404 for one outside the caller's scope, as for one that does not exist: another
    vendor's, or for a state's operator one from a vendor with no agreement in its state)."""
    require(caller, Permission.DELIVERY_READ)
    with web_session(request_app) as session:
        return _out(visible_delivery(session, caller, delivery_id))


# -- the page ---------------------------------------------------------------------------

DELIVERIES_PAGE = 50
STATUS_WORDS = {
    "received": "received, not yet loaded", "loaded": "loaded", "partially_loaded":
    "partly loaded (some rows rejected)", "rejected": "rejected", "duplicate":
    "duplicate of an earlier file", "quarantined": "held: no agreement in force",
}  # fmt: skip


@dataclass(frozen=True)
class DeliveriesShown(Listing):
    """The deliveries page's filters and page, as its address carries them."""

    vendor: str = ""
    status: str = ""
    since: date | None = None
    until: date | None = None


def deliveries_shown(
    vendor: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(pattern="^(|" + "|".join(DeliveryStatus) + ")$")] = "",
    since: Day = None,
    until: Day = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> DeliveriesShown:
    return DeliveriesShown(page, vendor.strip(), status, since, until)


def deliveries_context(app, user: WebUser, shown: DeliveriesShown) -> dict:
    """The page's rows in the caller's scope: a vendor its own files, a state's operator
    its state's vendors' files, an admin every file."""
    from exchange.deliveries import DeliveryFilter, list_deliveries  # see `_lazy_ingest`

    principal, page = user.principal, shown.at(DELIVERIES_PAGE)
    vendor = delivery_vendor_scope(principal, shown.vendor or None)
    with web_session(app) as session:
        among = state_vendors(session, principal)
        status = DeliveryStatus(shown.status) if shown.status else None
        where = DeliveryFilter(vendor, status, page.fetch, page.offset, vendor_ids=among,
                               since=shown.since, until=shown.until)  # fmt: skip
        rows, more = page.cut([_out(d) for d in list_deliveries(session, where)])
        vendors = Names(session, principal.state).vendors(
            among if principal.vendor_id is None else {principal.vendor_id})
    return {"rows": rows, "more": more, "shown": shown, "vendors": vendors,
            "statuses": STATUS_WORDS, "may_open": may(principal, Permission.DASHBOARD_READ)}


@pages.get("/deliveries", response_class=HTMLResponse)
def deliveries_page(
    request: Request, app: AppDep, shown: Annotated[DeliveriesShown, Depends(deliveries_shown)]
) -> Response:
    """Vendor files received, newest first: filter by vendor, status and day; pages of 50."""
    user = web_user(request)
    if user is None:
        return to_sign_in()
    try:
        context = deliveries_context(app, user, shown)
    except CredxError as exc:
        return render(request, "error.html", exc.http_status, user=user, error=str(exc))
    return render(request, "deliveries.html", user=user, **context)
