"""Names for the codes pages show: states, schools and districts from the state's school
list, credentials from the registry, vendors from their register.  A page shows the name,
the code in small print."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from access.tokens import holder_label
from agreements.models import Vendor
from rosters.models import School
from schemas.credentials import Credential

STATE_NAMES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming", "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands",
}  # fmt: skip


def state_name(code: str | None) -> str | None:
    return STATE_NAMES.get(code.upper(), code) if code else None


class Names:
    """Looks up the names of the codes on one page (two queries, whatever the page's size)."""

    def __init__(self, session: Session, state: str | None):
        self.session, self.state = session, state
        self.schools: dict[str, str] = {}
        self.credentials: dict[str, str] = {}
        self.districts: dict[str, str] = {}
        self.people: dict[str, str] = {}

    def load(
        self, *, schools: Iterable[str] = (), credentials: Iterable[str] = (),
        people: Iterable[str] = (),
    ) -> Names:  # fmt: skip
        """Look the codes up now, while the session is open (a page renders after it closes)."""
        for actor in set(people) - set(self.people):
            self.people[actor] = holder_label(self.session, actor) or ""
        wanted = sorted(set(schools) - set(self.schools))
        if wanted:
            listed = select(School.school_code, School.name, School.district_code,
                            School.district_name).where(col(School.school_code).in_(wanted))
            if self.state:
                listed = listed.where(School.state == self.state)
            for school, name, district, district_name in self.session.exec(listed).all():
                self.schools[school] = name
                if district_name:
                    self.districts[district] = district_name
        codes = sorted(set(credentials) - set(self.credentials))
        if codes:
            query = select(Credential.code, Credential.name).where(col(Credential.code).in_(codes))
            self.credentials.update(dict(self.session.exec(query).all()))
        return self

    def vendors(self, among: Iterable[str] | None = None) -> dict[str, str]:
        """{id: name} of the vendors (all, or those `among`), by name: the vendor picker."""
        query = select(Vendor.id, Vendor.name).order_by(col(Vendor.name))
        if among is not None:
            query = query.where(col(Vendor.id).in_(sorted(among)))
        return dict(self.session.exec(query.limit(2000)).all())

    def school(self, code: str | None) -> str:
        return self.schools.get(code or "", "") if code else ""

    def district(self, code: str | None) -> str:
        """The district's name from the school list (loaded with its schools), or ""."""
        return self.districts.get(code or "", "")

    def person(self, actor: str | None) -> str:
        """Who acted (loaded `people`), by the holder label of their token, or "" (a page
        then names the role; a token id is never shown as a name)."""
        return self.people.get(actor or "", "")

    def credential(self, code: str | None) -> str:
        return self.credentials.get(code or "", "") if code else ""

    def district_schools(self, district: str | None) -> list[tuple[str, str]]:
        """(code, name) of the district's schools, for the school picker."""
        query = select(School.school_code, School.name).order_by(col(School.name))
        if self.state:
            query = query.where(School.state == self.state)
        if district:
            query = query.where(School.district_code == district)
        return [tuple(row) for row in self.session.exec(query.limit(2000)).all()]  # type: ignore[misc]

    def all_credentials(self) -> list[tuple[str, str]]:
        """(code, name) of the registry, for the credential picker."""
        query = select(Credential.code, Credential.name).order_by(col(Credential.code))
        return [tuple(row) for row in self.session.exec(query.limit(5000)).all()]  # type: ignore[misc]


ROLE_WORDS = {
    "district": "district staff", "auditor": "state auditor", "operator": "agreement operator",
    "analyst": "data analyst", "vendor": "credentialing vendor", "admin": "administrator",
}  # fmt: skip


def signed_in_as(session: Session, token_id: str, principal) -> str:
    """Who the header says is signed in: the person's name where one is known, the role,
    and the district by its name from the school list (its code in brackets)."""
    role = str(getattr(principal.role, "value", principal.role))
    words = ROLE_WORDS.get(role, role)
    if principal.district:
        named = select(School.district_name).where(
            School.state == principal.state, School.district_code == principal.district,
            col(School.district_name).is_not(None)).limit(1)  # fmt: skip
        district = session.exec(named).first()
        words += f", {district} (district {principal.district})" if district else (
            f", district {principal.district}")  # fmt: skip
    person = holder_label(session, f"token:{token_id}")
    return f"{person}, {words}" if person else words
