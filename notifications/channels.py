"""Sending one outbox row: email over SMTP, or a signed webhook.

Email: `CREDX_SMTP_URL` is `smtp://[user:password@]host[:port]` (STARTTLS is
required: credx never sends a mail or a password in the clear, except to a
loopback server when the URL says `?starttls=false`), or `smtps://` for TLS
from the first byte.  `CREDX_SMTP_CA_FILE` trusts a private CA.

Webhook: a JSON POST with `X-Credx-Timestamp` (Unix seconds) and
`X-Credx-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under
CREDX_WEBHOOK_SECRET>`.  A receiver recomputes it, refuses a timestamp older
than five minutes, and drops an `id` it has seen (a retry carries the same id).
Any answer other than 2xx is a failed attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from notifications.models import OutboxMessage

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TIMEOUT = 30


class DeliveryFailed(Exception):
    """One attempt failed; the message says why without secrets (it is stored and logged)."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def email_of(row: OutboxMessage, sender: str) -> EmailMessage:
    body = json.loads(row.body)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, row.recipient, row.subject
    message["Message-ID"] = f"<{row.id}@credx>"
    message["X-Credx-Notification-Id"] = row.id
    message["X-Credx-Kind"] = row.kind
    message.set_content(body["text"])
    return message


def send_email(row: OutboxMessage, smtp_url: str, sender: str, ca_file: str | None) -> None:
    url = urlsplit(smtp_url)
    host, options = url.hostname or "", parse_qs(url.query)
    context = ssl.create_default_context(cafile=ca_file)
    starttls = options.get("starttls", ["true"])[0] != "false"
    if not starttls and host not in LOOPBACK:
        raise DeliveryFailed("STARTTLS may be turned off only for a loopback SMTP server")
    try:
        if url.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, url.port or 465, timeout=TIMEOUT,
                                                    context=context)  # fmt: skip
        else:
            client = smtplib.SMTP(host, url.port or 587, timeout=TIMEOUT)
        with client:
            if url.scheme == "smtp" and starttls:
                client.starttls(context=context)
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(email_of(row, sender))
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP {host}: {type(exc).__name__}: {_short(exc)}") from None


def send_webhook(row: OutboxMessage, secret: str) -> None:
    body = json.loads(row.body)
    payload = json.dumps({"id": row.id, "kind": row.kind, "subject": row.subject,
                          "link": body["link"], "data": body["data"],
                          "created_at": row.created_at.isoformat()},
                         separators=(",", ":")).encode()  # fmt: skip
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Credx-Timestamp": timestamp,
               "X-Credx-Signature": signature(secret, timestamp, payload),
               "X-Credx-Notification-Id": row.id}  # fmt: skip
    try:
        answer = httpx.post(row.recipient, content=payload, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"webhook: {type(exc).__name__}") from None
    if not answer.is_success:
        raise DeliveryFailed(f"webhook answered {answer.status_code}")


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else ""
