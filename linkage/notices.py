"""What the linkage engine warns about, collected for the run instead of printed.

Splink logs its warnings (a comparison level never seen in the training pairs,
an EM rule whose sample found no pairs) to the `splink` logger, which with no
handler ends on stderr through logging's last resort, while the run's JSON
said nothing.  `collected()` catches them (and Python warnings raised while
linking) for the length of a run; the caller adds them to `LinkResult.warnings`,
so they reach `--json` and the run's event.  Splink's messages name comparisons
and levels, never a record's values.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_NOT_OBSERVED = re.compile(
    r"Level (?P<level>.+?) on comparison (?P<comparison>\S+) not observed in dataset, "
    r"unable to train (?P<which>[mu]) value"
)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def plain(message: str) -> str:
    """A Splink warning as an operator reads it (one line, what it means for the run)."""
    text = " ".join(message.replace("WARNING:", " ").split())
    found = _NOT_OBSERVED.search(text)
    if found:
        return (
            f"training: level '{found['level']}' of comparison {found['comparison']} was not "
            f"observed in the training pairs; its {found['which']} value keeps the prior"
        )
    if text.startswith("training: "):
        return text
    if "Probe returned zero blocked pairs" in text:
        return "training: the EM sample probe found no pairs, so EM read every blocked pair"
    return f"linkage engine: {text.removeprefix('[EM sampling] ')}"


@contextmanager
def collected() -> Iterator[list[str]]:
    """Splink's warnings (and Python warnings) raised inside the block, in plain words,
    each once, in the order first raised."""
    logger = logging.getLogger("splink")
    collector = _Collector()
    propagate = logger.propagate
    logger.addHandler(collector)
    logger.propagate = False  # nothing on stderr: the run reports them
    found: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as raised:
            warnings.simplefilter("always")
            yield found
    finally:
        logger.removeHandler(collector)
        logger.propagate = propagate
    notes = [plain(m) for m in collector.messages]
    notes += [f"{w.category.__name__}: {w.message}" for w in raised]
    found.extend(dict.fromkeys(notes))
