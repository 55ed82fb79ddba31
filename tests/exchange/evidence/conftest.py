"""Fixtures of the badge tests: one loopback issuer per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.exchange.evidence.issuer import LoopbackIssuer, running_issuer


@pytest.fixture(scope="module")
def served() -> Iterator[LoopbackIssuer]:
    with running_issuer() as issuer:
        yield issuer


@pytest.fixture
def issuer(served: LoopbackIssuer) -> LoopbackIssuer:
    """The module's issuer with its request log emptied, so a test sees only its own fetches."""
    served.requests.clear()
    return served
