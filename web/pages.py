"""Server-rendered pages: sign in with a token, upload, list, review.

No JavaScript.  Every form carries the session's CSRF token (the sign-in form a
double-submit token of its own, since no session exists yet), checked before
anything is done.  Pages call the same services as the API.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from access.policy import Permission, may
from access.sessions import SessionStore, csrf_ok
from exchange.evidence.services import EvidenceService
from kernel.errors import CredxError
from web.agency import ID_TOKEN_COOKIE, logout_url, provider_of
from web.auth import SESSION_COOKIE, AppDep, WebUser, client_address, sign_in, web_user
from web.db import web_session
from web.errors import ApiError
from web.evidence import (
    EvidenceId,
    audited,
    original_response,
    preview_response,
    submit_bulk,
    submit_one,
)
from web.names import Names, state_name
from web.navigation import nav_links
from web.paging import Day, Listing
from web.uploads import off_loop, receive, required_file

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=FilePath(__file__).parent / "templates")
templates.env.globals["nav_links"] = nav_links
templates.env.globals["state_name"] = state_name
SIGN_IN_COOKIE = "credx_sign_in"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"  # uvicorn sets it from X-Forwarded-Proto behind a proxy


def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def to_sign_in() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    csrf = secrets.token_urlsafe(32)
    oidc = getattr(request.app.state, "oidc", None) is not None  # web.oidc: agency sign-in
    response = render(request, "sign_in.html", csrf=csrf, user=None, oidc=oidc)
    response.set_cookie(SIGN_IN_COOKIE, csrf, max_age=3600, path="/sign-in", httponly=True,
                        samesite="strict", secure=_secure(request))  # fmt: skip
    return response


@router.post("/sign-in")
def sign_in_submit(
    request: Request,
    app: AppDep,
    token: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return render(request, "sign_in.html", 403, csrf=expected, user=None,
                      error="The form expired; reload the page and sign in again.")  # fmt: skip
    try:
        api_token = sign_in(app, token, client_address(request), web=True)
    except ApiError as exc:
        return render(request, "sign_in.html", exc.http_status, csrf=expected, user=None,
                      error=exc.message)  # fmt: skip
    with web_session(app) as session:
        store = SessionStore(session)
        store.purge_expired()  # sign-ins are rare enough to tidy up on
        opened = store.open(api_token, hours=app.settings.web_session_hours)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, opened.cookie_value, httponly=True, samesite="strict",
                        secure=_secure(request), path="/")  # fmt: skip
    response.delete_cookie(SIGN_IN_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, app: AppDep, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    user = web_user(request)
    if user is None:
        return to_sign_in()
    if not csrf_ok(user.session, csrf_token):
        return render(request, "error.html", 403, user=user, error="Reload the page and retry.")
    with web_session(app) as session:
        SessionStore(session).close(user.cookie)
    agency = logout_url(request, provider_of(request))  # RP-initiated logout, if offered
    response = RedirectResponse(agency, status_code=303) if agency else to_sign_in()
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(ID_TOKEN_COOKIE, path="/sign-out")
    return response


PAGE_SIZE = 50


@dataclass(frozen=True)
class ListFilters(Listing):
    """The uploads list's search, filters and page, as the address carries them."""

    q: str = ""
    school: str = ""
    credential: str = ""
    flag: str = ""  # "", "flagged" or "clean"
    since: date | None = None
    until: date | None = None

    def service_kwargs(self) -> dict:
        flagged = {"flagged": True, "clean": False}.get(self.flag)
        page = self.at(PAGE_SIZE)
        return {"search": self.q or None, "school_code": self.school or None,
                "credential_code": self.credential or None, "since": self.since,
                "until": self.until, "flagged": flagged,
                "offset": page.offset, "limit": page.fetch}  # fmt: skip


def list_filters(
    q: Annotated[str, Query(max_length=40)] = "",
    school: Annotated[str, Query(max_length=16)] = "",
    credential: Annotated[str, Query(max_length=8)] = "",
    flag: Annotated[str, Query(pattern="^(|flagged|clean)$")] = "",
    since: Day = None,
    until: Day = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> ListFilters:
    return ListFilters(page, q.strip(), school.strip(), credential.strip(), flag, since, until)


def home_context(app, user: WebUser, filters: ListFilters | None = None) -> dict:
    principal = user.principal
    filters = filters or ListFilters()
    rows: list[dict] = []
    more = False
    with web_session(app) as session:
        names = Names(session, principal.state)
        if may(principal, Permission.EVIDENCE_LIST):
            service = EvidenceService(session, app, principal)
            found, more = filters.at(PAGE_SIZE).cut(service.list(**filters.service_kwargs()))
            views = audited(session, [service.describe(row) for row in found])
            rows = [view.as_json() for view in views]
            names.load(schools=[r["school_code"] for r in rows],
                       credentials=[r["credential_code"] for r in rows])  # fmt: skip
        can_upload = may(principal, Permission.EVIDENCE_UPLOAD)
        pickers = {}
        if can_upload:
            pickers = {"schools": names.district_schools(principal.district),
                       "credentials": names.all_credentials()}  # fmt: skip
    return {"user": user, "rows": rows, "can_upload": can_upload, "names": names,
            "filters": filters, "more": more, **pickers}  # fmt: skip


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, app: AppDep, filters: Annotated[ListFilters, Depends(list_filters)],
    notice: str | None = None,
) -> Response:  # fmt: skip
    user = web_user(request)
    if user is None:
        return to_sign_in()
    notices = {"uploaded": "Uploaded. It is listed below."}
    return render(request, "home.html", notice=notices.get(notice or ""),
                  **home_context(app, user, filters))  # fmt: skip


