"""What viewers see instead of the original: a re-rendered PNG, no metadata, bounded size.

The preview is drawn into a fresh image (so no EXIF, ICC profile, text chunk
or anything else of the upload survives), turned upright by its EXIF
orientation first, flattened onto white, and at most `MAX_SIDE` pixels on
its longer side.  Only a PNG that credx itself encoded ever reaches a browser.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageOps

MAX_SIDE = 1600
MAX_PDF_SCALE = 4.0  # a tiny page is not blown up past 288 dpi
_PDFIUM = threading.Lock()  # PDFium is not thread-safe: one render at a time per process


def image_preview(image: Image.Image) -> bytes:
    """PNG bytes of a loaded image, reduced in place first (so the full size is freed early)."""
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    upright = ImageOps.exif_transpose(image)
    try:
        rgba = upright.convert("RGBA")
    except ValueError:  # e.g. 16-bit greyscale has no direct RGBA conversion
        rgba = upright.convert("L").convert("RGBA")
    clean = Image.new("RGB", rgba.size, "white")
    clean.paste(rgba, mask=rgba.getchannel("A"))
    buffer = io.BytesIO()
    clean.save(buffer, format="PNG", compress_level=1)  # speed over size: it is small
    return buffer.getvalue()


def pdf_preview(path: Path) -> bytes:
    """PNG bytes of page 1, rendered by PDFium at a scale that fits `MAX_SIDE`."""
    with _PDFIUM:
        document = pdfium.PdfDocument(str(path))
        try:
            page = document[0]
            width, height = page.get_size()
            if width <= 0 or height <= 0:
                raise ValueError("page has no area")
            scale = min(MAX_SIDE / max(width, height), MAX_PDF_SCALE)
            bitmap = page.render(scale=scale)
            image = bitmap.to_pil().copy()
            bitmap.close()
            page.close()
        finally:
            document.close()
    return image_preview(image)
