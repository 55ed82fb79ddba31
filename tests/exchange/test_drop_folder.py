"""The local drop-folder source: what counts as ready, and clean-up only after commit."""

import os
import time

from exchange.deliveries import sweep
from exchange.models import Delivery
from exchange.sources import LocalDropFolder
from tests.factories import csv_text, exam_rows, make_vendor, write_file


def test_sweep_ingests_settled_files_and_leaves_partial_ones(app, session, tmp_path):
    vendor = make_vendor(app)
    drop = tmp_path / "drop"
    drop.mkdir()
    write_file(drop, "a.csv", csv_text(exam_rows(3)))
    write_file(drop, "b.csv.part", csv_text(exam_rows(2)))
    write_file(drop, ".hidden.csv", csv_text(exam_rows(2)))
    os.symlink(drop / "a.csv", drop / "link.csv")
    swept = sweep(app, LocalDropFolder(drop, settle_seconds=0), vendor, actor="test")
    assert [s.name for s in swept] == ["a.csv"] and swept[0].outcome.rows_loaded == 3
    assert sorted(p.name for p in drop.iterdir()) == [".hidden.csv", "b.csv.part", "link.csv"]
    delivery = session.get(Delivery, swept[0].outcome.delivery_id)
    assert delivery.source == f"drop:{drop}" and delivery.original_name == "a.csv"


def test_a_file_still_being_written_waits(app, tmp_path):
    vendor = make_vendor(app)
    drop = tmp_path / "drop"
    drop.mkdir()
    fresh = write_file(drop, "fresh.csv", csv_text(exam_rows(1)))
    assert sweep(app, LocalDropFolder(drop, settle_seconds=60), vendor, actor="test") == []
    old = time.time() - 120
    os.utime(fresh, (old, old))
    assert len(sweep(app, LocalDropFolder(drop, settle_seconds=60), vendor, actor="test")) == 1


def test_a_rejected_file_is_kept_encrypted_and_removed_from_the_drop(app, session, tmp_path):
    vendor = make_vendor(app)
    drop = tmp_path / "drop"
    drop.mkdir()
    write_file(drop, "garbage.csv", b"\x00\x01\x02 not a csv\n")
    [swept] = sweep(app, LocalDropFolder(drop, settle_seconds=0), vendor, actor="test")
    assert swept.outcome.status == "rejected" and swept.outcome.error
    delivery = session.get(Delivery, swept.outcome.delivery_id)
    assert app.vault(session).read_bytes(delivery.blob_id) == b"\x00\x01\x02 not a csv\n"
    assert not (drop / "garbage.csv").exists()
