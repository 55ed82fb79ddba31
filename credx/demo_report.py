"""The demo's attainment report: Louisiana by credential, as the public would see it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from audit.events import cli_actor
from credx.app import App
from credx.database import session_scope
from exchange.models import ExamResult
from linkage.models import LinkRun, PersonRecord
from reports.attainment import ReportRequest, attainment_report
from reports.exports import table_bytes, write_out
from reports.pathways import default_path, pathways_for
from rosters.models import RosterStudent

PATHWAYS = ("state: LA\npathways:\n  IT-NET: [COMPT001, COMPT004, MICRO001]\n"
            "  HLTH-CNA: [OSHAE001]\n  CONST-CRFT: [NCCER001, NCCER007, NCCER027]\n")  # fmt: skip


def show_report(app: App, say) -> dict:
    """Write LA's 2025-26 report by credential (suppressed) and say where to see more."""
    path = default_path(app.settings.home, "LA")
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_text(PATHWAYS, encoding="utf-8")
    request = ReportRequest("LA", "2025-26", by="credential")
    with session_scope(app.engine) as session:
        bridged = _link_roster_rows(session)
        report = attainment_report(
            session, request, pathways_for(session, app.settings.home, "LA"), cli_actor()
        )
    out = app.settings.reports_dir / "attainment-LA-2025-26.csv"
    write_out(table_bytes(report.table, "csv"), out)
    say(f"attainment LA 2025-26 by credential: {len(report.table)} rows, "
        f"{report.suppressed_cells} small cells suppressed, written to {out} "
        f"(pathway map {path}); web: /reports/attainment; try: credx report attainment "
        "--state LA --year 2025-26 --by school,credential --format csv")  # fmt: skip
    return {"rows": len(report.table), "suppressed_cells": report.suppressed_cells,
            "file": str(out), "roster_rows_linked_by_demo": bridged}  # fmt: skip


def _link_roster_rows(session: Session) -> int:
    """Demo stand-in while the linker takes only exam results: a roster row the linker has
    not linked joins the person of an exam result with the same state student id.  Rows the
    linker did link are left alone, so this does nothing once it links roster rows itself."""
    run = session.exec(
        select(LinkRun).where(LinkRun.state == "LA").order_by(col(LinkRun.id).desc())
    ).first()
    if run is None:
        return 0
    linked = set(session.exec(select(PersonRecord.source_key).where(
        PersonRecord.source_type == "roster", PersonRecord.state == "LA")).all())  # fmt: skip
    exams = {f"{r.delivery_id}:{r.row_number}": r.state_student_id
             for r in session.exec(select(ExamResult).where(ExamResult.state == "LA"))}  # fmt: skip
    by_student = {}
    for record in session.exec(select(PersonRecord).where(PersonRecord.source_type == "exam",
                                                          PersonRecord.state == "LA")):  # fmt: skip
        if exams.get(record.source_key):
            by_student[exams[record.source_key]] = record.person_id
    added = 0
    for row in session.exec(select(RosterStudent).where(RosterStudent.state == "LA")):
        key = f"{row.import_id}:{row.row_number}"
        person = by_student.get(row.state_student_id)
        if key not in linked and person:
            session.add(PersonRecord(source_type="roster", source_key=key, person_id=person,
                                     state="LA", run_id=run.id))  # fmt: skip
            added += 1
    session.flush()
    return added
