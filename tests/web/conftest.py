"""The web app under test: the real ASGI app over httpx (Starlette's TestClient)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from web.app import create_app


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(create_app(app), base_url="http://testserver") as test_client:
        yield test_client
