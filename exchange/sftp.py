"""Pulling a vendor's nightly files from its SFTP server (`SftpSource`, a `FileSource`).

Trust: the server's host key is pinned by its `SHA256:` fingerprint (as
`ssh-keygen -lf` prints it).  paramiko hands us the key after the key
exchange, when the server has proved it holds the key, and before we
authenticate, so an impostor never even sees which key we log in with.  No
known_hosts file is read and nothing is ever added to one: the pin is the only
way a server is accepted.  Login is by private key only (no agent, no
password).

Ready: a file still being uploaded must not be taken.  Without a sidecar a
file is ready when its size and mtime are the same in two listings
`stable_seconds` apart; with `sidecar: done` when `NAME.done` exists; with
`sidecar: sha256` when `NAME.sha256` exists, whose digest the download must
then match.

Downloads keep up to `max_requests` reads in flight (`ReadPipeline`), like
OpenSSH's own client.  paramiko's `SFTPFile.prefetch(max_concurrent_requests=)`
is not used: its bounded mode has a race (paramiko PR #2519, open in 4.0) in
which a reader that drains every outstanding request during the prefetch
thread's 10 ms nap makes paramiko conclude the prefetch is over; it then
falls back to one synchronous 32 KiB request per round trip while the rest
of the file keeps arriving into buffers nobody reads.  Measured on loopback
with this connector's defaults (64 requests of 32 KiB) the fallback came
after 3-4 MB on every run: about 80 MB/s, with 198 MB buffered in memory for
a 200 MB file.

Time: connect, banner and auth timeouts, a read timeout on the SFTP channel,
keepalives, and a deadline for the whole pull (`pull_deadline`) that our own
clock checks enforce and a watchdog backs up by closing the connection,
because a blocked paramiko read does not always notice a dead peer.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import logging
import os
import posixpath
import re
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import paramiko

from exchange.connectors import SftpSettings
from exchange.sources import PARTIAL_SUFFIXES, RemoteFile, SourceError, SourceRefused
from exchange.ssh import (
    SAFE_READ_SIZE,
    HostKeyRefused,
    PinnedHostKey,
    ReadPipeline,
    RemoteChanged,
    SftpTransport,
    key_algorithms,
)

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

log = logging.getLogger("credx.sftp")
T = TypeVar("T")

# OpenSSH's sftp-server serves reads up to 255 KiB and its own client asks for that much;
# servers that cap lower answer short, and the pipeline then asks for the rest.
READ_SIZE = 255 * 1024
MAX_IN_FLIGHT = 64 * 1024 * 1024  # bytes requested but not yet read: bounds memory
MAX_PACKET = 256 * 1024  # lets a 255 KiB read arrive in one SSH packet
# The channel window: how much the server may send ahead of our reads.  OpenSSH's client uses
# 2 MiB.  Larger is slower with paramiko, not faster: its channel buffer is an array.array
# that shifts all buffered bytes on every read, so a 32 MiB window fell from ~300 to ~200
# MB/s on loopback.  4 MiB still allows 40 MB/s at 100 ms round trip.
WINDOW_SIZE = 4 * 1024 * 1024
KEEPALIVE_SECONDS = 15
IO_TIMEOUT = 60.0  # no byte for this long on the SFTP channel: the connection is dead
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
SIDECAR_SUFFIXES = (".done", ".sha256")
SIDECAR_MAX_BYTES = 4096
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
# what a dropped or stalled connection raises, whatever state paramiko's threads are in
DROPPED = (paramiko.SSHException, EOFError, ConnectionError, TimeoutError)


class SftpSource:
    """A vendor's SFTP directory as a `FileSource`; use it as `with source:`.

    `sleep` and `clock` are injectable so tests can act between the two listings of the
    stability check and control time; `backoff` is the first retry delay (doubling).
    """

    def __init__(
        self,
        settings: SftpSettings,
        *,
        label: str | None = None,
        read_size: int = READ_SIZE,
        io_timeout: float = IO_TIMEOUT,
        backoff: float = BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.where = f"{settings.username}@{settings.host}:{settings.port}"
        self.label = label or f"sftp:{self.where}:{settings.directory}"
        self._read_size = max(SAFE_READ_SIZE, read_size)
        self._depth = max(1, min(settings.max_requests, MAX_IN_FLIGHT // self._read_size))
        self._io_timeout, self._backoff = io_timeout, backoff
        self._sleep, self._clock = sleep, clock
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._deadline = float("inf")
        self._expired = False
        self._watchdog: threading.Timer | None = None

    # -- connection ---------------------------------------------------------------------

    def __enter__(self) -> SftpSource:
        self._deadline = self._clock() + self.settings.pull_deadline
        self._expired = False
        self._watchdog = threading.Timer(self.settings.pull_deadline, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()
        try:
            self._with_retries("connect", lambda: None)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._disconnect()

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            self._check_deadline()  # the watchdog closed it
            raise RuntimeError("SftpSource is used inside `with source:` only")
        return self._sftp

    def _expire(self) -> None:
        """Watchdog: unblock any read by closing the connection; callers then see the flag."""
        self._expired = True
        self._disconnect()

    def _check_deadline(self) -> None:
        if self._expired or self._clock() >= self._deadline:
            raise SourceError(
                f"the pull from {self.where} ran past its pull_deadline of "
                f"{self.settings.pull_deadline:g} s and was stopped; nothing partial was kept"
            )

    def _alive(self) -> bool:
        transport = self._client.get_transport() if self._client else None
        sftp = self._sftp
        return bool(transport and transport.is_active() and sftp and not sftp.sock.closed)

    def _disconnect(self) -> None:
        client, self._client, self._sftp = self._client, None, None
        if client is not None:
            with suppress(*DROPPED, OSError):
                client.close()

    def _connect(self) -> None:
        """Connect, accepting only a pinned host key.  A server offering several keys shows
        one per handshake (paramiko prefers Ed25519), so when the offered key is not
        pinned the handshake is tried again without that key type, until a pinned key is
        offered or none is left: an RSA pin works without `algorithms`."""
        disabled = {k: list(v) for k, v in (self.settings.algorithms or {}).items()}
        refused: HostKeyRefused | None = None
        for _attempt in range(4):
            try:
                return self._connect_once(disabled)
            except HostKeyRefused as exc:
                refused = refused or exc
                if not exc.key_name:
                    break
                disabled["keys"] = [*disabled.get("keys", []), *key_algorithms(exc.key_name)]
            except paramiko.SSHException as exc:  # no host-key type left in common
                if refused is None or "ncompatible" not in str(exc):
                    raise
                break
        assert refused is not None
        raise refused

    def _connect_once(self, disabled: dict[str, list[str]]) -> None:
        settings = self.settings
        key = self._private_key()
        client = paramiko.SSHClient()  # no known_hosts loaded: the pin below decides
        client.set_missing_host_key_policy(PinnedHostKey(settings.host_key, self.where))
        try:
            client.connect(
                settings.host, settings.port, settings.username, pkey=key, sock=self._socket(),
                allow_agent=False, look_for_keys=False, timeout=settings.connect_timeout,
                banner_timeout=settings.connect_timeout, auth_timeout=settings.connect_timeout,
                channel_timeout=settings.connect_timeout,
                disabled_algorithms=disabled or None,
                transport_factory=functools.partial(SftpTransport,
                    default_window_size=WINDOW_SIZE, default_max_packet_size=MAX_PACKET),
            )  # fmt: skip
            client.get_transport().set_keepalive(KEEPALIVE_SECONDS)
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(self._io_timeout)
        except paramiko.AuthenticationException:
            client.close()
            raise SourceRefused(
                f"{self.where} refused our key {settings.key_file}: the vendor must install its "
                f"public half for user {settings.username}"
            ) from None
        except BaseException:
            client.close()
            raise
        self._client, self._sftp = client, sftp

    def _socket(self) -> socket.socket:
        sock = socket.create_connection(
            (self.settings.host, self.settings.port), timeout=self.settings.connect_timeout
        )
        # requests are small packets sent while data streams in: don't let Nagle hold them
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _private_key(self) -> paramiko.PKey:
        path, variable = self.settings.key_file, self.settings.key_passphrase_env
        passphrase = None
        if variable:
            value = os.environ.get(variable)
            if value is None:
                raise SourceError(f"key_passphrase_env names {variable}, which is not set")
            passphrase = value.encode("utf-8")  # the key loader wants bytes
        try:
            return paramiko.PKey.from_path(path, passphrase=passphrase)
        except paramiko.PasswordRequiredException:
            raise SourceError(
                f"the private key {path} is passphrase-protected: set key_passphrase_env"
            ) from None
        except OSError as exc:
            raise SourceError(f"cannot read the private key {path}: {exc.strerror}") from None
        except (paramiko.SSHException, paramiko.UnknownKeyType, ValueError):
            raise SourceError(
                f"{path} is not a usable private key (Ed25519 or RSA), or its passphrase is wrong"
            ) from None

    def _with_retries(self, what: str, action: Callable[[], T]) -> T:
        """Run `action` on a live connection, reconnecting after a dropped or stalled one
        with exponential backoff, up to `retries` times.  An SFTP refusal on a live
        connection (no such file, permission denied) and any `SourceError` are final."""
        attempt = 0
        while True:
            self._check_deadline()
            try:
                if not self._alive():
                    self._disconnect()
                    self._connect()
                return action()
            except SourceError:
                raise
            except (*DROPPED, OSError) as exc:
                self._check_deadline()  # the watchdog's close looks like a dropped line
                if not isinstance(exc, DROPPED) and self._alive():
                    # an SFTP refusal (no such file, permission denied) or a local disk error
                    raise SourceError(f"could not {what} on {self.where}: {exc}") from exc
                attempt += 1
                self._give_up_or_wait(what, attempt, exc)
            except paramiko.SFTPError as exc:
                raise SourceError(f"could not {what} on {self.where}: {exc}") from exc

    def _give_up_or_wait(self, what: str, attempt: int, exc: BaseException) -> None:
        self._disconnect()
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if attempt > self.settings.retries:
            raise SourceError(
                f"could not {what} on {self.where}: the connection failed {attempt} times, "
                f"last with {reason}; nothing partial was kept"
            ) from exc
        delay = min(self._backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
        if self._clock() + delay >= self._deadline:
            self._expired = True  # no retry could finish in time
            self._check_deadline()
        log.warning("sftp %s: %s failed (%s); retry %d in %.1f s", self.where, what, reason,
                    attempt, delay)  # fmt: skip
        self._sleep(delay)

    # -- listing --------------------------------------------------------------------------

    def ready_files(self) -> list[RemoteFile]:
        """Files matching `pattern` that are complete by the connector's rule, by name."""
        listing = self._with_retries("list " + self.settings.directory, self._listing)
        candidates = sorted(name for name in listing if self._is_candidate(name))
        if self.settings.sidecar == "none":
            return self._stable(listing, candidates)
        return self._gated(listing, candidates)

    def _listing(self) -> dict[str, paramiko.SFTPAttributes]:
        """Regular files (never links, directories or hidden files) of the directory."""
        return {
            entry.filename: entry
            for entry in self.sftp.listdir_attr(self.settings.directory)
            if entry.st_mode is not None and stat.S_ISREG(entry.st_mode)
            and _safe_name(entry.filename)
        }  # fmt: skip

    def _is_candidate(self, name: str) -> bool:
        return (
            not name.endswith(PARTIAL_SUFFIXES)
            and not name.endswith(SIDECAR_SUFFIXES)
            and fnmatch.fnmatchcase(name, self.settings.pattern)  # case-sensitive, like the server
        )

    def _stable(
        self, first: dict[str, paramiko.SFTPAttributes], names: list[str]
    ) -> list[RemoteFile]:
        if self.settings.stable_seconds == 0 or not names:
            return [_remote_file(first[name]) for name in names]
        self._sleep(self.settings.stable_seconds)
        second = self._with_retries("list " + self.settings.directory, self._listing)
        return [
            _remote_file(second[name])
            for name in names
            if name in second and _same_file(first[name], second[name])
        ]

    def _gated(
        self, listing: dict[str, paramiko.SFTPAttributes], names: list[str]
    ) -> list[RemoteFile]:
        suffix = "." + self.settings.sidecar
        ready = []
        for name in names:
            if name + suffix not in listing:
                continue
            digest = None
            if self.settings.sidecar == "sha256":
                read = functools.partial(self._digest, name)
                digest = self._with_retries(f"read {name}{suffix}", read)
                if digest is None:
                    continue
            ready.append(_remote_file(listing[name], digest))
        return ready

    def _digest(self, name: str) -> str | None:
        """The hex digest a `NAME.sha256` sidecar starts with (`sha256sum` format works)."""
        with self.sftp.open(self._path(name + ".sha256"), "rb") as handle:
            text = handle.read(SIDECAR_MAX_BYTES).decode("ascii", errors="replace")
        token = text.split(maxsplit=1)[0] if text.strip() else ""
        if not SHA256_HEX.fullmatch(token):
            log.warning("sftp %s: %s.sha256 holds no SHA-256 hex digest; %s is not taken",
                        self.where, name, name)  # fmt: skip
            return None
        return token.lower()

    # -- download --------------------------------------------------------------------------

    def fetch(self, item: RemoteFile, directory: Path) -> Path:
        """A verified copy of `item` in `directory` under a name of our own (never the
        vendor's).  Checked: same size and mtime as listed before and after the download,
        every byte received, and the sidecar's SHA-256 when there is one.  A dropped
        connection is retried from the start; any failure raises `SourceError` and leaves
        no file behind."""
        descriptor, name = tempfile.mkstemp(prefix="sftp-", suffix=".part", dir=directory)
        os.close(descriptor)
        partial = Path(name)
        try:
            digest = self._with_retries(
                f"download {item.name}", lambda: self._download(item, partial)
            )
            if item.sha256 and digest != item.sha256:
                raise SourceRefused(
                    f"{item.name} from {self.where} does not match its {item.name}.sha256 "
                    "sidecar; it was not taken and the vendor's copy was left as it is"
                )
            final = partial.with_suffix("")
            os.replace(partial, final)
            return final
        except RemoteChanged as exc:
            partial.unlink(missing_ok=True)
            raise SourceError(
                f"{item.name} on {self.where} changed while it was being taken ({exc}); it is "
                "taken on a later pull once it is complete"
            ) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def _download(self, item: RemoteFile, partial: Path) -> str | None:
        """One attempt: the whole file into `partial`; returns its SHA-256 when there is a
        sidecar to check it against (the vault hashes every delivery anyway, so hashing
        here too would only cost time)."""
        digest = hashlib.sha256() if item.sha256 else None
        with self.sftp.open(self._path(item.name), "rb") as handle:
            try:
                _check_unchanged(item, handle.stat())
                self._copy(handle, item.size, partial, digest)
                _check_unchanged(item, handle.stat())
            except DROPPED:
                # close our end first: closing the remote handle would wait on a dead server
                self._disconnect()
                raise
        received = partial.stat().st_size
        if received != item.size:
            raise RemoteChanged(f"{received} bytes arrived, the listing said {item.size}")
        return digest.hexdigest() if digest else None

    def _copy(
        self, handle: paramiko.SFTPFile, size: int, partial: Path, digest: Hash | None
    ) -> None:
        pipeline = ReadPipeline(self.sftp, handle.handle, size, self._read_size, self._depth)
        with open(partial, "wb") as out:
            for data in pipeline.chunks():
                self._check_deadline()
                out.write(data)
                if digest:
                    digest.update(data)

    # -- after commit ----------------------------------------------------------------------

    def committed(self, item: RemoteFile) -> None:
        """The post-action, now that credx holds its own copy: leave, move to
        `processed_dir`, or delete; sidecars go with the file.  A file the vendor replaced
        since we listed it is left alone (it is a new delivery)."""
        if self.settings.post_action != "leave":
            self._with_retries(f"clean up {item.name}", lambda: self._post_action(item))

    def _post_action(self, item: RemoteFile) -> None:
        # Sidecars go first, and also when the file itself is already gone (a retry after a
        # dropped connection): a stale NAME.done left behind would mark the vendor's next
        # NAME ready while it is still being uploaded.
        sidecars = [item.name + suffix for suffix in SIDECAR_SUFFIXES]
        try:
            current = self.sftp.stat(self._path(item.name))
        except FileNotFoundError:
            self._remove(sidecars)
            return
        if not _same_as_listed(item, current):
            log.warning("sftp %s: %s changed since it was pulled; left in place",
                        self.where, item.name)  # fmt: skip
            return
        if self.settings.post_action == "delete":
            self._remove([*sidecars, item.name])
            return
        folder = self._processed_folder()
        target = self._free_name(folder, item)
        for name in [*sidecars, item.name]:
            with suppress(FileNotFoundError):
                moved = target + name[len(item.name) :]
                self.sftp.rename(self._path(name), posixpath.join(folder, moved))

    def _remove(self, names: list[str]) -> None:
        for name in names:
            with suppress(FileNotFoundError):
                self.sftp.remove(self._path(name))

    def _processed_folder(self) -> str:
        """`processed_dir` (relative to `directory`), created level by level if missing."""
        folder = posixpath.join(self.settings.directory, self.settings.processed_dir)
        try:
            attrs = self.sftp.stat(folder)
        except FileNotFoundError:
            self._make_folders(folder)
            return folder
        if not stat.S_ISDIR(attrs.st_mode or 0):
            raise SourceError(f"processed_dir {folder} on {self.where} is not a directory")
        return folder

    def _make_folders(self, folder: str) -> None:
        parent = posixpath.dirname(folder.rstrip("/"))
        if parent and parent != folder:
            try:
                self.sftp.stat(parent)
            except FileNotFoundError:
                self._make_folders(parent)
        self.sftp.mkdir(folder)

    def _free_name(self, folder: str, item: RemoteFile) -> str:
        """`NAME`, or `NAME.MTIME[-N]` when a vendor reuses a name night after night: SFTP
        rename never overwrites, and an earlier night's file is not ours to destroy."""
        for candidate in _names_for(item):
            try:
                self.sftp.lstat(posixpath.join(folder, candidate))
            except FileNotFoundError:
                return candidate
        raise SourceError(f"{folder} on {self.where} has too many files named {item.name}")

    def _path(self, name: str) -> str:
        if not _safe_name(name):
            raise SourceError(f"refusing remote file name {name!r}")
        return posixpath.join(self.settings.directory, name)


