"""Each role's whole journey in headless Chromium against a real `credx serve` (issue 19):
every page passes axe-core at WCAG 2.1 AA, fits 320 px, and is kept as a screenshot.

- a district uploads a certificate, corrects one mistake without retyping, and later
  answers a finding with a corrected file;
- an auditor takes a first look (undoes it once), a second auditor confirms, the district's
  answer comes back as a re-review and is decided; the results page says it in words;
- an analyst downloads exactly the report shown on screen.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect, sync_playwright

from audit.plans.draws import draw_sample
from audit.plans.plans import freeze
from kernel.clock import utcnow
from kernel.database import session_scope
from rosters.schools import load_schools
from tests.audit.plans.factories import SEED, make_plan
from tests.reports.fixtures.world import small_world
from tests.web.dashboard_world import build_world
from tests.web.factories import CLAIM, certificate_png, make_token
from tests.web.journeys import check_page
from tests.web.live import credx_serve, launch_chromium, sign_in_page
from tests.web.review_pairs import open_pair

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def signed_in(browser, base: str, secret: str, width: int = 1200):
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(f"{base}/sign-in")
    sign_in_page(page, base, secret)
    return page


def fill_claim(page, **changes: str) -> None:
    for field, value in {**CLAIM, **changes}.items():
        page.locator(f"#{field}").fill(value)


def test_district_and_auditors_close_the_audit_loop(app, cli_env, tmp_path):
    schools = tmp_path / "schools.csv"
    schools.write_text("district_code,school_code,name\n036,036001,Baker High School\n")
    with session_scope(app.engine) as session:
        load_schools(session, "LA", schools)
    certificate, corrected = tmp_path / "certificate.png", tmp_path / "corrected.png"
    certificate.write_bytes(certificate_png("Ana Morales  Microsoft Office Specialist",
                                            size=(1400, 900)))  # fmt: skip
    corrected.write_bytes(certificate_png("Ana Morales  MOS  (clear scan)", size=(1400, 900)))
    district = make_token(app, "district", "LA", "036")
    first, second = make_token(app, "auditor", "LA"), make_token(app, "auditor", "LA")
    checked: list[str] = []
    with credx_serve(cli_env) as (base, _process), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = signed_in(browser, base, district)
        expect(page.get_by_role("banner")).to_contain_text("Louisiana")
        check_page(page, "district-home", checked)

        fill_claim(page, school_code="999")  # the mistake: a school not in the district
        page.get_by_label("Certificate file").set_input_files(str(certificate))
        page.get_by_role("button", name="Upload", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("School: school 999 is not one of")
        assert page.locator("#student_name").input_value() == "Ana Morales"  # nothing retyped
        assert page.locator("#school_code").get_attribute("aria-invalid") == "true"
        check_page(page, "district-upload-corrected", checked)
        steps = page.locator("#upload-steps [aria-current=step]")
        expect(steps).to_contain_text("The student and the credential")
        page.locator("#school_code").fill("036001")
        page.get_by_label("Certificate file").set_input_files(str(certificate))
        page.get_by_role("button", name="Upload", exact=True).click()
        page.wait_for_url(f"{base}/?notice=uploaded")
        expect(steps).to_have_text("Uploaded")
        table = page.get_by_role("table", name="My uploads")
        expect(table).to_contain_text("Baker High School")
        expect(table).to_contain_text("Microsoft Office Specialist")
        page.get_by_role("link", name="Ana Morales").first.click()
        check_page(page, "district-evidence", checked)

        with session_scope(app.engine) as session:
            make_plan(session, "la-2025-26")
            freeze(session, "la-2025-26", tmp_path / "manifest.csv", "operator")
            draw_sample(session, "la-2025-26", SEED, "operator")

        auditor = signed_in(browser, base, first, width=800)
        auditor.goto(f"{base}/audit")
        expect(auditor.locator("#task-stage")).to_contain_text("First look")
        expect(auditor.locator("#task-steps [aria-current=step]")).to_have_text("First look")
        auditor.keyboard.press("f")  # the certificate full size: zoom and pan by keyboard
        viewer = auditor.get_by_role("dialog", name="Certificate, full size")
        expect(viewer).to_be_visible()
        image = auditor.locator("#viewer-image")
        expect(image).to_have_js_property("complete", True)
        assert image.bounding_box()["width"] >= 1400  # natural size, not 312 px
        auditor.keyboard.press("+")
        assert image.bounding_box()["width"] >= 1700
        auditor.keyboard.press("ArrowRight")
        assert auditor.locator("#viewer-pane").evaluate("pane => pane.scrollLeft") > 0
        check_page(auditor, "auditor-full-size", checked)
        auditor.keyboard.press("Escape")
        expect(viewer).to_be_hidden()

        auditor.keyboard.press("v")  # a slip: verified, then undone
        expect(auditor.get_by_role("status")).to_contain_text("Recorded verified")
        auditor.keyboard.press("z")
        expect(auditor.get_by_role("status")).to_contain_text("undone")
        auditor.keyboard.press("n")
        auditor.keyboard.type("Scan too blurry to read the student's name")
        auditor.keyboard.press("Escape")
        check_page(auditor, "auditor-task", checked)
        auditor.keyboard.press("5")  # illegible
        expect(auditor.get_by_role("status")).to_contain_text("Recorded discrepancy (illegible)")
        auditor.keyboard.press("Enter")
        expect(auditor.locator("#audit-empty")).to_be_visible()

        reviewer = signed_in(browser, base, second)
        reviewer.goto(f"{base}/audit")
        expect(reviewer.locator("#task-stage")).to_contain_text("Second review")
        expect(reviewer.locator("#task-steps [aria-current=step]")).to_have_text("Second review")
        expect(reviewer.locator("#task-steps")).to_contain_text("First look completed")
        check_page(reviewer, "auditor-second-review", checked)
        reviewer.get_by_role("button", name="Confirm the discrepancy").click()
        expect(reviewer.locator("#audit-empty")).to_be_visible()

        page.goto(f"{base}/audit/findings")
        expect(page.get_by_role("main")).to_contain_text("illegible")
        expect(page.get_by_role("main")).to_contain_text("Scan too blurry")
        check_page(page, "district-findings", checked)
        page.get_by_label("A corrected certificate").set_input_files(str(corrected))
        page.get_by_role("button", name="Send answer").click()
        expect(page.get_by_role("status")).to_contain_text("Your answer is recorded")
        expect(page.get_by_role("main")).to_contain_text("with an auditor for re-review")

        auditor.goto(f"{base}/audit")
        expect(auditor.locator("#task-stage")).to_contain_text("Re-review")
        expect(auditor.locator("#task-steps [aria-current=step]")).to_contain_text("Re-review")
        expect(auditor.get_by_role("img", name="The corrected certificate")).to_be_visible()
        check_page(auditor, "auditor-re-review", checked)
        auditor.keyboard.press("a")  # accept the corrected file
        expect(auditor.locator("#audit-empty")).to_be_visible()

        page.goto(f"{base}/audit/findings")
        expect(page.get_by_role("main")).to_contain_text("verified")
        assert "Scan too blurry" not in page.get_by_role("main").inner_text()
        page.goto(f"{base}/")
        expect(page.get_by_role("table", name="My uploads")).to_contain_text(
            "verified by the state's audit")

        auditor.goto(f"{base}/audit/results")
        expect(auditor.get_by_role("main")).to_contain_text(
            "With 95% confidence, no more than 95.0% of this school's 1 upload is wrong.")
        check_page(auditor, "auditor-results", checked)
        with auditor.expect_download() as download:
            auditor.get_by_role("link", name="Download these results (CSV)").click()
        rows = list(csv.DictReader(io.StringIO(download.value.path().read_text("utf-8"))))
        assert rows[0]["school_code"] == "036001" and rows[0]["verified"] == "1"
        missing = auditor.goto(f"{base}/no/such/page")
        assert missing.status == 404
        check_page(auditor, "not-found", checked)
        browser.close()
    assert len(checked) == 10


def test_an_analyst_downloads_the_report_shown(app, cli_env):
    with session_scope(app.engine) as session:
        small_world(session)
    checked: list[str] = []
    with credx_serve(cli_env) as (base, _process), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        signing_in = browser.new_page()
        signing_in.goto(f"{base}/sign-in")
        check_page(signing_in, "sign-in", checked)
        page = signed_in(browser, base, make_token(app, "operator", "LA"))
        page.goto(f"{base}/reports/attainment")
        page.get_by_label("School year").fill("2025-26")
        page.get_by_label("Hide counts below").fill("2")
        page.get_by_role("button", name="Show report").click()
        expect(page.locator("#attainment-table")).to_be_visible()
        size = len(page.content().encode())
        assert size < 200_000, size
        shown = [[cell.inner_text() for cell in row.locator("td").all()]
                 for row in page.locator("#attainment-table tbody tr").all()]  # fmt: skip
        assert any("suppressed" in row for row in shown)
        assert any("n/a" in row for row in shown)
        check_page(page, "analyst-report", checked)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download this table (CSV)").click()
        text = download.value.path().read_text(encoding="utf-8")
        table = list(csv.reader(io.StringIO(text)))[1:]
        assert [[cell.replace("not applicable", "n/a") for cell in row] for row in table] == shown
        browser.close()


def test_an_operator_filters_review_pairs_and_deliveries(app, cli_env):
    world = build_world(app, utcnow())
    open_pair(app, "LA", "exam:901", "exam:902", reason="id_conflict")
    checked: list[str] = []
    with credx_serve(cli_env) as (base, _process), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = signed_in(browser, base, make_token(app, "operator", "LA"))
        page.goto(f"{base}/review")
        page.get_by_label("Reason").select_option("id_conflict")
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("heading", name="Open pairs: state student ids conflict"))\
            .to_be_visible()  # fmt: skip
        assert page.locator("section.pair").count() == 1
        check_page(page, "operator-review", checked)
        page.get_by_role("link", name="Deliveries").click()
        page.get_by_label("Status").select_option("rejected")
        page.get_by_role("button", name="Show").click()
        table = page.get_by_role("table", name="Deliveries")
        expect(table).to_contain_text("the file has no header row")
        assert table.locator("tbody tr").count() == 1
        assert re.search(r"status=rejected", page.url)
        check_page(page, "operator-deliveries", checked)
        table.get_by_role("link", name="results.csv").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Delivery {world.rejected}")
        browser.close()
    assert checked == ["operator-review", "operator-deliveries"]
