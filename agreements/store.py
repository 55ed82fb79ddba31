"""Persisting and finding agreements by their resolved terms.

`agreements.documents` turns a reviewed document into `Terms`; this module
stores them (a new version only when they changed) and answers the question
every ingest asks: which agreements are in force for this vendor today?
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from agreements.events import AgreementEvent
from agreements.models import Agreement, AgreementVersion
from agreements.terms import Terms
from eventlog.log import EventLog
from kernel.clock import utcnow
from kernel.errors import NotFound


@dataclass(frozen=True)
class Reresolved:
    """An adoption a template amendment reached: its new version and what changed."""

    agreement_id: str
    version: int
    changes: dict[str, list]  # field -> [before, after]


@dataclass(frozen=True)
class Stored:
    agreement_id: str
    version: int
    changed: bool
    adoptions: tuple[Reresolved, ...] = ()


def store_terms(session: Session, terms: Terms, *, document: str, actor: str) -> Stored:
    """Save `terms` as the agreement's current version; an unchanged document is a no-op.

    Never deletes anything: earlier versions stay in `agreement_versions`.
    """
    digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
    agreement = session.get(Agreement, terms.id)
    if agreement is not None:
        current = session.get(AgreementVersion, (agreement.id, agreement.version))
        # the same document resolving to other terms (its template was amended) is a change
        if current is not None and current.document_sha256 == digest and (
            current.terms == terms.model_dump_json()
        ):
            return Stored(agreement.id, agreement.version, changed=False)
        version = agreement.version + 1
    else:
        version = 1
        agreement = Agreement(
            id=terms.id, vendor_id=terms.vendor, title=terms.title,
            effective_from=terms.effective_from, effective_to=terms.effective_to, terms="{}",
        )  # fmt: skip
        session.add(agreement)
    terms_json = terms.model_dump_json()
    agreement.is_template = terms.is_template
    agreement.template_id = terms.template
    agreement.vendor_id = terms.vendor
    agreement.title = terms.title
    agreement.version = version
    agreement.effective_from, agreement.effective_to = terms.effective_from, terms.effective_to
    agreement.terms = terms_json
    agreement.updated_at = utcnow()
    session.flush()
    session.add(
        AgreementVersion(
            agreement_id=terms.id,
            version=version,
            document=document,
            document_sha256=digest,
            terms=terms_json,
            applied_by=actor,
        )
    )
    session.flush()
    EventLog(session).record(
        AgreementEvent.AGREEMENT_APPLIED,
        f"agreement:{terms.id}",
        actor,
        version=version,
        sha256=digest,
    )
    return Stored(terms.id, version, changed=True)


def terms_of(agreement: Agreement) -> Terms:
    return Terms.model_validate_json(agreement.terms)


def get_agreement(session: Session, agreement_id: str) -> Agreement:
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFound(f"no agreement {agreement_id!r}", hint="see `credx agreements list`")
    return agreement


def agreements_in_force(session: Session, vendor_id: str, day: date) -> list[Terms]:
    """Adopted (non-template), unpurged agreements of a vendor in force on `day`, by id."""
    rows = session.exec(
        select(Agreement)
        .where(Agreement.vendor_id == vendor_id, col(Agreement.is_template).is_(False))
        .where(Agreement.effective_from <= day, Agreement.effective_to >= day)
        .where(col(Agreement.purged_at).is_(None))
        .order_by(col(Agreement.id))
    )
    return [terms_of(a) for a in rows]
