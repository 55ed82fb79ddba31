"""Persons, the source records linked to them, runs, the review queue, decisions.

No table here holds a name or a birth date: a person is an id and a state;
what a person *is* lives in the source records (`person_records` points at
them by source type and key), so purging a source record leaves nothing
behind but an id.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import kernel.database  # noqa: F401  (naming convention before any table)
from kernel.clock import utcnow


def _now() -> datetime:
    return utcnow()


class Person(SQLModel, table=True):
    """One student, as linked.  `retired_at` is set when merged away or split up."""

    __tablename__ = "persons"

    id: str = Field(primary_key=True, max_length=24)
    state: str = Field(max_length=2, index=True)
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    created_run_id: int | None = Field(default=None)
    retired_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class PersonRecord(SQLModel, table=True):
    """Which person a source record belongs to (source type `exam`: delivery:row)."""

    __tablename__ = "person_records"

    source_type: str = Field(primary_key=True, max_length=20)
    source_key: str = Field(primary_key=True, max_length=100)
    person_id: str = Field(foreign_key="persons.id", index=True, max_length=24)
    state: str = Field(max_length=2, index=True)
    run_id: int = Field(foreign_key="link_runs.id")
    linked_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class PersonAlias(SQLModel, table=True):
    """A retired person id and the id that now stands for it (merged or split)."""

    __tablename__ = "person_aliases"

    old_id: str = Field(primary_key=True, max_length=24)
    person_id: str = Field(foreign_key="persons.id", index=True, max_length=24)
    reason: str = Field(max_length=10)  # merged | split
    run_id: int = Field(foreign_key="link_runs.id")
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class LinkModelDocument(SQLModel, table=True):
    """A trained model (`linkage.model.LinkModel` JSON), kept so a run can be repeated."""

    __tablename__ = "link_models"

    version: str = Field(primary_key=True, max_length=16)
    document: str = Field(sa_type=sa.Text)
    inputs_sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class LinkRun(SQLModel, table=True):
    """One linkage of one state's records (`full` or `incremental`)."""

    __tablename__ = "link_runs"

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(max_length=2, index=True)
    kind: str = Field(max_length=12)
    engine: str = Field(max_length=10)
    model_version: str = Field(foreign_key="link_models.version", max_length=16)
    started_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    records: int = 0
    persons: int = 0
    review_pairs: int = 0
    flagged_clusters: int = 0
    actor: str = Field(max_length=200)


class ReviewPair(SQLModel, table=True):
    """Two records a run would not decide alone; an operator says same or different."""

    __tablename__ = "review_pairs"
    # the open backlog per state (dashboard, metrics, review list) from the index alone
    __table_args__ = (sa.Index("ix_review_pairs_backlog", "status", "state", "run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(max_length=2, index=True)
    run_id: int = Field(foreign_key="link_runs.id")
    record_l: str = Field(max_length=130)
    record_r: str = Field(max_length=130)
    match_probability: float
    match_weight: float
    reason: str = Field(max_length=30)
    status: str = Field(default="open", max_length=10)  # open|decided|stale
    decision: str | None = Field(default=None, max_length=10)  # same|different
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    note: str | None = Field(default=None, sa_type=sa.Text)


class LinkConstraint(SQLModel, table=True):
    """A reviewer's decision every later run honours: must_link or cannot_link."""

    __tablename__ = "link_constraints"
    __table_args__ = (sa.UniqueConstraint("record_l", "record_r"),)

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(max_length=2, index=True)
    kind: str = Field(max_length=12)
    record_l: str = Field(max_length=130, index=True)
    record_r: str = Field(max_length=130, index=True)
    review_pair_id: int | None = Field(default=None, foreign_key="review_pairs.id")
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
