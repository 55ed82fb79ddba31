"""The demo's sandbox step: a district uploads a small PDF bomb; the decoder sandbox refuses it.

The file is a one-page PDF whose content stream is a few tens of kilobytes of zlib that
inflate past the PDF budget (`upload_pdf_max_inflated_mb`).  It goes through the same
`EvidenceService` the web app uses; the checks run in a limited child process
(`exchange.evidence.sandbox`), so this process never holds what the file inflates to:
the demo shows the refusal's code, its event, and this process's memory before and after.
"""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path

from sqlmodel import col, select

from credx.app import App
from eventlog.models import Event
from exchange.evidence.events import EvidenceEvent
from exchange.evidence.refusals import EvidenceRefused
from exchange.evidence.services import EvidenceService
from kernel.database import session_scope


def pdf_bomb(inflated: int) -> bytes:
    """One page whose content stream is `inflated` bytes of spaces, deflated (about 1 KB
    per MiB), as a PDF with a correct cross-reference table."""
    packer = zlib.compressobj(9)
    content = b"".join(packer.compress(b" " * (1 << 20)) for _ in range(inflated >> 20))
    content += packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
        + content + b"\nendstream",
    ]  # fmt: skip
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))  # fmt: skip
    return out.getvalue()


def resident_mb() -> float:
    """This process's resident memory now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def show_sandbox(app: App, district, claim: dict, say) -> dict:
    """Upload the bomb as `district`; say what refused it, the event, and the memory."""
    budget = app.settings.upload_pdf_max_inflated_mb
    inflated = (budget + 4) << 20
    path = app.settings.home / "evidence-demo" / "certificate-bomb.pdf"
    path.write_bytes(pdf_bomb(inflated))
    before = resident_mb()
    try:
        with session_scope(app.engine) as session:
            EvidenceService(session, app, district).submit(claim, path, path.name)
        refused = None
    except EvidenceRefused as refusal:
        refused = refusal
    after = resident_mb()
    event = _last_refusal(app)
    size_kb, inflated_mb = path.stat().st_size / 1024, inflated >> 20
    summary = {
        "size": path.stat().st_size, "inflated": inflated, "event": event,
        "code": refused.code if refused else None,
        "http_status": refused.http_status if refused else None,
        "resident_mb_before": round(before, 1), "resident_mb_after": round(after, 1),
    }  # fmt: skip
    if refused is None:
        say(f"  a {size_kb:.0f} KB PDF bomb was ACCEPTED: the sandbox did not hold")
        return summary
    say(f"  a {size_kb:.0f} KB PDF that inflates to {inflated_mb} MiB (budget {budget} MiB) is "
        f"refused in the decoding sandbox: {refused.http_status} {refused.code}; event "
        f"{event['seq']} {event['action']} (code {event['code']})")  # fmt: skip
    say(f"  this process never held it: {before:.0f} MB resident before, {after:.0f} MB "
        f"after (a separate, limited child decoded it; `credx log show` lists the event)")
    return summary


def _last_refusal(app: App) -> dict:
    with session_scope(app.engine) as session:
        event = session.exec(
            select(Event)
            .where(Event.action == str(EvidenceEvent.EVIDENCE_REFUSED))
            .order_by(col(Event.seq).desc())
            .limit(1)
        ).first()
    if event is None:
        return {"seq": None, "action": None, "code": None}
    return {"seq": event.seq, "action": event.action, "code": json.loads(event.payload)["code"]}
