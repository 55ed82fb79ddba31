"""A real SMTP server on loopback (aiosmtpd) that requires STARTTLS, for the tests.

Its certificate is self-signed for 127.0.0.1 and written to `ca_file`, which the
client is told to trust (`CREDX_SMTP_CA_FILE`), so the TLS handshake is real.
`hold_seconds` delays the answer to DATA after the message is recorded: a
worker killed in that window has delivered a message it never hears accepted.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    rcpt: list[str]
    message: Message
    tls: bool


@dataclass
class Handler:
    messages: list[Received] = field(default_factory=list)
    hold_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        import asyncio

        received = Received(list(envelope.rcpt_tos), message_from_bytes(envelope.content),
                            session.ssl is not None)  # fmt: skip
        with self.lock:
            self.messages.append(received)
        if self.hold_seconds:
            await asyncio.sleep(self.hold_seconds)
        return "250 OK"


@dataclass
class SmtpServer:
    url: str
    ca_file: Path
    handler: Handler

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.messages.clear()
        self.handler.hold_seconds = 0.0

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.handler.messages) >= count:
                break
            time.sleep(0.05)
        return list(self.handler.messages)


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = directory / "smtp.pem", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_file, key_file


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_smtp_server(directory: Path) -> Iterator[SmtpServer]:
    cert_file, key_file = self_signed(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True)  # fmt: skip
    controller.start()
    try:
        yield SmtpServer(f"smtp://127.0.0.1:{port}", cert_file, handler)
    finally:
        controller.stop()
