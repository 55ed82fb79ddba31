"""Every endpoint x every role x own and foreign tenant, with the exact status expected.

The table must name every route the app serves: a new endpoint without a row
fails `test_the_table_covers_every_route`.  Roles named `*_other` hold a
foreign tenant (another district of the same state, another state, another
vendor); the records under test belong to district LA-036 and vendor nccer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import select
from starlette.routing import Mount

from access.sessions import SessionStore
from access.tokens import TokenService
from audit.plans.models import AuditTask
from exchange.deliveries import ingest_file
from kernel.clock import utcnow
from kernel.database import session_scope
from tests.audit.plans.factories import make_draw, make_plan
from tests.factories import csv_text, exam_rows, make_vendor, write_file
from tests.web.factories import bearer, bulk_files, certificate_png, claim, make_token, upload
from tests.web.review_pairs import open_pair
from web.app import create_app
from web.auth import SESSION_COOKIE

ROLES = {
    "anonymous": None,
    "district": ("district", "LA", "036", None),
    "district_other": ("district", "LA", "037", None),
    "auditor": ("auditor", "LA", None, None),
    "auditor_other": ("auditor", "TN", None, None),
    "operator": ("operator", "LA", None, None),
    "operator_other": ("operator", "TN", None, None),
    "vendor": ("vendor", "LA", None, "nccer"),
    "vendor_other": ("vendor", "LA", None, "pearson"),
    "admin": ("admin", None, None, None),
}


@dataclass
class World:
    client: TestClient
    secret: str | None
    csrf: str | None
    evidence_id: str
    delivery_id: int
    tmp_path: object
    pair_ids: tuple[int, int]  # two open LA review pairs: one for the API, one for the page
    task_id: int = 0

    def api(self, method: str, url: str, **kwargs):
        headers = bearer(self.secret) if self.secret else {}
        return self.client.request(method, url, headers=headers, follow_redirects=False, **kwargs)

    def page(self, method: str, url: str, **kwargs):
        return self.client.request(method, url, follow_redirects=False, **kwargs)


def every(status: int, **exceptions: int) -> dict[str, int]:
    return {role: exceptions.get(role, status) for role in ROLES}


def multipart_upload(world: World, url: str, csrf: bool):
    data = claim(state_student_id="LA2000001")
    if csrf:
        data["csrf_token"] = world.csrf or ""
    files = {"file": ("c.png", certificate_png("matrix"), "image/png")}
    return (world.page if csrf else world.api)("POST", url, data=data, files=files)


def bulk_upload(world: World, url: str, csrf: bool):
    archive, manifest = bulk_files(
        {"a.png": certificate_png("bulk")},
        [{"file": "a.png", **claim(state_student_id="LA3000001")}],
    )
    files = {"archive": ("a.zip", archive, "application/zip"),
             "manifest": ("m.csv", manifest, "text/csv")}  # fmt: skip
    data = {"csrf_token": world.csrf or ""} if csrf else {}
    return (world.page if csrf else world.api)("POST", url, data=data, files=files)


def sign_in_post(world: World, _url: str):
    """In a browser of its own, so the world's session cookie stays as it was."""
    with TestClient(world.client.app) as browser:
        page = browser.get("/sign-in")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        token = world.secret or "credx_000000000000_" + "A" * 43
        data = {"token": token, "csrf_token": csrf}
        return browser.post("/sign-in", data=data, follow_redirects=False)


E, D, P, T = "{evidence_id}", "{delivery_id}", "{pair_id}", "{task_id}"
OWN_ONLY = {"district_other": 404, "auditor_other": 404, "operator_other": 404}
EVIDENCE_READERS = every(200, anonymous=401, vendor=403, vendor_other=403, **OWN_ONLY)
PREVIEW = {**EVIDENCE_READERS, "operator": 403, "operator_other": 403}
ORIGINAL = every(403, anonymous=401, auditor=200, auditor_other=404, admin=200)
UPLOADERS = every(403, anonymous=401, district=201, district_other=201)
REVIEWERS = every(403, anonymous=401, operator=200, operator_other=200, admin=200)
DECIDERS = every(403, anonymous=401, operator=200, operator_other=404, admin=200)
DELIVERY_READERS = every(200, anonymous=401, district=403, district_other=403, auditor=403,
                         auditor_other=403)  # fmt: skip


