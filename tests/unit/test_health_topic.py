"""Streams' health as `senri ingest` reports it on senri.health, and how /status reads it."""

from __future__ import annotations

import json
import types
from typing import Any

import pytest

from senri.connectors.health_topic import HEALTH_TOPIC, SILENT_AFTER_S, HealthReporter, state_of
from senri.engine.health import StreamHealth
from senri.records import DeadLetter

pytestmark = pytest.mark.unit

REFUSED = "connecting to rtsp://cam/1 failed: Connection refused; reconnecting in 2.00s"


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, dict[str, Any]]] = []

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Any) -> None:
        self.sent.append((topic, key, json.loads(value)))


def test_a_change_is_published_at_once_and_everything_every_interval() -> None:
    now = [1000.0]
    producer = Producer()
    health = StreamHealth(None, clock=lambda: now[0])
    reporter = HealthReporter(producer, health, every_s=30, clock=lambda: now[0])  # type: ignore[arg-type]
    frame = types.SimpleNamespace(stream_id="cam1")
    health.seen(frame)
    reporter.tick()
    assert [(t, k, v["up"]) for t, k, v in producer.sent] == [(HEALTH_TOPIC, b"cam1", True)]
    now[0] += 1
    health.seen(frame)
    reporter.tick()  # nothing changed, and it is not time yet
    assert len(producer.sent) == 1
    health.seen(DeadLetter("cam1", "cam1:5", "source.video", REFUSED))
    reporter.tick()
    down = producer.sent[-1][2]
    assert not down["up"] and down["reason"] == "Connection refused" and down["retry_in"] == 2.0
    now[0] += 31
    reporter.tick()  # the interval: the same state again, with a new time
    assert len(producer.sent) == 3 and producer.sent[-1][2]["reported_at"] == now[0]
    reporter.close()
    assert producer.sent[-1][2]["ended"] is True


def test_a_streams_state_in_one_word() -> None:
    at = 5000.0
    up = {"up": True, "reported_at": at}
    assert state_of(up, at + 1) == "up"
    assert state_of({**up, "up": False}, at + 1) == "down"
    assert state_of({**up, "up": False, "gave_up": True}, at + 1) == "gave up"
    assert state_of({**up, "ended": True}, at + SILENT_AFTER_S * 10) == "ended"
    assert state_of(up, at + SILENT_AFTER_S + 1) == "silent"  # its ingest stopped reporting
