"""Attack drills: what an outsider or a curious tenant can send must not break or leak.

Routes are enumerated from the running app (its OpenAPI and its route table),
so a route added later is drilled without touching this file.  Every drill
captures all log output and checks it for student data and token secrets.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlmodel import func, select

from exchange.evidence.models import Evidence
from kernel.database import session_scope
from tests.drills.tenants import (
    ROLES,
    Tenants,
    csrf_of_session,
    on_postgresql,
    seed,
    signed_in,
)
from tests.web.factories import CLAIM, bearer, bulk_files, certificate_png, claim
from tests.web.live import credx_serve
from web.app import create_app
from web.auth import SESSION_COOKIE

EXAMPLES_PER_OPERATION = 8
PAYLOADS = (
    "' OR '1'='1",
    "1' OR 1=1 --",
    "'; DROP TABLE evidence; --",
    '" OR ""="',
    "x' UNION SELECT student_name, birth_date FROM evidence --",
    "LA%' OR state LIKE '%",
    "../../../../../../etc/passwd",
    "..\\..\\..\\..\\windows\\win.ini",
    "....//....//....//etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/etc/passwd",
    "../canary.txt",
    "nul\x00byte",
)
SYSTEM_FILE = "root:x:0:"  # /etc/passwd read back would contain this


@pytest.fixture
def tenants(app, tmp_path) -> Tenants:
    return seed(app, tmp_path / "seed")


@pytest.fixture
def logs(caplog) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_pii_logged(logs: pytest.LogCaptureFixture, tenants: Tenants) -> None:
    text = logs.text + "".join(str(record.args) for record in logs.records)
    found = [value for value in tenants.pii() if value in text]
    assert not found, f"{len(found)} student value(s) or token secret(s) in the log"


def assert_safe(response, tenants: Tenants, role: str, what: str) -> None:
    """No server error, no foreign tenant's data, no system file, no PII in an error.

    An id the request itself named may be echoed ("no evidence <id>"): that tells
    the caller nothing it did not send.
    """
    body, sent = response.text, str(response.request.url)
    assert response.status_code < 500, (what, response.status_code, body[:300])
    leaked = [m for m in tenants.foreign_marks(role) if m in body and m not in sent]
    assert not leaked, (what, role, leaked)
    assert SYSTEM_FILE not in body, what
    if response.status_code >= 400:  # an error message names fields, never their values
        assert not [v for v in tenants.pii() if v in body], (what, body[:300])


def plant(client: TestClient, value: str) -> None:
    """Set the session cookie as a browser holding it would send it (the client's domain)."""
    client.cookies.set(SESSION_COOKIE, value, domain="testserver.local")


def evidence_count(app) -> int:
    with session_scope(app.engine) as session:
        return session.exec(select(func.count()).select_from(Evidence)).one()


# --- schemathesis over the whole OpenAPI, every role ----------------------------------------


def fuzz(operation, tenants: Tenants, role: str) -> None:
    headers = bearer(tenants.secrets[role])

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case) -> None:
        response = case.call(headers=headers)
        assert_safe(response, tenants, role, f"{case.method} {case.formatted_path}")

    run()


@on_postgresql
def test_fuzzing_every_operation_as_every_role_breaks_nothing_and_leaks_nothing(app, tenants, logs):
    api = create_app(app)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        for role in tenants.secrets:
            fuzz(operation, tenants, role)
    assert_no_pii_logged(logs, tenants)


# --- SQL injection and path traversal in every parameter and form field ---------------------


def routes(router) -> list[APIRoute]:
    """Every API and page route, through included routers (FastAPI >= 0.16x keeps them)."""
    found = []
    for route in router.routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += routes(included)
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def form_fields(route: APIRoute) -> dict[str, bool]:
    """A multipart route's fields (declared or in its OpenAPI extra): name -> is a file."""
    body = (route.openapi_extra or {}).get("requestBody", {}).get("content", {})
    schema = body.get("multipart/form-data", {}).get("schema", {})
    fields = {name: spec.get("format") == "binary" for name, spec in
              schema.get("properties", {}).items()}  # fmt: skip
    fields.update({param.name: False for param in route.dependant.body_params})
    return fields