async def _form_post(request: Request, app, limit: int, handle) -> Response:
    """Shared body of the upload forms: session, CSRF, streamed receive, service call."""
    user = await run_in_threadpool(web_user, request)
    if user is None:
        return to_sign_in()
    try:
        form = await receive(request, limit)
    except ApiError as exc:
        context = await run_in_threadpool(home_context, app, user)
        return render(request, "home.html", exc.http_status, error=exc.message, **context)
    try:
        if not csrf_ok(user.session, form.fields.pop("csrf_token", None)):
            return render(request, "error.html", 403, user=user,
                          error="The form expired; reload the page and try again.")  # fmt: skip
        return await off_loop(request, lambda: handle(user, form))
    except CredxError as exc:
        context = await run_in_threadpool(home_context, app, user)
        kept = {k: v for k, v in form.fields.items() if k in FIELD_LABELS}
        label = FIELD_LABELS.get(exc.field or "")
        return render(request, "home.html", exc.http_status, error=_in_words(exc, label),
                      values=kept, field_error=exc.field, **context)  # fmt: skip
    finally:
        form.cleanup()


FIELD_LABELS = {
    "state_student_id": "State student ID", "student_name": "Student name",
    "birth_date": "Birth date", "school_code": "School", "school_year": "School year",
    "graduation_pathway": "Graduation pathway", "credential_code": "Credential",
    "date_earned": "Date earned", "file": "Certificate file",
}  # fmt: skip


def _in_words(exc: CredxError, label: str | None) -> str:
    """The message led by the field's label (as the form names it), the field's own
    name taken out, and a reminder that a file must be chosen again."""
    message = str(exc)
    if exc.field and message.startswith(exc.field):
        message = message[len(exc.field):].lstrip(" :")
    said = f"{label}: {message}" if label else message
    said = said if said.endswith(".") else said + "."
    return said + " Your entries are kept; choose the certificate file again."


@router.post("/uploads")
async def upload_page(request: Request, app: AppDep) -> Response:
    def handle(user: WebUser, form) -> Response:
        received = required_file(form, "file", "certificate file")
        submit_one(app, user.principal, form.fields, received.path, received.filename)
        return RedirectResponse("/?notice=uploaded", status_code=303)

    return await _form_post(request, app, app.settings.upload_max_bytes, handle)


@router.post("/uploads/bulk")
async def bulk_page(request: Request, app: AppDep) -> Response:
    def handle(user: WebUser, form) -> Response:
        archive = required_file(form, "archive", "zip of certificates")
        manifest = required_file(form, "manifest", "manifest CSV")
        report = submit_bulk(app, user.principal, archive.path, manifest.path)
        context = home_context(app, user)
        return render(request, "home.html", bulk=report["lines"], **context)

    return await _form_post(request, app, app.settings.upload_bulk_max_bytes, handle)


@router.get("/evidence/{evidence_id}", response_class=HTMLResponse)
def evidence_page(evidence_id: EvidenceId, request: Request, app: AppDep) -> Response:
    user = web_user(request)
    if user is None:
        return to_sign_in()
    try:
        with web_session(app) as session:
            service = EvidenceService(session, app, user.principal)
            [view] = audited(session, [service.describe(service.get(evidence_id))])
            row = view.as_json()
            names = Names(session, row["state"]).load(
                schools=[row["school_code"]], credentials=[row["credential_code"]],
                people=[row["uploaded_by"]])  # fmt: skip
    except CredxError as exc:
        return render(request, "error.html", exc.http_status, user=user, error=str(exc))
    can_download = may(user.principal, Permission.EVIDENCE_ORIGINAL)
    return render(request, "evidence.html", user=user, row=row, can_download=can_download,
                  names=names)  # fmt: skip


@router.get("/evidence/{evidence_id}/preview")
def evidence_preview_page(evidence_id: EvidenceId, request: Request, app: AppDep) -> Response:
    user = web_user(request)
    if user is None:
        return to_sign_in()
    return preview_response(app, user.principal, evidence_id)


@router.get("/evidence/{evidence_id}/original")
def evidence_original_page(evidence_id: EvidenceId, request: Request, app: AppDep) -> Response:
    user = web_user(request)
    if user is None:
        return to_sign_in()
    return original_response(app, user.principal, evidence_id)
