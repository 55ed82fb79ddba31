"""The operator dashboard's panels: plain aggregates out, no student data.

Each panel is one function taking the session explicitly and the state it
covers (None: every state, for an installation admin; `access.policy.
dashboard_state` decides which).  Each runs a fixed, small number of aggregate
queries whatever the data size (no query per vendor, plan or delivery), on
columns that are indexed or on small tables (agreements, connectors,
deliveries: one row per file, never per exam row).

Delivery expectations, precisely (the manual, "Dashboard, metrics and logs"):

* a connector is *expected* to deliver at each time its cron schedule fires
  (in its own timezone), from when it was first applied, on a night when a
  non-template agreement of its vendor is in force (and, for a state's
  operator, covers that state); the agreement may name the connector
  (`connector:`), else every connector of the vendor counts;
* the *night* of a scheduled time is its date in the connector's timezone, and
  its *window* runs until the connector's next scheduled time;
* a night's file is *due* at the connector's `expect_by` time that night
  (the deadline `credx connectors list` alerts on) or, without one,
  `late_after` after the scheduled time;
* a delivery pulled through the connector in the window by the due time makes
  the night on time; the first one later in the window makes it *late*; none
  in the window once the due time has passed makes it *missing* (until one
  arrives: then it is late); before that it is *pending*;
* deliveries not taken in by a connector (drop folders, `credx deliveries
  ingest`) count as received on their UTC date, with no expectation.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session, col, select

from agreements.models import Agreement
from audit.plans.results import progress_by_plan
from eventlog.models import Event
from exchange.connectors import ConnectorConfig
from exchange.events import ExchangeEvent
from exchange.models import Connector, Delivery, DeliveryStatus, PulledFile, RejectedRow
from kernel.clock import as_utc
from linkage.models import LinkRun, ReviewPair

PROBLEM_STATUSES = (DeliveryStatus.REJECTED, DeliveryStatus.QUARANTINED)


@dataclass(frozen=True)
class Window:
    """What the delivery panels look at: `nights` nights up to `now`."""

    now: datetime
    nights: int = 7
    late_after: timedelta = timedelta(minutes=120)

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=self.nights)

    @classmethod
    def from_settings(cls, settings, now: datetime) -> Window:
        """The window the dashboard settings describe, ending `now`."""
        late = timedelta(minutes=settings.dashboard_late_after_minutes)
        return cls(now, settings.dashboard_nights, late)


@dataclass
class NightRow:
    vendor: str
    night: str  # ISO date
    expected: int = 0
    received: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    pending: int = 0
    deliveries: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _AgreementSpan:
    id: str
    vendor: str
    states: tuple[str, ...]
    connector: str | None
    effective_from: date
    effective_to: date
    title: str

    def covers(self, state: str | None, connector: Connector, night: date) -> bool:
        return (
            (state is None or state in self.states)
            and self.vendor == connector.vendor_id
            and self.connector in (None, connector.name)
            and self.effective_from <= night <= self.effective_to
        )


def vendors_of_state(session: Session, state: str) -> set[str]:
    """Vendors with an agreement covering `state`: whose deliveries its operator may see."""
    return {span.vendor for span in _agreements(session, state)}


def _agreements(session: Session, state: str | None) -> list[_AgreementSpan]:
    """Non-template, unpurged agreements (covering `state`); states live in the terms JSON."""
    rows = session.exec(
        select(Agreement).where(
            col(Agreement.is_template).is_(False), col(Agreement.purged_at).is_(None)
        )
    ).all()
    spans = []
    for row in rows:
        terms = json.loads(row.terms)
        states = tuple(s.upper() for s in terms.get("states", ()))
        if state is None or state in states:
            connector = terms.get("connector")
            spans.append(
                _AgreementSpan(
                    row.id,
                    row.vendor_id,
                    states,
                    connector,
                    row.effective_from,
                    row.effective_to,
                    row.title,
                )
            )
    return spans


def _fire_times(config: ConnectorConfig, window: Window) -> list[datetime]:
    """Scheduled times from the window's start to the first one after `now` (closes the last)."""
    trigger = CronTrigger.from_crontab(config.schedule, timezone=config.timezone)
    times, fire = [], trigger.get_next_fire_time(None, window.start)
    while fire is not None:
        times.append(fire)
        if fire > window.now:
            break
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return times


def _window_deliveries(session: Session, window: Window, vendors: set[str] | None):
    """(id, vendor, received_at, connector or None, status, rows_total, rows_rejected)."""
    query = (
        sa.select(Delivery.id, Delivery.vendor_id, Delivery.received_at, PulledFile.connector,  # type: ignore[call-overload]  # model attributes typed as values
                  Delivery.status, Delivery.rows_total, Delivery.rows_rejected)
        .outerjoin(PulledFile, PulledFile.delivery_id == Delivery.id)
        .where(Delivery.received_at >= window.start)
        .order_by(Delivery.received_at)
    )  # fmt: skip
    if vendors is not None:
        query = query.where(col(Delivery.vendor_id).in_(sorted(vendors)))
    return session.execute(query).all()


