"""The evidence API over HTTP: uploads, refusals, size caps, cut-off bodies, views."""

from __future__ import annotations

import hashlib
import json

from sqlmodel import func, select

from eventlog.models import Event
from exchange.evidence.events import EvidenceEvent
from exchange.evidence.models import Evidence
from exchange.models import StoredBlob
from kernel.database import session_scope
from tests.web.factories import (
    bearer,
    bulk_files,
    certificate_png,
    claim,
    make_token,
    noise_png,
    upload,
)

BOUNDARY = "credxboundary"


def counts(app) -> tuple[int, int]:
    with session_scope(app.engine) as session:
        evidence = session.exec(select(func.count()).select_from(Evidence)).one()
        blobs = session.exec(select(func.count()).select_from(StoredBlob)).one()
    return evidence, blobs


def leftovers(app) -> list[str]:
    return [p.name for p in (app.settings.home / "tmp" / "uploads").iterdir()]


def actions(app, subject: str) -> list[str]:
    with session_scope(app.engine) as session:
        rows = session.exec(select(Event.action).where(Event.subject == subject)).all()
    return list(rows)


def test_upload_then_list_show_preview_and_original(client, app):
    district = make_token(app, "district", "LA", "036")
    auditor = make_token(app, "auditor", "LA")
    png = certificate_png()
    response = upload(client, district, png)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "sha256", "status", "flags"} and body["flags"] == []
    assert body["sha256"] == hashlib.sha256(png).hexdigest() and body["status"] == "received"
    listed = client.get("/api/v1/evidence", headers=bearer(district)).json()
    assert [row["id"] for row in listed] == [body["id"]] and listed[0]["flags"] == []
    assert "duplicate_image_of" not in listed[0]  # which upload it repeats: auditors only
    shown = client.get(f"/api/v1/evidence/{body['id']}", headers=bearer(auditor)).json()
    assert shown["student_name"] == "Ana Morales" and shown["flags"] == []
    preview = client.get(f"/api/v1/evidence/{body['id']}/preview", headers=bearer(district))
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert preview.headers["content-type"] == "image/png"
    assert preview.headers["content-security-policy"].startswith("default-src 'none'")
    assert preview.headers["x-content-type-options"] == "nosniff"
    assert preview.headers["cache-control"] == "no-store"
    refused = client.get(f"/api/v1/evidence/{body['id']}/original", headers=bearer(district))
    assert refused.status_code == 403
    original = client.get(f"/api/v1/evidence/{body['id']}/original", headers=bearer(auditor))
    assert original.status_code == 200 and original.content == png
    assert original.headers["content-disposition"].startswith("attachment;")
    logged = actions(app, f"evidence:{body['id']}")
    assert EvidenceEvent.EVIDENCE_ORIGINAL_DOWNLOADED in logged
    assert EvidenceEvent.EVIDENCE_PREVIEW_VIEWED in logged
    assert leftovers(app) == []


def test_the_same_image_for_another_student_is_flagged_for_auditors(client, app):
    district = make_token(app, "district", "LA", "036")
    auditor = make_token(app, "auditor", "LA")
    png = certificate_png()
    first = upload(client, district, png).json()
    second = upload(client, district, png, state_student_id="LA1000002").json()
    assert second["flags"] == ["duplicate_image"]
    shown = client.get(f"/api/v1/evidence/{second['id']}", headers=bearer(auditor)).json()
    assert shown["flags"] == ["duplicate_image"] and shown["duplicate_image_of"] == first["id"]


def test_a_bad_claim_is_422_naming_the_field_and_nothing_is_stored(client, app):
    district = make_token(app, "district", "LA", "036")
    for field, value in [("school_year", "2025"), ("credential_code", "NOPE0000"),
                         ("birth_date", "2999-01-01")]:  # fmt: skip
        response = upload(client, district, **{field: value})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field
    assert counts(app) == (0, 0) and leftovers(app) == []


