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
- bulk writes (a roster's multi-row INSERT) seal a column at a time with
  `sealer`;
- exam results, the one table of millions of rows, keep a row's six values in
  one *row token* (`seal_rows`, `open_row`: `r1.<key id>.<AES-SIV of the
  values>`, in a BLOB column the model names in `__row_column__`), opened
  into the same attributes when a row loads: a third of the bytes, one
  cipher call a row, and, being deterministic, its own test of an unchanged
  re-sent row.

Equality lookups cannot use a sealed column; they use a blind index column
beside it (`FieldKeys.blind_index`: HMAC-SHA256 under a key of its own).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, ClassVar, Protocol, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from sqlalchemy import Connection, Engine, Text, event
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

from kernel.errors import CredxError

_C = TypeVar("_C")
PREFIX = "s1."
ROW_PREFIX = b"r1."
FIELD_SEPARATOR = "\x1f"  # ASCII unit separator, between a row token's values
SEPARATOR_REFUSED = "a sealed value holds the unit separator (U+001F): refused"
NONCE_BYTES = 12
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

    def row_key_for(self, scope: str) -> tuple[str, AESSIV]:
        """(key id, row-token cipher) of `scope`: derived from its field key, destroyed with it."""

    def row_cipher(self, key_id: str) -> AESSIV | None:
        """The row-token cipher of `key_id`, or None if this installation never had it."""


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
    return _registered(key_id, lambda keys: keys.cipher(key_id))


def _row_cipher(key_id: str) -> AESSIV:
    return _registered(key_id, lambda keys: keys.row_cipher(key_id))


def _registered(key_id: str, find: Callable[[FieldKeys], _C | None]) -> _C:
    # a column type sees no engine: ask each installation this process opened (usually one)
    problem: CredxError | None = None
    for ref in reversed(_all):
        keys: FieldKeys | None = ref()
        try:
            found = find(keys) if keys is not None else None
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


def seal_rows(
    keys: FieldKeys, scope: str, context: str, columns: Sequence[Sequence[object | None]],
    records: Sequence[str],
) -> list[bytes]:  # fmt: skip
    """One row token per row: the row's values of `columns` (in their order) under `scope`,
    bound to its table (`context`) and its record id, for bulk loads and the ORM alike.

    AES-SIV (RFC 5297) is deterministic: the same values of the same record
    under the same key make the same token, so a re-sent row that changed
    nothing is told by its token alone (which reveals that and nothing more:
    the record id is sealed with the values, so equal values of two records
    differ).  Table and record id lead the sealed text rather than being
    associated data, which costs the binding half as much per row; `open_row`
    refuses a token whose leading fields are not its row's.  One call per row
    instead of one per value, and no digest beside it.
    """
    lead = [f"{context}{FIELD_SEPARATOR}{record}" for record in _checked(records)]
    texts = map(FIELD_SEPARATOR.join, zip(lead, *map(_marked, columns), strict=True))
    return seal_row_texts(keys, scope, (text.encode() for text in texts))


def seal_row_texts(keys: FieldKeys, scope: str, texts: Iterable[bytes]) -> list[bytes]:
    """Row tokens of sealed texts made as `seal_rows` makes them: its table, its record id
    and each value marked (`_marked`), joined by `FIELD_SEPARATOR`, UTF-8.  A bulk load
    builds those texts column-wise in Arrow (`exchange.sealed_rows`), which is cheaper
    than joining Python strings row by row."""
    key_id, cipher = keys.row_key_for(scope)
    head, encrypt = ROW_PREFIX + key_id.encode() + b".", cipher.encrypt
    return [head + encrypt(text, None) for text in texts]


def seal_row(keys: FieldKeys, scope: str, context: str, values: Sequence[object | None],
             record: str) -> bytes:  # fmt: skip
    return seal_rows(keys, scope, context, [[value] for value in values], [record])[0]


def _marked(values: Sequence[object | None]) -> Sequence[str]:
    """A column's fields in a row token: "" for None, "=" and the text otherwise."""
    return _checked(["" if v is None else "=" + (v if type(v) is str else str(plain_text(v)))
                     for v in values])  # fmt: skip


def _checked(fields: Sequence[str]) -> Sequence[str]:
    if FIELD_SEPARATOR in "".join(fields):  # one scan per column, not one per value
        raise ValueError(SEPARATOR_REFUSED)
    return fields


def open_row(token: bytes, context: str, record: str) -> list[str | None]:
    """The values a row token holds, in the order they were sealed."""
    key_id, _, body = bytes(token)[len(ROW_PREFIX) :].partition(b".")
    cipher = _row_cipher(key_id.decode())
    try:
        text = cipher.decrypt(body, None).decode()
    except InvalidTag:
        raise KeyDestroyed(
            f"a sealed {context} row does not open under key {key_id.decode()}"
        ) from None
    sealed_context, sealed_record, *fields = text.split(FIELD_SEPARATOR)
    if (sealed_context, sealed_record) != (context, record):
        raise KeyDestroyed(f"a sealed {context} row token belongs to another row: refused")
    return [None if field == "" else field[1:] for field in fields]


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
    # the column holding one row token of all `__sealed__` values (`seal_rows`), for a table
    # so large that one token a row matters; its sealed columns then stay NULL once written
    __row_column__: ClassVar[str | None] = None

    def sealing_scope(self) -> str:
        raise NotImplementedError

    def row_record(self) -> str:
        """The record id a row token is bound to (associated data)."""
        raise NotImplementedError


def _seal_row(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    if not isinstance(target, Sealed) or not target.__sealed__:
        return
    if target.__row_column__:
        _seal_row_token(mapper, connection, target)
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


def _seal_row_token(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    """The row's sealed values into its row token; the sealed columns are written NULL."""
    values = target.__dict__
    if not all(name in values for name in target.__sealed__):
        return  # not loaded (a partial update): the stored token stays as it is
    plain = {name: values[name] for name in target.__sealed__}
    context = table_name(mapper)
    token = seal_row(keys_of(connection.engine), target.sealing_scope(), context,
                     list(plain.values()), target.row_record())  # fmt: skip
    setattr(target, target.__row_column__, token)
    for name in target.__sealed__:
        setattr(target, name, None)
    _pending[id(target)] = plain


def _open_row_token(target: Any, *_: Any) -> None:
    """A loaded row's token opened into its sealed attributes (rows stored before the table
    had row tokens keep their sealed columns, which their column types open)."""
    token = target.__dict__.get(target.__row_column__)
    if token is None:
        return
    opened = opened_values(type(target), token, target.row_record())
    for name, value in zip(target.__sealed__, opened, strict=True):
        set_committed_value(target, name, value)


def opened_values(model: type[Any], token: bytes, record: str) -> list[Any]:
    """A row token of `model` opened into its `__sealed__` attributes' values, typed as the
    ORM reads them (a `SealedDate` as a date): the one way the ORM and bulk readers open it."""
    dates = _date_columns(model)
    values = open_row(token, table_name(model.__mapper__), record)
    return [
        date.fromisoformat(value) if value is not None and name in dates else value
        for name, value in zip(model.__sealed__, values, strict=True)
    ]


def _date_columns(model: type[Any]) -> frozenset[str]:
    if model not in _dates_of:
        columns = model.__table__.columns
        _dates_of[model] = frozenset(c.name for c in columns if isinstance(c.type, SealedDate))
    return _dates_of[model]


_dates_of: dict[type[Any], frozenset[str]] = {}


def table_name(mapper: Mapper[Any]) -> str:
    """A row token's context: the name of the table its model maps."""
    return str(mapper.persist_selectable.name)  # type: ignore[attr-defined]


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
    if model.__row_column__:
        event.listen(model, "load", _open_row_token)
        event.listen(model, "refresh", _open_row_token)
