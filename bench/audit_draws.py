"""Audit-plan benchmark: freeze, draw and re-verify a state's year of uploads.

What is measured
----------------
1. A fresh SQLite installation in a temp home gets N uploads (default 100,000)
   across S schools (default 500), inserted in bulk; half of them have a linked
   vendor PASS (person, person records, exam result), so corroboration does
   real work.  Not timed.
2. **credx**: `freeze` (population query, corroboration, population rows,
   canonical manifest), `draw_sample` (tickets for every upload, lowest per
   stratum, one task per drawn upload) and `verify` (re-derive from the
   manifest file and compare), each timed.  Plan: 5 per school, uncorroborated
   uploads at twice that.
3. **baseline**: the pure work alone, on the same manifest file: read and
   validate it, then `audit.sampling.tickets.draw` with the same sizes: what
   any re-implementation of the method must do at least.

Prints the seconds of each step, the ratio baseline / (freeze + draw), and
the peak RSS.  Targets: freeze + draw + verify under 120 s; peak RSS under
1 GB.  Exit status 0 whatever the result; PASS/FAIL per target.

Re-run
------
    .venv/bin/python bench/audit_draws.py                 # 100,000 uploads
    .venv/bin/python bench/audit_draws.py --uploads 20000 # quicker
    .venv/bin/python bench/audit_draws.py --json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.common import peak_rss_mb, print_report, progress, verdict_lines  # noqa: E402

PLAN = "bench-la-2025-26"
SEED = "01382438112797316654"
TARGET_SECONDS = 120.0
TARGET_RSS_MB = 1024.0


def populate(app, uploads: int, schools: int) -> None:
    """Bulk rows: uploads, and a linked vendor PASS for every other one."""
    from sqlalchemy import insert

    from agreements.models import Vendor
    from exchange.evidence.models import Evidence
    from exchange.models import Delivery, ExamResult, StoredBlob
    from kernel.database import session_scope
    from linkage.models import LinkModelDocument, LinkRun, Person, PersonRecord

    with session_scope(app.engine) as session:
        session.add(StoredBlob(id="0" * 32, store_key="b", sha256="0" * 64, size=1,
                               master_key_id="bench"))  # fmt: skip
        session.add(Vendor(id="bench", name="Bench"))
        session.add(LinkModelDocument(version="bench", document="{}", inputs_sha256="0" * 64))
        session.flush()
        session.add(Delivery(id=1, vendor_id="bench", source="bench", original_name="r.csv",
                             size=1, sha256="0" * 64, blob_id="0" * 32))  # fmt: skip
        session.add(LinkRun(id=1, state="LA", kind="full", engine="bench", model_version="bench",
                            actor="bench"))  # fmt: skip
        session.flush()
        evidence, persons, records, results = [], [], [], []
        for n in range(uploads):
            school = f"{n % schools:06d}"
            evidence.append(_upload(n, school))
            if (n // schools) % 2 == 0:  # half of every school
                persons.append({"id": f"p{n:010d}", "state": "LA"})
                records += [_record("evidence", f"ev{n:08d}", n), _record("exam", f"1:{n}", n)]
                results.append(_result(n))
        for table, rows in ((Evidence, evidence), (Person, persons), (ExamResult, results),
                            (PersonRecord, records)):  # fmt: skip
            for start in range(0, len(rows), 5000):
                session.execute(insert(table), rows[start : start + 5000])


def _upload(n: int, school: str) -> dict:
    return {
        "id": f"ev{n:08d}", "state": "LA", "district": school[:3],
        "state_student_id": f"LA{n:07d}", "student_name": "Bench Student",
        "birth_date": date(2008, 1, 1), "school_code": school, "school_year": "2025-26",
        "graduation_pathway": "Jump Start", "credential_code": "MICRO001",
        "date_earned": date(2026, 2, 1), "media_type": "image/png", "size": 1,
        "sha256": f"{n:064d}", "blob_id": "0" * 32, "uploaded_by": "bench",
        "status": "received",
    }  # fmt: skip


def _record(source_type: str, key: str, n: int) -> dict:
    return {"source_type": source_type, "source_key": key, "person_id": f"p{n:010d}",
            "state": "LA", "run_id": 1}  # fmt: skip


def _result(n: int) -> dict:
    return {
        "delivery_id": 1, "row_number": n, "vendor_record_id": str(n), "candidate_id": str(n),
        "first_name": "Bench", "last_name": "Student", "birth_date": date(2008, 1, 1),
        "state": "LA", "district_code": "036", "credential_code": "MICRO001",
        "exam_code": "E", "exam_date": date(2026, 1, 1), "result": "PASS",
    }  # fmt: skip


def timed(function, *args) -> tuple[Any, float]:
    started = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - started


def run(uploads: int, schools: int, workdir: Path) -> dict[str, Any]:
    from audit.manifests import read_manifest
    from audit.plans.draws import draw_sample, verify
    from audit.plans.plans import create_plan, freeze
    from audit.sampling.tickets import draw
    from credx.app import App
    from credx.installation import initialise
    from kernel.database import session_scope
    from kernel.settings import Settings

    app = App(Settings(home=workdir / "home"))
    initialise(app)
    progress(f"inserting {uploads:,} uploads in {schools:,} schools")
    populate(app, uploads, schools)
    manifest = workdir / "manifest.csv"
    with session_scope(app.engine) as session:
        rules = {"rule": "fixed", "fixed_count": 5, "uncorroborated_rate": "2"}
        create_plan(session, name=PLAN, state="LA", school_year="2025-26", rules=rules,
                    actor="bench")  # fmt: skip
    progress("freeze")
    with session_scope(app.engine) as session:
        frozen, freeze_s = timed(freeze, session, PLAN, manifest, "bench")
    progress("draw")
    with session_scope(app.engine) as session:
        drawn, draw_s = timed(draw_sample, session, PLAN, SEED, "bench")
        sizes = _sizes(drawn.items)
    progress("verify")
    with session_scope(app.engine) as session:
        check, verify_s = timed(verify, session, PLAN, SEED, manifest, "bench")
    progress("baseline")
    started = time.perf_counter()
    items = read_manifest(manifest).items
    baseline = draw(items, SEED, sizes)
    baseline_s = time.perf_counter() - started
    app.engine.dispose()
    return {
        "uploads": uploads, "schools": schools, "corroborated": sum(i.corroborated
                                                                    for i in frozen.items),
        "drawn": len(drawn.items), "verified": check.ok,
        "baseline_matches": [t.id for t in baseline] == [t.id for t in drawn.items],
        "freeze_seconds": freeze_s, "draw_seconds": draw_s, "verify_seconds": verify_s,
        "baseline_seconds": baseline_s,
        "ratio_baseline_to_freeze_and_draw": baseline_s / (freeze_s + draw_s),
        "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip


def _sizes(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.stratum] = counts.get(item.stratum, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=100_000)
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="credx-bench-audit-") as directory:
        summary = run(args.uploads, args.schools, Path(directory))
    total = summary["freeze_seconds"] + summary["draw_seconds"] + summary["verify_seconds"]
    summary["targets"] = {
        "freeze_draw_verify_seconds": {"value": total, "target": f"< {TARGET_SECONDS:.0f}",
                                       "pass": total < TARGET_SECONDS},
        "peak_rss_mb": {"value": summary["peak_rss_mb"], "target": f"< {TARGET_RSS_MB:.0f}",
                        "pass": summary["peak_rss_mb"] < TARGET_RSS_MB},
    }  # fmt: skip
    table = "\n".join(
        [
            f"{summary['uploads']:,} uploads, {summary['schools']:,} schools, "
            f"{summary['corroborated']:,} corroborated; {summary['drawn']:,} drawn; "
            f"verify-draw {'identical' if summary['verified'] else 'DIFFERENT'}; "
            f"baseline sample {'identical' if summary['baseline_matches'] else 'DIFFERENT'}",
            f"credx freeze {summary['freeze_seconds']:.2f} s, draw {summary['draw_seconds']:.2f}"
            f" s, verify {summary['verify_seconds']:.2f} s",
            f"baseline (read manifest + pure draw) {summary['baseline_seconds']:.2f} s; ratio "
            f"baseline / (freeze + draw) {summary['ratio_baseline_to_freeze_and_draw']:.2f}",
            *verdict_lines(summary["targets"]),
        ]
    )
    print_report(table, summary, as_json=args.json)


if __name__ == "__main__":
    main()
