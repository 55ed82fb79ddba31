"""The worker: cron runs enqueued once, jobs claimed once, and SIGKILL loses nothing."""

import os
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from credx.jobs import JOB_HANDLERS
from exchange.jobs import claim, enqueue
from exchange.models import Connector, Delivery, ExamResult, Job
from exchange.pulls import apply_connector
from exchange.scheduler import enqueue_due, last_fire_time, run_until_idle
from kernel.database import session_scope
from tests.exchange.local_pulls import connector_text, local_connector
from tests.factories import ExamResultFaker, csv_text, make_vendor, write_file
from tests.zygote import Zygote

WORKER = ["worker", "--once"]  # in a real process, forked from the zygote: the tests kill it


@pytest.fixture(scope="module")
def zygote():
    forks = Zygote()
    yield forks
    forks.close()


def test_the_last_fire_time_of_a_nightly_schedule():
    at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert last_fire_time("30 2 * * *", "UTC", at) == datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
    before = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    assert last_fire_time("30 2 * * *", "UTC", before).day == 26
    chicago = last_fire_time("0 2 * * *", "America/Chicago", at)
    assert chicago.astimezone(UTC) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_due_runs_are_enqueued_once_and_run(app, tmp_path):
    vendor = make_vendor(app)
    local_connector(app, tmp_path, vendor)
    write_file(tmp_path / "drop", "a.csv", csv_text([ExamResultFaker(1).row(1)]))
    first = enqueue_due(app)
    assert any(k.startswith("pull:nccer-drop:") for k in first)
    assert enqueue_due(app) == []
    assert run_until_idle(app, "w1", JOB_HANDLERS) == 2  # the pull and the retention purge
    with session_scope(app.engine) as session:
        assert len(session.exec(select(ExamResult)).all()) == 1
        assert all(j.finished_at and not j.error for j in session.exec(select(Job)))


def test_two_workers_never_claim_the_same_job(app):
    with session_scope(app.engine) as session:
        for n in range(2):
            enqueue(session, kind="pull", target="x", key=f"k{n}")
    with Session(app.engine) as one, Session(app.engine) as two:
        first = claim(one, "w1")
        if app.engine.dialect.name == "postgresql":  # SKIP LOCKED: both get work, not the same
            second = claim(two, "w2")
            assert sorted([first.key, second.key]) == ["k0", "k1"]
        else:  # SQLite has one writer: a second claimer is refused while the first holds it
            two.connection().exec_driver_sql("PRAGMA busy_timeout=100")
            with pytest.raises(OperationalError, match="locked"):
                claim(two, "w2")
        one.rollback()
        two.rollback()


def broken_connector(app, tmp_path, vendor: str) -> str:
    """A connector whose folder is gone and whose stored document names an unknown time zone
    (stored before apply checked it): every pull of it fails, and it cannot be scheduled."""
    gone = tmp_path / "gone"
    gone.mkdir()
    with session_scope(app.engine) as session:
        name = apply_connector(
            session, connector_text(vendor, gone).replace("-drop", "-broken"), "b.yaml", "test"
        ).name
        connector = session.get(Connector, name)
        connector.config = connector.config.replace('"UTC"', '"America/Chicgo"')
    gone.rmdir()
    return name


@pytest.mark.parametrize(("broken", "trials"), [(False, 20), (True, 8)])
def test_a_worker_killed_at_random_points_loses_and_doubles_nothing(
    app, tmp_path, cli_env, zygote, broken, trials
):
    """Trials: files arrive, a worker is SIGKILLed at a random moment, another finishes; with
    `broken`, a failing connector is configured too and gets a job every trial (issue 18).
    Workers are forked from a zygote that has done the imports, so a kill lands in the work
    (the pull, the ingest, the ledger), not in three seconds of importing pandas."""
    vendor = make_vendor(app)
    name = local_connector(app, tmp_path, vendor)
    bad = broken_connector(app, tmp_path, vendor) if broken else None
    env = {**os.environ, **cli_env, "CREDX_WORKER_LEASE_SECONDS": "0"}
    rng = random.Random(int(os.environ.get("CREDX_KILL_SEED", "20261127")))
    rows_per_file, expected, killed = 300, 0, 0
    for trial in range(trials):
        for f in range(2):
            faker = ExamResultFaker(trial * 10 + f, vendor_prefix=f"T{trial}F{f}-")
            write_file(tmp_path / "drop", f"t{trial}-{f}.csv",
                       csv_text([faker.row(n) for n in range(1, rows_per_file + 1)]))  # fmt: skip
            expected += rows_per_file
        with session_scope(app.engine) as session:
            if bad is not None:
                enqueue(session, kind="pull", target=bad, key=f"broken-{trial}")
            enqueue(session, kind="pull", target=name, key=f"trial-{trial}")
        victim = zygote.start(WORKER, env)
        if zygote.wait(timeout=rng.uniform(0.05, 1.2)) is None:
            killed += zygote.kill(victim) == -9
        assert zygote.run(WORKER, env) == 0
    with session_scope(app.engine) as session:
        loaded = session.exec(select(ExamResult.vendor_record_id)).all()
        deliveries = [
            (d.id, d.original_name, d.status, d.sha256[:8], d.duplicate_of, d.rows_loaded)
            for d in session.exec(select(Delivery))
        ]
    assert len(loaded) == expected and len(set(loaded)) == expected, deliveries
    assert list((tmp_path / "drop").iterdir()) == []
    assert killed >= trials // 3  # the trials really did kill workers mid-way
    if bad is not None:
        with session_scope(app.engine) as session:
            broken_jobs = session.exec(select(Job).where(Job.target == bad)).all()
            assert len(broken_jobs) == trials and all(j.error for j in broken_jobs)
            assert "unknown time zone" in session.get(Connector, bad).last_error
