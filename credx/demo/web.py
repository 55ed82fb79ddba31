"""The demo's web step: the real app on a loopback port, called over HTTP with tokens.

Shows what `credx serve` gives a district and its state: an upload through
`POST /api/v1/evidence`, the district's own listing, another district's token
told "not found", and a vendor token refused the evidence API.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from access.principals import Role
from access.tokens import TokenService, TokenSpec
from credx.app import App
from credx.demo.evidence import CLAIM
from eventlog.log import cli_actor
from kernel.database import session_scope


def _token(app: App, role: Role, state: str, district: str | None = None, vendor=None) -> str:
    spec = TokenSpec(role, state, district, vendor, label=f"demo {role}", expires_days=1)
    with session_scope(app.engine) as session:
        return TokenService(session).create(spec, actor=cli_actor()).secret


def _serve(app: App) -> tuple[uvicorn.Server, threading.Thread, str]:
    from web.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def show_web(app: App, certificate: Path, say) -> dict:
    own = _token(app, Role.DISTRICT, "LA", "036")
    other = _token(app, Role.DISTRICT, "LA", "037")
    vendor = _token(app, Role.VENDOR, "LA", vendor="nccer")
    server, thread, base = _serve(app)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            claim = {**CLAIM, "state_student_id": "LA4400777"}
            files = {"file": (certificate.name, certificate.read_bytes(), "image/png")}
            sent = client.post("/api/v1/evidence", data=claim, files=files,
                               headers={"Authorization": f"Bearer {own}"})  # fmt: skip
            created = sent.json()
            listed = client.get("/api/v1/evidence", headers={"Authorization": f"Bearer {own}"})
            foreign = client.get(f"/api/v1/evidence/{created['id']}",
                                 headers={"Authorization": f"Bearer {other}"})  # fmt: skip
            refused = client.get("/api/v1/evidence", headers={"Authorization": f"Bearer {vendor}"})
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    say(
        f"web API at {base}: district LA-036 POST /api/v1/evidence -> {sent.status_code} "
        f"{created.get('id')}; its listing holds {len(listed.json())} upload(s); district "
        f"LA-037 asking for it -> {foreign.status_code}; a vendor token -> {refused.status_code}"
    )
    say("  `credx tokens create --role district --state LA --district 036`, then `credx serve` "
        "and sign in at http://127.0.0.1:8000/")  # fmt: skip
    return {"upload_status": sent.status_code, "upload": created, "listed": len(listed.json()),
            "foreign_district_status": foreign.status_code,
            "vendor_status": refused.status_code}  # fmt: skip
