"""The demo's corrections step (issue 18): a vendor re-sends its file corrected, then
retracts one row; every row stays counted once.

The re-send is the vendor's whole file again with a few rows changed and two rows
added, ingested as `credx ingest` does; the retraction is a file whose only column is
`vendor_record_id` (`exchange.corrections`).  Which rows change is fixed by the data (the
first loaded record ids), so a second demo run re-sends the same bytes: duplicates.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col, select

from credx.app import App
from credx.demo.data import ExamResultFaker, write_csv
from eventlog.log import cli_actor
from exchange.corrections import CURRENT
from exchange.deliveries import ingest_file
from exchange.ingest import IngestOutcome
from exchange.models import Delivery, ExamResult
from kernel.database import session_scope

CHANGED = 3  # rows the corrected file changes (one more is retracted)
ADDED = 2  # rows only the corrected file has


def show_corrections(app: App, vendor: tuple[str, tuple[str, ...]], rows: int, seed: int,
                     say) -> dict:  # fmt: skip
    """Re-send `vendor`'s file corrected, retract one row, and count its current rows."""
    vendor_id, codes = vendor
    changed, retracted = _chosen(app, vendor_id)
    # the vendor's files hold student data: a private directory, removed once ingested
    with tempfile.TemporaryDirectory(prefix="credx-corrections-") as folder:
        faker = ExamResultFaker(seed, vendor_prefix=vendor_id[:2].upper(), codes=codes)
        resent = write_csv(Path(folder) / f"{vendor_id}_exam_results_corrected.csv",
                           _corrected(faker, rows, changed))  # fmt: skip
        correction = _ingest(app, resent, vendor_id)
        withdrawal = Path(folder) / f"{vendor_id}_retractions.csv"
        withdrawal.write_text(f"vendor_record_id\n{retracted}\n", encoding="utf-8")
        retraction = _ingest(app, withdrawal, vendor_id)
    counts = {
        "new": correction.rows_loaded - correction.rows_superseded - correction.rows_unchanged,
        "unchanged": correction.rows_unchanged, "superseded": correction.rows_superseded,
        "retracted": retraction.rows_retracted,
    }  # fmt: skip
    current, distinct = _current_rows(app, vendor_id)
    _say(say, vendor_id, correction, retraction, counts, (current, distinct))
    return {"correction": correction.as_json(), "retraction": retraction.as_json(),
            "counts": counts, "current_rows": current, "distinct_ids": distinct}  # fmt: skip


def _chosen(app: App, vendor_id: str) -> tuple[set[str], str]:
    """The first record ids the vendor's file loaded: `CHANGED` to correct, one to retract."""
    with session_scope(app.engine) as session:
        ids = session.exec(
            select(ExamResult.vendor_record_id)
            .join(Delivery, col(Delivery.id) == col(ExamResult.delivery_id))
            .where(Delivery.vendor_id == vendor_id)
            .distinct()
            .order_by(col(ExamResult.vendor_record_id))
            .limit(CHANGED + 1)
        ).all()
    return set(ids[:CHANGED]), ids[CHANGED]


def _corrected(faker: ExamResultFaker, rows: int, changed: set[str]) -> Iterator[dict[str, str]]:
    """The vendor's rows as first sent (same seed), `changed` ones one attempt later, and
    `ADDED` more at the end."""
    from credx.demo import FLAW_RATE  # the demo's own rate: the same rows as the first file

    for row in faker.rows(rows + ADDED, FLAW_RATE):
        if row["vendor_record_id"] in changed:
            row = {**row, "attempt": str(int(row["attempt"] or 1) + 1)}
        yield row


def _ingest(app: App, path: Path, vendor_id: str) -> IngestOutcome:
    return ingest_file(app, path, vendor_id, actor=cli_actor(), original_name=path.name)


def _current_rows(app: App, vendor_id: str) -> tuple[int, int]:
    """The vendor's current rows (what `credx results` releases) and their distinct ids."""
    query = (
        select(sa.func.count(), sa.func.count(sa.distinct(col(ExamResult.vendor_record_id))))
        .select_from(ExamResult)
        .join(Delivery, col(Delivery.id) == col(ExamResult.delivery_id))
        .where(Delivery.vendor_id == vendor_id, CURRENT)
    )
    with session_scope(app.engine) as session:
        current, distinct = session.exec(query).one()
    return current, distinct


def _say(say, vendor_id: str, correction: IngestOutcome, retraction: IngestOutcome,
         counts: dict[str, int], current: tuple[int, int]) -> None:  # fmt: skip
    if correction.duplicate_of or retraction.duplicate_of:
        say(f"{vendor_id} re-sends its corrected file and its retraction: both "
            f"{correction.status} (the same files as deliveries {correction.duplicate_of} and "
            f"{retraction.duplicate_of})")  # fmt: skip
    else:
        say(f"{vendor_id} re-sends its file corrected (delivery {correction.delivery_id}) and "
            f"retracts a row (delivery {retraction.delivery_id}): {counts['new']} new, "
            f"{counts['unchanged']} unchanged, {counts['superseded']} superseded, "
            f"{counts['retracted']} retracted")  # fmt: skip
    rows, ids = current
    say(f"  {vendor_id} now has {rows} current rows for {ids} record ids: `credx results` "
        "releases each once (earlier versions are kept as history)")
