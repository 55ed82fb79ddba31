"""`/api/v1/reports/attainment` and `/reports/attainment` over HTTP: own state only, the same
numbers as the CLI, a chart with accessible labels, clear errors."""

from __future__ import annotations

from kernel.database import session_scope
from tests.reports.fixtures.world import CAD, PATHWAYS_YAML, small_world
from tests.web.factories import bearer, make_token, sign_in

QUERY = {"year": "2025-26", "by": "school,credential", "min_cell": "1"}


def test_api_answers_the_callers_state_and_hides_the_others(app, client):
    app.settings.suppression_threshold = 1  # this state's rule: min_cell can only raise it
    with session_scope(app.engine) as session:
        small_world(session)
    (app.settings.home / "pathways").mkdir()
    (app.settings.home / "pathways" / "LA.yaml").write_text(PATHWAYS_YAML)  # LA's map only
    operator = bearer(make_token(app, "operator", "LA"))
    found = client.get("/api/v1/reports/attainment", params=QUERY, headers=operator)
    assert found.status_code == 200, found.text
    data = found.json()
    rows = {(r["school"], r["credential"]): r for r in data["rows"]}
    assert data["state"] == "LA" and rows[("S1", CAD)]["sat_exam"] == 2  # as in the CLI test
    assert rows[("Total", "Total")]["enrolled"] == 6  # the TN student is not counted
    assert rows[("S1", CAD)]["completed_sequence"] == 2  # read from the home's pathway map
    foreign = client.get("/api/v1/reports/attainment", params={**QUERY, "state": "TN"},
                         headers=operator)  # fmt: skip
    assert foreign.status_code == 404
    auditor = bearer(make_token(app, "auditor", "TN"))
    tn = client.get("/api/v1/reports/attainment", params=QUERY, headers=auditor).json()
    assert tn["state"] == "TN" and tn["rows"][0]["enrolled"] == 1
    assert tn["rows"][0]["completed_sequence"] is None and "no pathway map" in tn["notes"][0]
    district = bearer(make_token(app, "district", "LA", "D1"))
    assert client.get("/api/v1/reports/attainment", params=QUERY,
                      headers=district).status_code == 403  # fmt: skip
    admin = bearer(make_token(app, "admin"))
    assert client.get("/api/v1/reports/attainment", params=QUERY, headers=admin).status_code == 422
    empty = client.get("/api/v1/reports/attainment", params={**QUERY, "year": "2020-21"},
                       headers=operator)  # fmt: skip
    assert empty.status_code == 404 and "no roster students" in empty.json()["error"]["message"]
    suppressed = client.get("/api/v1/reports/attainment", params={**QUERY, "min_cell": "10"},
                            headers=operator).json()  # fmt: skip
    assert all(r["sat_exam"] in (None, 0) for r in suppressed["rows"])  # every count is < 10


def test_page_shows_table_and_an_accessible_chart(app, client):
    app.settings.suppression_threshold = 1  # this state's rule: min_cell can only raise it
    with session_scope(app.engine) as session:
        small_world(session)
    assert client.get("/reports/attainment", follow_redirects=False).status_code == 303
    sign_in(client, make_token(app, "auditor", "LA"))
    form = client.get("/reports/attainment")
    assert form.status_code == 200 and 'name="year"' in form.text and "<svg" not in form.text
    page = client.get("/reports/attainment", params=QUERY)
    assert page.status_code == 200
    html = page.text
    assert 'role="img"' in html and 'aria-labelledby="chart-title chart-desc"' in html
    assert "D1 · S1: 1 of 2 passed (50%)" in html  # the ADESK001 bar of school S1, labelled
    assert 'id="attainment-table"' in html and "<script" not in html
    public = client.get("/reports/attainment", params={**QUERY, "min_cell": "10"}).text
    assert "D1 · S1: suppressed (small numbers)" in public
    missing = client.get("/reports/attainment", params={**QUERY, "year": "2020-21"})
    assert missing.status_code == 404 and "no roster students" in missing.text
