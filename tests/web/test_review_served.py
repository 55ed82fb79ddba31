"""The review page in headless Chromium against a real `credx serve` (both backends)."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright
from sqlmodel import select

from kernel.database import session_scope
from linkage.models import LinkConstraint, ReviewPair
from tests.web.factories import make_token
from tests.web.live import credx_serve, launch_chromium, sign_in_page
from tests.web.review_pairs import la_and_tn_pairs

pytestmark = pytest.mark.slow


def test_an_operator_decides_a_pair_in_chromium(app, cli_env, tmp_path):
    la, tn = la_and_tn_pairs(app, tmp_path)
    secret = make_token(app, "operator", "LA")
    with credx_serve(cli_env) as (base, _process), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(f"{base}/review")
        assert page.url.endswith("/sign-in")
        sign_in_page(page, base, secret)
        page.goto(f"{base}/review")
        pair = page.get_by_role("region", name=f"Pair {la} (LA)")
        table = pair.get_by_role("table").inner_text()
        assert "Emma Ngyuen" in table and "Nguyen" in table and "2008-09-09" in table
        assert page.get_by_role("region", name=f"Pair {tn} (TN)").count() == 0
        pair.get_by_label(f"Note for pair {la}").fill("same student, typo in the upload")
        pair.get_by_role("button", name="Same person").click()
        page.wait_for_url(f"{base}/review?notice=same")
        assert "Recorded: same person." in page.get_by_role("status").inner_text()
        assert page.get_by_role("region", name=f"Pair {la} (LA)").count() == 0
        browser.close()
    with session_scope(app.engine) as session:
        constraint = session.exec(select(LinkConstraint)).one()
        pair_row = session.get(ReviewPair, la)
        assert constraint.kind == "must_link" and constraint.review_pair_id == la
        assert {constraint.record_l, constraint.record_r} == {pair_row.record_l, pair_row.record_r}
        assert pair_row.note == "same student, typo in the upload"
        assert constraint.created_by == pair_row.decided_by and pair_row.decided_by.startswith(
            "token:"
        )
