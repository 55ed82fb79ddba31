"""The jobs a credx worker runs, by kind: the worker's wiring of domains to the queue.

`exchange.scheduler` claims and records jobs without knowing what they do;
this table names the service behind each kind.
"""

from __future__ import annotations

from collections.abc import Mapping

from exchange.models import Job
from exchange.pulls import pull
from exchange.resources import Resources
from exchange.scheduler import JobHandler
from retention.destruction import daily_purge


def run_pull(app: Resources, job: Job, worker: str) -> None:
    pull(app, job.target, actor=f"worker:{worker}")


def run_purge(app: Resources, _job: Job, _worker: str) -> None:
    daily_purge(app)


def run_checkpoint(app: Resources, _job: Job, worker: str) -> None:
    from exchange.witness import open_witness, witness_checkpoint
    from kernel.database import unit_of_work
    from kernel.signing import ensure_signing_key

    key = ensure_signing_key(app.keyring.directory)
    with unit_of_work(app.engine) as session:
        witness_checkpoint(session, key, open_witness(app.settings), f"worker:{worker}")


JOB_HANDLERS: Mapping[str, JobHandler] = {"pull": run_pull, "purge": run_purge,
                                          "checkpoint": run_checkpoint}  # fmt: skip
