"""Field-level encryption of student identifiers in the database, transparent to the ORM.

A sealed column (`SealedText`, `SealedDate`) stores a token, never the
value: `s1.<key id>.<base64url(nonce | AES-256-GCM ciphertext)>`, the column
name as associated data (a token copied into another column does not open).
Its data key belongs to a *scope*: the row's agreement (per state and
vendor where no agreement applies), so destroying that one key
(`FieldKeys.destroy`) makes every copy of those rows unreadable, backups
included.  The keys are not in the database: an installation's `FieldKeys`
(`exchange.fieldkeys`) keeps them beside the master keys, wrapped by them.

Code reads and writes the plain attribute names as before:

- reads: the column type opens tokens in memory (any key a registered
  `FieldKeys` holds); a value that is not a token (a row written before the
  migration sealed it) reads as it is;
- ORM writes: a mapper event seals the values of a row whose class names
  its scope (`__sealing_scope__`), using the `FieldKeys` registered for the
  session's engine (`register`), and puts the plain values back after the
  flush;
- bulk writes (ingest's COPY / multi-row INSERT) seal a column at a time with
  `seal_many` (the same tokens, far less Python per value).

Equality lookups cannot use a sealed column; they use a blind index column
beside it (`FieldKeys.blind_index`: HMAC-SHA256 under a key of its own).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import weakref
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, ClassVar, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, Text, event
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

from kernel.errors import CredxError

PREFIX = "s1."
NONCE_BYTES = 12
_URL_SAFE = bytes.maketrans(b"+/", b"-_")
_INNER_PAD = bytes(x ^ 0x36 for x in range(256))  # RFC 2104's ipad and opad, as byte maps
_OUTER_PAD = bytes(x ^ 0x5C for x in range(256))


class KeyDestroyed(CredxError):
    """The value's data key was destroyed (its agreement was purged): it cannot be read."""

    code = "key_destroyed"
    http_status = 410


class FieldKeys(Protocol):
    """Where a process finds the data keys of sealed values (`exchange.fieldkeys`)."""

    def key_for(self, scope: str) -> tuple[str, AESGCM]:
        """(key id, cipher) of `scope`, made on first use."""

    def cipher(self, key_id: str) -> AESGCM | None:
        """The cipher of `key_id`, or None if this installation never had it."""

    def destroyed(self, key_id: str) -> bool: ...

    def exists(self, scope: str) -> bool: ...

    def destroy(self, scope: str) -> bool:
        """Crypto-shred `scope`: its values become unreadable everywhere; True if it existed."""

    def blind_index(self, value: str | None) -> str | None: ...

    def blind_indexes(self, values: Sequence[str | None]) -> list[str | None]:
        """`blind_index` of each value, for bulk loads."""

    def blind_mac(self) -> Callable[[bytes], bytes]:
        """The MAC behind `blind_index`, for bytes already normalised (trimmed, upper case)."""

    def key_id(self, scope: str) -> str: ...


# keyed by the engine's pool: `engine.execution_options(...)` copies share it
_by_pool: weakref.WeakKeyDictionary[Any, FieldKeys] = weakref.WeakKeyDictionary()
_all: list[weakref.ReferenceType[Any]] = []


def register(engine: Engine, keys: FieldKeys) -> None:
    """Make `keys` the field keys of `engine`'s sessions (the composition root does this)."""
    _by_pool[engine.pool] = keys
    _all.append(weakref.ref(keys))


def keys_of(bind: Engine | Connection) -> FieldKeys:
    """The field keys registered for an engine (or a connection of it, or a session's bind)."""
    try:
        return _by_pool[bind.engine.pool]
    except KeyError:
        raise RuntimeError("no field keys registered for this engine") from None


def _cipher(key_id: str) -> AESGCM:
    # a column type sees no engine: ask each installation this process opened (usually one)
    problem: CredxError | None = None
    for ref in reversed(_all):
        keys: FieldKeys | None = ref()
        try:
            found = keys.cipher(key_id) if keys is not None else None
        except CredxError as exc:  # its master key is elsewhere (e.g. only in KMS)
            problem = problem or exc
            continue
        if found is not None:
            return found
    if problem is not None:
        raise problem
    raise KeyDestroyed(
        f"field key {key_id} was destroyed (its agreement's data were purged) or is not in "
        "this installation's keys directory: the value cannot be read"
    )


