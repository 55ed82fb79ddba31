"""Field keys: the data keys of sealed database values, one per scope, kept out of the database.

The key hierarchy: a master key (a local key file, or an AWS KMS key)
wraps each scope's 256-bit field key; the field key seals the student values
of that scope (`kernel.sealing`).  Scopes: `agreement:<id>` for exam results
loaded under an agreement, `delivery:<id>` for the raw values a delivery's
rejected rows quote, `unassigned:<state>` for rows no agreement holds.

Each wrapped field key is a file `<keys dir>/fields/<key id>.json` (0600),
not a database row: a database backup never holds a key, so destroying
the file (`destroy`, when a purge has committed) leaves the scope's values
unreadable in every backup of the database.  Key ids are an HMAC of the
scope under this installation's salt, so they say nothing about the scope
and never collide between installations.  A second key, `bidx`, makes blind
indexes (HMAC-SHA256) for the equality lookups sealed columns cannot serve.
An exam result's row token is sealed under an AES-SIV key derived from its
scope's field key (HKDF-SHA256, `ROW_KEY_INFO`): never stored, gone with it.

Unwrapped keys are cached in memory, but a purge may destroy a key in another
process (`credx agreements purge`, the worker) while this one (`credx serve`)
holds it.  So a cached key is trusted for at most `RECHECK_SECONDS`; after that
its next use checks that its file still exists (one `stat`) and forgets the key
if it does not.  A purge in another process therefore stops this one opening the
destroyed scope's values within `RECHECK_SECONDS` (on a network filesystem, plus
its attribute-cache time), without a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from exchange.keys import MasterKeys
from kernel.sealing import hmac_sha256

SALT_FILE = "salt"
# what a scope's row-token key (AES-256-SIV, 512 bits) is derived from its field key for
ROW_KEY_INFO = b"credx row token v1"
BLIND_INDEX_SCOPE = "credx:blind-index"


class FieldKeyStore:
    """Field keys of one installation, cached in memory once unwrapped (see the module
    docstring for how long a cached key outlives its destruction elsewhere)."""

    # seconds a cached key is used without checking its file still exists: the bound on how
    # long another process's purge goes unnoticed (docs/operator/threat-model.md)
    RECHECK_SECONDS = 1.0

    def __init__(self, directory: Path, master: MasterKeys):
        self.directory = directory
        self.master = master
        self._ciphers: dict[str, AESGCM] = {}
        self._row_ciphers: dict[str, AESSIV] = {}
        self._seen: dict[str, float] = {}  # key id -> when its file was last known to exist
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()
        self._bidx: Callable[[bytes], bytes] | None = None

    # kernel.sealing.FieldKeys ----------------------------------------------------------
    def key_for(self, scope: str) -> tuple[str, AESGCM]:
        key_id = self.key_id(scope)
        cipher = self.cipher(key_id)
        if cipher is None:
            cipher = AESGCM(self._create(key_id, scope))
            self._ciphers[key_id] = cipher
            self._seen[key_id] = time.monotonic()
        return key_id, cipher

    def cipher(self, key_id: str) -> AESGCM | None:
        cached = self._ciphers.get(key_id)
        if cached is not None and self._still_there(key_id):
            return cached
        raw = self._load(key_id)
        if raw is None:
            self._forget(key_id)
            return None
        self._ciphers[key_id] = cipher = AESGCM(raw)
        self._seen[key_id] = time.monotonic()
        return cipher

    def row_key_for(self, scope: str) -> tuple[str, AESSIV]:
        key_id, _ = self.key_for(scope)
        cipher = self.row_cipher(key_id)
        assert cipher is not None  # key_for has just made or found the field key
        return key_id, cipher

    def row_cipher(self, key_id: str) -> AESSIV | None:
        """The row-token cipher of a field key: derived from it, so it lives and dies with it
        (the field key's own checks decide whether it still exists)."""
        if self.cipher(key_id) is None:
            return None
        cached = self._row_ciphers.get(key_id)
        if cached is None:
            raw = self._load(key_id)
            if raw is None:
                self._forget(key_id)
                return None
            derive = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=ROW_KEY_INFO)
            self._row_ciphers[key_id] = cached = AESSIV(derive.derive(raw))
        return cached

    def _still_there(self, key_id: str) -> bool:
        """Whether a cached key may be used: seen within RECHECK_SECONDS, or its file exists
        now (a purge in another process deletes it)."""
        now = time.monotonic()
        if now - self._seen.get(key_id, float("-inf")) < self.RECHECK_SECONDS:
            return True
        if not self._path(key_id).exists():
            self._forget(key_id)
            return False
        self._seen[key_id] = now
        return True

    def _forget(self, key_id: str) -> None:
        self._ciphers.pop(key_id, None)
        self._row_ciphers.pop(key_id, None)
        self._seen.pop(key_id, None)

    def destroyed(self, key_id: str) -> bool:
        return not self._path(key_id).exists()

    # the rest --------------------------------------------------------------------------
    def key_id(self, scope: str) -> str:
        if scope not in self._ids:
            digest = hmac.new(self._salt(), scope.encode(), hashlib.sha256).hexdigest()
            self._ids[scope] = digest[:20]
        return self._ids[scope]

    def exists(self, scope: str) -> bool:
        return self._path(self.key_id(scope)).exists()

    def destroy(self, scope: str) -> bool:
        """Crypto-shred a scope: delete its wrapped key; True if there was one."""
        key_id = self.key_id(scope)
        self._forget(key_id)
        path = self._path(key_id)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def blind_index(self, value: str | None) -> str | None:
        """HMAC-SHA256 of a normalised value (trimmed, upper case), hex, 32 characters."""
        return self.blind_indexes([value])[0]

    def blind_indexes(self, values: Sequence[str | None]) -> list[str | None]:
        """`blind_index` of each value; the key is looked up once (bulk loads)."""
        mac = self.blind_mac()
        out: list[str | None] = []
        for value in values:
            normal = None if value is None else str(value).strip()
            out.append(mac(normal.upper().encode()).hex()[:32] if normal else None)
        return out

    def blind_mac(self) -> Callable[[bytes], bytes]:
        """The blind index's MAC over already normalised bytes (row digests)."""
        if self._bidx is None:
            self._bidx = hmac_sha256(self.key_for_raw(BLIND_INDEX_SCOPE))
        return self._bidx

    def key_for_raw(self, scope: str) -> bytes:
        key_id = self.key_id(scope)
        return self._load(key_id) or self._create(key_id, scope)

    def holders(self) -> list[dict[str, object]]:
        """Which master key (and provider) wraps the field keys, and how many each."""
        counts: dict[str, int] = {}
        for path in self.directory.glob("*.json"):
            master_id = json.loads(path.read_text())["master_key_id"]
            counts[master_id] = counts.get(master_id, 0) + 1
        return [
            {"key_id": key_id, "provider": self.master.provider_name(key_id), "field_keys": n,
             "active": key_id == self.master.active_id()}
            for key_id, n in sorted(counts.items())
        ]  # fmt: skip

    def rewrap(self) -> int:
        """Re-wrap every field key under the active master key (`credx keys rotate`)."""
        count = 0
        for path in sorted(self.directory.glob("*.json")):
            record = json.loads(path.read_text())
            raw = self._unwrap(path.stem, record)
            self._write(path.stem, record["scope"], raw, replace=True)
            count += 1
        return count

    def _salt(self) -> bytes:
        path = self.directory / SALT_FILE
        if not path.exists():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return path.read_bytes()
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
        return path.read_bytes()

    def _path(self, key_id: str) -> Path:
        return self.directory / f"{key_id}.json"

    def _load(self, key_id: str) -> bytes | None:
        try:
            record = json.loads(self._path(key_id).read_text())
        except FileNotFoundError:
            return None
        return self._unwrap(key_id, record)

    def _unwrap(self, key_id: str, record: dict) -> bytes:
        wrapped = base64.b64decode(record["wrapped"])
        return self.master.unwrap(record["master_key_id"], f"field-{key_id}", wrapped)

    def _create(self, key_id: str, scope: str) -> bytes:
        with self._lock:
            existing = self._load(key_id)
            if existing is not None:
                return existing
            raw = AESGCM.generate_key(bit_length=256)
            if not self._write(key_id, scope, raw, replace=False):
                loaded = self._load(key_id)  # another process made it first
                assert loaded is not None
                return loaded
            return raw

    def _write(self, key_id: str, scope: str, raw: bytes, *, replace: bool) -> bool:
        master_id, wrapped = self.master.wrap(f"field-{key_id}", raw)
        record = {"scope": scope, "master_key_id": master_id,
                  "wrapped": base64.b64encode(wrapped).decode()}  # fmt: skip
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(key_id)
        temp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp, path)
            return True
        try:
            os.link(temp, path)  # fails if it exists: never overwrite a key
        except FileExistsError:
            return False
        finally:
            temp.unlink(missing_ok=True)
        return True
