"""Rate limiting of failed sign-ins, per client address and per token prefix.

Failures are rows in the database, so every worker process (and every host
behind a load balancer) counts the same failures.  A caller over the limit is
refused before its credentials are even looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, delete, func, select

from access.models import SignInFailure
from kernel.clock import utcnow


@dataclass(frozen=True)
class Limits:
    max_failures: int
    window_seconds: int


@dataclass(frozen=True)
class SignInThrottle:
    session: Session
    limits: Limits

    def blocked(self, client: str, prefix: str) -> bool:
        """True when the client, or anyone trying this token id, failed too often lately."""
        since = utcnow() - timedelta(seconds=self.limits.window_seconds)
        recent = (
            select(func.count())
            .select_from(SignInFailure)
            .where(col(SignInFailure.occurred_at) > since)
        )
        by_client = self.session.exec(recent.where(SignInFailure.client == client[:64])).one()
        if by_client >= self.limits.max_failures:
            return True
        if not prefix:
            return False
        by_prefix = self.session.exec(recent.where(SignInFailure.token_prefix == prefix)).one()
        return by_prefix >= self.limits.max_failures

    def record_failure(self, client: str, prefix: str) -> None:
        self.session.add(SignInFailure(client=client[:64], token_prefix=prefix))
        self.session.flush()
        horizon = utcnow() - timedelta(seconds=max(self.limits.window_seconds, 3600) * 2)
        self.session.execute(delete(SignInFailure).where(col(SignInFailure.occurred_at) < horizon))
