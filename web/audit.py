"""`/api/v1/audit` and the `/audit` pages: the auditor queue and district responses.

Routes translate HTTP to `AuditQueue` and `ResponseService` calls; who may do
what is decided in `access.policy`.  The API takes a bearer token, or the page
session cookie with the session's CSRF token in an `X-CSRF-Token` header (the
auditor page's script calls the same API, so there is one set of rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError

from access.policy import Permission, may
from access.principals import Principal
from access.sessions import csrf_ok
from audit.plans import results as audit_results
from audit.plans.models import DiscrepancyType
from audit.plans.queue import AuditQueue, Recorded, TaskDetail, TaskView
from audit.plans.responses import DistrictFinding, ResponseService, ResponseView
from exchange.evidence.claims import FIELDS
from exchange.resources import Resources
from kernel.errors import CredxError
from web.auth import AppDep, WebUser, bearer_principal, web_user
from web.db import web_session
from web.errors import ApiError
from web.multipart import ReceivedForm
from web.names import Names
from web.pages import render
from web.paging import Listing, Page, paging
from web.uploads import off_loop, receive, refuse_declared_oversize

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
pages = APIRouter(include_in_schema=False)
TaskId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # the column is a 32-bit integer
MAX_JSON_BYTES = 64 << 10
SHORTCUTS = [(str(number), kind.value) for number, kind in enumerate(DiscrepancyType, 1)]


def audit_caller(request: Request) -> Principal:
    """A bearer token, or the signed-in page's session plus its CSRF header."""
    if request.headers.get("authorization"):
        return bearer_principal(request)
    user = web_user(request)
    if user is None:
        raise ApiError(401, "sign in, or send `Authorization: Bearer <token>`",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    if not csrf_ok(user.session, request.headers.get("x-csrf-token")):
        raise ApiError(403, "the page's CSRF token is missing or stale; reload the page")
    return user.principal


AuditCaller = Annotated[Principal, Depends(audit_caller)]


class FindingIn(BaseModel):
    outcome: str = Field(max_length=20, description="`verified` or `discrepancy`")
    type: str | None = Field(default=None, max_length=40, description="a DiscrepancyType")
    note: str | None = Field(default=None, max_length=4000)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="the version seen")


class ExplanationIn(BaseModel):
    explanation: str = Field(max_length=20_000)


class NextTaskOut(BaseModel):
    task: TaskDetail | None = Field(description="null when the queue is empty")


# -- auditors -----------------------------------------------------------------------


@router.post("/tasks/next", operation_id="audit_next_task", response_model=NextTaskOut,
             response_model_exclude_unset=True, summary="Take the next task")  # fmt: skip
def next_task(caller: AuditCaller, app: AppDep) -> dict:
    """Your unfinished task, else the lowest-ticket waiting one, which becomes yours (a POST:
    it assigns).  `{"task": null}` when the queue is empty.  Viewing it is logged."""
    with web_session(app) as session:
        queue = AuditQueue(session, app, caller)
        task = queue.next_task()
        return {"task": queue.describe(task).as_json() if task is not None else None}


@router.get("/tasks/{task_id}", response_model=TaskDetail, response_model_exclude_unset=True,
            summary="Show one task")  # fmt: skip
def task(task_id: TaskId, caller: AuditCaller, app: AppDep) -> dict:
    """One task of your state: the claim, the vendor's records, the findings so far
    (a view of student data: logged)."""
    with web_session(app) as session:
        return AuditQueue(session, app, caller).view(task_id).as_json()


@router.post("/tasks/{task_id}/findings", status_code=201, response_model=Recorded,
             response_model_exclude_unset=True, summary="Record a finding")  # fmt: skip
def record_finding(
    task_id: TaskId, body: FindingIn, caller: AuditCaller, app: AppDep, response: Response
) -> dict:
    """Record your finding on the task you hold (409 if someone else's came first).
    `Location` names the task, which now shows the finding."""
    with web_session(app) as session:
        queue = AuditQueue(session, app, caller)
        recorded = queue.judge(task_id, body.outcome, body.type, body.note,
                               seen_version=body.version)  # fmt: skip
        response.headers["Location"] = f"{router.prefix}/tasks/{task_id}"
        return recorded.as_json()


