"""What an uploaded file is, and every hostile or broken file refused with a reason."""

from __future__ import annotations

import io
import random
import struct
import zlib
from functools import partial

import pytest
from PIL import Image

from exchange.evidence import decoding
from exchange.evidence.inspection import Kind, Limits, inspect_upload
from exchange.evidence.refusals import EvidenceRefused
from tests.exchange.evidence.samples import (
    add_document_javascript,
    add_open_action,
    certificate,
    jpeg_bytes,
    pdf_bytes,
    pdf_pages,
    pdf_with,
    png_bytes,
    png_header_only,
    write,
    zip_bytes,
)

LIMITS = Limits(max_bytes=20 << 20, max_pixels=25_000_000, max_pdf_pages=5)


def refusal(tmp_path, name: str, data: bytes, limits: Limits = LIMITS) -> EvidenceRefused:
    with pytest.raises(EvidenceRefused) as caught:
        inspect_upload(write(tmp_path, name, data), name, limits)
    assert caught.value.field == "file"
    return caught.value


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("scan.png", png_bytes(), Kind.PNG),
        ("photo.JPG", jpeg_bytes(), Kind.JPEG),
        ("certificate.pdf", pdf_bytes(), Kind.PDF),
        ("no-extension", png_bytes(), Kind.PNG),
    ],
)
def test_certificates_are_recognised_by_content_and_previewed(tmp_path, name, data, kind):
    found = inspect_upload(write(tmp_path, name, data), name, LIMITS)
    assert found.kind is kind
    assert found.size == len(data)
    preview = Image.open(io.BytesIO(found.preview))
    assert preview.format == "PNG"
    # drawn 1200 x 900; images are never enlarged, a PDF page is rendered to fit 1600
    assert max(preview.size) == (1600 if kind is Kind.PDF else 1200)


def test_preview_is_bounded_and_carries_no_metadata(tmp_path):
    data = jpeg_bytes(orientation=6)  # "rotate 90°": the preview is drawn upright
    found = inspect_upload(write(tmp_path, "phone.jpg", data), "phone.jpg", LIMITS)
    preview = Image.open(io.BytesIO(found.preview))
    assert preview.size == (900, 1200)
    assert preview.info == {}
    assert not preview.getexif()
    assert b"PhoneMaker" not in found.preview and b"fake-icc" not in found.preview
    big = png_bytes(size=(4000, 2500))
    found = inspect_upload(write(tmp_path, "big.png", big), "big.png", LIMITS)
    preview = Image.open(io.BytesIO(found.preview))
    assert preview.size == (1600, 1000)
    assert b"Jane Doe" not in found.preview and "Author" not in preview.info


BAD_FILES = {
    "empty file": ("scan.png", b"", "empty_file"),
    "0x0 image": ("scan.png", png_header_only(0, 0), "empty_image"),
    "truncated PNG": ("scan.png", png_bytes()[:5000], "damaged_file"),
    "PNG cut inside IDAT, CRCs fixed": ("scan.png", None, "damaged_file"),
    "truncated JPEG": ("scan.jpg", jpeg_bytes()[:-3000], "damaged_file"),
    "60,000 x 60,000 PNG": ("scan.png", png_header_only(60_000, 60_000), "image_too_large"),
    "SVG": ("scan.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
            "unsupported_type"),
    "SVG named .png": ("scan.png", b'<?xml version="1.0"?><svg/>', "unsupported_type"),
    "HTML": ("scan.html", b"<!DOCTYPE html><html><script>alert(1)</script></html>",
             "unsupported_type"),
    "GIF named .jpg": ("scan.jpg", b"GIF89a" + b"\x00" * 200, "unsupported_type"),
    "JPEG header, HTML body": ("scan.jpg", b"\xff\xd8\xff\xe0<html><script>x</script>",
                               "damaged_file"),
    "PNG with a zip appended": ("scan.png", png_bytes() + zip_bytes({"a.html": b"<b>"}),
                                "polyglot"),
    "PNG with HTML appended": ("scan.png", png_bytes() + b"<html><script>1</script>", "polyglot"),
    "JPEG with HTML appended": ("scan.jpg", jpeg_bytes() + b"<script>alert(1)</script>",
                                "polyglot"),
    "PDF with a zip appended": ("c.pdf", pdf_bytes() + zip_bytes({"x": b"y"}), "polyglot"),
    "PNG named .jpg": ("scan.jpg", png_bytes(), "extension_mismatch"),
    "PDF named .png": ("scan.png", pdf_bytes(), "extension_mismatch"),
    "PNG named .html": ("page.html", png_bytes(), "extension_mismatch"),
    "zip": ("scan.zip", zip_bytes({"a.png": png_bytes()}), "unsupported_type"),
    "PDF with JavaScript": ("c.pdf", pdf_with(add_document_javascript),
                            "pdf_active_content"),
    "PDF with an open action": ("c.pdf", pdf_with(add_open_action), "pdf_active_content"),
    "PDF with an embedded file": ("c.pdf", pdf_with(lambda w: w.add_attachment("x.exe", b"MZ")),
                                  "pdf_embedded_file"),
    "PDF with too many pages": ("c.pdf", pdf_pages(6), "pdf_too_many_pages"),
    "PDF header, garbage body": ("c.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50 + b"\n%%EOF\n",
                                 "damaged_file"),
    "truncated PDF": ("c.pdf", pdf_bytes()[:-400], "damaged_file"),
}  # fmt: skip


