"""Tokens, claims and certificate files for web tests."""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw

from access.principals import Role
from access.tokens import TokenService, TokenSpec
from credx.app import App
from kernel.database import session_scope

_HOLDERS = itertools.count(1)
CLAIM = {
    "state_student_id": "LA1000001",
    "student_name": "Ana Morales",
    "birth_date": "2008-03-14",
    "school_code": "036001",
    "school_year": "2025-26",
    "graduation_pathway": "Jump Start TOPS Tech",
    "credential_code": "MICRO001",
    "date_earned": "2026-02-10",
}


def make_token(app: App, role: Role | str, state: str | None = None, district: str | None = None,
               vendor: str | None = None, expires_days: int = 90) -> str:  # fmt: skip
    # each token its own holder: tokens sharing a label count as one person (second reviews)
    spec = TokenSpec(Role(role), state, district, vendor, f"test {next(_HOLDERS)}", expires_days)
    with session_scope(app.engine) as session:
        return TokenService(session).create(spec, actor="test").secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def certificate_png(text: str = "Certificate of achievement", size=(640, 400)) -> bytes:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((40, 40), text, fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def claim(**overrides: str) -> dict[str, str]:
    return {**CLAIM, **overrides}


def upload(client, secret: str, content: bytes | None = None, name: str = "cert.png", **fields):
    files = {"file": (name, content if content is not None else certificate_png(), "image/png")}
    return client.post("/api/v1/evidence", headers=bearer(secret), data=claim(**fields),
                       files=files)  # fmt: skip


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def noise_png(width: int, height: int) -> bytes:
    """An incompressible PNG (random pixels): its size is close to width x height x 3."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    return out.getvalue()


def bulk_files(entries: dict[str, bytes], lines: list[dict[str, str]]) -> tuple[bytes, bytes]:
    """(zip, manifest CSV) for a bulk upload."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    manifest = io.StringIO()
    writer = csv.DictWriter(manifest, ["file", *CLAIM])
    writer.writeheader()
    writer.writerows(lines)
    return archive.getvalue(), manifest.getvalue().encode()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client, secret: str) -> None:
    """Sign the test client in with a token through the sign-in form."""
    csrf = CSRF.search(client.get("/sign-in").text).group(1)
    response = client.post("/sign-in", data={"token": secret, "csrf_token": csrf},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
