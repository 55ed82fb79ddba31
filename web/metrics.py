"""Prometheus metrics: database gauges computed at scrape time, and this process's counters.

Gauges come from a handful of grouped `count`/`sum` queries run when Prometheus
scrapes, so every web process reports the same installation-wide figures and
nothing has to be kept in step.  Counters are only for what this process
itself does (the HTTP requests it served); with several uvicorn workers each
has its own, which Prometheus sums across scrapes of the same target poorly, so
deployments that need exact request counts scrape each worker or use the
proxy's own metrics.

Labels are vendors, states, statuses and job kinds: never a student, a
school, a token or a file name.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine
from sqlmodel import col

from audit.plans.models import AuditTask, TaskStatus
from exchange.evidence.models import Evidence
from exchange.models import Delivery, Job
from linkage.models import ReviewPair

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class DatabaseCollector:
    """Installation-wide gauges read from the database on each scrape (six queries)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def describe(self) -> list:
        return []  # registering must not query the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.engine.connect() as connection:
            yield from self._deliveries(connection)
            yield self._grouped(
                connection, "credx_evidence_uploads", "Certificate uploads by state and status.",
                ("state", "status"),
                sa.select(col(Evidence.state), col(Evidence.status), sa.func.count())
                .group_by(Evidence.state, Evidence.status),
            )  # fmt: skip
            yield self._grouped(
                connection, "credx_audit_tasks_open",
                "Audit tasks not yet final (open, assigned, second review) by state and status.",
                ("state", "status"),
                sa.select(col(AuditTask.state), col(AuditTask.status), sa.func.count())
                .where(col(AuditTask.status) != TaskStatus.FINAL)
                .group_by(AuditTask.state, AuditTask.status),
            )  # fmt: skip
            yield self._grouped(
                connection, "credx_review_pairs_open", "Record-linkage pairs awaiting review.",
                ("state",), sa.select(col(ReviewPair.state), sa.func.count())
                .where(col(ReviewPair.status) == "open").group_by(ReviewPair.state),
            )  # fmt: skip
            yield from self._jobs(connection)

    @staticmethod
    def _grouped(connection, name: str, doc: str, labels: tuple[str, ...], query):
        family = GaugeMetricFamily(name, doc, labels=list(labels))
        for *values, count in connection.execute(query):
            family.add_metric([str(v) for v in values], count)
        return family

    @staticmethod
    def _deliveries(connection) -> Iterator[GaugeMetricFamily]:
        files = GaugeMetricFamily(
            "credx_deliveries", "Vendor files received, by vendor and status.",
            labels=["vendor", "status"],
        )  # fmt: skip
        rows = GaugeMetricFamily(
            "credx_delivery_rows", "Rows of vendor files by vendor and outcome (loaded, rejected).",
            labels=["vendor", "outcome"],
        )  # fmt: skip
        query = sa.select(
            col(Delivery.vendor_id), col(Delivery.status), sa.func.count(),
            sa.func.coalesce(sa.func.sum(Delivery.rows_loaded), 0),
            sa.func.coalesce(sa.func.sum(Delivery.rows_rejected), 0),
        ).group_by(Delivery.vendor_id, Delivery.status)  # fmt: skip
        loaded: dict[str, int] = {}
        rejected: dict[str, int] = {}
        for vendor, status, count, rows_loaded, rows_rejected in connection.execute(query):
            files.add_metric([vendor, status], count)
            loaded[vendor] = loaded.get(vendor, 0) + int(rows_loaded)
            rejected[vendor] = rejected.get(vendor, 0) + int(rows_rejected)
        for vendor in sorted(loaded):
            rows.add_metric([vendor, "loaded"], loaded[vendor])
            rows.add_metric([vendor, "rejected"], rejected[vendor])
        yield files
        yield rows

    @staticmethod
    def _jobs(connection) -> Iterator[GaugeMetricFamily]:
        pending = GaugeMetricFamily(
            "credx_jobs_pending", "Jobs enqueued and not finished (waiting, running or "
            "retrying), by kind.", labels=["kind"],
        )  # fmt: skip
        failed = GaugeMetricFamily(
            "credx_jobs_failed", "Jobs whose last attempt failed, by kind and state: `retrying` "
            "(will run again) or `given_up` (finished with an error).", labels=["kind", "state"],
        )  # fmt: skip
        unfinished = col(Job.finished_at).is_(None)
        query = sa.select(
            col(Job.kind),
            sa.func.sum(sa.case((unfinished, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(unfinished, col(Job.error).is_not(None)), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(~unfinished, col(Job.error).is_not(None)), 1), else_=0)),
        ).group_by(Job.kind)
        for kind, waiting, retrying, given_up in connection.execute(query):
            pending.add_metric([kind], int(waiting or 0))
            failed.add_metric([kind, "retrying"], int(retrying or 0))
            failed.add_metric([kind, "given_up"], int(given_up or 0))
        yield pending
        yield failed


class Metrics:
    """One registry per web app (not the global one, so tests can build many apps)."""

    def __init__(self, engine: Engine):
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DatabaseCollector(engine))
        self.requests = Counter(
            "credx_http_requests", "HTTP requests this process answered, by method, route "
            "template and status code.", ["method", "route", "status"], registry=self.registry,
        )  # fmt: skip
        self.duration = Histogram(
            "credx_http_request_duration_seconds", "Time to answer HTTP requests, by route "
            "template.", ["route"], registry=self.registry,
        )  # fmt: skip

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(route).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
