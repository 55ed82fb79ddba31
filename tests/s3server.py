"""S3 over HTTP for tests: moto's server on loopback, reached by boto3 through `endpoint_url`.

No in-process mocking: the code under test builds its own boto3 clients and
talks HTTP to a real (if emulated) S3 endpoint, exactly as it would to AWS or
MinIO.  The environment gets dummy credentials and is cut off from the
developer's own AWS configuration, so a test can never reach a real account.

Use `running_s3_server()` from a session-scoped fixture (it cannot move into
conftest.py from here; tests/exchange/test_s3.py wraps it).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import pytest
from botocore.client import BaseClient
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
DUMMY_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": "/nonexistent/credx-test/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credx-test/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
CLEARED = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def client(self) -> BaseClient:
        """A test-side client, for arranging objects and checking what the code did."""
        return boto3.session.Session(region_name=REGION).client(
            "s3", endpoint_url=self.endpoint_url
        )

    def new_bucket(self, client: BaseClient | None = None) -> str:
        """An empty bucket of its own for each test, so tests share the server, not state."""
        name = f"credx-{uuid.uuid4().hex[:16]}"
        (client or self.client()).create_bucket(Bucket=name)
        return name


@contextmanager
def running_s3_server() -> Iterator[S3Server]:
    """moto's S3 on 127.0.0.1 at a free port, with dummy credentials in the environment."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    with pytest.MonkeyPatch.context() as patch:
        for name in CLEARED:
            patch.delenv(name, raising=False)
        for name, value in DUMMY_ENVIRONMENT.items():
            patch.setenv(name, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield S3Server(endpoint_url=f"http://{host}:{port}")
        finally:
            server.stop()
