"""Two auditors at once on PostgreSQL (two threads, two connections): exactly one wins.

Each race is forced: both threads have read the same task (same version)
before either writes, so the second write really meets the first one's row
lock and must lose on `version`, not on timing luck.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlmodel import func, select

from audit.plans.models import AuditFinding, AuditTask
from audit.plans.queue import AuditQueue, Finding, Recorded, TaskConflict
from credx.app import App
from eventlog.models import Event
from kernel.database import session_scope
from kernel.settings import Settings
from tests.audit.plans.auditing import auditor, drawn_tasks

VERIFIED = Finding.parse("verified", None, None)


@pytest.fixture
def pg_app(tmp_path, postgres_databases) -> Iterator[App]:
    name = postgres_databases.create()
    home = tmp_path / "home"
    home.mkdir()
    app = App(Settings(home=home, database_url=postgres_databases.url_for(name)))
    app.keyring.ensure()
    yield app
    app.engine.dispose()
    postgres_databases.drop(name)


class RacingQueue(AuditQueue):
    """Waits at `barrier` once, right after reading what it is about to change."""

    def __init__(self, *args, barrier: threading.Barrier):
        super().__init__(*args)
        self.barrier, self.waited = barrier, False

    def _meet(self) -> None:
        if not self.waited:
            self.waited = True
            self.barrier.wait(timeout=20)

    def _candidate(self, state):
        found = super()._candidate(state)
        self._meet()
        return found

    def _stage(self, task):
        stage = super()._stage(task)
        self._meet()
        return stage


def race(app: App, work: list[Callable[[AuditQueue], object]], names: list[str]) -> list:
    """Run each `work(queue)` in its own thread and transaction; results or exceptions."""
    barrier = threading.Barrier(len(work))
    results: list = [None] * len(work)

    def run(index: int) -> None:
        try:
            with session_scope(app.engine) as session:
                queue = RacingQueue(session, app, auditor(names[index]), barrier=barrier)
                outcome = work[index](queue)
                results[index] = outcome.id if isinstance(outcome, AuditTask) else outcome
        except Exception as exc:  # the loser's error is its result
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_auditors_taking_the_next_task_at_once_get_different_tasks(pg_app, tmp_path):
    with session_scope(pg_app.engine) as session:
        ids = [task.id for task in drawn_tasks(session, tmp_path, {"036001": 3})]
    taken = race(pg_app, [AuditQueue.next_task, AuditQueue.next_task], ["a1", "a2"])
    assert sorted(taken) == sorted(ids[:2])  # both saw ids[0]; the loser moved on to ids[1]
    with session_scope(pg_app.engine) as session:
        holders = {t.id: t.assigned_to for t in session.exec(select(AuditTask))}
    assert {holders[ids[0]], holders[ids[1]]} == {"token:a1", "token:a2"}
    assert holders[ids[2]] is None


def test_one_task_left_one_auditor_gets_it_the_other_nothing(pg_app, tmp_path):
    with session_scope(pg_app.engine) as session:
        [task] = drawn_tasks(session, tmp_path, {"036001": 1})
        task_id = task.id
    taken = race(pg_app, [AuditQueue.next_task, AuditQueue.next_task], ["a1", "a2"])
    assert sorted(taken, key=str) == sorted([task_id, None], key=str)


def test_finishing_the_same_task_twice_at_once_one_wins_the_other_gets_a_conflict(pg_app, tmp_path):
    with session_scope(pg_app.engine) as session:
        drawn_tasks(session, tmp_path, {"036001": 1})
        task = AuditQueue(session, pg_app, auditor("a1")).next_task()
        task_id, version = task.id, task.version
    discrepancy = Finding.parse("discrepancy", "illegible", "too blurred to read")
    results = race(
        pg_app,
        [lambda q: q.record(task_id, VERIFIED), lambda q: q.record(task_id, discrepancy)],
        ["a1", "a1"],  # the same auditor in two browser tabs
    )
    wins = [r for r in results if isinstance(r, Recorded)]
    losses = [r for r in results if isinstance(r, TaskConflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    with session_scope(pg_app.engine) as session:
        stored = session.get(AuditTask, task_id)
        findings = session.exec(select(AuditFinding).where(AuditFinding.task_id == task_id)).all()
        recorded = session.exec(
            select(func.count()).select_from(Event).where(Event.action == "audit:finding:recorded")
        ).one()
    assert stored.version == version + 1 and stored.status == wins[0].task.status
    assert len(findings) == 1 and findings[0].outcome == wins[0].finding.outcome
    assert recorded == 1
