"""EvidenceService on both backends: storing, flags, tenants, and every view in the event log."""

from __future__ import annotations

import hashlib
import io
import json
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlmodel import Session, col, select

from access.policy import Forbidden
from access.principals import Principal, Role
from credx.app import App
from eventlog.log import EventLog
from eventlog.models import Event
from eventlog.tags import EventTag
from exchange.evidence.claims import parse_claim
from exchange.evidence.events import EvidenceEvent
from exchange.evidence.models import Evidence, Flag
from exchange.evidence.refusals import EvidenceRefused
from exchange.evidence.services import EvidenceService
from exchange.models import StoredBlob
from kernel.database import session_scope, unit_of_work
from kernel.errors import NotFound
from tests.exchange.evidence.issuer import badge, did_key, sign_data_integrity
from tests.exchange.evidence.samples import (
    AUDITOR,
    DISTRICT,
    OPERATOR,
    OTHER_DISTRICT,
    TN_AUDITOR,
    TN_DISTRICT,
    claim,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    write,
)


def upload(app, session, tmp_path, data: bytes, name="scan.png", who=DISTRICT, **fields):
    path = write(tmp_path, name, data)
    return EvidenceService(session, app, who).submit(claim(**fields), path, filename=name)


def events(session: Session, action: EventTag) -> list[Event]:
    return list(session.exec(select(Event).where(Event.action == str(action)).order_by(
        col(Event.seq))))  # fmt: skip


def test_upload_stores_the_original_byte_for_byte_and_a_clean_preview(app, session, tmp_path):
    data = jpeg_bytes()
    receipt = upload(app, session, tmp_path, data, "phone.jpg", state="TN", district="999")
    assert receipt.as_json() == {
        "id": receipt.id, "sha256": hashlib.sha256(data).hexdigest(), "status": "received",
        "flags": [],
    }  # fmt: skip
    row = session.get(Evidence, receipt.id)
    assert (row.state, row.district) == ("LA", "036")  # the token's, never the form's
    assert row.media_type == "image/jpeg" and row.size == len(data)
    assert row.uploaded_by == DISTRICT.actor
    vault = app.vault(session)
    assert vault.read_bytes(row.blob_id) == data
    auditor = EvidenceService(session, app, AUDITOR)
    chunks, media_type, filename = auditor.original(receipt.id)
    assert b"".join(chunks) == data
    assert (media_type, filename) == ("image/jpeg", f"evidence-{receipt.id}.jpg")
    preview = EvidenceService(session, app, DISTRICT).preview(receipt.id)
    image = Image.open(io.BytesIO(preview))
    assert image.format == "PNG" and image.info == {} and not image.getexif()
    received = events(session, EvidenceEvent.EVIDENCE_RECEIVED)
    assert [e.subject for e in received] == [f"evidence:{receipt.id}"]
    assert "Nguy" not in received[0].payload and "LA1000001" not in received[0].payload


def test_the_original_blob_is_encrypted_at_rest(app, session, tmp_path):
    data = png_bytes()
    receipt = upload(app, session, tmp_path, data)
    blob = session.get(StoredBlob, session.get(Evidence, receipt.id).blob_id)
    with app.store.open(blob.store_key) as stored:
        ciphertext = stored.read()
    assert b"IHDR" not in ciphertext and b"Jane Doe" not in ciphertext


def test_pdf_certificate_is_previewed_from_its_first_page(app, session, tmp_path):
    receipt = upload(app, session, tmp_path, pdf_bytes(), "certificate.pdf")
    png = EvidenceService(session, app, AUDITOR).preview(receipt.id)
    assert Image.open(io.BytesIO(png)).size == (1600, 1200)


def all_events(engine) -> list[tuple[int, str, str, str]]:
    """Every event committed so far: (seq, action, actor, payload)."""
    with Session(engine) as session:
        rows = session.exec(select(Event).order_by(col(Event.seq)))
        return [(row.seq, row.action, row.actor, row.payload) for row in rows]


def test_a_refused_upload_leaves_exactly_its_refusal_event(app, settings, tmp_path):
    """The unit of work rolls back all the request wrote (here a listing's event) and keeps
    the refusal's event alone: no evidence row, no blob row, no blob file."""
    before = all_events(app.engine)
    with pytest.raises(EvidenceRefused) as caught, unit_of_work(app.engine) as session:
        EvidenceService(session, app, DISTRICT).list()  # writes `evidence:claims:listed`
        upload(app, session, tmp_path, png_bytes() + b"<html>", student_name="Ann Lee")
    assert caught.value.code == "polyglot" and caught.value.http_status == 415
    with Session(app.engine) as session:
        assert session.exec(select(Evidence)).all() == []
        assert session.exec(select(StoredBlob)).all() == []
    assert not [p for p in (settings.home / "blobs").rglob("*") if p.is_file()]
    after = all_events(app.engine)
    assert after[: len(before)] == before
    refused = after[len(before) :]
    assert [(action, actor) for _seq, action, actor, _payload in refused] == [
        (str(EvidenceEvent.EVIDENCE_REFUSED), DISTRICT.actor)
    ]
    payload = json.loads(refused[0][3])
    assert payload["code"] == "polyglot" and payload["field"] == "file"
    assert "Ann Lee" not in refused[0][3]


