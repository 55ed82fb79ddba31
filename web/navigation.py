"""The pages a signed-in user can reach, for the header: derived from the policy's grants,
so a link is shown exactly when the page would let the user in."""

from __future__ import annotations

from access.policy import Permission, may
from access.principals import Principal

PAGES: tuple[tuple[Permission, str, str], ...] = (
    (Permission.AUDIT_WORK, "/audit", "Audit queue"),
    (Permission.AUDIT_WORK, "/audit/results", "Audit results"),
    (Permission.AUDIT_RESPOND, "/audit/findings", "Audit findings"),
    (Permission.LINK_REVIEW, "/review", "Link review"),
    (Permission.DASHBOARD_READ, "/dashboard", "Dashboard"),
    (Permission.DELIVERY_READ, "/deliveries", "Deliveries"),
    (Permission.REPORT_READ, "/reports/attainment", "Attainment report"),
)


def nav_links(principal: Principal) -> list[tuple[str, str]]:
    """(href, label) of every page the principal's role may open."""
    return [(href, label) for permission, href, label in PAGES if may(principal, permission)]
