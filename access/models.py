"""Tables behind authentication: API tokens, web sessions, failed sign-ins.

Only hashes of secrets are stored: a stolen database copy does not let anyone
sign in.  Sessions and failures live in the database (not in process memory)
so every worker of a multi-worker deployment agrees on them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import kernel.database  # noqa: F401
from kernel.clock import utcnow


class ApiToken(SQLModel, table=True):
    """A bearer token: a role inside a tenant, until it expires or is revoked.

    `id` is the public part of the token (its prefix); the secret part is shown
    once at creation and kept only as `secret_sha256`.
    """

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=16)
    secret_sha256: str = Field(max_length=64)
    role: str = Field(max_length=16)
    state: str | None = Field(default=None, max_length=2, index=True)
    district: str | None = Field(default=None, max_length=32)
    vendor_id: str | None = Field(default=None, foreign_key="vendors.id", max_length=64)
    label: str = Field(default="", max_length=200)
    # The person's name as their agency's sign-in gave it (OIDC `name`), for pages to show;
    # `label` stays the identity (`oidc:<issuer>#<sub>`), which no page shows.
    holder_name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie carries the id; only its hash is stored."""

    __tablename__ = "web_sessions"

    id_sha256: str = Field(primary_key=True, max_length=64)
    token_id: str = Field(foreign_key="api_tokens.id", index=True, max_length=16)
    csrf_secret: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class SignInFailure(SQLModel, table=True):
    """One refused sign-in, counted per client address and per token prefix."""

    __tablename__ = "sign_in_failures"

    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(max_length=64, index=True)
    token_prefix: str = Field(default="", max_length=16, index=True)
    occurred_at: datetime = Field(
        default_factory=utcnow, sa_type=sa.DateTime(timezone=True), index=True
    )
