"""Bulk inserts (`exchange.bulk.insert_columns`): every row lands whole and in its columns,
whatever the batch size against the rows a statement holds, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa

from credx.app import App
from exchange import bulk


@pytest.fixture
def scratch(app: App):
    table = sa.Table(
        "bulk_scratch", sa.MetaData(),
        sa.Column("n", sa.Integer, primary_key=True), sa.Column("word", sa.Text),
        sa.Column("score", sa.Float), sa.Column("raw", sa.LargeBinary),
    )  # fmt: skip
    table.create(app.engine)
    yield table
    table.drop(app.engine)


@pytest.mark.parametrize(
    "count", [1, bulk.SQLITE_ROWS_PER_STATEMENT, 2 * bulk.SQLITE_ROWS_PER_STATEMENT + 7]
)
def test_every_row_lands_in_its_own_columns(app: App, scratch: sa.Table, count: int):
    data = {
        "n": list(range(count)),
        "word": [None if n % 5 == 0 else f"w{n}" for n in range(count)],
        "score": [n / 4 for n in range(count)],
        "raw": [bytes([n % 256]) * 3 for n in range(count)],
    }
    with app.engine.begin() as connection:
        assert bulk.insert_columns(connection, scratch, data) == count
        stored = connection.execute(sa.select(scratch).order_by(scratch.c.n)).all()
    assert [tuple(row) for row in stored] == list(
        zip(data["n"], data["word"], data["score"], data["raw"], strict=True)
    )


def test_columns_of_unequal_length_are_refused_before_anything_is_written(
    app: App, scratch: sa.Table
):
    with app.engine.begin() as connection, pytest.raises(ValueError, match="unequal"):
        bulk.insert_columns(connection, scratch, {"n": [1, 2], "word": ["a"]})
    with app.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(scratch)).scalar() == 0


def test_blobs_made_bytearrays_are_stored_as_the_bytes_they_hold(app: App, scratch: sa.Table):
    tokens = [b"r1.k." + bytes(range(n, n + 40)) for n in range(3)]
    data = {"n": [0, 1, 2], "raw": bulk.as_blobs(tokens)}
    with app.engine.begin() as connection:
        bulk.insert_columns(connection, scratch, data)
        stored = connection.execute(sa.select(scratch.c.raw).order_by(scratch.c.n)).scalars()
        assert [bytes(value) for value in stored] == tokens
        matched = sa.select(sa.func.count()).where(scratch.c.raw == tokens[1])
        assert connection.execute(matched).scalar() == 1  # a BLOB, compared as bytes compare


def test_a_load_on_sqlite_has_its_write_ahead_log_synced_as_it_grows(
    app: App, scratch: sa.Table, monkeypatch
):
    synced: list[str] = []
    real_sync = os.fdatasync

    def recorded_sync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_sync(descriptor)

    monkeypatch.setattr(bulk.os, "fdatasync", recorded_sync)
    with app.engine.begin() as connection, bulk.wal_synced_ahead(connection, every=0.01):
        bulk.insert_columns(connection, scratch, {"n": list(range(2000)), "word": ["w"] * 2000})
        time.sleep(0.2)
    calls = len(synced)
    time.sleep(0.05)
    assert len(synced) == calls  # it stops with the load
    if app.engine.dialect.name == "sqlite":
        assert calls and all(path.endswith(".db-wal") for path in synced)
    else:
        assert synced == []  # PostgreSQL writes its own log
