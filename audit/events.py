"""The event tags `audit` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class AuditEvent(EventTag):
    """Tags of random-sample audits: plans, draws, the auditor queue, findings and responses."""

    AUDIT_MANIFEST_WRITTEN = "audit:manifest:written"
    AUDIT_SAMPLE_DRAWN = "audit:sample:drawn"
    AUDIT_PLAN_CREATED = "audit:plan:created"
    AUDIT_POPULATION_FROZEN = "audit:population:frozen"
    AUDIT_SAMPLE_EXPANDED = "audit:sample:expanded"
    AUDIT_DRAW_VERIFIED = "audit:draw:verified"
    AUDIT_CYCLE_CLOSED = "audit:cycle:closed"
    AUDIT_LEVEL_SWITCHED = "audit:school:switched"
    AUDIT_RESULTS_EXPORTED = "audit:results:exported"
    AUDIT_TASK_ASSIGNED = "audit:task:assigned"
    AUDIT_TASK_RELEASED = "audit:task:released"
    AUDIT_TASK_VIEWED = "audit:task:viewed"
    AUDIT_DEADLINE_NEAR = "audit:deadline:near"
    AUDIT_FINDING_RECORDED = "audit:finding:recorded"
    AUDIT_FINDING_REFUSED = "audit:finding:refused"
    AUDIT_FINDINGS_LISTED = "audit:findings:listed"
    AUDIT_FINDING_VIEWED = "audit:finding:viewed"
    AUDIT_RESPONSE_RECORDED = "audit:response:recorded"
    AUDIT_RESPONSE_REFUSED = "audit:response:refused"
    AUDIT_PLAN_SUPERSEDED = "audit:plan:superseded"
    AUDIT_FINDING_UNDONE = "audit:finding:undone"
    AUDIT_TASK_HANDED_BACK = "audit:task:handed_back"
