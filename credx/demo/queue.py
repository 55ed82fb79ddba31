"""The demo's auditor queue: two auditors take the drawn tasks and record findings.

Runs after the audit-plan step: auditor 1 verifies the first task and finds a
discrepancy on the second, which goes to auditor 2, who confirms it; the
district then sees the final finding it may answer.  Through `AuditQueue` and
`ResponseService`, as the `/audit` page and API do.  Run again on the same home,
the auditors simply carry on with the queue.
"""

from __future__ import annotations

from access.principals import Role
from access.tokens import TokenService, TokenSpec, principal_of
from audit.plans.queue import AuditQueue, Finding
from audit.plans.responses import ResponseService
from credx.app import App
from eventlog.log import cli_actor
from kernel.database import session_scope
from kernel.rows import key_of

VERIFIED = Finding.parse("verified", None, None)
ILLEGIBLE = Finding.parse("discrepancy", "illegible", "demo: the date earned cannot be read")


def _principal(app: App, role: Role, district: str | None = None, holder: str = ""):
    spec = TokenSpec(role, "LA", district, None, f"demo {role}{holder}", 1)
    with session_scope(app.engine) as session:
        return principal_of(TokenService(session).create(spec, actor=cli_actor()).token)


def _take_and_judge(app: App, auditor, finding: Finding) -> dict | None:
    with session_scope(app.engine) as session:
        queue = AuditQueue(session, app, auditor)
        task = queue.next_task()
        return None if task is None else queue.record(key_of(task), finding).as_json()


def show_audit_queue(app: App, say) -> dict:
    # two people: a second review is refused to another token of the same holder (label)
    first, second = _principal(app, Role.AUDITOR, holder=" 1"), _principal(app, Role.AUDITOR,
                                                                           holder=" 2")  # fmt: skip
    verified = _take_and_judge(app, first, VERIFIED)
    flagged = _take_and_judge(app, first, ILLEGIBLE)
    confirmed = _take_and_judge(app, second, Finding.parse("discrepancy", None, None))
    if not (verified and flagged and confirmed):
        say("auditor queue: fewer than two tasks waiting; nothing to show")
        return {"findings": 0}
    district = _principal(app, Role.DISTRICT, flagged["task"]["district"])
    with session_scope(app.engine) as session:
        shown = ResponseService(session, app, district).finding(flagged["task"]["id"]).as_json()
    say(
        f"auditor queue: task {verified['task']['id']} verified; task {flagged['task']['id']} "
        f"illegible, confirmed by a second auditor ({confirmed['finding']['decision']}); its "
        f"district may answer by {shown['respond_by'][:10]} (page /audit, /audit/findings)"
    )
    return {
        "verified_task": verified["task"]["id"],
        "discrepancy_task": flagged["task"]["id"],
        "second_review": confirmed["finding"]["decision"],
        "respond_by": shown["respond_by"],
    }
