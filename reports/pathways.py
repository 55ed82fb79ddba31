"""Which credentials a roster pathway (completed course sequence) leads to, per state.

Neither the roster nor the agreements record a pathway -> credential relation,
so a state supplies it as a small YAML document (one per state)::

    state: LA
    pathways:
      IT-NET: [CMPTA001, CISCO001]
      HLTH-CNA: [NHANA001]

The attainment report reads `$CREDX_HOME/pathways/<STATE>.yaml` unless given
another file (`credx report attainment --pathways FILE`).  Without one the
"completed the course sequence" column is empty (reported as not configured),
never a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlmodel import Session

from kernel.errors import InvalidInput
from kernel.values import state_code as check_state
from schemas.credentials import known_codes


@dataclass(frozen=True)
class PathwayMap:
    """A state's pathway codes and the credential codes each leads to."""

    state: str
    leads_to: dict[str, frozenset[str]]
    source: str

    def credentials_of(self, pathway: str | None) -> frozenset[str]:
        return self.leads_to.get(pathway or "", frozenset())


def default_path(home: Path, state: str) -> Path:
    return home / "pathways" / f"{state}.yaml"


def parse_pathways(text: str, source: str, registry: frozenset[str]) -> PathwayMap:
    """The document's map; `InvalidInput` names the file and the first problem."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(document, dict) or set(document) != {"state", "pathways"}:
        raise InvalidInput(f"{source}: expected exactly the fields state and pathways")
    state = check_state(str(document["state"]))
    pathways = document["pathways"]
    if not isinstance(pathways, dict) or not pathways:
        raise InvalidInput(f"{source}: pathways must map pathway codes to lists of credentials")
    leads_to = {}
    for pathway, codes in pathways.items():
        if not isinstance(codes, list) or not codes:
            raise InvalidInput(f"{source}: pathway {pathway} needs a list of credential codes")
        unknown = sorted(str(c) for c in codes if str(c) not in registry)
        if unknown:
            raise InvalidInput(
                f"{source}: pathway {pathway} names unknown credential code {unknown[0]!r}, "
                "which is not in the credential registry",
                hint="see `credx credentials list`",
            )
        leads_to[str(pathway)] = frozenset(str(c) for c in codes)
    return PathwayMap(state, leads_to, source)


def load_pathways(path: Path, state: str, registry: frozenset[str]) -> PathwayMap | None:
    """The map in `path` for `state`; None if the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    found = parse_pathways(text, path.name, registry)
    if found.state != state:
        raise InvalidInput(f"{path.name} is the pathway map of {found.state}, not of {state}")
    return found


def pathways_for(
    session: Session, home: Path, state: str, path: Path | None = None
) -> PathwayMap | None:
    """The map a report uses: `path` if given (it must exist), else the home's file if any."""
    registry = known_codes(session)
    if path is not None:
        found = load_pathways(path, state, registry)
        if found is None:
            raise InvalidInput(f"pathway map {path} does not exist")
        return found
    return load_pathways(default_path(home, state), state, registry)
