"""A real, certified OpenID provider (npm `oidc-provider`, Node.js) on loopback for the tests.

`.ci/run` installs it with `npm ci --prefix tests/web/oidc` (pinned in its
package.json and lock file).  Accounts are a JSON file the provider re-reads at
every lookup, so a test can move a person between groups.  `sign_in_at` walks
the provider's own login pages (its development interactions) as a browser
would, with a fresh cookie jar, and returns the redirect back to credx.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from tests.notifications.smtpserver import free_port

HERE = Path(__file__).parent / "oidc"
CALLBACK = "http://testserver/sign-in/oidc/callback"
CLIENTS = [
    {"client_id": "credx", "client_secret": "credx-client-secret-0123456789abcdef",
     "redirect_uris": [CALLBACK], "post_logout_redirect_uris": ["http://testserver/sign-in"]},
    {"client_id": "other-app", "client_secret": "other-client-secret-0123456789abcdef",
     "redirect_uris": ["http://127.0.0.1:9/cb"]},
]  # fmt: skip


@dataclass
class OidcProvider:
    issuer: str
    accounts_file: Path

    def set_account(self, sub: str, **claims) -> None:
        accounts = json.loads(self.accounts_file.read_text())
        accounts[sub] = claims
        self.accounts_file.write_text(json.dumps(accounts))

    def sign_in_at(self, authorize_url: str, sub: str, stop_at: str = "http://testserver") -> str:
        """Log `sub` in at the provider; the URL it finally redirects to under `stop_at`."""
        with httpx.Client(timeout=15) as browser:
            url = authorize_url
            for _ in range(12):
                if url.startswith(stop_at):
                    return url
                answer = browser.get(url)
                if answer.is_redirect:
                    url = urljoin(url, answer.headers["location"])
                    continue
                form = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
                assert form, answer.text[:500]
                action = urljoin(url, form.group(1))
                fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                                         answer.text))  # the form's hidden fields (prompt)
                if fields.get("prompt") == "login" or 'name="login"' in answer.text:
                    fields.update(login=sub, password="any")
                posted = browser.post(action, data=fields)
                assert posted.is_redirect, posted.text[:500]
                url = urljoin(action, posted.headers["location"])
        raise AssertionError("the provider never redirected back")


def node_modules() -> Path:
    installed = HERE / "node_modules" / "oidc-provider"
    assert installed.is_dir(), "run `npm ci --prefix tests/web/oidc` (.ci/run does)"
    return installed


@contextmanager
def running_provider(directory: Path) -> Iterator[OidcProvider]:
    node_modules()
    accounts, clients = directory / "accounts.json", directory / "clients.json"
    accounts.write_text("{}")
    clients.write_text(json.dumps(CLIENTS))
    port = free_port()
    process = subprocess.Popen(["node", str(HERE / "provider.mjs"), str(port), str(accounts),
                                str(clients)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration").is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("oidc-provider did not start")
        yield OidcProvider(issuer, accounts)
    finally:
        process.terminate()
        process.wait(timeout=10)


def query_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"
