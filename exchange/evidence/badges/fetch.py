"""Fetching issuer documents without becoming an SSRF proxy.

A badge names URLs; an attacker writes badges.  So credx fetches only from
issuers the operator listed in `CREDX_BADGE_TRUSTED_ISSUERS`, over https (plain
http only to an explicitly listed loopback address), with a short timeout, a
size cap, no cookies or proxy credentials from the environment, and redirects
followed only within the same origin.
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from kernel.settings import Settings

log = logging.getLogger("credx.badges")

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_MAX_REDIRECTS = 3


class FetchError(Exception):
    """A document could not be fetched; the message names the URL and why (no secrets)."""


class NotTrusted(FetchError):
    """The URL or DID is outside `CREDX_BADGE_TRUSTED_ISSUERS`; nothing was fetched."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The system's trust store, loaded once (building a context costs tens of ms)."""
    return ssl.create_default_context()


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port); a URL that does not parse has an origin nothing matches."""
    try:
        parts = urlsplit(url)
        default = {"https": 443, "http": 80}.get(parts.scheme)
        return parts.scheme, (parts.hostname or "").lower(), parts.port or default
    except ValueError:
        return "", "", None


def _under(url: str, prefix: str) -> bool:
    """True when `url` is `prefix` or below it: same origin, path prefix at a segment edge."""
    if not _origin(url)[1] or _origin(url) != _origin(prefix) or urlsplit(url).username:
        return False
    base = urlsplit(prefix).path.rstrip("/")
    path = urlsplit(url).path
    if _has_dot_segments(path):  # httpx sends `/a/../b` as `/b`: the raw path would lie
        return False
    return not base or path == base or path.startswith(base + "/")


def _has_dot_segments(path: str) -> bool:
    """`.` or `..` segments, written plainly or percent-encoded (`%2e%2E`), or `\\`."""
    decoded = unquote(path)
    return "\\" in decoded or any(part in (".", "..") for part in decoded.split("/"))


def did_web_url(did: str, scheme: str = "https") -> str:
    """The did.json URL of a did:web DID (W3C did:web method, section 3.2.1)."""
    parts = did.split("#", 1)[0].split(":")
    if len(parts) < 3 or parts[:2] != ["did", "web"] or not parts[2]:
        raise FetchError(f"{did!r} is not a did:web identifier")
    host = unquote(parts[2])
    if "/" in host or "@" in host:
        raise FetchError(f"{did!r} is not a did:web identifier")
    path = "/".join(unquote(p) for p in parts[3:])
    return (
        f"{scheme}://{host}/{path}/did.json" if path else f"{scheme}://{host}/.well-known/did.json"
    )


class TrustedFetcher:
    """Fetches JSON or JWT documents from the operator's trusted issuers only."""

    def __init__(self, settings: Settings) -> None:
        self.trusted = list(settings.badge_trusted_issuers)
        self.max_bytes = settings.badge_max_bytes
        self.timeout = settings.badge_fetch_timeout_seconds

    def trusts_did(self, did: str) -> bool:
        did = did.split("#", 1)[0]
        dids = (e for e in self.trusted if e.startswith("did:"))
        return any(did == e or did.startswith(e + ":") for e in dids)

    def trusts_url(self, url: str) -> bool:
        if _origin(url)[0] not in ("https", "http"):
            return False
        return any(_under(url, e) for e in self.trusted if not e.startswith("did:"))

    def did_document_url(self, did: str) -> str:
        """Where to fetch a did:web document, refusing DIDs outside the trusted list."""
        https = did_web_url(did)
        if self.trusts_did(did) or self.trusts_url(https):
            return https
        plain = did_web_url(did, scheme="http")
        if _origin(plain)[1] in _LOOPBACK and self.trusts_url(plain):
            return plain
        raise NotTrusted(did.split("#", 1)[0])

    def get(self, url: str, *, via_did: str | None = None) -> bytes:
        """The body of `url` (200 only), at most `badge_max_bytes`, within the timeout."""
        if not (self.trusts_url(url) or (via_did and self.trusts_did(via_did))):
            raise NotTrusted(url)
        if urlsplit(url).scheme != "https" and _origin(url)[1] not in _LOOPBACK:
            raise NotTrusted(url)
        deadline = time.monotonic() + self.timeout
        with httpx.Client(
            timeout=self.timeout, follow_redirects=False, trust_env=False, verify=_tls_context()
        ) as client:
            for _ in range(_MAX_REDIRECTS + 1):
                body, location = self._get_once(client, url, deadline)
                if location is None:
                    return body
                target = urljoin(url, location)
                if _origin(target) != _origin(url):
                    raise FetchError(f"{url} redirects to another host ({_origin(target)[1]})")
                if not (self.trusts_url(target) or (via_did and self.trusts_did(via_did))):
                    raise NotTrusted(target)  # same host, but outside the trusted path
                url = target
        raise FetchError(f"{url} redirects too many times")

    def _get_once(
        self, client: httpx.Client, url: str, deadline: float
    ) -> tuple[bytes, str | None]:
        headers = {
            "Accept": "application/json, application/jwt, */*;q=0.1",
            "Accept-Encoding": "identity",
        }  # no decompression of hostile bodies
        try:
            with client.stream("GET", url, headers=headers) as response:
                if response.is_redirect:
                    return b"", response.headers.get("location", "")
                if response.status_code != 200:
                    raise FetchError(f"{url} answered HTTP {response.status_code}")
                return self._read_capped(response, url, deadline), None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            log.info("badge fetch failed: %s (%s)", url, type(exc).__name__)
            raise FetchError(f"{url} could not be reached ({type(exc).__name__})") from exc

    def _read_capped(self, response: httpx.Response, url: str, deadline: float) -> bytes:
        body = bytearray()
        for chunk in response.iter_raw():
            body += chunk
            if len(body) > self.max_bytes:
                raise FetchError(f"{url} is larger than {self.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"{url} took longer than {self.timeout:g} s")
        return bytes(body)