def decide_on_page(world: World):
    """The page decides the second pair: the API's row decides the first."""
    data = {"decision": "same", "csrf_token": world.csrf or ""}
    return world.page("POST", f"/review/{world.pair_ids[1]}", data=data)


AUDITORS = every(403, anonymous=401, auditor=200, auditor_other=200, admin=200)
AUDITOR_OWN = {**AUDITORS, "auditor_other": 404}
DISTRICTS = every(403, anonymous=401, district=200, district_other=200)
DISTRICT_OWN = {**DISTRICTS, "district_other": 404}


def as_page(expected: dict[str, int], signed_out: int = 303) -> dict[str, int]:
    return {**expected, "anonymous": signed_out}


Request = Callable[[World, str], object]
REPORT_QUERY = "?state=LA&year=2025-26&by=nothing"
TABLE: dict[tuple[str, str], tuple[Request, dict[str, int]]] = {
    ("GET", "/healthz"): (lambda w, u: w.api("GET", u), every(200)),
    ("GET", "/openapi.json"): (lambda w, u: w.api("GET", u), every(200)),
    ("GET", "/docs"): (lambda w, u: w.api("GET", u), every(200)),
    ("GET", "/docs/oauth2-redirect"): (lambda w, u: w.api("GET", u), every(200)),
    ("GET", "/redoc"): (lambda w, u: w.api("GET", u), every(200)),
    ("GET", "/static"): (lambda w, u: w.api("GET", u + "/credx.css"), every(200)),
    ("GET", "/api/v1/evidence"): (
        lambda w, u: w.api("GET", u),
        every(200, anonymous=401, vendor=403, vendor_other=403),
    ),
    ("GET", f"/api/v1/evidence/{E}"): (lambda w, u: w.api("GET", u), EVIDENCE_READERS),
    ("GET", f"/api/v1/evidence/{E}/preview"): (lambda w, u: w.api("GET", u), PREVIEW),
    ("GET", f"/api/v1/evidence/{E}/original"): (lambda w, u: w.api("GET", u), ORIGINAL),
    ("POST", "/api/v1/evidence"): (lambda w, u: multipart_upload(w, u, False), UPLOADERS),
    ("POST", "/api/v1/evidence/bulk"): (
        lambda w, u: bulk_upload(w, u, False),
        every(403, anonymous=401, district=200, district_other=200),
    ),
    ("GET", "/api/v1/deliveries"): (lambda w, u: w.api("GET", u), DELIVERY_READERS),
    ("GET", f"/api/v1/deliveries/{D}"): (
        lambda w, u: w.api("GET", u),
        {**DELIVERY_READERS, "vendor_other": 404},
    ),
    ("GET", "/api/v1/link/review"): (lambda w, u: w.api("GET", u), REVIEWERS),
    ("POST", f"/api/v1/link/review/{P}"): (
        lambda w, u: w.api("POST", u, json={"decision": "different"}),
        DECIDERS,
    ),
    ("GET", "/review"): (lambda w, u: w.page("GET", u), as_page(REVIEWERS)),
    ("GET", "/deliveries"): (lambda w, u: w.page("GET", u), as_page(DELIVERY_READERS)),
    ("POST", f"/review/{P}"): (
        lambda w, _u: decide_on_page(w),
        as_page({**DECIDERS, "operator": 303, "admin": 303}),
    ),
    ("GET", "/"): (lambda w, u: w.page("GET", u), as_page(every(200))),
    ("GET", "/sign-in"): (lambda w, u: w.page("GET", u), every(200)),
    ("POST", "/sign-in"): (sign_in_post, every(303, anonymous=401)),
    # no identity provider is configured here: agency sign-in is not offered (tests/web/test_oidc)
    ("GET", "/sign-in/oidc"): (lambda w, u: w.page("GET", u), every(404)),
    ("GET", "/sign-in/oidc/callback"): (lambda w, u: w.page("GET", u), every(404)),
    ("POST", "/sign-out"): (
        lambda w, u: w.page("POST", u, data={"csrf_token": w.csrf or ""}),
        every(303),
    ),
    ("POST", "/uploads"): (
        lambda w, u: multipart_upload(w, u, True),
        as_page(every(403, district=303, district_other=303)),
    ),
    ("POST", "/uploads/bulk"): (
        lambda w, u: bulk_upload(w, u, True),
        as_page(every(403, district=200, district_other=200)),
    ),
    ("GET", f"/evidence/{E}"): (lambda w, u: w.page("GET", u), as_page(EVIDENCE_READERS)),
    ("GET", f"/evidence/{E}/preview"): (lambda w, u: w.page("GET", u), as_page(PREVIEW)),
    ("GET", f"/evidence/{E}/original"): (lambda w, u: w.page("GET", u), as_page(ORIGINAL)),
    ("POST", "/api/v1/audit/tasks/next"): (lambda w, u: w.api("POST", u), AUDITORS),
    ("GET", f"/api/v1/audit/tasks/{T}"): (lambda w, u: w.api("GET", u), AUDITOR_OWN),
    ("POST", f"/api/v1/audit/tasks/{T}/findings"): (  # the task is final already: 409
        lambda w, u: w.api("POST", u, json={"outcome": "verified"}),
        {**AUDITOR_OWN, "auditor": 409, "admin": 409},
    ),
    ("POST", f"/api/v1/audit/tasks/{T}/release"): (  # final and held by nobody: not theirs
        lambda w, u: w.api("POST", u),
        {**AUDITOR_OWN, "auditor": 403, "admin": 403},
    ),
    ("POST", f"/api/v1/audit/tasks/{T}/undo"): (  # final, judged by nobody here: 409
        lambda w, u: w.api("POST", u),
        {**AUDITOR_OWN, "auditor": 409, "admin": 409},
    ),
    ("GET", "/audit/results"): (
        lambda w, u: w.page("GET", u),
        as_page(every(403, auditor=200, auditor_other=200, operator=200, operator_other=200,
                      admin=200)),
    ),
    ("GET", "/audit/results/{plan_id}.csv"): (
        lambda w, u: w.page("GET", "/audit/results/matrix.csv"),
        as_page(every(403, auditor=200, auditor_other=404, operator=200, operator_other=404,
                      admin=200)),
    ),
    ("GET", "/api/v1/audit/findings"): (lambda w, u: w.api("GET", u), DISTRICTS),
    ("GET", f"/api/v1/audit/findings/{T}"): (lambda w, u: w.api("GET", u), DISTRICT_OWN),
    ("POST", f"/api/v1/audit/findings/{T}/response"): (
        lambda w, u: w.api("POST", u, json={"explanation": "matrix"}),
        {**DISTRICT_OWN, "district": 201},
    ),
    ("GET", "/audit"): (lambda w, u: w.page("GET", u), as_page(AUDITORS)),
    ("GET", "/audit/findings"): (lambda w, u: w.page("GET", u), as_page(DISTRICTS)),
    ("POST", f"/audit/findings/{T}/response"): (  # after the API row: answered already
        lambda w, u: w.page(
            "POST",
            u,
            data={"csrf_token": w.csrf or "", "explanation": "m"},
            files={"file": ("", b"")},
        ),
        as_page({**DISTRICT_OWN, "district": 409}),
    ),
    # dashboard: operators and admins; an operator of another state sees its own state's panels
    ("GET", "/api/v1/dashboard/{name}"): (
        lambda w, u: w.api("GET", "/api/v1/dashboard/audits"),
        every(403, anonymous=401, operator=200, operator_other=200, admin=200),
    ),
    ("GET", "/dashboard"): (
        lambda w, u: w.page("GET", u),
        as_page(every(403, operator=200, operator_other=200, admin=200)),
    ),
    ("GET", f"/dashboard/deliveries/{D}"): (
        lambda w, u: w.page("GET", u),
        as_page({**DELIVERY_READERS, "vendor_other": 404}),
    ),
    ("GET", "/metrics"): (lambda w, u: w.api("GET", u), every(404)),  # loopback or its token
    # attainment reports of LA: a state role of LA (or an admin) passes the policy and meets the
    # bad grouping (422); another state's role gets 404, roles without reports 403
    ("GET", "/api/v1/reports/attainment"): (
        lambda w, u: w.api("GET", u + REPORT_QUERY),
        every(
            403,
            anonymous=401,
            auditor=422,
            operator=422,
            admin=422,
            auditor_other=404,
            operator_other=404,
        ),
    ),
    ("GET", "/reports/attainment.{fmt}"): (
        lambda w, u: w.page("GET", "/reports/attainment.csv" + REPORT_QUERY),
        as_page(
            every(403, auditor=422, operator=422, admin=422, auditor_other=404, operator_other=404)
        ),
    ),
    ("GET", "/reports/attainment"): (
        lambda w, u: w.page("GET", u + REPORT_QUERY),
        as_page(
            every(403, auditor=422, operator=422, admin=422, auditor_other=404, operator_other=404)
        ),
    ),
}
# Listings answer 200 to foreign tenants, without the foreign records:
VISIBLE_IN_LIST = {
    "/api/v1/evidence": {"district", "auditor", "operator", "admin"},
    "/api/v1/deliveries": {"operator", "operator_other", "vendor", "admin"},
}


