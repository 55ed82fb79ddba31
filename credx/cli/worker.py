"""`credx worker`"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from credx.cli.common import JsonFlag, app_context, console, print_json
from credx.courier import deliver_until_idle, run_courier
from credx.jobs import JOB_HANDLERS
from exchange.scheduler import SchedulerLease, enqueue_due, run_until_idle, run_worker, worker_name
from kernel.logs import configure_logging


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Enqueue what is due, run every runnable job, exit")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Run scheduled pulls and the daily retention purge.

    It also delivers the notification outbox (emails and webhooks), in a thread.

    Several workers may run against PostgreSQL: one at a time schedules
    (advisory lock), all claim jobs with SKIP LOCKED.  On SQLite run one.
    """
    ctx = app_context()
    configure_logging(ctx.settings.log_format)
    if once:
        lease = SchedulerLease(ctx)
        added = enqueue_due(ctx) if lease.held() else []
        lease.close()
        ran = run_until_idle(ctx, worker_name(), JOB_HANDLERS)
        delivered, failed = deliver_until_idle(ctx)
        if json_output:
            print_json({"enqueued": added, "jobs_run": ran, "notifications_delivered": delivered,
                        "notifications_failed": failed})  # fmt: skip
        else:
            console.print(f"{len(added)} job(s) enqueued, {ran} run")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    console.print(f"worker {worker_name()} running; Ctrl-C to stop")
    courier = threading.Thread(target=run_courier, args=(ctx, stop), name="courier", daemon=True)
    courier.start()  # notifications go out while pulls run
    run_worker(ctx, JOB_HANDLERS, stop=stop)
    courier.join(timeout=30)
