"""Who a notice goes to: the agreement's contacts by role, and the contacts list.

Agreement contacts (`contacts:` in an agreement document) carry a free-text
`role`; one naming `vendor` is the vendor's, any other (or none) the state's.
District coordinators and the state's auditors are not in any agreement: they
are the `contacts` table, loaded from a CSV (`credx notifications contacts`).
"""

from __future__ import annotations

import json

from sqlmodel import Session, select

from agreements.models import Agreement
from notifications.catalogue import KINDS, Notice
from notifications.models import Contact, OptOut


def recipients(session: Session, notice: Notice) -> list[str]:
    """The addresses to mail, each once, less those who opted out of a non-mandatory kind."""
    kind = KINDS[notice.kind]
    found: list[str] = []
    for audience in kind.audiences:
        if audience in ("vendor", "state") and notice.vendor:
            found += _agreement_contacts(session, notice.vendor, audience)
        elif audience in ("district", "auditor") and notice.state:
            found += _listed(session, notice.state, notice.district, audience)
    unique = list(dict.fromkeys(address.lower() for address in found))
    if kind.mandatory:
        return unique
    opted = set(session.exec(select(OptOut.email).where(OptOut.kind == notice.kind)))
    return [address for address in unique if address not in opted]


def _agreement_contacts(session: Session, vendor: str, audience: str) -> list[str]:
    addresses = []
    for agreement in session.exec(select(Agreement).where(Agreement.vendor_id == vendor)):
        if agreement.purged_at is not None:
            continue
        for contact in json.loads(agreement.terms).get("contacts") or []:
            is_vendor = "vendor" in (contact.get("role") or "").lower()
            if is_vendor == (audience == "vendor"):
                addresses.append(contact["email"])
    return addresses


def _listed(session: Session, state: str, district: str | None, role: str) -> list[str]:
    query = select(Contact.email).where(Contact.state == state, Contact.role == role)
    if role == "district":
        query = query.where(Contact.district == (district or ""))
    return list(session.exec(query))
