"""Turning an HTTP upload into a service call: receive, then work off the event loop.

Shared by the API and the pages.  The body is streamed to temp files (see
`web.multipart`), the service runs in a worker thread under the app's
capacity limiter, and the temp files are removed whatever happens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from fastapi import Request

from web.errors import ApiError
from web.multipart import BODY_OVERHEAD, ReceivedForm, receive_form

T = TypeVar("T")


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
