"""Structured logs: one JSON object per line, and no student data or token in any of them."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from kernel.logs import JsonFormatter, TextFormatter, log_config, scrub
from tests.web.factories import CLAIM, bearer, make_token, upload
from web.app import create_app

SECRET = "credx_0123456789ab_" + "A" * 43
PII = ("Ana Morales", "Ana+Morales", "Ana%20Morales", "2008-03-14", "LA1000001")


@pytest.mark.parametrize(
    ("raw", "kept", "gone"),
    [
        ("GET /api/v1/evidence?student_name=Ana+Morales HTTP/1.1", "/api/v1/evidence", "Ana"),
        (f"Authorization: Bearer {SECRET}", "Authorization", SECRET),
        (f"bad token {SECRET} presented", "bad token", "AAAA"),
        ("birth_date=2008-03-14, school=036001", "school=036001", "2008-03-14"),
        ('{"student_name": "Ana Morales", "status": "ok"}', '"status": "ok"', "Morales"),
        ("Key (state_student_id)=(LA1000001) already exists", "already exists", "LA1000001"),
        ("[SQL: INSERT ...]\n[parameters: ('Ana', '2008-03-14')]", "[SQL: INSERT", "Ana"),
        ("state_student_id: LA1000001", "state_student_id", "LA1000001"),
    ],
)
def test_scrub_keeps_the_context_and_drops_the_values(raw, kept, gone):
    assert kept in scrub(raw) and gone not in scrub(raw)


def record(message: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    made = logging.LogRecord("credx.test", logging.ERROR, __file__, 1, message, args, exc_info)
    made.__dict__.update(extra)
    return made


def test_json_lines_carry_the_fields_and_scrub_extras_and_tracebacks():
    try:
        raise ValueError("student_name='Ana Morales' rejected")
    except ValueError:
        exc_info = sys.exc_info()
    line = JsonFormatter().format(record("failed for %s", "birth_date=2008-03-14",
                                         exc_info=exc_info, token=SECRET, status=500,
                                         request_id="r1234567"))  # fmt: skip
    fields = json.loads(line)
    assert {"time", "level", "logger", "message", "exception"} <= set(fields)
    assert (fields["level"], fields["logger"], fields["status"]) == ("ERROR", "credx.test", 500)
    assert fields["token"] == "[scrubbed]" and fields["request_id"] == "r1234567"
    assert not any(value in line for value in (*PII, SECRET))
    text = TextFormatter().format(record("x", exc_info=exc_info, birth_date="2008-03-14"))
    assert "ValueError" in text and not any(value in text for value in PII)


@pytest.fixture
def client(app):
    with TestClient(create_app(app), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def captured():
    """Every log line the app writes, through the formatter `credx serve` uses."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root, httpx = logging.getLogger(), logging.getLogger("httpx")  # levels as in log_config
    root.addHandler(handler)
    previous, root.level = (root.level, httpx.level), logging.INFO
    httpx.setLevel(log_config("json")["loggers"]["httpx"]["level"])
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous[0])
    httpx.setLevel(previous[1])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_requests_with_pii_and_a_token_leave_none_in_the_logs(app, client, captured):
    secret = make_token(app, "district", "LA", "036")
    assert upload(client, secret).status_code == 201  # the claim: CLAIM's name, id, birth date
    query = "student_name=Ana+Morales&birth_date=2008-03-14&state_student_id=LA1000001"
    client.get(f"/api/v1/evidence?{query}", headers=bearer(secret))
    client.get("/api/v1/evidence", headers={"Authorization": f"Bearer {SECRET}"})  # unknown: 401
    client.get("/students/LA1000001/Ana%20Morales")  # unmatched path
    client.post("/sign-in", data={"token": secret, "csrf_token": "x"})
    reply = client.get("/healthz", headers={"X-Request-ID": "0f1e2d3c-4b5a-6978"})  # a proxy's
    assert reply.headers["x-request-id"] == "0f1e2d3c-4b5a-6978"
    lines = captured.getvalue().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [p for p in parsed if p["logger"] == "credx.http"]
    assert len(requests) == 6
    assert {"time", "level", "message", "request_id", "method", "path", "status",
            "duration_ms"} <= set(requests[0])  # fmt: skip
    assert requests[0]["status"] == 201 and requests[2]["status"] == 401
    assert requests[-1]["request_id"] == "0f1e2d3c-4b5a-6978"
    assert requests[3]["path"] == "(unmatched)"
    leaked = [line for line in lines for v in (*PII, *CLAIM.values(), secret, SECRET) if v in line]
    assert leaked == []


def test_worker_logging_is_json_on_stderr_and_scrubbed(tmp_path):
    code = (
        "import logging; from kernel.logs import configure_logging; configure_logging('json');"
        "logging.getLogger('credx.worker').error('job failed: birth_date=2008-03-14');"
        "raise RuntimeError('student_name=Ana')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [line["logger"] for line in lines] == ["credx.worker", "credx"]
    assert "RuntimeError" in lines[1]["exception"]
    assert "2008-03-14" not in result.stderr and "Ana" not in result.stderr


def test_log_config_hands_uvicorn_the_scrubbing_formatter():
    config = log_config("text")
    assert config["formatters"]["credx"]["()"] == "kernel.logs.TextFormatter"
    assert config["loggers"]["uvicorn.access"]["level"] == "CRITICAL"  # credx.http instead
    assert config["loggers"]["uvicorn.error"]["propagate"] is True


def test_logging_follows_stderr_after_a_stand_in_is_closed(monkeypatch, capfd):
    """The CLI run in-process by a test configures logging while stderr is a stand-in that is
    closed afterwards: later lines go to the stderr of the moment, not to a closed file."""
    import logging.config

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    stand_in = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stand_in)
    logging.config.dictConfig(log_config("text"))
    logging.getLogger("credx.test").warning("while swapped")
    assert "while swapped" in stand_in.getvalue()
    stand_in.close()
    monkeypatch.setattr(sys, "stderr", sys.__stderr__)

    logging.getLogger("credx.test").warning("after the stand-in closed")

    err = capfd.readouterr().err
    assert "after the stand-in closed" in err and "Logging error" not in err