def seal(cipher: AESGCM, key_id: str, column: str, value: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = cipher.encrypt(nonce, value.encode(), column.encode())
    return f"{PREFIX}{key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"


def sealer(keys: FieldKeys, scope: str, column: str) -> Callable[[str | None], str | None]:
    """A function sealing many values of one column under one scope (for bulk loads)."""
    key_id, cipher = keys.key_for(scope)
    encrypt = cipher.encrypt
    aad = column.encode()
    head = f"{PREFIX}{key_id}."
    token_bytes = secrets.token_bytes
    encode = base64.urlsafe_b64encode

    def one(value: str | None) -> str | None:
        if value is None:
            return None
        nonce = token_bytes(12)
        raw = encode(nonce + encrypt(nonce, value.encode(), aad))
        return head + raw.decode().rstrip("=")

    return one


def seal_many(
    keys: FieldKeys, scope: str, column: str, values: Sequence[object | None]
) -> list[str | None]:
    """Seal one column's values under one scope: the tokens `seal` makes, for bulk loads.

    Per value, `seal` spends more on Python than on AES-GCM (a `secrets` call
    for the nonce, base64 with its alphabet swap, string building).  Here the
    nonces of the whole column come from one `os.urandom` call, 12 fresh random
    bytes per value exactly as `seal` draws them (a 96-bit random nonce never
    depends on a counter or on other processes, so forked sealers cannot repeat
    one); base64 runs in C per value and the URL-safe alphabet and the padding
    are fixed once for the whole column.  None stays None; other values are
    sealed as their text.
    """
    key_id, cipher = keys.key_for(scope)
    encrypt, aad, b2a = cipher.encrypt, column.encode(), binascii.b2a_base64
    present = [str(value).encode() for value in values if value is not None]
    if not present:
        return [None] * len(values)
    pool = os.urandom(NONCE_BYTES * len(present))
    raw = []
    for start, plain in zip(range(0, len(pool), NONCE_BYTES), present, strict=True):
        nonce = pool[start : start + NONCE_BYTES]
        raw.append(b2a(nonce + encrypt(nonce, plain, aad), newline=False))
    joined = b"\n".join(raw).translate(_URL_SAFE, b"=").decode("ascii")
    head = f"{PREFIX}{key_id}."
    bodies = iter(joined.split("\n"))
    if len(present) == len(values):
        return [head + body for body in bodies]
    return [None if value is None else head + next(bodies) for value in values]


def hmac_sha256(key: bytes) -> Callable[[bytes], bytes]:
    """HMAC-SHA256 under one key, for the many short messages of a bulk load (RFC 2104).

    `hmac.digest` sets the key up again for every message, which costs more than
    hashing a blind-index value.  Here the inner and outer hash states of the padded
    key are made once and copied per message, as the standard library's own
    pure-Python HMAC does: the same MAC, in less than half the time.
    """
    if len(key) > hashlib.sha256().block_size:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(hashlib.sha256().block_size, b"\0")
    inner, outer = (
        hashlib.sha256(padded.translate(_INNER_PAD)),
        hashlib.sha256(padded.translate(_OUTER_PAD)),
    )

    def mac(message: bytes) -> bytes:
        first = inner.copy()
        first.update(message)
        second = outer.copy()
        second.update(first.digest())
        return second.digest()

    return mac


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def unseal(token: str, column: str) -> str:
    key_id, _, body = token[len(PREFIX) :].partition(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    try:
        return _cipher(key_id).decrypt(raw[:12], raw[12:], column.encode()).decode()
    except InvalidTag:
        raise KeyDestroyed(f"a sealed {column} value does not open under key {key_id}") from None


class SealedText(TypeDecorator[str]):
    """Text stored sealed; read back in clear (see the module docstring)."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str):
        super().__init__()
        self.column = column

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None or is_sealed(value):
            return str(value) if value is not None else None
        raise ValueError(
            f"{self.column} must be sealed before it is written (a sealed model's mapper "
            "event, or `kernel.sealing.sealer` for bulk loads)"
        )

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None or not is_sealed(value):
            return value
        return unseal(value, self.column)


class SealedDate(SealedText):
    """A date stored sealed as ISO text."""

    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        text = super().process_result_value(value, dialect)
        return date.fromisoformat(text) if isinstance(text, str) else text


def plain_text(value: Any) -> str | None:
    """How a value is sealed: dates as ISO text, the rest as their text."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


class Sealed:
    """Mixin for a model with sealed columns: it says which scope a row's key belongs to."""

    __sealed__: ClassVar[tuple[str, ...]] = ()
    # blind index column -> the sealed column it indexes, filled in on write
    __blind__: ClassVar[dict[str, str]] = {}

    def sealing_scope(self) -> str:
        raise NotImplementedError


def _seal_row(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    if not isinstance(target, Sealed) or not target.__sealed__:
        return
    keys = keys_of(connection.engine)
    key_id, cipher = keys.key_for(target.sealing_scope())
    plain: dict[str, Any] = {}
    for index, source in target.__blind__.items():
        value = target.__dict__.get(source)
        if value is not None and not is_sealed(value):
            setattr(target, index, keys.blind_index(plain_text(value)))
    for name in target.__sealed__:
        value = target.__dict__.get(name)
        if value is None or is_sealed(value):
            continue
        plain[name] = value
        setattr(target, name, seal(cipher, key_id, name, plain_text(value) or ""))
    _pending[id(target)] = plain


def _restore_row(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    for name, value in _pending.pop(id(target), {}).items():
        set_committed_value(target, name, value)


_pending: dict[int, dict[str, Any]] = {}


def install_events(model: type[Any]) -> None:
    """Seal `model`'s rows on ORM insert and update (each sealed model calls this once)."""
    for before in ("before_insert", "before_update"):
        event.listen(model, before, _seal_row)
    for after in ("after_insert", "after_update"):
        event.listen(model, after, _restore_row)
