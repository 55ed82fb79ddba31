"""PDF certificates: refuse active content, attachments, encryption and page bombs (pypdf).

Every object reachable from the trailer is visited once (iteratively, so a
deep or cyclic object graph cannot exhaust the stack) and checked for the
keys through which a PDF runs code or carries other files; every value is looked up
through its indirect reference (`/OpenAction 6 0 R` is the action it points at).  Streams
are inflated here with a running total (`max_inflated`, the PDF's whole budget), never
whole into memory past it; image streams are checked by their declared size, inline
images (`BI ... ID ... EI` in a content stream) too, and a stream whose content is an
archive is refused as a hidden file.  This runs in the decoding sandbox (`sandbox`).
"""

from __future__ import annotations

import logging
import re
import zlib
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from exchange.evidence.polyglots import hidden_file, looks_like_archive
from exchange.evidence.refusals import EvidenceRefused
from exchange.evidence.structure import check_pixels

# pypdf's warnings quote the bytes around a defect: from an uploaded certificate they can
# be student data, which never goes to the application log.  The refusal says enough.
logging.getLogger("pypdf").setLevel(logging.CRITICAL)

MAX_OBJECTS = 200_000
SCRIPT_KEYS = ("/JS", "/JavaScript", "/XFA")
ATTACHMENT_KEYS = ("/EmbeddedFiles", "/EF")
RISKY_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToE", "/GoToR"}
    | {"/RichMediaExecute"}
)
INFLATING = ("/FlateDecode", "/Fl")
DECODED_BY_PIXELS = ("/DCTDecode", "/DCT", "/JPXDecode", "/JBIG2Decode", "/CCITTFaxDecode",
                     "/CCF")  # fmt: skip
INFLATE_STEP = 1 << 20
INLINE_IMAGE = re.compile(rb"(?<![^\s\]>)])BI\s(.{0,4096}?)\sID\s", re.DOTALL)
INLINE_SIZE = re.compile(rb"/(W|Width|H|Height)\s+(\d{1,12})")


def active_content(what: str) -> EvidenceRefused:
    return EvidenceRefused(
        f"the PDF contains {what}, which credx does not accept: print it to a new PDF "
        '("Microsoft Print to PDF", "Save as PDF") or scan the paper certificate',
        code="pdf_active_content",
    )


def embedded_files() -> EvidenceRefused:
    return EvidenceRefused(
        "the PDF carries attached or embedded files: upload the certificate alone (print it to "
        "a new PDF, or scan it)",
        code="pdf_embedded_file",
    )


def too_much_inflated(limit: int) -> EvidenceRefused:
    return EvidenceRefused(
        f"the PDF's contents expand to more than {limit / (1 << 20):.0f} MB when decompressed "
        "(a decompression bomb?): print it to a new PDF or scan the certificate",
        code="pdf_too_large_inflated",
    )


