"""Receiving a multipart upload: streamed in chunks to private temp files, capped.

The body is fed from `request.stream()` into python-multipart's incremental
parser; file parts go straight to files created with `mkstemp` (mode 0600) in
a private directory, so memory stays at one chunk whatever the upload size.
The byte cap is enforced while streaming.  Whatever goes wrong (too large,
malformed, the client hanging up) every temp file is removed: nothing partial
is left behind.  Client file names are kept only as labels, never as paths.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from web.errors import ApiError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELD_BYTES = 4096
MAX_PARTS = 40
BODY_OVERHEAD = 256 * 1024  # multipart framing and claim fields on top of the file(s)


@dataclass
class ReceivedFile:
    path: Path
    filename: str  # as the client named it: a label only
    content_type: str
    size: int = 0


@dataclass
class ReceivedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, ReceivedFile] = field(default_factory=dict)

    def cleanup(self) -> None:
        for received in self.files.values():
            received.path.unlink(missing_ok=True)


class _Collector:
    """python-multipart callbacks that route each part to a field buffer or a temp file."""

    def __init__(self, form: ReceivedForm, temp_dir: Path, max_bytes: int):
        self.form, self.temp_dir, self.max_bytes = form, temp_dir, max_bytes
        self.header_name = b""
        self.headers: dict[bytes, bytes] = {}
        self.name = ""
        self.buffer: bytearray | None = None
        self.file: ReceivedFile | None = None
        self.handle: BinaryIO | None = None  # open while a file part is being written
        self.total = 0
        self.parts = 0
        self.finished = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ApiError(400, f"too many form parts (at most {MAX_PARTS})")
        self.headers, self.header_name = {}, b""

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name = data[start:end].lower()

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.headers[self.header_name] = self.headers.get(self.header_name, b"") + data[start:end]

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")[:100]
        if self.name in self.form.files or self.name in self.form.fields:
            raise ApiError(
                400, f"form part {_label(self.name)} sent twice", field=_label(self.name)
            )
        if b"filename" not in options:
            self.buffer, self.file = bytearray(), None
            return
        fd, path = tempfile.mkstemp(prefix="upload-", dir=self.temp_dir)
        self.handle = os.fdopen(fd, "wb")
        content_type = self.headers.get(b"content-type", b"").decode("latin-1")[:100]
        label = options[b"filename"].decode("utf-8", "replace")[-255:]
        self.file = ReceivedFile(Path(path), label, content_type)
        self.form.files[self.name] = self.file  # registered before writing: cleanup sees it
        self.buffer = None

    def part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self.file is not None:
            self.total += size
            if self.total > self.max_bytes:
                raise ApiError(413, f"the upload is larger than {self.max_bytes:,} bytes")
            self.file.size += size
            assert self.handle is not None  # opened with self.file
            self.handle.write(data[start:end])
        elif self.buffer is not None:
            if len(self.buffer) + size > MAX_FIELD_BYTES:
                raise ApiError(413, f"form field {_label(self.name)} is too long",
                               field=_label(self.name))  # fmt: skip
            self.buffer += data[start:end]

    def part_end(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        elif self.buffer is not None:
            self.form.fields[self.name] = self.buffer.decode("utf-8", "replace")
        self.buffer, self.file = None, None

    def end(self) -> None:
        self.finished = True

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


SAFE_LABEL = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def _label(name: str) -> str:
    """A client's part name as an error may echo it: a plain field name, or nothing of it."""
    return repr(name) if SAFE_LABEL.fullmatch(name) else "(unnamed)"


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise ApiError(415, "send the upload as multipart/form-data")
    return options[b"boundary"]


async def receive_form(
    content_type: str, body: AsyncIterator[bytes], *, temp_dir: Path, max_bytes: int
) -> ReceivedForm:
    """Parse a multipart body as it arrives; on any failure nothing is left on disk."""
    form = ReceivedForm()
    collector = _Collector(form, temp_dir, max_bytes)
    parser = MultipartParser(boundary_of(content_type), collector.callbacks())
    received, body_cap = 0, max_bytes + BODY_OVERHEAD
    try:
        async for chunk in body:
            received += len(chunk)
            if received > body_cap:  # preamble, epilogue or fields padding a body out
                raise ApiError(413, f"the upload is larger than {max_bytes:,} bytes")
            parser.write(chunk)
        parser.finalize()
        if not collector.finished:
            raise ApiError(400, "the upload was cut off before its end; send it again")
    except MultipartParseError:
        collector.close()
        form.cleanup()
        raise ApiError(400, "the multipart body is malformed; send the form again") from None
    except BaseException:
        collector.close()
        form.cleanup()
        raise
    return form
