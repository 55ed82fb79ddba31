"""The state's identity provider as credx knows it: settings, discovery, logout URL.

Kept apart from `web.oidc` (the sign-in routes) so the sign-out page can ask
for the provider's logout URL without importing the routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import Request
from joserfc.jwk import KeySet

from access.federation import RoleMapping, SignInRefused, load_mapping
from exchange.resources import Resources
from kernel.errors import CredxError

ID_TOKEN_COOKIE = "credx_oidc_hint"  # noqa: S105 (a cookie name): the ID token, for logout


@dataclass
class Provider:
    """The configured provider and what its discovery document says."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    mapping: RoleMapping
    metadata: dict[str, Any] | None = None

    def discovered(self) -> dict[str, Any]:
        if self.metadata is None:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            document = httpx.get(url, timeout=15).raise_for_status().json()
            if document.get("issuer") != self.issuer:
                raise SignInRefused("the identity provider's discovery document names another "
                                    "issuer; check CREDX_OIDC_ISSUER")  # fmt: skip
            self.metadata = document
        return self.metadata

    def keys(self) -> KeySet:
        document = httpx.get(self.discovered()["jwks_uri"], timeout=15).raise_for_status().json()
        return KeySet.import_key_set(document)


def configure(app: Resources) -> Provider | None:
    """The provider from settings, its mapping checked now (a bad one stops the start)."""
    settings = app.settings
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_client_id or settings.oidc_client_secret is None:
        raise CredxError("CREDX_OIDC_ISSUER is set: set CREDX_OIDC_CLIENT_ID and "
                         "CREDX_OIDC_CLIENT_SECRET too")  # fmt: skip
    if settings.oidc_mapping_file is None:
        raise CredxError("CREDX_OIDC_ISSUER is set: set CREDX_OIDC_MAPPING_FILE to the "
                         "claims-to-role mapping document")  # fmt: skip
    return Provider(settings.oidc_issuer, settings.oidc_client_id,
                    settings.oidc_client_secret.get_secret_value(), settings.oidc_scopes,
                    load_mapping(settings.oidc_mapping_file))  # fmt: skip


def provider_of(request: Request) -> Provider | None:
    return getattr(request.app.state, "oidc", None)


def logout_url(request: Request, provider: Provider | None) -> str | None:
    """The provider's end-session URL (RP-initiated logout), if it offers one."""
    if provider is None:
        return None
    endpoint = provider.discovered().get("end_session_endpoint")
    if not endpoint:
        return None
    query = {"client_id": provider.client_id,
             "post_logout_redirect_uri": str(request.url_for("sign_in_form"))}  # fmt: skip
    hint = request.cookies.get(ID_TOKEN_COOKIE)
    if hint:
        query["id_token_hint"] = hint
    return f"{endpoint}?{urlencode(query)}"
