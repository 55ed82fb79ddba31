"""The attainment report page in headless Chromium against a real `credx serve`: the chart
is drawn (under the pages' CSP) and its bars read without reading numbers."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from kernel.database import session_scope
from tests.reports.fixtures.world import small_world
from tests.web.factories import make_token
from tests.web.live import credx_serve, launch_chromium, sign_in_page

pytestmark = pytest.mark.slow


# one backend: starting a server and a browser costs seconds; test_reports covers both
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_operator_sees_the_attainment_chart_in_chromium(app, cli_env):
    with session_scope(app.engine) as session:
        small_world(session)
    secret = make_token(app, "operator", "LA")
    state_rule = {**cli_env, "CREDX_SUPPRESSION_THRESHOLD": "1"}  # min_cell only raises it
    with credx_serve(state_rule) as (base, _process), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        blocked = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else 0)
        page.goto(f"{base}/sign-in")
        sign_in_page(page, base, secret)
        page.goto(f"{base}/reports/attainment")
        page.get_by_label("School year").fill("2025-26")
        page.get_by_label("Hide counts below").fill("1")
        page.get_by_label("Group by").fill("school,credential")  # the default is compact
        page.get_by_role("button", name="Show report").click()
        chart = page.get_by_role("img", name="Students who sat and passed")
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box["width"] > 300 and box["height"] > 100
        bar = page.locator("g.bar", has_text="S1").first  # ADESK001 at S1: 1 of 2 passed
        sat, passed = (r.bounding_box()["width"] for r in bar.locator("rect").all())
        assert passed == pytest.approx(sat / 2, abs=1)  # half the bar is dark: a 50% pass rate
        assert bar.locator("title").text_content() == "D1 · S1: 1 of 2 passed (50%)"
        assert blocked == []
        browser.close()