def deliveries_by_night(session: Session, state: str | None, window: Window) -> list[NightRow]:
    """Per vendor per night: expected, received, on time, late, missing, pending (3 queries)."""
    spans = _agreements(session, state)
    vendors = {span.vendor for span in spans} if state is not None else None
    connectors = session.exec(select(Connector)).all()
    since = _connectors_since(session)
    found = _window_deliveries(session, window, vendors)
    rows: dict[tuple[str, str], NightRow] = {}

    def row(vendor: str, night: date) -> NightRow:
        key = (vendor, night.isoformat())
        return rows.setdefault(key, NightRow(vendor, key[1]))

    by_connector = defaultdict(list)
    for delivery in found:
        if delivery.connector is None:
            night_row = row(delivery.vendor_id, as_utc(delivery.received_at).date())
            night_row.received += 1
            night_row.deliveries.append(delivery.id)
        else:
            by_connector[delivery.connector].append(delivery)
    for connector in connectors:
        if vendors is not None and connector.vendor_id not in vendors:
            continue
        first = since.get(f"connector:{connector.name}")
        _connector_nights(connector, by_connector[connector.name], spans, state, window, row,
                          first)  # fmt: skip
    return sorted(rows.values(), key=lambda r: (r.night, r.vendor), reverse=True)


def _within(moment: datetime, start: datetime, end: datetime | None) -> bool:
    moment = as_utc(moment)
    return moment >= start and (end is None or moment < end)


def due_time(config: ConnectorConfig, fire: datetime, late_after: timedelta) -> datetime:
    """When a night's file is late: the connector's `expect_by` (local time, the same
    deadline as `credx connectors list`'s `file_missing`) if it falls after the scheduled
    pull that day, else the scheduled pull plus `late_after`."""
    if config.expect_by:
        hour, minute = (int(part) for part in config.expect_by.split(":"))
        expected = fire.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if expected > fire:
            return expected
    return fire + late_after


def _connectors_since(session: Session) -> dict[str, datetime]:
    """When each connector was first applied (its first `connector:document:applied` event;
    one grouped query on the indexed action): nothing is expected of it before."""
    query = (
        sa.select(Event.subject, sa.func.min(Event.occurred_at))  # type: ignore[call-overload]  # model attributes typed as values
        .where(Event.action == ExchangeEvent.CONNECTOR_APPLIED)
        .group_by(Event.subject)
    )
    return {
        subject: as_utc(datetime.fromisoformat(first)) for subject, first in session.execute(query)
    }


def _connector_nights(connector, deliveries, spans, state, window, row, first=None) -> None:
    config = ConnectorConfig.model_validate_json(connector.config)
    times = _fire_times(config, window)
    for fire, closes in zip(times, [*times[1:], None], strict=True):
        if fire > window.now:
            break
        night = fire.date()  # the trigger's times are in the connector's timezone
        inside = [d for d in deliveries if _within(d.received_at, fire, closes)]
        expected = (first is None or fire >= first) and any(
            span.covers(state, connector, night) for span in spans
        )
        if not (inside or expected):
            continue
        night_row = row(connector.vendor_id, night)
        night_row.received += len(inside)
        night_row.deliveries.extend(d.id for d in inside)
        if not expected:
            continue
        night_row.expected += 1
        due = due_time(config, fire, window.late_after)
        if inside:
            if as_utc(inside[0].received_at) <= due:
                night_row.on_time += 1
            else:
                night_row.late += 1
        elif window.now >= due:
            night_row.missing += 1
        else:
            night_row.pending += 1


@dataclass
class RejectionRow:
    delivery_id: int
    vendor: str
    received_at: str
    status: str
    rows_total: int
    rows_rejected: int
    rejection_rate: float | None  # rejected / total rows; None for a file with no rows read
    report: str  # the error report page


@dataclass
class VendorRejections:
    vendor: str
    deliveries: int
    rows_total: int
    rows_rejected: int
    rejection_rate: float | None
    problems: list[RejectionRow]


def _rate(rejected: int, total: int) -> float | None:
    return round(rejected / total, 4) if total else None


