"""A second student population, written apart from `linkage.synthetic`, for held-out tests.

The linker's priors and rules were tuned on `linkage.synthetic`; a score on
its own generator says little about other data.  This generator shares no
code or table with it and differs on purpose: its own name lists (Louisiana,
Mississippi, Texas, Tennessee and Georgia rolls: Cajun, Hispanic, Vietnamese
and African-American surnames, with a syllable tail of rare ones), its own
error rates (more typos, phonetic spellings, a first name replaced by the
middle one, compound surnames written together, US-style dates, double id
typos), state student ids in each state's own format and numbered
**sequentially** (classmates are one edit apart), siblings and twins sharing a
home, and students who move between states.

A person who moves has records in two states, under two state ids.  credx
links within one state (a consortium's states never share persons), so the
truth here, `true_person_id`, is the person within a state: `P0000012@LA`.

Deterministic in `seed`, vectorised: a million records take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def _words(text: str) -> list[str]:
    return text.split()


COMPOUND = ["De La Rosa", "Del Rio", "St Julien", "Van Horn", "O'Neal", "McDaniel", "Da Silva"]
SURNAMES = [
    *_words(
        "Johnson Williams Brown Jackson Davis Thomas Harris Robinson Washington Lewis Walker "
        "Hebert Landry Broussard Thibodeaux Guidry Fontenot LeBlanc Richard Boudreaux Arceneaux "
        "Trahan Mouton Savoie Doucet Comeaux Hebert-Landry Romero Dupuis Bergeron Melancon "
        "Garcia Rodriguez Martinez Hernandez Lopez Gonzalez Perez Sanchez Ramirez Torres Flores "
        "Rivera Gomez Diaz Reyes Cruz Morales Ortiz Gutierrez Chavez Ramos Vasquez Castillo "
        "Nguyen Tran Le Pham Huynh Hoang Phan Vu Vo Dang Bui Do Ho Ngo Duong Ly "
        "Smith Jones Miller Wilson Moore Taylor Anderson White Martin Thompson Clark Hall Allen "
        "Young King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter "
        "Phillips Evans Turner Parker Collins Edwards Stewart Morris Murphy Cook Rogers Morgan "
        "Cooper Peterson Reed Bailey Bell Kelly Howard Ward Cox Richardson Wood Watson Brooks "
        "Bennett Gray James Hughes Price Sanders Myers Long Ross Foster Powell Jenkins Perry "
        "Russell Sullivan Coleman Butler Simmons Patterson Hayes Bryant Alexander Griffin"
    ),
    *COMPOUND,
]
GIVEN_F = _words(
    "Aaliyah Ava Brianna Camila Chloe Destiny Emily Emma Gabriela Hannah Isabella Jasmine "
    "Kayla Keisha Layla Madison Maria Mia Naomi Olivia Sofia Taylor Trinity Valeria Zoe "
    "Linh Mai Thao Anh Ngoc Ximena Lucia Daniela Jada Imani Amani Kennedy Skylar Brooklyn "
    "Alexis Jordan Morgan Ashley Jessica Samantha Elizabeth Katherine Margaret Victoria"
)
GIVEN_M = _words(
    "Aiden Anthony Caleb Carlos Christopher Daniel David Elijah Ethan Gabriel Isaiah "
    "Jacob Jayden Jose Joshua Juan Justin Kevin Liam Luis Marcus Matthew Michael Noah "
    "Robert Tyler William Xavier Minh Huy Khoa Duc Tuan Diego Mateo Santiago Andre "
    "Darnell Jamal Malik Terrell DeShawn Jordan Cameron Alexander Benjamin Jonathan "
    "Nicholas Samuel Thomas Zachary"
)
NICKNAMES = {
    "Elizabeth": ("Liz", "Beth", "Lizzie"), "Katherine": ("Kate", "Katie"),
    "Margaret": ("Maggie", "Peggy"), "Victoria": ("Tori", "Vicky"), "Samantha": ("Sam",),
    "Jessica": ("Jess",), "Alexander": ("Alex",), "Benjamin": ("Ben",),
    "Christopher": ("Chris",), "Daniel": ("Dan", "Danny"), "Jonathan": ("Jon",),
    "Joshua": ("Josh",), "Matthew": ("Matt",), "Michael": ("Mike",), "Nicholas": ("Nick",),
    "Robert": ("Bob", "Rob", "Bobby"), "Samuel": ("Sam",), "Thomas": ("Tom", "Tommy"),
    "William": ("Will", "Bill"), "Zachary": ("Zach",), "Anthony": ("Tony",),
    "David": ("Dave",), "Jose": ("Pepe",),
}  # fmt: skip
PHONETIC = (("ph", "f"), ("c", "k"), ("ie", "y"), ("ou", "u"), ("th", "t"), ("ei", "ie"),
            ("ck", "k"), ("y", "i"), ("z", "s"), ("x", "ks"))  # fmt: skip
STATES = ("LA", "MS", "TX", "TN", "GA")
STATE_SHARE = (0.3, 0.15, 0.25, 0.15, 0.15)
ID_FORMATS = {"LA": "LA{:07d}", "MS": "MS-{:08d}", "TX": "S{:09d}", "TN": "{:09d}",
              "GA": "GA {:06d}"}  # fmt: skip
VENDORS = (("certiport", "CP-{:06d}"), ("nccer", "{:08d}"), ("pearson_vue", "PV{:07d}"),
           ("comptia", "COMP{:08d}"))  # fmt: skip


@dataclass(frozen=True)
class HeldoutRates:
    """Per-record error rates (chosen unlike `linkage.synthetic.ErrorRates`)."""

    first_typo: float = 0.05
    last_typo: float = 0.04
    phonetic: float = 0.03
    nickname: float = 0.06
    goes_by_middle: float = 0.02  # the middle name given as the first, the first dropped
    compound_joined: float = 0.03  # "De La Rosa" written "Delarosa"
    first_missing: float = 0.01
    dob_us_format: float = 0.3  # MM/DD/YYYY as typed, not an error
    dob_day_month: float = 0.04
    dob_year_digit: float = 0.015  # 2008 -> 2009 or 2003 (a digit of the year)
    dob_missing: float = 0.01
    ssid_missing_vendor: float = 0.4
    ssid_typo: float = 0.03
    ssid_double_typo: float = 0.005
    move_state: float = 0.05  # persons with records in a second state
    twin: float = 0.015
    sibling: float = 0.1  # a younger sibling at the same address
    address: float = 0.5
    postcode: float = 0.7


def _names_with_tail(rng: np.random.Generator, head: list[str], tail: int, exponent: float):
    """(names, probabilities): the head Zipf-weighted, then `tail` rare syllable names."""
    onsets = np.array([*"bdfgjklmnprstvz", "sh", "ch", "qu", "ph", "kr"])
    vowels = np.array(["a", "o", "e", "i", "u", "ee", "oa", "au"])
    ends = np.array(["", "x", "ll", "nne", "rd", "s", "tte", "ng"])
    parts = [rng.choice(a, size=tail * 2) for a in (onsets, vowels, onsets, vowels, ends)]
    words = parts[0]
    for part in parts[1:]:
        words = np.char.add(words, part)
    rare = [w for w in pd.unique(pd.Series(words).str.capitalize()) if w not in head][:tail]
    names = np.array([*head, *rare], dtype=object)
    weights = 1.0 / np.arange(1, len(names) + 1) ** exponent
    weights[: len(head)] *= 3  # the listed names are the common ones
    return names, weights / weights.sum()


def _persons(rng: np.random.Generator, count: int, rates: HeldoutRates) -> pd.DataFrame:
    surnames, s_probs = _names_with_tail(rng, SURNAMES, 30_000, 0.9)
    female = rng.random(count) < 0.5
    first = np.empty(count, dtype=object)
    middle = np.empty(count, dtype=object)
    for is_f, table in ((True, GIVEN_F), (False, GIVEN_M)):
        names, probs = _names_with_tail(rng, list(table), 4_000, 1.1)
        at = np.flatnonzero(female == is_f)
        first[at] = names[rng.choice(len(names), size=len(at), p=probs)]
        middle[at] = names[rng.choice(len(names), size=len(at), p=probs)]
    middle[rng.random(count) < 0.35] = ""
    born = np.datetime64("2004-08-01") + rng.integers(0, 7 * 365, size=count)
    frame = pd.DataFrame({
        "first_name": first, "middle_name": middle,
        "last_name": surnames[rng.choice(len(surnames), size=count, p=s_probs)],
        "birth_date": born.astype("datetime64[D]"), "gender": np.where(female, "F", "M"),
        "state": np.array(STATES)[rng.choice(len(STATES), size=count, p=STATE_SHARE)],
        "school": rng.integers(1, 400, size=count),
        "home": rng.integers(1, 10**9, size=count),
    })  # fmt: skip
    # siblings and twins: person i+1 takes person i's surname, home, school (and birth date)
    pair = np.flatnonzero(rng.random(count - 1) < rates.sibling + rates.twin) + 1
    pair = pair[~np.isin(pair - 1, pair)]
    twin = rng.random(len(pair)) < rates.twin / (rates.sibling + rates.twin)
    for column in ("last_name", "state", "school", "home"):
        frame.loc[pair, column] = frame.loc[pair - 1, column].to_numpy()
    gap = np.where(twin, 0, rng.integers(300, 1100, size=len(pair)))
    frame.loc[pair, "birth_date"] = frame.loc[pair - 1, "birth_date"].to_numpy() + gap.astype(
        "timedelta64[D]"
    )
    same = frame.loc[pair, "first_name"].to_numpy() == frame.loc[pair - 1, "first_name"].to_numpy()
    frame.loc[pair[same], "first_name"] = "Jordan"  # a sibling never shares a first name here
    frame.loc[pair[same & (frame.loc[pair - 1, "first_name"].to_numpy() == "Jordan")],
              "first_name"] = "Morgan"  # fmt: skip
    frame["moves_to"] = np.where(
        rng.random(count) < rates.move_state,
        np.array(STATES)[rng.integers(0, len(STATES), size=count)],
        "",
    )
    frame.loc[frame["moves_to"] == frame["state"], "moves_to"] = ""
    return frame


def _sequential_ids(states: np.ndarray) -> np.ndarray:
    """Each state numbers its students in enrolment order, in its own format."""
    ids = np.empty(len(states), dtype=object)
    for state, fmt in ID_FORMATS.items():
        at = np.flatnonzero(states == state)
        ids[at] = [fmt.format(1000 + n) for n in range(len(at))]
    return ids


def _edit(rng: np.random.Generator, text: str, alphabet: str) -> str:
    if len(text) < 3:
        return text
    at = int(rng.integers(1, len(text)))
    kind = int(rng.integers(3))
    letter = alphabet[int(rng.integers(len(alphabet)))]
    if kind == 0:
        return text[:at] + letter + text[at + 1 :]
    if kind == 1:
        return text[:at] + text[at + 1 :]
    return text[: at - 1] + text[at] + text[at - 1] + text[at + 1 :]


def _phonetic(rng: np.random.Generator, name: str) -> str:
    for source, target in PHONETIC[int(rng.integers(len(PHONETIC))) :]:
        if source in name.lower():
            at = name.lower().index(source)
            return name[:at] + target + name[at + len(source) :]
    return name


def _apply(rng, values: np.ndarray, chosen: np.ndarray, fn) -> None:
    for i in np.flatnonzero(chosen):
        if values[i]:
            values[i] = fn(values[i])


def _records(rng: np.random.Generator, persons: pd.DataFrame, person_of: np.ndarray,
             rates: HeldoutRates) -> pd.DataFrame:  # fmt: skip
    count = len(person_of)
    truth = persons.iloc[person_of].reset_index(drop=True)
    moved = (truth["moves_to"].to_numpy() != "") & (rng.random(count) < 0.5)
    state = np.where(moved, truth["moves_to"].to_numpy(), truth["state"].to_numpy())
    first = truth["first_name"].to_numpy(dtype=object).copy()
    middle = truth["middle_name"].to_numpy(dtype=object).copy()
    last = truth["last_name"].to_numpy(dtype=object).copy()
    roll = lambda rate: rng.random(count) < rate  # noqa: E731
    by_middle = roll(rates.goes_by_middle) & (middle != "")
    first[by_middle], middle[by_middle] = middle[by_middle], ""
    _apply(rng, first, roll(rates.nickname), lambda v: _nick(rng, v))
    _apply(rng, first, roll(rates.phonetic), lambda v: _phonetic(rng, v))
    _apply(rng, last, roll(rates.phonetic), lambda v: _phonetic(rng, v))
    _apply(rng, first, roll(rates.first_typo), lambda v: _edit(rng, v, "aeinorst"))
    _apply(rng, last, roll(rates.last_typo), lambda v: _edit(rng, v, "aeilnorsu"))
    joined = roll(rates.compound_joined)
    last[joined] = [v.replace(" ", "").capitalize() for v in last[joined]]
    first[roll(rates.first_missing)] = ""
    born = truth["birth_date"].to_numpy().astype("datetime64[D]")
    year = born.astype("datetime64[Y]").astype(int) + 1970
    month = born.astype("datetime64[M]").astype(int) % 12 + 1
    day = (born - born.astype("datetime64[M]")).astype(int) + 1
    swap = roll(rates.dob_day_month) & (day <= 12) & (day != month)
    month[swap], day[swap] = day[swap], month[swap].copy()
    year_digit = roll(rates.dob_year_digit)
    year[year_digit] = year[year_digit] // 10 * 10 + rng.integers(0, 10, int(year_digit.sum()))
    day[(month == 2) & (day > 28)] = 28
    us = roll(rates.dob_us_format)
    dob = np.where(
        us,
        [f"{m:02d}/{d:02d}/{y}" for y, m, d in zip(year, month, day, strict=True)],
        [f"{y}-{m:02d}-{d:02d}" for y, m, d in zip(year, month, day, strict=True)],
    ).astype(object)
    dob[roll(rates.dob_missing)] = ""
    vendor = rng.integers(-1, len(VENDORS), size=count)  # -1: a district's roster row
    ssid = persons["ssid_home"].to_numpy(dtype=object)[person_of].copy()
    ssid[moved] = persons["ssid_moved"].to_numpy(dtype=object)[person_of[moved]]
    ssid[(vendor >= 0) & roll(rates.ssid_missing_vendor)] = ""
    _apply(rng, ssid, roll(rates.ssid_typo), lambda v: _edit(rng, v, "0123456789"))
    _apply(rng, ssid, roll(rates.ssid_double_typo),
           lambda v: _edit(rng, _edit(rng, v, "0123456789"), "0123456789"))  # fmt: skip
    source = np.array([v[0] for v in VENDORS] + ["district"], dtype=object)[vendor]
    candidate = np.array(
        [VENDORS[v][1].format(p * 7 + v) if v >= 0 else "" for p, v in
         zip(person_of, vendor, strict=True)], dtype=object)  # fmt: skip
    home = truth["home"].to_numpy()
    return pd.DataFrame({
        "true_person_id": [f"P{p:07d}@{s}" for p, s in zip(person_of, state, strict=True)],
        "first_name": first, "middle_name": middle, "last_name": last, "birth_date": dob,
        "gender": np.where(roll(0.2), "", truth["gender"].to_numpy()),
        "state_student_id": ssid, "source": source, "source_person_id": candidate,
        "state": state,
        "school_code": [f"{s}-{n:04d}" for s, n in zip(state, truth["school"], strict=True)],
        "address": np.where(roll(rates.address), [f"{h % 9000 + 100} County Rd {h % 97}"
                                                 for h in home], ""),
        "postcode": np.where(roll(rates.postcode), [f"{39000 + h % 3000:05d}" for h in home], ""),
    })  # fmt: skip


def _nick(rng: np.random.Generator, name: str) -> str:
    options = NICKNAMES.get(name)
    return options[int(rng.integers(len(options)))] if options else name


def heldout_records(records: int, *, seed: int = 0, rates: HeldoutRates | None = None):
    """`records` rows of a held-out population (canonical columns + `true_person_id`)."""
    rates = rates or HeldoutRates()
    rng = np.random.default_rng(seed)
    persons_count = max(2, int(records / 2.2))
    persons = _persons(rng, persons_count, rates)
    persons["ssid_home"] = _sequential_ids(persons["state"].to_numpy())
    moved_ids = _sequential_ids(persons["moves_to"].to_numpy())
    persons["ssid_moved"] = [f"{i}9" if i else "" for i in moved_ids]  # after the natives
    person_of = np.sort(rng.integers(0, persons_count, size=records))
    frame = _records(rng, persons, person_of, rates)
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    frame.insert(0, "record_id", [f"H{i:08d}" for i in range(len(frame))])
    return frame