def served_routes(api) -> set[tuple[str, str]]:
    """(method, path) of every route, descending into included routers."""
    routes = set()
    for route in api.routes:
        included = getattr(route, "original_router", None)  # FastAPI >= 0.16x includes lazily
        if included is not None:
            routes |= served_routes(included)
            continue
        if isinstance(route, Mount):
            routes.add(("GET", route.path))
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                routes.add((method, route.path))
    return routes


def test_the_table_covers_every_route(app):
    api = create_app(app)
    assert served_routes(api) - set(TABLE) == set()
    assert set(TABLE) - served_routes(api) == set()
    assert any(isinstance(r, APIRoute) for r in api.routes)


def build_world(app, tmp_path, role: str) -> World:
    make_vendor(app, "nccer")
    make_vendor(app, "pearson", "Pearson VUE")
    delivery = write_file(tmp_path, "results.csv", csv_text(exam_rows(3)))
    delivery_id = ingest_file(app, delivery, "nccer", actor="test").delivery_id
    client = TestClient(create_app(app), base_url="http://testserver")
    own = make_token(app, "district", "LA", "036")
    evidence_id = upload(client, own).json()["id"]
    first, second, third = (f"exam:{delivery_id}:{row}" for row in (1, 2, 3))
    pair_ids = (open_pair(app, "LA", first, second), open_pair(app, "LA", first, third))
    spec = ROLES[role]
    secret = make_token(app, *spec[:3], vendor=spec[3]) if spec else None
    csrf = None
    if secret:
        with session_scope(app.engine) as session:
            token = TokenService(session).authenticate(secret)
            opened = SessionStore(session).open(token, hours=1)
        client.cookies.set(SESSION_COOKIE, opened.cookie_value)
        csrf = opened.record.csrf_secret
    return World(client, secret, csrf, evidence_id, delivery_id, tmp_path, pair_ids,
                 final_discrepancy(app, tmp_path, evidence_id))  # fmt: skip


