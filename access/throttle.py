"""Rate limiting of failed sign-ins that slows guessing but cannot be aimed at a victim.

Two counts, both of failures in the database (so every worker process, and every host
behind a load balancer, counts the same failures):

- per (token id, client address): after `max_failures`, that address may not try that
  token id again until a backoff has passed, and the secret is not even looked at.  A
  holder elsewhere is untouched: a stranger who knows a token id (auditors see
  `uploaded_by`) can lock out only their own address.
- per client address: after `address_max_failures` (any token ids) the address is slowed
  the same way, but a valid secret from it still signs in: a school behind one NAT address
  keeps working while one machine there guesses.

Backoff: the first block lasts `window_seconds` after the last failure, and each further
`max_failures` failures within a day double it (up to a day).  Failures older than a day
are forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, delete, func, select

from access.models import SignInFailure
from kernel.clock import as_utc, utcnow

MEMORY = timedelta(days=1)


@dataclass(frozen=True)
class Limits:
    max_failures: int
    window_seconds: int
    address_max_failures: int = 50


@dataclass(frozen=True)
class SignInThrottle:
    session: Session
    limits: Limits

    def pair_wait(self, client: str, prefix: str) -> int:
        """Seconds before this address may try this token id again (0: it may now)."""
        if not prefix:
            return self.address_wait(client)
        recent = self._recent().where(
            SignInFailure.client == client[:64], SignInFailure.token_prefix == prefix
        )
        return self._wait(recent, self.limits.max_failures)

    def address_wait(self, client: str) -> int:
        """Seconds before this address's wrong secrets are checked again (valid ones pass)."""
        recent = self._recent().where(SignInFailure.client == client[:64])
        return self._wait(recent, self.limits.address_max_failures)

    def _recent(self) -> Any:
        since = utcnow() - MEMORY
        return select(func.count(), func.max(SignInFailure.occurred_at)).where(
            col(SignInFailure.occurred_at) > since
        )

    def _wait(self, query: Any, limit: int) -> int:
        count, last = self.session.exec(query).one()
        if count < limit or last is None:
            return 0
        doublings = min(count // limit - 1, 7)
        block = min(self.limits.window_seconds * (1 << doublings), int(MEMORY.total_seconds()))
        remaining = (as_utc(last) + timedelta(seconds=block) - utcnow()).total_seconds()
        return max(0, int(remaining) + 1) if remaining > 0 else 0

    def record_failure(self, client: str, prefix: str) -> None:
        self.session.add(SignInFailure(client=client[:64], token_prefix=prefix))
        self.session.flush()
        horizon = utcnow() - MEMORY
        self.session.execute(delete(SignInFailure).where(col(SignInFailure.occurred_at) < horizon))
