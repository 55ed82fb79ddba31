"""The append-only, hash-chained event log table."""

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import kernel.database  # noqa: F401


class Event(SQLModel, table=True):
    """One entry of the event log; also the FERPA record of disclosures.

    `occurred_at` and `payload` are stored as the exact strings that were
    hashed, so verification never depends on how a backend round-trips types.
    `prev_hash` is unique: two writers can never fork the chain.
    """

    __tablename__ = "events"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    occurred_at: str = Field(max_length=40)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100, index=True)
    subject: str = Field(max_length=200, index=True)
    payload: str = Field(sa_type=sa.Text)
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)
