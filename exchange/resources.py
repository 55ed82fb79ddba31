"""What a service needs from the running process, as an interface.

The composition root (`credx.app.App`) builds the engine, blob store, key
ring and vault for a CLI command, web process or worker; services see only
this protocol, so no domain module imports the shell.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine
from sqlmodel import Session

from exchange.crypto import KeyRing
from exchange.storage import BlobStore
from exchange.vault import Vault
from kernel.settings import Settings


class Resources(Protocol):
    """Settings and the process-wide handles built from them."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def store(self) -> BlobStore: ...

    @property
    def keyring(self) -> KeyRing: ...

    def vault(self, session: Session) -> Vault: ...
