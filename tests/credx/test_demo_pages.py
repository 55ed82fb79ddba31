"""`credx demo` ends by saying which page each role opens and with which token: each
token signs in and its page opens (issue 19)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from credx.demo.pages import show_pages
from tests.web.factories import sign_in
from web.app import create_app


def test_each_role_signs_in_with_its_printed_token_and_its_page_opens(app):
    said: list[str] = []
    shown = show_pages(app, said.append)
    assert [row["role"] for row in shown] == ["district", "auditor", "operator"]
    assert len(said) == 4 and all(row["token"] in "\n".join(said) for row in shown)
    for row in shown:
        with TestClient(create_app(app), base_url="http://testserver") as client:
            sign_in(client, row["token"])
            page = client.get(row["page"].removeprefix("http://127.0.0.1:8000"))
            assert page.status_code == 200, row
            assert "Sign out" in page.text
