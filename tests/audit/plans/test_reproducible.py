"""A plan's draw re-derives from the published manifest and seed, by an independent method.

`independent_draw` follows the manual's "Re-deriving a draw" recipe with
nothing but hashlib, so it stands for an auditor's own implementation in
another language; the checked-in fixture pins the expected sample.
"""

import hashlib
import json
from decimal import Decimal
from pathlib import Path

from audit.plans.draws import verify
from tests.audit.plans.factories import SEED, make_draw, make_plan, make_upload, vendor_result

FIXTURES = Path(__file__).parents[1] / "fixtures"
MANIFEST = FIXTURES / "plan-la-2025-26-manifest.csv"
DRAW = FIXTURES / "plan-la-2025-26-draw-seed-01382438112797316654.json"


def independent_draw(manifest: bytes, seed: str, sizes: dict[str, int]) -> list[dict]:
    lines = manifest.decode("utf-8").splitlines()[1:]
    seed_hash = hashlib.sha256(seed.encode()).hexdigest()
    strata: dict[str, list[tuple[Decimal, str, str]]] = {}
    for line in lines:
        item_id, stratum = line.split(",")
        value = int(hashlib.sha256((seed_hash + item_id).encode()).hexdigest(), 16)
        ticket = "0." + str(value).rjust(64, "0")[::-1]
        strata.setdefault(stratum, []).append((Decimal(ticket), item_id, ticket))
    return [
        {"id": item_id, "stratum": stratum, "ticket": ticket}
        for stratum in sorted(strata)
        for _, item_id, ticket in sorted(strata[stratum])[: sizes[stratum]]
    ]


def _population(session):
    schools = {"036001": 7, "036002": 3, "017042": 5}
    uploads = [
        make_upload(session, evidence_id=f"ev{school}{n:02d}", school_code=school,
                    district=school[:3])
        for school, count in schools.items()
        for n in range(count)
    ]  # fmt: skip
    for upload in uploads[:4]:
        vendor_result(session, upload)


def test_the_plan_draw_matches_the_fixture_and_an_independent_derivation(session, tmp_path):
    _population(session)
    plan = make_plan(session, rule="fixed", fixed_count=2, uncorroborated_rate="2")
    result = make_draw(session, plan.id, tmp_path / "manifest.csv")
    published = (tmp_path / "manifest.csv").read_bytes()
    assert published == MANIFEST.read_bytes()
    expected = json.loads(DRAW.read_text(encoding="utf-8"))
    assert result.as_json() == expected
    sizes = {"036001": 2, "036001/uncorroborated": 3, "036002/uncorroborated": 3,
             "017042/uncorroborated": 4}  # fmt: skip
    assert expected["items"] == independent_draw(published, SEED, sizes)
    assert expected["manifest_sha256"] == hashlib.sha256(published).hexdigest()
    assert verify(session, plan.id, SEED, MANIFEST, "test").ok
