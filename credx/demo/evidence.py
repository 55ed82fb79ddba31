"""The demo's evidence step: a district uploads certificates, an auditor sees the flags.

Kept apart from `credx.demo` so the walkthrough stays readable; it goes through
the same tokens and `EvidenceService` the web app uses.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from access.principals import Role
from access.tokens import TokenService, TokenSpec, principal_of
from credx.app import App
from credx.demo.sandbox import show_sandbox
from eventlog.log import cli_actor
from exchange.evidence.refusals import EvidenceRefused
from exchange.evidence.services import EvidenceService
from kernel.database import session_scope

CLAIM = {
    "state_student_id": "LA4400123", "student_name": "Demo Student", "birth_date": "2008-05-02",
    "school_code": "036005", "school_year": "2025-26", "graduation_pathway": "Jump Start TOPS Tech",
    "credential_code": "ADESK001", "date_earned": "2025-10-15",
}  # fmt: skip


def _certificate(path: Path) -> Path:
    image = Image.new("RGB", (1400, 1000), (252, 250, 242))
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 1370, 970), outline=(30, 60, 140), width=10)
    draw.text((520, 420), "Autodesk Certified User: AutoCAD", fill=(0, 0, 0))
    draw.text((560, 480), "awarded to Demo Student", fill=(0, 0, 0))
    image.save(path, "PNG")
    return path


def _tokens(app: App) -> tuple:
    with session_scope(app.engine) as session:
        tokens = TokenService(session)
        district = tokens.create(
            TokenSpec(Role.DISTRICT, state="LA", district="036", label="demo district 036"),
            actor=cli_actor(),
        )
        auditor = tokens.create(
            TokenSpec(Role.AUDITOR, state="LA", label="demo LA auditor"), actor=cli_actor()
        )
    return principal_of(district.token), principal_of(auditor.token)


def show_evidence(app: App, say) -> dict:
    """Upload a certificate, the same image for a second student, a disguised file and a
    PDF bomb."""
    folder = app.settings.home / "evidence-demo"
    folder.mkdir(mode=0o700, exist_ok=True)
    scan = _certificate(folder / "certificate.png")
    disguised = folder / "certificate-with-page.png"
    disguised.write_bytes(scan.read_bytes() + b"<html><script>alert(1)</script></html>")
    district, auditor = _tokens(app)
    summary: dict = {}
    uploads = (
        ("upload", scan, CLAIM),
        ("same image, another student", scan, {**CLAIM, "state_student_id": "LA4400999"}),
    )
    for label, path, claim in uploads:
        with session_scope(app.engine) as session:
            receipt = EvidenceService(session, app, district).submit(claim, path, path.name)
        summary[label] = receipt.as_json()
        flags = ", ".join(receipt.as_json()["flags"]) or "no flags"
        say(f"district LA-036 {label}: evidence {receipt.id} {receipt.status} ({flags})")
    try:
        with session_scope(app.engine) as session:
            EvidenceService(session, app, district).submit(CLAIM, disguised, disguised.name)
    except EvidenceRefused as refusal:
        summary["refused"] = refusal.as_json()
        say(f"  a PNG with a web page appended is refused ({refusal.code}): {refusal}")
    summary["sandbox"] = show_sandbox(app, district, CLAIM, say)
    summary["auditor"] = _auditor_view(app, auditor, say)
    return summary


def _auditor_view(app: App, auditor, say) -> dict:
    with session_scope(app.engine) as session:
        service = EvidenceService(session, app, auditor)
        flagged = service.list(flagged=True)
        if not flagged:
            return {"flagged": 0}
        preview = service.preview(flagged[0].id)
    path = app.settings.reports_dir / f"evidence-{flagged[0].id}-preview.png"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(preview)
    say(
        f"LA auditor sees {len(flagged)} flagged upload(s); the preview (re-rendered, no "
        f"metadata, logged) is at {path}"
    )
    return {"flagged": len(flagged), "preview": str(path)}
