"""Time in one place: credx stores and compares instants in UTC only."""

from datetime import UTC, date, datetime, time, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; credx only ever wrote UTC, so say so."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def today() -> date:
    return utcnow().date()


def day_span(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """A list's "from day … until day" filter as UTC instants: [start of since, start of the
    day after until), so `until` includes its whole day."""
    start = datetime.combine(since, time.min, UTC) if since else None
    end = datetime.combine(until + timedelta(days=1), time.min, UTC) if until else None
    return start, end
