"""Turning an HTTP upload into a service call: receive, then work off the event loop.

Shared by the API and the pages.  The body is streamed to temp files (see
`web.multipart`), the service runs in a worker thread under the app's
capacity limiter, and the temp files are removed whatever happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio
from fastapi import Request

from web.errors import ApiError
from web.multipart import BODY_OVERHEAD, ReceivedForm, receive_form

T = TypeVar("T")
log = logging.getLogger("credx.web")


def upload_spool(home: Path) -> Path:
    """Where request bodies are streamed before a service takes them (mode 0700)."""
    spool = home / "tmp" / "uploads"
    spool.mkdir(parents=True, exist_ok=True, mode=0o700)
    return spool


def purge_spool(home: Path) -> int:
    """Remove what a killed server left half-received (plaintext a district sent).

    Only safe before any worker runs: `credx serve` calls it once, in the parent,
    before uvicorn starts; one `credx serve` per CREDX_HOME.  Returns how many files.
    """
    removed = 0
    for path in upload_spool(home).iterdir():
        if path.is_file() or path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.warning("removed %d upload file(s) a stopped server left behind", removed)
    return removed


def refuse_declared_oversize(request: Request, max_bytes: int) -> None:
    """Answer 413 before reading a body whose declared length is already too large."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + BODY_OVERHEAD:
        raise ApiError(413, f"the upload is larger than {max_bytes:,} bytes")


async def receive(request: Request, max_bytes: int) -> ReceivedForm:
    refuse_declared_oversize(request, max_bytes)
    return await receive_form(
        request.headers.get("content-type", ""),
        request.stream(),
        temp_dir=request.app.state.upload_dir,
        max_bytes=max_bytes,
    )


async def off_loop(request: Request, work: Callable[[], T]) -> T:
    """Run blocking work (decode, encrypt, database) in a thread, bounded per process."""
    return await anyio.to_thread.run_sync(work, limiter=request.app.state.work_limiter)


def required_file(form: ReceivedForm, name: str, what: str):
    received = form.files.get(name)
    if received is None:
        raise ApiError(422, f"attach the {what} as form field {name!r}", field=name)
    return received
