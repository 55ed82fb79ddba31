"""Database sessions for web requests.

Requests run concurrently.  On SQLite each web transaction begins IMMEDIATE
(takes the single write lock when it starts, waiting its turn) because nearly
every request reads and then writes (an event, a token's last use); PostgreSQL
ignores the option.  Uploads keep their transaction short by doing the slow
work (decode, encrypt) before their first statement.

A request is one `kernel.database.unit_of_work`: services never commit, and
a refusal's event (a refused upload, finding or answer) is the one write
that outlives a failed request.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import lru_cache

from sqlalchemy import Engine
from sqlmodel import Session

from exchange.resources import Resources
from kernel.database import unit_of_work


@lru_cache(maxsize=8)
def _immediate(engine: Engine) -> Engine:
    return engine.execution_options(sqlite_begin="IMMEDIATE")


def web_engine(app: Resources) -> Engine:
    return _immediate(app.engine)


def web_session(app: Resources) -> AbstractContextManager[Session]:
    return unit_of_work(web_engine(app))
