"""The demo's audit plan: plan -> frozen manifest -> seeded draw -> independent re-check.

Runs on the uploads the evidence demo made (Louisiana, 2025-26); run twice on
the same home, the plan and its draw are reused (the same seed gives the
stored draw) rather than refused.
"""

from __future__ import annotations

from audit.plans.draws import draw_sample, verify
from audit.plans.models import AuditPlan
from audit.plans.plans import create_plan, freeze
from credx.app import App
from eventlog.log import cli_actor
from kernel.database import session_scope
from kernel.errors import InvalidInput

PLAN = "demo-la-2025-26"
RULES = {"rule": "fixed", "fixed_count": 5, "uncorroborated_rate": "2"}


def show_audit_plan(app: App, seed: str, say) -> dict:
    manifest = app.settings.reports_dir / f"audit-plan-{PLAN}.csv"
    manifest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with session_scope(app.engine) as session:
        if session.get(AuditPlan, PLAN) is None:
            create_plan(session, name=PLAN, state="LA", school_year="2025-26", rules=RULES,
                        actor=cli_actor())  # fmt: skip
    try:
        with session_scope(app.engine) as session:
            frozen = freeze(session, PLAN, manifest, cli_actor())
    except InvalidInput as refusal:  # no LA 2025-26 uploads: nothing to audit
        say(f"audit plan {PLAN}: {refusal}")
        return {"plan": PLAN, "error": str(refusal)}
    with session_scope(app.engine) as session:
        drawn = draw_sample(session, PLAN, seed, cli_actor())
        tasks = len(drawn.items)
    with session_scope(app.engine) as session:
        check = verify(session, PLAN, seed, manifest, cli_actor())
    say(
        f"audit plan {PLAN} (5 per school, uncorroborated uploads at twice that): "
        f"{len(frozen.items)} uploads frozen in {manifest} (sha256 {frozen.sha256[:16]}...), "
        f"{tasks} drawn with seed {seed} into the auditor queue; re-derived: "
        f"{'identical' if check.ok else 'DIFFERENT'} "
        f"(credx audit verify-draw {PLAN} --seed {seed} --manifest {manifest})"
    )
    return {
        "plan": PLAN,
        "manifest": str(manifest),
        "manifest_sha256": frozen.sha256,
        "drawn": tasks,
        "verified": check.ok,
    }
