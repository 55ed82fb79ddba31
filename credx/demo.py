"""The demo: the whole product on generated data, in the configured home.

It grows with every capability so a newcomer sees credx work end to end.
Run twice on the same home, the second run shows duplicate detection.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agreements.models import Vendor
from agreements.vendors import add_vendor
from audit.events import Action, EventLog, cli_actor
from credx.app import App
from credx.database import session_scope
from credx.demo_data import ExamResultFaker, write_csv
from credx.installation import initialise
from credx.settings import Settings
from exchange import rejections as reports
from exchange.deliveries import rejections_of, sweep
from exchange.mapping import parse_mapping
from exchange.sources import LocalDropFolder

NCCER_HEADERS = {
    "vendor_record_id": "Record ID", "candidate_id": "Card Number", "state_student_id": "SSID",
    "first_name": "First Name", "middle_name": "Middle Name", "last_name": "Last Name",
    "birth_date": "DOB", "state": "State", "district_code": "District", "school_code": "School",
    "credential_code": "Credential", "exam_code": "Module ID", "exam_date": "Test Date",
    "score": "Score", "passing_score": "Cut Score", "result": "Pass/Fail", "attempt": "Attempt",
}  # fmt: skip
VENDORS = (
    ("certiport", "Certiport", ("MICRO001", "MICRO002", "ADOBE001", "ADESK001", "COMPT001")),
    ("nccer", "NCCER", ("NCCER001", "NCCER007", "NCCER027", "AMWEL001", "OSHAE001")),
)  # fmt: skip
FLAW_RATE = 0.03

Say = Callable[[str], None] | None


def _write_vendor_files(home: Path, rows: int, seed: int) -> dict[str, Path]:
    files = {}
    for offset, (vendor_id, _, codes) in enumerate(VENDORS):
        drop = home / "drop" / vendor_id
        drop.mkdir(mode=0o700, parents=True, exist_ok=True)
        faker = ExamResultFaker(seed + offset, vendor_prefix=vendor_id[:2].upper(), codes=codes)
        if vendor_id == "nccer":
            files[vendor_id] = write_csv(
                drop / "nccer_results_nightly.csv.gz", faker.rows(rows, FLAW_RATE),
                headers=NCCER_HEADERS, compress=True,
            )  # fmt: skip
        else:
            files[vendor_id] = write_csv(
                drop / "certiport_exam_results.csv", faker.rows(rows, FLAW_RATE)
            )
    return files


def _nccer_mapping():
    return parse_mapping({"columns": {v: k for k, v in NCCER_HEADERS.items()}}, "demo mapping")


def run_demo(settings: Settings, *, rows: int = 2000, seed: int = 2026, say: Say = print) -> dict:
    say = say or (lambda _message: None)
    app = App(settings)
    setup = initialise(app)
    say(f"credx home: {setup['home']} (database revision {setup['schema_revision']})")
    with session_scope(app.engine) as session:
        for vendor_id, name, _ in VENDORS:
            if session.get(Vendor, vendor_id) is None:
                add_vendor(session, vendor_id=vendor_id, name=name)
                EventLog(session).record(
                    Action.VENDOR_CREATED, f"vendor:{vendor_id}", cli_actor(), name=name
                )
    _write_vendor_files(settings.home, rows, seed)
    say(f"generated {rows} exam results per vendor ({FLAW_RATE:.0%} with mistakes) in drop folders")
    summary: dict = {"home": setup["home"], "vendors": {}}
    for vendor_id, _, _ in VENDORS:
        source = LocalDropFolder(settings.home / "drop" / vendor_id, settle_seconds=0)
        mapping = _nccer_mapping() if vendor_id == "nccer" else None
        for swept in sweep(app, source, vendor_id, actor=cli_actor(), mapping=mapping):
            outcome = swept.outcome
            report = _write_report(app, outcome.delivery_id)
            summary["vendors"][vendor_id] = {
                **outcome.as_json(),
                "file": swept.name,
                "error_report": report,
            }
            say(
                f"{vendor_id:10} {swept.name}: {outcome.status}, {outcome.rows_loaded} loaded, "
                f"{outcome.rows_rejected} rejected"
                + (f"; error report {report}" if report else "")
                + (
                    f" (same file as delivery {outcome.duplicate_of})"
                    if outcome.duplicate_of
                    else ""
                )
            )
    with session_scope(app.engine) as session:
        checked, problem = EventLog(session).verify()
    summary["event_log"] = {"entries": checked, "intact": problem is None}
    say(f"event log: {checked} entries, chain {'intact' if problem is None else 'BROKEN'}")
    say("next: `credx deliveries list`, `credx rejections ID --format csv`, `credx log verify`")
    return summary


def _write_report(app: App, delivery_id: int) -> str | None:
    with session_scope(app.engine) as session:
        rows = rejections_of(session, delivery_id)
        if not rows:
            return None
        path = app.settings.reports_dir / f"delivery-{delivery_id}-rejections.csv"
        with open(path, "w", encoding="utf-8", newline="") as stream:
            reports.write_csv(rows, stream)
        EventLog(session).record(
            Action.REJECTIONS_EXPORTED, f"delivery:{delivery_id}", cli_actor(),
            rows=len(rows), destination=str(path),
        )  # fmt: skip
    return str(path)