def test_files_that_are_not_allowed_are_415(client, app):
    district = make_token(app, "district", "LA", "036")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for content, name in [(svg, "cert.svg"), (svg, "cert.png"), (certificate_png(), "c.pdf")]:
        response = upload(client, district, content, name=name)
        assert response.status_code == 415, response.text
        assert response.json()["error"]["field"] == "file"
    assert counts(app) == (0, 0) and leftovers(app) == []


def test_an_oversized_upload_is_413_and_nothing_is_stored(client, app):
    app.settings.upload_max_bytes = 100_000
    district = make_token(app, "district", "LA", "036")
    big = noise_png(200, 200)  # about 120 kB
    assert len(big) > 100_000
    declared = upload(client, district, big)
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "too_large"
    body = multipart_body({**claim(), "file": big})
    streamed = client.post(  # no Content-Length: the cap is enforced while streaming
        "/api/v1/evidence", content=iter([body[i : i + 8192] for i in range(0, len(body), 8192)]),
        headers={**bearer(district), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )  # fmt: skip
    assert streamed.status_code == 413, streamed.text
    assert counts(app) == (0, 0) and leftovers(app) == []


def multipart_body(fields: dict[str, str | bytes]) -> bytes:
    parts = []
    for name, value in fields.items():
        if isinstance(value, bytes):
            head = f'Content-Disposition: form-data; name="{name}"; filename="cert.png"\r\n'
            head += "Content-Type: image/png\r\n"
        else:
            head, value = f'Content-Disposition: form-data; name="{name}"\r\n', value.encode()
        parts.append(f"--{BOUNDARY}\r\n{head}\r\n".encode() + value + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def test_a_body_cut_off_mid_stream_leaves_nothing_behind(client, app):
    district = make_token(app, "district", "LA", "036")
    body = multipart_body({**claim(), "file": certificate_png()})
    response = client.post(
        "/api/v1/evidence", content=body[: len(body) * 2 // 3],
        headers={**bearer(district), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )  # fmt: skip
    assert response.status_code == 400 and "cut off" in response.json()["error"]["message"]
    assert counts(app) == (0, 0) and leftovers(app) == []


def test_not_multipart_is_415_and_a_missing_file_422(client, app):
    district = make_token(app, "district", "LA", "036")
    as_json = client.post("/api/v1/evidence", headers=bearer(district), json=claim())
    assert as_json.status_code == 415
    no_file = client.post("/api/v1/evidence", headers=bearer(district), data=claim(),
                          files={"other": ("x.txt", b"x", "text/plain")})  # fmt: skip
    assert no_file.status_code == 422 and no_file.json()["error"]["field"] == "file"
    assert leftovers(app) == []


def test_bulk_upload_answers_per_line(client, app):
    district = make_token(app, "district", "LA", "036")
    archive, manifest = bulk_files(
        {"a.png": certificate_png("A"), "b.png": certificate_png("B")},
        [{"file": "a.png", **claim()},
         {"file": "b.png", **claim(state_student_id="LA1000002", school_year="2025")},
         {"file": "missing.png", **claim(state_student_id="LA1000003")}],
    )  # fmt: skip
    response = client.post(
        "/api/v1/evidence/bulk", headers=bearer(district),
        files={"archive": ("certs.zip", archive, "application/zip"),
               "manifest": ("manifest.csv", manifest, "text/csv")},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["refused"]) == (1, 2)
    lines = {line["line"]: line for line in result["lines"]}
    assert "id" in lines[1] and lines[2]["error"]["field"] == "school_year"
    assert "error" in lines[3]
    assert counts(app)[0] == 1 and leftovers(app) == []
    assert json.dumps(result).count("Ana Morales") == 0


def test_a_body_padded_out_before_its_first_part_is_413(client, app):
    district = make_token(app, "district", "LA", "036")
    app.settings.upload_max_bytes = 1024
    padding = b"x" * (300 * 1024)  # a preamble the multipart parser would skip forever
    body = padding + multipart_body({**claim(), "file": b"tiny"})
    streamed = client.post(
        "/api/v1/evidence", content=iter([body[i : i + 8192] for i in range(0, len(body), 8192)]),
        headers={**bearer(district), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )  # fmt: skip
    assert streamed.status_code == 413 and leftovers(app) == []
