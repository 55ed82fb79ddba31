"""The record linker's review queue: a page for operators and `/api/v1/link/review`.

Routes only translate HTTP to `linkage.review.ReviewDesk`; `access.policy`
decides who sees which state's pairs.  Showing a pair shows student data, so
every listing is an event (the desk records it); a decision becomes a
must-link or cannot-link constraint the next `credx link run` honours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from access.sessions import csrf_ok
from kernel.errors import CredxError
from linkage.review import FLAGGED, NOTE_MAX, Decision, ReviewDesk, decision_of
from web.auth import AppDep, Caller, WebUser, web_user
from web.db import web_session
from web.pages import render, to_sign_in
from web.paging import Listing, Page, paging

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
# a pair's reason in words (the filter and each pair's heading); an unlisted one reads as
# its code with spaces
REASON_WORDS = {
    "uncertain": "uncertain match", "id_conflict": "state student ids conflict",
    "two_state_ids": "two state student ids in one person", "cluster_size": "too many records",
    "cannot_link": "a reviewer said different people", "two_persons": "would join two people",
    "first_name_differs": "first names differ", "birth_date_differs": "birth dates differ",
}  # fmt: skip
NOTICES = {"same": "Recorded: same person.", "different": "Recorded: different people."}


class DecisionIn(BaseModel):
    decision: Literal["same", "different"]
    note: str | None = Field(default=None, max_length=NOTE_MAX)


class PairOut(BaseModel):
    """An open pair: how likely the two records are one student, and both in full."""

    pair_id: int
    state: str
    match_probability: float
    match_weight: float
    reason: str = Field(description="`uncertain`, or why the pair was flagged")
    left: dict[str, Any] = Field(description="one record's fields, `record_id` first")
    right: dict[str, Any]


@api.get("", response_model=list[PairOut], summary="List open pairs to review")
def open_pairs(
    caller: Caller, app: AppDep, request: Request, response: Response,
    page: Annotated[Page, paging(50, 500)],
) -> list[dict]:  # fmt: skip
    """Open pairs of the caller's state, most likely matches first, both records in full
    (a view of student data: logged)."""
    with web_session(app) as session:
        items = ReviewDesk(session, caller).open_pairs(page.fetch, page.offset)
        return [item.as_dict() for item in page.serve(items, request, response)]


@api.post("/{pair_id}", response_model=Decision, summary="Decide an open pair")
def decide_pair(pair_id: PairId, body: DecisionIn, caller: Caller, app: AppDep) -> dict:
    """Decide one open pair: `same` (must-link) or `different` (cannot-link), with a note;
    the next `credx link run` honours it."""
    with web_session(app) as session:
        constraint = ReviewDesk(session, caller).decide(pair_id, body.decision, body.note)
        return decision_of(pair_id, constraint).as_json()


REVIEW_PAGE = 20  # pairs per page: each is a table of both records


@dataclass(frozen=True)
class PairsShown(Listing):
    """The review page's reason filter and page, as its address carries them."""

    reason: str = ""


def _page(request: Request, app, user: WebUser, shown: PairsShown, **context) -> Response:
    page = shown.at(REVIEW_PAGE)
    with web_session(app) as session:
        desk = ReviewDesk(session, user.principal)
        reasons = desk.open_reasons()
        items, more = page.cut(desk.open_pairs(page.fetch, page.offset, shown.reason or None))
    return render(
        request,
        "review.html",
        user=user,
        items=items,
        more=more,
        shown=shown,
        reasons=reasons,
        flagged=FLAGGED,
        reason_words=lambda code: REASON_WORDS.get(code, code.replace("_", " ")),
        fields=SIDE_BY_SIDE,
        identifying=IDENTIFYING,
        **context,
    )


@pages.get("/review")
def review_page(
    request: Request, app: AppDep, notice: str | None = None,
    reason: Annotated[str, Query(max_length=40, pattern="^[a-z_]*$")] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:  # fmt: skip
    user = web_user(request)
    if user is None:
        return to_sign_in()
    try:
        return _page(request, app, user, PairsShown(page, reason),
                     notice=NOTICES.get(notice or ""))  # fmt: skip
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