def check_pdf(path: Path, *, max_pages: int, max_pixels: int, max_inflated: int = 1 << 62) -> int:
    """The page count, after every check passed; `EvidenceRefused` otherwise."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise EvidenceRefused(
                "the PDF is password-protected or encrypted: save an unprotected copy",
                code="pdf_encrypted",
            )
        pages = len(reader.pages)
        if pages == 0:
            raise EvidenceRefused("the PDF has no pages", code="empty_document")
        if pages > max_pages:
            raise EvidenceRefused(
                f"the PDF has {pages} pages, more than {max_pages}: upload only the "
                "certificate's page(s)",
                code="pdf_too_many_pages",
            )
        _visit(reader.trailer, max_pixels, _Budget(max_inflated))
        return pages
    except (EvidenceRefused, MemoryError):  # out of memory: the sandbox's refusal (413)
        raise
    except Exception:  # a parser failing on hostile input is a refusal, not a crash
        raise EvidenceRefused(
            "the PDF could not be read (damaged, incomplete or not really a PDF): save or scan "
            "it again",
            code="damaged_file",
        ) from None


class _Budget:
    """Inflated bytes left for the whole PDF."""

    def __init__(self, limit: int):
        self.limit = limit
        self.left = limit

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise too_much_inflated(self.limit)


def _visit(root: DictionaryObject, max_pixels: int, budget: _Budget) -> None:
    stack: list[object] = [root]
    seen: set[tuple[int, int]] = set()
    visited = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        visited += 1
        if visited > MAX_OBJECTS:
            raise active_content(f"more than {MAX_OBJECTS:,} objects")
        if isinstance(item, DictionaryObject):
            _check_dictionary(item, max_pixels)
            if isinstance(item, StreamObject):
                _check_stream(item, max_pixels, budget)
            stack.extend(value for name, value in item.items() if name != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _check_dictionary(item: DictionaryObject, max_pixels: int) -> None:
    if any(key in item for key in SCRIPT_KEYS):
        raise active_content("JavaScript or form scripts")
    if "/AA" in item:
        raise active_content("actions that run automatically")
    if isinstance(_value(item, "/OpenAction"), DictionaryObject):  # a destination is an array
        raise active_content("an action that runs when it is opened")
    if any(key in item for key in ATTACHMENT_KEYS) or _value(item, "/Type") == "/EmbeddedFile":
        raise embedded_files()
    action = _value(item, "/S")
    if action in RISKY_ACTIONS:
        raise active_content(f"a {str(action)[1:]} action")
    subtype = _value(item, "/Subtype")
    if subtype == "/FileAttachment":
        raise embedded_files()
    if subtype in ("/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"):
        raise active_content("embedded media")
    if subtype == "/Image":
        width, height = _value(item, "/Width", 1), _value(item, "/Height", 1)
        check_pixels(int(width), int(height), max_pixels)  # type: ignore[call-overload]


def _value(item: DictionaryObject, key: str, default: object = None) -> object:
    """`item[key]` with an indirect reference followed (pypdf's `get` does not follow it)."""
    value = item.get(key, default)
    return value.get_object() if isinstance(value, IndirectObject) else value


def _check_stream(stream: StreamObject, max_pixels: int, budget: _Budget) -> None:
    """Inflate within the budget; inline images and hidden archives in what comes out.

    An image's pixels are budgeted by its own declared size (its pixel count is checked
    already), not the document's: a scan at the pixel limit is legitimately large."""
    image = _value(stream, "/Subtype") == "/Image"
    data = _decoded(stream, _Budget(_image_bytes(stream)) if image else budget)
    if data is None:
        return
    if looks_like_archive(data):
        raise hidden_file("in a PDF stream (an archive)")
    if _value(stream, "/Subtype") != "/Image":
        for match in INLINE_IMAGE.finditer(data):
            sizes = {key[:1]: int(value) for key, value in INLINE_SIZE.findall(match.group(1))}
            check_pixels(sizes.get(b"W", 1), sizes.get(b"H", 1), max_pixels)


COMPONENTS = {"/DeviceGray": 1, "/CalGray": 1, "/DeviceRGB": 3, "/CalRGB": 3, "/Lab": 3}


def _image_bytes(stream: StreamObject) -> int:
    """What an image's declared size needs decoded (4 components when unsure), plus 1 MiB."""
    width, height = int(_value(stream, "/Width", 1)), int(_value(stream, "/Height", 1))  # type: ignore[call-overload]
    bits = int(_value(stream, "/BitsPerComponent", 8) or 8)  # type: ignore[call-overload]
    space = _value(stream, "/ColorSpace")
    components = COMPONENTS.get(str(space), 4) if not _value(stream, "/ImageMask") else 1
    return (width * components * bits + 7) // 8 * height + (1 << 20)


def _decoded(stream: StreamObject, budget: _Budget) -> bytes | None:
    """The stream's bytes after its first filter, counted against the budget; None for
    image codecs (their size is the pixel check's)."""
    filters = _value(stream, "/Filter")
    if isinstance(filters, IndirectObject | ArrayObject | list):
        filters = [f.get_object() if isinstance(f, IndirectObject) else f for f in filters]
    else:
        filters = [] if filters is None else [filters]
    if not filters:
        return stream._data
    if filters[0] in DECODED_BY_PIXELS:
        return None
    if filters[0] in INFLATING:
        return _inflate(stream._data, budget)
    data = stream.get_data()  # LZW, run length, ASCII85/hex: in the sandbox's memory limit
    budget.spend(len(data))
    return data


def _inflate(raw: bytes, budget: _Budget) -> bytes:
    """zlib in steps, never more than the budget left (plus one step) in memory."""
    inflater = zlib.decompressobj()
    pieces = []
    pending = raw
    while pending:
        piece = inflater.decompress(pending, INFLATE_STEP)
        budget.spend(len(piece))
        pieces.append(piece)
        pending = inflater.unconsumed_tail
        if inflater.eof or not piece:
            break
    return b"".join(pieces)
