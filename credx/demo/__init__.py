"""The demo: the whole product on generated data, in the configured home.

It grows with every capability so a newcomer sees credx work end to end.
Run twice on the same home, the second run shows duplicate detection.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import select

from access.scope import Scope, scoped_session
from agreements.disclosures import Release
from agreements.documents import apply_file
from agreements.events import AgreementEvent
from agreements.models import Vendor
from agreements.vendors import add_vendor
from audit.events import AuditEvent
from audit.manifests import write_manifest
from audit.sampling import Item, attribute_sample_size, draw
from credx.app import App
from credx.demo.audit import show_audit_plan
from credx.demo.corrections import show_corrections
from credx.demo.dashboard import show_dashboard
from credx.demo.data import ExamResultFaker, write_csv, write_roster
from credx.demo.evidence import show_evidence
from credx.demo.pages import show_pages
from credx.demo.queue import show_audit_queue
from credx.demo.report import show_report
from credx.demo.web import show_web
from credx.installation import initialise
from eventlog.checkpoints import check_log, make_checkpoint, write_checkpoint
from eventlog.log import EventLog, cli_actor
from exchange import rejections as reports
from exchange.deliveries import rejections_of
from exchange.events import ExchangeEvent
from exchange.evidence.badges import BadgeRefused, verify_badge
from exchange.evidence.badges.sample import write_sample_badges
from exchange.models import ExamResult
from exchange.pulls import apply_connector, pull
from exchange.releases import release_results
from exchange.vault import check_stored_files
from kernel.clock import today
from kernel.database import session_scope
from kernel.settings import Settings
from kernel.signing import ensure_signing_key
from linkage.models import PersonRecord
from rosters.imports import import_roster
from schemas.rosters import CodeSets

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
ALL_COLUMNS = "[" + ", ".join(NCCER_HEADERS) + "]"
NOT_KEPT = ("state_student_id", "middle_name", "attempt")
MINIMAL_COLUMNS = "[" + ", ".join(c for c in NCCER_HEADERS if c not in NOT_KEPT) + "]"
AGREEMENTS = {
    "southern-certiport.yaml": """\
# Consortium template: the terms LA, TN and FL share with Certiport.
id: southern-certiport
template: true
title: Southern consortium / Certiport exam results
vendor: certiport
states: [LA, TN, FL]
effective_from: {start}
effective_to: {end}
credentials: [MICRO001, MICRO002, ADOBE001, ADESK001, COMPT001]
data_elements: {all_columns}
purpose: Count industry credentials for school accountability; verify district claims.
ferpa_basis: audit_evaluation
retention_days_after_termination: 365
""",
    "la-certiport.yaml": """\
# Louisiana adopts the template; its Jump Start list leaves out CompTIA A+.
id: la-certiport
adopts: southern-certiport
title: Louisiana / Certiport exam results
states: [LA]
credentials: [MICRO001, MICRO002, ADOBE001, ADESK001]
retention_days_after_termination: 1461
""",
    "tn-certiport.yaml": """\
# Tennessee adopts the template as it is.  Florida has not adopted it yet.
id: tn-certiport
adopts: southern-certiport
title: Tennessee / Certiport exam results
states: [TN]
""",
    "nccer.yaml": """\
# A standalone agreement carrying NCCER's column mapping; it keeps no state
# student id, middle name or attempt number (data minimisation: those columns
# of NCCER's file are left unmapped, so they are never loaded).
id: nccer-la-tn-fl
title: NCCER craft exam results for LA, TN and FL
vendor: nccer
states: [LA, TN, FL]
effective_from: {start}
effective_to: {end}
credentials: [NCCER001, NCCER007, NCCER027, AMWEL001, OSHAE001]
data_elements: {minimal_columns}
purpose: Count industry credentials for school accountability.
ferpa_basis: audit_evaluation
retention_days_after_termination: 365
mapping:
  columns: {mapping}