def test_bad_claim_is_refused_before_the_file_is_read(app, session, tmp_path):
    with pytest.raises(EvidenceRefused) as caught:
        upload(app, session, tmp_path, b"", school_year="2025-2026")
    assert caught.value.as_json()["field"] == "school_year"
    assert events(session, EvidenceEvent.EVIDENCE_REFUSED) == []  # the unit of work's to keep
    caught.value.record(session)
    assert json.loads(events(session, EvidenceEvent.EVIDENCE_REFUSED)[0].payload)["size"] == 0


def test_same_image_for_another_student_and_same_claim_again_are_flagged(app, session, tmp_path):
    first = upload(app, session, tmp_path, png_bytes(seed=1))
    reused = upload(app, session, tmp_path, png_bytes(seed=1), state_student_id="LA2000002")
    again = upload(app, session, tmp_path, png_bytes(seed=2))  # same student, credential, date
    elsewhere = upload(app, session, tmp_path, png_bytes(seed=1), who=TN_DISTRICT,
                       state_student_id="TN77")  # fmt: skip
    assert first.flags == ()
    assert reused.flags == (Flag.DUPLICATE_IMAGE,)
    assert again.flags == (Flag.DUPLICATE_CLAIM,)
    assert elsewhere.flags == ()  # another state's uploads are not compared
    auditor = EvidenceService(session, app, AUDITOR)
    view = auditor.describe(auditor.get(reused.id)).as_json()
    assert view["flags"] == ["duplicate_image"] and view["duplicate_image_of"] == first.id
    assert auditor.describe(auditor.get(again.id)).as_json()["duplicate_claim_of"] == first.id
    flagged = {row.id for row in auditor.list(flagged=True)}
    assert flagged == {reused.id, again.id}
    district_view = (
        EvidenceService(session, app, DISTRICT).describe(session.get(Evidence, again.id)).as_json()
    )
    assert "duplicate_claim_of" not in district_view  # which upload it repeats: auditors only


def test_a_district_sees_only_its_own_and_a_state_only_its_state(app, session, tmp_path):
    ours = upload(app, session, tmp_path, png_bytes(seed=1))
    theirs = upload(app, session, tmp_path, png_bytes(seed=2), who=OTHER_DISTRICT)
    tn = upload(app, session, tmp_path, png_bytes(seed=3), who=TN_DISTRICT)
    service = EvidenceService(session, app, DISTRICT)
    assert [row.id for row in service.list()] == [ours.id]
    for foreign in (theirs.id, tn.id, "0" * 32, "../../etc/passwd"):
        with pytest.raises(NotFound) as caught:
            service.get(foreign)
        with pytest.raises(NotFound) as again:
            service.preview(foreign)
        assert str(caught.value).startswith("no evidence") and str(again.value) == str(caught.value)
    assert {r.id for r in EvidenceService(session, app, AUDITOR).list()} == {ours.id, theirs.id}
    assert {r.id for r in EvidenceService(session, app, OPERATOR).list()} == {ours.id, theirs.id}
    assert [r.id for r in EvidenceService(session, app, TN_AUDITOR).list()] == [tn.id]
    with pytest.raises(NotFound):
        EvidenceService(session, app, TN_AUDITOR).original(ours.id)


@pytest.mark.parametrize(
    ("who", "action"),
    [
        (DISTRICT, "original"),
        (OPERATOR, "preview"),
        (OPERATOR, "original"),
        (Principal("v", Role.VENDOR, state="LA", vendor_id="nccer"), "get"),
    ],
)
def test_roles_without_the_permission_are_forbidden(app, session, tmp_path, who, action):
    receipt = upload(app, session, tmp_path, png_bytes())
    with pytest.raises(Forbidden):
        getattr(EvidenceService(session, app, who), action)(receipt.id)


@pytest.mark.parametrize("who", [AUDITOR, Principal("root", Role.ADMIN)])
def test_only_district_tokens_upload(app, session, tmp_path, who):
    with pytest.raises(Forbidden):
        upload(app, session, tmp_path, png_bytes(), who=who)


