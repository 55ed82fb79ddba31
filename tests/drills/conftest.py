"""Fixtures for the drills: PostgreSQL only where production runs it, S3 over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.s3server import S3Server, running_s3_server

# Production runs PostgreSQL; a drill that is about the server (connections killed,
# many workers) runs there only, and a drill about files runs on both backends.
on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with running_s3_server() as server:
        yield server
