"""The decoders proper: what runs inside the sandbox's child process (`sandbox`), never in
the server.

`decode` walks the file's structure, runs the format's checks (`structure`, `pdfs`) and
decodes it fully with Pillow (restricted to the one format the bytes claim) or PDFium; the
result is the preview, so a file is decoded once.  The decoders are imported inside the
functions: the web process imports this module (for `decode`'s name, which the sandbox sends
to its child) but never runs it, so it never loads Pillow, pypdf or PDFium.  The fork server
preloads them (`sandbox.PRELOAD`), so each child starts with them loaded.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from exchange.evidence.polyglots import check_no_archive
from exchange.evidence.refusals import EvidenceRefused
from exchange.evidence.structure import check_jpeg, check_pdf_end, check_png, empty_image

PILLOW_FORMATS = {"PNG": "PNG", "JPEG": "JPEG"}


@dataclass(frozen=True)
class DecodeLimits:
    max_pixels: int
    max_pdf_pages: int
    max_pdf_inflated: int


def decode(path: str, kind: str, limits: DecodeLimits) -> bytes:
    """The preview PNG of an image or PDF, after every check passed; `EvidenceRefused` else."""
    from exchange.evidence import previews
    from exchange.evidence.pdfs import check_pdf

    file = Path(path)
    check_no_archive(file)
    if kind == "PDF":
        check_pdf_end(file)
        check_pdf(file, max_pages=limits.max_pdf_pages, max_pixels=limits.max_pixels,
                  max_inflated=limits.max_pdf_inflated)  # fmt: skip
        return _guarded(lambda: previews.pdf_preview(file), "PDF document")
    walk = check_png if kind == "PNG" else check_jpeg
    walk(file, limits.max_pixels)
    return _guarded(lambda: _decode_image(file, kind, limits.max_pixels), "image")


def _decode_image(path: Path, kind: str, max_pixels: int) -> bytes:
    """Pillow's bomb warning is an error here (it warns at MAX_IMAGE_PIXELS and raises only
    at twice that); the structure walk has already refused headers over the limit."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels  # this child decodes this one file
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return _open_and_render(path, kind)


def _open_and_render(path: Path, kind: str) -> bytes:
    from PIL import Image

    from exchange.evidence import previews

    with Image.open(path, formats=[PILLOW_FORMATS[kind]]) as image:
        if image.width <= 0 or image.height <= 0:
            raise empty_image()
        if kind == "JPEG":  # every coefficient is still decoded, at 1/2..1/8 the memory
            image.draft("RGB", (previews.MAX_SIDE, previews.MAX_SIDE))
        image.load()  # the full decode: a truncated or corrupt image fails here
        return previews.image_preview(image)


def _guarded(decode: Callable[[], bytes], what: str) -> bytes:
    from PIL import Image

    try:
        return decode()
    except (EvidenceRefused, MemoryError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise EvidenceRefused(
            f"the {what} expands to more pixels than credx decodes (a decompression bomb?)",
            code="image_too_large",
        ) from None
    except Exception:  # a decoder failing on hostile input is a refusal, not a crash
        raise EvidenceRefused(
            f"the {what} could not be decoded (damaged, incomplete or disguised): scan or "
            "export it again",
            code="damaged_file",
        ) from None
