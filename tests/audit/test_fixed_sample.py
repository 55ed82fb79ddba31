"""Reproducibility across machines: a checked-in manifest and seed give a checked-in sample."""

import json
from pathlib import Path

from audit.manifests import read_manifest
from audit.sampling.tickets import draw

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = FIXTURES / "sample-seed-01382438112797316654-size-5.json"
PUBLISHED = "0.26299714122838008416507544297546663599715395525154425586041245287750224561854"


def test_the_fixed_manifest_and_seed_give_the_checked_in_sample():
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    manifest = read_manifest(FIXTURES / "manifest.csv")
    assert manifest.sha256 == manifest.canonical_sha256 == expected["manifest_sha256"]
    drawn = draw(manifest.items, expected["seed"], expected["size"])
    items = [{"id": t.id, "stratum": t.stratum, "ticket": t.ticket} for t in drawn]
    assert items == expected["items"]
    assert {"id": "AB-130", "stratum": "LA-055-003 Lafayette High", "ticket": PUBLISHED} in items
