"""Pages that a district coordinator and an auditor can read (issue 19), in-process on both
backends: errors as pages in words, forms that keep what was typed, uploads checked against
the state's school list, one file for two credentials flagged, audit results in a sentence."""

from __future__ import annotations

from sqlmodel import select

from audit.plans.models import AuditTask
from kernel.database import session_scope
from rosters.schools import load_schools
from tests.audit.plans.factories import finish, make_draw, make_plan
from tests.web.factories import CSRF, bearer, certificate_png, claim, make_token, sign_in, upload

BROWSER = {"accept": "text/html,application/xhtml+xml"}


def school_list(app, tmp_path) -> None:
    path = tmp_path / "schools.csv"
    path.write_text("district_code,school_code,name\n036,036001,Baker High School\n"
                    "037,037001,Zachary High School\n")  # fmt: skip
    with session_scope(app.engine) as session:
        load_schools(session, "LA", path)


def test_a_browser_gets_error_pages_in_the_design_never_json(app, client):
    sign_in(client, make_token(app, "district", "LA", "036"))
    missing = client.get("/no/such/page", headers=BROWSER)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "Page not found" in missing.text and "usa-header" in missing.text
    bad = client.get("/evidence/" + "z" * 80, headers=BROWSER)
    assert bad.status_code == 422 and "not valid" in bad.text and "{" not in bad.text.split(
        "<main")[1].split("</main>")[0]  # fmt: skip
    assert client.get("/api/v1/nothing", headers=BROWSER).json()["error"]["code"] == "not_found"
    signed_out = client.__class__(client.app).get("/no/such/page", headers=BROWSER)
    assert signed_out.status_code == 404 and "Sign out" not in signed_out.text


def test_permission_refusals_are_in_words(app, client):
    district = bearer(make_token(app, "district", "LA", "036"))
    refused = client.post("/api/v1/audit/tasks/next", headers=district)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "you are signed in as district staff, which may not work the audit queue"
    )


def test_an_upload_naming_a_school_outside_the_district_is_refused(app, client, tmp_path):
    school_list(app, tmp_path)
    secret = make_token(app, "district", "LA", "036")
    refused = upload(client, secret, school_code="999")
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "school_code"
    assert "not one of district 036's schools" in refused.json()["error"]["message"]
    assert upload(client, secret, school_code="037001").status_code == 422  # another district's
    assert upload(client, secret, school_code="036001").status_code == 201


def test_the_upload_form_keeps_every_value_and_names_the_field_by_its_label(
    app, client, tmp_path
):
    school_list(app, tmp_path)
    sign_in(client, make_token(app, "district", "LA", "036"))
    page = client.get("/")
    assert '<option value="036001">Baker High School</option>' in page.text
    assert "Zachary" not in page.text  # only the district's own schools in the picker
    csrf = CSRF.search(page.text).group(1)
    typed = claim(school_code="999", student_name="Ana Lopez", state_student_id="LA7000001")
    files = {"file": ("c.png", certificate_png(), "image/png")}
    again = client.post("/uploads", data={**typed, "csrf_token": csrf}, files=files)
    assert again.status_code == 422
    assert 'value="Ana Lopez"' in again.text and 'value="LA7000001"' in again.text
    assert 'value="999"' in again.text and 'aria-invalid="true"' in again.text
    assert "School: school 999 is not one of" in again.text
    assert "choose the certificate file again" in again.text
    assert "`credx" not in again.text  # no CLI hints on a page


def test_one_file_claimed_for_two_credentials_of_a_student_is_flagged(app, client):
    secret = make_token(app, "district", "LA", "036")
    same = certificate_png("one certificate")
    first = upload(client, secret, same, credential_code="ADESK001")
    second = upload(client, secret, same, credential_code="ADESK002")
    assert first.json()["flags"] == [] and second.json()["flags"] == ["duplicate_image"]