def rejections(session: Session, state: str | None, window: Window) -> list[VendorRejections]:
    """Per vendor over the window: rows read and rejected, and each delivery with a problem
    (rows rejected, or the file rejected or quarantined) linked to its error report."""
    vendors = {span.vendor for span in _agreements(session, state)} if state else None
    per_vendor: dict[str, VendorRejections] = {}
    for d in _window_deliveries(session, window, vendors):
        entry = per_vendor.setdefault(d.vendor_id, VendorRejections(d.vendor_id, 0, 0, 0, None, []))
        entry.deliveries += 1
        entry.rows_total += d.rows_total
        entry.rows_rejected += d.rows_rejected
        if d.rows_rejected or d.status in PROBLEM_STATUSES:
            entry.problems.append(RejectionRow(
                d.id, d.vendor_id, as_utc(d.received_at).isoformat(), d.status, d.rows_total,
                d.rows_rejected, _rate(d.rows_rejected, d.rows_total),
                f"/dashboard/deliveries/{d.id}",
            ))  # fmt: skip
    for entry in per_vendor.values():
        entry.rejection_rate = _rate(entry.rows_rejected, entry.rows_total)
        entry.problems.reverse()  # newest first
    return sorted(per_vendor.values(), key=lambda v: v.vendor)


@dataclass
class ExpiringAgreement:
    agreement_id: str
    title: str
    vendor: str
    states: list[str]
    effective_to: str
    days_left: int


def expiring_agreements(
    session: Session, state: str | None, today: date, horizon_days: int = 60
) -> list[ExpiringAgreement]:
    """Agreements in force today that end within `horizon_days` (soonest first; 1 query)."""
    end = today + timedelta(days=horizon_days)
    out = [
        ExpiringAgreement(span.id, span.title, span.vendor, list(span.states),
                          span.effective_to.isoformat(), (span.effective_to - today).days)
        for span in _agreements(session, state)
        if span.effective_from <= today <= span.effective_to <= end
    ]  # fmt: skip
    return sorted(out, key=lambda a: (a.days_left, a.agreement_id))


@dataclass
class ReviewBacklog:
    state: str
    open_pairs: int
    oldest_open_run: int | None  # the earliest run that still has an open pair
    last_run: int | None
    last_run_finished_at: str | None
    flagged_clusters: int  # clusters the last run refused to grow (too large, conflicts)


def review_backlog(session: Session, state: str | None) -> list[ReviewBacklog]:
    """Open review pairs per state and the latest run's flagged clusters (2 grouped queries)."""
    pairs = (
        sa.select(ReviewPair.state, sa.func.count().label("n"),  # type: ignore[call-overload]  # model attributes typed as values
                  sa.func.min(ReviewPair.run_id).label("oldest"))
        .where(ReviewPair.status == "open")
        .group_by(ReviewPair.state)
    )  # fmt: skip
    latest = sa.select(sa.func.max(LinkRun.id)).group_by(LinkRun.state)
    runs = sa.select(LinkRun).where(col(LinkRun.id).in_(latest))
    if state is not None:
        pairs = pairs.where(ReviewPair.state == state)
        runs = runs.where(col(LinkRun.state) == state)
    backlog = {r.state: ReviewBacklog(r.state, r.n, r.oldest, None, None, 0)
               for r in session.execute(pairs)}  # fmt: skip
    for (run,) in session.execute(runs):
        entry = backlog.setdefault(run.state, ReviewBacklog(run.state, 0, None, None, None, 0))
        entry.last_run, entry.flagged_clusters = run.id, run.flagged_clusters
        finished = run.finished_at and as_utc(run.finished_at).isoformat()
        entry.last_run_finished_at = finished or None
    return sorted(backlog.values(), key=lambda b: b.state)


PANELS = ("deliveries", "rejections", "agreements", "audits", "reviews")


def panel(session: Session, name: str, state: str | None, window: Window, horizon_days: int):
    """One panel by name, as JSON-ready data (the API's and the page's single entry point)."""
    data: Sequence[Any]
    if name == "deliveries":
        data = deliveries_by_night(session, state, window)
    elif name == "rejections":
        data = rejections(session, state, window)
    elif name == "agreements":
        data = expiring_agreements(session, state, window.now.date(), horizon_days)
    elif name == "audits":
        data = progress_by_plan(session, state)
    elif name == "reviews":
        data = review_backlog(session, state)
    else:
        raise KeyError(name)
    return [asdict(item) for item in data]


@dataclass
class ReasonCount:
    column: str | None
    reason: str
    rows: int


def rejection_reasons(session: Session, delivery_id: int) -> list[ReasonCount]:
    """A delivery's error report in brief: rows per (column, reason), values left out, so the
    page shows what to fix without showing any student's data (the full per-row report is
    `credx rejections DELIVERY`)."""
    query = (
        sa.select(RejectedRow.column, RejectedRow.reason, sa.func.count().label("n"))  # type: ignore[call-overload]  # model attributes typed as values
        .where(RejectedRow.delivery_id == delivery_id)
        .group_by(RejectedRow.column, RejectedRow.reason)
        .order_by(sa.func.count().desc(), RejectedRow.column)
    )
    return [ReasonCount(r.column, r.reason, r.n) for r in session.execute(query)]