""",
}

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


def _apply_agreements(app: App, home: Path) -> list[str]:
    """Write the demo's agreement documents (in force from a year ago for three years) and
    apply them as an operator would with `credx agreements apply`."""
    folder = home / "agreements"
    folder.mkdir(mode=0o700, exist_ok=True)
    start = today() - timedelta(days=365)
    values = {
        "start": start.isoformat(), "end": (start + timedelta(days=3 * 365)).isoformat(),
        "all_columns": ALL_COLUMNS, "minimal_columns": MINIMAL_COLUMNS,
        "mapping": json.dumps({v: k for k, v in NCCER_HEADERS.items() if k not in NOT_KEPT}),
    }  # fmt: skip
    applied = []
    with session_scope(app.engine) as session:
        for name, template in AGREEMENTS.items():
            path = folder / name
            path.write_text(template.format(**values), encoding="utf-8")
            applied.append(apply_file(session, path, cli_actor()).agreement_id)
    return applied


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
                    AgreementEvent.VENDOR_CREATED, f"vendor:{vendor_id}", cli_actor(), name=name
                )
    agreements = _apply_agreements(app, settings.home)
    say(f"agreements applied from {settings.home / 'agreements'}: {', '.join(agreements)}")
    _write_vendor_files(settings.home, rows, seed)
    say(f"generated {rows} exam results per vendor ({FLAW_RATE:.0%} with mistakes) in drop folders")
    summary: dict = {"home": setup["home"], "vendors": {}}
    for vendor_id, _, _ in VENDORS:
        connector = _apply_connector(app, settings.home, vendor_id)
        for item in pull(app, connector, actor=cli_actor()).items:
            outcome = item.outcome or {}
            report = _write_report(app, item.delivery_id)
            summary["vendors"][vendor_id] = {**outcome, "file": item.name, "error_report": report}
            duplicate = outcome.get("duplicate_of")
            say(
                f"{vendor_id:10} {item.name} (connector {connector}): {outcome['status']}, "
                f"{outcome['rows_loaded']} loaded, {outcome['rows_rejected']} rejected"
                + (f"; error report {report}" if report else "")
                + (f" (same file as delivery {duplicate})" if duplicate else "")
            )
    certiport = VENDORS[0]
    summary["corrections"] = show_corrections(app, (certiport[0], certiport[2]), rows, seed, say)
    summary["states"] = _show_state_views(app, say)
    summary["roster"] = _import_roster(app, seed, say)
    summary["linkage"] = _link_persons(app, say)
    summary["badge"] = _show_badge(settings, say)
    summary["evidence"] = show_evidence(app, say)
    certificate = settings.home / "evidence-demo" / "certificate.png"
    summary["web"] = show_web(app, certificate, say)
    summary["linkage_incremental"] = _link_uploads(app, say)
    summary["audit"] = _show_audit(app, say)
    summary["audit_plan"] = show_audit_plan(app, DEMO_SEED, say)
    summary["audit_queue"] = show_audit_queue(app, say)
    summary["dashboard"] = show_dashboard(app, say)
    summary["attainment"] = show_report(app, say)
    with session_scope(app.engine) as session:
        checked, problem = EventLog(session).verify()
    summary["event_log"] = {"entries": checked, "intact": problem is None}
    say(f"event log: {checked} entries, chain {'intact' if problem is None else 'BROKEN'}")
    with session_scope(app.engine) as session:  # the restore drill (deploy/RUNBOOK.md)
        stored = check_stored_files(app.vault(session), None, cli_actor())
    summary["stored_files"] = stored.as_json()
    files = summary["stored_files"]
    say(
        f"stored files: {files['blobs_checked'] - len(files['failures'])} of "
        f"{files['blobs_checked']} decrypt and match their SHA-256 (`credx keys check`)"
    )
    summary["sealed"] = _show_sealing(app, say)
    summary["pages"] = show_pages(app, say)
    say(
        "next: `credx deliveries list`, `credx rejections ID --format csv`, "
        "`credx connectors list`, `credx agreements list`, `credx roster list`, "
        "`credx link review`, `credx log verify`, "
        "`credx audit size --confidence 0.95 --tolerable 0.05`"
    )
    return summary


def _show_sealing(app: App, say) -> dict:
    """Student values are sealed in the database: what a stolen copy of it shows instead."""
    with app.engine.connect() as connection:  # raw SQL: what the database file itself holds
        raw = connection.execute(text("SELECT sealed_row FROM exam_results LIMIT 1")).scalar()
    token = bytes(raw or b"")
    keys = len(list(app.field_keys.directory.glob("*.json")))
    say(f"sealed in the database: a result's names, birth date and ids are stored as one "
        f"row token {token[:24]!r}... ({len(token)} bytes); {keys} field keys in "
        f"{app.field_keys.directory} (`credx keys check`)")  # fmt: skip
    # the first name is in the row token: its prefix is what the database holds of it
    return {"stored_first_name_prefix": token[:3].decode(), "field_keys": keys}


def _show_badge(settings: Settings, say) -> dict:
    """A digital badge is checked by its issuer's signature; the same badge altered is refused."""
    good, altered = write_sample_badges(settings.home / "badges")
    verified = verify_badge(good, settings)
    say(
        f"digital badge {good}: signature verified ({verified.proof_type}), "
        f"{verified.achievement_name} from {verified.issuer_name}"
    )
    try:
        verify_badge(altered, settings)
        refusal = None
    except BadgeRefused as error:
        refusal = str(error.reason)
        say(f"  the same badge with its achievement renamed is refused: {refusal}")
    return {"verified": verified.as_json(), "altered_refused": refusal}


