"""Linking the database: stable ids, merges and splits logged, review decisions, increments.

Runs on SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import json

from sqlmodel import select

from eventlog.log import EventLog
from eventlog.models import Event
from eventlog.tags import EventTag
from kernel.database import session_scope
from linkage.engine import LinkParameters
from linkage.events import LinkageEvent
from linkage.models import LinkConstraint, Person, PersonRecord, ReviewPair
from linkage.review import decide, resolve_person, review_queue, show_person
from linkage.service import link_new, link_state
from tests.linkage.exams import ingest_records
from tests.linkage.records import ERROR_PAIRS, STRANGERS, TWINS

PARAMS = LinkParameters()
NICK = ERROR_PAIRS["nickname"]
SWAP = ERROR_PAIRS["day_month_swapped"]


def run(app, *, incremental: bool = False):
    fn = link_new if incremental else link_state
    with session_scope(app.engine) as session:
        return fn(session, state="LA", params=PARAMS, actor="test")


def persons_by_name(app) -> dict[tuple[str, str], set[str]]:
    """(first, last) of each exam row -> the person ids its rows are linked to."""
    from exchange.models import ExamResult

    with session_scope(app.engine) as session:
        links = {(r.source_key): r.person_id for r in session.exec(select(PersonRecord))}
        found: dict[tuple[str, str], set[str]] = {}
        for row in session.exec(select(ExamResult)):
            key = f"{row.delivery_id}:{row.row_number}"
            found.setdefault((row.first_name, row.last_name), set()).add(links[key])
    return found


def actions(app, action: EventTag) -> list[Event]:
    with session_scope(app.engine) as session:
        return list(session.exec(select(Event).where(Event.action == str(action))))


def test_a_run_links_and_a_rerun_keeps_every_id(app, tmp_path):
    ingest_records(app, tmp_path, [*NICK, *SWAP, *TWINS, *STRANGERS])
    first = run(app)
    assert (first.records, first.persons) == (9, 7)  # two John Does: other birth dates
    people = persons_by_name(app)
    assert people[("William", "Thibodeaux")] == people[("Bill", "Thibodeaux")]
    assert people[("Emma", "Nguyen")] != people[("Olivia", "Nguyen")]
    second = run(app)
    assert persons_by_name(app) == people
    assert second.new_persons == 0 and second.merged == 0 and second.split == 0
    finished = actions(app, LinkageEvent.LINK_RUN_FINISHED)
    assert len(finished) == 2
    payload = json.loads(finished[0].payload)
    assert payload["persons"] == 7 and "Thibodeaux" not in finished[0].payload


def test_review_decision_same_merges_logs_and_old_id_resolves(app, tmp_path):
    ingest_records(app, tmp_path, [*TWINS])
    run(app)
    before = persons_by_name(app)
    with session_scope(app.engine) as session:
        [item] = review_queue(session, actor="test")
        assert item.reason in {"uncertain", "first_name_differs"}
        assert {item.left["first_name"], item.right["first_name"]} == {"Emma", "Olivia"}
        decide(session, item.pair_id, same=True, actor="test", note="same student, renamed")
    summary = run(app)
    assert summary.merged == 1 and summary.review_pairs == 0
    after = persons_by_name(app)
    assert after[("Emma", "Nguyen")] == after[("Olivia", "Nguyen")]
    [merged] = actions(app, LinkageEvent.PERSON_MERGED)
    assert "Nguyen" not in merged.payload and "2008" not in merged.payload
    with session_scope(app.engine) as session:
        for old in before.values():
            assert resolve_person(session, next(iter(old))) == next(iter(after[("Emma", "Nguyen")]))
        shown = show_person(session, next(iter(before[("Olivia", "Nguyen")])), actor="test")
        assert len(shown.records) == 2 and shown.aliases
        as_json = shown.as_json()  # what `credx link show --json` prints
        assert list(as_json) == ["person_id", "requested_id", "state", "aliases", "records"]
        assert [r["record_id"] for r in as_json["records"]] == [
            r["record_id"] for r in shown.records
        ]


def test_review_decision_different_is_honoured_and_not_asked_again(app, tmp_path):
    ingest_records(app, tmp_path, [*TWINS])
    run(app)
    with session_scope(app.engine) as session:
        [item] = review_queue(session, actor="test")
        decide(session, item.pair_id, same=False, actor="test")
    summary = run(app)
    assert summary.review_pairs == 0 and summary.persons == 2
    with session_scope(app.engine) as session:
        assert review_queue(session, actor="test") == []
        assert session.exec(select(LinkConstraint)).one().kind == "cannot_link"
    assert actions(app, LinkageEvent.REVIEW_DECIDED)


def test_a_split_is_logged_and_the_old_id_still_resolves(app, tmp_path):
    ingest_records(app, tmp_path, [*NICK])
    run(app)
    [old] = persons_by_name(app)[("William", "Thibodeaux")]
    with session_scope(app.engine) as session:
        left, right = sorted(f"exam:{r.source_key}" for r in session.exec(select(PersonRecord)))
        session.add(
            LinkConstraint(
                state="LA", kind="cannot_link", record_l=left, record_r=right, created_by="test"
            )
        )
    summary = run(app)
    assert summary.split == 1 and summary.persons == 2
    [split] = actions(app, LinkageEvent.PERSON_SPLIT)
    assert split.subject == f"person:{old}"
    with session_scope(app.engine) as session:
        assert resolve_person(session, old) == old
        assert len(session.exec(select(Person)).all()) == 2


def test_incremental_linking_adds_new_records_to_existing_persons(app, tmp_path):
    ingest_records(app, tmp_path, [NICK[0], SWAP[0], *STRANGERS])
    run(app)
    before = persons_by_name(app)
    ingest_records(app, tmp_path, [NICK[1], SWAP[1], TWINS[0]], vendor="certiport")
    summary = run(app, incremental=True)
    assert summary.kind == "incremental" and summary.records == 3
    after = persons_by_name(app)
    assert after[("Bill", "Thibodeaux")] == before[("William", "Thibodeaux")]
    assert len(after[("Maria", "Landry")]) == 1
    assert after[("Emma", "Nguyen")].isdisjoint(set().union(*before.values()))
    with session_scope(app.engine) as session:
        assert len(session.exec(select(PersonRecord)).all()) == 8
        assert session.exec(select(ReviewPair)).all() == []
    nothing_new = run(app, incremental=True)
    assert nothing_new.records == 0


def test_viewing_the_queue_and_a_person_is_in_the_event_log(app, tmp_path):
    ingest_records(app, tmp_path, [*TWINS])
    run(app)
    with session_scope(app.engine) as session:
        review_queue(session, actor="auditor")
        pid = session.exec(select(Person.id)).first()
        show_person(session, pid, actor="auditor")
        viewed = {e.action for e in EventLog(session).for_subject(f"person:{pid}")}
    assert str(LinkageEvent.PERSON_VIEWED) in viewed
    assert actions(app, LinkageEvent.REVIEW_VIEWED)[0].actor == "auditor"


def test_a_pair_is_decided_once(app, tmp_path):
    import pytest

    from kernel.errors import InvalidInput, NotFound

    ingest_records(app, tmp_path, [*TWINS])
    run(app)
    with session_scope(app.engine) as session:
        [item] = review_queue(session, actor="test")
        decide(session, item.pair_id, same=False, actor="test")
        with pytest.raises(InvalidInput, match="already decided"):
            decide(session, item.pair_id, same=True, actor="test")
        with pytest.raises(NotFound):
            decide(session, 999_999, same=True, actor="test")
        with pytest.raises(NotFound, match="no person"):
            show_person(session, "PNOSUCHPERSON", actor="test")


def test_an_unknown_state_is_refused(app):
    import pytest

    from kernel.errors import InvalidInput
    from linkage.service import link_states

    with session_scope(app.engine) as session, pytest.raises(InvalidInput, match="ZZ"):
        link_states(session, states=["ZZ"], params=PARAMS, actor="test")
