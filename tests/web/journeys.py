"""Helpers for the role journeys in Chromium: axe-core at WCAG 2.1 AA, a 320 px check and
screenshots kept as test artifacts (`test-artifacts/` or $CREDX_TEST_ARTIFACTS, ignored)."""

from __future__ import annotations

import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}  # fmt: skip
_axe = Axe()


def artifacts() -> Path:
    folder = Path(os.environ.get("CREDX_TEST_ARTIFACTS", "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_page(page, name: str, checked: list[str]) -> None:
    """Zero axe violations at WCAG 2.1 AA, no sideways scrolling at 320 px, and a screenshot
    of the page as a person sees it (`name`.png); `checked` collects the names."""
    results = _axe.run(page, options=WCAG_21_AA)
    assert results.violations_count == 0, f"{name}: {results.generate_report()}"
    page.screenshot(path=str(artifacts() / f"{name}.png"), full_page=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    wide = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size(size)
    assert wide <= 320, f"{name}: {wide} px wide at a 320 px viewport"
    checked.append(name)
