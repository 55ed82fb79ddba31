"""Priority lists: parsed with line numbers, checked against the registry, applied."""

from __future__ import annotations

import pytest
from sqlmodel import select

from eventlog.models import Event
from kernel.errors import InvalidInput
from reports.priorities import apply_priorities, list_priorities, parse_priorities
from tests.factories import write_file

REGISTRY = frozenset({"ADESK002", "NCCER001"})
KY = """\
state: ky
school_year: 2025-26
credentials:
  ADESK002: {tier: high-demand, weight: 1.25}
  NCCER001:
    tier: standard
    weight: 1
"""


def test_a_list_is_parsed():
    parsed = parse_priorities(KY, "ky.yaml", REGISTRY)
    assert (parsed.state, parsed.school_year) == ("KY", "2025-26")
    assert [(e.code, e.tier, e.weight) for e in parsed.entries] == [
        ("ADESK002", "high-demand", 1.25), ("NCCER001", "standard", 1.0),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (KY.replace("NCCER001", "ZZZZZ999"), "ky.yaml line 5: unknown credential code 'ZZZZZ999'"),
        (KY.replace("1.25", "lots"), "ky.yaml line 4: ADESK002's weight must be a number"),
        (KY.replace("1.25", "0"), "line 4: ADESK002's weight must be above 0"),
        (KY.replace("2025-26", "2025"), "ky.yaml line 2: '2025' is not a school year"),
        (KY.replace("state: ky", "state: QQ"), "ky.yaml line 1: 'QQ' is not a two-letter USPS"),
        (KY + "  ADESK002: {tier: a, weight: 1}\n", "line 8: ADESK002 is listed twice"),
        (KY.replace("    weight: 1\n", ""), "line 5: NCCER001 needs exactly tier and weight"),
        (KY + "owner: me\n", "line 8: unknown field 'owner'"),
        ("state: KY\nschool_year: 2025-26\n", "credentials is missing"),
        ("- a\n", "expected a mapping"),
    ],
)
def test_problems_are_named_with_their_line(text, message):
    with pytest.raises(InvalidInput) as raised:
        parse_priorities(text, "ky.yaml", REGISTRY)
    assert message in str(raised.value)


def test_applying_replaces_the_states_list_for_that_year(session, tmp_path):
    apply_priorities(session, write_file(tmp_path, "ky.yaml", KY), "test")
    tn = KY.replace("ky", "TN").replace("1.25", "2")
    apply_priorities(session, write_file(tmp_path, "tn.yaml", tn), "test")
    shorter = "state: KY\nschool_year: 2025-26\ncredentials:\n  NCCER001: {tier: t1, weight: 1.5}\n"
    apply_priorities(session, write_file(tmp_path, "ky.yaml", shorter), "test")
    ky = list_priorities(session, "KY", "2025-26")
    assert [(p.credential_code, p.tier, p.weight) for p in ky] == [("NCCER001", "t1", 1.5)]
    assert [p.weight for p in list_priorities(session, "TN")] == [2.0, 1.0]
    events = session.exec(select(Event).where(Event.action == "report:priorities:applied")).all()
    assert [e.subject for e in events] == ["priorities:KY:2025-26", "priorities:TN:2025-26",
                                           "priorities:KY:2025-26"]  # fmt: skip


def test_an_unknown_code_changes_nothing(session, tmp_path):
    apply_priorities(session, write_file(tmp_path, "ky.yaml", KY), "test")
    bad = KY.replace("NCCER001", "QQQQQ001")
    with pytest.raises(InvalidInput, match="line 5"):
        apply_priorities(session, write_file(tmp_path, "ky.yaml", bad), "test")
    assert len(list_priorities(session, "KY")) == 2
