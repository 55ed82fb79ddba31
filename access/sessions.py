"""Browser sessions after a token sign-in, with a synchroniser CSRF token.

The cookie carries a random session id; the table keeps only its SHA-256, the
token it was opened with and the session's CSRF secret.  A session is valid only
while its token is: revoking or expiring the token ends it at once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, delete

from access.models import ApiToken, WebSession
from access.tokens import digest, is_active
from kernel.clock import as_utc, utcnow


@dataclass(frozen=True)
class OpenedSession:
    cookie_value: str
    record: WebSession


@dataclass(frozen=True)
class SessionStore:
    session: Session

    def open(self, token: ApiToken, *, hours: float) -> OpenedSession:
        value = secrets.token_urlsafe(32)
        now = utcnow()
        expires = min(now + timedelta(hours=hours), as_utc(token.expires_at))
        record = WebSession(
            id_sha256=digest(value),
            token_id=token.id,
            csrf_secret=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=expires,
        )
        self.session.add(record)
        self.session.flush()
        return OpenedSession(value, record)

    def find(self, cookie_value: str) -> tuple[WebSession, ApiToken] | None:
        """The live session and its token for a cookie value, or None."""
        if not cookie_value or len(cookie_value) > 100:
            return None
        record = self.session.get(WebSession, digest(cookie_value))
        if record is None or as_utc(record.expires_at) <= utcnow():
            return None
        token = self.session.get(ApiToken, record.token_id)
        if token is None or not is_active(token):
            return None
        return record, token

    def close(self, cookie_value: str) -> None:
        hashed = digest(cookie_value)
        self.session.execute(delete(WebSession).where(col(WebSession.id_sha256) == hashed))

    def purge_expired(self) -> None:
        self.session.execute(delete(WebSession).where(col(WebSession.expires_at) <= utcnow()))


def csrf_ok(record: WebSession, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(record.csrf_secret, submitted or "")
