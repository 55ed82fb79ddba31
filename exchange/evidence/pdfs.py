"""PDF certificates: refuse active content, attachments, encryption and page bombs (pypdf).

Every object reachable from the trailer is visited once (iteratively, so a
deep or cyclic object graph cannot exhaust the stack) and checked for the
keys through which a PDF runs code or carries other files.  Stream contents are
never decompressed here; image streams are checked by their declared size.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

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


def check_pdf(path: Path, *, max_pages: int, max_pixels: int) -> int:
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
        _visit(reader.trailer, max_pixels)
        return pages
    except EvidenceRefused:
        raise
    except Exception:  # a parser failing on hostile input is a refusal, not a crash
        raise EvidenceRefused(
            "the PDF could not be read (damaged, incomplete or not really a PDF): save or scan "
            "it again",
            code="damaged_file",
        ) from None


def _visit(root: DictionaryObject, max_pixels: int) -> None:
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
            stack.extend(value for name, value in item.items() if name != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _check_dictionary(item: DictionaryObject, max_pixels: int) -> None:
    if any(key in item for key in SCRIPT_KEYS):
        raise active_content("JavaScript or form scripts")
    if "/AA" in item:
        raise active_content("actions that run automatically")
    if isinstance(item.get("/OpenAction"), DictionaryObject):
        raise active_content("an action that runs when it is opened")
    if any(key in item for key in ATTACHMENT_KEYS) or item.get("/Type") == "/EmbeddedFile":
        raise embedded_files()
    if item.get("/S") in RISKY_ACTIONS:
        raise active_content(f"a {str(item.get('/S'))[1:]} action")
    subtype = item.get("/Subtype")
    if subtype == "/FileAttachment":
        raise embedded_files()
    if subtype in ("/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"):
        raise active_content("embedded media")
    if subtype == "/Image":
        check_pixels(int(item.get("/Width", 1)), int(item.get("/Height", 1)), max_pixels)