@router.post("/tasks/{task_id}/undo", response_model=TaskView, summary="Undo your first look")
def undo(task_id: TaskId, caller: AuditCaller, app: AppDep) -> dict:
    """Take back your first-look finding until you hand the task back (take the next one)
    or a second auditor takes it: the task is yours again, unjudged (409 after that)."""
    with web_session(app) as session:
        return AuditQueue(session, app, caller).undo(task_id).as_json()


@router.post("/tasks/{task_id}/release", response_model=TaskView, summary="Give back a task")
def release(task_id: TaskId, caller: AuditCaller, app: AppDep) -> dict:
    """Give back a task you hold (e.g. a conflict of interest): it returns to the queue."""
    with web_session(app) as session:
        return AuditQueue(session, app, caller).release(task_id).as_json()


# -- districts ------------------------------------------------------------------------


@router.get("/findings", response_model=list[DistrictFinding],
            response_model_exclude_unset=True, summary="List findings on your uploads")  # fmt: skip
def findings(
    caller: AuditCaller, app: AppDep, request: Request, response: Response,
    page: Annotated[Page, paging(100, 1000)],
) -> list[dict]:  # fmt: skip
    """Final findings on your district's uploads, newest first, with the answer deadline."""
    with web_session(app) as session:
        rows = ResponseService(session, app, caller).findings(page.fetch, page.offset)
        return [row.as_json() for row in page.serve(rows, request, response)]


@router.get("/findings/{task_id}", response_model=DistrictFinding,
            response_model_exclude_unset=True, summary="Show one finding")  # fmt: skip
def finding(task_id: TaskId, caller: AuditCaller, app: AppDep) -> dict:
    """One final finding on your district's uploads, with your answer if you gave one."""
    with web_session(app) as session:
        return ResponseService(session, app, caller).finding(task_id).as_json()


@router.post("/findings/{task_id}/response", status_code=201, response_model=ResponseView,
             summary="Answer a finding")  # fmt: skip
async def respond(
    task_id: TaskId, request: Request, response: Response, caller: AuditCaller, app: AppDep
) -> dict:
    """Answer once: JSON `{"explanation"}`, or multipart with `file` (a corrected certificate,
    plus any claim fields to correct) or `explanation`.  `Location` names the finding."""
    response.headers["Location"] = f"{router.prefix}/findings/{task_id}"
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = ExplanationIn.model_validate_json(await small_body(request))
        except ValidationError:
            raise ApiError(422, 'send JSON {"explanation": "..."}', field="explanation") from None
        return await run_in_threadpool(answer, app, caller, task_id, body.explanation, None)
    form = await receive(request, app.settings.upload_max_bytes)
    try:
        return await off_loop(request, lambda: answer(app, caller, task_id, None, form))
    finally:
        form.cleanup()


async def small_body(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    """A JSON body read with a cap (an explanation is text, never megabytes)."""
    refuse_declared_oversize(request, limit)
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise ApiError(413, f"the JSON body is larger than {limit:,} bytes")
    return bytes(received)


def answer(
    app: Resources, caller: Principal, task_id: int, text: str | None, form: ReceivedForm | None
) -> dict:
    """The one answer: a corrected file if the form carries one, else the explanation."""
    upload = form.files.get("file") if form is not None else None
    if upload is not None and upload.size == 0:
        upload = None  # the page's file input left empty: the answer is the explanation
    if form is not None and upload is None:
        text = form.fields.get("explanation", "")
    with web_session(app) as session:  # a refused answer or upload keeps its event
        service = ResponseService(session, app, caller)
        if upload is not None:
            changes = {name: form.fields.get(name, "") for name in FIELDS}  # type: ignore[union-attr]
            return service.correct(task_id, upload.path, upload.filename, changes).as_json()
        return service.explain(task_id, text or "").as_json()


# -- pages ------------------------------------------------------------------------------


def _page(request: Request, name: str, user: WebUser, status: int = 200, **context):
    return render(request, name, status, user=user, **context)


@pages.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request) -> Response:
    """The auditor's queue: the script loads tasks through the API (no full page reloads)."""
    user = web_user(request)
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    if not may(user.principal, Permission.AUDIT_WORK):
        return _page(request, "error.html", user, 403, error="The audit queue is for auditors.")
    return _page(request, "audit.html", user, shortcuts=SHORTCUTS)


