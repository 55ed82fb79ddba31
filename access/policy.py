"""The one place where credx decides who may do what to which tenant's records.

Services call `require(...)` before acting and use the `*_visible_to` helpers
to filter queries; web views and the CLI never decide access themselves.  A
refusal raises `Forbidden`, which the web layer turns into 403 (or 404 where
saying "forbidden" would confirm that a foreign record exists).
"""

from __future__ import annotations

import hmac
import ipaddress
from enum import StrEnum

from access.principals import Principal, Role
from kernel.errors import CredxError, InvalidInput, NotFound


class Forbidden(CredxError):
    """The caller's role or tenant does not allow this."""

    code = "forbidden"
    http_status = 403


class Permission(StrEnum):
    EVIDENCE_UPLOAD = "evidence:upload"
    EVIDENCE_LIST = "evidence:list"  # claims and status
    EVIDENCE_PREVIEW = "evidence:preview"  # the re-rendered PNG
    EVIDENCE_ORIGINAL = "evidence:original"  # the file as uploaded
    EVIDENCE_FLAGS = "evidence:flags"  # duplicate / reuse flags
    DELIVERY_READ = "delivery:read"
    LINK_REVIEW = "link:review"  # the linker's uncertain pairs side by side, and deciding them
    TOKEN_MANAGE = "token:manage"  # noqa: S105 (a permission name, not a secret)
    AUDIT_WORK = "audit:work"  # take tasks from the queue, record findings
    AUDIT_RESPOND = "audit:respond"  # see final findings on own uploads, answer them
    DASHBOARD_READ = "dashboard:read"  # operational aggregates: counts, no student data
    REPORT_READ = "report:read"  # suppressed attainment counts of the caller's state


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.DISTRICT: frozenset(
        {
            Permission.EVIDENCE_UPLOAD,
            Permission.EVIDENCE_LIST,
            Permission.EVIDENCE_PREVIEW,
            Permission.AUDIT_RESPOND,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            Permission.EVIDENCE_LIST,
            Permission.EVIDENCE_PREVIEW,
            Permission.EVIDENCE_ORIGINAL,
            Permission.EVIDENCE_FLAGS,
            Permission.AUDIT_WORK,
            Permission.REPORT_READ,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            Permission.EVIDENCE_LIST,
            Permission.DELIVERY_READ,
            Permission.LINK_REVIEW,
            Permission.DASHBOARD_READ,
            Permission.REPORT_READ,
        }
    ),
    Role.VENDOR: frozenset({Permission.DELIVERY_READ}),
    Role.ADMIN: frozenset(Permission),
}


# What each permission lets someone do, for refusals a person reads.
PERMISSION_WORDS: dict[Permission, str] = {
    Permission.EVIDENCE_UPLOAD: "upload certificates",
    Permission.EVIDENCE_LIST: "see the list of uploads",
    Permission.EVIDENCE_PREVIEW: "see certificate previews",
    Permission.EVIDENCE_ORIGINAL: "download original certificate files",
    Permission.EVIDENCE_FLAGS: "see duplicate flags",
    Permission.DELIVERY_READ: "see vendor deliveries",
    Permission.LINK_REVIEW: "review student links",
    Permission.TOKEN_MANAGE: "manage access tokens",
    Permission.AUDIT_WORK: "work the audit queue",
    Permission.AUDIT_RESPOND: "answer audit findings (district staff answer them)",
    Permission.DASHBOARD_READ: "see the operations dashboard",
    Permission.REPORT_READ: "see attainment reports",
}
ROLE_NOUNS = {Role.DISTRICT: "district staff", Role.AUDITOR: "state auditor",
              Role.OPERATOR: "agreement operator", Role.VENDOR: "vendor", Role.ADMIN: "admin"}


def require(principal: Principal, permission: Permission) -> None:
    if permission not in GRANTS[principal.role]:
        raise Forbidden(f"you are signed in as {ROLE_NOUNS[principal.role]}, which may not "
                        f"{PERMISSION_WORDS[permission]}")  # fmt: skip


def may_see_evidence(principal: Principal, *, state: str, district: str) -> bool:
    """District staff see their own district's uploads; state roles their state's."""
    if not principal.in_state(state):
        return False
    if principal.role is Role.DISTRICT:
        return principal.district == district
    return principal.role in (Role.AUDITOR, Role.OPERATOR, Role.ADMIN)


def may_see_delivery(principal: Principal, *, vendor_id: str) -> bool:
    """Vendors see only their own deliveries; operators and admins see the ledger."""
    if principal.role is Role.VENDOR:
        return principal.vendor_id == vendor_id
    return principal.role in (Role.OPERATOR, Role.ADMIN)


def delivery_vendor_scope(principal: Principal, requested: str | None) -> str | None:
    """The vendor filter a delivery listing must use: a vendor's own id, whatever it asked."""
    require(principal, Permission.DELIVERY_READ)
    if principal.role is Role.VENDOR:
        return principal.vendor_id
    return requested


