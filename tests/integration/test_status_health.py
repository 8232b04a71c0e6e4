"""GET /status's streams: what ingests report on senri.health, read back from a real broker."""

from __future__ import annotations

import types
import uuid

import pytest

from senri.api.status import KafkaStatus
from senri.connectors.health_topic import HealthReporter, health_topic_spec
from senri.connectors.kafka import BusProducer, ensure_topics
from senri.engine.health import StreamHealth
from senri.records import DeadLetter
from senri.services import kafka_bootstrap

pytestmark = pytest.mark.integration


def test_status_shows_a_camera_down_with_why_and_then_up_again() -> None:
    bootstrap = kafka_bootstrap()
    ensure_topics(bootstrap, [health_topic_spec()])
    stream = f"cam-status-{uuid.uuid4().hex[:8]}"
    status = KafkaStatus(bootstrap, every_s=0.0)
    try:
        with BusProducer(bootstrap) as producer:
            reporters: list[HealthReporter] = []
            health = StreamHealth(None, lambda *state: reporters[0].changed(*state))
            reporters.append(HealthReporter(producer, health))
            refused = "connecting to rtsp://cam/1 failed: Connection refused; reconnecting in 1.00s"
            health.seen(DeadLetter(stream, f"{stream}:0", "source.video", refused))
            reporters[0].tick()
            producer.flush()
            mine = [s for s in status.report()["streams"] if s["stream"] == stream]
            assert len(mine) == 1 and mine[0]["state"] == "down", mine
            assert mine[0]["reason"] == "Connection refused" and mine[0]["retry_in"] == 1.0
            health.seen(types.SimpleNamespace(stream_id=stream))
            reporters[0].tick()
            producer.flush()
            mine = [s for s in status.report()["streams"] if s["stream"] == stream]
            assert mine[0]["state"] == "up" and mine[0]["outages"] == 1, mine
    finally:
        status.close()