def requests_for(route: APIRoute, method: str, tenants: Tenants):
    """(description, request keyword arguments) with one payload in one place each."""
    paths = [p.name for p in route.dependant.path_params]
    queries = [p.name for p in route.dependant.query_params]
    fields = form_fields(route) if method == "POST" else {}
    base = {name: tenants.id_of(name)[0] for name in paths}

    def url(values: dict[str, str]) -> str:
        return route.path_format.format(**{k: quote(v, safe="") for k, v in values.items()})

    def form(**changes) -> dict:
        data = {n: CLAIM.get(n, "x") for n, is_file in fields.items() if not is_file}
        files = {n: ("c.png", certificate_png("drill"), "image/png")
                 for n, is_file in fields.items() if is_file}  # fmt: skip
        for name, value in changes.items():
            if fields[name]:
                files[name] = (value, certificate_png("drill"), "image/png")
            else:
                data[name] = value
        return {"data": data, "files": files} if files else {"data": data} if data else {}

    for name in paths:
        for value in (*PAYLOADS, *tenants.id_of(name)):
            yield f"{name}={value!r}", {"url": url({**base, name: value}), **form()}
    for name in queries:
        for value in PAYLOADS:
            yield f"?{name}={value!r}", {"url": url(base), "params": {name: value}, **form()}
    for name in fields:
        for value in PAYLOADS:
            yield f"form {name}={value!r}", {"url": url(base), **form(**{name: value})}


def roles_past_the_door(client, route, method, tenants, cookies) -> list[str]:
    """The roles a well-formed request of this route is not refused for (401/403/303 to
    sign-in): payloads go to every one of them, so a payload reaches the queries.  A
    POST is one role's (each decodes an image): the first that gets in."""
    _, request = next(requests_for(route, method, tenants), ("", {"url": route.path_format}))
    capable = []
    for role in ROLES:
        plant(client, cookies[role])
        response = client.request(method, headers=bearer(tenants.secrets[role]),
                                  follow_redirects=False, **request)  # fmt: skip
        if response.status_code not in (401, 403) and not response.is_redirect:
            capable.append(role)
    return (capable[:1] if method == "POST" else capable) or list(ROLES)[:1]


def files_outside_the_store(root: Path, home: Path) -> dict[str, bytes]:
    """Every file a request could have touched by escaping credx's own directories."""
    inside = (home / "blobs", home / "tmp")
    return {str(path): path.read_bytes() for path in root.rglob("*")
            if path.is_file() and not any(path.is_relative_to(d) for d in inside)
            and not path.name.startswith("credx.db")}  # fmt: skip


def test_injection_and_traversal_payloads_in_every_parameter(app, tenants, tmp_path, logs):
    api = create_app(app)
    (tmp_path / "canary.txt").write_text("outside the store")
    before = files_outside_the_store(tmp_path, app.settings.home)
    with TestClient(api) as client:
        cookies = {}
        for role, secret in tenants.secrets.items():
            signed_in(client, secret)
            cookies[role] = client.cookies.get(SESSION_COOKIE)
            client.cookies.clear()
        tried = 0
        for route in routes(api):
            for method in sorted(route.methods - {"HEAD"}):
                capable = roles_past_the_door(client, route, method, tenants, cookies)
                for what, request in requests_for(route, method, tenants):
                    for role in capable:
                        plant(client, cookies[role])
                        response = client.request(method, headers=bearer(tenants.secrets[role]),
                                                  follow_redirects=False, **request)  # fmt: skip
                        assert_safe(response, tenants, role, f"{method} {route.path} {what}")
                        tried += 1
    assert tried > 300
    assert files_outside_the_store(tmp_path, app.settings.home) == before
    assert evidence_count(app) >= 3  # the seeded uploads are still there
    assert_no_pii_logged(logs, tenants)


def test_a_bulk_archive_cannot_write_outside_the_store(app, tenants, tmp_path, logs):
    escape = "../../../../../../" + str(tmp_path.relative_to("/")) + "/escaped.png"
    absolute = str(tmp_path / "absolute.png")
    archive, manifest = bulk_files(
        {escape: certificate_png("a"), absolute: certificate_png("b")},
        [{"file": escape, **claim(state_student_id="LA7000001")},
         {"file": absolute, **claim(state_student_id="LA7000002")}],
    )  # fmt: skip
    with TestClient(create_app(app)) as client:
        files = {"archive": ("a.zip", archive, "application/zip"),
                 "manifest": ("m.csv", manifest, "text/csv")}  # fmt: skip
        response = client.post("/api/v1/evidence/bulk", files=files,
                               headers=bearer(tenants.secrets["district"]))  # fmt: skip
    assert_safe(response, tenants, "district", "bulk with escaping names")
    assert not (tmp_path / "escaped.png").exists() and not Path(absolute).exists()
    assert_no_pii_logged(logs, tenants)


