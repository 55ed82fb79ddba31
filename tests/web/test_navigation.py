"""The header links each role to exactly the pages its grants open."""

from __future__ import annotations

import re

import pytest

from tests.web.factories import make_token, sign_in

LINK = re.compile(r'<nav class="[^"]*" aria-label="Pages for your role">(.*?)</nav>',
                  re.S)  # fmt: skip
PAGES = ("/audit", "/audit/results", "/audit/findings", "/review", "/dashboard",
         "/deliveries", "/reports/attainment")  # fmt: skip


@pytest.mark.parametrize(
    ("role", "district", "shown"),
    [
        ("auditor", None, {"/audit", "/audit/results", "/reports/attainment"}),
        ("district", "036", {"/audit/findings"}),
        ("operator", None, {"/review", "/dashboard", "/deliveries", "/reports/attainment"}),
    ],
)
def test_each_role_sees_links_to_its_own_pages(client, app, role, district, shown):
    sign_in(client, make_token(app, role, "LA", district=district))
    nav = LINK.search(client.get("/").text).group(1)
    linked = {page for page in PAGES if f'href="{page}"' in nav}
    assert linked == shown
    for page in shown:  # every link opens (the report page asks for a year: 200 with a form)
        assert client.get(page).status_code == 200, page