def _apply_connector(app: App, home: Path, vendor_id: str) -> str:
    """A local drop-folder connector per vendor, applied like any connector document."""
    name = f"{vendor_id}-drop"
    path = home / "agreements" / f"{name}.connector.yaml"
    path.write_text(
        f"# Pulled nightly by `credx worker`; `credx connectors run {name}` pulls now.\n"
        f'name: {name}\nvendor: {vendor_id}\nkind: local\nschedule: "30 2 * * *"\n'
        f"local:\n  directory: {home / 'drop' / vendor_id}\n  settle_seconds: 0\n",
        encoding="utf-8",
    )
    with session_scope(app.engine) as session:
        apply_connector(session, path.read_text(encoding="utf-8"), path.name, cli_actor())
    return name


def _show_state_views(app: App, say) -> dict:
    """Each state sees only its own students; a release to a state is a recorded disclosure."""
    views: dict[str, Any] = {}
    for state in ("LA", "TN", "FL"):
        with scoped_session(app.engine, Scope.for_states([state], "demo")) as session:
            seen = session.exec(select(ExamResult.state)).all()
        views[state] = {"rows_visible": len(seen), "other_states_visible": len(set(seen) - {state})}
        say(f"state {state} sees {len(seen)} exam results, none of another state's")
    scope = Scope.for_states(["LA"], cli_actor())
    release = Release("LDOE Accountability (demo)", "school performance scores", "LA results")
    with scoped_session(app.engine, scope) as session, session.begin():
        rows = release_results(session, scope, release, actor=cli_actor())
    student = next((r["state_student_id"] for r in rows if r["state_student_id"]), None)
    say(f"released {len(rows)} LA results to {release.recipient}: recorded as a disclosure")
    if student:
        say(f"  try: credx disclosures --student {student}")
    views["disclosed_rows"] = len(rows)
    return views


def _import_roster(app: App, seed: int, say) -> dict:
    """Louisiana's roster for the students its exam results name, as the state would send it."""
    scope = Scope.for_states(["LA"], "demo")
    with scoped_session(app.engine, scope) as session:
        # sealed in each row's token: which results name a state id shows once they are opened
        results = [r for r in session.exec(select(ExamResult)).all() if r.state_student_id]
        students = list({
            r.state_student_id: {
                "state_student_id": r.state_student_id, "first_name": r.first_name,
                "middle_name": r.middle_name or "", "last_name": r.last_name,
                "birth_date": r.birth_date.isoformat(), "district_code": r.district_code,
                "school_code": r.school_code or "001",
            } for r in results
        }.values())  # fmt: skip
    # the state's file is plaintext student data: it lives only until the import has stored
    # it encrypted, in a private directory removed afterwards, never in the home
    with tempfile.TemporaryDirectory(prefix="credx-roster-") as folder:
        roster, schools = write_roster(Path(folder), students, seed)
        outcome = import_roster(
            app, roster, state="LA", school_year="2025-26", actor=cli_actor(), codes=CodeSets(),
            schools=schools,
        )  # fmt: skip
    say(
        f"LA roster 2025-26 ({roster.name}): {outcome.rows_loaded} students loaded, "
        f"{outcome.rows_rejected} rejected (a repeated id, an unknown school); "
        f"error report: credx roster rejections {outcome.import_id}"
    )
    return outcome.as_json()


def _link_persons(app: App, say) -> dict:
    """The record linker: each state's exam results and roster rows become persons."""
    from linkage.service import link_states, parameters_from  # Splink only when linking

    with session_scope(app.engine) as session:
        runs = link_states(
            session, states=None, params=parameters_from(app.settings), actor=cli_actor()
        )
        example = session.exec(select(PersonRecord.person_id).limit(1)).first()
        linked = _linked_sources(session)
    for run in runs:
        say(
            f"linked {run.state}: {run.records} records ({linked.get(run.state, '')}) -> "
            f"{run.persons} persons ({run.review_pairs} pairs to review, "
            f"{run.flagged_clusters} flagged)"
        )
    if example:
        say(f"  try: credx link review, credx link show {example}")
    return {run.state: run.as_dict() for run in runs}


SOURCE_NAMES = {"exam": "exam results", "roster": "roster rows", "evidence": "uploads"}


