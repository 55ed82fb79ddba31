"""Hostile files built in the test, small where possible: PDFs written object by object
(so a drill says exactly what is in them), bombs inflated from a few kilobytes, polyglots."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from tests.web.factories import certificate_png

PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>"


def raw_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF of `objects` (numbered from 1; 1 is the catalog), with a correct xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (len(objects) + 1, trailer_extra))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def stream(data: bytes, extra: bytes = b"", *, deflate: bool = False) -> bytes:
    body = zlib.compress(data, 9) if deflate else data
    filters = b" /Filter /FlateDecode" if deflate else b""
    return b"<< /Length %d%s %s>>\nstream\n" % (len(body), filters, extra) + body + b"\nendstream"


def deflated_stream(compressed: bytes, extra: bytes = b"") -> bytes:
    return (b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(compressed), extra)
            + compressed + b"\nendstream")  # fmt: skip


def one_page_pdf(content: bytes, catalog_extra: bytes = b"", more: tuple[bytes, ...] = (),
                 *, deflate: bool = True) -> bytes:  # fmt: skip
    """Catalog 1, pages 2, page 3, content 4, then `more` as objects 5, 6, ..."""
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R %s>>" % catalog_extra,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        PAGE,
        stream(content, deflate=deflate),
        *more,
    ])  # fmt: skip


def text_pdf() -> bytes:
    return one_page_pdf(b"BT /F1 24 Tf 72 700 Td (Certificate) Tj ET")


def spaces_deflated(inflated: int) -> bytes:
    """zlib of `inflated` spaces, made a MiB at a time (512 MiB stays cheap to build)."""
    packer = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    pieces = [packer.compress(chunk) for _ in range(inflated >> 20)]
    pieces.append(packer.compress(b" " * (inflated & ((1 << 20) - 1))))
    return b"".join(pieces) + packer.flush()


def pdf_bomb(inflated: int) -> bytes:
    """One page whose content stream is `inflated` bytes of spaces (a few KB per MiB)."""
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        PAGE,
        deflated_stream(spaces_deflated(inflated)),
    ])  # fmt: skip


def inline_image_pdf(width: int, height: int) -> bytes:
    """An inline image (`BI ... ID ... EI`) declaring width x height grey pixels."""
    pixels = zlib.compress(bytes(width * height), 9)
    content = (b"q 100 0 0 100 72 600 cm BI /W %d /H %d /BPC 8 /CS /G /F /Fl ID\n" % (width, height)
               + pixels + b"\nEI Q")  # fmt: skip
    return one_page_pdf(content)


def indirect_open_action(action: bytes) -> bytes:
    """`/OpenAction 5 0 R`, object 5 being the action dictionary."""
    return one_page_pdf(b"BT ET", b"/OpenAction 5 0 R ", (action,))


ACTIONS = {
    "URI": b"<< /Type /Action /S /URI /URI (https://attacker.example/track) >>",
    "Rendition": b"<< /Type /Action /S /Rendition /OP 0 >>",
    "Sound": b"<< /Type /Action /S /Sound >>",
    "Movie": b"<< /Type /Action /S /Movie >>",
    "Hide": b"<< /Type /Action /S /Hide /T (x) >>",
    "Named": b"<< /Type /Action /S /Named /N /Print >>",
    "JavaScript": b"<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>",
}


def small_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
        bundle.writestr("payload.html", "<script>alert(1)</script>")
    return archive.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_chunk_before_end(kind: bytes, data: bytes) -> bytes:
    png = certificate_png("Certificate")
    end = png.rindex(b"IEND") - 4
    return png[:end] + _png_chunk(kind, data) + png[end:]


def jpeg_with_comment(data: bytes) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(out, format="JPEG")
    jpeg = out.getvalue()
    assert len(data) < 65_000
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(data) + 2) + data + jpeg[2:]


def jpeg_with_zip_at_end_of_scan(data: bytes) -> bytes:
    """The ZIP in a comment segment just before EOI, where ZIP readers look for its end."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(out, format="JPEG")
    jpeg = out.getvalue()
    return jpeg[:-2] + b"\xff\xfe" + struct.pack(">H", len(data) + 2) + data + b"\xff\xd9"


def pdf_with_stream(data: bytes) -> bytes:
    """An unreferenced-by-the-page stream object carrying `data` (near the file's end)."""
    return one_page_pdf(b"BT ET", more=(stream(data),))


def image_stream_bomb(inflated: int) -> bytes:
    """A 10 x 10 grey image XObject whose Flate data inflates to `inflated` bytes."""
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /XObject << /Im1 5 0 R >> >> >>")  # fmt: skip
    image = deflated_stream(spaces_deflated(inflated), b"/Type /XObject /Subtype /Image "
                            b"/Width 10 /Height 10 /ColorSpace /DeviceGray /BitsPerComponent 8 ")
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        page,
        stream(b"q 100 0 0 100 72 600 cm /Im1 Do Q"),
        image,
    ])  # fmt: skip
