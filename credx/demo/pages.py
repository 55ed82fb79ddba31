"""The demo's last word: which page each role opens after `credx serve`, and a token to
sign in with (one per role, valid for a day, labelled with a made-up person's name so the
pages show names rather than token ids)."""

from __future__ import annotations

from access.principals import Role
from access.tokens import TokenService, TokenSpec
from credx.app import App
from eventlog.log import cli_actor
from kernel.database import session_scope

SERVE_AT = "http://127.0.0.1:8000"  # `credx serve`'s default address
# (role, district, person, what they do there, the page to open)
PEOPLE = (
    (Role.DISTRICT, "036", "Dana Reyes", "uploads, audit findings", "/"),
    (Role.AUDITOR, None, "Sam Osei", "audit queue, results", "/audit"),
    (Role.OPERATOR, None, "Lee Tran", "link review, deliveries, dashboard, reports", "/review"),
)


def show_pages(app: App, say) -> list[dict]:
    """Make the sign-in tokens and say, per role, where to go with which."""
    shown = []
    with session_scope(app.engine) as session:
        tokens = TokenService(session)
        for role, district, person, does, page in PEOPLE:
            spec = TokenSpec(role, "LA", district, None, f"{person} (demo)", expires_days=1)
            secret = tokens.create(spec, actor=cli_actor()).secret
            shown.append({"role": role.value, "district": district, "person": person,
                          "does": does, "page": f"{SERVE_AT}{page}", "token": secret})  # fmt: skip
    say(f"pages: run `credx serve`, open {SERVE_AT}/sign-in and paste a role's token "
        "(valid for a day):")  # fmt: skip
    for row in shown:
        who = f"{row['role']}" + (f" {row['district']}" if row["district"] else "")
        say(f"  {who:13} {row['page']:32} ({row['does']}) {row['token']}")
    return shown