def _names_for(item: RemoteFile) -> Iterator[str]:
    yield item.name
    yield f"{item.name}.{item.version}"
    for n in range(2, 100):
        yield f"{item.name}.{item.version}-{n}"


def _safe_name(name: str) -> bool:
    """A plain, visible file name: never a path, a parent reference or a hidden file."""
    return bool(name) and not name.startswith(".") and "/" not in name and "\x00" not in name


def _remote_file(attrs: paramiko.SFTPAttributes, sha256: str | None = None) -> RemoteFile:
    mtime = attrs.st_mtime or 0
    return RemoteFile(attrs.filename, attrs.st_size or 0, float(mtime), str(mtime), sha256)


def _same_file(a: paramiko.SFTPAttributes, b: paramiko.SFTPAttributes) -> bool:
    return (a.st_size, a.st_mtime) == (b.st_size, b.st_mtime)


def _same_as_listed(item: RemoteFile, attrs: paramiko.SFTPAttributes) -> bool:
    return attrs.st_size == item.size and str(attrs.st_mtime or 0) == item.version


def _check_unchanged(item: RemoteFile, attrs: paramiko.SFTPAttributes) -> None:
    if not _same_as_listed(item, attrs):
        raise RemoteChanged(
            f"it is now {attrs.st_size} bytes with mtime {attrs.st_mtime}, the listing said "
            f"{item.size} bytes with mtime {item.version}"
        )
