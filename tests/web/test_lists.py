"""The link-review page and the deliveries list scale: filters and numbered pages, each in
the caller's scope (issue 19).  Pages are made small here so a few rows make several."""

from __future__ import annotations

import re

import pytest

import web.deliveries
import web.review
from exchange.models import Delivery
from kernel.clock import utcnow
from kernel.database import session_scope
from kernel.rows import existing
from tests.web.dashboard_world import build_world
from tests.web.factories import make_token, sign_in
from tests.web.review_pairs import open_pair

PAIR = re.compile(r'<h3 id="pair-(\d+)">')
DELIVERY = re.compile(r"delivery (\d+)</span>")


@pytest.fixture
def world(app):
    return build_world(app, utcnow())


def test_review_pairs_filter_by_reason_and_page(client, app, world, monkeypatch):
    monkeypatch.setattr(web.review, "REVIEW_PAGE", 2)
    conflict = open_pair(app, "LA", "exam:901", "exam:902", reason="id_conflict")
    unsure = open_pair(app, "LA", "exam:903", "exam:904")
    sign_in(client, make_token(app, "operator", "LA"))
    pages = [client.get(f"/review?page={n}") for n in (1, 2, 3)]
    shown = [PAIR.findall(page.text) for page in pages]
    assert [len(ids) for ids in shown] == [2, 2, 1]  # LA's 5 open pairs; not TN's 2
    assert len({i for ids in shown for i in ids}) == 5
    assert "usa-pagination__next-page" in pages[1].text and "Previous" in pages[1].text
    assert "usa-pagination__next-page" not in pages[2].text
    assert PAIR.findall(client.get("/review?reason=id_conflict").text) == [str(conflict)]
    assert PAIR.findall(client.get("/review?reason=uncertain").text) == [str(unsure)]
    flagged = client.get("/review?reason=flagged&page=2")
    assert len(PAIR.findall(flagged.text)) == 2 and str(unsure) not in PAIR.findall(flagged.text)
    assert "state student ids conflict (1)" in flagged.text  # the filter counts each reason
    assert "None open for this reason." in client.get("/review?reason=cluster_size").text
    assert client.get("/review?reason=<script>").status_code == 422


def test_deliveries_filter_by_vendor_status_day_and_page(client, app, world, monkeypatch):
    monkeypatch.setattr(web.deliveries, "DELIVERIES_PAGE", 2)
    sign_in(client, make_token(app, "operator", "LA"))
    every = client.get("/deliveries")
    assert every.status_code == 200 and "NCCER" in every.text
    assert "certiport" not in every.text  # TN's vendor: another state's files
    shown = DELIVERY.findall(every.text)
    assert len(shown) == 2 and "usa-pagination__next-page" in every.text
    later = DELIVERY.findall(client.get("/deliveries?page=2").text)
    assert later and not set(later) & set(shown)
    rejected = client.get("/deliveries?status=rejected").text
    assert DELIVERY.findall(rejected) == [str(world.rejected)]
    with session_scope(app.engine) as session:  # its own day: ten minutes after a night
        day = existing(session, Delivery, world.partial).received_at.date().isoformat()
    on_day = DELIVERY.findall(client.get(f"/deliveries?since={day}&until={day}").text)
    assert on_day == [str(world.partial)]
    assert "No delivery matches" in client.get("/deliveries?vendor=certiport").text
    assert client.get("/deliveries?status=lost").status_code == 422
    blank = client.get("/deliveries?vendor=&status=&since=&until=")  # a form sent as is
    assert DELIVERY.findall(blank.text) == shown
    assert client.get("/?since=&until=").status_code == 200  # the uploads list likewise


def test_a_vendor_sees_only_its_own_deliveries(client, app, world):
    sign_in(client, make_token(app, "vendor", "TN", vendor="certiport"))
    page = client.get("/deliveries?vendor=nccer")  # asking for another's: its own, still
    assert page.status_code == 200 and "NCCER" not in page.text
    assert len(DELIVERY.findall(page.text)) == 1
    assert 'href="/dashboard/deliveries/' not in page.text  # no operator's report for a vendor
