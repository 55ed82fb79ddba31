"""Hostile uploads (issue 15, items 1, 2, 3 and 5): bombs, hidden actions, polyglots, oracles.

Each drill sends what the red team sent, through the real API, and checks the refusal, its
logged event, and that nothing of the upload stayed.  The sandbox's limits are settings:
the drills lower them so the bombs stay a few kilobytes.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from credx.app import App
from eventlog.models import Event
from exchange.evidence import inspection
from exchange.evidence.models import Evidence
from kernel.database import session_scope
from tests.drills.hostile import (
    ACTIONS,
    image_stream_bomb,
    indirect_open_action,
    inline_image_pdf,
    jpeg_with_comment,
    pdf_bomb,
    pdf_with_stream,
    png_with_chunk_before_end,
    small_zip,
    text_pdf,
)
from tests.web.factories import bearer, bulk_files, certificate_png, claim, make_token

# What a file is does not depend on the database: the file drills run on SQLite only.
files_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
LIMITED = {
    "upload_pdf_max_inflated_mb": 4,
    "upload_max_pixels": 10_000,
    "upload_sandbox_memory_mb": 48,
}


@pytest.fixture
def limited(settings) -> App:
    application = App(settings.model_copy(update=LIMITED))
    application.keyring.ensure()
    yield application
    application.engine.dispose()


def send(client: TestClient, secret: str, data: bytes, name: str, media: str, **fields):
    return client.post("/api/v1/evidence", headers=bearer(secret), data=claim(**fields),
                       files={"file": (name, data, media)})  # fmt: skip


def refused_events(app: App) -> list[dict]:
    with session_scope(app.engine) as session:
        rows = session.exec(select(Event).where(Event.action == "evidence:file:refused")).all()
        return [json.loads(row.payload) for row in rows]


def evidence_count(app: App) -> int:
    with session_scope(app.engine) as session:
        return session.exec(select(func.count()).select_from(Evidence)).one()


def assert_refused(app: App, answer, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code, answer.text
    assert code in [event["code"] for event in refused_events(app)]
    assert evidence_count(app) == 0


# --- item 1: decompression bombs ------------------------------------------------------------


@files_only
def test_a_pdf_whose_content_inflates_past_the_budget_is_refused_413(limited):
    """Before: a 16 MiB run of spaces (16 KB sent) was accepted, PDFium inflating all of it."""
    secret = make_token(limited, "district", "LA", "036")
    with TestClient(create(limited)) as client:
        answer = send(client, secret, pdf_bomb(16 << 20), "c.pdf", "application/pdf")
    assert_refused(limited, answer, 413, "pdf_too_large_inflated")


@files_only
def test_a_bomb_under_the_inflated_budget_breaches_the_decoders_memory_not_the_servers(settings):
    """The budget set high: the decoder's own address-space limit refuses it, 413."""
    application = App(settings.model_copy(update={"upload_pdf_max_inflated_mb": 4096,
                                                  "upload_sandbox_memory_mb": 48}))  # fmt: skip
    application.keyring.ensure()
    secret = make_token(application, "district", "LA", "036")
    with TestClient(create(application)) as client:
        answer = send(client, secret, pdf_bomb(96 << 20), "c.pdf", "application/pdf")
        ok = send(client, secret, text_pdf(), "c.pdf", "application/pdf")
    assert_refused_code(answer, 413, "decode_memory_limit")
    assert ok.status_code == 201, ok.text  # the next decoder is a fresh process
    application.engine.dispose()


@files_only
def test_an_image_stream_inflating_past_its_declared_size_is_refused(app):
    """A 10 x 10 image whose data inflates to 8 MiB: budgeted by its own declared size."""
    secret = make_token(app, "district", "LA", "036")
    with TestClient(create(app)) as client:
        answer = send(client, secret, image_stream_bomb(8 << 20), "c.pdf", "application/pdf")
    assert_refused(app, answer, 413, "pdf_too_large_inflated")


@files_only
def test_an_inline_image_is_held_to_the_pixel_limit(limited):
    """Before: `BI /W 12000 /H 12000 ... ID` passed, only image XObjects were measured."""
    secret = make_token(limited, "district", "LA", "036")
    with TestClient(create(limited)) as client:
        answer = send(client, secret, inline_image_pdf(400, 300), "c.pdf", "application/pdf")
    assert_refused(limited, answer, 422, "image_too_large")


