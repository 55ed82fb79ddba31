"""A purge takes the linkage rows derived from the purged records with it."""

from datetime import date

from sqlmodel import select

from kernel.database import session_scope
from linkage.engine import LinkParameters
from linkage.models import LinkConstraint, Person, PersonRecord, ReviewPair
from linkage.review import decide, review_queue
from linkage.service import link_state
from retention.destruction import plan_purge, run_purge
from tests.linkage.exams import ingest_records
from tests.linkage.records import ERROR_PAIRS, TWINS

AFTER_RETENTION = date(2101, 1, 1)  # the test vendor's blanket agreement runs to 2099


def test_purge_removes_person_links_review_pairs_and_decisions(app, tmp_path):
    ingest_records(app, tmp_path, [*ERROR_PAIRS["nickname"], *TWINS])
    ingest_records(app, tmp_path, [ERROR_PAIRS["hyphenated_surname"][0]], vendor="certiport")
    with session_scope(app.engine) as session:
        link_state(session, state="LA", params=LinkParameters(), actor="test")
    with session_scope(app.engine) as session:
        [item] = review_queue(session, actor="test")
        decide(session, item.pair_id, same=False, actor="test")
        plan = plan_purge(session, AFTER_RETENTION, agreement_id="nccer-all")
        assert [d.linked_records for d in plan.agreements[0].deliveries] == [4]
    run_purge(app, actor="test", agreement_id="nccer-all", today=AFTER_RETENTION)
    with session_scope(app.engine) as session:
        left = session.exec(select(PersonRecord)).all()
        assert [r.source_key for r in left] == [left[0].source_key]  # certiport's row stays
        assert session.exec(select(ReviewPair)).all() == []
        assert session.exec(select(LinkConstraint)).all() == []
        assert len(session.exec(select(Person)).all()) == 4  # ids stay; they hold no data