def test_the_results_page_says_each_school_s_bound_in_a_sentence(app, client, tmp_path):
    secret = make_token(app, "district", "LA", "036")
    for number in range(4):
        upload(client, secret, certificate_png(f"c{number}"), state_student_id=f"LA800000{number}")
    with session_scope(app.engine) as session:
        make_plan(session, "la-2025-26")
        make_draw(session, "la-2025-26", tmp_path / "m.csv")
        for task in session.exec(select(AuditTask)).all():
            finish(session, task)
    sign_in(client, make_token(app, "auditor", "LA"))
    page = client.get("/audit/results")
    assert page.status_code == 200
    assert "With 95% confidence, no more than 63.2% of this school&#39;s 4 uploads are wrong." in (
        page.text)  # fmt: skip
    assert "Countable" in page.text and "Upper 95%" in page.text
    csv = client.get("/audit/results/la-2025-26.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].endswith(",sentence")
    assert "63.2% of the state" in csv.text


def test_the_uploads_list_searches_filters_and_pages(app, client, monkeypatch):
    monkeypatch.setattr("web.pages.PAGE_SIZE", 2)
    secret = make_token(app, "district", "LA", "036")
    for number, code in enumerate(["ADESK001", "ADESK002", "ADESK001"]):
        upload(client, secret, certificate_png(f"l{number}"), credential_code=code,
               state_student_id=f"LA900000{number}")  # fmt: skip
    sign_in(client, secret)
    first = client.get("/")
    assert first.text.count('href="/evidence/') == 2 and "page=2" in first.text
    second = client.get("/?page=2")
    assert second.text.count('href="/evidence/') == 1 and "Previous" in second.text
    found = client.get("/?q=LA9000001")
    assert found.text.count('href="/evidence/') == 1 and "Inventor" in found.text
    by_credential = client.get("/?credential=ADESK001")
    assert by_credential.text.count('href="/evidence/') == 2
    assert "No upload matches" in client.get("/?q=LA0000000").text
    assert client.get("/?flag=nonsense", headers=BROWSER).status_code == 422


def test_the_attainment_page_starts_compact(app, client):
    from tests.reports.fixtures.world import school_world

    codes = ["ADESK001", "ADESK002", "ADESK003", "ADESK004"]
    with session_scope(app.engine) as session:
        school_world(session, {f"S{n:03d}": (4, {c: (1 + n % 4, n % 3) for c in codes})
                               for n in range(40)})  # fmt: skip
    sign_in(client, make_token(app, "operator", "LA"))
    compact = client.get("/reports/attainment?year=2025-26")
    full = client.get("/reports/attainment?year=2025-26&by=school,credential")
    assert compact.status_code == full.status_code == 200
    print(f"attainment page: compact {len(compact.content):,} B, by school {len(full.content):,} B")
    assert len(compact.content) < 200_000 and len(compact.content) * 5 < len(full.content)
    assert compact.text.count("<tr>") == len(codes) + 2  # header, a row per credential, Total


def test_the_district_findings_page_filters(app, client, tmp_path):
    from kernel.clock import utcnow

    secret = make_token(app, "district", "LA", "036")
    for number in range(2):
        upload(client, secret, certificate_png(f"f{number}"), state_student_id=f"LA600000{number}")
    with session_scope(app.engine) as session:
        make_plan(session, "la-2025-26")
        make_draw(session, "la-2025-26", tmp_path / "m.csv")
        tasks = session.exec(select(AuditTask)).all()
        for task, outcome in zip(tasks, ("verified", "discrepancy"), strict=True):
            finish(session, task, outcome, "missing" if outcome == "discrepancy" else None)
            task.final_at = utcnow()
            session.add(task)
    sign_in(client, secret)

    def cards(show: str) -> int:
        return client.get(f"/audit/findings?show={show}").text.count('class="usa-card__heading"')

    assert (cards(""), cards("verified"), cards("discrepancy"), cards("to_answer")) == (2, 1, 1, 1)
    assert cards("answered") == 0
    assert client.get("/audit/findings?show=bogus", headers=BROWSER).status_code == 422