def test_a_bulk_entry_named_on_many_lines_is_decoded_once(app, monkeypatch):
    """Before: one entry on 30 manifest lines was decoded 30 times."""
    decodes = []
    real = inspection._decode
    monkeypatch.setattr(inspection, "_decode", lambda *a: decodes.append(1) or real(*a))
    archive, manifest = bulk_files(
        {"same.png": certificate_png("one")},
        [{"file": "same.png", **claim(state_student_id=f"LA10000{n:02d}")} for n in range(30)],
    )
    secret = make_token(app, "district", "LA", "036")
    with TestClient(create(app)) as client:
        answer = client.post("/api/v1/evidence/bulk", headers=bearer(secret),
                             files={"archive": ("b.zip", archive, "application/zip"),
                                    "manifest": ("m.csv", manifest, "text/csv")})  # fmt: skip
    assert answer.status_code in (200, 201), answer.text
    assert answer.json()["accepted"] == 30
    assert len(decodes) == 1


# --- item 2: actions behind an indirect reference -------------------------------------------


@pytest.mark.parametrize("action", list(ACTIONS))
@files_only
def test_an_open_action_behind_an_indirect_reference_is_refused(app, action):
    """Before: `/OpenAction 5 0 R` pointing at a URI, Rendition, ... action was accepted."""
    secret = make_token(app, "district", "LA", "036")
    with TestClient(create(app)) as client:
        answer = send(client, secret, indirect_open_action(ACTIONS[action]), "c.pdf",
                      "application/pdf")  # fmt: skip
        clean = send(client, secret, text_pdf(), "c.pdf", "application/pdf")
    assert_refused_code(answer, 422, "pdf_active_content")
    assert clean.status_code == 201, clean.text


# --- item 3: polyglots hidden inside the file -----------------------------------------------

POLYGLOTS = {
    "zip in a JPEG comment segment": (lambda: jpeg_with_comment(small_zip()), "c.jpg",
                                      "image/jpeg"),
    "zip in a private PNG chunk": (lambda: png_with_chunk_before_end(b"prVt", small_zip()),
                                   "c.png", "image/png"),
    "private PNG chunk": (lambda: png_with_chunk_before_end(b"zzZz", b"<html>hi</html>"),
                          "c.png", "image/png"),
    "zip in a PDF stream": (lambda: pdf_with_stream(small_zip()), "c.pdf", "application/pdf"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(POLYGLOTS))
@files_only
def test_a_file_hiding_another_is_refused(app, case):
    make, name, media = POLYGLOTS[case]
    secret = make_token(app, "district", "LA", "036")
    with TestClient(create(app)) as client:
        answer = send(client, secret, make(), name, media)
    assert_refused_code(answer, 415, "polyglot")


# --- item 5: no duplicate-claim oracle across districts --------------------------------------


def test_a_district_is_not_told_another_district_claimed_the_student(app):
    """Before: district 037's receipt said `duplicate_claim` only when 036 had claimed first."""
    own, other = (make_token(app, "district", "LA", d) for d in ("036", "037"))
    auditor = make_token(app, "auditor", "LA")
    with TestClient(create(app)) as client:
        first = send(client, own, certificate_png("a"), "a.png", "image/png")
        probe = send(client, other, certificate_png("b"), "b.png", "image/png")
        again = send(client, own, certificate_png("c"), "c.png", "image/png")
        seen_by_other = client.get(f"/api/v1/evidence/{probe.json()['id']}",
                                   headers=bearer(other)).json()  # fmt: skip
        listed = client.get("/api/v1/evidence", headers=bearer(other)).json()
        seen_by_auditor = client.get(f"/api/v1/evidence/{probe.json()['id']}",
                                     headers=bearer(auditor)).json()  # fmt: skip
    assert first.status_code == probe.status_code == 201
    assert "duplicate_claim" not in probe.json()["flags"]
    assert "duplicate_claim" not in seen_by_other["flags"]
    assert all("duplicate_claim" not in row["flags"] for row in rows_of(listed))
    assert "duplicate_claim" in seen_by_auditor["flags"]  # the state's auditors are told
    assert "duplicate_claim" in again.json()["flags"]  # within its own district, as before


def rows_of(listed) -> list[dict]:
    return listed if isinstance(listed, list) else listed.get("items", listed.get("evidence", []))


def assert_refused_code(answer, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code, answer.text


def create(app: App):
    from web.app import create_app

    return create_app(app)
