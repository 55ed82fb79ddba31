"""The demo's glance at the operator dashboard: one line of what its panels say."""

from __future__ import annotations

from credx.app import App
from kernel.clock import utcnow
from kernel.database import session_scope
from reports.dashboard import PANELS, Window, panel


def show_dashboard(app: App, say) -> dict:
    """Every state's panels (an admin's view), summed into one line; where to see them."""
    settings = app.settings
    window = Window.from_settings(settings, utcnow())
    with session_scope(app.engine) as session:
        data = {name: panel(session, name, None, window, settings.dashboard_expiry_days)
                for name in PANELS}  # fmt: skip
    nights = data["deliveries"]
    summary = {
        "received": sum(r["received"] for r in nights),
        "late": sum(r["late"] for r in nights),
        "missing": sum(r["missing"] for r in nights),
        "rows_rejected": sum(v["rows_rejected"] for v in data["rejections"]),
        "rows_total": sum(v["rows_total"] for v in data["rejections"]),
        "agreements_expiring": len(data["agreements"]),
        "audit_tasks_open": sum(p["tasks"] - p["final"] for p in data["audits"]),
        "review_pairs_open": sum(b["open_pairs"] for b in data["reviews"]),
    }
    say(f"dashboard (`credx serve`, then /dashboard as an operator; JSON at "
        f"/api/v1/dashboard/PANEL): {summary['received']} deliveries in {window.nights} nights "
        f"({summary['late']} late, {summary['missing']} missing), {summary['rows_rejected']} of "
        f"{summary['rows_total']} rows rejected, {summary['agreements_expiring']} agreement(s) "
        f"expiring within {settings.dashboard_expiry_days} days, "
        f"{summary['audit_tasks_open']} audit task(s) and {summary['review_pairs_open']} review "
        f"pair(s) open")  # fmt: skip
    return summary
