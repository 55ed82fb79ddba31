"""Process logs for `credx serve` and `credx worker`: one JSON object per line, scrubbed.

Logs leave the FERPA boundary (log shippers, support tickets), so every
record is scrubbed before it is written, whatever the format: query strings
(search forms carry names), bearer values and credx token secrets, the values
of known student and secret fields (`birth_date=...`, `"student_name": ...`),
key values in database errors (`Key (state_student_id)=(...)`) and SQL
parameters in SQLAlchemy errors.  Fields passed as `extra=` with a sensitive
name are replaced, never written.

A JSON line carries `time`, `level`, `logger`, `message`, the `request_id` of
the request being served (also sent back as `X-Request-ID`), and for request
lines `method`, `path`, `route`, `status` and `duration_ms`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

request_id: ContextVar[str | None] = ContextVar("credx_request_id", default=None)

SCRUBBED = "[scrubbed]"
SENSITIVE_KEYS = frozenset({
    "student_name", "first_name", "middle_name", "last_name", "name", "birth_date", "dob",
    "state_student_id", "student_id", "student", "candidate_id", "ssn", "email",
    "token", "secret", "password", "authorization", "cookie", "csrf_token", "api_key",
    "metrics_token", "query", "query_string",
})  # fmt: skip
_KEYS = "|".join(sorted(SENSITIVE_KEYS, key=len, reverse=True))
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"credx_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}"), "credx_" + SCRUBBED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s,;\"']+"), r"\1 " + SCRUBBED),
    (re.compile(r"(?<=[\w/.\-%])\?[^\s\"'<>]+"), "?" + SCRUBBED),
    (re.compile(rf"""(?i)(["']?\b(?:{_KEYS})\b["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&)}}]+)"""),
     r"\1" + SCRUBBED),
    (re.compile(r"(Key \([^)]*\))=\([^)]*\)"), r"\1=(" + SCRUBBED + ")"),
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: " + SCRUBBED + "]"),
)  # fmt: skip
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def scrub(text: str) -> str:
    """`text` with every pattern above replaced; safe to call on anything already scrubbed."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _scrub_value(key: str, value: object) -> object:
    if key.lower() in SENSITIVE_KEYS:
        return SCRUBBED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return scrub(str(value))


def record_fields(record: logging.LogRecord) -> dict[str, object]:
    """The scrubbed fields of one record, in a stable order."""
    fields: dict[str, object] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "message": scrub(record.getMessage()),
    }
    current = getattr(record, "request_id", None) or request_id.get()
    if current:
        fields["request_id"] = scrub(current)
    for key, value in vars(record).items():
        if key not in _STANDARD and key not in fields:
            fields[key] = _scrub_value(key, value)
    if record.exc_info:
        fields["exception"] = scrub("".join(traceback.format_exception(*record.exc_info)))
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record_fields(record), default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable, for a terminal; scrubbed exactly as the JSON lines are."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record)
        head = f"{fields.pop('time')} {fields.pop('level'):<7} {fields.pop('logger')}: "
        message, exception = fields.pop("message"), fields.pop("exception", None)
        extras = " ".join(f"{key}={value}" for key, value in fields.items())
        line = head + str(message) + (f" [{extras}]" if extras else "")
        return line + (f"\n{exception}" if exception else "")


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}
# uvicorn's own access log writes the raw query string: credx logs requests itself instead.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class StderrHandler(logging.StreamHandler[Any]):
    """Writes to `sys.stderr` as it is when a line is logged, not as it was when logging was
    set up: a caller that swaps stderr and later closes its stand-in (a test running the CLI
    in-process) must not leave every later log line failing on a closed file."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _stream: Any) -> None:
        pass  # always the current sys.stderr


STDERR_HANDLER = {"()": f"{__name__}.StderrHandler", "formatter": "credx"}


def log_config(fmt: str, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` document: everything to stderr through one scrubbing
    formatter (also handed to uvicorn as `--log-config`, so its own lines are scrubbed)."""
    formatter = {"()": f"{__name__}.{FORMATTERS[fmt].__name__}"}
    loggers = {name: {"handlers": [], "propagate": True, "level": level}
               for name in UVICORN_LOGGERS}  # fmt: skip
    loggers["uvicorn.access"] = {"handlers": [], "propagate": False, "level": "CRITICAL"}
    # httpx logs every URL it fetches at INFO (badge issuers); the failures are what matter
    loggers["httpx"] = {"handlers": [], "propagate": True, "level": "WARNING"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"credx": formatter},
        "handlers": {"stderr": STDERR_HANDLER},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": loggers,
    }


def configure_logging(fmt: str, level: str = "INFO") -> None:
    """Route this process's logging through the scrubbing formatter (`credx worker`)."""
    import logging.config

    logging.config.dictConfig(log_config(fmt, level))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    logging.getLogger("credx").critical("uncaught exception", exc_info=(kind, value, tb))
