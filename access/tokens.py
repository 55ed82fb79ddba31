"""API tokens: created by an operator at the CLI, presented as `Authorization: Bearer`.

A token reads `credx_<id>_<secret>`.  The id is public (it names the token in
lists and in the event log); the secret is shown once and stored only as its
SHA-256, which suffices because it is 256 random bits (no dictionary to hash
against).  Verification compares digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from access.events import AccessEvent
from access.models import ApiToken, WebSession
from access.principals import Principal, Role
from agreements.models import Vendor
from eventlog.log import EventLog
from kernel.clock import as_utc, utcnow
from kernel.errors import InvalidInput, NotFound
from kernel.values import district_code, state_code

TOKEN_PATTERN = re.compile(r"credx_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_DUMMY_DIGEST = hashlib.sha256(b"no such token").hexdigest()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


FEDERATED_LABEL_PREFIX = "oidc:"  # labels of agency sign-ins' tokens: `oidc:<issuer>#<sub>`


@dataclass(frozen=True)
class TokenSpec:
    """What a new token may do: a role inside a tenant."""

    role: Role
    state: str | None = None
    district: str | None = None
    vendor_id: str | None = None
    label: str = ""
    expires_days: int = 90
    holder_name: str | None = None  # shown on pages instead of the label (agency sign-in)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the full bearer value, shown once


def token_prefix(presented: str) -> str:
    """The public id inside a presented value ('' if it does not look like a token)."""
    match = TOKEN_PATTERN.fullmatch(presented.strip())
    return match.group(1) if match else ""


def principal_of(token: ApiToken) -> Principal:
    return Principal(token.id, Role(token.role), token.state, token.district, token.vendor_id)


def same_holder(session: Session, actor: str, other: str | None) -> bool:
    """True when two callers (`token:<id>` actors) are tokens of one holder: the same
    non-empty label (`credx tokens create --label`, "who holds it"), compared loosely."""
    if other is None or not actor.startswith("token:") or not other.startswith("token:"):
        return False
    labels = []
    for name in (actor, other):
        token = session.get(ApiToken, name.removeprefix("token:"))
        labels.append(" ".join((token.label if token else "").split()).casefold())
    return bool(labels[0]) and labels[0] == labels[1]


def holder_actors(session: Session, actor: str) -> list[str]:
    """`actor` and every other token of its holder (same non-empty label), as actors."""
    token = session.get(ApiToken, actor.removeprefix("token:")) if actor.startswith(
        "token:") else None  # fmt: skip
    label = " ".join((token.label if token else "").split()).casefold()
    if not label:
        return [actor]
    ids = session.exec(select(ApiToken.id, ApiToken.label)).all()
    return [actor, *(f"token:{i}" for i, other in ids
                     if " ".join(other.split()).casefold() == label)]  # fmt: skip


def holder_label(session: Session, actor: str | None) -> str | None:
    """Who acted, as a page may name them: the name an agency sign-in gave, or the holder
    label of a `token:<id>` actor (the person `credx tokens create --label` named), else None
    (show the role, not an id).  An agency sign-in's label is its issuer and subject, an
    identity key rather than a name, so it is never shown."""
    if not actor or not actor.startswith("token:"):
        return None
    token = session.get(ApiToken, actor.removeprefix("token:"))
    if token is None:
        return None
    if token.holder_name:
        return " ".join(token.holder_name.split()) or None
    label = " ".join(token.label.split())
    return label if label and not label.startswith(FEDERATED_LABEL_PREFIX) else None


def is_active(token: ApiToken, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return token.revoked_at is None and as_utc(token.expires_at) > now


@dataclass(frozen=True)
class TokenService:
    session: Session

    def create(self, spec: TokenSpec, *, actor: str) -> NewToken:
        self._check(spec)
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        token = ApiToken(
            id=token_id,
            secret_sha256=digest(secret),
            role=spec.role,
            state=spec.state.upper() if spec.state else None,
            district=spec.district,
            vendor_id=spec.vendor_id,
            label=spec.label,
            holder_name=spec.holder_name,
            expires_at=utcnow() + timedelta(days=spec.expires_days),
        )
        self.session.add(token)
        self.session.flush()
        EventLog(self.session).record(
            AccessEvent.TOKEN_CREATED, f"token:{token_id}", actor, role=str(spec.role),
            state=token.state, district=spec.district, vendor=spec.vendor_id,
            expires_at=token.expires_at.isoformat(),
        )  # fmt: skip
        return NewToken(token, f"credx_{token_id}_{secret}")

    def _check(self, spec: TokenSpec) -> None:
        """Every role but admin is tied to a state; district and vendor roles narrower."""
        if not 1 <= spec.expires_days <= 3660:
            raise InvalidInput("--expires-days must be between 1 and 3660")
        if spec.role is Role.ADMIN:
            if spec.state or spec.district or spec.vendor_id:
                raise InvalidInput("admin tokens are installation-wide: drop --state/--district")
            return
        if not spec.state:
            raise InvalidInput(f"a {spec.role} token needs --state, a USPS code such as LA")
        state_code(spec.state, field="state")
        if (spec.role is Role.DISTRICT) != bool(spec.district):
            raise InvalidInput("--district is required for district tokens and only for them")
        if spec.district:
            district_code(spec.district, field="district")
        if (spec.role is Role.VENDOR) != bool(spec.vendor_id):
            raise InvalidInput("--vendor is required for vendor tokens and only for them")
        if spec.vendor_id and self.session.get(Vendor, spec.vendor_id) is None:
            raise InvalidInput(
                f"no vendor {spec.vendor_id!r}: a vendor token names a registered vendor",
                hint="see `credx vendors list`",
            )

    def list(self) -> list[ApiToken]:
        return list(self.session.exec(select(ApiToken).order_by(col(ApiToken.created_at))))

    def revoke(self, token_id: str, *, actor: str) -> ApiToken:
        """Revoke a token and end every web session signed in with it."""
        token = self.session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"no token {token_id!r}", hint="see `credx tokens list`")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            self.session.execute(delete(WebSession).where(col(WebSession.token_id) == token_id))
            EventLog(self.session).record(AccessEvent.TOKEN_REVOKED, f"token:{token_id}", actor)
        return token

    def authenticate(self, presented: str) -> ApiToken | None:
        """The active token for a presented bearer value, or None (never says why)."""
        match = TOKEN_PATTERN.fullmatch(presented.strip())
        token = self.session.get(ApiToken, match.group(1)) if match else None
        stored = token.secret_sha256 if token else _DUMMY_DIGEST
        candidate = digest(match.group(2)) if match else digest(presented)
        if not hmac.compare_digest(stored, candidate) or token is None:
            return None
        if not is_active(token):
            return None
        now = utcnow()
        if token.last_used_at is None or now - as_utc(token.last_used_at) > timedelta(minutes=1):
            token.last_used_at = now  # coarse, so busy clients do not write on every request
        return token
