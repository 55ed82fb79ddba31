"""The notification catalogue: each kind, the event that triggers it, who is told,
and whether a person may opt out.

A message is built from the event's subject and payload and from ids and counts
looked up by id: it never reads a student's name, id or birth date, and never
the free-text reason of a rejection (which may quote a row), so no student-level
data can reach a mailbox or a webhook receiver.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from eventlog.models import Event

if TYPE_CHECKING:  # imported when a notice is built: the catalogue loads with the app
    from audit.plans.models import AuditTask

# who: `vendor` and `state` are the agreement's contacts by role; `district` and
# `auditor` come from the contacts list (`credx notifications contacts`).
Audience = str


@dataclass(frozen=True)
class Notice:
    """What one event tells: the same text to every recipient of the kind."""

    kind: str
    subject: str
    text: str
    path: str  # the page to look at, relative to CREDX_PUBLIC_URL
    data: dict[str, Any] = field(default_factory=dict)
    vendor: str | None = None
    state: str | None = None
    district: str | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    trigger: str  # the event tag
    audiences: tuple[Audience, ...]
    mandatory: bool
    description: str


CATALOGUE = (
    Kind("delivery_rejected", "delivery:file:rejected", ("vendor", "state"), True,
         "A vendor file was rejected whole: nothing of it was loaded."),
    Kind("rows_rejected", "delivery:rows:rejected", ("vendor",), False,
         "A vendor file was loaded with some rows rejected (the report names them)."),
    Kind("delivery_failed", "delivery:file:failed", ("state",), True,
         "Processing a received file failed; it will be processed again."),
    Kind("file_missing", "connector:file:missing", ("vendor", "state"), True,
         "A connector's nightly file had not arrived by its `expect_by` time."),
    Kind("pull_failed", "worker:job:finished", ("vendor", "state"), True,
         "A scheduled pull failed (it is retried); the error class is named."),
    Kind("host_key_refused", "worker:job:finished", ("vendor", "state"), True,
         "A pull was refused because the SFTP server's host key is not the pinned one."),
    Kind("finding_final", "audit:finding:recorded", ("district",), True,
         "An audit finding on one of the district's uploads became final."),
    Kind("deadline_near", "audit:deadline:near", ("district",), True,
         "A discrepancy the district has not answered is due within three days."),
    Kind("district_answered", "audit:response:recorded", ("auditor",), False,
         "A district answered a final finding (explanation or corrected file)."),
    Kind("agreement_expiring", "agreement:term:expiring", ("vendor", "state"), True,
         "A data-sharing agreement ends soon (CREDX_DASHBOARD_EXPIRY_DAYS)."),
)  # fmt: skip
KINDS = {kind.name: kind for kind in CATALOGUE}
TRIGGERS = frozenset(kind.trigger for kind in CATALOGUE)


def notice_of(session: Session, event: Event) -> Notice | None:
    """The notice an event gives, or None (most events notify nobody)."""
    builder = BUILDERS.get(event.action)
    if builder is None:
        return None
    return builder(session, event, json.loads(event.payload or "{}"))


def _number(subject: str) -> int | None:
    tail = subject.rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


def _delivery(session: Session, event: Event, payload: dict) -> Notice | None:
    from exchange.models import Delivery

    delivery_id = _number(event.subject)
    delivery = session.get(Delivery, delivery_id) if delivery_id else None
    if delivery is None:
        return None
    counts = {k: payload[k] for k in ("rows_total", "rows_loaded", "rows_rejected") if k in payload}
    data = {"delivery_id": delivery_id, "vendor": delivery.vendor_id, "sha256": delivery.sha256,
            **counts}  # fmt: skip
    path = f"/dashboard/deliveries/{delivery_id}"
    if event.action == "delivery:rows:rejected":
        return Notice("rows_rejected", f"credx: {counts.get('rows_rejected', 0)} row(s) of "
                      f"delivery {delivery_id} rejected", f"Delivery {delivery_id} from "
                      f"{delivery.vendor_id} was loaded; {counts.get('rows_rejected', 0)} row(s) "
                      "were rejected. The rejection report lists each row and column.",
                      path, data, vendor=delivery.vendor_id)  # fmt: skip
    if event.action == "delivery:file:failed":
        return Notice("delivery_failed", f"credx: processing delivery {delivery_id} failed",
                      f"Processing delivery {delivery_id} from {delivery.vendor_id} failed "
                      f"({payload.get('error', 'error')}); it will be processed again.",
                      path, data, vendor=delivery.vendor_id)  # fmt: skip
    return Notice("delivery_rejected", f"credx: delivery {delivery_id} rejected",
                  f"Delivery {delivery_id} from {delivery.vendor_id} (sha256 "
                  f"{delivery.sha256[:12]}...) was rejected: nothing was loaded. See the page "
                  "for the reason and send a corrected file.", path, data,
                  vendor=delivery.vendor_id)  # fmt: skip


def _missing(session: Session, event: Event, payload: dict) -> Notice | None:
    from exchange.models import Connector

    name = event.subject.partition(":")[2]
    connector = session.get(Connector, name)
    if connector is None:
        return None
    data = {"connector": name, "vendor": connector.vendor_id, "day": payload.get("day"),
            "expect_by": payload.get("expect_by")}  # fmt: skip
    return Notice("file_missing", f"credx: no file from {name} for {payload.get('day')}",
                  f"No file had arrived from connector {name} ({connector.vendor_id}) for "
                  f"{payload.get('day')} by {payload.get('expect_by')}.", "/dashboard", data,
                  vendor=connector.vendor_id)  # fmt: skip


def _job(session: Session, event: Event, payload: dict) -> Notice | None:
    from exchange.models import Connector

    error = payload.get("error")
    key = event.subject.removeprefix("job:")
    if not error or not key.startswith("pull:"):
        return None
    name = key.split(":")[1]
    connector = session.get(Connector, name)
    vendor = connector.vendor_id if connector else None
    error_class = str(error).partition(":")[0][:80]
    data = {"job": key, "connector": name, "vendor": vendor, "error": error_class}
    if "host key" in str(error).lower():
        return Notice("host_key_refused", f"credx: host key refused for {name}",
                      f"The pull {key} was refused: the server's host key is not the one "
                      "pinned for this connector. Nothing was downloaded. Confirm the new key "
                      "with the vendor before changing the pin.", "/dashboard", data,
                      vendor=vendor)  # fmt: skip
    return Notice("pull_failed", f"credx: pull {key} failed",
                  f"The pull {key} failed ({error_class}); the worker retries it.",
                  "/dashboard", data, vendor=vendor)  # fmt: skip


def _task(session: Session, event: Event) -> AuditTask | None:
    """The audit task an `audit:*` event names (its subject ends in the task's number)."""
    from audit.plans.models import AuditTask

    return session.get(AuditTask, _number(event.subject))


def _finding(session: Session, event: Event, payload: dict) -> Notice | None:
    if payload.get("status") != "final":
        return None
    task = _task(session, event)
    if task is None:
        return None
    data = {"task_id": task.id, "plan_id": task.plan_id, "outcome": payload.get("outcome"),
            "school_code": task.school_code}  # fmt: skip
    return Notice("finding_final", f"credx: audit finding on upload {task.evidence_id}",
                  f"An audit finding on one of your district's uploads is final (outcome: "
                  f"{payload.get('outcome')}). You may answer it before the deadline shown.",
                  f"/audit/findings/{task.id}", data, state=task.state,
                  district=task.district)  # fmt: skip


def _deadline(session: Session, event: Event, payload: dict) -> Notice | None:
    task = _task(session, event)
    if task is None:
        return None
    respond_by = str(payload.get("respond_by", ""))[:10]
    data = {"task_id": task.id, "plan_id": task.plan_id, "respond_by": payload.get("respond_by")}
    return Notice("deadline_near", f"credx: answer due {respond_by} for task {task.id}",
                  f"An audit finding on one of your district's uploads (task {task.id}) has "
                  f"no answer yet; the answer is due by {respond_by}.",
                  f"/audit/findings/{task.id}", data, state=task.state,
                  district=task.district)  # fmt: skip


def _response(session: Session, event: Event, payload: dict) -> Notice | None:
    task = _task(session, event)
    if task is None:
        return None
    data = {"task_id": task.id, "district": task.district, "kind": payload.get("kind")}
    return Notice("district_answered", f"credx: district {task.district} answered task {task.id}",
                  f"District {task.district} answered the finding on task {task.id} "
                  f"({payload.get('kind')}).", f"/audit?task={task.id}", data,
                  state=task.state, district=task.district)  # fmt: skip


def _agreement(session: Session, event: Event, payload: dict) -> Notice | None:
    from agreements.models import Agreement

    agreement = session.get(Agreement, event.subject.partition(":")[2])
    if agreement is None:
        return None
    data = {"agreement": agreement.id, "vendor": agreement.vendor_id,
            "effective_to": payload.get("effective_to")}  # fmt: skip
    return Notice("agreement_expiring", f"credx: agreement {agreement.id} ends "
                  f"{payload.get('effective_to')}", f"The data-sharing agreement {agreement.id} "
                  f"({agreement.title}) ends on {payload.get('effective_to')}. Renew it, or its "
                  "data is destroyed as its retention says.", "/dashboard", data,
                  vendor=agreement.vendor_id)  # fmt: skip


BUILDERS: dict[str, Callable[[Session, Event, dict], Notice | None]] = {
    "delivery:file:rejected": _delivery,
    "delivery:rows:rejected": _delivery,
    "delivery:file:failed": _delivery,
    "connector:file:missing": _missing,
    "worker:job:finished": _job,
    "audit:finding:recorded": _finding,
    "audit:response:recorded": _response,
    "audit:deadline:near": _deadline,
    "agreement:term:expiring": _agreement,
}