def _png_cut_in_idat() -> bytes:
    """Chunks intact and CRC-valid, but the compressed pixels stop early: only a decode sees it."""
    data = png_bytes()
    start = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[start : start + 4])
    pixels = data[start + 8 : start + 8 + length][: length // 3]
    chunk = struct.pack(">I", len(pixels)) + b"IDAT" + pixels
    chunk += struct.pack(">I", zlib.crc32(b"IDAT" + pixels))
    return data[:start] + chunk + data[data.index(b"IEND") - 4 :]


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_is_refused_with_an_actionable_reason(tmp_path, case):
    name, data, code = BAD_FILES[case]
    if data is None:
        data = _png_cut_in_idat()
    refused = refusal(tmp_path, name, data)
    assert refused.code == code, str(refused)
    assert len(str(refused)) > 20


def test_oversized_file_is_refused_before_it_is_read(tmp_path):
    limits = Limits(max_bytes=1000, max_pixels=25_000_000, max_pdf_pages=5)
    refused = refusal(tmp_path, "scan.png", png_bytes(), limits)
    assert refused.code == "file_too_large"


def test_pixel_limit_applies_to_what_pillow_decodes(tmp_path):
    limits = Limits(max_bytes=20 << 20, max_pixels=500_000, max_pdf_pages=5)
    assert refusal(tmp_path, "scan.jpg", jpeg_bytes(), limits).code == "image_too_large"
    assert refusal(tmp_path, "c.pdf", pdf_bytes(), limits).code == "image_too_large"


def test_pillows_bomb_warning_is_a_refusal_not_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after
    path = write(tmp_path, "scan.png", png_bytes())  # 1200 x 900: warns above 800,000
    decode = partial(decoding._decode_image, path, "PNG", 800_000)
    with pytest.raises(EvidenceRefused) as caught:
        decoding._guarded(decode, "image")
    assert caught.value.code == "image_too_large"


def test_mutated_certificates_are_refused_or_accepted_never_a_crash(tmp_path):
    """Random byte flips, cuts and insertions: a decoder's own exception would be a 5xx."""
    rng = random.Random(2026)
    seeds = [png_bytes(size=(200, 150)), pdf_pages(2)]
    for kind in ("JPEG", "PDF"):
        buffer = io.BytesIO()
        certificate((200, 150)).save(buffer, kind)
        seeds.append(buffer.getvalue())
    outcomes = set()
    for number in range(160):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data))
            if rng.random() < 0.7:
                data[at] = rng.randrange(256)
            else:
                del data[at : at + rng.randint(1, 200)]
        path = write(tmp_path, f"f{number}", bytes(data))
        try:
            inspect_upload(path, None, LIMITS)
            outcomes.add("accepted")
        except EvidenceRefused as refused:
            outcomes.add(refused.code)
    assert {"damaged_file", "accepted"} <= outcomes
