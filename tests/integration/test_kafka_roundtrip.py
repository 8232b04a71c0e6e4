"""Produce and consume through the real local Kafka broker with both client libraries senri uses.

kafka-python backs the synchronous tools and aiokafka the asyncio runtime; each test makes its own
topic named after itself, round-trips keyed records with headers through a consumer group, and
deletes the topic. The broker comes from `python -m senri.services up` (or docker compose); the
tests skip, saying so, only when nothing answers at `senri.services.kafka_bootstrap()`.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

RECORDS = [(f"cam-{i % 3}".encode(), f"frame {i}".encode()) for i in range(20)]
HEADERS = [("content-type", b"application/x-senri")]
DEADLINE_S = 60.0


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    """A topic name unique to this test run: legal Kafka characters, at most 249 of them."""
    base = re.sub(r"[^A-Za-z0-9._-]", "-", request.node.name)[:200]
    return f"senri.test.{base}.{uuid.uuid4().hex[:8]}"


def test_kafka_python_round_trip(bootstrap: str, topic: str) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="senri-test")
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for key, value in RECORDS:
            producer.send(topic, key=key, value=value, headers=HEADERS)
        producer.flush(timeout=30)
        producer.close()

        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}.group",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        received: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
        deadline = time.monotonic() + DEADLINE_S
        try:
            while len(received) < len(RECORDS) and time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=500).values():
                    received += [(m.key, m.value, list(m.headers)) for m in batch]
            consumer.commit()
        finally:
            consumer.close()

        assert sorted((k, v) for k, v, _ in received) == sorted(RECORDS)
        assert all(headers == HEADERS for _, _, headers in received)
        assert topic in admin.list_topics()
    finally:
        admin.delete_topics([topic])
        admin.close()


def test_aiokafka_round_trip(bootstrap: str, topic: str) -> None:
    asyncio.run(_aiokafka_round_trip(bootstrap, topic))


async def _aiokafka_round_trip(bootstrap: str, topic: str) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="senri-test")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            sent = [
                await producer.send(topic, key=key, value=value, headers=HEADERS)
                for key, value in RECORDS
            ]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}.group",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        received: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
        try:
            async with asyncio.timeout(DEADLINE_S):
                while len(received) < len(RECORDS):
                    batches = await consumer.getmany(timeout_ms=500)
                    for batch in batches.values():
                        received += [(m.key, m.value, list(m.headers)) for m in batch]
            await consumer.commit()
        finally:
            await consumer.stop()

        assert sorted((k, v) for k, v, _ in received) == sorted(RECORDS)
        assert all(headers == HEADERS for _, _, headers in received)
        assert topic in await admin.list_topics()
    finally:
        await admin.delete_topics([topic])
        await admin.close()


def test_ingest_makes_topics_with_the_partitions_setting(
    bootstrap: str, topic: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kafka import KafkaAdminClient

    from senri.connectors.kafka import delete_topics
    from senri.ingest import ingest_images

    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nnot an image")  # a dead letter is fine
    monkeypatch.setenv("SENRI_KAFKA_PARTITIONS", "5")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="senri-test")
    try:
        ingest_images(str(tmp_path), "c", bootstrap, topic=topic, dlq_topic=f"{topic}.dlq")
        (described,) = admin.describe_topics([topic])
        assert len(described["partitions"]) == 5
    finally:
        admin.close()
        delete_topics(bootstrap, [topic, f"{topic}.dlq"])
