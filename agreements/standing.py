"""Where agreements stand: status on a given day, expiry warnings, version history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from agreements.events import AgreementEvent
from agreements.models import Agreement, AgreementVersion
from agreements.store import get_agreement, terms_of
from agreements.terms import Terms
from eventlog.log import EventLog

EXPIRY_WARNING_DAYS = 60


class Status(StrEnum):
    TEMPLATE = "template"
    NOT_YET_IN_FORCE = "not_yet_in_force"
    IN_FORCE = "in_force"
    EXPIRED = "expired"
    PURGED = "purged"


@dataclass(frozen=True)
class Standing:
    """Where an agreement stands on a given day."""

    agreement: Agreement
    terms: Terms
    status: Status
    expiring_soon: bool  # in force and ending within EXPIRY_WARNING_DAYS


def standing_of(agreement: Agreement, day: date) -> Standing:
    if agreement.is_template:
        status = Status.TEMPLATE
    elif agreement.purged_at is not None:
        status = Status.PURGED
    elif day < agreement.effective_from:
        status = Status.NOT_YET_IN_FORCE
    elif day <= agreement.effective_to:
        status = Status.IN_FORCE
    else:
        status = Status.EXPIRED
    ending = agreement.effective_to <= day + timedelta(days=EXPIRY_WARNING_DAYS)
    return Standing(agreement, terms_of(agreement), status, status is Status.IN_FORCE and ending)


def list_agreements(session: Session, day: date) -> list[Standing]:
    """Every agreement and template, by id, as it stands on `day`."""
    rows = session.exec(select(Agreement).order_by(col(Agreement.id)))
    return [standing_of(agreement, day) for agreement in rows]


def record_expiry_warnings(session: Session, standings: list[Standing], actor: str) -> int:
    """Log each agreement that is ending soon, once per end date (a re-listing adds nothing).

    A new version with a later `effective_to` that again nears its end is warned
    about again.  Returns how many warnings were recorded.
    """
    log = EventLog(session)
    recorded = 0
    for standing in standings:
        if not standing.expiring_soon:
            continue
        subject = f"agreement:{standing.agreement.id}"
        effective_to = standing.agreement.effective_to.isoformat()
        warned = any(
            event.action == AgreementEvent.AGREEMENT_EXPIRING
            and json.loads(event.payload).get("effective_to") == effective_to
            for event in log.for_subject(subject)
        )
        if not warned:
            log.record(AgreementEvent.AGREEMENT_EXPIRING, subject, actor, effective_to=effective_to)
            recorded += 1
    return recorded


def agreement_history(session: Session, agreement_id: str) -> list[AgreementVersion]:
    """Every version ever applied, oldest first (NotFound for an unknown id)."""
    get_agreement(session, agreement_id)
    query = select(AgreementVersion).where(AgreementVersion.agreement_id == agreement_id)
    return list(session.exec(query.order_by(col(AgreementVersion.version))))
