"""The decoding sandbox: memory, CPU and wall-clock limits, and the bounded queue."""

from __future__ import annotations

import threading

import pytest

from exchange.evidence.refusals import EvidenceRefused
from exchange.evidence.sandbox import Sandbox, SandboxLimits
from tests.exchange.evidence import hungry


def limits(**changes) -> SandboxLimits:
    base = {"memory_bytes": 64 << 20, "cpu_seconds": 1, "wall_seconds": 10.0, "workers": 1,
            "queue": 0}  # fmt: skip
    return SandboxLimits(**{**base, **changes})


def refusal(sandbox: Sandbox, function, *args) -> EvidenceRefused:
    with pytest.raises(EvidenceRefused) as caught:
        sandbox.run(function, *args)
    return caught.value


def test_work_within_the_limits_returns_its_result():
    assert Sandbox(limits()).run(hungry.allocate, 8) == 8 << 20


def test_memory_past_the_limit_is_a_413_refusal():
    refused = refusal(Sandbox(limits()), hungry.allocate, 256)
    assert (refused.code, refused.http_status) == ("decode_memory_limit", 413)


def test_cpu_past_the_limit_is_a_422_refusal():
    refused = refusal(Sandbox(limits()), hungry.spin)
    assert (refused.code, refused.http_status) == ("decode_time_limit", 422)


def test_wall_clock_past_the_timeout_kills_the_child():
    refused = refusal(Sandbox(limits(wall_seconds=0.5)), hungry.sleep, 30)
    assert refused.code == "decode_time_limit"


def test_beyond_workers_and_queue_the_upload_is_refused_as_busy():
    sandbox = Sandbox(limits(wall_seconds=5.0))
    started = threading.Thread(target=sandbox.run, args=(hungry.sleep, 1.5))
    started.start()
    try:
        threading.Event().wait(0.3)
        refused = refusal(sandbox, hungry.sleep, 0)
        assert (refused.code, refused.http_status) == ("decoders_busy", 503)
    finally:
        started.join()
    assert sandbox.run(hungry.sleep, 0) == "slept"  # the queue is free again
