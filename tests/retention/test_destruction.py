"""Retention purge on real SQLite and PostgreSQL: exactly the right rows and files go.

The data are built with the ORM, not through ingest, so these tests pin the
purge's own rules: two overlapping agreements of one vendor (Tennessee's,
past its retention; Louisiana's, in force), a file only Tennessee's rows came
in, a multi-state file carrying both, and a file only Louisiana's.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from agreements.models import Agreement, DeliveryAgreement
from agreements.store import store_terms
from agreements.terms import FerpaBasis, Terms
from credx.app import App
from eventlog.log import EventLog
from eventlog.models import Event
from exchange.models import Delivery, DeliveryStatus, ExamResult, RejectedRow, StoredBlob
from kernel import sealing
from kernel.clock import today
from kernel.database import session_scope
from kernel.errors import CredxError, IntegrityFailure, InvalidInput
from kernel.sealing import KeyDestroyed
from kernel.signing import ensure_signing_key, load_signing_key, public_bytes, public_key_pem
from retention.certificates import verify_certificate
from retention.destruction import plan_purge, purge, run_purge
from retention.events import RetentionEvent
from tests.cli import credx
from tests.factories import make_vendor

TODAY = today()
TN, LA = "tn-nccer-2023", "la-nccer-2024"


def terms(agreement_id: str, state: str, start: int, end: int, retention_days: int) -> Terms:
    """Terms whose dates are days relative to today (the CLI runs on the real date)."""
    return Terms(
        id=agreement_id,
        title=f"{state} NCCER results",
        vendor="nccer",
        states=(state,),
        effective_from=TODAY + timedelta(days=start),
        effective_to=TODAY + timedelta(days=end),
        credentials=("NCCER001",),
        data_elements=("candidate_id", "first_name", "last_name", "birth_date", "result"),
        purpose="CTE accountability",
        ferpa_basis=FerpaBasis.AUDIT_EVALUATION,
        retention_days=retention_days,
    )


TN_TERMS = terms(TN, "TN", -900, -400, 30)  # destroy after: 369 days ago
LA_TERMS = terms(LA, "LA", -600, 200, 365)  # in force; overlaps Tennessee's for 200 days
LA_ENDED = terms(LA, "LA", -600, -10, 5)  # an amendment that ended it early


def apply(app: App, agreement: Terms) -> None:
    with session_scope(app.engine) as session:
        store_terms(session, agreement, document=agreement.model_dump_json(), actor="test")


@dataclass(frozen=True)
class World:
    tn_only: int  # delivery ids
    shared: int
    la_only: int
    payloads: dict[int, bytes]
    blobs: dict[int, str]


def add_delivery(
    app: App, name: str, rows: list[str | None], rejected: int, links: list[str]
) -> tuple[int, bytes, str]:
    """A loaded delivery: its encrypted original, one exam result per entry of `rows`
    (the agreement it came under), `rejected` rejected rows and its agreement links."""
    payload = f"vendor_record_id,first_name\n{name},José\n".encode() * 40
    with session_scope(app.engine) as session:
        blob = app.vault(session).put([payload])
        delivery = Delivery(
            vendor_id="nccer", source="test", original_name=name, size=blob.size,
            sha256=blob.sha256, blob_id=blob.id, status=DeliveryStatus.LOADED,
            rows_total=len(rows) + rejected, rows_loaded=len(rows), rows_rejected=rejected,
        )  # fmt: skip
        session.add(delivery)
        session.flush()
        for number, agreement_id in enumerate(rows, start=1):
            session.add(exam_result(delivery.id, number, agreement_id))
        for number in range(len(rows) + 1, len(rows) + rejected + 1):
            session.add(rejected_row(delivery.id, number))
        session.add_all(DeliveryAgreement(delivery_id=delivery.id, agreement_id=a) for a in links)
        return delivery.id, payload, blob.id


def rejected_row(delivery_id: int, number: int) -> RejectedRow:
    return RejectedRow(
        delivery_id=delivery_id, row_number=number, column="birth_date", value="02/30/2008",
        reason="not a date",
    )  # fmt: skip


def exam_result(delivery_id: int, number: int, agreement_id: str | None) -> ExamResult:
    state = {TN: "TN", LA: "LA"}.get(agreement_id or "", "TN")
    return ExamResult(
        delivery_id=delivery_id, row_number=number, agreement_id=agreement_id,
        vendor_record_id=f"R{delivery_id}-{number}", candidate_id=f"C{number:05d}",
        first_name="José", last_name="O'Brien", birth_date=date(2008, 3, 1), state=state,
        district_code="190", credential_code="NCCER001", exam_code="CORE-5E",
        exam_date=TODAY - timedelta(days=450), result="pass",
    )  # fmt: skip


@pytest.fixture
def world(app) -> World:
    make_vendor(app, "nccer", "NCCER", agreement=False)
    apply(app, TN_TERMS)
    apply(app, LA_TERMS)
    made = {
        "tn_only": add_delivery(app, "nccer-tn.csv", [TN] * 3, rejected=2, links=[TN]),
        "shared": add_delivery(app, "nccer-multi.csv", [TN, LA, TN, LA], 1, links=[TN, LA]),
        "la_only": add_delivery(app, "nccer-la.csv", [LA] * 2, rejected=1, links=[LA]),
    }
    return World(
        **{k: v[0] for k, v in made.items()},
        payloads={v[0]: v[1] for v in made.values()},
        blobs={v[0]: v[2] for v in made.values()},
    )


def snapshot(app: App) -> dict:
    """Everything a purge may touch, to compare before and after."""
    with session_scope(app.engine) as session:
        return {
            "results": {
                (r.delivery_id, r.row_number, r.agreement_id)
                for r in session.exec(select(ExamResult))
            },
            "rejected": {(r.delivery_id, r.row_number) for r in session.exec(select(RejectedRow))},
            "keys": {b.id: b.wrapped_key for b in session.exec(select(StoredBlob))},
            "files": {
                b.id: app.store.exists(b.store_key) for b in session.exec(select(StoredBlob))
            },
            "deliveries": {
                d.id: (d.sha256, d.size, d.original_name, d.blob_id)
                for d in session.exec(select(Delivery))
            },
            "purged": {a.id: a.purged_at for a in session.exec(select(Agreement))},
            "events": session.exec(select(func.count()).select_from(Event)).one(),
            "reports": sorted(p.name for p in app.settings.reports_dir.glob("*"))
            if app.settings.reports_dir.exists()
            else [],
        }


def read(app: App, blob_id: str) -> bytes:
    with session_scope(app.engine) as session:
        return app.vault(session).read_bytes(blob_id)


def trusted_key(app: App) -> bytes:
    key = load_signing_key(app.keyring.directory)
    assert key is not None
    return public_bytes(key.public_key())


def test_the_plan_names_the_due_agreement_and_which_files_go(app, world):
    with session_scope(app.engine) as session:
        plan = plan_purge(session, TODAY)
    [item] = plan.agreements
    assert item.agreement_id == TN and item.rows == 5 and item.states == ("TN",)
    assert item.retention_ended == TN_TERMS.effective_to + timedelta(days=30)
    fates = {d.delivery_id: (d.rows, d.destroy_file, d.rejected_rows) for d in item.deliveries}
    assert fates == {world.tn_only: (3, True, 2), world.shared: (2, False, 0)}
    [shared] = [d for d in item.deliveries if d.delivery_id == world.shared]
    assert shared.kept_because == f"still covered by agreement {LA}"


def test_a_dry_run_changes_nothing(app, world):
    before = snapshot(app)
    run = run_purge(app, actor="test", dry_run=True)
    assert run.dry_run and [a.agreement_id for a in run.plan.agreements] == [TN]
    assert run.certificates == ()
    assert snapshot(app) == before
    assert load_signing_key(app.keyring.directory) is None  # not even a key is made


def test_the_purge_destroys_exactly_the_expired_agreements_rows_and_files(app, world):
    before = snapshot(app)
    backup = (app.store.root / store_key(app, world.blobs[world.tn_only])).read_bytes()
    run = run_purge(app, actor="cli:ops")
    after = snapshot(app)

    assert after["results"] == {r for r in before["results"] if r[2] != TN}
    assert {r[2] for r in after["results"]} == {LA} and len(after["results"]) == 4
    assert after["rejected"] == {r for r in before["rejected"] if r[0] != world.tn_only}
    assert after["deliveries"] == before["deliveries"]  # the record that the files existed
    assert after["purged"][TN] is not None and after["purged"][LA] is None

    shredded = world.blobs[world.tn_only]
    assert after["keys"][shredded] is None and not after["files"][shredded]
    assert {b for b, k in after["keys"].items() if k != before["keys"][b]} == {shredded}
    with pytest.raises(CredxError, match="crypto-shredded"):
        read(app, shredded)
    (app.store.root / store_key(app, shredded)).write_bytes(backup)  # restored from a backup
    with pytest.raises(CredxError, match="crypto-shredded"):
        read(app, shredded)
    for kept in (world.shared, world.la_only):
        assert read(app, world.blobs[kept]) == world.payloads[kept]

    [(signed, path)] = run.certificates
    cert = verify_certificate(path, trusted_key(app))
    assert cert == signed.certificate and path.parent == app.settings.reports_dir
    assert (cert.agreement_id, cert.agreement_version, cert.vendor, cert.states) == (
        TN, 1, "nccer", ("TN",),
    )  # fmt: skip
    assert (cert.rows_destroyed, cert.rejected_rows_destroyed) == (5, 2)
    assert cert.destroyed_by == "cli:ops"
    assert cert.reason == f"retention ended on {TN_TERMS.effective_to + timedelta(days=30)}"
    assert [(f.delivery_id, f.sha256, f.size) for f in cert.files] == [
        (world.tn_only, sha256(world.payloads[world.tn_only]), len(world.payloads[world.tn_only]))
    ]
    assert [(f.delivery_id, f.sha256) for f in cert.files_retained] == [
        (world.shared, sha256(world.payloads[world.shared]))
    ]


def test_a_running_process_stops_opening_purged_values_without_a_restart(app, world, settings):
    """`credx serve` holds field keys in memory; a purge run by another process (the CLI,
    the worker) must reach it within the documented bound, not at its next restart."""
    served = App(settings)  # another process's composition root: its own key cache
    try:
        with session_scope(served.engine) as session:
            query = select(ExamResult).where(ExamResult.agreement_id == TN)
            assert {r.first_name for r in session.exec(query)} == {"José"}  # key now cached
            [(record, token)] = session.execute(  # a row token as a backup holds it
                text("SELECT vendor_record_id, sealed_row FROM exam_results "
                     "WHERE agreement_id = :a LIMIT 1"), {"a": TN},
            ).all()  # fmt: skip
        key_id = served.field_keys.key_id(f"agreement:{TN}")
        assert served.field_keys.cipher(key_id) is not None

        run_purge(app, actor="cli:ops")  # the other process's purge
        time.sleep(served.field_keys.RECHECK_SECONDS)  # the documented staleness bound

        assert served.field_keys.cipher(key_id) is None
        with pytest.raises(KeyDestroyed):
            sealing.open_row(token, "exam_results", record)
        with session_scope(served.engine) as session:  # the agreement still in force opens
            query = select(ExamResult).where(ExamResult.agreement_id == LA)
            assert {r.first_name for r in session.exec(query)} == {"José"}
    finally:
        served.close()


def test_the_purge_is_written_to_the_event_log(app, world):
    [(signed, _path)] = run_purge(app, actor="cli:ops").certificates
    with session_scope(app.engine) as session:
        [event] = EventLog(session).for_subject(f"agreement:{TN}")[-1:]
        checked, problem = EventLog(session).verify()
    assert event.action == RetentionEvent.AGREEMENT_PURGED and problem is None and checked > 1
    payload = json.loads(event.payload)
    assert payload["certificate_id"] == signed.certificate.certificate_id
    assert payload["certificate_sha256"] == signed.sha256
    assert (payload["rows_destroyed"], payload["files_destroyed"]) == (5, [world.tn_only])
    assert "José" not in event.payload and "nccer-tn.csv" not in event.payload


def test_purging_again_is_a_no_op(app, world):
    run_purge(app, actor="test")
    before = snapshot(app)
    again = run_purge(app, actor="test")
    named = run_purge(app, actor="test", agreement_id=TN)
    assert again.certificates == () and again.plan.agreements == ()
    assert named.certificates == () and [a for a, _ in named.plan.already_purged] == [TN]
    assert snapshot(app) == before


def test_a_stale_plan_destroys_and_certifies_only_once(app, world):
    with session_scope(app.engine) as session:
        plan = plan_purge(session, TODAY)
    key = ensure_signing_key(app.keyring.directory)
    issued = []
    for _attempt in range(2):  # e.g. the daily job and an operator, both holding that plan
        with session_scope(app.engine) as session:
            issued.append(purge(session, app.vault(session), plan, "test", signing_key=key))
    assert [len(i) for i in issued] == [1, 0]
    assert issued[0][0].certificate.rows_destroyed == 5


def test_an_agreement_not_yet_due_is_refused_with_its_date(app, world):
    before = snapshot(app)
    due = LA_TERMS.destroy_after().isoformat()
    with pytest.raises(InvalidInput, match=f"can be purged from {due}"):
        run_purge(app, actor="test", agreement_id=LA)
    assert snapshot(app) == before


def test_a_shared_file_goes_with_the_last_agreement_covering_it(app, world):
    run_purge(app, actor="test")
    apply(app, LA_ENDED)  # Louisiana's agreement amended to have ended: now due as well
    [(_signed, path)] = run_purge(app, actor="test").certificates
    after = snapshot(app)
    assert after["results"] == set() and after["rejected"] == set()
    assert all(key is None for key in after["keys"].values())
    cert = verify_certificate(path, trusted_key(app))
    assert (cert.agreement_id, cert.agreement_version) == (LA, 2)
    assert [f.delivery_id for f in cert.files] == [world.shared, world.la_only]
    assert (cert.rows_destroyed, cert.rejected_rows_destroyed, cert.files_retained) == (4, 2, ())
    with pytest.raises(CredxError, match="crypto-shredded"):
        read(app, world.blobs[world.shared])


def test_agreements_due_together_both_certify_their_shared_file(app, world):
    apply(app, LA_ENDED)
    run = run_purge(app, actor="test")
    certificates = {s.certificate.agreement_id: s.certificate for s, _path in run.certificates}
    assert sorted(certificates) == [LA, TN] and snapshot(app)["results"] == set()
    tn, la = certificates[TN], certificates[LA]
    assert [f.delivery_id for f in tn.files] == [world.tn_only, world.shared]
    assert [f.delivery_id for f in la.files] == [world.shared, world.la_only]
    assert (tn.rows_destroyed, la.rows_destroyed) == (5, 4)
    assert (tn.rejected_rows_destroyed, la.rejected_rows_destroyed) == (3, 2)


def test_a_file_with_rows_outside_any_agreement_keeps_its_original(app, world):
    with session_scope(app.engine) as session:  # a row loaded before agreements were recorded
        session.add(exam_result(world.tn_only, 99, None))
    [(signed, _path)] = run_purge(app, actor="test").certificates
    assert signed.certificate.files == () and signed.certificate.rows_destroyed == 5
    [kept] = [f for f in signed.certificate.files_retained if f.delivery_id == world.tn_only]
    assert "before agreements" in kept.reason
    assert read(app, world.blobs[world.tn_only]) == world.payloads[world.tn_only]
    assert (world.tn_only, 99, None) in snapshot(app)["results"]


@pytest.mark.parametrize("covered_by", [None, LA], ids=["duplicate", "covered sharer"])
def test_a_blob_another_delivery_points_at_goes_only_if_that_one_is_uncovered(
    app, world, covered_by
):
    with session_scope(app.engine) as session:  # a re-sent identical file shares the blob
        original = session.get(Delivery, world.tn_only)
        again = Delivery(
            vendor_id="nccer", source="test", original_name="nccer-tn (2).csv",
            size=original.size, sha256=original.sha256, blob_id=original.blob_id,
            status=DeliveryStatus.DUPLICATE, duplicate_of=original.id,
        )  # fmt: skip
        session.add(again)
        session.flush()
        if covered_by:
            session.add(DeliveryAgreement(delivery_id=again.id, agreement_id=covered_by))
    [(signed, _path)] = run_purge(app, actor="test").certificates
    destroyed = [f.delivery_id for f in signed.certificate.files]
    if covered_by is None:
        assert destroyed == [world.tn_only]
        with pytest.raises(CredxError, match="crypto-shredded"):
            read(app, world.blobs[world.tn_only])
    else:
        assert destroyed == []
        assert read(app, world.blobs[world.tn_only]) == world.payloads[world.tn_only]
        [kept] = [f for f in signed.certificate.files_retained if f.delivery_id == world.tn_only]
        assert kept.reason.startswith("same file as delivery") and LA in kept.reason


def test_an_edited_certificate_from_a_real_purge_fails(app, world):
    [(_signed, path)] = run_purge(app, actor="test").certificates
    document = json.loads(path.read_text(encoding="utf-8"))
    document["certificate"]["files"][0]["sha256"] = "0" * 64
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(IntegrityFailure):
        verify_certificate(path, trusted_key(app))


def test_the_cli_dry_runs_purges_and_verifies(app, world, cli_env, tmp_path):
    credx("init", env=cli_env)
    before = snapshot(app)
    dry = json.loads(credx("agreements", "purge", "--dry-run", "--json", env=cli_env).stdout)
    assert dry["dry_run"] and dry["certificates"] == [] and snapshot(app) == before
    [planned] = dry["agreements"]
    assert planned["agreement_id"] == TN and planned["rows"] == 5
    assert {d["delivery_id"]: d["file_destroyed"] for d in planned["deliveries"]} == {
        world.tn_only: True, world.shared: False,
    }  # fmt: skip

    refused = credx("agreements", "purge", "--agreement", LA, env=cli_env, check=1)
    assert "not due" in refused.stderr and LA_TERMS.destroy_after().isoformat() in refused.stderr

    done = json.loads(credx("agreements", "purge", "--json", env=cli_env).stdout)
    [issued] = done["certificates"]
    assert (issued["agreement_id"], issued["rows_destroyed"], issued["files_destroyed"]) == (
        TN, 5, 1,
    )  # fmt: skip
    path = Path(issued["path"])
    valid = json.loads(
        credx("agreements", "verify-certificate", str(path), "--json", env=cli_env).stdout
    )
    assert valid["valid"] and valid["certificate"]["rows_destroyed"] == 5

    published = tmp_path / "published.pem"
    credx("agreements", "signing-key", "--out", str(published), env=cli_env)
    assert published.read_text() == public_key_pem(load_signing_key(app.keyring.directory))
    # a state's office with no credx installation: no database, only the published key
    outside = {"CREDX_HOME": str(tmp_path / "none"), "CREDX_DATABASE_URL": "sqlite:////no/db"}
    verify = ("agreements", "verify-certificate", str(path), "--public-key", str(published))
    assert "genuine" in credx(*verify, env=outside).stdout

    path.write_text(path.read_text().replace('"rows_destroyed": 5', '"rows_destroyed": 4'))
    broken = credx(*verify, "--json", env=outside, check=4)
    assert json.loads(broken.stdout) == {
        "valid": False, "reason": f"{path.name}: the signature does not match the certificate "
        "(it was altered after signing)",
    }  # fmt: skip
    again = json.loads(credx("agreements", "purge", "--json", env=cli_env).stdout)
    assert again["agreements"] == [] and again["certificates"] == []


def store_key(app: App, blob_id: str) -> str:
    with session_scope(app.engine) as session:
        blob = session.get(StoredBlob, blob_id)
        assert blob is not None
        return blob.store_key


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()
