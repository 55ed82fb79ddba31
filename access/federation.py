"""Sign-in through a state's identity provider (OpenID Connect): who gets which role.

The claims-to-role mapping document (`CREDX_OIDC_MAPPING_FILE`, YAML) says
which value of which ID-token claim gives which role, state, district or
vendor; the first rule that matches wins, so list the narrow grants first:

    claim: groups                     # a claim holding a string or a list of strings
    rules:
      - value: 5f0c...-entra-group-id
        role: district
        state: LA
        district: "036"
      - value: 7a1e...-entra-group-id
        role: auditor
        state: LA

It is validated when the web app starts: a bad document stops the process
with the line at fault, never a sign-in that grants the wrong thing.

A signed-in person holds a credx token like any other (label
`oidc:<issuer>#<sub>`, never shown to anyone), so every permission check stays
the one in `access.policy`.  Each sign-in revokes that person's earlier token,
which ends their other sessions: a user moved to another district, or out of
every group, loses the old grant at their next sign-in, and the provider's
off-boarding (no sign-in at all) ends it at the session's expiry.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, col, select

from access.events import AccessEvent
from access.models import ApiToken
from access.principals import Role
from access.tokens import FEDERATED_LABEL_PREFIX, TokenService, TokenSpec
from eventlog.log import EventLog
from kernel.clock import utcnow
from kernel.errors import CredxError, InvalidInput
from kernel.values import district_code, state_code

LOGIN_MINUTES = 10  # an authorization request not completed by then is refused


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str = Field(min_length=1, max_length=300)
    role: Role
    state: str | None = None
    district: str | None = None
    vendor: str | None = None

    @model_validator(mode="after")
    def _tenant(self) -> Rule:
        if self.role is Role.ADMIN:
            if self.state or self.district or self.vendor:
                raise ValueError("an admin rule names no state, district or vendor")
            return self
        if not self.state:
            raise ValueError(f"a {self.role} rule needs a state")
        state_code(self.state)
        if (self.role is Role.DISTRICT) != bool(self.district):
            raise ValueError("district is required for district rules and only for them")
        if self.district:
            district_code(self.district)
        if (self.role is Role.VENDOR) != bool(self.vendor):
            raise ValueError("vendor is required for vendor rules and only for them")
        return self


class RoleMapping(BaseModel):
    """The claims-to-role mapping document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    claim: str = Field(default="groups", min_length=1, max_length=100)
    rules: tuple[Rule, ...] = Field(min_length=1)

    def grant_for(self, claims: dict[str, Any]) -> Rule | None:
        held = claims.get(self.claim)
        values = {held} if isinstance(held, str) else set(held or ())
        return next((rule for rule in self.rules if rule.value in values), None)


def load_mapping(path: Path) -> RoleMapping:
    """The validated mapping document, or InvalidInput naming what is wrong and where."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"the OIDC role mapping {path} cannot be read: {exc}") from None
    try:
        return RoleMapping.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())  # fmt: skip
        raise InvalidInput(f"the OIDC role mapping {path}: {problems}") from None


class OidcLogin(SQLModel, table=True):
    """One authorization request in flight: its state, nonce and PKCE verifier.  Used once:
    a replayed callback (same state) finds it used and is refused."""

    __tablename__ = "oidc_logins"

    state: str = SQLField(primary_key=True, max_length=64)
    nonce: str = SQLField(max_length=64)
    code_verifier: str = SQLField(max_length=128)
    created_at: datetime = SQLField(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    used_at: datetime | None = SQLField(default=None, sa_type=sa.DateTime(timezone=True))


class SignInRefused(CredxError):
    """The provider's answer does not sign anyone in; the message says why, for the page."""

    code = "sign_in_refused"
    http_status = 401


class NoRole(SignInRefused):
    code = "no_role"
    http_status = 403


def begin_login(session: Session) -> OidcLogin:
    login = OidcLogin(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                      code_verifier=secrets.token_urlsafe(64))  # fmt: skip
    session.add(login)
    session.flush()
    return login


def take_login(session: Session, state: str) -> OidcLogin:
    """The request this callback answers, now used; refused if unknown, used or stale."""
    login = session.get(OidcLogin, state[:64]) if state else None
    if login is None or login.used_at is not None:
        raise SignInRefused("this sign-in link was already used or is unknown; sign in again")
    if utcnow() - _utc(login.created_at) > timedelta(minutes=LOGIN_MINUTES):
        raise SignInRefused("the sign-in took too long; sign in again")
    login.used_at = utcnow()
    session.add(login)
    session.flush()
    return login


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


@dataclass(frozen=True)
class FederatedUser:
    issuer: str
    subject: str
    email: str | None
    name: str | None = None  # the `name` claim, for pages; the label stays the identity

    @property
    def label(self) -> str:
        return f"{FEDERATED_LABEL_PREFIX}{self.issuer}#{self.subject}"[:200]


def token_for(session: Session, user: FederatedUser, rule: Rule, *, hours: float) -> ApiToken:
    """A fresh token for this person's grant; their earlier ones are revoked (sessions end)."""
    service = TokenService(session)
    earlier = session.exec(select(ApiToken).where(col(ApiToken.label) == user.label,
                                                   col(ApiToken.revoked_at).is_(None)))  # fmt: skip
    for token in list(earlier):
        service.revoke(token.id, actor=user.label)
    days = max(1, int(hours // 24) + 1)
    spec = TokenSpec(rule.role, rule.state, rule.district, rule.vendor, user.label, days,
                     holder_name=(user.name or user.email or "")[:200] or None)  # fmt: skip
    return service.create(spec, actor=user.label).token


def record_refusal(session: Session, user_label: str, client: str, reason: str) -> None:
    EventLog(session).record(AccessEvent.SIGN_IN_FAILED, user_label[:200], f"client:{client}",
                             via="oidc", reason=reason)  # fmt: skip
