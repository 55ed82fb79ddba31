"""One SMTP server and one webhook receiver for every notification test (session-scoped)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from credx.app import App
from tests.notifications.receiver import Receiver, running_receiver
from tests.notifications.smtpserver import SmtpServer, running_smtp_server

WEBHOOK_SECRET = "whsec-test-0123456789"


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory) -> Iterator[SmtpServer]:
    with running_smtp_server(tmp_path_factory.mktemp("smtp")) as server:
        yield server


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def notifying(settings, smtp_server, receiver) -> Iterator[App]:
    """An installation that mails through the test SMTP server and posts to the receiver."""
    smtp_server.clear()
    receiver.clear()
    configured = settings.model_copy(update=notify_settings(smtp_server, receiver))
    application = App(configured)
    application.keyring.ensure()
    yield application
    application.engine.dispose()


def notify_settings(smtp_server: SmtpServer, receiver: Receiver) -> dict:
    from pydantic import SecretStr

    return {"smtp_url": SecretStr(smtp_server.url), "smtp_ca_file": str(smtp_server.ca_file),
            "mail_from": "credx@agency.example", "webhook_url": receiver.url,
            "webhook_secret": SecretStr(WEBHOOK_SECRET), "notify_backoff_seconds": 1,
            "public_url": "https://credx.agency.example"}  # fmt: skip
