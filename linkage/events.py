"""The event tags `linkage` emits; see `eventlog.tags` for the rule."""

from eventlog.tags import EventTag


class LinkageEvent(EventTag):
    """Tags of the record linker: runs, merges, splits, reviews and every view of a person."""

    LINK_RUN_FINISHED = "linkage:run:finished"
    PERSON_MERGED = "linkage:person:merged"
    PERSON_SPLIT = "linkage:person:split"
    PERSON_VIEWED = "linkage:person:viewed"
    REVIEW_VIEWED = "linkage:review:viewed"
    REVIEW_DECIDED = "linkage:review:decided"
    LINK_FILE_LINKED = "linkage:file:linked"
