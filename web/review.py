"""The record linker's review queue: a page for operators and `/api/v1/link/review`.

Routes only translate HTTP to `linkage.review.ReviewDesk`; `access.policy`
decides who sees which state's pairs.  Showing a pair shows student data, so
every listing is an event (the desk records it); a decision becomes a
must-link or cannot-link constraint the next `credx link run` honours.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from access.sessions import csrf_ok
from kernel.errors import CredxError
from linkage.review import NOTE_MAX, Decision, ReviewDesk, decision_of
from web.auth import AppDep, Caller, WebUser, web_user
from web.db import web_session
from web.pages import render, to_sign_in

api = APIRouter(prefix="/api/v1/link/review", tags=["linkage"])
pages = APIRouter(include_in_schema=False)
PairId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # an INTEGER column on PostgreSQL
# the rows of the side-by-side table: (label, record field)
SIDE_BY_SIDE = (
    ("record", "record_id"),
    ("source", "source"),
    ("source person id", "source_person_id"),
    ("name as written", "full_name"),
    ("first name", "first_name"),
    ("middle name", "middle_name"),
    ("last name", "last_name"),
    ("birth date", "birth_date"),
    ("state student id", "state_student_id"),
    ("district", "district_code"),
    ("school", "school_code"),
    ("credential", "credential_code"),
    ("school year", "school_year"),
)
# the fields that say who a student is: a difference there is marked (a source or a
# credential always differs between a vendor's record and a district's)
IDENTIFYING = frozenset(
    {"first_name", "middle_name", "last_name", "birth_date", "state_student_id",
     "district_code", "school_code"}
)  # fmt: skip
NOTICES = {"same": "Recorded: same person.", "different": "Recorded: different people."}


class DecisionIn(BaseModel):
    decision: Literal["same", "different"]
    note: str | None = Field(default=None, max_length=NOTE_MAX)


@api.get("")
def open_pairs(
    caller: Caller, app: AppDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict]:
    """Open pairs of the caller's state, most likely matches first, both records in full."""
    with web_session(app) as session:
        return [item.as_dict() for item in ReviewDesk(session, caller).open_pairs(limit)]


@api.post("/{pair_id}", response_model=Decision)
def decide_pair(pair_id: PairId, body: DecisionIn, caller: Caller, app: AppDep) -> dict:
    """Decide one open pair: `same` (must-link) or `different` (cannot-link), with a note."""
    with web_session(app) as session:
        constraint = ReviewDesk(session, caller).decide(pair_id, body.decision, body.note)
        return decision_of(pair_id, constraint).as_json()


def _page(request: Request, app, user: WebUser, status: int = 200, **context) -> Response:
    with web_session(app) as session:
        items = ReviewDesk(session, user.principal).open_pairs()
    return render(
        request,
        "review.html",
        status,
        user=user,
        uncertain=[i for i in items if i.reason == "uncertain"],
        flagged=[i for i in items if i.reason != "uncertain"],
        fields=SIDE_BY_SIDE,
        identifying=IDENTIFYING,
        **context,
    )


@pages.get("/review")
def review_page(request: Request, app: AppDep, notice: str | None = None) -> Response:
    user = web_user(request)
    if user is None:
        return to_sign_in()
    try:
        return _page(request, app, user, notice=NOTICES.get(notice or ""))
    except CredxError as exc:
        return render(request, "error.html", exc.http_status, user=user, error=str(exc))


@pages.post("/review/{pair_id}")
def review_decide(
    pair_id: PairId,
    request: Request,
    app: AppDep,
    decision: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    user = web_user(request)
    if user is None:
        return to_sign_in()
    if not csrf_ok(user.session, csrf_token):
        return render(request, "error.html", 403, user=user,
                      error="The form expired; reload the page and try again.")  # fmt: skip
    try:
        with web_session(app) as session:
            ReviewDesk(session, user.principal).decide(pair_id, decision, note)
    except CredxError as exc:
        return render(request, "error.html", exc.http_status, user=user, error=str(exc))
    return RedirectResponse(f"/review?notice={decision}", status_code=303)