def test_every_view_of_evidence_is_in_the_event_log(app, session, tmp_path):
    receipt = upload(app, session, tmp_path, png_bytes())
    auditor = EvidenceService(session, app, AUDITOR)
    for _ in range(2):
        auditor.preview(receipt.id)
    b"".join(auditor.original(receipt.id)[0])
    EvidenceService(session, app, DISTRICT).preview(receipt.id)
    auditor.get(receipt.id)
    auditor.list()
    trail = [(e.action, e.actor) for e in EventLog(session).for_subject(f"evidence:{receipt.id}")]
    assert trail == [
        (EvidenceEvent.EVIDENCE_RECEIVED, DISTRICT.actor),
        (EvidenceEvent.EVIDENCE_PREVIEW_VIEWED, AUDITOR.actor),
        (EvidenceEvent.EVIDENCE_PREVIEW_VIEWED, AUDITOR.actor),
        (EvidenceEvent.EVIDENCE_ORIGINAL_DOWNLOADED, AUDITOR.actor),
        (EvidenceEvent.EVIDENCE_PREVIEW_VIEWED, DISTRICT.actor),
        (EvidenceEvent.EVIDENCE_VIEWED, AUDITOR.actor),
    ]
    listed = events(session, EvidenceEvent.EVIDENCE_LISTED)
    assert json.loads(listed[-1].payload)["ids"] == [receipt.id]


def trusting(app: App, issuer: str) -> App:
    """The same installation with `issuer` in CREDX_BADGE_TRUSTED_ISSUERS."""
    return App(app.settings.model_copy(update={"badge_trusted_issuers": [issuer]}))


def test_signed_badge_is_marked_signature_verified(app, session, tmp_path):
    private = ed25519.Ed25519PrivateKey.generate()
    signer = did_key(private)
    signed = sign_data_integrity(badge(signer), private, f"{signer}#{signer[8:]}")
    data = json.dumps(signed).encode()
    receipt = upload(trusting(app, signer), session, tmp_path, data, "badge.json")
    assert receipt.status == "signature_verified" and receipt.flags == ()
    row = session.get(Evidence, receipt.id)
    assert row.media_type == "application/json" and row.preview_blob_id is None
    assert json.loads(row.badge)["issuer_id"] == signer
    with pytest.raises(NotFound):
        EvidenceService(session, app, AUDITOR).preview(receipt.id)
    signed["credentialSubject"]["achievement"]["name"] = "Something Else"  # tampered
    with pytest.raises(EvidenceRefused) as caught:
        upload(app, session, tmp_path, json.dumps(signed).encode(), "badge2.json")
    assert caught.value.code.startswith("badge_")


def test_badge_baked_into_a_png_is_verified_and_still_previewed(app, session, tmp_path):
    private = ed25519.Ed25519PrivateKey.generate()
    signer = did_key(private)
    signed = sign_data_integrity(badge(signer), private, f"{signer}#{signer[8:]}")
    info = PngInfo()
    info.add_itxt("openbadgecredential", json.dumps(signed))
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), "gold").save(buffer, "PNG", pnginfo=info)
    receipt = upload(trusting(app, signer), session, tmp_path, buffer.getvalue(), "badge.png")
    assert receipt.status == "signature_verified"
    preview = EvidenceService(session, app, AUDITOR).preview(receipt.id)
    assert b"openbadgecredential" not in preview


def test_badge_from_an_issuer_nobody_trusts_is_intact_but_not_verified(app, session, tmp_path):
    private = ed25519.Ed25519PrivateKey.generate()
    signer = did_key(private)  # anyone can mint one: the signature proves integrity only
    signed = sign_data_integrity(badge(signer), private, f"{signer}#{signer[8:]}")
    receipt = upload(app, session, tmp_path, json.dumps(signed).encode(), "badge.json")
    assert receipt.status == "received"
    assert receipt.flags == (Flag.BADGE_ISSUER_UNTRUSTED,)
    assert json.loads(session.get(Evidence, receipt.id).badge)["issuer_trusted"] is False


def test_the_service_enforces_the_size_cap_itself(settings, tmp_path):
    small = App(settings.model_copy(update={"upload_max_bytes": 2048}))
    with session_scope(small.engine) as session, pytest.raises(EvidenceRefused) as caught:
        upload(small, session, tmp_path, png_bytes())
    assert caught.value.code == "file_too_large"
    with session_scope(small.engine) as session:
        assert session.exec(select(Evidence)).all() == []
    small.engine.dispose()


def test_concurrent_uploads_all_succeed(app, tmp_path):
    """Each upload reads (its claim), decodes for a while, then writes: on SQLite a read
    snapshot held across the decode could not be upgraded once another upload had
    committed, so the claim is read in a unit of work of its own, as the web does."""
    failures: list[str] = []

    def district_clerk(number: int) -> None:
        for attempt in range(2):
            seed = number * 10 + attempt
            path = write(tmp_path, f"u{seed}.png", png_bytes(seed=seed, size=(800, 600)))
            try:
                with session_scope(app.engine) as session:
                    parsed = parse_claim(session, claim(seed))
                with session_scope(app.engine) as session:
                    EvidenceService(session, app, DISTRICT).submit(parsed, path, path.name)
            except Exception as error:
                failures.append(repr(error))

    clerks = [threading.Thread(target=district_clerk, args=(n,)) for n in range(4)]
    for clerk in clerks:
        clerk.start()
    for clerk in clerks:
        clerk.join()
    assert failures == []
    with session_scope(app.engine) as session:
        assert len(session.exec(select(Evidence)).all()) == 8
