"""States' priority lists: credentials that count extra in a school year, with tier and weight.

A list is a small YAML document, one per state and school year::

    state: KY
    school_year: 2025-26
    credentials:
      ADESK002: {tier: high-demand, weight: 1.25}
      NCCER001: {tier: standard, weight: 1.0}

Every code must be in the credential registry; a problem is refused with the
file and line (`ky.yaml line 5: ...`).  Applying a list replaces the state's
list for that year as a whole (the document is the truth); the event log
keeps the document's SHA-256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import delete
from sqlmodel import Session, col, select

from eventlog.log import EventLog
from kernel.errors import InvalidInput
from kernel.values import school_year as check_school_year
from kernel.values import state_code as check_state
from reports.events import ReportEvent
from reports.models import PriorityCredential
from schemas.credentials import known_codes

MAX_WEIGHT = 10.0


@dataclass(frozen=True)
class PriorityEntry:
    code: str
    tier: str
    weight: float


@dataclass(frozen=True)
class PriorityList:
    state: str
    school_year: str
    entries: tuple[PriorityEntry, ...]
    sha256: str


def parse_priorities(text: str, source: str, registry: frozenset[str]) -> PriorityList:
    """The document's list; `InvalidInput` names the line of the first problem."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(root, yaml.MappingNode):
        raise InvalidInput(f"{source}: expected a mapping with state, school_year, credentials")
    fields = {key.value: (key, value) for key, value in root.value}
    unknown = sorted(set(fields) - {"state", "school_year", "credentials"})
    if unknown:
        line = _line(fields[unknown[0]][0])
        raise InvalidInput(
            f"{source} line {line}: unknown field {unknown[0]!r}; "
            "the fields are state, school_year, credentials"
        )
    for name in ("state", "school_year", "credentials"):
        if name not in fields:
            raise InvalidInput(f"{source}: {name} is missing")
    state = _scalar(fields["state"][1], source, check_state)
    year = _scalar(fields["school_year"][1], source, check_school_year)
    entries = _entries(fields["credentials"][1], source, registry)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return PriorityList(state, year, entries, digest)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar(node: yaml.Node, source: str, check) -> str:
    try:
        if not isinstance(node, yaml.ScalarNode):
            raise InvalidInput("expected a single value")
        return check(node.value)
    except InvalidInput as exc:
        raise InvalidInput(f"{source} line {_line(node)}: {exc}") from None


def _entries(node: yaml.Node, source: str, registry: frozenset[str]) -> tuple[PriorityEntry, ...]:
    if not isinstance(node, yaml.MappingNode) or not node.value:
        raise InvalidInput(
            f"{source} line {_line(node)}: credentials must map codes to {{tier, weight}}"
        )
    entries, seen = [], set()
    for key, value in node.value:
        where = f"{source} line {_line(key)}"
        code = key.value
        if code in seen:
            raise InvalidInput(f"{where}: {code} is listed twice")
        if code not in registry:
            raise InvalidInput(
                f"{where}: unknown credential code {code!r}: not in the credential registry",
                hint="see `credx credentials list`; add it with `credx credentials load`",
            )
        seen.add(code)
        entries.append(_entry(code, value, where))
    return tuple(entries)


def _entry(code: str, node: yaml.Node, where: str) -> PriorityEntry:
    if not isinstance(node, yaml.MappingNode):
        raise InvalidInput(f"{where}: {code} needs {{tier: NAME, weight: NUMBER}}")
    fields = {k.value: v.value for k, v in node.value if isinstance(v, yaml.ScalarNode)}
    if set(fields) != {"tier", "weight"}:
        raise InvalidInput(f"{where}: {code} needs exactly tier and weight")
    tier = str(fields["tier"]).strip()
    if not tier or len(tier) > 40:
        raise InvalidInput(f"{where}: {code}'s tier must be 1-40 characters")
    try:
        weight = float(fields["weight"])
    except ValueError:
        raise InvalidInput(f"{where}: {code}'s weight must be a number, e.g. 1.25") from None
    if not 0 < weight <= MAX_WEIGHT:
        raise InvalidInput(f"{where}: {code}'s weight must be above 0 and at most {MAX_WEIGHT}")
    return PriorityEntry(code, tier, weight)


def apply_priorities(session: Session, path: Path, actor: str) -> PriorityList:
    """Replace the state's list for the document's school year with the document's."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"priority list {path} does not exist") from None
    parsed = parse_priorities(text, path.name, known_codes(session))
    session.exec(
        delete(PriorityCredential).where(
            col(PriorityCredential.state) == parsed.state,
            col(PriorityCredential.school_year) == parsed.school_year,
        )
    )
    for entry in parsed.entries:
        session.add(PriorityCredential(
            state=parsed.state, school_year=parsed.school_year, credential_code=entry.code,
            tier=entry.tier, weight=entry.weight, document_sha256=parsed.sha256,
        ))  # fmt: skip
    session.flush()
    EventLog(session).record(
        ReportEvent.PRIORITIES_APPLIED, f"priorities:{parsed.state}:{parsed.school_year}", actor,
        credentials=len(parsed.entries), sha256=parsed.sha256,
    )  # fmt: skip
    return parsed


def list_priorities(
    session: Session, state: str | None = None, school_year: str | None = None
) -> list[PriorityCredential]:
    query = select(PriorityCredential).order_by(
        col(PriorityCredential.state), col(PriorityCredential.school_year),
        col(PriorityCredential.credential_code),
    )  # fmt: skip
    if state:
        query = query.where(PriorityCredential.state == check_state(state))
    if school_year:
        query = query.where(PriorityCredential.school_year == check_school_year(school_year))
    return list(session.exec(query))
