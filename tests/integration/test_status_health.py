"""GET /status's streams: what ingests report on senri.health, read back from a real broker."""

from __future__ import annotations

import types
import uuid

import pytest

from senri.api.status import KafkaStatus
from senri.connectors.health_topic import HEALTH_TOPIC, HealthReporter, health_topic_spec
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
            health = StreamHealth()
            reporters = [HealthReporter(producer, health)]
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


def test_a_malformed_health_record_is_skipped_not_fatal() -> None:
    """Anyone can write to senri.health: a record that is not what an ingest writes is left
    out of GET /status (with a warning), and the streams after it still show."""
    bootstrap = kafka_bootstrap()
    ensure_topics(bootstrap, [health_topic_spec()])
    bad, good = (f"cam-bad-{uuid.uuid4().hex[:8]}", f"cam-good-{uuid.uuid4().hex[:8]}")
    status = KafkaStatus(bootstrap, every_s=0.0)
    try:
        with BusProducer(bootstrap) as producer:
            producer.send(HEALTH_TOPIC, bad.encode(), b'{"up": true}', [])  # no times
            producer.send(HEALTH_TOPIC, b"cam-not-json", b"\xff\x00", [])
            health = StreamHealth()
            reporter = HealthReporter(producer, health)
            health.seen(types.SimpleNamespace(stream_id=good))
            reporter.tick()
            producer.flush()
            shown = {s["stream"]: s["state"] for s in status.report()["streams"]}
            assert shown.get(good) == "up" and bad not in shown and "cam-not-json" not in shown
    finally:
        status.close()
