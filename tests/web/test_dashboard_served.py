"""The dashboard in headless Chromium against a real `credx serve`, then its JSON logs and
a loopback scrape of /metrics."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import sync_playwright
from prometheus_client.parser import text_string_to_metric_families

from kernel.clock import utcnow
from tests.web.dashboard_world import build_world
from tests.web.factories import make_token
from tests.web.live import credx_serve, launch_chromium, sign_in_page

pytestmark = pytest.mark.slow


def cells(page, section: str, selector: str) -> list[str]:
    return [c.strip() for c in page.locator(f"#{section} {selector} td").all_inner_texts()]


# one backend: starting a server and a browser costs seconds; test_dashboard covers both
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_operator_reads_the_dashboard_in_chromium(app, cli_env):
    world = build_world(app, utcnow())
    secret = make_token(app, "operator", "LA")
    env = {**cli_env, "CREDX_LOG_FORMAT": "json"}
    with credx_serve(env) as (base, process), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(f"{base}/sign-in")
        sign_in_page(page, base, secret)
        page.goto(f"{base}/dashboard")
        night0 = world.fire.date().isoformat()
        row = cells(page, "panel-deliveries", f'tr[data-vendor="nccer"][data-night="{night0}"]')
        assert row == [night0, "nccer", "1", "0", "0", "0", "1", "0"]  # expected, missing
        assert cells(page, "panel-rejections", 'tr[data-vendor="nccer"]') == [
            "nccer", "4", "115", "25", "21.7 %",
        ]  # fmt: skip
        assert cells(page, "panel-agreements", "tbody tr")[-1] == "30"
        plan = cells(page, "panel-audits", 'tr[data-plan="la-2025"]')
        assert plan[3:10] == ["7", "2", "1", "1", "3", "2", "1"]
        assert cells(page, "panel-reviews", 'tr[data-state="LA"]')[1] == "3"
        assert "certiport" not in page.content()  # TN's vendor
        page.get_by_role("link", name=f"delivery {world.partial}").click()
        page.wait_for_url(f"{base}/dashboard/deliveries/{world.partial}")
        reasons = page.locator("#reasons tbody tr").all_inner_texts()
        assert reasons[0].split("\t") == ["birth_date", "birth_date_invalid", "20"]
        browser.close()
        scraped = httpx.get(f"{base}/metrics", timeout=10)  # loopback: no token needed
        assert scraped.status_code == 200
        families = {f.name for f in text_string_to_metric_families(scraped.text)}
        assert {"credx_deliveries", "credx_review_pairs_open", "credx_http_requests"} <= families
    log = process.stderr.read().decode()
    lines = [json.loads(line) for line in log.splitlines()]  # every line one JSON object
    paths = [line.get("path") for line in lines if line["logger"] == "credx.http"]
    assert "/dashboard" in paths and f"/dashboard/deliveries/{world.partial}" in paths
    assert secret not in log
