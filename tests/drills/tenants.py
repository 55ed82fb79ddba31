"""Two of every tenant, and what each role must never see of the other's.

Own tenant: state LA, district 036, vendor nccer.  Foreign: district 037 of LA,
state TN, vendor pearson.  Every seeded record carries strings found nowhere
else (names, student ids, birth dates, file names), so a leak is a substring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from credx.app import App
from exchange.deliveries import ingest_file
from tests.factories import csv_text, exam_row, make_vendor, write_file
from tests.web.factories import certificate_png, make_token, upload
from web.app import create_app
from web.pages import SIGN_IN_COOKIE

# Production runs PostgreSQL: a drill about the server (connections killed, a real
# uvicorn, the whole fuzz) runs there only; a drill about data runs on both backends.
on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
ROLES = {
    "vendor": ("vendor", "LA", None, "nccer"),
    "district": ("district", "LA", "036", None),
    "auditor": ("auditor", "LA", None, None),
    "operator": ("operator", "LA", None, None),
    "admin": ("admin", None, None, None),
}
# The student of each seeded upload: (district token, claim fields).
STUDENTS = {
    "own": (("district", "LA", "036"), {"state_student_id": "LA1000001",
            "student_name": "Ana Morales", "birth_date": "2008-03-14"}),
    "district_037": (("district", "LA", "037"), {"state_student_id": "LA5550037",
                     "student_name": "Bartholomew Foreignly", "birth_date": "2007-05-05"}),
    "state_tn": (("district", "TN", "047"), {"state_student_id": "TN5550047",
                 "student_name": "Cordelia Elsewhere", "birth_date": "2007-06-06"}),
}  # fmt: skip
VENDOR_FILES = {"nccer": "nccer-own-results.csv", "pearson": "pearson-foreign-results.csv"}
# Which seeded records a role's token must never reveal (admin sees the installation).
FOREIGN = {
    "vendor": ("own", "district_037", "state_tn", "pearson"),
    "district": ("district_037", "state_tn", "pearson"),
    "auditor": ("state_tn", "pearson"),
    "operator": ("state_tn",),
    "admin": (),
}


@dataclass
class Tenants:
    app: App
    secrets: dict[str, str]
    evidence: dict[str, str]  # seeded upload -> its id
    deliveries: dict[str, int]
    marks: dict[str, list[str]] = field(default_factory=dict)  # record -> its unique strings

    def foreign_marks(self, role: str) -> list[str]:
        """Strings that must not appear in any answer to `role` (other roles' secrets too)."""
        marks = [mark for record in FOREIGN[role] for mark in self.marks[record]]
        return marks + [secret for other, secret in self.secrets.items() if other != role]

    def pii(self) -> list[str]:
        """Student names, ids and birth dates, and every token secret: never in a log."""
        values = [value for _, fields in STUDENTS.values() for value in fields.values()]
        return values + list(self.secrets.values())

    def id_of(self, param: str) -> list[str]:
        """Seeded ids for a path parameter, own and foreign (for the injection drill)."""
        if "delivery" in param:
            return [str(number) for number in self.deliveries.values()]
        return list(self.evidence.values())


def seed(app: App, tmp_path) -> Tenants:
    tmp_path.mkdir(exist_ok=True)
    for vendor in VENDOR_FILES:
        make_vendor(app, vendor, vendor.upper())
    secrets = {role: make_token(app, *spec) for role, spec in ROLES.items()}
    evidence, marks = {}, {}
    with TestClient(create_app(app)) as client:
        for record, (token, fields) in STUDENTS.items():
            answer = upload(client, make_token(app, *token), certificate_png(record), **fields)
            assert answer.status_code == 201, answer.text
            evidence[record] = answer.json()["id"]
            marks[record] = [*fields.values(), evidence[record]]
    deliveries = {}
    for number, (vendor, name) in enumerate(VENDOR_FILES.items()):
        row = exam_row(number, first_name=f"Vendorrow{vendor}", last_name="Drill")
        path = write_file(tmp_path, name, csv_text([row]))
        outcome = ingest_file(app, path, vendor, actor="test", original_name=name)
        deliveries[vendor] = outcome.delivery_id
        marks[vendor] = [name, outcome.sha256, row["first_name"]]
    return Tenants(app, secrets, evidence, deliveries, marks)


def signed_in(client: TestClient, secret: str) -> str:
    """Sign `client` in through the page form; returns the session's CSRF token."""
    client.get("/sign-in")
    csrf = client.cookies.get(SIGN_IN_COOKIE, path="/sign-in")
    answer = client.post("/sign-in", data={"token": secret, "csrf_token": csrf},
                         follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303, answer.text
    return csrf_of_session(client)


def csrf_of_session(client: TestClient) -> str:
    page = client.get("/").text
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]
