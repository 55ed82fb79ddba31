"""Synthetic student populations with known truth, for linkage tests and benchmarks.

`generate(records, seed=...)` draws persons (realistic name frequencies: Smith,
Garcia and Nguyen are common, most surnames are rare; twins share a birth date,
surname and address) and then source records of them (vendor exam records under
each vendor's own candidate numbers, with retakes; district claims carrying the
state student id), each a copy of its person with the errors real rosters carry:
typos, nicknames, swapped day and month, one-digit slips, year off by one,
hyphenated or changed surnames, first and last name swapped, missing or mistyped
state student ids, test-centre duplicate candidate ids, another school or district
(a move, or an exam taken elsewhere).

Everything is drawn from one seeded `numpy.random.Generator` and vectorised (a
million records take seconds), so the same seed gives the same frame.  Rates
are per record, among the records an error can apply to (`ErrorRates`).

The name tables (`linkage/data/`) are the US Census 2000 surname and the 1990
given-name frequencies (as shipped by the `faker` package's en_US provider);
a generated tail of rare names stands for the long tail real rosters have.
Nicknames come from the `nicknames` package, the table the linker uses.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from linkage.columns import CANONICAL_COLUMNS

VENDORS = ("certiport", "nccer", "pearson_vue", "comptia", "nocti")
VENDOR_PREFIX = ("CP", "NC", "PV", "CT", "NO")
STATES = ("LA", "TN", "FL")
STATE_SHARE = (0.4, 0.35, 0.25)
DISTRICTS_PER_STATE = 60
SCHOOLS_PER_DISTRICT = 12
STREETS = (
    "Main St", "Oak Ave", "Pine St", "Maple Dr", "Cedar Ln", "Elm St", "Church Rd", "Park Ave",
    "Highland Dr", "Bayou Rd", "River Rd", "Magnolia St", "Jackson Ave", "Lake Dr", "Hill St",
)  # fmt: skip
BIRTH_FIRST = np.datetime64("2005-09-01")
BIRTH_DAYS = 6 * 365  # students aged about 14 to 20
SURNAME_TAIL_SHARE = 0.35  # real top-1000 US surnames cover about 60-65% of people
GIVEN_TAIL_SHARE = 0.12
TAIL_SURNAMES = 40_000
TAIL_GIVEN = 6_000
KEYBOARD = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class ErrorRates:
    """Per-record rates of each error process (of the records it can apply to)."""

    nickname: float = 0.08  # of records whose first name has a nickname
    first_name_typo: float = 0.03
    last_name_typo: float = 0.03
    hyphenated_surname: float = 0.02
    changed_surname: float = 0.01  # marriage / custody: a different surname altogether
    names_swapped: float = 0.01  # first and last name in each other's column
    day_month_swapped: float = 0.03  # of records whose day is 1-12 and not the month
    birth_digit_slip: float = 0.02  # one digit of the day mistyped
    birth_year_off: float = 0.01
    ssid_missing_vendor: float = 0.5  # vendors often do not collect it
    ssid_missing_district: float = 0.02
    ssid_typo: float = 0.02  # of records carrying an id: one digit or a transposition
    school_changed: float = 0.08  # moved school, or tested at another (same district 60%)
    upper_case: float = 0.15  # formatting only: NAMES IN CAPITALS
    middle_initial: float = 0.3  # middle name given as its initial


@dataclass(frozen=True)
class PopulationSpec:
    """How persons and their records are drawn (defaults: a state's senior high schools)."""

    mean_records_per_person: float = 2.5
    twin_rate: float = 0.02  # share of persons who have a twin in the population
    district_share: float = 0.25  # records that are district claims rather than vendor records
    retake_rate: float = 0.35  # a record repeats its person's previous vendor (one candidate id)
    duplicate_candidate_rate: float = 0.02  # a test centre opened a second candidate id
    middle_name_rate: float = 0.6
    gender_missing_rate: float = 0.1
    address_rate: float = 0.4
    postcode_rate: float = 0.6
    rates: ErrorRates = field(default_factory=ErrorRates)


@dataclass
class Population:
    """`records`: canonical columns + `true_person_id`.  `persons`: the truth per person.

    `errors`: one boolean column per error process, aligned with `records`.
    """

    records: pd.DataFrame
    persons: pd.DataFrame
    errors: pd.DataFrame


def synthetic_records(records: int, *, seed: int = 0) -> pd.DataFrame:
    """Just the record frame (canonical columns + `true_person_id`)."""
    return generate(records, seed=seed).records


def generate(records: int, *, seed: int = 0, spec: PopulationSpec | None = None) -> Population:
    """`records` source records of a synthetic population, deterministic in `seed`."""
    spec = spec or PopulationSpec()
    columns = [*CANONICAL_COLUMNS, "true_person_id"]
    if records <= 0:
        return Population(pd.DataFrame(columns=columns), pd.DataFrame(), pd.DataFrame())
    rng = np.random.default_rng(seed)
    person_of = _records_per_person(rng, records, spec.mean_records_per_person)
    persons = _draw_persons(rng, int(person_of.max()) + 1, spec)
    frame, errors = _draw_records(rng, persons, person_of, spec)
    order = rng.permutation(len(frame))  # a person's records are not adjacent
    frame = frame.iloc[order].reset_index(drop=True)
    errors = errors.iloc[order].reset_index(drop=True)
    frame.insert(0, "record_id", [f"R{i:08d}" for i in range(len(frame))])
    return Population(records=frame[columns], persons=persons, errors=errors)


# name tables ----------------------------------------------------------------------


@cache
def _table(name: str) -> list[dict[str, str]]:
    text = resources.files("linkage").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _tail_names(count: int, seed: int) -> np.ndarray:
    """Pronounceable rare names (fixed seed: the same table for every population)."""
    rng = np.random.default_rng(seed)
    onsets = np.array([*"bcdfghjklmnprstvwz", "br", "ch", "st", "th", "tr", "kr", "gl"])
    vowels = np.array(["a", "e", "i", "o", "u", "ai", "ou", "ie", "ea", "y"])
    codas = np.array(["", "", "n", "r", "l", "s", "t", "nd", "rt", "ck", "x", "m"])
    parts = [
        rng.choice(arr, size=count * 2)
        for arr in (onsets, vowels, onsets, vowels, codas)
    ]  # fmt: skip
    names = pd.unique(pd.Series(np.char.add(np.char.add(np.char.add(np.char.add(
        parts[0], parts[1]), parts[2]), parts[3]), parts[4])).str.capitalize())  # fmt: skip
    return names[:count]


def _zipf_tail(count: int, after: int) -> np.ndarray:
    """Zipf weights continuing a head table of `after` names (the tail's first name is no
    more common than the head's last)."""
    weights = 1.0 / np.arange(after + 1, after + count + 1)
    return weights / weights.sum()


@cache
def surname_table() -> tuple[np.ndarray, np.ndarray]:
    """(surnames, probabilities): Census head plus a Zipf tail of rare surnames."""
    rows = _table("surnames.csv")
    head = np.array([r["surname"] for r in rows], dtype=object)
    share = np.array([float(r["share"]) for r in rows])
    tail = _tail_names(TAIL_SURNAMES, seed=17)
    names = np.concatenate([head, tail.astype(object)])
    probs = np.concatenate([
        share / share.sum() * (1 - SURNAME_TAIL_SHARE),
        _zipf_tail(len(tail), len(head)) * SURNAME_TAIL_SHARE,
    ])  # fmt: skip
    return names, probs / probs.sum()


@cache
def given_table(gender: str) -> tuple[np.ndarray, np.ndarray]:
    """(given names, probabilities) for "F" or "M": Census head plus a rare tail."""
    rows = [r for r in _table("given_names.csv") if r["gender"] == gender]
    head = np.array([r["given_name"] for r in rows], dtype=object)
    share = np.array([float(r["share"]) for r in rows])
    tail = _tail_names(TAIL_GIVEN, seed=23 if gender == "F" else 29)
    names = np.concatenate([head, tail.astype(object)])
    probs = np.concatenate([
        share / share.sum() * (1 - GIVEN_TAIL_SHARE),
        _zipf_tail(len(tail), len(head)) * GIVEN_TAIL_SHARE,
    ])  # fmt: skip
    return names, probs / probs.sum()


@cache
def nickname_table() -> dict[str, tuple[str, ...]]:
    """Formal given name -> its nicknames (title case), from the `nicknames` package."""
    import nicknames

    found: dict[str, set[str]] = {}
    with nicknames.with_names_csv_path() as path, path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["relationship"] == "has_nickname":
                found.setdefault(row["name1"].title(), set()).add(row["name2"].title())
    return {name: tuple(sorted(nicks)) for name, nicks in found.items()}


# persons ----------------------------------------------------------------------------


def _records_per_person(rng: np.random.Generator, records: int, mean: float) -> np.ndarray:
    """The person index of each record: 1 + Poisson(mean - 1) records a person."""
    persons = max(1, int(records / mean * 1.1) + 10)
    counts = 1 + rng.poisson(mean - 1, size=persons)
    while counts.sum() < records:  # rare: draw more persons
        counts = np.concatenate([counts, 1 + rng.poisson(mean - 1, size=persons)])
    return np.repeat(np.arange(len(counts)), counts)[:records]


def _draw_persons(rng: np.random.Generator, count: int, spec: PopulationSpec) -> pd.DataFrame:
    gender = np.where(rng.random(count) < 0.5, "F", "M")
    first = _given_names(rng, gender)
    middle = _given_names(rng, gender)
    middle[rng.random(count) >= spec.middle_name_rate] = ""
    surnames, probs = surname_table()
    last = surnames[rng.choice(len(surnames), size=count, p=probs)]
    born = BIRTH_FIRST + rng.integers(0, BIRTH_DAYS, size=count).astype("timedelta64[D]")
    state = np.array(STATES)[rng.choice(len(STATES), size=count, p=STATE_SHARE)]
    district = rng.integers(1, DISTRICTS_PER_STATE + 1, size=count)
    school = rng.integers(1, SCHOOLS_PER_DISTRICT + 1, size=count)
    frame = pd.DataFrame({
        "true_person_id": [f"P{i:07d}" for i in range(count)],
        "first_name": first, "middle_name": middle, "last_name": last,
        "birth_date": born, "gender": gender,
        "state_student_id": _unique_ids(rng, count),
        "state": state,
        "district_code": pd.Series(district).map("{:03d}".format).to_numpy(),
        "school_code": pd.Series(district * 100 + school).map("{:05d}".format).to_numpy(),
        "address": _addresses(rng, count),
        "postcode": pd.Series(70000 + district * 37 + school).astype(str).to_numpy(),
        "twin_of": "",
    })  # fmt: skip
    return _make_twins(rng, frame, spec.twin_rate)


def _given_names(rng: np.random.Generator, gender: np.ndarray) -> np.ndarray:
    out = np.empty(len(gender), dtype=object)
    for sex in ("F", "M"):
        where = np.flatnonzero(gender == sex)
        names, probs = given_table(sex)
        out[where] = names[rng.choice(len(names), size=len(where), p=probs)]
    return out


def _unique_ids(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct 10-digit state student ids."""
    numbers = rng.choice(9_000_000_000, size=count, replace=False) + 1_000_000_000
    return numbers.astype(str).astype(object)


def _addresses(rng: np.random.Generator, count: int) -> np.ndarray:
    numbers = rng.integers(1, 9999, size=count).astype(str).astype(object)
    streets = np.array(STREETS, dtype=object)[rng.integers(0, len(STREETS), size=count)]
    return numbers + " " + streets


def _make_twins(rng: np.random.Generator, frame: pd.DataFrame, rate: float) -> pd.DataFrame:
    """Person i+1 becomes the twin of person i: same surname, birth date, home and school,
    a different first name (and their own state student id)."""
    count = len(frame)
    second = np.flatnonzero(rng.random(count) < rate / 2)
    second = second[(second > 0)]
    second = second[~np.isin(second - 1, second)]  # no triplet chains
    first = second - 1
    shared = ["last_name", "birth_date", "state", "district_code", "school_code", "address",
              "postcode"]  # fmt: skip
    for column in shared:
        frame.loc[second, column] = frame.loc[first, column].to_numpy()
    names = frame["first_name"].to_numpy()
    same = second[names[second] == names[first]]
    while len(same):
        names[same] = _given_names(rng, frame["gender"].to_numpy()[same])
        same = same[names[same] == names[same - 1]]
    frame["first_name"] = names
    frame.loc[second, "twin_of"] = frame.loc[first, "true_person_id"].to_numpy()
    return frame


# records -------------------------------------------------------------------------------


def _draw_records(
    rng: np.random.Generator, persons: pd.DataFrame, person_of: np.ndarray, spec: PopulationSpec
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rates = spec.rates
    count = len(person_of)
    truth = persons.iloc[person_of].reset_index(drop=True)
    vendor = _vendors(rng, person_of, spec)
    is_district = vendor < 0
    errors: dict[str, np.ndarray] = {}
    frame = pd.DataFrame({
        "true_person_id": truth["true_person_id"].to_numpy(),
        "source": np.where(is_district, "district", np.array(VENDORS)[np.maximum(vendor, 0)]),
        "source_person_id": _candidate_ids(rng, person_of, vendor, spec, errors),
        "gender": np.where(rng.random(count) < spec.gender_missing_rate, "", truth["gender"]),
        "state": truth["state"].to_numpy(),
        "address": np.where(rng.random(count) < spec.address_rate, truth["address"], ""),
        "postcode": np.where(rng.random(count) < spec.postcode_rate, truth["postcode"], ""),
    })  # fmt: skip
    frame["district_code"], frame["school_code"] = _schools(rng, truth, rates, errors)
    first, middle, last = _names(rng, truth, rates, errors)
    frame["first_name"], frame["middle_name"], frame["last_name"] = first, middle, last
    frame["birth_date"] = _birth_dates(rng, truth["birth_date"].to_numpy(), rates, errors)
    frame["state_student_id"] = _state_ids(rng, truth, is_district, rates, errors)
    return frame, pd.DataFrame(errors)


def _vendors(rng: np.random.Generator, person_of: np.ndarray, spec: PopulationSpec) -> np.ndarray:
    """Vendor index per record, -1 for a district claim; retakes repeat the previous vendor."""
    count = len(person_of)
    vendor = rng.integers(0, len(VENDORS), size=count)
    vendor[rng.random(count) < spec.district_share] = -1
    rank = np.arange(count) - np.searchsorted(person_of, person_of)  # record's rank in person
    retake = rng.random(count) < spec.retake_rate
    for level in range(1, int(rank.max()) + 1 if count else 0):
        at = np.flatnonzero((rank == level) & retake & (vendor >= 0))
        previous = vendor[at - 1]
        keep = previous >= 0
        vendor[at[keep]] = previous[keep]
    return vendor


def _candidate_ids(
    rng: np.random.Generator, person_of: np.ndarray, vendor: np.ndarray, spec: PopulationSpec,
    errors: dict[str, np.ndarray],
) -> np.ndarray:  # fmt: skip
    """One candidate id per (person, vendor), numbered by each vendor its own way."""
    slots = (int(person_of.max()) + 1 if len(person_of) else 0) * len(VENDORS)
    numbers = rng.permutation(slots)[person_of * len(VENDORS) + np.maximum(vendor, 0)]
    duplicate = (vendor >= 0) & (rng.random(len(vendor)) < spec.duplicate_candidate_rate)
    numbers[duplicate] = slots + np.arange(int(duplicate.sum()))  # a second account
    errors["duplicate_candidate"] = duplicate
    prefix = np.array(VENDOR_PREFIX, dtype=object)[np.maximum(vendor, 0)]
    ids = prefix + pd.Series(numbers).map("{:08d}".format).to_numpy(dtype=object)
    return np.where(vendor >= 0, ids, "")


def _schools(
    rng: np.random.Generator, truth: pd.DataFrame, rates: ErrorRates,
    errors: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The person's school, or (a move, or a test taken elsewhere) another school: in the same
    district for most moves, another district of the same state for the rest."""
    district = truth["district_code"].to_numpy(dtype=object).copy()
    school = truth["school_code"].to_numpy(dtype=object).copy()
    moved = errors["school_changed"] = _chosen(
        rng, np.ones(len(school), dtype=bool), rates.school_changed
    )
    count = int(moved.sum())
    new_district = np.where(
        rng.random(count) < 0.6,
        district[moved].astype(int),
        rng.integers(1, DISTRICTS_PER_STATE + 1, size=count),
    )
    new_school = new_district * 100 + rng.integers(1, SCHOOLS_PER_DISTRICT + 1, size=count)
    district[moved] = [f"{d:03d}" for d in new_district]
    school[moved] = [f"{s:05d}" for s in new_school]
    return district, school


def _chosen(rng: np.random.Generator, eligible: np.ndarray, rate: float) -> np.ndarray:
    return eligible & (rng.random(len(eligible)) < rate)


def _names(
    rng: np.random.Generator, truth: pd.DataFrame, rates: ErrorRates,
    errors: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    count = len(truth)
    first = truth["first_name"].to_numpy(dtype=object).copy()
    middle = truth["middle_name"].to_numpy(dtype=object).copy()
    last = truth["last_name"].to_numpy(dtype=object).copy()
    everyone = np.ones(count, dtype=bool)

    nicks = nickname_table()
    has_nick = np.fromiter((n in nicks for n in first), dtype=bool, count=count)
    errors["nickname"] = _chosen(rng, has_nick, rates.nickname)
    for i in np.flatnonzero(errors["nickname"]):
        options = nicks[first[i]]
        first[i] = options[rng.integers(len(options))]

    errors["hyphenated_surname"] = _chosen(rng, everyone, rates.hyphenated_surname)
    errors["changed_surname"] = _chosen(rng, ~errors["hyphenated_surname"], rates.changed_surname)
    surnames, probs = surname_table()
    for flag in ("hyphenated_surname", "changed_surname"):
        at = np.flatnonzero(errors[flag])
        other = surnames[rng.choice(len(surnames), size=len(at), p=probs)]
        if flag == "changed_surname":
            last[at] = other
        else:
            before = rng.random(len(at)) < 0.5
            last[at] = np.where(before, other + "-" + last[at], last[at] + "-" + other)

    errors["first_name_typo"] = _typos(rng, first, rates.first_name_typo)
    errors["last_name_typo"] = _typos(rng, last, rates.last_name_typo)
    errors["names_swapped"] = _chosen(rng, everyone, rates.names_swapped)
    swap = errors["names_swapped"]
    first[swap], last[swap] = last[swap], first[swap].copy()

    initial = _chosen(rng, middle != "", rates.middle_initial)
    middle[initial] = np.array([m[0] for m in middle[initial]], dtype=object)
    upper = _chosen(rng, everyone, rates.upper_case)
    for column in (first, middle, last):
        column[upper] = np.array([v.upper() for v in column[upper]], dtype=object)
    return first, middle, last


def _typos(rng: np.random.Generator, names: np.ndarray, rate: float) -> np.ndarray:
    """One keyboard slip (substitution, deletion, insertion or transposition) in place."""
    chosen = _chosen(rng, np.array([len(n) >= 3 for n in names], dtype=bool), rate)
    for i in np.flatnonzero(chosen):
        names[i] = _one_edit(rng, names[i])
    return chosen


def _one_edit(rng: np.random.Generator, name: str) -> str:
    kind = rng.integers(4)
    at = int(rng.integers(1, len(name)))  # keep the first letter: blocking rarely survives it
    letter = KEYBOARD[rng.integers(len(KEYBOARD))]
    if kind == 0:
        replaced = letter if letter != name[at].lower() else KEYBOARD[(ord(letter) - 96) % 26]
        return name[:at] + replaced + name[at + 1 :]
    if kind == 1:
        return name[:at] + name[at + 1 :]
    if kind == 2:
        return name[:at] + letter + name[at:]
    if name[at - 1] == name[at]:
        return name[:at] + letter + name[at + 1 :]
    return name[: at - 1] + name[at] + name[at - 1] + name[at + 1 :]


def _birth_dates(
    rng: np.random.Generator, born: np.ndarray, rates: ErrorRates, errors: dict[str, np.ndarray]
) -> np.ndarray:
    """ISO dates with swapped day/month, a mistyped day digit or the year off by one."""
    days = born.astype("datetime64[D]")
    year = days.astype("datetime64[Y]").astype(int) + 1970
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    day = (days - days.astype("datetime64[M]")).astype(int) + 1

    swappable = (day <= 12) & (day != month)
    swap = errors["day_month_swapped"] = _chosen(rng, swappable, rates.day_month_swapped)
    month[swap], day[swap] = day[swap], month[swap].copy()

    slip = _chosen(rng, ~swap, rates.birth_digit_slip)
    pending = np.flatnonzero(slip)
    for _ in range(20):  # redraw the units digit until the day is valid and differs
        units = rng.integers(0, 10, size=len(pending))
        candidate = day[pending] // 10 * 10 + units
        ok = (candidate != day[pending]) & (candidate >= 1) & (candidate <= 28)
        day[pending[ok]] = candidate[ok]
        pending = pending[~ok]
    slip[pending] = False
    errors["birth_digit_slip"] = slip

    errors["birth_year_off"] = _chosen(rng, np.ones(len(year), dtype=bool), rates.birth_year_off)
    year_off = errors["birth_year_off"]
    year[year_off] += np.where(rng.random(int(year_off.sum())) < 0.5, -1, 1)
    day[(month == 2) & (day == 29) & (year % 4 != 0)] = 28
    return (
        pd.Series(year).astype(str) + "-" + pd.Series(month).map("{:02d}".format)
        + "-" + pd.Series(day).map("{:02d}".format)
    ).to_numpy(dtype=object)  # fmt: skip


def _state_ids(
    rng: np.random.Generator, truth: pd.DataFrame, is_district: np.ndarray, rates: ErrorRates,
    errors: dict[str, np.ndarray],
) -> np.ndarray:  # fmt: skip
    ids = truth["state_student_id"].to_numpy(dtype=object).copy()
    missing_rate = np.where(is_district, rates.ssid_missing_district, rates.ssid_missing_vendor)
    missing = rng.random(len(ids)) < missing_rate
    errors["ssid_missing"] = missing
    ids[missing] = ""
    errors["ssid_typo"] = _chosen(rng, ~missing, rates.ssid_typo)
    for i in np.flatnonzero(errors["ssid_typo"]):
        ids[i] = _id_slip(rng, ids[i])
    return ids


def _id_slip(rng: np.random.Generator, value: str) -> str:
    at = int(rng.integers(0, len(value) - 1))
    if rng.random() < 0.5 and value[at] != value[at + 1]:  # transposition
        return value[:at] + value[at + 1] + value[at] + value[at + 2 :]
    digit = str((int(value[at]) + int(rng.integers(1, 10))) % 10)
    return value[:at] + digit + value[at + 1 :]


def describe(spec: PopulationSpec | None = None) -> dict:
    """The spec and rates as plain data (for benchmark reports)."""
    return asdict(spec or PopulationSpec())