def check_delivery(principal: Principal, *, vendor_id: str) -> None:
    """Refuse a delivery outside the caller's scope as if it did not exist."""
    require(principal, Permission.DELIVERY_READ)
    if not may_see_delivery(principal, vendor_id=vendor_id):
        raise NotFound("no such delivery")


def review_state_scope(principal: Principal) -> str | None:
    """The state whose review pairs the caller works on (None: every state, for an admin)."""
    require(principal, Permission.LINK_REVIEW)
    return principal.state


def check_review_pair(principal: Principal, *, pair_id: int, state: str | None) -> None:
    """Refuse another state's review pair exactly as one that does not exist (state None)."""
    require(principal, Permission.LINK_REVIEW)
    if state is None or not principal.in_state(state):
        raise NotFound(f"no review pair {pair_id} in your state")


def dashboard_state(principal: Principal, requested: str | None) -> str | None:
    """The state a dashboard panel covers: an operator's own, whatever it asked; an admin's
    choice (None: every state)."""
    require(principal, Permission.DASHBOARD_READ)
    if principal.state is not None:
        return principal.state
    return requested.upper() if requested else None


LOCAL_SCRAPERS = frozenset({"127.0.0.1", "::1"})


def may_scrape_metrics(
    client: str, authorization: str, token: str | None, *, forwarded: bool = False
) -> bool:
    """`/metrics` (counts only, never student data): a scraper on this machine (127.0.0.1 or
    ::1 exactly, and not a request a proxy forwarded: that came from someone else), or
    anyone presenting the configured `metrics_token` as a bearer value."""
    if token:
        scheme, _, presented = authorization.partition(" ")
        matches = hmac.compare_digest(presented.strip().encode(), token.encode())
        if scheme.lower() == "bearer" and matches:
            return True
    if forwarded:
        return False
    try:
        return str(ipaddress.ip_address(client)) in LOCAL_SCRAPERS
    except ValueError:
        return False


def report_state(principal: Principal, requested: str | None) -> str:
    """The one state an attainment report covers: a state role's own (another state's report
    answers 404, as if it did not exist); an admin must name one."""
    require(principal, Permission.REPORT_READ)
    wanted = requested.upper() if requested else None
    if principal.state is None:
        if wanted is None:
            raise InvalidInput("name the state to report on (state=LA)")
        return wanted
    if wanted is not None and wanted != principal.state:
        raise NotFound("no such report")
    return principal.state


def may(principal: Principal, permission: Permission) -> bool:
    return permission in GRANTS[principal.role]


def check_audit_results(principal: Principal, *, state: str | None) -> None:
    """Audit results (aggregates, no student data): the state's auditors and report readers;
    another state's plan does not exist."""
    if not (may(principal, Permission.AUDIT_WORK) or may(principal, Permission.REPORT_READ)):
        require(principal, Permission.AUDIT_WORK)
    if state is not None and not principal.in_state(state):
        raise NotFound("no such audit plan")


def check_audit_task(principal: Principal, *, state: str) -> None:
    """Auditors work only their own state's tasks; another state's task does not exist."""
    require(principal, Permission.AUDIT_WORK)
    if not principal.in_state(state):
        raise NotFound("no such audit task")


def audit_worker_state(principal: Principal) -> str | None:
    """The state whose queue the caller works (None: an admin, every state)."""
    require(principal, Permission.AUDIT_WORK)
    return principal.state


def check_finding_holder(principal: Principal, *, assigned_to: str | None) -> None:
    """Only the auditor a task is assigned to may record its finding."""
    if assigned_to != principal.actor:
        raise Forbidden(
            "this audit task is not assigned to you; take the next task from your queue"
        )


def check_second_auditor(
    principal: Principal, *, first_auditor: str | None, same_holder: bool = False
) -> None:
    """A discrepancy is confirmed or overturned by a different auditor than the one who found
    it: a different token, and not another token of the same holder (`same_holder`, from the
    tokens' labels), so one person holding two auditor tokens cannot confirm their own."""
    if first_auditor == principal.actor or same_holder:
        raise Forbidden("a second review must be done by a different auditor than the first")


def responding_district(principal: Principal) -> tuple[str, str]:
    """(state, district) whose final findings the caller sees and may answer."""
    require(principal, Permission.AUDIT_RESPOND)
    if principal.role is not Role.DISTRICT or not principal.state or not principal.district:
        raise Forbidden("audit findings are answered with a district token")
    return principal.state, principal.district


def check_finding_district(principal: Principal, *, state: str, district: str) -> None:
    """A district sees findings on its own uploads only; another's does not exist."""
    own_state, own_district = responding_district(principal)
    if (state, district) != (own_state, own_district):
        raise NotFound("no such audit finding")