def _linked_sources(session) -> dict[str, str]:
    """Per state, how many records of each source are linked (`12 exam results, 3 uploads`)."""
    counts = Counter(session.exec(select(PersonRecord.state, PersonRecord.source_type)).all())
    found: dict[str, list[str]] = {}
    for (state, source), count in sorted(counts.items()):
        found.setdefault(state, []).append(f"{count} {SOURCE_NAMES.get(source, source)}")
    return {state: ", ".join(parts) for state, parts in found.items()}


def _link_uploads(app: App, say) -> dict:
    """The uploads made since the full run join existing persons (an incremental run)."""
    from linkage.service import link_new, parameters_from

    with session_scope(app.engine) as session:
        run = link_new(session, state="LA", params=parameters_from(app.settings), actor=cli_actor())
        linked = _linked_sources(session).get("LA", "")
    say(
        f"new LA uploads linked incrementally (credx link run --incremental): {run.records} "
        f"records, {run.new_persons} new persons; LA now links {linked}"
    )
    return run.as_dict()


def _write_report(app: App, delivery_id: int | None) -> str | None:
    if delivery_id is None:  # nothing was stored (the file was not pulled)
        return None
    with session_scope(app.engine) as session:
        rows = rejections_of(session, delivery_id)
        if not rows:
            return None
        path = app.settings.reports_dir / f"delivery-{delivery_id}-rejections.csv"
        with open(path, "w", encoding="utf-8", newline="") as stream:
            reports.write_csv(rows, stream)
        EventLog(session).record(
            ExchangeEvent.REJECTIONS_EXPORTED, f"delivery:{delivery_id}", cli_actor(),
            rows=len(rows), destination=str(path),
        )  # fmt: skip
    return str(path)


DEMO_SEED = "01382438112797316654"  # in production: digits rolled at a public meeting
DEMO_PER_DISTRICT = 5  # Louisiana's model: a pre-determined number per stratum


def _show_audit(app: App, say) -> dict:
    """Freeze Louisiana's results as a manifest, draw a reproducible sample from a public
    seed, then sign a log checkpoint and prove the log still holds it."""
    scope = Scope.for_states(["LA"], cli_actor())
    with scoped_session(app.engine, scope) as session:
        rows = session.exec(
            select(ExamResult.delivery_id, ExamResult.row_number, ExamResult.district_code)
        ).all()
    items = [Item(f"exam-result:{d}-{r}", f"LA-{district}") for d, r, district in rows]
    if not items:
        return {}
    path = app.settings.reports_dir / "audit-manifest-LA.csv"
    digest = write_manifest(items, path)
    sample = draw(items, DEMO_SEED, DEMO_PER_DISTRICT)
    with session_scope(app.engine) as session:
        log = EventLog(session)
        log.record(
            AuditEvent.AUDIT_MANIFEST_WRITTEN,
            "audit:demo-LA",
            cli_actor(),
            items=len(items),
            sha256=digest,
            destination=str(path),
        )
        log.record(
            AuditEvent.AUDIT_SAMPLE_DRAWN,
            "audit:demo-LA",
            cli_actor(),
            seed=DEMO_SEED,
            manifest_sha256=digest,
            drawn=len(sample),
        )
    districts = len({i.stratum for i in items})
    statistical = attribute_sample_size(0.95, 0.05, 0, population=len(items) // districts)
    say(f"audit manifest of {len(items)} LA results in {districts} districts: {path}")
    say(
        f"  drew {len(sample)} ({DEMO_PER_DISTRICT} per district) with public seed {DEMO_SEED}; "
        f"re-derive: credx audit sample {path} --seed {DEMO_SEED} --size {DEMO_PER_DISTRICT}"
    )
    say(
        f"  (95% confidence of catching a 5% discrepancy rate would need {statistical.size} "
        "per district: credx audit size --confidence 0.95 --tolerable 0.05 --population N)"
    )
    return {
        "manifest": str(path),
        "manifest_sha256": digest,
        "sampled": len(sample),
        "checkpoint": _checkpoint(app, say),
    }


def _checkpoint(app: App, say) -> dict:
    key = ensure_signing_key(app.keyring.directory)
    with session_scope(app.engine) as session:
        signed = make_checkpoint(session, key, cli_actor())
    path = app.settings.reports_dir / f"log-checkpoint-{signed.checkpoint.tree_size}.json"
    if not path.exists():
        write_checkpoint(signed, path)
    with session_scope(app.engine) as session:
        upheld = check_log(session, signed.checkpoint)
    verdict = "upholds" if upheld.ok else "REJECTS"
    say(
        f"signed log checkpoint {path}: {signed.checkpoint.tree_size} entries; "
        f"`credx log verify --checkpoint {path}` {verdict} it"
    )
    return {"path": str(path), "tree_size": signed.checkpoint.tree_size, "upheld": upheld.ok}
