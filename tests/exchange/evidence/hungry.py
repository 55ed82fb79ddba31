"""Work for the sandbox's tests: module-level, so a decoder child can import it by name."""

from __future__ import annotations

import time


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes << 20))


def spin() -> None:
    while True:
        pass


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"
