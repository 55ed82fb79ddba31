"""Event tags: `"source:subject:action"` names, each declared by the domain that emits it.

A domain declares its tags as a `StrEnum` subclass of `EventTag` in its own
`events.py` (`exchange.events.ExchangeEvent`, `audit.events.AuditEvent`, ...),
so adding a tag edits only the domain that emits it.  The stored value is the
string; the enum is how code names it.  `all_tags()` lists every declared tag
(for the reference manual and the test that no two domains claim one name).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from enum import StrEnum


class EventTag(StrEnum):
    """Base of every domain's tag enum; has no members of its own."""


def declared_tag_classes() -> list[type[EventTag]]:
    """Every `EventTag` subclass imported so far, in a stable order."""
    found: list[type[EventTag]] = []
    pending = list(EventTag.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: (cls.__module__, cls.__name__))


def import_event_modules(packages: Iterable[str]) -> None:
    """Import each `events` module found under `packages`, so their tags are declared."""
    for name in packages:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if info.name.rsplit(".", 1)[-1] == "events":
                importlib.import_module(info.name)


def all_tags() -> Iterator[tuple[type[EventTag], EventTag]]:
    for cls in declared_tag_classes():
        for tag in cls:
            yield cls, tag
