"""The demo's attainment report: Louisiana by credential, as the public would see it."""

from __future__ import annotations

from credx.app import App
from eventlog.log import cli_actor
from kernel.database import session_scope
from reports.attainment import ReportRequest, attainment_report
from reports.exports import table_bytes, write_out
from reports.pathways import default_path, pathways_for

PATHWAYS = ("state: LA\npathways:\n  IT-NET: [COMPT001, COMPT004, MICRO001]\n"
            "  HLTH-CNA: [OSHAE001]\n  CONST-CRFT: [NCCER001, NCCER007, NCCER027]\n")  # fmt: skip


def show_report(app: App, say) -> dict:
    """Write LA's 2025-26 report by credential (suppressed) and say where to see more."""
    path = default_path(app.settings.home, "LA")
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_text(PATHWAYS, encoding="utf-8")
    request = ReportRequest("LA", "2025-26", by="credential")
    with session_scope(app.engine) as session:
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
            "file": str(out)}  # fmt: skip
