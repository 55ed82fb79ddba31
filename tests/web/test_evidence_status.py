"""The API's evidence `status` follows the audit, as the pages do (issue 19): the same
`audit.plans.standing` behind both (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlmodel import select

from audit.plans.models import AuditTask
from kernel.database import session_scope
from tests.audit.plans.factories import finish, make_draw, make_plan
from tests.web.factories import bearer, make_token, sign_in, upload


def test_evidence_status_follows_a_confirmed_discrepancy(client, app, tmp_path):
    district, auditor = make_token(app, "district", "LA", "036"), make_token(app, "auditor", "LA")
    evidence_id = upload(client, district).json()["id"]
    before = client.get(f"/api/v1/evidence/{evidence_id}", headers=bearer(auditor)).json()
    assert before["status"] == "received" and "audit_standing" not in before
    with session_scope(app.engine) as session:
        make_plan(session)
        make_draw(session, "la-2025-26", tmp_path / "manifest.csv")
    sampled = client.get(f"/api/v1/evidence/{evidence_id}", headers=bearer(auditor)).json()
    assert sampled["status"] == "sampled"
    with session_scope(app.engine) as session:
        finish(session, session.exec(select(AuditTask)).one(), "discrepancy", "illegible")
    for secret in (district, auditor):
        shown = client.get(f"/api/v1/evidence/{evidence_id}", headers=bearer(secret)).json()
        assert shown["status"] == "discrepancy"
        assert shown["audit_standing"] == "discrepancy confirmed by the state's audit (illegible)"
        [listed] = client.get("/api/v1/evidence", headers=bearer(secret)).json()
        assert listed["status"] == "discrepancy"
    sign_in(client, district)
    page = client.get(f"/evidence/{evidence_id}").text
    assert "Status: discrepancy confirmed by the state&#39;s audit (illegible)" in page
