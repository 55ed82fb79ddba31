"""The linker's review queue over HTTP: operators of one state, CSRF, constraints, events.

Runs on SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

from sqlmodel import col, select

from eventlog.models import Event
from eventlog.tags import EventTag
from kernel.database import session_scope
from linkage.events import LinkageEvent
from linkage.models import LinkConstraint, ReviewPair
from tests.web.factories import CSRF, bearer, make_token, sign_in
from tests.web.review_pairs import la_and_tn_pairs


def events(app, action: EventTag) -> list[Event]:
    with session_scope(app.engine) as session:
        query = select(Event).where(Event.action == str(action)).order_by(col(Event.seq))
        return list(session.exec(query))


def constraints(app) -> list[tuple[str, str, str]]:
    with session_scope(app.engine) as session:
        rows = session.exec(select(LinkConstraint)).all()
        return [(c.kind, c.record_l, c.record_r) for c in rows]


def test_api_lists_own_state_pairs_and_decides_one(client, app, tmp_path):
    la, _tn = la_and_tn_pairs(app, tmp_path)
    operator = make_token(app, "operator", "LA")
    listed = client.get("/api/v1/link/review", headers=bearer(operator))
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["pair_id"] == la and item["state"] == "LA"
    assert item["left"]["full_name"] == "Emma Ngyuen" and item["left"]["source_type"] == "evidence"
    assert (item["right"]["first_name"], item["right"]["last_name"]) == ("Emma", "Nguyen")
    [viewed] = events(app, LinkageEvent.REVIEW_VIEWED)
    assert viewed.actor.startswith("token:") and "Nguyen" not in viewed.payload
    decided = client.post(f"/api/v1/link/review/{la}", headers=bearer(operator),
                          json={"decision": "same", "note": "typo in the upload"})  # fmt: skip
    assert decided.status_code == 200, decided.text
    assert decided.json()["constraint"] == "must_link" and decided.json()["pair_id"] == la
    [(kind, left, right)] = constraints(app)
    assert kind == "must_link" and {left, right} == {item["left"]["record_id"],
                                                     item["right"]["record_id"]}  # fmt: skip
    with session_scope(app.engine) as session:
        pair = session.get(ReviewPair, la)
        assert (pair.status, pair.decision, pair.note) == ("decided", "same", "typo in the upload")
    assert events(app, LinkageEvent.REVIEW_DECIDED)[0].actor == viewed.actor
    again = client.post(f"/api/v1/link/review/{la}", headers=bearer(operator),
                        json={"decision": "different"})  # fmt: skip
    assert again.status_code == 422 and "already decided" in again.json()["error"]["message"]
    assert client.get("/api/v1/link/review", headers=bearer(operator)).json() == []


def test_another_states_pair_answers_like_a_missing_one(client, app, tmp_path):
    _la, tn = la_and_tn_pairs(app, tmp_path)
    operator = make_token(app, "operator", "LA")
    foreign = client.post(f"/api/v1/link/review/{tn}", headers=bearer(operator),
                          json={"decision": "same"})  # fmt: skip
    missing = client.post("/api/v1/link/review/999999", headers=bearer(operator),
                          json={"decision": "same"})  # fmt: skip
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"]["message"].replace(str(tn), "N") == missing.json()["error"][
        "message"
    ].replace("999999", "N")
    assert constraints(app) == []
    tn_operator = make_token(app, "operator", "TN")
    [tn_item] = client.get("/api/v1/link/review", headers=bearer(tn_operator)).json()
    assert tn_item["pair_id"] == tn and tn_item["reason"] == "two_state_ids"
    admin = make_token(app, "admin")
    assert len(client.get("/api/v1/link/review", headers=bearer(admin)).json()) == 2


def test_only_operators_and_admins_review_and_bad_decisions_are_refused(client, app, tmp_path):
    la, _tn = la_and_tn_pairs(app, tmp_path)
    for role, district in (("district", "036"), ("auditor", None), ("vendor", None)):
        secret = make_token(app, role, "LA", district, vendor="nccer" if role == "vendor" else None)
        assert client.get("/api/v1/link/review", headers=bearer(secret)).status_code == 403
        refused = client.post(f"/api/v1/link/review/{la}", headers=bearer(secret),
                              json={"decision": "same"})  # fmt: skip
        assert refused.status_code == 403
    operator = make_token(app, "operator", "LA")
    for body in ({"decision": "maybe"}, {"decision": "same", "note": "x" * 2001}, {}):
        bad = client.post(f"/api/v1/link/review/{la}", headers=bearer(operator), json=body)
        assert bad.status_code == 422
    assert client.get("/api/v1/link/review").status_code == 401
    assert constraints(app) == [] and events(app, LinkageEvent.REVIEW_VIEWED) == []


def test_review_page_shows_pairs_side_by_side_and_decides_with_csrf(client, app, tmp_path):
    la, tn = la_and_tn_pairs(app, tmp_path)
    sign_in(client, make_token(app, "operator", "LA"))
    page = client.get("/review")
    assert page.status_code == 200
    assert "Emma Ngyuen" in page.text and "Nguyen" in page.text and "2008-09-09" in page.text
    assert f"Pair {la} " in page.text and f"Pair {tn} " not in page.text
    assert "Olivia" not in page.text  # the TN pair's student
    assert "last name (differs)" in page.text and "<mark>Ngyuen</mark>" in page.text
    assert "birth date (differs)" not in page.text and "source (differs)" not in page.text
    assert len(events(app, LinkageEvent.REVIEW_VIEWED)) == 1
    csrf = CSRF.search(page.text).group(1)
    forged = client.post(f"/review/{la}", data={"decision": "different", "csrf_token": "forged"})
    assert forged.status_code == 403 and constraints(app) == []
    foreign = client.post(f"/review/{tn}", data={"decision": "same", "csrf_token": csrf})
    assert foreign.status_code == 404 and constraints(app) == []
    done = client.post(f"/review/{la}", data={"decision": "different", "note": "twins",
                       "csrf_token": csrf}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/review?notice=different"
    [(kind, _left, _right)] = constraints(app)
    assert kind == "cannot_link"
    after = client.get(done.headers["location"])
    assert "Recorded: different people." in after.text and f"Pair {la} " not in after.text


def test_review_page_needs_a_session_and_the_permission(client, app):
    assert client.get("/review", follow_redirects=False).headers["location"] == "/sign-in"
    sign_in(client, make_token(app, "district", "LA", "036"))
    refused = client.get("/review")
    assert refused.status_code == 403 and "may not" in refused.text