FINDINGS_PAGE = 25
SHOWN = {  # the findings page's filter: which findings a district wants to see
    "": lambda row: True,
    "to_answer": lambda row: row["may_respond"],
    "answered": lambda row: row["response"] is not None,
    "discrepancy": lambda row: row["outcome"] == "discrepancy",
    "verified": lambda row: row["outcome"] == "verified",
}


@pages.get("/audit/findings", response_class=HTMLResponse)
def findings_page(
    request: Request, app: AppDep, notice: str | None = None,
    show: Annotated[str, Query(pattern="^(|to_answer|answered|discrepancy|verified)$")] = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:  # fmt: skip
    user = web_user(request)
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _findings(request, app, user, shown=Shown(page, show),
                     notice={"answered": "Your answer is recorded."}.get(notice or ""))  # fmt: skip


@dataclass(frozen=True)
class Shown(Listing):
    """The findings page's filter and page, as its address carries them."""

    show: str = ""


def _findings(
    request: Request, app: Resources, user: WebUser, status: int = 200,
    shown: Shown | None = None, **context,
):  # fmt: skip
    shown = shown or Shown()
    page = shown.at(FINDINGS_PAGE)
    try:
        with web_session(app) as session:
            found = ResponseService(session, app, user.principal).findings()
            matching = [row.as_json() for row in found]
            matching = [row for row in matching if SHOWN[shown.show](row)]
            rows, more = page.cut(matching[page.offset : page.offset + page.fetch])
            names = Names(session, user.principal.state).load(
                schools=[r["school_code"] for r in rows],
                credentials=[r["credential_code"] for r in rows if r["credential_code"]])
    except CredxError as exc:
        return _page(request, "error.html", user, exc.http_status, error=str(exc))
    return _page(request, "audit_findings.html", user, status, rows=rows, fields=FIELDS,
                 names=names, shown=shown, total=len(matching), more=more,
                 **context)  # fmt: skip


@pages.post("/audit/findings/{task_id}/response")
async def respond_page(task_id: TaskId, request: Request, app: AppDep) -> Response:
    user = await run_in_threadpool(web_user, request)
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    try:
        form = await receive(request, app.settings.upload_max_bytes)
    except ApiError as exc:
        return await run_in_threadpool(_findings, request, app, user, exc.http_status,
                                       error=exc.message)  # fmt: skip
    try:
        if not csrf_ok(user.session, form.fields.pop("csrf_token", None)):
            return _page(request, "error.html", user, 403,
                         error="The form expired; reload the page and try again.")  # fmt: skip
        await off_loop(request, lambda: answer(app, user.principal, task_id, None, form))
    except CredxError as exc:
        return await run_in_threadpool(_findings, request, app, user, exc.http_status,
                                       error=str(exc))  # fmt: skip
    finally:
        form.cleanup()
    return RedirectResponse("/audit/findings?notice=answered", status_code=303)


# -- results ------------------------------------------------------------------------------


@pages.get("/audit/results", response_class=HTMLResponse)
def results_page(
    request: Request, app: AppDep, plan: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """A plan's results per school in plain words, with the CSV of what is shown."""
    user = web_user(request)
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    try:
        with web_session(app) as session:
            shown = audit_results.plans_and_results(session, user.principal, plan)
            names = Names(session, user.principal.state).load(
                schools=[row.school_code for row in shown.results.schools] if shown.results else ())
    except CredxError as exc:
        return _page(request, "error.html", user, exc.http_status, error=str(exc))
    return _page(request, "audit_results.html", user, shown=shown, names=names)


@pages.get("/audit/results/{plan_id}.csv")
def results_csv_page(plan_id: Annotated[str, Path(max_length=64)], request: Request,
                     app: AppDep) -> Response:  # fmt: skip
    user = web_user(request)
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    try:
        with web_session(app) as session:
            text = audit_results.results_download(session, user.principal, plan_id)
    except CredxError as exc:
        return _page(request, "error.html", user, exc.http_status, error=str(exc))
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="audit-results-{plan_id}.csv"'})
