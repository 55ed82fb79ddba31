"""Master keys behind one interface: who wraps and unwraps the data keys of blobs.

Two providers implement `KeyProvider`: the local key files (`crypto.KeyRing`,
the default, what `credx init` makes) and AWS KMS (`exchange.kms`, chosen by
`CREDX_KMS_KEY_ID`).  `MasterKeys` puts them together for the vault: new data
keys are wrapped by the configured provider (KMS when set), and a data key
is unwrapped by whichever provider its recorded `master_key_id` names, so a
blob wrapped under a local key file still opens after KMS is switched on,
until `credx keys rotate` re-wraps it under KMS.
"""

from __future__ import annotations

from typing import Protocol

from exchange import crypto
from kernel.errors import CredxError

LOCAL = "local"


class KeyProvider(Protocol):
    """A holder of master keys; a master key never leaves it, only wrapped data keys do."""

    name: str

    def owns(self, key_id: str) -> bool:
        """Whether `key_id` (as recorded on a blob) is one of this provider's keys."""

    def active_id(self) -> str:
        """The key that wraps new data keys."""

    def rotate(self) -> str:
        """Make (or roll to) a new active key; returns its id."""

    def wrap(self, key_id: str, blob_id: str, data_key: bytes) -> bytes: ...

    def unwrap(self, key_id: str, blob_id: str, wrapped: bytes) -> bytes: ...


class LocalKeys:
    """The key files of a `crypto.KeyRing` as a `KeyProvider` (keys read once per vault)."""

    name = LOCAL

    def __init__(self, keyring: crypto.KeyRing):
        self.keyring = keyring
        self._cache: dict[str, bytes] = {}

    def owns(self, key_id: str) -> bool:
        return bool(crypto.KEY_ID.match(key_id))

    def active_id(self) -> str:
        return self.keyring.active_id()

    def rotate(self) -> str:
        return self.keyring.create()

    def _key(self, key_id: str) -> bytes:
        if key_id not in self._cache:
            self._cache[key_id] = self.keyring.get(key_id)
        return self._cache[key_id]

    def wrap(self, key_id: str, blob_id: str, data_key: bytes) -> bytes:
        return crypto.wrap_key(self._key(key_id), blob_id, data_key)

    def unwrap(self, key_id: str, blob_id: str, wrapped: bytes) -> bytes:
        return crypto.unwrap_key(self._key(key_id), blob_id, wrapped)


def master_keys(keyring: crypto.KeyRing, kms: KeyProvider | None = None) -> MasterKeys:
    """KMS (when configured) for new keys, the key files for what they wrapped."""
    local = LocalKeys(keyring)
    return MasterKeys(kms, local) if kms is not None else MasterKeys(local)


class MasterKeys:
    """The configured provider for new keys, and every provider for old ones."""

    def __init__(self, active: KeyProvider, *others: KeyProvider):
        self.active = active
        self.providers = (active, *others)

    def provider_of(self, key_id: str) -> KeyProvider:
        for provider in self.providers:
            if provider.owns(key_id):
                return provider
        raise CredxError(
            f"master key {key_id} belongs to no configured key provider "
            f"({', '.join(p.name for p in self.providers)}); configure the one that holds it"
        )

    def active_id(self) -> str:
        return self.active.active_id()

    def provider_name(self, key_id: str) -> str:
        """The provider holding `key_id`, or "unconfigured" when none of ours does."""
        return next((p.name for p in self.providers if p.owns(key_id)), "unconfigured")

    def wrap(self, blob_id: str, data_key: bytes) -> tuple[str, bytes]:
        """(the active master key's id, the data key wrapped under it)."""
        key_id = self.active.active_id()
        return key_id, self.active.wrap(key_id, blob_id, data_key)

    def unwrap(self, key_id: str, blob_id: str, wrapped: bytes) -> bytes:
        return self.provider_of(key_id).unwrap(key_id, blob_id, wrapped)
