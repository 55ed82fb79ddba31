"""Open review pairs between real source records, for the review page and API tests.

The pairs are written directly (as a linkage run would leave them): what the
linker puts in the queue is tested in tests/linkage; here the subject is who
may see and decide them.
"""

from __future__ import annotations

from pathlib import Path

from credx.app import App
from kernel.database import session_scope
from linkage.models import LinkModelDocument, LinkRun, ReviewPair
from tests.linkage.exams import ingest_records
from tests.linkage.records import rec
from tests.linkage.sources import upload_claim

EMMA = rec("e", "Emma", "Nguyen", "2008-09-09", state_student_id="LA1000001", school_code="S1")
OLIVIA = rec("o", "Olivia", "Nguyen", "2008-09-09", state="TN", school_code="T9")
OLIVE = rec("v", "Olive", "Nguyen", "2008-09-09", state="TN", state_student_id="TN77")


def open_pair(app: App, state: str, left: str, right: str, reason: str = "uncertain") -> int:
    with session_scope(app.engine) as session:
        if session.get(LinkModelDocument, "test-model") is None:
            session.add(LinkModelDocument(version="test-model", document="{}", inputs_sha256="0"))
            session.flush()
        run = LinkRun(state=state, kind="full", engine="duckdb", model_version="test-model",
                      actor="test")  # fmt: skip
        session.add(run)
        session.flush()
        pair = ReviewPair(state=state, run_id=run.id, record_l=left, record_r=right,
                          match_probability=0.6, match_weight=1.5, reason=reason)  # fmt: skip
        session.add(pair)
        session.flush()
        return pair.id


def la_and_tn_pairs(app: App, tmp_path: Path) -> tuple[int, int]:
    """(LA pair: a vendor's Emma Nguyen and an upload for "Emma Ngyuen"; a TN pair)."""
    delivery = ingest_records(app, tmp_path, [EMMA, OLIVIA, OLIVE])
    evidence = upload_claim(app, tmp_path, "Emma Ngyuen", "2008-09-09", "LA1000001")
    la = open_pair(app, "LA", f"evidence:{evidence}", f"exam:{delivery}:1")
    tn = open_pair(app, "TN", f"exam:{delivery}:2", f"exam:{delivery}:3", reason="two_state_ids")
    return la, tn
