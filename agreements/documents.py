"""Agreement documents: the YAML an operator reviews, checked and turned into `Terms`.

An agreement is a small YAML file kept under version control, reviewed as a
diff and loaded with `credx agreements apply FILE`.  Applying is idempotent:
the same document again changes nothing; a changed document becomes the next
version and every earlier version is kept (`agreements.store`).  Applying
never deletes anything.  `deploy/agreements/` holds one example of each kind:

* a standalone agreement between one vendor and one or more states;
* a consortium template (``template: true``): the terms several states share
  with one vendor, ``states`` being the consortium's members.  A template
  governs no data by itself;
* an adoption (``adopts: TEMPLATE_ID``): member states taking up a template.
  It names its own ``id`` and ``states`` (members of the template) and may set
  any other field, which then replaces the template's value (each state's
  priority credential list differs, so ``credentials`` is the usual override).
  The vendor is the template's; naming another vendor is an error.

Fields (all required, except where marked, unless an adoption inherits them)::

    id: tn-nccer-2026                     # slug, like vendor ids
    title: Tennessee / NCCER exam results
    vendor: nccer                         # a registered vendor
    states: [TN]                          # two-letter USPS codes
    effective_from: 2026-07-01            # ISO dates, both days included
    effective_to: 2028-06-30
    credentials: [NCCER001, NCCER007]     # codes in the credential registry
    data_elements: [vendor_record_id, ...]  # canonical columns, every required one included
    purpose: Count credential attainment for school accountability
    ferpa_basis: audit_evaluation         # studies | audit_evaluation | directory | consent
    retention_days_after_termination: 365
    contacts:                             # optional
      - {name: Data Steward, email: steward@example.gov, role: state}
    connector: nccer-sftp                 # optional: the delivery connector's name
    mapping:                              # optional: a `--mapping` TOML file, as YAML
      encoding: utf-8
      columns: {"Card Number": candidate_id}
      defaults: {state: TN}

Every problem is an `InvalidInput` naming the file, the field and its line.
Unknown fields are refused: a misspelt ``efective_to`` must not silently leave
the template's date in force.  Two agreements of one vendor that share a state
and a credential over overlapping periods must agree on data elements,
retention and FERPA basis, or a row could be taken in under either with
different rules.

When a template changes, every adoption is resolved again against the new
version (`template_version` records which one) and becomes a new version of
its own where its terms change; the differences are logged.  An adoption may
only list credentials the template lists, and two agreements of one vendor
that share a state may not be in force over overlapping periods.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlmodel import Session, col, select

from agreements.events import AgreementEvent
from agreements.mapping import parse_mapping
from agreements.models import Agreement, AgreementVersion, Vendor
from agreements.store import Reresolved, Stored, store_terms, terms_of
from agreements.terms import Contact, FerpaBasis, Terms
from agreements.vendors import VENDOR_ID
from eventlog.log import EventLog
from kernel.errors import InvalidInput
from kernel.values import STATE_CODE_REASON, USPS_STATES, refusal
from schemas.columns import CANONICAL_COLUMNS, REQUIRED_COLUMNS
from schemas.credentials import CODE, known_codes

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
WHOLE_NUMBER = re.compile(r"[0-9]{1,5}")
MAX_RETENTION_DAYS = 3650
NULL_TAG = "tag:yaml.org,2002:null"
CONTACT_FIELDS = ("name", "email", "role")
# YAML key -> Terms attribute, for the fields whose names differ
RENAMED = {"retention_days_after_termination": "retention_days"}
REQUIRED = (
    "id", "title", "vendor", "states", "effective_from", "effective_to", "credentials",
    "data_elements", "purpose", "ferpa_basis", "retention_days_after_termination",
)  # fmt: skip
OPTIONAL = ("contacts", "connector", "mapping")
CONTROL = ("template", "adopts")
ALLOWED = (*REQUIRED, *OPTIONAL, *CONTROL)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


@dataclass(frozen=True)
class _Document:
    """The top-level fields of one document, as composed nodes, with their lines."""

    source: str
    nodes: dict[str, yaml.Node]
    key_lines: dict[str, int]
    first_line: int

    def line(self, *keys: str) -> int:
        """The line of the first of `keys` this document sets (its first line if none)."""
        return next((self.key_lines[k] for k in keys if k in self.key_lines), self.first_line)

    def error(
        self, key: str, message: str, node: yaml.Node | None = None, *, hint: str | None = None
    ) -> InvalidInput:
        """An error at `node`, or at `key`'s line (an adoption's `adopts` line if it lacks it)."""
        line = _line(node) if node is not None else self.line(key, "adopts")
        return InvalidInput(f"{self.source} line {line}, {key}: {message}", hint=hint)


def _compose(text: str, source: str) -> _Document:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        problem = f"character U+{exc.character:04X} is not allowed ({exc.reason})"
        raise InvalidInput(f"{source} line {line}: not valid YAML: {problem}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = ", ".join(filter(None, (exc.context, exc.problem)))
        raise InvalidInput(f"{source} line {line}: not valid YAML: {problem}") from None
    if root is None:
        raise InvalidInput(f"{source} line 1: the document is empty (see deploy/agreements/)")
    if not isinstance(root, yaml.MappingNode):
        raise InvalidInput(f"{source} line {_line(root)}: an agreement is `field: value` lines")
    nodes: dict[str, yaml.Node] = {}
    key_lines: dict[str, int] = {}
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "(not a name)"
        where = f"{source} line {_line(key_node)}, {key}"
        if key in key_lines:
            raise InvalidInput(f"{where}: repeats line {key_lines[key]}; keep one of them")
        if key not in ALLOWED:
            guess = difflib.get_close_matches(key, ALLOWED, n=1)
            hint = f"did you mean {guess[0]}? " if guess else ""
            raise InvalidInput(f"{where}: unknown field; {hint}allowed: {', '.join(ALLOWED)}")
        nodes[key], key_lines[key] = value_node, _line(key_node)
    return _Document(source, nodes, key_lines, _line(root))


class _Reader:
    """Typed values of one document's fields, each checked where it is written."""

    def __init__(self, doc: _Document, session: Session):
        self.doc = doc
        self.session = session

    def scalar(self, key: str, node: yaml.Node | None = None) -> str:
        # raw text, not YAML 1.1 typing: `NO` stays a string, `2026-07-01` a string to check
        value = self.doc.nodes[key] if node is None else node
        if not isinstance(value, yaml.ScalarNode):
            raise self.doc.error(key, "must be a single value here, not a list or mapping", node)
        return "" if value.tag == NULL_TAG else value.value.strip()

    def text(self, key: str, limit: int = 300) -> str:
        value = self.scalar(key)
        if not value:
            raise self.doc.error(key, "must not be empty")
        if len(value) > limit:
            raise self.doc.error(key, f"is longer than {limit} characters")
        return value

    def items(self, key: str, normal: Callable[[str], str] = str) -> list[tuple[str, yaml.Node]]:
        """A non-empty list of distinct single values, each with its node (for its line)."""
        node = self.doc.nodes[key]
        if not isinstance(node, yaml.SequenceNode):
            raise self.doc.error(key, "must be a list: [A, B] or one `- A` line per value")
        if not node.value:
            raise self.doc.error(key, "must list at least one value")
        found: list[tuple[str, yaml.Node]] = []
        for item in node.value:
            value = normal(self.scalar(key, item))
            earlier = next((_line(n) for v, n in found if v == value), None)
            if earlier is not None:
                raise self.doc.error(key, f"{value} repeats line {earlier}", item)
            found.append((value, item))
        return found

    def ident(self, key: str) -> str:
        value = self.scalar(key)
        if not VENDOR_ID.fullmatch(value):
            raise self.doc.error(
                key, f"{value!r} is not an agreement id: use 2-64 lowercase letters, digits, "
                "'-' or '_', starting with a letter or digit (e.g. tn-nccer-2026)",
            )  # fmt: skip
        return value

    def vendor(self, key: str) -> str:
        value = self.scalar(key)
        if self.session.get(Vendor, value) is None:
            raise self.doc.error(
                key, f"unknown vendor {value!r}: register the vendor first",
                hint=f"`credx vendors add {value} --name NAME` (see `credx vendors list`)",
            )  # fmt: skip
        return value

    def states(self, key: str) -> tuple[str, ...]:
        states = self.items(key, str.upper)
        for value, node in states:
            if value not in USPS_STATES:
                raise self.doc.error(key, refusal(value, STATE_CODE_REASON), node)
        return tuple(value for value, _ in states)

    def credentials(self, key: str) -> tuple[str, ...]:
        codes = self.items(key)
        known = known_codes(self.session)
        for value, node in codes:
            if value not in known:
                shape = "" if CODE.fullmatch(value) else ", nor shaped like one (e.g. ADESK002)"
                message = f"{value} is not in the credential registry{shape}"
                raise self.doc.error(key, message, node)
        return tuple(value for value, _ in codes)

    def data_elements(self, key: str) -> tuple[str, ...]:
        columns = self.items(key)
        for value, node in columns:
            if value not in CANONICAL_COLUMNS:
                choices = ", ".join(CANONICAL_COLUMNS)
                message = f"{value!r} is not a canonical column; choose from {choices}"
                raise self.doc.error(key, message, node)
        names = [value for value, _ in columns]
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            message = f"must include every required column; missing {', '.join(missing)}"
            raise self.doc.error(key, message)
        return tuple(names)

    def day(self, key: str) -> date:
        value = self.scalar(key)
        if not ISO_DATE.fullmatch(value):
            raise self.doc.error(key, f"{value!r} is not a date; write YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.doc.error(key, f"{value} is not a day of the calendar") from None

    def ferpa_basis(self, key: str) -> FerpaBasis:
        value = self.scalar(key)
        if value not in set(FerpaBasis):
            raise self.doc.error(key, f"{value!r} is not one of {', '.join(FerpaBasis)}")
        return FerpaBasis(value)

    def retention(self, key: str) -> int:
        value = self.scalar(key)
        if not WHOLE_NUMBER.fullmatch(value) or int(value) > MAX_RETENTION_DAYS:
            message = f"{value!r} must be a whole number of days from 0 to {MAX_RETENTION_DAYS}"
            raise self.doc.error(key, message)
        return int(value)

    def flag(self, key: str) -> bool:
        value = self.scalar(key).lower()
        if value not in ("true", "false"):
            raise self.doc.error(key, f"{value!r} must be true or false")
        return value == "true"

    def connector(self, key: str) -> str:
        return self.text(key, limit=200)

    def contacts(self, key: str) -> tuple[Contact, ...]:
        node = self.doc.nodes[key]
        if not isinstance(node, yaml.SequenceNode):
            raise self.doc.error(key, "must be a list of {name, email, role} entries")
        return tuple(self.contact(key, item) for item in node.value)

    def contact(self, key: str, node: yaml.Node) -> Contact:
        if not isinstance(node, yaml.MappingNode):
            raise self.doc.error(key, "each contact is a mapping of name, email and role", node)
        fields: dict[str, str | None] = {}
        for name_node, value_node in node.value:
            name = self.scalar(key, name_node)
            if name not in CONTACT_FIELDS or name in fields:
                message = (
                    f"{name!r} is unknown or repeated; a contact has {', '.join(CONTACT_FIELDS)}"
                )
                raise self.doc.error(key, message, name_node)
            fields[name] = self.scalar(key, value_node) or None
        try:
            return Contact(**fields)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise self.doc.error(key, f"{where}: {problem['msg']}", node) from None

    def mapping(self, key: str) -> dict[str, Any]:
        node = self.doc.nodes[key]
        if not isinstance(node, yaml.MappingNode):
            raise self.doc.error(key, "must be a mapping of encoding, columns and defaults")
        try:
            document = yaml.constructor.SafeConstructor().construct_document(node)
        except yaml.YAMLError as exc:
            raise self.doc.error(key, f"cannot be read: {exc}") from None
        headers = document.get("columns")
        if isinstance(headers, dict) and not all(isinstance(h, str) for h in headers):
            raise self.doc.error(key, "every header under columns must be text; quote it")
        parse_mapping(document, f"{self.doc.source} line {self.doc.line(key)}, {key}")
        return document


READERS: dict[str, Callable[[_Reader, str], Any]] = {
    "id": _Reader.ident,
    "title": _Reader.text,
    "vendor": _Reader.vendor,
    "states": _Reader.states,
    "effective_from": _Reader.day,
    "effective_to": _Reader.day,
    "credentials": _Reader.credentials,
    "data_elements": _Reader.data_elements,
    "purpose": lambda reader, key: reader.text(key, limit=10_000),
    "ferpa_basis": _Reader.ferpa_basis,
    "retention_days_after_termination": _Reader.retention,
    "contacts": _Reader.contacts,
    "connector": _Reader.connector,
    "mapping": _Reader.mapping,
}


def parse_document(session: Session, text: str, source: str) -> Terms:
    """The resolved terms of a document, after every check (read-only; stores nothing).

    `source` names the document in error messages (usually its path).
    """
    doc = _compose(text, source)
    reader = _Reader(doc, session)
    fields = {RENAMED.get(k, k): READERS[k](reader, k) for k in doc.nodes if k in READERS}
    is_template = reader.flag("template") if "template" in doc.nodes else False
    if "adopts" in doc.nodes:
        resolved = _adopt(reader, fields, is_template)
    else:
        missing = [key for key in REQUIRED if key not in doc.nodes]
        if missing:
            raise InvalidInput(
                f"{source} line {doc.first_line}, {missing[0]}: required field is missing"
            )
        resolved = {**fields, "is_template": is_template}
    terms = Terms(**resolved)
    _check_dates(doc, terms)
    _check_mapping_columns(doc, terms)
    _check_history(session, doc, terms, text)
    _check_overlaps(session, doc, terms)
    return terms


def apply_document(session: Session, text: str, source: str, actor: str) -> Stored:
    """Check `text` and store it as the agreement's next version (a no-op when unchanged).

    A changed template re-resolves every adoption of it against the new version; each
    adoption whose terms change becomes a new version of its own, with the differences
    in the event log.  An adoption the amendment would make invalid refuses the whole
    apply, naming it."""
    terms = parse_document(session, text, source)
    stored = store_terms(session, terms, document=text, actor=actor)
    if not (terms.is_template and stored.changed):
        return stored
    return replace(stored, adoptions=tuple(_reresolve_adoptions(session, terms, actor)))


def _reresolve_adoptions(session: Session, template: Terms, actor: str) -> list[Reresolved]:
    adoptions = session.exec(
        select(Agreement)
        .where(Agreement.template_id == template.id, col(Agreement.purged_at).is_(None))
        .order_by(col(Agreement.id))
    ).all()
    reached = []
    for adoption in adoptions:
        before = terms_of(adoption)
        current = session.get(AgreementVersion, (adoption.id, adoption.version))
        assert current is not None  # every stored agreement has its current version
        try:
            after = parse_document(session, current.document, f"adoption {adoption.id}")
        except InvalidInput as exc:
            raise InvalidInput(
                f"template {template.id} cannot be amended this way: its adoption {adoption.id} "
                f"would no longer hold ({exc}); amend that adoption first"
            ) from None
        changes = _changes(before, after)
        stored = store_terms(session, after, document=current.document, actor=actor)
        if stored.changed:
            EventLog(session).record(
                AgreementEvent.ADOPTION_RERESOLVED, f"agreement:{adoption.id}", actor,
                template=template.id, template_version=after.template_version,
                version=stored.version, changes=changes,
            )  # fmt: skip
            reached.append(Reresolved(adoption.id, stored.version, changes))
    return reached


def _changes(before: Terms, after: Terms) -> dict[str, list]:
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return {key: [old.get(key), new[key]] for key in new if old.get(key) != new[key]}


def apply_file(session: Session, path: Path, actor: str) -> Stored:
    """`apply_document` on a file; its exact bytes are kept, so `sha256sum` matches history."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return apply_document(session, text, str(path), actor)


def _adopt(reader: _Reader, fields: dict[str, Any], is_template: bool) -> dict[str, Any]:
    """The template's terms with the adoption's fields laid over them."""
    doc = reader.doc
    template_id = reader.ident("adopts")
    if is_template:
        raise doc.error("template", "a document is a template or adopts one, not both")
    for key in ("id", "states"):
        if key not in doc.nodes:
            raise doc.error(
                key, "required field is missing: an adoption names its own id and states"
            )
    if fields["id"] == template_id:
        raise doc.error(
            "id", f"an adoption needs an id of its own, not the template's {template_id}"
        )
    template = reader.session.get(Agreement, template_id)
    if template is None or not template.is_template:
        what = "nothing" if template is None else "an agreement, not a template"
        raise doc.error("adopts", f"{template_id!r} is {what}; apply the template's document first")
    base = terms_of(template)
    outside = [c for c in fields.get("credentials", ()) if c not in base.credentials]
    if outside:
        message = (
            f"{', '.join(outside)} not among template {template_id}'s credentials; an adoption "
            "chooses from the template's list (amend the template to add one)"
        )
        raise doc.error("credentials", message)
    if fields.get("vendor", base.vendor) != base.vendor:
        message = f"{fields['vendor']} is not the vendor of template {template_id} ({base.vendor})"
        raise doc.error("vendor", message)
    for item in doc.nodes["states"].value:
        state = item.value.strip().upper()
        if state not in base.states:
            message = (
                f"{state} is not a member of template {template_id} ({', '.join(base.states)})"
            )
            raise doc.error("states", message, item)
    return {**base.model_dump(), **fields, "template": template_id,
            "template_version": template.version, "is_template": False}  # fmt: skip


def _check_dates(doc: _Document, terms: Terms) -> None:
    start, end = terms.effective_from, terms.effective_to
    if end >= start:
        return
    if "effective_to" in doc.nodes or "effective_from" not in doc.nodes:
        raise doc.error("effective_to", f"{end} is before effective_from {start}")
    raise doc.error("effective_from", f"{start} is after effective_to {end}")


def _check_mapping_columns(doc: _Document, terms: Terms) -> None:
    """A mapping must not feed a column the agreement does not permit."""
    if not terms.mapping:
        return
    targets = {*terms.mapping.get("columns", {}).values(), *terms.mapping.get("defaults", {})}
    outside = sorted(targets - set(terms.data_elements))
    if outside:
        key = "mapping" if "mapping" in doc.nodes else "data_elements"
        message = f"the mapping fills {', '.join(outside)}, which data_elements does not permit"
        raise doc.error(key, message)


def _check_history(session: Session, doc: _Document, terms: Terms, text: str) -> None:
    """A new version may change terms, not what the agreement is or whose it is."""
    current = session.get(Agreement, terms.id)
    if current is None:
        return
    if current.is_template != terms.is_template:
        kind = "a template" if current.is_template else "an agreement, not a template"
        raise doc.error("id", f"{terms.id} is already {kind}; choose another id")
    if current.vendor_id != terms.vendor:
        message = f"{terms.id} is with {current.vendor_id}; a new version cannot change the vendor"
        raise doc.error("vendor", message)
    if current.purged_at is not None and not _is_current(session, current, text):
        message = f"{terms.id}'s data were destroyed on {current.purged_at:%Y-%m-%d}; use a new id"
        raise doc.error("id", message)


def _is_current(session: Session, agreement: Agreement, text: str) -> bool:
    version = session.get(AgreementVersion, (agreement.id, agreement.version))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return version is not None and version.document_sha256 == digest


def _check_overlaps(session: Session, doc: _Document, terms: Terms) -> None:
    """Refuse a second agreement covering the same rows under different rules."""
    if terms.is_template:
        return
    others = session.exec(
        select(Agreement)
        .where(Agreement.vendor_id == terms.vendor, col(Agreement.is_template).is_(False))
        .where(Agreement.id != terms.id, col(Agreement.purged_at).is_(None))
        .where(Agreement.effective_from <= terms.effective_to)
        .where(Agreement.effective_to >= terms.effective_from)
        .order_by(col(Agreement.id))
    )
    for other in others:
        theirs = terms_of(other)
        states = sorted(set(terms.states) & set(theirs.states))
        codes = sorted(set(terms.credentials) & set(theirs.credentials))
        differences = _differences(terms, theirs)
        start = max(terms.effective_from, theirs.effective_from)
        end = min(terms.effective_to, theirs.effective_to)
        if states and codes and differences:
            key, detail = differences[0]
            raise doc.error(
                key, f"conflicts with agreement {other.id}, which also covers {terms.vendor} "
                f"results for {states[0]} {codes[0]} from {start} to {end} but {detail}; "
                "make the terms agree or the periods not overlap",
            )  # fmt: skip
        if states:
            raise doc.error(
                "effective_from" if "effective_from" in doc.nodes else "states",
                f"agreements {terms.id} and {other.id} would both be in force for "
                f"{terms.vendor} in {', '.join(states)} from {start} to {end}; one state has "
                f"one agreement with a vendor at a time: end {other.id} before {terms.id} "
                "begins, or amend it instead",
            )  # fmt: skip


def _differences(mine: Terms, theirs: Terms) -> list[tuple[str, str]]:
    """(YAML field, what differs) for each rule two overlapping agreements must share."""
    found = []
    if set(mine.data_elements) != set(theirs.data_elements):
        only_mine = sorted(set(mine.data_elements) - set(theirs.data_elements))
        only_theirs = sorted(set(theirs.data_elements) - set(mine.data_elements))
        detail = f"permits {_names(only_theirs)} where this has {_names(only_mine)}"
        found.append(("data_elements", detail))
    if mine.retention_days != theirs.retention_days:
        detail = (
            f"keeps data {theirs.retention_days} days after termination, not {mine.retention_days}"
        )
        found.append(("retention_days_after_termination", detail))
    if mine.ferpa_basis != theirs.ferpa_basis:
        found.append(("ferpa_basis", f"rests on {theirs.ferpa_basis}, not {mine.ferpa_basis}"))
    return found


def _names(columns: list[str]) -> str:
    return ", ".join(columns) or "nothing more"
