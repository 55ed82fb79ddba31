"""A hand-made installation for the dashboard tests, with every number known in advance.

Times are relative to `now`: nccer's connector pulls daily at `now - 6h`
(so the latest night's file is past due), certiport's likewise.

LA (nccer, agreement in force from night 3, ends in 30 days; a second one in 90):
  night 0: nothing -> missing;   night 1: file 3 h after the pull -> late;
  night 2: file 10 min after -> on time, 100 rows, 25 rejected (partially_loaded);
  night 3: file 5 min after -> on time, the whole file rejected;
  nights 4-6: no agreement in force, no file -> no row;
  plus one file dropped (no connector) on night 5 -> received, not expected.
TN (certiport, agreement ends in 300 days): night 0 on time, 10 rows loaded.
Audit plan la-2025: open 2, assigned 1, second review 1, final 3 (2 verified,
1 discrepancy); tn-2025: open 1.
Review pairs: LA 3 open (runs 1 and 2) and 1 decided, last run flags 2 clusters;
TN 2 open.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from agreements.store import store_terms
from agreements.vendors import add_vendor
from audit.plans.models import AuditDraw, AuditPlan, AuditTask, TaskStatus
from credx.app import App
from exchange.connectors import ConnectorConfig
from exchange.evidence.models import Evidence
from exchange.models import Connector, Delivery, PulledFile, RejectedRow, StoredBlob
from kernel.database import session_scope
from linkage.models import LinkModelDocument, LinkRun, ReviewPair
from schemas.credentials import known_codes
from tests.factories import blanket_terms


@dataclass(frozen=True)
class World:
    now: datetime
    fire: datetime  # night 0's scheduled pull (nccer and certiport)
    partial: int  # the delivery with 25 of 100 rows rejected
    rejected: int  # the delivery rejected whole


def build_world(app: App, now: datetime) -> World:
    fire = (now - timedelta(hours=6)).replace(second=0, microsecond=0)
    with session_scope(app.engine) as session:
        builder = _Builder(session, fire)
        partial, rejected = builder.deliveries(now)
        builder.audits()
        builder.reviews()
    return World(now, fire, partial, rejected)


class _Builder:
    def __init__(self, session: Session, fire: datetime):
        self.session, self.fire, self.ids = session, fire, itertools.count(1)
        self.code = sorted(known_codes(session))[0]

    def night(self, n: int) -> datetime:
        return self.fire - timedelta(days=n)

    def blob(self) -> str:
        blob_id = f"blob{next(self.ids):028d}"
        self.session.add(
            StoredBlob(id=blob_id, store_key=blob_id, sha256="0" * 64, size=1, master_key_id="test")
        )
        self.session.flush()
        return blob_id

    def vendor(self, vendor: str, state: str, starts: date, ends: date, extra_days=None) -> None:
        add_vendor(self.session, vendor_id=vendor, name=vendor.upper())
        self.agreement(f"{vendor}-{state}", vendor, state, starts, ends)
        if extra_days is not None:
            self.agreement(f"{vendor}-{state}-2", vendor, state, starts, extra_days)
        schedule = f"{self.fire.minute} {self.fire.hour} * * *"
        config = ConnectorConfig(
            name=f"{vendor}-sftp",
            vendor=vendor,
            kind="local",
            schedule=schedule,
            local={"directory": "/nonexistent"},
        )
        self.session.add(
            Connector(
                name=config.name,
                vendor_id=vendor,
                kind="local",
                config=config.model_dump_json(),
                document_sha256="0" * 64,
            )
        )
        self.session.flush()

    def agreement(self, agreement_id: str, vendor: str, state: str, starts: date, ends: date):
        terms = blanket_terms(
            vendor,
            [self.code],
            id=agreement_id,
            title=agreement_id,
            states=(state,),
            effective_from=starts,
            effective_to=ends,
        )
        store_terms(self.session, terms, document=agreement_id, actor="test")

    def delivery(self, vendor: str, at: datetime, connector: str | None, **outcome) -> int:
        delivery = Delivery(
            vendor_id=vendor,
            source="test",
            original_name="results.csv",
            size=1,
            sha256=f"{next(self.ids):064d}",
            blob_id=self.blob(),
            received_at=at,
            **outcome,
        )
        self.session.add(delivery)
        self.session.flush()
        if connector:
            self.session.add(
                PulledFile(
                    connector=connector,
                    name=f"f{delivery.id}",
                    size=1,
                    version="1",
                    delivery_id=delivery.id,
                    pulled_at=at,
                )
            )
        return delivery.id

    def deliveries(self, now: datetime) -> tuple[int, int]:
        today = now.date()
        self.vendor(
            "nccer",
            "LA",
            self.night(3).date(),
            today + timedelta(days=30),
            extra_days=today + timedelta(days=90),
        )
        self.vendor("certiport", "TN", date(2020, 1, 1), today + timedelta(days=300))
        self.delivery(
            "nccer",
            self.night(1) + timedelta(hours=3),
            "nccer-sftp",
            status="loaded",
            rows_total=10,
            rows_loaded=10,
        )
        partial = self.delivery(
            "nccer",
            self.night(2) + timedelta(minutes=10),
            "nccer-sftp",
            status="partially_loaded",
            rows_total=100,
            rows_loaded=75,
            rows_rejected=25,
        )
        for row in range(25):
            column = "birth_date" if row < 20 else "credential_code"
            self.session.add(
                RejectedRow(
                    delivery_id=partial,
                    row_number=row + 2,
                    column=column,
                    value="2031-13-45",
                    reason=f"{column}_invalid",
                )
            )
        rejected = self.delivery(
            "nccer",
            self.night(3) + timedelta(minutes=5),
            "nccer-sftp",
            status="rejected",
            error="the file has no header row",
        )
        self.delivery("nccer", self.night(5), None, status="loaded", rows_total=5, rows_loaded=5)
        self.delivery(
            "certiport",
            self.night(0) + timedelta(minutes=1),
            "certiport-sftp",
            status="loaded",
            rows_total=10,
            rows_loaded=10,
        )
        return partial, rejected

    def audits(self) -> None:
        la = [TaskStatus.OPEN] * 2 + [TaskStatus.ASSIGNED, TaskStatus.SECOND_REVIEW]
        la += [TaskStatus.FINAL] * 3
        self.plan("la-2025", "LA", la, ["verified", "verified", "discrepancy"])
        self.plan("tn-2025", "TN", [TaskStatus.OPEN], [])

    def plan(self, plan_id: str, state: str, statuses: list[str], outcomes: list[str]) -> None:
        self.session.add(
            AuditPlan(
                id=plan_id,
                name=plan_id,
                state=state,
                school_year="2025-26",
                document="{}",
                status="drawn",
                created_by="test",
            )
        )
        self.session.flush()
        draw = AuditDraw(
            plan_id=plan_id,
            round=1,
            seed="s",
            manifest_sha256="0" * 64,
            sizes="{}",
            drawn_by="test",
        )
        self.session.add(draw)
        self.session.flush()
        finals = iter(outcomes)
        for status in statuses:
            evidence_id = self.evidence(state)
            final = next(finals) if status == TaskStatus.FINAL else None
            self.session.add(
                AuditTask(
                    plan_id=plan_id,
                    draw_id=draw.id,
                    state=state,
                    district="D1",
                    school_code="S1",
                    stratum="all",
                    item_id=evidence_id,
                    evidence_id=evidence_id,
                    ticket="0.1",
                    status=status,
                    final_outcome=final,
                )
            )
        self.session.flush()

    def evidence(self, state: str) -> str:
        evidence_id = f"ev{next(self.ids):030d}"
        self.session.add(
            Evidence(
                id=evidence_id,
                state=state,
                district="D1",
                state_student_id="X",
                student_name="A B",
                birth_date=date(2008, 1, 1),
                school_code="S1",
                school_year="2025-26",
                graduation_pathway="CAD",
                credential_code=self.code,
                date_earned=date(2026, 2, 1),
                media_type="image/png",
                size=1,
                sha256="0" * 64,
                blob_id=self.blob(),
                uploaded_by="test",
            )
        )
        self.session.flush()
        return evidence_id

    def reviews(self) -> None:
        self.session.add(LinkModelDocument(version="m1", document="{}", inputs_sha256="0" * 64))
        self.session.flush()
        la1, la2 = self.run("LA", flagged=5), self.run("LA", flagged=2)
        tn = self.run("TN", flagged=0)
        for run, status in [
            (la1, "open"),
            (la2, "open"),
            (la2, "open"),
            (la2, "decided"),
            (tn, "open"),
            (tn, "open"),
        ]:
            n = next(self.ids)
            self.session.add(
                ReviewPair(
                    state=run.state,
                    run_id=run.id,
                    record_l=f"exam:{n}",
                    record_r=f"exam:{n}b",
                    match_probability=0.7,
                    match_weight=1.0,
                    reason="band",
                    status=status,
                )
            )
        self.session.flush()

    def run(self, state: str, flagged: int) -> LinkRun:
        run = LinkRun(
            state=state,
            kind="full",
            engine="duckdb",
            model_version="m1",
            finished_at=self.fire,
            flagged_clusters=flagged,
            actor="test",
        )
        self.session.add(run)
        self.session.flush()
        return run