# --- session fixation and CSRF on the web forms ---------------------------------------------


def test_a_planted_session_cookie_is_never_adopted_and_the_id_rotates(app, tenants, logs):
    planted = "attacker-chosen-session-id-0123456789abcdef"
    with TestClient(create_app(app)) as client:
        plant(client, planted)
        assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"
        signed_in(client, tenants.secrets["district"])
        first = client.cookies.get(SESSION_COOKIE)
        assert first and first != planted
        signed_in(client, tenants.secrets["district"])  # signing in again: a new id
        second = client.cookies.get(SESSION_COOKIE)
        assert second != first
    with TestClient(create_app(app)) as attacker:
        plant(attacker, planted)
        assert attacker.get("/", follow_redirects=False).status_code == 303
        plant(attacker, second)
        assert attacker.get("/", follow_redirects=False).status_code == 200  # the real one works
    assert_no_pii_logged(logs, tenants)


def page_posts(api) -> list[str]:
    return [r.path for r in routes(api) if "POST" in r.methods and not r.path.startswith("/api/")]


def test_every_form_post_without_the_right_csrf_token_is_refused(app, tenants, logs):
    api = create_app(app)
    before = evidence_count(app)
    with TestClient(api) as client:
        signed_in(client, tenants.secrets["district"])
        good = csrf_of_session(client)
        posts = [p for p in page_posts(api) if "{" not in p]
        assert {"/sign-in", "/sign-out", "/uploads", "/uploads/bulk"} <= set(posts)
        for path in posts:
            for token in ({}, {"csrf_token": "forged-" + good[7:]}):
                form = {**claim(), "token": tenants.secrets["district"], **token}
                files = {"file": ("c.png", certificate_png("csrf"), "image/png")}
                response = client.post(path, data=form, files=files, follow_redirects=False)
                assert response.status_code == 403, (path, token, response.status_code)
        assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
        upload = client.post("/uploads", data={**claim(), "csrf_token": good},
                             files={"file": ("c.png", certificate_png("ok"), "image/png")},
                             follow_redirects=False)  # fmt: skip
        assert upload.status_code == 303  # the genuine form works
    assert evidence_count(app) == before + 1
    assert_no_pii_logged(logs, tenants)


# --- oversized headers and bodies, against a real uvicorn -----------------------------------


def raw_status(port: int, head: bytes, body: bytes = b"") -> int:
    """The status a raw HTTP/1.1 exchange gets (httpx would refuse to send some of these)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        raw.sendall(head + body)
        answer = raw.recv(65536).split(b"\r\n", 1)[0]
    return int(answer.split()[1])


def file_part(total: int, size: int = 1 << 16):
    """A multipart body, sent chunked (no Content-Length), whose file part never ends."""
    yield (b'--b\r\nContent-Disposition: form-data; name="file"; filename="c.png"\r\n'
           b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n")  # fmt: skip
    for _ in range(total // size):
        yield b"\0" * size


@pytest.mark.slow
@on_postgresql
def test_oversized_headers_and_bodies_are_refused_not_crashed(app, cli_env, tenants):
    secret = tenants.secrets["district"]
    env = {**cli_env, "CREDX_UPLOAD_MAX_BYTES": str(1 << 20)}
    with credx_serve(env) as (base, process):
        port = int(base.rsplit(":", 1)[1])
        big_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"
        assert raw_status(port, big_header) in (400, 431)
        many = b"".join(b"X-H%d: %s\r\n" % (n, b"b" * 90) for n in range(600))
        assert raw_status(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n") in (
            400, 431,
        )  # fmt: skip
        declared = (f"POST /api/v1/evidence HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    f"{secret}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                    f"Content-Length: {10**12}\r\n\r\n").encode()  # fmt: skip
        assert raw_status(port, declared) == 413
        streamed = httpx.post(f"{base}/api/v1/evidence", headers={**bearer(secret),
                              "Content-Type": "multipart/form-data; boundary=b"},
                              content=file_part(3 << 20), timeout=60)  # fmt: skip
        assert streamed.status_code == 413, streamed.text
        form = httpx.post(f"{base}/sign-in", data={"token": "t" * (4 << 20)}, timeout=60)
        assert 400 <= form.status_code < 500
        assert httpx.get(f"{base}/healthz").status_code == 200  # and it still serves
    log = process.stderr.read().decode(errors="replace")
    assert "Traceback" not in log
    assert not [value for value in tenants.pii() if value in log]
