"""Issue 18 item 2: a consortium template's amendment reaches every adoption (each records
the template version it resolved, the diff is shown and logged), an adoption cannot list a
credential outside its template, and one state cannot hold two agreements with one vendor
in force at once."""

from __future__ import annotations

import json

from agreements.events import AgreementEvent
from eventlog.log import EventLog
from kernel.database import session_scope
from tests.agreements.samples import LA_ADOPTION, TEMPLATE
from tests.cli import credx
from tests.factories import make_vendor, write_file

MS_ADOPTION = (
    LA_ADOPTION.replace("la-nccer", "ms-nccer")
    .replace("[LA]", "[MS]")
    .replace("Louisiana", "Mississippi")
)
TEMPLATE_V1 = TEMPLATE.replace("states: [TN, LA, KY]", "states: [TN, LA, KY, MS]")
TEMPLATE_V2 = TEMPLATE_V1.replace("effective_to: 2029-06-30", "effective_to: 2028-06-30").replace(
    "retention_days_after_termination: 365", "retention_days_after_termination: 180"
)


def apply(cli_env, tmp_path, name: str, text: str, check: int = 0):
    path = write_file(tmp_path, name, text)
    return credx("agreements", "apply", str(path), "--json", env=cli_env, check=check)


def shown(cli_env, agreement_id: str) -> dict:
    return json.loads(credx("agreements", "show", agreement_id, "--json", env=cli_env).stdout)


def test_a_template_amendment_reaches_every_adoption(app, cli_env, tmp_path):
    make_vendor(app, agreement=False)
    apply(cli_env, tmp_path, "template.yaml", TEMPLATE_V1)
    apply(
        cli_env,
        tmp_path,
        "la.yaml",
        LA_ADOPTION.replace("retention_days_after_termination: 1461\n", ""),
    )
    assert shown(cli_env, "la-nccer")["template_version"] == 1

    amended = json.loads(apply(cli_env, tmp_path, "template.yaml", TEMPLATE_V2).stdout)
    (reached,) = amended["adoptions"]
    assert reached["id"] == "la-nccer" and reached["version"] == 2
    assert reached["changes"]["effective_to"] == ["2029-06-30", "2028-06-30"]
    assert reached["changes"]["retention_days"] == [365, 180]

    apply(
        cli_env,
        tmp_path,
        "ms.yaml",
        MS_ADOPTION.replace("retention_days_after_termination: 1461\n", ""),
    )
    la, ms = shown(cli_env, "la-nccer"), shown(cli_env, "ms-nccer")
    assert (la["effective_to"], la["retention_days"]) == ("2028-06-30", 180)
    assert (la["effective_to"], la["retention_days"]) == (ms["effective_to"], ms["retention_days"])
    assert la["template_version"] == ms["template_version"] == 2
    again = json.loads(
        apply(
            cli_env,
            tmp_path,
            "la.yaml",
            LA_ADOPTION.replace("retention_days_after_termination: 1461\n", ""),
        ).stdout
    )
    assert again["changed"] is False and again["version"] == 2
    with session_scope(app.engine) as session:
        (event,) = [e for e in EventLog(session).for_subject("agreement:la-nccer")
                    if e.action == AgreementEvent.ADOPTION_RERESOLVED]  # fmt: skip
        assert json.loads(event.payload)["changes"]["effective_to"] == ["2029-06-30", "2028-06-30"]


def test_adoptions_outside_their_template_or_overlapping_are_refused(app, cli_env, tmp_path):
    make_vendor(app, agreement=False)
    apply(cli_env, tmp_path, "template.yaml", TEMPLATE_V1)
    outside = LA_ADOPTION.replace("[NCCER001, NCCER021]", "[NCCER001, NCCER027]")
    ran = apply(cli_env, tmp_path, "la.yaml", outside, check=1)
    assert "NCCER027 not among template southern-nccer's credentials" in ran.stderr
    assert "line 5" in ran.stderr

    apply(cli_env, tmp_path, "la.yaml", LA_ADOPTION)
    second = LA_ADOPTION.replace("id: la-nccer", "id: la-nccer-2")
    ran = apply(cli_env, tmp_path, "la2.yaml", second, check=1)
    assert "agreements la-nccer-2 and la-nccer would both be in force for nccer in LA" in ran.stderr
