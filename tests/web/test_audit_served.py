"""The auditor page in headless Chromium against a real `credx serve`: keyboard findings,
the next task appearing without a page reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlmodel import select

from audit.plans.models import AuditFinding, AuditTask
from kernel.database import session_scope
from tests.audit.plans.auditing import drawn_tasks
from tests.web.factories import make_token
from tests.web.live import credx_serve, launch_chromium, sign_in_page

# One backend: starting a server and a browser costs seconds, and the page's rules are the
# service's (tested on both backends); PostgreSQL is what a multi-worker deployment runs.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


def test_an_auditor_records_findings_by_keyboard_and_the_next_task_loads_in_place(
    app, cli_env, tmp_path
):
    with session_scope(app.engine) as session:
        ids = [task.id for task in drawn_tasks(session, tmp_path, {"036001": 2})]
    secret = make_token(app, "auditor", "LA")
    with credx_serve(cli_env) as (base, _process), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = audit_page(browser, base, secret)
        expect(page.locator("#task-title")).to_contain_text(f"Task {ids[0]} ")
        assert "V" in page.locator("#audit-keys").inner_text()
        page.evaluate("window.sameDocument = true")  # gone if the page reloads

        page.keyboard.press("v")  # recorded, undoable until the auditor goes on with Enter
        expect(page.get_by_role("status")).to_contain_text(f"Recorded verified on task {ids[0]}")
        page.keyboard.press("Enter")
        expect(page.locator("#task-title")).to_contain_text(f"Task {ids[1]} ")

        page.keyboard.press("n")
        page.keyboard.type("certificate dated 2023, outside the school year")
        page.keyboard.press("Escape")
        page.keyboard.press("3")
        expect(page.get_by_role("status")).to_contain_text("Recorded discrepancy (date outside")
        page.keyboard.press("Enter")
        expect(page.locator("#audit-empty")).to_be_visible()
        assert page.evaluate("window.sameDocument") is True

        reviewer = audit_page(browser, base, make_token(app, "auditor", "LA"))
        expect(reviewer.locator("#task-stage")).to_contain_text("Second review")
        expect(reviewer.locator("#task-findings")).to_contain_text("outside the school year")
        expect(reviewer.get_by_role("button", name="Confirm the discrepancy")).to_be_visible()
        overturn = reviewer.get_by_role("button", name="Overturn: the certificate is good")
        expect(overturn).to_be_visible()
        reviewer.keyboard.press("c")  # confirm
        expect(reviewer.locator("#audit-empty")).to_be_visible()
        browser.close()
    with session_scope(app.engine) as session:
        first, second = (session.get(AuditTask, task_id) for task_id in ids)
        findings = session.exec(select(AuditFinding).where(AuditFinding.task_id == ids[1])).all()
        assert (first.status, first.final_outcome) == ("final", "verified")
        assert (second.status, second.final_type) == ("final", "date_outside_school_year")
        assert sorted((f.stage, f.note) for f in findings) == [
            (1, "certificate dated 2023, outside the school year"),
            (2, None),
        ]


def audit_page(browser, base: str, secret: str):
    """A browser context of its own (its own cookies) signed in and on /audit."""
    page = browser.new_context().new_page()
    page.goto(f"{base}/sign-in")
    sign_in_page(page, base, secret)
    page.goto(f"{base}/audit")
    return page
