"""`/metrics`: who may scrape, and the figures parse and match the hand-made installation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from access.policy import may_scrape_metrics
from exchange.models import Job
from kernel.clock import utcnow
from kernel.database import session_scope
from tests.web.dashboard_world import build_world
from web.app import create_app

SCRAPER = "s3cret-scraper-token"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from the exposition text."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def add_jobs(app) -> None:
    now = utcnow()
    with session_scope(app.engine) as session:
        session.add(Job(key="pull:a:1", kind="pull", target="a"))
        session.add(Job(key="pull:a:2", kind="pull", target="a", error="OSError: refused"))
        session.add(Job(key="pull:a:3", kind="pull", target="a", error="OSError: refused",
                        finished_at=now))  # fmt: skip
        session.add(Job(key="purge:r:1", kind="purge", target="r", finished_at=now))


@pytest.fixture
def scraper(app):
    app.settings.metrics_token = SecretStr(SCRAPER)
    with TestClient(create_app(app), base_url="http://testserver") as client:
        yield client


def test_metrics_match_the_installation(app, scraper):
    build_world(app, utcnow() - timedelta(minutes=1))
    add_jobs(app)
    scraper.get("/healthz")
    reply = scraper.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    got = samples(reply.text)

    def value(name: str, **labels: str) -> float:
        return got[(name, tuple(sorted(labels.items())))]

    assert value("credx_deliveries", vendor="nccer", status="loaded") == 2
    assert value("credx_deliveries", vendor="nccer", status="partially_loaded") == 1
    assert value("credx_deliveries", vendor="nccer", status="rejected") == 1
    assert value("credx_deliveries", vendor="certiport", status="loaded") == 1
    assert value("credx_delivery_rows", vendor="nccer", outcome="loaded") == 90
    assert value("credx_delivery_rows", vendor="nccer", outcome="rejected") == 25
    assert value("credx_evidence_uploads", state="LA", status="received") == 7
    assert value("credx_audit_tasks_open", state="LA", status="open") == 2
    assert value("credx_audit_tasks_open", state="LA", status="second_review") == 1
    assert value("credx_audit_tasks_open", state="TN", status="open") == 1
    assert ("credx_audit_tasks_open", (("state", "LA"), ("status", "final"))) not in got
    assert value("credx_review_pairs_open", state="LA") == 3
    assert value("credx_review_pairs_open", state="TN") == 2
    assert value("credx_jobs_pending", kind="pull") == 2
    assert value("credx_jobs_pending", kind="purge") == 0
    assert value("credx_jobs_failed", kind="pull", state="retrying") == 1
    assert value("credx_jobs_failed", kind="pull", state="given_up") == 1
    counted = value("credx_http_requests_total", method="GET", route="/healthz", status="200")
    assert counted == 1
    assert "A B" not in reply.text and "LA1000001" not in reply.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_metrics_answer_404_without_the_token_off_loopback(scraper):
    assert scraper.get("/metrics").status_code == 404
    wrong = {"Authorization": "Bearer not-the-token"}
    assert scraper.get("/metrics", headers=wrong).status_code == 404


@pytest.mark.parametrize(
    ("client", "header", "token", "allowed"),
    [
        ("127.0.0.1", "", None, True),
        ("::1", "", None, True),
        ("10.0.0.5", "", None, False),
        ("10.0.0.5", "Bearer abc", None, False),
        ("10.0.0.5", "Bearer abc", "abc", True),
        ("10.0.0.5", "Basic abc", "abc", False),
        ("10.0.0.5", "Bearer abcd", "abc", False),
        ("testclient", "Bearer é", "abc", False),
    ],
)
def test_who_may_scrape(client, header, token, allowed):
    assert may_scrape_metrics(client, header, token) is allowed
