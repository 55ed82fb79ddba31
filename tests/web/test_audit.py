"""`/api/v1/audit` and the `/audit` pages through the real ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlmodel import select

from audit.plans.models import AuditTask
from eventlog.models import Event
from kernel.database import session_scope
from tests.audit.plans.auditing import drawn_tasks
from tests.web.factories import bearer, make_token, sign_in

NEXT = "/api/v1/audit/tasks/next"


def tasks(app, tmp_path, per_school: dict[str, int]) -> list[int]:
    with session_scope(app.engine) as session:
        return [task.id for task in drawn_tasks(session, tmp_path, per_school)]


def signed_in(client, secret: str, page: str) -> str:
    """Sign the test client in with a token; the session's CSRF token."""
    sign_in(client, secret)
    text = client.get(page).text
    return re.search(r'(?:data-csrf|name="csrf_token" value)="([^"]+)"', text).group(1)


def test_an_auditor_works_the_queue_through_the_api(client, app, tmp_path):
    ids = tasks(app, tmp_path, {"036001": 2})
    auditor = bearer(make_token(app, "auditor", "LA"))
    task = client.post(NEXT, headers=auditor).json()["task"]
    assert task["id"] == ids[0] and task["stage"] == 1 and task["assigned_to_you"] is True
    assert task["claim"]["credential_code"] == "MICRO001" and task["vendor_records"] == []
    assert client.get(f"/api/v1/audit/tasks/{task['id']}", headers=auditor).status_code == 200
    stale = {"outcome": "verified", "version": task["version"] - 1}
    conflict = client.post(
        f"/api/v1/audit/tasks/{task['id']}/findings", json=stale, headers=auditor
    )
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"
    bad = client.post(
        f"/api/v1/audit/tasks/{task['id']}/findings",
        json={"outcome": "discrepancy", "type": "forged"},
        headers=auditor,
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "type"
    done = client.post(
        f"/api/v1/audit/tasks/{task['id']}/findings",
        json={"outcome": "verified", "version": task["version"]},
        headers=auditor,
    )
    assert done.status_code == 201 and done.json()["task"]["status"] == "final"
    assert client.post(NEXT, headers=auditor).json()["task"]["id"] == ids[1]
    with session_scope(app.engine) as session:
        logged = list(
            session.exec(select(Event.action).where(Event.subject == f"audit_task:{ids[0]}"))
        )
    assert logged.count("audit:finding:refused") == 2  # the stale version and the bad type


def test_tenants_roles_and_holders_are_refused(client, app, tmp_path):
    ids = tasks(app, tmp_path, {"036001": 2})
    first = bearer(make_token(app, "auditor", "LA"))
    client.post(NEXT, headers=first)
    texan = bearer(make_token(app, "auditor", "TX"))
    assert client.get(f"/api/v1/audit/tasks/{ids[0]}", headers=texan).status_code == 404
    assert client.post(NEXT, headers=texan).json() == {"task": None}
    other = bearer(make_token(app, "auditor", "LA"))
    taken = client.post(
        f"/api/v1/audit/tasks/{ids[0]}/findings", json={"outcome": "verified"}, headers=other
    )
    assert taken.status_code == 403 and "not assigned to you" in taken.json()["error"]["message"]
    district = bearer(make_token(app, "district", "LA", "036"))
    assert client.post(NEXT, headers=district).status_code == 403
    assert client.post(NEXT).status_code == 401


def test_the_page_session_needs_its_csrf_token_and_scripts_only_from_self(client, app, tmp_path):
    tasks(app, tmp_path, {"036001": 1})
    csrf = signed_in(client, make_token(app, "auditor", "LA"), "/audit")
    page = client.get("/audit")
    assert '<script src="/static/audit.js"' in page.text and "<kbd>V</kbd>" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert "script-src" not in client.get("/").headers["content-security-policy"]  # only /audit
    assert client.post(NEXT).status_code == 403  # the cookie alone is not enough
    assert client.post(NEXT, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post(NEXT, headers={"X-CSRF-Token": csrf}).json()["task"] is not None
    assert client.get("/static/audit.js").status_code == 200


def finalise_discrepancy(client, app, task_id: int) -> None:
    first, second = (bearer(make_token(app, "auditor", "LA")) for _ in range(2))
    assert client.post(NEXT, headers=first).json()["task"]["id"] == task_id
    finding = {"outcome": "discrepancy", "type": "missing", "note": "no certificate in the file"}
    client.post(f"/api/v1/audit/tasks/{task_id}/findings", json=finding, headers=first)
    assert client.post(NEXT, headers=second).json()["task"]["stage"] == 2
    confirm = client.post(
        f"/api/v1/audit/tasks/{task_id}/findings", json={"outcome": "discrepancy"}, headers=second
    )
    assert confirm.json()["finding"]["decision"] == "confirmed"


def test_a_district_answers_a_final_finding_once_through_the_api(client, app, tmp_path):
    [task_id] = tasks(app, tmp_path, {"036001": 1})
    finalise_discrepancy(client, app, task_id)
    district = bearer(make_token(app, "district", "LA", "036"))
    [shown] = client.get("/api/v1/audit/findings", headers=district).json()
    assert shown["type"] == "missing" and shown["may_respond"] is True
    neighbour = bearer(make_token(app, "district", "LA", "037"))
    assert client.get(f"/api/v1/audit/findings/{task_id}", headers=neighbour).status_code == 404
    url = f"/api/v1/audit/findings/{task_id}/response"
    first = client.post(url, json={"explanation": "Reissued by the vendor."}, headers=district)
    assert first.status_code == 201 and first.json()["kind"] == "explanation"
    huge = client.post(url, json={"explanation": "x" * 100_000}, headers=district)
    assert huge.status_code == 413
    again = client.post(url, json={"explanation": "Again."}, headers=district)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_answered"
    with session_scope(app.engine) as session:
        logged = session.exec(select(Event.action).where(Event.subject == f"audit_task:{task_id}"))
        assert {"audit:response:recorded", "audit:response:refused"} <= set(logged)


def test_a_district_answers_on_its_findings_page(client, app, tmp_path):
    [task_id] = tasks(app, tmp_path, {"036001": 1})
    finalise_discrepancy(client, app, task_id)
    csrf = signed_in(client, make_token(app, "district", "LA", "036"), "/audit/findings")
    page = client.get("/audit/findings")
    assert "missing" in page.text and f"/audit/findings/{task_id}/response" in page.text
    url = f"/audit/findings/{task_id}/response"
    forged = client.post(
        url, data={"csrf_token": "forged", "explanation": "x"}, files={"file": ("", b"")}
    )
    assert forged.status_code == 403
    sent = client.post(
        url,
        data={"csrf_token": csrf, "explanation": "Vendor letter attached."},
        files={"file": ("", b"")},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("notice=answered")
    assert "Your answer" in client.get("/audit/findings").text
    with session_scope(app.engine) as session:
        assert session.get(AuditTask, task_id).status == "re_review"  # an auditor looks again