def final_discrepancy(app, tmp_path, evidence_id: str) -> int:
    """The own upload drawn for audit, its finding final: a discrepancy (rows set directly)."""
    with session_scope(app.engine) as session:
        make_plan(session, "matrix")
        make_draw(session, "matrix", tmp_path / "m.csv")
        task = session.exec(select(AuditTask).where(AuditTask.evidence_id == evidence_id)).one()
        task.status, task.final_outcome, task.final_type = "final", "discrepancy", "missing"
        task.final_at = utcnow()
        session.add(task)
        return task.id


@pytest.mark.parametrize("role", list(ROLES))
def test_every_endpoint_answers_each_role_exactly(app, tmp_path, role):
    world = build_world(app, tmp_path, role)
    wrong = []
    with world.client:
        last = sorted(TABLE.items(), key=lambda item: item[0][1] == "/sign-out")  # ends session
        for (method, path), (send, expected) in last:
            url = (path.replace(E, world.evidence_id).replace(D, str(world.delivery_id))
                   .replace(P, str(world.pair_ids[0])).replace(T, str(world.task_id)))
            response = send(world, url)
            if response.status_code != expected[role]:
                wrong.append((method, path, expected[role], response.status_code,
                              response.text[:120]))  # fmt: skip
            elif path in VISIBLE_IN_LIST and response.status_code == 200:
                ids = {str(row.get("id", row.get("delivery_id"))) for row in response.json()}
                target = world.evidence_id if "evidence" in path else str(world.delivery_id)
                if (target in ids) != (role in VISIBLE_IN_LIST[path]):
                    wrong.append((method, path, "listing", sorted(ids), target))
    assert wrong == []
