"""`credx serve` for real: uvicorn on loopback, a raw socket hanging up, headless Chromium."""

from __future__ import annotations

import socket
import time

import pytest
from playwright.sync_api import sync_playwright
from sqlmodel import func, select

from exchange.evidence.models import Evidence
from kernel.database import session_scope
from tests.cli import credx
from tests.web.factories import CLAIM, certificate_png, make_token
from tests.web.live import credx_serve, launch_chromium

pytestmark = pytest.mark.slow


def test_serve_refuses_a_public_address_without_tls(tmp_path):
    env = {"CREDX_HOME": str(tmp_path)}
    result = credx("serve", "--host", "0.0.0.0", env=env, check=1)  # noqa: S104
    assert "without TLS" in result.stderr and "--behind-proxy" in result.stderr


def evidence_count(app) -> int:
    with session_scope(app.engine) as session:
        return session.exec(select(func.count()).select_from(Evidence)).one()


def hang_up_mid_upload(base: str, secret: str, uploads) -> None:
    """Declare 5 MB, send 1 MB of a file part, see it spooled to disk, close the connection."""
    boundary = "cutoff"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"c.png\"\r\nContent-Type: image/png\r\n\r\n").encode()  # fmt: skip
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(
            f"POST /api/v1/evidence HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {secret}\r\nContent-Length: 5000000\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode()
            + head + b"\x89PNG\r\n\x1a\n" + b"\0" * 1_000_000
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not any(uploads.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(uploads.iterdir())  # the body was being streamed to a temp file


def wait_until_empty(directory, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while any(directory.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [path.name for path in directory.iterdir()]


def test_served_hang_up_leaves_nothing_then_a_district_uploads_in_chromium(app, cli_env, tmp_path):
    """One real server per backend (starting one costs seconds), two scenarios in order."""
    secret = make_token(app, "district", "LA", "036")
    certificate = tmp_path / "certificate.png"
    certificate.write_bytes(certificate_png("Microsoft Office Specialist"))
    with credx_serve(cli_env) as (base, _process), sync_playwright() as playwright:
        uploads = app.settings.home / "tmp" / "uploads"
        hang_up_mid_upload(base, secret, uploads)
        assert wait_until_empty(uploads) == []
        assert evidence_count(app) == 0
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(f"{base}/")
        assert page.url.endswith("/sign-in")
        page.get_by_label("Access token").fill(secret)
        page.get_by_role("button", name="Sign in").click()
        for field, value in CLAIM.items():
            page.locator(f"#{field}").fill(value)
        page.get_by_label("Certificate file").set_input_files(
            str(certificate)
        )
        page.get_by_role("button", name="Upload", exact=True).click()
        page.wait_for_url(f"{base}/?notice=uploaded")
        assert "Uploaded" in page.get_by_role("status").inner_text()
        table = page.get_by_role("table", name="My uploads")
        assert "Ana Morales" in table.inner_text() and "MICRO001" in table.inner_text()
        page.get_by_role("link", name=table.get_by_role("link").first.inner_text()).click()
        image = page.get_by_role("img", name="The uploaded certificate (re-rendered preview)")
        page.wait_for_load_state("load")
        assert image.evaluate("img => img.complete && img.naturalWidth") > 0
        browser.close()
    assert evidence_count(app) == 1
