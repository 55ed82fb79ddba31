"""`/reports/attainment` (page with a chart) and `/api/v1/reports/attainment` (JSON).

Both call `reports.attainment` with the same query parameters as `credx report
attainment`; `access.policy.report_state` decides the state.  Only suppressed
counts leave this module: the student-level export is a CLI disclosure.  The
chart is inline SVG drawn on the server (no script: the pages' CSP forbids
any), one stacked bar per group: its length is how many sat the exam, its dark
part how many passed, so counts and pass rates read without reading numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from access.policy import Forbidden, Permission, may, report_state
from access.principals import Principal
from exchange.resources import Resources
from kernel.errors import CredxError
from web import report_cells
from web.auth import AppDep, Caller, web_user
from web.db import web_session
from web.pages import render, to_sign_in

if TYPE_CHECKING:
    from reports.attainment import AttainmentReport

# `_lazy_reports`: reports.* imports pandas (tens of MB resident); a web process loads it on
# its first report request, not at start, as web.deliveries does for the ingest pipeline.
router = APIRouter(tags=["reports"])
BAR_WIDTH = 360  # px for the longest bar
ROW, SECTION = 22, 30  # px per bar, px above each credential's bars


@dataclass(frozen=True)
class ReportQuery:
    """The query parameters of page and API (the CLI's options)."""

    state: str | None = None
    year: str = ""
    by: str = "school,credential"
    cohort: int | None = None
    basis: str = "verified"
    min_cell: int | None = None  # None or below it: CREDX_SUPPRESSION_THRESHOLD


def report_query(
    state: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
    year: Annotated[str, Query(max_length=7)] = "",
    by: Annotated[str, Query(max_length=200)] = "school,credential",
    cohort: Annotated[str, Query(pattern="^([0-9]{4})?$")] = "",  # the form sends "" for none
    basis: Annotated[str, Query(pattern="^(verified|claimed)$")] = "verified",
    min_cell: Annotated[str, Query(pattern="^([0-9]{1,4})?$")] = "",
) -> ReportQuery:
    return ReportQuery(state, year, by, int(cohort) if cohort else None, basis,
                       int(min_cell) if min_cell else None)  # fmt: skip


QueryDep = Annotated[ReportQuery, Depends(report_query)]


def build(app: Resources, principal: Principal, query: ReportQuery) -> AttainmentReport:
    """The report for this caller (its own state); the run is an event, so a write session."""
    from reports.attainment import ReportRequest, attainment_report  # see `_lazy_reports`
    from reports.pathways import pathways_for

    state = report_state(principal, query.state)
    # The state's threshold is a floor: a caller may raise it, never lower it (a privacy rule)
    threshold = max(query.min_cell or 0, app.settings.suppression_threshold)
    request = ReportRequest(state, query.year, query.by, query.cohort, query.basis,
                            threshold).check()  # fmt: skip
    with web_session(app) as session:
        pathways = pathways_for(session, app.settings.home, state)
        return attainment_report(session, request, pathways, principal.actor)


class AttainmentOut(BaseModel):
    """The suppressed report: one row per group, small cells null (`suppressed_cells`)."""

    state: str
    school_year: str
    cohort: int | None
    graduating_cohort: Any
    basis: str
    min_cell: int
    by: Any = Field(description="the grouping, as asked")
    columns: list[str]
    suppressed_cells: int
    notes: list[str]
    rows: list[dict[str, Any]]


@router.get("/api/v1/reports/attainment", response_model=AttainmentOut,
            summary="Attainment report (suppressed)")  # fmt: skip
def attainment_api(caller: Caller, request_app: AppDep, query: QueryDep) -> dict:
    """Students who sat and passed each credential's exam, by the groups in `by`, with cells
    under the suppression threshold hidden (`credx report attainment --json`'s fields)."""
    return build(request_app, caller, query).as_json()


COMPACT = "credential"  # the page's default: by credential with the state's total


def page_query(request: Request, query: ReportQuery) -> ReportQuery:
    """The page starts compact (by credential); a `by` in the address asks for more."""
    return query if "by" in request.query_params else replace(query, by=COMPACT)


@router.get("/reports/attainment.{fmt}", include_in_schema=False)
def attainment_download(
    fmt: Annotated[str, Path(pattern="^(csv|parquet)$")], request: Request, app: AppDep,
    query: QueryDep,
) -> Response:  # fmt: skip
    """Exactly the table the page shows for the same address, as CSV or Parquet."""
    user = web_user(request)
    if user is None:
        return to_sign_in()
    if not may(user.principal, Permission.REPORT_READ):
        raise Forbidden("attainment reports are for operators, auditors and admins")
    report = build(app, user.principal, page_query(request, query))
    shown = report_cells.shown_rows(report.columns, report.records(), _pathways(report))
    name = f"attainment-{report.request.state}-{report.request.school_year}.{fmt}"
    disposition = {"content-disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(report_cells.as_csv(report.columns, shown), headers=disposition,
                        media_type="text/csv; charset=utf-8")  # fmt: skip
    return Response(report_cells.as_parquet(report.columns, shown), headers=disposition,
                    media_type="application/vnd.apache.parquet")  # fmt: skip


def _pathways(report: AttainmentReport) -> bool:
    return any(row.get("completed_sequence") is not None for row in report.records())


@router.get("/reports/attainment", response_class=HTMLResponse, include_in_schema=False)
def attainment_page(request: Request, app: AppDep, query: QueryDep) -> Response:
    user = web_user(request)
    if user is None:
        return to_sign_in()
    query = page_query(request, query)
    if not may(user.principal, Permission.REPORT_READ):
        refusal = "Attainment reports are for operators, auditors and admins."
        return render(request, "error.html", 403, user=user, error=refusal)
    if not query.year:
        return render(request, "report_attainment.html", user=user, query=query, report=None,
                      threshold=app.settings.suppression_threshold)  # fmt: skip
    try:
        report = build(app, user.principal, query)
    except CredxError as exc:
        return render(request, "report_attainment.html", exc.http_status, user=user,
                      query=query, report=None, error=str(exc),
                      threshold=app.settings.suppression_threshold)  # fmt: skip
    shown = report_cells.shown_rows(report.columns, report.records(), _pathways(report))
    return render(request, "report_attainment.html", user=user, query=query, report=report,
                  rows=shown, chart=chart(report), download=request.url.query,
                  threshold=app.settings.suppression_threshold)  # fmt: skip


@dataclass(frozen=True)
class Bar:
    """One bar of the chart: how many sat and passed (None when suppressed)."""

    section: str
    label: str
    sat: int | None
    passed: int | None
    rate: float | None

    @property
    def description(self) -> str:
        if self.sat is None or self.passed is None:
            return f"{self.label}: suppressed (small numbers)"
        if not self.sat:
            return f"{self.label}: nobody sat the exam"
        return f"{self.label}: {self.passed} of {self.sat} passed ({self.rate:.0%})"


@dataclass(frozen=True)
class Chart:
    """Bars laid out top to bottom: `headings` and `bars` carry their y (px)."""

    headings: list[tuple[int, str]]
    bars: list[tuple[int, Bar]]
    height: int
    scale: float  # px per student

    def width(self, count: int | None) -> float:
        return round((count or 0) * self.scale, 1)


def chart(report: AttainmentReport) -> Chart:
    """Bars grouped by credential (one section when not split by credential); within a
    section a bar per school or subgroup, then "All"."""
    from reports.suppression import TOTAL  # see `_lazy_reports`

    fields = [c for c in report.dimensions if c != "credential"]
    sections: dict[str, list[Bar]] = {}
    for row in report.records():
        section = row.get("credential") or "Any credential"
        section = "All credentials" if section == TOTAL else section
        label = " · ".join(str(row[f]) for f in fields) or "All students"
        label = "All" if fields and all(row[f] == TOTAL for f in fields) else label
        bar = Bar(section, label, row["sat_exam"], row["passed_exam"], row["pass_rate"])
        sections.setdefault(section, []).append(bar)
    largest = max((b.sat or 0 for bars in sections.values() for b in bars), default=0)
    headings, bars, y = [], [], 0
    for section, items in sections.items():
        y += SECTION
        headings.append((y - 8, section))
        for bar in items:
            bars.append((y, bar))
            y += ROW
    return Chart(headings, bars, y + 8, BAR_WIDTH / largest if largest else 0.0)
