"""One error shape over HTTP, and one unit of work per request (on SQLite and PostgreSQL).

Every user-facing error answers `{"error": {"code", "message", "field"}}` with the
error's own status, never its CLI hint; a refused request leaves exactly its
refusal event and nothing else.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, func, select

from eventlog.models import Event
from exchange.evidence.events import EvidenceEvent
from exchange.evidence.models import Evidence
from exchange.models import StoredBlob
from kernel.database import session_scope
from kernel.errors import NotFound
from reports.population import Window, gather
from tests.web.factories import bearer, certificate_png, make_token, upload


def committed_events(app) -> list[tuple[int, str, str]]:
    with session_scope(app.engine) as session:
        rows = session.exec(select(Event).order_by(col(Event.seq)))
        return [(row.seq, row.action, row.payload) for row in rows]


def test_an_error_with_a_cli_hint_reaches_the_api_without_it(app, client):
    with pytest.raises(NotFound) as caught, session_scope(app.engine) as session:
        gather(session, Window("LA", "2020-21"))
    assert "`credx roster import" in (caught.value.hint or "")  # the CLI's next step
    operator = bearer(make_token(app, "operator", "LA"))
    response = client.get(
        "/api/v1/reports/attainment", params={"year": "2020-21"}, headers=operator
    )
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": str(caught.value), "field": None}
    }
    assert "hint" not in response.text and "credx " not in response.text


def test_a_refusal_answers_its_own_code_status_and_field(app, client):
    district = make_token(app, "district", "LA", "036")
    response = upload(client, district, certificate_png() + b"<html>")
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("polyglot", "file") and set(error) == {
        "code", "message", "field"
    }  # fmt: skip


def test_a_refused_upload_leaves_exactly_its_refusal_event(app, client):
    """Through the real app: the request's unit of work rolls the upload back and commits
    the `evidence:file:refused` event alone (no evidence row, no blob row, no blob file)."""
    district = make_token(app, "district", "LA", "036")
    before = committed_events(app)
    response = upload(client, district, certificate_png() + b"<html>", student_name="Ann Lee")
    assert response.status_code == 415, response.text
    after = committed_events(app)
    assert after[: len(before)] == before
    new = after[len(before) :]
    assert [action for _seq, action, _payload in new] == [str(EvidenceEvent.EVIDENCE_REFUSED)]
    payload = json.loads(new[0][2])
    assert (payload["code"], payload["field"]) == ("polyglot", "file")
    assert "Ann Lee" not in new[0][2]
    with session_scope(app.engine) as session:
        assert session.exec(select(func.count()).select_from(Evidence)).one() == 0
        assert session.exec(select(func.count()).select_from(StoredBlob)).one() == 0
    assert not [p for p in (app.settings.home / "blobs").rglob("*") if p.is_file()]
