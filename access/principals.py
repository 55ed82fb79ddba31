"""The authenticated caller: a role inside a tenant.

Every request and every service call that touches tenant data carries a
`Principal`.  Tenancy is a state (every role but `admin`), narrowed to one
district for district staff and to one vendor for vendor staff.  Services never
take a bare state or district from the caller's input for authorization: they
take it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VENDOR = "vendor"
    DISTRICT = "district"
    AUDITOR = "auditor"
    OPERATOR = "operator"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    token_id: str
    role: Role
    state: str | None = None  # None only for `admin`: the whole installation
    district: str | None = None  # district code, for `district` only
    vendor_id: str | None = None  # for `vendor` only

    @property
    def actor(self) -> str:
        """How this caller is named in the event log (never the token secret)."""
        return f"token:{self.token_id}"

    def in_state(self, state: str) -> bool:
        return self.state is None or self.state == state.upper()
