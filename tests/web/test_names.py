"""People's and districts' names where the role may see them (issue 19): an auditor sees
who uploaded (the token holder's label, never a token id) and the district's name from
the school list; a district never learns which auditor judged it."""

from __future__ import annotations

from access.principals import Role
from access.tokens import TokenService, TokenSpec
from kernel.database import session_scope
from rosters.models import School
from rosters.schools import load_schools
from tests.audit.plans.factories import make_draw, make_plan
from tests.web.factories import bearer, make_token, sign_in, upload


def load_named_schools(session, tmp_path) -> None:
    """Louisiana's school list with one school of district 036, named Orleans Parish."""
    listed = tmp_path / "schools.csv"
    listed.write_text("district_code,school_code,name,district_name\n"
                      "036,036001,Baker High School,Orleans Parish\n")  # fmt: skip
    load_schools(session, "LA", listed)


def test_auditors_see_who_uploaded_and_the_district_by_name(client, app, tmp_path):
    with session_scope(app.engine) as session:
        load_named_schools(session, tmp_path)
        spec = TokenSpec(Role.DISTRICT, "LA", "036", None, "Dana Reyes", 30)
        clerk = TokenService(session).create(spec, actor="test")
        clerk_id = clerk.token.id
    evidence_id = upload(client, clerk.secret).json()["id"]
    auditor = make_token(app, "auditor", "LA")
    with session_scope(app.engine) as session:
        make_plan(session)
        make_draw(session, "la-2025-26", tmp_path / "manifest.csv")
    task = client.post("/api/v1/audit/tasks/next", headers=bearer(auditor)).json()["task"]
    assert task["names"] == {"credential": task["names"]["credential"],
                             "school": "Baker High School", "district": "Orleans Parish",
                             "uploaded_by": "Dana Reyes"}  # fmt: skip
    sign_in(client, auditor)
    page = client.get(f"/evidence/{evidence_id}").text
    assert "by Dana Reyes" in page and "Orleans Parish (036)" in page
    assert clerk_id not in page  # a person, not a token id
    assert "Orleans Parish (036)" in client.get("/").text


def test_a_school_list_without_district_names_keeps_those_loaded(session, tmp_path):
    named, plain = tmp_path / "named.csv", tmp_path / "plain.csv"
    named.write_text("district_code,school_code,name,district_name\n036,036001,Baker,Orleans\n")
    plain.write_text("district_code,school_code,name\n036,036001,Baker High\n")
    load_schools(session, "LA", named)
    load_schools(session, "LA", plain)
    school = session.get(School, ("LA", "036", "036001"))
    assert (school.name, school.district_name) == ("Baker High", "Orleans")


def test_the_header_names_the_person_and_their_district(client, app, tmp_path):
    with session_scope(app.engine) as session:
        load_named_schools(session, tmp_path)
        spec = TokenSpec(Role.DISTRICT, "LA", "036", None, "oidc:https://idp.example#7", 30,
                         holder_name="Dana Reyes")  # fmt: skip
        clerk = TokenService(session).create(spec, actor="test")
    sign_in(client, clerk.secret)
    page = client.get("/").text
    assert "Signed in as Dana Reyes, district staff, Orleans Parish (district 036)" in page
    assert "oidc:" not in page  # the agency identity is a key, not a name
