"""Dashboard panels (service and JSON API) on SQLite and PostgreSQL, per-state isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from eventlog.log import EventLog
from exchange.connectors import ConnectorConfig
from exchange.events import ExchangeEvent
from kernel.clock import utcnow
from kernel.database import session_scope
from reports.dashboard import PANELS, Window, due_time, panel
from tests.web.dashboard_world import build_world
from tests.web.factories import bearer, make_token, sign_in

# the web layer's scoping is SQL-free: the panels' queries run on both backends
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def world(app):
    return build_world(app, utcnow())


def nights(rows, vendor):
    return {r["night"]: r for r in rows if r["vendor"] == vendor}


def test_panels_for_one_state(app, world):
    """One world per backend (creating one costs more than reading it), every panel."""
    check_pending(app, world)
    check_other_panels(app, world)
    with session_scope(app.engine) as session:
        rows = panel(session, "deliveries", "LA", Window(world.now), 60)
    got = nights(rows, "nccer")
    night = lambda n: (world.fire - timedelta(days=n)).date().isoformat()  # noqa: E731
    assert [got[night(n)]["missing"] for n in range(4)] == [1, 0, 0, 0]
    assert [got[night(n)]["late"] for n in range(4)] == [0, 1, 0, 0]
    assert [got[night(n)]["on_time"] for n in range(4)] == [0, 0, 1, 1]
    assert [got[night(n)]["received"] for n in range(4)] == [0, 1, 1, 1]
    # no agreement in force before night 3: a dropped file counts, nothing is expected
    assert got[night(5)] | {"deliveries": []} == {
        "vendor": "nccer",
        "night": night(5),
        "expected": 0,
        "received": 1,
        "on_time": 0,
        "late": 0,
        "missing": 0,
        "pending": 0,
        "deliveries": [],
    }
    assert set(got) == {night(n) for n in (0, 1, 2, 3, 5)}
    assert {r["vendor"] for r in rows} == {"nccer"}  # certiport serves TN only
    check_nothing_expected_before_the_connector_was_applied(app, world)  # last: adds an event


def check_nothing_expected_before_the_connector_was_applied(app, world) -> None:
    with session_scope(app.engine) as session:
        EventLog(session).record(ExchangeEvent.CONNECTOR_APPLIED, "connector:nccer-sftp", "test")
    with session_scope(app.engine) as session:
        rows = panel(session, "deliveries", "LA", Window(world.now), 60)
    assert sum(r["expected"] for r in rows) == 0 and sum(r["received"] for r in rows) == 4


def check_pending(app, world) -> None:
    """Half an hour after the scheduled pull, nccer's night is pending, certiport's on time."""
    early = Window(world.fire + timedelta(minutes=30), nights=1)
    with session_scope(app.engine) as session:
        tn = panel(session, "deliveries", "TN", early, 60)
        la = panel(session, "deliveries", "LA", early, 60)
    assert [(r["vendor"], r["on_time"], r["pending"]) for r in tn] == [("certiport", 1, 0)]
    assert [(r["expected"], r["pending"], r["missing"]) for r in la] == [(1, 1, 0)]


def test_expect_by_sets_the_deadline_when_it_follows_the_pull():
    config = ConnectorConfig(name="xx", vendor="v", kind="local", schedule="30 2 * * *",
                             expect_by="06:00", local={"directory": "/x"})  # fmt: skip
    fire = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
    assert due_time(config, fire, timedelta(hours=1)) == fire.replace(hour=6, minute=0)
    late_config = config.model_copy(update={"expect_by": "01:00"})
    assert due_time(late_config, fire, timedelta(hours=1)) == fire + timedelta(hours=1)


def check_other_panels(app, world) -> None:
    with session_scope(app.engine) as session:
        data = {name: panel(session, name, "LA", Window(world.now), 60) for name in PANELS}
    [nccer] = data["rejections"]
    assert (nccer["deliveries"], nccer["rows_total"], nccer["rows_rejected"]) == (4, 115, 25)
    assert nccer["rejection_rate"] == round(25 / 115, 4)
    problems = {p["delivery_id"]: p for p in nccer["problems"]}
    assert set(problems) == {world.partial, world.rejected}
    assert problems[world.partial]["rejection_rate"] == 0.25
    assert problems[world.rejected]["rejection_rate"] is None
    assert problems[world.partial]["report"] == f"/dashboard/deliveries/{world.partial}"
    assert [(a["agreement_id"], a["days_left"]) for a in data["agreements"]] == [("nccer-LA", 30)]
    [plan] = data["audits"]
    counts = {
        k: plan[k]
        for k in (
            "tasks",
            "open",
            "assigned",
            "second_review",
            "final",
            "verified",
            "discrepancies",
            "percent_done",
        )
    }
    assert counts == {
        "tasks": 7,
        "open": 2,
        "assigned": 1,
        "second_review": 1,
        "final": 3,
        "verified": 2,
        "discrepancies": 1,
        "percent_done": 42.9,
    }
    [backlog] = data["reviews"]
    assert (backlog["state"], backlog["open_pairs"], backlog["flagged_clusters"]) == ("LA", 3, 2)
    assert backlog["oldest_open_run"] < backlog["last_run"]


def test_admin_sees_every_state_in_a_fixed_number_of_queries(app, world):
    with session_scope(app.engine) as session:
        audits = panel(session, "audits", None, Window(world.now), 60)
        reviews = panel(session, "reviews", None, Window(world.now), 60)
        agreements = panel(session, "agreements", None, Window(world.now), 100)
    assert [(p["state"], p["tasks"]) for p in audits] == [("LA", 7), ("TN", 1)]
    assert [(b["state"], b["open_pairs"]) for b in reviews] == [("LA", 3), ("TN", 2)]
    assert [a["agreement_id"] for a in agreements] == ["nccer-LA", "nccer-LA-2"]
    statements = []
    event.listen(app.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with session_scope(app.engine) as session:
        for name in PANELS:
            panel(session, name, None, Window(world.now), 60)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 10  # 4 + 2 + 1 + 1 + 2, whatever the number of vendors or plans


@SQLITE_ONLY
def test_api_panels_are_scoped_to_the_operator_state(app, client, world):
    la = make_token(app, "operator", "LA")
    tn = make_token(app, "operator", "TN")
    reply = client.get("/api/v1/dashboard/audits?state=TN", headers=bearer(la))
    assert reply.status_code == 200
    assert reply.json()["state"] == "LA"  # asked for TN: an operator gets its own state
    assert [p["plan_id"] for p in reply.json()["audits"]] == ["la-2025"]
    tn_rows = client.get("/api/v1/dashboard/deliveries", headers=bearer(tn)).json()
    assert {r["vendor"] for r in tn_rows["deliveries"]} == {"certiport"}
    tn_rejections = client.get("/api/v1/dashboard/rejections", headers=bearer(tn)).json()
    assert [v["vendor"] for v in tn_rejections["rejections"]] == ["certiport"]
    reviews = client.get("/api/v1/dashboard/reviews", headers=bearer(tn)).json()["reviews"]
    assert [(b["state"], b["open_pairs"]) for b in reviews] == [("TN", 2)]


@SQLITE_ONLY
def test_api_refuses_other_roles_unknown_panels_and_anonymous_callers(app, client, world):
    admin = make_token(app, "admin")
    reply = client.get("/api/v1/dashboard/agreements?state=la", headers=bearer(admin))
    assert reply.json()["state"] == "LA"
    assert [a["agreement_id"] for a in reply.json()["agreements"]] == ["nccer-LA"]
    for role, extra in (
        ("auditor", {"state": "LA"}),
        ("district", {"state": "LA", "district": "1"}),
    ):
        secret = make_token(app, role, **extra)
        assert client.get("/api/v1/dashboard/audits", headers=bearer(secret)).status_code == 403
    assert client.get("/api/v1/dashboard/audits").status_code == 401
    assert client.get("/api/v1/dashboard/people", headers=bearer(admin)).status_code == 422


@SQLITE_ONLY
def test_dashboard_pages_need_an_operator_session(app, client, world):
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/sign-in"
    secret = make_token(app, "operator", "LA")
    sign_in(client, secret)
    page = client.get("/dashboard")
    assert page.status_code == 200 and "script-src" not in page.headers["content-security-policy"]
    assert (
        f'href="/dashboard/deliveries/{world.partial}"' in page.text
        and "certiport" not in page.text
    )
    report = client.get(f"/dashboard/deliveries/{world.partial}")
    assert "birth_date_invalid" in report.text and ">20<" in report.text
    assert "2031-13-45" not in report.text  # reasons are counted; values are not shown
    assert client.get("/dashboard/deliveries/999999").status_code == 404
