"""Decoding hostile files in a separate, limited process, so the server's memory never depends
on what an upload inflates to.

Every decoder that reads an uploaded file (Pillow, PDFium, pypdf, zipfile) runs through
`Sandbox.run`: a fresh child forked from a fork server that has the decoders already
imported, with an address-space limit (`RLIMIT_AS`, counted on top of what the fork server
itself maps), a CPU-time limit (`RLIMIT_CPU`) and a wall-clock timeout after which the
child is killed.  One child per decode: nothing a hostile file leaves behind (a corrupted
heap, a half-initialised library) can reach the next upload.  At most `workers` children
run at once; at most `queue` more decodes wait, and beyond that the upload is refused as
busy (503) rather than queued without bound.

A breach is an `EvidenceRefused`: 413 when the decoder ran out of its memory,
422 when it ran out of time; the upload service records the refusal's event.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from exchange.evidence.refusals import EvidenceRefused

if TYPE_CHECKING:  # not imported in the fork server: pydantic's settings are 25 MB there
    from kernel.settings import Settings

# Imported once, in the fork server: a child imports nothing (pydantic's settings alone
# would cost a fifth of a second per upload).  The decoders themselves (Pillow, pypdf, PDFium,
# through `previews` and `pdfs`) are loaded here and only here: the web process never
# imports them.
PRELOAD = [
    "exchange.evidence.sandbox",
    "exchange.evidence.decoding",
    "exchange.evidence.previews",
    "exchange.evidence.pdfs",
    "exchange.evidence.archives",
]


@dataclass(frozen=True)
class SandboxLimits:
    """What one decode may use; all are settings (`upload_sandbox_*`)."""

    memory_bytes: int
    cpu_seconds: int
    wall_seconds: float
    workers: int
    queue: int

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxLimits:
        return cls(
            settings.upload_sandbox_memory_mb << 20,
            settings.upload_sandbox_cpu_seconds,
            settings.upload_sandbox_timeout_seconds,
            settings.upload_decode_concurrency,
            settings.upload_sandbox_queue,
        )


def out_of_memory() -> EvidenceRefused:
    return EvidenceRefused(
        "the file needs more memory to decode than credx allows (a decompression bomb?): scan "
        "or export the certificate again at 300 dpi",
        code="decode_memory_limit",
    )


def out_of_time() -> EvidenceRefused:
    return EvidenceRefused(
        "the file takes longer to decode than credx allows (a decompression bomb?): scan or "
        "export the certificate again at 300 dpi",
        code="decode_time_limit",
    )


def busy() -> EvidenceRefused:
    return EvidenceRefused(
        "too many uploads are being checked right now: try again in a minute",
        code="decoders_busy",
    )


class Sandbox:
    """A bounded queue in front of at most `limits.workers` limited decoder processes."""

    def __init__(self, limits: SandboxLimits):
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.workers)
        self._lock = threading.Lock()
        self._waiting = 0

    def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)` in a limited child; its `EvidenceRefused` is raised here."""
        with self._lock:
            if self._waiting >= self.limits.workers + self.limits.queue:
                raise busy()
            self._waiting += 1
        try:
            with self._slots:
                return self._in_child(function, args)
        finally:
            with self._lock:
                self._waiting -= 1

    def _in_child(self, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        context = _context()
        receive, send = context.Pipe(duplex=False)
        limits = (self.limits.memory_bytes, self.limits.cpu_seconds)
        child = context.Process(target=_child, args=(send, limits, function, args), daemon=True)
        child.start()
        send.close()
        try:
            if not receive.poll(self.limits.wall_seconds):
                raise out_of_time()
            outcome = receive.recv()
        except EOFError:  # the child died: killed by the CPU limit, or crashed out of memory
            child.join(5)
            raise out_of_time() if child.exitcode == -signal.SIGXCPU else out_of_memory() from None
        finally:
            if child.is_alive():
                child.kill()
            child.join()
            receive.close()
        return _result(outcome)


def _result(outcome: tuple[Any, ...]) -> Any:
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind == "refused":
        _, message, code, field = outcome
        raise EvidenceRefused(message, code=code, field=field)
    raise (
        out_of_memory()
        if kind == "memory"
        else EvidenceRefused(
            "the file could not be decoded (damaged, incomplete or disguised): scan or export it "
            "again",
            code="damaged_file",
        )
    )


def _child(
    send: Connection, limits: tuple[int, int], function: Callable[..., Any], args: tuple
) -> None:
    memory, cpu = limits
    ceiling = _mapped_bytes() + memory
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        outcome: tuple[Any, ...] = ("ok", function(*args))
    except EvidenceRefused as refusal:
        outcome = ("refused", str(refusal), refusal.code, refusal.field or "file")
    except MemoryError:
        outcome = ("memory",)
    except Exception:  # a decoder failing on hostile input: a refusal, never a crash
        outcome = ("failed",)
    send.send(outcome)
    send.close()


def _mapped_bytes() -> int:
    """This process's address space now (the fork server's libraries and heap)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


_context_lock = threading.Lock()
_sandboxes: dict[SandboxLimits, Sandbox] = {}


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def warm_up() -> None:
    """Start the fork server now (it imports the decoders once, a second or two), so the
    first upload a server takes does not wait for it."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def sandbox_for(limits: SandboxLimits) -> Sandbox:
    """The process's one sandbox for these limits (so the queue and the slots are shared)."""
    with _context_lock:
        return _sandboxes.setdefault(limits, Sandbox(limits))
