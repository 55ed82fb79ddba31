"""The contacts list: district coordinators and state auditors, loaded from a CSV.

Columns `state,district,role,name,email`; `role` is `district` (with its
district code) or `auditor` (district empty).  Loading a file replaces the
list of every state it names, so the file is the list (an off-boarded person
is a removed line).  A bad line refuses the whole file, naming the line.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, delete, select

from kernel.errors import InvalidInput
from kernel.values import district_code, state_code
from notifications.models import Contact, OptOut

COLUMNS = ("state", "district", "role", "name", "email")
ROLES = ("district", "auditor")
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


@dataclass(frozen=True)
class Loaded:
    states: list[str]
    contacts: int

    def as_json(self) -> dict:
        return {"states": self.states, "contacts": self.contacts}


def load_contacts(session: Session, path: Path) -> Loaded:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise InvalidInput(f"the header must be {','.join(COLUMNS)}", field="header")
        rows = [_contact(number, line) for number, line in enumerate(reader, start=2)]
    states = sorted({row.state for row in rows})
    for state in states:
        session.execute(delete(Contact).where(col(Contact.state) == state))
    seen = set()
    for row in rows:
        key = (row.state, row.district, row.role, row.email)
        if key not in seen:
            seen.add(key)
            session.add(row)
    session.flush()
    return Loaded(states, len(seen))


def _contact(number: int, line: dict[str, str]) -> Contact:
    values = {name: (line.get(name) or "").strip() for name in COLUMNS}
    try:
        state = state_code(values["state"], field="state")
        if values["district"]:
            district_code(values["district"], field="district")
    except InvalidInput as exc:
        raise InvalidInput(f"line {number}: {exc}", field=exc.field) from None
    if values["role"] not in ROLES:
        raise InvalidInput(f"line {number}: role must be district or auditor", field="role")
    if (values["role"] == "district") != bool(values["district"]):
        raise InvalidInput(f"line {number}: a district contact needs its district code, an "
                           "auditor none", field="district")  # fmt: skip
    if not EMAIL.match(values["email"]) or len(values["email"]) > 200:
        raise InvalidInput(f"line {number}: {values['email']!r} is not an email address",
                           field="email")  # fmt: skip
    return Contact(state=state, district=values["district"], role=values["role"],
                   name=values["name"][:200], email=values["email"].lower())  # fmt: skip


def list_contacts(session: Session, state: str | None = None) -> list[dict]:
    query = select(Contact).order_by(Contact.state, Contact.district, Contact.email)
    if state:
        query = query.where(Contact.state == state_code(state, field="state"))
    return [{name: getattr(row, name) for name in COLUMNS} for row in session.exec(query)]


def set_opt_out(session: Session, email: str, kind: str, *, opted_out: bool) -> None:
    """Record (or withdraw) that `email` wants no more `kind` messages (if not mandatory)."""
    from notifications.catalogue import KINDS

    if kind not in KINDS:
        raise InvalidInput(f"no notification kind {kind!r}; kinds: {', '.join(KINDS)}",
                           field="kind")  # fmt: skip
    if KINDS[kind].mandatory:
        raise InvalidInput(f"{kind} is mandatory: it cannot be opted out of", field="kind")
    existing = session.get(OptOut, (email.lower(), kind))
    if opted_out and existing is None:
        session.add(OptOut(email=email.lower(), kind=kind))
    elif not opted_out and existing is not None:
        session.delete(existing)
