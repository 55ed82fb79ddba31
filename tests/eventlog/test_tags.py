"""Each domain declares its own event tags; together they stay unique and well formed."""

import re

from eventlog.tags import EventTag, all_tags, import_event_modules

DOMAINS = [
    "eventlog", "schemas", "agreements", "access", "exchange", "rosters", "linkage",
    "retention", "audit", "reports",
]  # fmt: skip
TAG = re.compile(r"^[a-z_]+:[a-z_]+:[a-z_]+$")


def declared() -> list[tuple[type[EventTag], EventTag]]:
    import_event_modules(DOMAINS)
    return list(all_tags())


def test_every_tag_reads_source_subject_action():
    bad = [str(tag) for _, tag in declared() if not TAG.fullmatch(str(tag))]
    assert bad == []


def test_no_two_domains_declare_the_same_tag():
    values = [str(tag) for _, tag in declared()]
    assert len(values) == len(set(values)) and len(values) > 60


def test_each_tag_enum_lives_in_its_domains_events_module():
    for cls, _ in declared():
        assert cls.__module__.endswith(".events"), cls
        assert cls.__doc__, f"{cls.__name__} needs a docstring for the reference manual"


def test_tags_compare_equal_to_the_strings_stored_in_the_log():
    from exchange.events import ExchangeEvent

    assert ExchangeEvent.DELIVERY_LOADED == "delivery:file:loaded"
    assert isinstance(ExchangeEvent.DELIVERY_LOADED, EventTag)
